// The control socket: a real bg95::Module and ControlServer on an io_context owned by the test,
// driven through real Unix-socket clients. The io_context is polled (run_one_for) until what a
// test waits for has happened; nothing sleeps.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "protocol/cmux/frame.hpp"
#include "sim/control/control_server.hpp"
#include "sim/control/module_control.hpp"
#include "sim/firmware/image.hpp"
#include "sim/module.hpp"

namespace bg95::control {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "bg95ctl-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

sockaddr_un unix_address(const fs::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  return addr;
}

// The client side of a connection, non-blocking reads.
class Client {
 public:
  explicit Client(const fs::path& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const sockaddr_un addr = unix_address(path);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void write(std::string_view bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
      done += static_cast<std::size_t>(n);
    }
  }
  // Reads what is there without waiting; true when a whole line is available (then in `line`).
  bool try_line(std::string& line) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        pending_.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof_ = true;
      break;
    }
    const auto nl = pending_.find('\n');
    if (nl == std::string::npos) return false;
    line = pending_.substr(0, nl);
    pending_.erase(0, nl + 1);
    return true;
  }
  bool eof() const { return eof_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  std::string pending_;
  bool eof_ = false;
};

std::map<std::string, std::string> parse_ok(const std::string& response) {
  std::map<std::string, std::string> out;
  EXPECT_EQ(response.rfind("OK", 0), 0u) << response;
  std::size_t i = 2;
  while (i < response.size()) {
    while (i < response.size() && response[i] == ' ')
      ++i;
    const auto sp = response.find(' ', i);
    const std::string pair = response.substr(i, sp == std::string::npos ? sp : sp - i);
    const auto eq = pair.find('=');
    if (eq != std::string::npos) out[pair.substr(0, eq)] = pair.substr(eq + 1);
    i = sp == std::string::npos ? response.size() : sp;
  }
  return out;
}

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ModuleConfig config;
    config.state_dir = dir.path() / "state";
    config.default_image_size = 256 * 1024;
    module = std::make_unique<Module>(io.get_executor(), config);
    server = std::make_unique<ControlServer>(io.get_executor(), socket_path());
    server->add_target(std::make_unique<ModuleControl>(*module));
    module->power_on();
    ASSERT_TRUE(run_until([&] {
      return module->power_state() == PowerState::Normal && module->network().radio_on();
    }));
  }

  fs::path socket_path() const { return dir.path() / "run" / "ctl.sock"; }

  // Runs the io_context one handler at a time until done() holds; false at the deadline.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_one_for(50ms);
    }
    return true;
  }

  std::string response(Client& c) {
    std::string line;
    if (!run_until([&] { return c.try_line(line); })) ADD_FAILURE() << "no response";
    return line;
  }

  std::string request(Client& c, std::string_view line) {
    c.write(std::string(line) + "\n");
    return response(c);
  }

  std::map<std::string, std::string> status(Client& c) { return parse_ok(request(c, "status")); }

  TempDir dir;
  boost::asio::io_context io;
  std::unique_ptr<Module> module;
  std::unique_ptr<ControlServer> server;
};

TEST_F(ControlTest, StatusFieldsExact) {
  Client c(server->path());
  const std::string revision = firmware::default_revision("BG95-M3");
  const std::string full = firmware::default_full_version(revision);
  EXPECT_EQ(request(c, "status"),
            fmt::format("OK power=normal mode=command firmware={} revision={} package=none "
                        "dfota=idle progress=0 dtr=high boots=1 attached=1 cfun=1 csq=26 "
                        "model=BG95-M3 net_connect=ok net_dns=ok net_latency=0 net_loss=0 "
                        "net_stall=off pdp=1 rat=emtc reg=1",
                        full, revision));
}

TEST_F(ControlTest, PowerCutThenOn) {
  Client c(server->path());
  EXPECT_EQ(request(c, "power cut"), "OK");
  EXPECT_EQ(module->power_state(), PowerState::Off);
  auto s = status(c);
  EXPECT_EQ(s["power"], "off");
  EXPECT_EQ(s["mode"], "none");
  EXPECT_EQ(s["reg"], "0");

  EXPECT_EQ(request(c, "power on"), "OK");
  ASSERT_TRUE(run_until([&] { return module->power_state() == PowerState::Normal; }));
  s = status(c);
  EXPECT_EQ(s["power"], "normal");
  EXPECT_EQ(s["boots"], "2");

  EXPECT_EQ(request(c, "power off"), "OK");
  EXPECT_EQ(status(c)["power"], "off");
  EXPECT_EQ(request(c, "reset"), "OK");
  ASSERT_TRUE(run_until([&] { return module->power_state() == PowerState::Normal; }));
  EXPECT_EQ(status(c)["boots"], "3");
}

