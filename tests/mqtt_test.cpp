// MQTT (AT+QMT*, docs/mqtt.md) against Debian's mosquitto broker, started by each test on an
// ephemeral port of 127.0.0.1 with a configuration file in a temporary folder and stopped
// after it; mosquitto_pub and mosquitto_sub are the broker's other clients. The module is the
// real bg95sim on its pseudo-terminal.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/sim_process.hpp"

extern char** environ;

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Debian's broker and its command-line clients.
const std::string kBroker = "/usr/sbin/mosquitto", kPub = "/usr/bin/mosquitto_pub",
                  kSub = "/usr/bin/mosquitto_sub";

bool have_mosquitto() {
  return stdfs::exists(kBroker) && stdfs::exists(kPub) && stdfs::exists(kSub);
}

// A child process whose stdout and stderr come back through one pipe.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    fd_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start " + argv[0]);
  }
  ~Child() {
    stop();
    if (fd_ >= 0) ::close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Reads until `needle` is in what the child wrote after the last match; false at the
  // deadline or when the child's output ends first.
  bool wait_for(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (const auto at = output_.find(needle, seen_); at != std::string::npos) {
        seen_ = at + needle.size();
        return true;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0 || !read_some(left)) return false;
    }
  }
  // Everything the child writes until it exits.
  std::string all_output(std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (
        Clock::now() < deadline &&
        read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))) {
    }
    return output_;
  }
  const std::string& output() const { return output_; }
  // Waits for the child to exit by itself; its exit status.
  int wait() {
    int status = 0;
    if (pid_ > 0) ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
  std::size_t seen_ = 0;
};

// A TCP socket bound to an ephemeral port of 127.0.0.1; its port.
int bound_socket(int& port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return s;
}

// A port of 127.0.0.1 that nothing listens on right now.
int free_port() {
  int port = 0;
  ::close(bound_socket(port));
  return port;
}

// Debian's mosquitto on 127.0.0.1, logging everything (PINGREQs included) to its stderr.
class Broker {
 public:
  Broker(const stdfs::path& dir, const std::string& listener_lines = {}) : port_(free_port()) {
    const stdfs::path conf = dir / "mosquitto.conf";
    std::ofstream(conf) << "listener " << port_ << " 127.0.0.1\n"
                        << listener_lines << "allow_anonymous true\n"
                        << "log_dest stderr\nlog_type all\nlog_timestamp false\n"
                        << "persistence false\nuser root\n";
    child_ = std::make_unique<Child>(std::vector<std::string>{kBroker, "-c", conf.string()});
    if (!child_->wait_for(" running")) throw std::runtime_error("mosquitto: " + child_->output());
  }
  int port() const { return port_; }
  bool saw(std::string_view line, std::chrono::milliseconds timeout = 10s) {
    return child_->wait_for(line, timeout);
  }
  void stop() { child_->stop(); }
  const std::string& log() const { return child_->output(); }

 private:
  int port_;
  std::unique_ptr<Child> child_;
};

