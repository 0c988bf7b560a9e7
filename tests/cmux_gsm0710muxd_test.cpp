// A real 27.010 host multiplexer opens the multiplexer on the emulator's pty: Debian's
// gsm0710muxd (/usr/sbin/gsm0710muxd, basic option, frame size 127) switches the module with
// AT+CMUX, opens DLCI 0 and one DLC per virtual port it is asked for over D-Bus, and AT / ATI
// typed on two of its virtual ports are answered.
//
// gsm0710muxd takes its requests on the D-Bus system bus (org.pyneo.mux, README of the Debian
// package). The test runs a bus of its own (dbus-daemon with a configuration that lets this
// user own the name) and points gsm0710muxd and dbus-send at it with DBUS_SYSTEM_BUS_ADDRESS:
// no root, nothing of the machine's own bus.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/sim_process.hpp"

extern char** environ;

namespace bg95::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kMuxd = "/usr/sbin/gsm0710muxd";
constexpr const char* kDbusDaemon = "/usr/bin/dbus-daemon";
constexpr const char* kDbusSend = "/usr/bin/dbus-send";

// A child process with its stdout and stderr on a pipe that a thread of ours drains as it
// comes (a verbose gsm0710muxd would block on a full pipe otherwise).
class Child {
 public:
  Child(std::vector<std::string> args, std::vector<std::string> env_extra = {}) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e)
      env.emplace_back(*e);
    env.insert(env.end(), env_extra.begin(), env_extra.end());
    std::vector<char*> argv, envp;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    if (rc != 0) {
      ::close(out[0]);
      throw std::runtime_error("cannot start " + args[0]);
    }
    reader_ = std::thread([this, fd = out[0]] { drain(fd); });
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    reader_.join();  // the pipe ends with the child
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Waits until its output holds `text`; false at the deadline or when the output ended.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      return output_.find(text) != std::string::npos || ended_;
    }) && output_.find(text) != std::string::npos;
  }
  // Waits for the child to exit; everything it wrote.
  std::string finish() {
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return ended_; });
    return output_;
  }
  std::string output() {
    std::lock_guard lock(mutex_);
    return output_;
  }

 private:
  void drain(int fd) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      std::lock_guard lock(mutex_);
      if (n <= 0) {
        ended_ = true;
        changed_.notify_all();
        break;
      }
      output_.append(buf, static_cast<std::size_t>(n));
      changed_.notify_all();
    }
    ::close(fd);
  }
  pid_t pid_ = -1;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
  bool ended_ = false;
  std::thread reader_;
};

class Gsm0710muxdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {kMuxd, kDbusDaemon, kDbusSend})
      if (::access(tool, X_OK) != 0)
        GTEST_SKIP() << tool << " is not installed (scripts/setup.sh installs gsm0710muxd)";
  }
  // A D-Bus method of gsm0710muxd's org.pyneo.Powered interface; dbus-send's reply.
  std::string call(const std::vector<std::string>& words) {
    std::vector<std::string> args{kDbusSend,
                                  "--system",
                                  "--print-reply",
                                  "--type=method_call",
                                  "--dest=org.pyneo.mux",
                                  "/org/pyneo/Muxer"};
    args.insert(args.end(), words.begin(), words.end());
    Child send(args, {bus_env_});
    return send.finish();
  }
  TempDir dir_;
  std::string bus_env_;
};

TEST_F(Gsm0710muxdTest, TwoVirtualPortsAnswerAtAndAti) {
  // The private system bus.
  const fs::path socket = dir_.path() / "bus.sock";
  {
    std::ofstream conf(dir_.path() / "bus.conf");
    conf << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\" "
            "\"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
            "<busconfig><type>system</type><listen>unix:path="
         << socket.string()
         << "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
            "<allow user=\"*\"/><allow own=\"*\"/><allow send_destination=\"*\"/>"
            "<allow receive_sender=\"*\"/></policy></busconfig>\n";
  }
  Child bus({kDbusDaemon, "--nofork", "--print-address",
             "--config-file=" + (dir_.path() / "bus.conf").string()});
  ASSERT_TRUE(bus.wait_for("unix:path=", 10s)) << bus.output();
  bus_env_ = "DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + socket.string();

  SimProcess sim({dir_.path() / "state", {}});
  // The module is ready (banner out, AT answered) before the multiplexer daemon opens the port.
  sim.open_port();
  sim.close_port();

  Child muxd({kMuxd, "-s", sim.pty_path(), "-m", "basic", "-f", "127", "-v"}, {bus_env_});
  ASSERT_TRUE(muxd.wait_for("starting server", 10s)) << muxd.output();
  EXPECT_NE(
      call({"org.pyneo.Powered.SetPower", "string:test", "boolean:true"}).find("method return"),
      std::string::npos);
  // Its watchdog opens the port, configures the module (AT, ATZ, ATE0, AT+CFUN=0,
  // AT+CMUX=0,0,5,127, each waiting for OK) and opens DLCI 0.
  ASSERT_TRUE(muxd.wait_for("Init control channel", 30s)) << muxd.output();

  std::vector<std::string> ports;
  const std::regex pts("string \"(?:file://)?(/dev/pts/[0-9]+)\"");  // "file:///dev/pts/N"
  for (const char* who : {"one", "two"}) {
    const std::string reply = call({"org.pyneo.Powered.GetDevice", std::string("string:") + who});
    std::smatch m;
    ASSERT_TRUE(std::regex_search(reply, m, pts)) << reply << muxd.output();
    ports.push_back(m[1]);
  }
  ASSERT_NE(ports[0], ports[1]);
  HostPort first(ports[0]);
  HostPort second(ports[1]);
  // The channels start with the port's profile as AT+CMUX found it: ATE0, so no echo.
  EXPECT_EQ(first.command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(second.command("AT\r"), "\r\nOK\r\n");
  const std::string ati = "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n";
  EXPECT_EQ(second.command("ATI\r"), ati);
  EXPECT_EQ(first.command("ATI\r"), ati);
}

}  // namespace
}  // namespace bg95::test