TEST_F(ControlTest, Dtr) {
  Client c(server->path());
  EXPECT_EQ(request(c, "dtr low"), "OK");
  EXPECT_FALSE(module->dtr());
  EXPECT_EQ(status(c)["dtr"], "low");
  EXPECT_EQ(request(c, "DTR High"), "OK");  // words are not case-sensitive
  EXPECT_TRUE(module->dtr());
  EXPECT_EQ(status(c)["dtr"], "high");
}

// A port that speaks 27.010 says so (docs/control.md): `cmux` from AT+CMUX's OK until the
// host closes the multiplexer (DISC on DLCI 0), then `command` again.
TEST_F(ControlTest, StatusSaysCmuxWhileThePortMultiplexes) {
  Client c(server->path());
  module->host_input("AT+CMUX=0\r");
  ASSERT_TRUE(run_until([&] { return module->at(0).multiplexing(); }));
  EXPECT_EQ(status(c)["mode"], "cmux");
  using cmux::FrameType;
  const auto frame = [](FrameType type) {
    return cmux::encode({.dlci = 0,
                         .cr = true,
                         .pf = true,
                         .control = static_cast<std::uint8_t>(type),
                         .info = {}});
  };
  module->host_input(frame(FrameType::Sabm) + frame(FrameType::Disc));
  ASSERT_TRUE(run_until([&] { return !module->at(0).multiplexing(); }));
  EXPECT_EQ(status(c)["mode"], "command");
}

TEST_F(ControlTest, Network) {
  Client c(server->path());
  EXPECT_EQ(request(c, "net reg 0"), "OK");
  EXPECT_FALSE(module->network().view().registered());
  EXPECT_EQ(module->network().view().status, RegStatus::NotRegistered);
  EXPECT_EQ(status(c)["reg"], "0");
  EXPECT_EQ(request(c, "net reg roaming"), "OK");
  EXPECT_EQ(module->network().view().status, RegStatus::Roaming);
  EXPECT_TRUE(module->network().view().registered());
  EXPECT_EQ(request(c, "net reg 3"), "OK");
  EXPECT_EQ(module->network().view().status, RegStatus::Denied);

  EXPECT_EQ(request(c, "net csq 10"), "OK");
  EXPECT_EQ(module->network().view().csq_rssi, 10);
  EXPECT_EQ(request(c, "net csq 99"), "OK");
  EXPECT_EQ(status(c)["csq"], "99");
  EXPECT_EQ(request(c, "net csq 32").rfind("ERR ", 0), 0u);
  EXPECT_EQ(request(c, "net csq -1").rfind("ERR ", 0), 0u);
  EXPECT_EQ(request(c, "net reg 6").rfind("ERR ", 0), 0u);

  EXPECT_EQ(request(c, "net rat nbiot"), "OK");
  EXPECT_EQ(module->network().view().rat, Rat::NbIot);
  EXPECT_EQ(status(c)["rat"], "nbiot");
  EXPECT_EQ(request(c, "net rat gprs").rfind("ERR ", 0), 0u);
}

TEST_F(ControlTest, BadRequestsGetErrAndTheConnectionStaysUsable) {
  Client c(server->path());
  EXPECT_EQ(request(c, "frobnicate"), "ERR unknown command \"frobnicate\" (try help)");
  EXPECT_EQ(request(c, "power sideways"), "ERR usage: power on|off|cut");
  EXPECT_EQ(request(c, "status now").rfind("ERR ", 0), 0u);
  EXPECT_EQ(request(c, ""), "ERR empty request (try help)");
  EXPECT_EQ(request(c, std::string("\x01\xff\x00junk", 7)),
            "ERR invalid characters in the request");
  EXPECT_EQ(request(c, std::string(5000, 'a')), "ERR line too long (more than 4096 bytes)");
  EXPECT_EQ(request(c, std::string(100000, 'b')), "ERR line too long (more than 4096 bytes)");
  // 4096 bytes is still a line (an unknown command), with or without CR.
  EXPECT_EQ(request(c, std::string(4096, 'x')).rfind("ERR unknown command", 0), 0u);
  EXPECT_EQ(request(c, std::string(4096, 'x') + "\r").rfind("ERR unknown command", 0), 0u);
  EXPECT_EQ(request(c, "status\r").rfind("OK power=normal ", 0), 0u);
  EXPECT_EQ(status(c)["power"], "normal");
  EXPECT_EQ(module->power_state(), PowerState::Normal);
}