std::string q(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// ---- on the real bg95sim ---------------------------------------------------------------------

class MqttTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_mosquitto()) GTEST_SKIP() << "mosquitto, mosquitto_pub or mosquitto_sub is absent";
    broker = std::make_unique<Broker>(dir.path(), listener_options());
    sim = std::make_unique<SimProcess>(
        SimProcess::Options{dir.path() / "state", {"--control", control().string()}});
    port = &sim->open_port();
    ASSERT_EQ(port->command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  }
  // What the broker's listener takes beyond its port (TLS below).
  virtual std::string listener_options() { return {}; }
  stdfs::path control() const { return dir.path() / "ctl.sock"; }

  std::string at(const std::string& line) { return port->command(line + "\r"); }
  // The URC that follows, exactly.
  void expect_urc(const std::string& urc, std::chrono::milliseconds timeout = 10s) {
    EXPECT_EQ(port->read_until("\r\n", timeout), "\r\n");
    EXPECT_EQ(port->read_until("\r\n", timeout), urc + "\r\n");
  }
  // AT+QMTOPEN of client 0 to a broker on 127.0.0.1 that accepts the connection.
  void open_at(int tcp_port) {
    ASSERT_EQ(at(fmt("AT+QMTOPEN=0,\"127.0.0.1\",{}", tcp_port)), "\r\nOK\r\n");
    expect_urc("+QMTOPEN: 0,0");
  }
  void open_and_connect(const std::string& client_id) {
    open_at(broker->port());
    ASSERT_EQ(at("AT+QMTCONN=0," + q(client_id)), "\r\nOK\r\n");
    expect_urc("+QMTCONN: 0,0,0");
  }
  template <typename... A>
  static std::string fmt(std::string_view f, A&&... a) {
    return ::fmt::format(::fmt::runtime(f), std::forward<A>(a)...);
  }
  // mosquitto_sub printing "<topic>|<qos>|<retain>|<payload>" per message; returns once the
  // broker has its subscription.
  std::unique_ptr<Child> subscriber(const std::string& id, const std::string& topic, int count) {
    auto sub = std::make_unique<Child>(std::vector<std::string>{
        kSub, "-h", "127.0.0.1", "-p", std::to_string(broker->port()), "-i", id, "-t", topic, "-q",
        "2", "-C", std::to_string(count), "-F", "%t|%q|%r|%p"});
    EXPECT_TRUE(broker->saw("Received SUBSCRIBE from " + id));
    return sub;
  }
  void publish_from_broker_side(const std::string& topic, const std::string& message, int qos) {
    Child pub({kPub, "-h", "127.0.0.1", "-p", std::to_string(broker->port()), "-t", topic, "-m",
               message, "-q", std::to_string(qos)});
    pub.all_output();
  }

  TempDir dir;
  std::unique_ptr<Broker> broker;
  std::unique_ptr<SimProcess> sim;
  HostPort* port = nullptr;
};

TEST_F(MqttTest, SubscribedMessagesArriveAsQmtrecvWithTheirExactBytes) {
  ASSERT_EQ(at("AT+QMTCFG=\"recv/mode\",0,0,1"), "\r\nOK\r\n");
  open_and_connect("bg95-sub");
  ASSERT_EQ(at("AT+QMTSUB=0,1,\"bg95/in\",1,\"bg95/other\",2"), "\r\nOK\r\n");
  expect_urc("+QMTSUB: 0,1,0,1,2");  // the granted QoS of each topic
  publish_from_broker_side("bg95/in", "hello, \"world\"\r\nline 2", 1);
  // The broker's first QoS 1 message to this client has packet id 1; the payload's own CR LF
  // and quotes come as they are.
  EXPECT_EQ(port->read_until("line 2\"\r\n"),
            "\r\n+QMTRECV: 0,1,\"bg95/in\",22,\"hello, \"world\"\r\nline 2\"\r\n");
  publish_from_broker_side("bg95/in", "qos0", 0);
  expect_urc("+QMTRECV: 0,0,\"bg95/in\",4,\"qos0\"");
  // Unsubscribed, nothing more arrives: the next message is on the other topic.
  ASSERT_EQ(at("AT+QMTUNS=0,2,\"bg95/in\""), "\r\nOK\r\n");
  expect_urc("+QMTUNS: 0,2,0");
  publish_from_broker_side("bg95/in", "not for us", 0);
  publish_from_broker_side("bg95/other", "x", 2);
  expect_urc("+QMTRECV: 0,2,\"bg95/other\",1,\"x\"");
}

