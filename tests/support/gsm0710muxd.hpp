#pragma once
// Test support: Debian's gsm0710muxd (a 27.010 host multiplexer the project did not write) on
// the real bg95sim's pty, with a D-Bus system bus of its own, and the virtual ports it opens.
//
// gsm0710muxd takes its requests on the D-Bus system bus (org.pyneo.mux, README of the Debian
// package). A private bus (dbus-daemon with a configuration that lets this user own the name)
// is given to gsm0710muxd and dbus-send by DBUS_SYSTEM_BUS_ADDRESS: no root, nothing of the
// machine's own bus.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace bg95::test {

inline constexpr const char* kMuxd = "/usr/sbin/gsm0710muxd";
inline constexpr const char* kDbusDaemon = "/usr/bin/dbus-daemon";
inline constexpr const char* kDbusSend = "/usr/bin/dbus-send";

// The tools are installed (scripts/setup.sh installs gsm0710muxd); else the missing one.
inline std::optional<std::string> missing_muxd_tool() {
  for (const char* tool : {kMuxd, kDbusDaemon, kDbusSend})
    if (::access(tool, X_OK) != 0) return tool;
  return std::nullopt;
}

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
  // Waits until the child closed its output (it exited); false at the deadline.
  bool wait_ended(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return ended_; });
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

// gsm0710muxd (basic option, frame size 127) on `pty`, powered on: it has switched the module
// with AT+CMUX and opened DLCI 0. Each virtual_port() asks it for one more DLC.
class Gsm0710muxd {
 public:
  // `verbose` (-v) logs every frame: what the tests print when they fail, but a cost per byte.
  Gsm0710muxd(const std::filesystem::path& dir, const std::string& pty, bool verbose = true) {
    const std::filesystem::path socket = dir / "bus.sock";
    {
      std::ofstream conf(dir / "bus.conf");
      conf << "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration "
              "1.0//EN\" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
              "<busconfig><type>system</type><listen>unix:path="
           << socket.string()
           << "</listen><auth>EXTERNAL</auth><policy context=\"default\">"
              "<allow user=\"*\"/><allow own=\"*\"/><allow send_destination=\"*\"/>"
              "<allow receive_sender=\"*\"/></policy></busconfig>\n";
    }
    bus_ = std::make_unique<Child>(
        std::vector<std::string>{kDbusDaemon, "--nofork", "--print-address",
                                 "--config-file=" + (dir / "bus.conf").string()});
    if (!bus_->wait_for("unix:path=", std::chrono::seconds(10)))
      throw std::runtime_error("dbus-daemon: " + bus_->output());
    bus_env_ = "DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + socket.string();
    muxd_ = std::make_unique<Child>(
        verbose ? std::vector<std::string>{kMuxd, "-s", pty, "-m", "basic", "-f", "127", "-v"}
                : std::vector<std::string>{kMuxd, "-s", pty, "-m", "basic", "-f", "127"},
        std::vector<std::string>{bus_env_});
    if (!muxd_->wait_for("starting server", std::chrono::seconds(10)))
      throw std::runtime_error("gsm0710muxd: " + muxd_->output());
    const std::string powered = call({"org.pyneo.Powered.SetPower", "string:test", "boolean:true"});
    if (powered.find("method return") == std::string::npos)
      throw std::runtime_error("SetPower: " + powered);
    // Its watchdog opens the port, configures the module (AT, ATZ, ATE0, AT+CFUN=0,
    // AT+CMUX=0,0,5,127, each waiting for OK) and opens DLCI 0.
    if (!muxd_->wait_for("Init control channel", std::chrono::seconds(30)))
      throw std::runtime_error("gsm0710muxd: " + muxd_->output());
  }

  // A D-Bus method of gsm0710muxd's org.pyneo.Powered interface; dbus-send's reply.
  std::string call(const std::vector<std::string>& words) const {
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

  // The pseudo-terminal of a new DLC for client `who` ("file:///dev/pts/N" in the reply).
  std::string virtual_port(const std::string& who) const {
    const std::string reply = call({"org.pyneo.Powered.GetDevice", "string:" + who});
    const std::regex pts("string \"(?:file://)?(/dev/pts/[0-9]+)\"");
    std::smatch m;
    if (!std::regex_search(reply, m, pts))
      throw std::runtime_error("GetDevice: " + reply + muxd_->output());
    return m[1];
  }

  std::string output() const { return muxd_->output(); }

 private:
  std::unique_ptr<Child> bus_;
  std::string bus_env_;
  std::unique_ptr<Child> muxd_;
};

}  // namespace bg95::test