// The flash gets slow: each program keeps it busy that much longer, which whoever paces flash
// work (the update's steps) waits for; erases and reads are not slowed; 0 ends it.
TEST_F(ControlTest, FlashSlow) {
  Client c(server->path());
  flash::NandFlash& flash = module->flash();
  const std::uint32_t block = flash.geometry().block_count - 1;
  const std::vector<std::uint8_t> page(flash.geometry().page_size, 0x5A);
  ASSERT_EQ(flash.erase(block), flash::FlashStatus::Ok);
  EXPECT_EQ(flash.busy_for().count(), 0);
  EXPECT_EQ(request(c, "flash slow 1000"), "OK");
  EXPECT_EQ(flash.erase(block), flash::FlashStatus::Ok);
  EXPECT_EQ(flash.busy_for().count(), 0);
  ASSERT_EQ(flash.program_pages(block, 0, std::vector<std::uint8_t>(3 * page.size(), 0x5A)),
            flash::FlashStatus::Ok);
  EXPECT_GT(flash.busy_for(), 2000ms);  // three programs, a second each, from now
  EXPECT_LE(flash.busy_for(), 3000ms);
  EXPECT_EQ(request(c, "flash slow 0"), "OK");
  const auto before = flash.busy_for();
  ASSERT_EQ(flash.program(block, 3, page), flash::FlashStatus::Ok);
  EXPECT_LE(flash.busy_for(), before);  // no longer than it already was
}

TEST_F(ControlTest, PipelinedRequestsAnsweredInOrder) {
  Client c(server->path());
  c.write("dtr low\nbogus\nstatus\n");
  EXPECT_EQ(response(c), "OK");
  EXPECT_EQ(response(c).rfind("ERR ", 0), 0u);
  EXPECT_EQ(parse_ok(response(c))["dtr"], "low");
}

TEST_F(ControlTest, ManyClientsAtOnce) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 20; ++i)
    clients.push_back(std::make_unique<Client>(server->path()));
  for (auto& c : clients)
    c->write("status\n");
  for (auto& c : clients)
    EXPECT_EQ(response(*c).rfind("OK power=normal ", 0), 0u);
  EXPECT_EQ(server->connection_count(), 20u);
  clients.clear();
  EXPECT_TRUE(run_until([&] { return server->connection_count() == 0; }));
}

TEST_F(ControlTest, ClientThatDoesNotReadIsNotReadEither) {
  // 2000 requests whose answers (~300 bytes each) exceed the output limit: the server stops
  // reading until the client reads, and every answer arrives.
  Client c(server->path());
  std::string burst;
  for (int i = 0; i < 2000; ++i)
    burst += "help\n";
  c.write(burst);
  int answers = 0;
  std::string line;
  ASSERT_TRUE(run_until([&] {
    while (c.try_line(line)) {
      EXPECT_EQ(line.rfind("OK commands=", 0), 0u);
      ++answers;
    }
    return answers == 2000;
  }));
}

TEST_F(ControlTest, ClientDisconnectingMidLineIsHarmless) {
  {
    Client c(server->path());
    c.write("power c");
    ASSERT_TRUE(run_until([&] { return server->connection_count() == 1; }));
  }
  ASSERT_TRUE(run_until([&] { return server->connection_count() == 0; }));
  EXPECT_EQ(module->power_state(), PowerState::Normal);
  {
    // Gone before its answer is written.
    Client c(server->path());
    c.write("status\nstatus\nstatus\n");
  }
  ASSERT_TRUE(run_until([&] { return server->connection_count() == 0; }));
  Client c(server->path());
  EXPECT_EQ(status(c)["power"], "normal");
}