TEST_F(MqttTest, PublishAtQos012IsSeenByMosquittoSubExactly) {
  port->set_crlf(false);  // this host ends its lines with CR alone
  open_and_connect("bg95-pub");
  auto sub = subscriber("watcher", "bg95/out/#", 3);
  // Fixed length (the form Azure's EWF driver uses): exactly 5 bytes after the prompt.
  port->write("AT+QMTPUB=0,0,0,0,\"bg95/out/q0\",5\r");
  EXPECT_EQ(port->read_until("> "), "\r\n> ");
  port->write("q0msg");
  EXPECT_EQ(port->read_until("OK\r\n"), "\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,0,0");
  // Ctrl-Z ends the message.
  port->write("AT+QMTPUB=0,1,1,0,\"bg95/out/q1\"\r");
  EXPECT_EQ(port->read_until("> "), "\r\n> ");
  port->write("q1 message\x1a");
  EXPECT_EQ(port->read_until("OK\r\n"), "\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,1,0");
  // The message in the command itself.
  EXPECT_EQ(at("AT+QMTPUBEX=0,2,2,0,\"bg95/out/q2\",\"q2 msg\""), "\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,2,0");
  EXPECT_EQ(sub->all_output(),
            "bg95/out/q0|0|0|q0msg\nbg95/out/q1|1|0|q1 message\n"
            "bg95/out/q2|2|0|q2 msg\n");
  // The packets on the wire carry the host's msgIDs.
  EXPECT_TRUE(broker->saw("Received PUBLISH from bg95-pub (d0, q1, r0, m1, 'bg95/out/q1'"));
  EXPECT_TRUE(broker->saw("Received PUBLISH from bg95-pub (d0, q2, r0, m2, 'bg95/out/q2'"));

  // A retained message reaches a subscriber that comes later, with its retain flag.
  port->write("AT+QMTPUB=0,3,1,1,\"bg95/retained\",8\r");
  EXPECT_EQ(port->read_until("> "), "\r\n> ");
  port->write("retained");
  EXPECT_EQ(port->read_until("OK\r\n"), "\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,3,0");
  Child late({kSub, "-h", "127.0.0.1", "-p", std::to_string(broker->port()), "-t", "bg95/retained",
              "-C", "1", "-F", "%t|%q|%r|%p", "-q", "1"});
  EXPECT_EQ(late.all_output(), "bg95/retained|1|1|retained\n");
}

TEST_F(MqttTest, EscCancelsAPublishAndEchoFollowsAte) {
  open_and_connect("bg95-esc");
  port->write("AT+QMTPUB=0,4,1,0,\"bg95/esc\"\r\n");
  EXPECT_EQ(port->read_until("> "), "\r\n> ");
  port->write("never sent\x1b");
  EXPECT_EQ(port->read_until("OK\r\n"), "\r\nOK\r\n");
  EXPECT_EQ(port->read_for(300ms), "");  // no +QMTPUB
  // Under ATE1 the typed bytes are echoed, Ctrl-Z included (the engine's prompt echo).
  ASSERT_EQ(port->command("ATE1\r"), "\r\nOK\r\n");
  port->write("AT+QMTPUB=0,5,1,0,\"bg95/esc\"\r\n");
  EXPECT_EQ(port->read_until("> "), "AT+QMTPUB=0,5,1,0,\"bg95/esc\"\r\r\n> ");
  port->write("typed\x1a");
  EXPECT_EQ(port->read_until("OK\r\n"), "typed\x1a\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,5,0");
  EXPECT_TRUE(
      broker->saw("Received PUBLISH from bg95-esc (d0, q1, r0, m5, 'bg95/esc', ... (5 bytes))"))
      << broker->log();
  EXPECT_EQ(broker->log().find("m4, 'bg95/esc'"), std::string::npos);
}

