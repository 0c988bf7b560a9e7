#pragma once
// Test support: runs the real bg95sim program in a temporary state folder and talks to its
// pseudo-terminal as a host would (termios raw, 115200). Reads wait on poll() for the bytes
// a test expects, with a deadline; nothing sleeps.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bg95::test {

// A temporary folder removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The host side of a port: open, raw mode, read with deadlines.
class HostPort {
 public:
  explicit HostPort(const std::string& path, unsigned baud = 115200);
  ~HostPort();
  HostPort(const HostPort&) = delete;
  HostPort& operator=(const HostPort&) = delete;

  void write(std::string_view bytes);
  // Reads until `needle` has arrived; returns everything read (needle included) or throws
  // std::runtime_error with what arrived when the deadline passes.
  std::string read_until(std::string_view needle,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads whatever arrives until `quiet` passes with no byte (for asserting silence).
  std::string read_for(std::chrono::milliseconds quiet);
  // Writes a command line and returns the whole answer up to its final result code
  // ("OK", "ERROR", "+CME ERROR: ...", "CONNECT"), echo included.
  std::string command(std::string_view line,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // One read() as a host tool does it: waits for the first byte, then returns what one
  // read gives.
  std::string read_once(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // command() ends a line given with a trailing CR with CR LF (default), or with CR alone.
  void set_crlf(bool on) { crlf_ = on; }
  int fd() const { return fd_; }
  // Bytes read but not yet returned by read_until.
  std::string& pending() { return pending_; }

 private:
  // Reads until end_of(pending) names the end of what is wanted; takes it from pending.
  std::string take_until(const std::function<std::size_t(const std::string&)>& end_of,
                         std::chrono::milliseconds timeout, const std::string& what);
  int fd_ = -1;
  bool crlf_ = true;
  std::string pending_;
};

// A running bg95sim.
class SimProcess {
 public:
  struct Options {
    std::filesystem::path state_dir;  // required
    std::vector<std::string> extra_args;
    bool wait_for_boot = true;  // open the port and wait for "APP RDY"... see start()
  };
  explicit SimProcess(Options options);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  const std::string& pty_path() const { return pty_path_; }
  const std::filesystem::path& link() const { return link_; }
  const std::string& ready_line() const { return ready_line_; }
  pid_t pid() const { return pid_; }
  // Opens the host side; the module is ready for AT commands once "AT" answers OK.
  HostPort& open_port();
  void close_port();
  HostPort& port() { return *port_; }
  // Sends SIGTERM and waits; returns the exit status (as from waitpid).
  int stop(int signal_number = 15);
  bool running();
  // Whatever the program wrote to stderr so far.
  std::string stderr_text() const;
  // Waits until bg95sim's stderr holds `text` (woken by inotify at each write, no polling);
  // true when it does, false after `timeout`.
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) const;

 private:
  Options options_;
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::filesystem::path stderr_file_;
  std::string pty_path_;
  std::filesystem::path link_;
  std::string ready_line_;
  std::unique_ptr<HostPort> port_;
};

// What the module prints as it boots (ATV1), after its reset or a power-on.
inline constexpr const char* kBootBanner =
    "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\nAPP RDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
    "\r\n+QIND: SMS DONE\r\n";

// The lines of what the host read, without the framing CR LFs (empty lines dropped).
std::vector<std::string> lines_of(std::string_view stream);

// Runs bg95ctl (no shell) against a control socket: its exit status (-1 when it did not exit
// normally) and what it printed on stdout.
std::pair<int, std::string> run_bg95ctl(const std::filesystem::path& socket,
                                        const std::string& words);

// Waits until the module answers "AT" with OK (it ignores input while booting).
void wait_until_ready(HostPort& port, std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace bg95::test