TEST_F(ControlTest, SelectorsHelpAndModules) {
  Client c(server->path());
  EXPECT_EQ(request(c, "@0 status").rfind("OK power=normal ", 0), 0u);
  EXPECT_EQ(request(c, "@1 status"), "ERR no module @1 (there is 1)");
  EXPECT_EQ(request(c, "@x status"),
            "ERR bad selector \"@x\" (use @<index>, @<i>,<j>-<k> or @all)");
  EXPECT_EQ(request(c, "@0, status").rfind("ERR bad selector", 0), 0u);
  EXPECT_EQ(request(c, "@2-1 status").rfind("ERR bad selector", 0), 0u);
  EXPECT_EQ(request(c, "@0,1 status"), "ERR no module @1 (there is 1)");
  EXPECT_EQ(request(c, "@all"), "ERR a selector needs a command (try help)");
  EXPECT_EQ(request(c, "@all status").rfind("OK 0.power=normal 0.mode=command ", 0), 0u);
  EXPECT_EQ(request(c, "modules"), "OK count=1");
  EXPECT_EQ(request(c, "help").rfind("OK commands=\"power on|off|cut; ", 0), 0u);
  EXPECT_EQ(request(c, "@all power cut"), "OK");
  EXPECT_EQ(module->power_state(), PowerState::Off);
}

TEST_F(ControlTest, SocketAndFolderModes) {
  struct stat st {};
  ASSERT_EQ(::lstat(server->path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(socket_path().parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // created because it was missing
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(ControlTest, UnsafeFoldersAreRefused) {
  for (const ::mode_t mode : {0770u, 0702u, 01777u}) {
    const fs::path folder = dir.path() / fmt::format("shared{:o}", mode);
    fs::create_directory(folder);
    ASSERT_EQ(::chmod(folder.c_str(), mode), 0);
    try {
      ControlServer s(io.get_executor(), folder / "ctl.sock");
      ADD_FAILURE() << "accepted a folder of mode " << std::oct << mode;
    } catch (const ControlError& e) {
      EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos)
          << e.what();
    }
    EXPECT_FALSE(fs::exists(folder / "ctl.sock"));
  }
}

TEST_F(ControlTest, StaleSocketIsReplaced) {
  const fs::path folder = dir.path() / "stale";
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  const fs::path path = folder / "ctl.sock";
  {
    // A socket file whose program died: bound, never unlinked.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un addr = unix_address(path);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
  }
  ASSERT_TRUE(fs::is_socket(fs::symlink_status(path)));
  ControlServer second(io.get_executor(), path);
  second.add_target(std::make_unique<ModuleControl>(*module));
  Client c(path);
  EXPECT_EQ(status(c)["power"], "normal");
}

TEST_F(ControlTest, LiveSocketIsNotTaken) {
  try {
    ControlServer second(io.get_executor(), server->path());
    ADD_FAILURE() << "took over a live socket";
  } catch (const ControlError& e) {
    EXPECT_NE(std::string(e.what()).find("another program is listening"), std::string::npos)
        << e.what();
  }
  Client c(server->path());
  EXPECT_EQ(status(c)["power"], "normal");
}

TEST_F(ControlTest, RegularFileSymlinkAndFolderAreLeftAlone) {
  const fs::path folder = dir.path() / "taken";
  ASSERT_EQ(::mkdir(folder.c_str(), 0700), 0);
  const fs::path file = folder / "file.sock";
  std::ofstream(file) << "precious";
  EXPECT_THROW(ControlServer(io.get_executor(), file), ControlError);
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "precious");

  // A symbolic link, even to a stale socket or to a missing file, is not followed or removed.
  const fs::path link = folder / "link.sock";
  fs::create_symlink(file, link);
  EXPECT_THROW(ControlServer(io.get_executor(), link), ControlError);
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  EXPECT_TRUE(fs::exists(file));
  const fs::path dangling = folder / "dangling.sock";
  fs::create_symlink(folder / "nowhere", dangling);
  EXPECT_THROW(ControlServer(io.get_executor(), dangling), ControlError);
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(dangling)));
  EXPECT_FALSE(fs::exists(folder / "nowhere"));

  fs::create_directory(folder / "dir.sock");
  EXPECT_THROW(ControlServer(io.get_executor(), folder / "dir.sock"), ControlError);
  EXPECT_TRUE(fs::is_directory(folder / "dir.sock"));
}