TEST_F(MqttTest, KeepAlivePingsReachTheBroker) {
  ASSERT_EQ(at("AT+QMTCFG=\"keepalive\",0,1"), "\r\nOK\r\n");
  ASSERT_EQ(at("AT+QMTCFG=\"keepalive\",0"), "\r\n+QMTCFG: \"keepalive\",1\r\n\r\nOK\r\n");
  open_and_connect("bg95-ka");
  // MQTT 3.1 (the default version, p1), clean session, keep-alive 1 s.
  EXPECT_TRUE(broker->saw("as bg95-ka (p1, c1, k1)")) << broker->log();
  EXPECT_TRUE(broker->saw("Received PINGREQ from bg95-ka", 5s)) << broker->log();
  EXPECT_TRUE(broker->saw("Sending PINGRESP to bg95-ka", 5s));
  EXPECT_TRUE(broker->saw("Received PINGREQ from bg95-ka", 5s));
  // Nothing else was said to the host meanwhile.
  EXPECT_EQ(port->read_for(200ms), "");
}

TEST_F(MqttTest, TheBrokerStoppingGivesQmtstat) {
  open_and_connect("bg95-stat");
  broker->stop();
  expect_urc("+QMTSTAT: 0,1");
  EXPECT_EQ(at("AT+QMTCONN?"), "\r\nOK\r\n");  // no client left
  EXPECT_EQ(at("AT+QMTOPEN?"), "\r\nOK\r\n");
}

TEST_F(MqttTest, BadInputAnswersError) {
  port->set_crlf(false);
  const std::string error = "\r\nERROR\r\n";
  EXPECT_EQ(at("AT+QMTOPEN=6,\"127.0.0.1\",1883"), error);  // <client_idx> 0-5
  EXPECT_EQ(at("AT+QMTCFG=\"keepalive\",6"), error);
  EXPECT_EQ(at("AT+QMTCFG=\"keepalive\",0,3601"), error);
  EXPECT_EQ(at("AT+QMTCFG=\"nonsense\",0"), error);
  EXPECT_EQ(at("AT+QMTCONN=0,\"not-open\""), error);
  EXPECT_EQ(at("AT+QMTPUB=0,0,0,0,\"t\""), error);  // before connect: no prompt
  EXPECT_EQ(at("AT+QMTPUBEX=0,0,0,0,\"t\",\"m\""), error);
  EXPECT_EQ(at("AT+QMTSUB=0,1,\"t\",0"), error);
  open_and_connect("bg95-bad");
  const std::string long_topic(257, 't');
  EXPECT_EQ(at("AT+QMTSUB=0,1," + q(long_topic) + ",0"), error);
  EXPECT_EQ(at("AT+QMTPUB=0,1,1,0," + q(long_topic)), error);
  EXPECT_EQ(at("AT+QMTPUB=0,1,0,0,\"t\""), error);  // <msgID> must be 0 at QoS 0
  EXPECT_EQ(at("AT+QMTPUB=0,0,1,0,\"t\""), error);  // and not 0 at QoS 1
  EXPECT_EQ(at("AT+QMTSUB=0,1,\"t\",3"), error);    // QoS 0-2
  EXPECT_EQ(at("AT+QMTSUB=0,0,\"t\",0"), error);    // <msgID> 1-65535
  EXPECT_EQ(at("AT+QMTOPEN=0,\"127.0.0.1\",1883"), "\r\nOK\r\n");
  expect_urc("+QMTOPEN: 0,2");  // open already
  // The client still works.
  EXPECT_EQ(at("AT+QMTPUBEX=0,0,0,0,\"t\",\"m\""), "\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,0,0");
  EXPECT_EQ(at("AT+QMTCONN?"), "\r\n+QMTCONN: 0,3\r\n\r\nOK\r\n");
  EXPECT_EQ(at(fmt("AT+QMTOPEN?")),
            fmt("\r\n+QMTOPEN: 0,\"127.0.0.1\",{}\r\n\r\nOK\r\n", broker->port()));
  EXPECT_EQ(at("AT+QMTDISC=0"), "\r\nOK\r\n");
  expect_urc("+QMTDISC: 0,0");
  EXPECT_EQ(at("AT+QMTCONN?"), "\r\nOK\r\n");
  EXPECT_EQ(at("AT+QMTOPEN=0,\"no.such.host.invalid\",1883"), "\r\nOK\r\n");
  expect_urc("+QMTOPEN: 0,4");  // the name does not resolve
  EXPECT_EQ(at(fmt("AT+QMTOPEN=1,\"127.0.0.1\",{}", free_port())), "\r\nOK\r\n");
  expect_urc("+QMTOPEN: 1,-1");  // nothing listens there
}