TEST_F(ControlTest, SocketRemovedAtDestruction) {
  const fs::path path = server->path();
  ASSERT_TRUE(fs::exists(fs::symlink_status(path)));
  Client c(path);
  ASSERT_EQ(request(c, "status").rfind("OK ", 0), 0u);
  server.reset();
  EXPECT_FALSE(fs::exists(fs::symlink_status(path)));
  // The open connection is closed; the io_context keeps running without it.
  std::string line;
  EXPECT_TRUE(run_until([&] { return !c.try_line(line) && c.eof(); }, 5s));
}

TEST_F(ControlTest, PeersOfAnotherUserAreRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
  // Let another user reach the socket through the file system, so that only SO_PEERCRED stands
  // in the way.
  ASSERT_EQ(::chmod(dir.path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(socket_path().parent_path().c_str(), 0711), 0);
  ASSERT_EQ(::chmod(server->path().c_str(), 0666), 0);
  const std::string path = server->path().string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    const sockaddr_un addr = unix_address(path);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) ::_exit(11);
    const char req[] = "power cut\n";
    (void)::send(fd, req, sizeof req - 1, MSG_NOSIGNAL);
    std::string got;
    char buf[256];
    pollfd p{fd, POLLIN, 0};
    while (::poll(&p, 1, 5000) > 0) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    ::_exit(got == "ERR permission denied: uid 65534 is not the owner (uid 0)\n" ? 0 : 12);
  }
  int wstatus = 0;
  ASSERT_TRUE(run_until([&] { return ::waitpid(pid, &wstatus, WNOHANG) == pid; }));
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_EQ(module->power_state(), PowerState::Normal);
}

TEST(ControlServerAlone, NoModuleAndFormatting) {
  TempDir dir;
  boost::asio::io_context io;
  ControlServer server(io.get_executor(), dir.path() / "a" / "b" / "ctl.sock");
  EXPECT_EQ(server.handle_line("status"), "ERR no module");
  EXPECT_EQ(server.handle_line("modules"), "OK count=0");
  EXPECT_EQ(server.handle_line("help").rfind("OK commands=", 0), 0u);
  EXPECT_EQ(format_pair("operator", "Telstra Mobile"), "operator=\"Telstra Mobile\"");
  EXPECT_EQ(format_pair("q", "a\"b\\c\n"), "q=\"a\\\"b\\\\c\\x0a\"");
  EXPECT_EQ(format_pair("empty", ""), "empty=\"\"");
  EXPECT_EQ(format_pair("v", "BG95M3LAR02A03_01.011.01.011"), "v=BG95M3LAR02A03_01.011.01.011");
}

// The help and every usage error, to the byte: they are made from the fault table
// (sim/faults.hpp) and must read as they always have.
TEST(ControlServerAlone, HelpAndUsageFromTheFaultTable) {
  TempDir dir;
  boost::asio::io_context io;
  ControlServer server(io.get_executor(), dir.path() / "ctl.sock");
  EXPECT_EQ(server.handle_line("help"),
            "OK commands=\"power on|off|cut; reset; dtr low|high; "
            "net reg <0-5|none|home|searching|denied|unknown|roaming>; net csq <0-31|99>; "
            "net rat emtc|nbiot; net pdpdeact <1-15>; net attach refuse|allow; net apn <APN>|any; "
            "net stall on|off; net latency <ms>; net loss <0-100>; "
            "net connect ok|refuse|reset|timeout; net dns ok|fail; ppp lose <n>; ppp badfcs <n>; "
            "flash fail once|always; flash cut <n>; flash off; flash slow <ms>; "
            "cmux lose <1-1000>; cmux badfcs|close; status; modules; help\" "
            "selector=\"@<index>|@<i>,<j>-<k>|@all (default @0)\"");
  const std::string net =
      "ERR usage: net reg <stat> | net csq <0-31|99> | net rat emtc|nbiot | net pdpdeact <cid> | "
      "net attach refuse|allow | net apn <APN>|any | net stall on|off | net latency <ms> | "
      "net loss <percent> | net connect ok|refuse|reset|timeout | net dns ok|fail";
  const std::string flash =
      "ERR usage: flash fail once|always | flash cut <n> | flash off | flash slow <ms>";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"power", "ERR usage: power on|off|cut"},
      {"power on now", "ERR usage: power on|off|cut"},
      {"reset 1", "ERR usage: reset"},
      {"dtr", "ERR usage: dtr low|high"},
      {"dtr medium", "ERR usage: dtr low|high"},
      {"net", net},
      {"net reg", net},
      {"net reg 6", "ERR usage: net reg <0-5|none|home|searching|denied|unknown|roaming>"},
      {"net csq 32", "ERR usage: net csq <0-31|99>"},
      {"net rat gsm", net},
      {"net pdpdeact 0", "ERR usage: net pdpdeact <1-15>"},
      {"net attach maybe", net},
      {"net apn", net},
      {"flash", flash},
      {"flash fail sometimes", flash},
      {"flash off now", flash},
      {"flash cut 0", "ERR usage: flash cut <n> (n >= 1)"},
      {"flash cut x", "ERR usage: flash cut <n> (n >= 1)"},
      {"flash slow", flash},
      {"flash slow 60001", "ERR usage: flash slow <ms>"},
      {"FLASH CUT 3", "ERR no module"},
      {"net apn Corp", "ERR no module"},
  };
  for (const auto& [request, answer] : cases)
    EXPECT_EQ(server.handle_line(request), answer) << request;
}