TEST_F(MqttTest, ConfigurationReadsBackAndDefaults) {
  // What a write leaves (or the default, with no write), as the read form prints it.
  const std::pair<std::string, std::string> cases[] = {
      {"\"version\",0", "\"version\",3"},
      {"\"pdpcid\",0", "\"pdpcid\",1"},
      {"\"ssl\",0", "\"ssl\",0,0"},
      {"\"keepalive\",0", "\"keepalive\",120"},
      {"\"session\",0", "\"session\",1"},
      {"\"timeout\",0", "\"timeout\",5,3,0"},
      {"\"recv/mode\",0", "\"recv/mode\",0,0"},
      {"\"will\",0", "\"will\",0,0,0,\"\",\"\""},
      {"\"will\",0,1,1,1,\"w/t\",\"bye\"", "\"will\",1,1,1,\"w/t\",\"bye\""},
      {"\"ssl\",2,1,4", "\"ssl\",1,4"},
      {"\"version\",1,4", "\"version\",4"},
      {"\"timeout\",3,10,2,1", "\"timeout\",10,2,1"},
      {"\"recv/mode\",4,1", "\"recv/mode\",1,0"},
      {"\"aliauth\",5,\"pk\",\"dn\",\"ds\"", "\"aliauth\",\"pk\",\"dn\",\"ds\""},
  };
  for (const auto& [write, read] : cases) {
    const std::string query = write.substr(0, write.find(',', write.find(',') + 1));
    if (query != write) {
      EXPECT_EQ(at("AT+QMTCFG=" + write), "\r\nOK\r\n") << write;
    }
    EXPECT_EQ(at("AT+QMTCFG=" + query), "\r\n+QMTCFG: " + read + "\r\n\r\nOK\r\n") << write;
  }
  EXPECT_EQ(at("AT+QMTRECV=?"), "\r\n+QMTRECV: (0-5),(0-4)\r\n\r\nOK\r\n");
  EXPECT_EQ(at("AT+QMTOPEN=?"), "\r\n+QMTOPEN: (0-5),\"<host_name>\",(0-65535)\r\n\r\nOK\r\n");
  const std::string cfg = at("AT+QMTCFG=?");
  EXPECT_TRUE(cfg.starts_with(
      "\r\n+QMTCFG: \"version\",(0-5),(3,4)\r\n+QMTCFG: \"pdpcid\",(0-5),(1-15)\r\n"))
      << cfg;
  EXPECT_TRUE(
      cfg.ends_with("+QMTCFG: \"aliauth\",(0-5),\"<product_key>\",\"<device_name>\","
                    "\"<device_secret>\"\r\n\r\nOK\r\n"))
      << cfg;
}

TEST_F(MqttTest, MqttV311WillAndPdpDeactivation) {
  ASSERT_EQ(at("AT+QMTCFG=\"version\",0,4"), "\r\nOK\r\n");
  ASSERT_EQ(at("AT+QMTCFG=\"session\",0,0"), "\r\nOK\r\n");
  ASSERT_EQ(at("AT+QMTCFG=\"will\",0,1,1,0,\"bg95/will\",\"gone away\""), "\r\nOK\r\n");
  open_and_connect("bg95-will");
  EXPECT_TRUE(broker->saw("as bg95-will (p2, c0, k120)")) << broker->log();
  auto sub = subscriber("will-watcher", "bg95/will", 1);
  // The network deactivates context 1: the connection goes without DISCONNECT, so the broker
  // publishes the will.
  const auto [status, out] = run_bg95ctl(control(), "net pdpdeact 1");
  ASSERT_EQ(status, 0) << out;
  expect_urc("+QIURC: \"pdpdeact\",1");
  expect_urc("+QMTSTAT: 0,1");
  EXPECT_EQ(sub->all_output(), "bg95/will|1|0|gone away\n");
  // Without its context the client cannot open; once it is active again it can.
  EXPECT_EQ(at(fmt("AT+QMTOPEN=0,\"127.0.0.1\",{}", broker->port())), "\r\nOK\r\n");
  expect_urc("+QMTOPEN: 0,3");
  EXPECT_EQ(at("AT+QIACT=1"), "\r\nOK\r\n");
  EXPECT_EQ(at(fmt("AT+QMTOPEN=0,\"127.0.0.1\",{}", broker->port())), "\r\nOK\r\n");
  expect_urc("+QMTOPEN: 0,0");
}

TEST_F(MqttTest, BufferedReceiveModeHoldsMessagesUntilRead) {
  ASSERT_EQ(at("AT+QMTCFG=\"recv/mode\",0,1,1"), "\r\nOK\r\n");
  open_and_connect("bg95-buf");
  ASSERT_EQ(at("AT+QMTSUB=0,7,\"bg95/buf\",0"), "\r\nOK\r\n");
  expect_urc("+QMTSUB: 0,7,0,0");
  publish_from_broker_side("bg95/buf", "first", 0);
  expect_urc("+QMTRECV: 0,0");
  publish_from_broker_side("bg95/buf", "second", 0);
  expect_urc("+QMTRECV: 0,1");
  EXPECT_EQ(at("AT+QMTRECV?"), "\r\n+QMTRECV: 0,1,1,0,0,0\r\n\r\nOK\r\n");
  EXPECT_EQ(at("AT+QMTRECV=0,1"), "\r\n+QMTRECV: 0,0,\"bg95/buf\",6,\"second\"\r\n\r\nOK\r\n");
  EXPECT_EQ(at("AT+QMTRECV=0"), "\r\n+QMTRECV: 0,0,\"bg95/buf\",5,\"first\"\r\n\r\nOK\r\n");
  EXPECT_EQ(at("AT+QMTRECV?"), "\r\n+QMTRECV: 0,0,0,0,0,0\r\n\r\nOK\r\n");
}

// ---- a broker that never acknowledges ---------------------------------------------------

// One connection on 127.0.0.1: CONNACK (accepted) to the CONNECT when `connack`, and then
// silence; it keeps every byte the client sends.
class MuteBroker {
 public:
  explicit MuteBroker(bool connack) : connack_(connack) {
    listen_fd_ = bound_socket(port_);
    ::listen(listen_fd_, 1);
    thread_ = std::thread([this] { serve(); });
  }
  ~MuteBroker() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::string received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  // Waits up to 50 ms for `fd` to be readable, so that the loop sees stop_ often.
  static bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 50) > 0;
  }
  void serve() {
    int fd = -1;
    while (!stop_ && fd < 0) {
      if (readable(listen_fd_)) fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    }
    bool answered = false;
    char buf[4096];
    while (!stop_ && fd >= 0) {
      if (!readable(fd)) continue;
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard lock(mutex_);
      received_.append(buf, static_cast<std::size_t>(n));
      if (connack_ && !answered) answered = ::write(fd, "\x20\x02\x00\x00", 4) == 4;
    }
    if (fd >= 0) ::close(fd);
  }

  bool connack_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string received_;
  std::thread thread_;
};