TEST(ControlServerAlone, PathTooLong) {
  TempDir dir;
  boost::asio::io_context io;
  EXPECT_THROW(ControlServer(io.get_executor(), dir.path() / std::string(120, 's')), ControlError);
}

// A target that fails, and one that records: errors become ERR lines, @all reaches every one.
class FakeTarget : public ControlTarget {
 public:
  explicit FakeTarget(std::vector<std::string>& log, bool fail) : log_(log), fail_(fail) {}
  // "net csq 7": the fault's words and its value.
  void apply(const faults::Call& call) override {
    const bool valued = call.fault->param.type != faults::Type::None;
    act(std::string(call.fault->control) +
        (valued ? " " + faults::show(*call.fault, call.value) : std::string()));
  }
  std::map<std::string, std::string> status() override {
    return {{"zeta", "1"}, {"power", "normal"}, {"alpha", "two words"}};
  }

 private:
  void act(std::string what) {
    if (fail_) throw std::runtime_error("module is on fire");
    log_.push_back(std::move(what));
  }
  std::vector<std::string>& log_;
  bool fail_;
};

TEST(ControlServerAlone, FleetOfTargets) {
  TempDir dir;
  boost::asio::io_context io;
  ControlServer server(io.get_executor(), dir.path() / "ctl.sock");
  std::vector<std::string> log;
  EXPECT_EQ(server.add_target(std::make_unique<FakeTarget>(log, false)), 0u);
  EXPECT_EQ(server.add_target(std::make_unique<FakeTarget>(log, false)), 1u);
  EXPECT_EQ(server.handle_line("@1 net csq 7"), "OK");
  EXPECT_EQ(server.handle_line("@all power cut"), "OK");
  EXPECT_EQ(log, (std::vector<std::string>{"net csq 7", "power cut", "power cut"}));
  EXPECT_EQ(server.handle_line("@1 status"), "OK power=normal alpha=\"two words\" zeta=1");
  EXPECT_EQ(server.handle_line("@all status"),
            "OK 0.power=normal 0.alpha=\"two words\" 0.zeta=1 1.power=normal "
            "1.alpha=\"two words\" 1.zeta=1");
  EXPECT_EQ(server.add_target(std::make_unique<FakeTarget>(log, true)), 2u);
  EXPECT_EQ(server.handle_line("@2 reset"), "ERR module is on fire");
  EXPECT_EQ(server.handle_line("@all reset"), "ERR @2: module is on fire");
  EXPECT_EQ(server.handle_line("modules"), "OK count=3");
}

TEST(ModuleControlAlone, ProvidersOverrideAndAdd) {
  TempDir dir;
  boost::asio::io_context io;
  ModuleConfig config;
  config.state_dir = dir.path() / "state";
  config.default_image_size = 256 * 1024;
  Module module(io.get_executor(), config);
  ModuleControl control(module, {{"package", [] { return std::string("1234"); }}});
  control.set_status_provider("dfota", [] { return std::string("updating"); });
  control.set_status_provider("progress", [] { return std::string("42"); });
  auto s = control.status();
  EXPECT_EQ(s["package"], "1234");
  EXPECT_EQ(s["dfota"], "updating");
  EXPECT_EQ(s["progress"], "42");
  // Never booted: the firmware is read from the image header in flash.
  EXPECT_EQ(s["power"], "off");
  EXPECT_EQ(s["boots"], "0");
  EXPECT_EQ(s["revision"], firmware::default_revision("BG95-M3"));
}

}  // namespace
}  // namespace bg95::control