TEST_F(MqttTest, UnacknowledgedPacketsAreSentAgainThenGivenUp) {
  MuteBroker mute(true);
  // 1 s for an acknowledgement, 2 retransmissions, each reported.
  ASSERT_EQ(at("AT+QMTCFG=\"timeout\",0,1,2,1"), "\r\nOK\r\n");
  open_at(mute.port());
  ASSERT_EQ(at("AT+QMTCONN=0,\"bg95-mute\""), "\r\nOK\r\n");
  expect_urc("+QMTCONN: 0,0,0");
  ASSERT_EQ(at("AT+QMTPUBEX=0,9,1,0,\"t\",\"m\""), "\r\nOK\r\n");
  expect_urc("+QMTPUB: 0,9,1,1");
  expect_urc("+QMTPUB: 0,9,1,2");
  expect_urc("+QMTPUB: 0,9,2");
  // The PUBLISH went three times, the second and third with DUP (0x3A instead of 0x32).
  const std::string publish = std::string("\x32\x06\x00\x01t\x00\x09m", 8);
  const std::string again = std::string("\x3a\x06\x00\x01t\x00\x09m", 8);
  const std::string got = mute.received();
  ASSERT_TRUE(got.ends_with(publish + again + again)) << got.size();
}

TEST_F(MqttTest, NoConnackGivesQmtstat4) {
  MuteBroker mute(false);
  ASSERT_EQ(at("AT+QMTCFG=\"timeout\",0,1"), "\r\nOK\r\n");
  open_at(mute.port());
  ASSERT_EQ(at("AT+QMTCONN=0,\"bg95-mute\",\"user\",\"pass\""), "\r\nOK\r\n");
  EXPECT_EQ(at("AT+QMTCONN?"), "\r\n+QMTCONN: 0,2\r\n\r\nOK\r\n");  // connecting
  expect_urc("+QMTSTAT: 0,4");
  // CONNECT as MQTT 3.1 names it: "MQIsdp", level 3, flags user+password+clean, keep-alive
  // 120, then the client ID, user name and password.
  const std::string connect =
      std::string("\x10\x23\x00\x06MQIsdp\x03\xc2\x00\x78", 14) + std::string("\x00\x09", 2) +
      "bg95-mute" + std::string("\x00\x04", 2) + "user" + std::string("\x00\x04", 2) + "pass";
  EXPECT_EQ(mute.received(), connect);
}

// ---- TLS ---------------------------------------------------------------------------------

// Runs a command line of a tool (openssl) and fails the test when it fails.
void run(const std::vector<std::string>& argv) {
  Child c(argv);
  const std::string out = c.all_output();
  EXPECT_EQ(c.wait(), 0) << argv[1] << ": " << out;
}

struct Pki {
  explicit Pki(const stdfs::path& d) : dir(d) {
    const std::string ec = "ec:" + (d / "ec.pem").string();
    run({"/usr/bin/openssl", "ecparam", "-name", "prime256v1", "-out", (d / "ec.pem").string()});
    for (const char* who : {"ca", "wrongca"})
      run({"/usr/bin/openssl", "req", "-x509", "-newkey", ec, "-nodes", "-keyout",
           (d / (std::string(who) + ".key")).string(), "-out",
           (d / (std::string(who) + ".pem")).string(), "-days", "1", "-subj",
           std::string("/CN=") + who});
    std::ofstream(d / "san.ext") << "subjectAltName=IP:127.0.0.1\n";
    for (const char* who : {"server", "client"}) {
      const std::string w = who;
      run({"/usr/bin/openssl", "req", "-newkey", ec, "-nodes", "-keyout",
           (d / (w + ".key")).string(), "-out", (d / (w + ".csr")).string(), "-subj", "/CN=" + w});
      run({"/usr/bin/openssl", "x509", "-req", "-in", (d / (w + ".csr")).string(), "-CA",
           (d / "ca.pem").string(), "-CAkey", (d / "ca.key").string(), "-CAcreateserial", "-out",
           (d / (w + ".pem")).string(), "-days", "1", "-extfile", (d / "san.ext").string()});
    }
  }
  std::string file(const std::string& name) const {
    std::ifstream in(dir / name, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  stdfs::path dir;
};

// A TLS listener that requires a client certificate; the module's certificates are uploaded
// with AT+QFUPL and named in SSL contexts with AT+QSSLCFG.
class MqttTlsTest : public MqttTest {
 protected:
  std::string listener_options() override {
    stdfs::create_directories(dir.path() / "pki");
    pki = std::make_unique<Pki>(dir.path() / "pki");
    const auto p = [&](const char* n) { return (dir.path() / "pki" / n).string(); };
    return "cafile " + p("ca.pem") + "\ncertfile " + p("server.pem") + "\nkeyfile " +
           p("server.key") + "\nrequire_certificate true\n";
  }
  void upload(const std::string& name) {
    const std::string data = pki->file(name);
    ASSERT_EQ(at(fmt("AT+QFUPL=\"{}\",{}", name, data.size())), "\r\nCONNECT\r\n");
    port->write(data);
    EXPECT_NE(port->read_until("OK\r\n").find(fmt("+QFUPL: {},", data.size())), std::string::npos);
  }

  std::unique_ptr<Pki> pki;
};

TEST_F(MqttTlsTest, ClientCertificateFromUploadedFilesGetsThrough) {
  for (const char* f : {"ca.pem", "client.pem", "client.key", "wrongca.pem"})
    upload(f);
  const std::string open = fmt("AT+QMTOPEN=0,\"127.0.0.1\",{}", broker->port());
  // Context 1 trusts the broker's CA and presents the client's certificate; context 2 trusts
  // another CA.
  for (const auto& [command, urc] : std::vector<std::pair<std::string, std::string>>{
           {"AT+QSSLCFG=\"seclevel\",1,2", ""},
           {"AT+QSSLCFG=\"cacert\",1,\"UFS:ca.pem\"", ""},
           {"AT+QSSLCFG=\"clientcert\",1,\"UFS:client.pem\"", ""},
           {"AT+QSSLCFG=\"clientkey\",1,\"UFS:client.key\"", ""},
           {"AT+QSSLCFG=\"seclevel\",2,2", ""},
           {"AT+QSSLCFG=\"cacert\",2,\"UFS:wrongca.pem\"", ""},
           {"AT+QMTCFG=\"ssl\",0,1,2", ""},
           {open, "+QMTOPEN: 0,-1"},  // context 2 does not trust the broker
           {"AT+QMTCFG=\"ssl\",0,1,1", ""},
           {open, "+QMTOPEN: 0,0"},
           {"AT+QMTCONN=0,\"bg95-tls\"", "+QMTCONN: 0,0,0"},
           {"AT+QMTSUB=0,1,\"bg95/tls\",1", "+QMTSUB: 0,1,0,1"}}) {
    ASSERT_EQ(at(command), "\r\nOK\r\n") << command;
    if (!urc.empty()) expect_urc(urc);
  }
  EXPECT_TRUE(broker->saw("as bg95-tls (p1, c1, k120)"));
  // Its own message comes back through the broker. The PUBACK and the broker's copy of the
  // message race: both URCs, in either order.
  ASSERT_EQ(at("AT+QMTPUBEX=0,5,1,0,\"bg95/tls\",\"over TLS\""), "\r\nOK\r\n");
  const std::string pub = "\r\n+QMTPUB: 0,5,0\r\n";
  const std::string recv = "\r\n+QMTRECV: 0,1,\"bg95/tls\",\"over TLS\"\r\n";
  std::string both;
  for (int i = 0; i < 4; ++i)  // two URCs, each framed by CR LF before and after
    both += port->read_until("\r\n");
  EXPECT_TRUE(both == pub + recv || both == recv + pub) << both;
}

}  // namespace
}  // namespace bg95::test
