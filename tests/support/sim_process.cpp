#include "tests/support/sim_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "pty/line_speed.hpp"

namespace bg95::test {
namespace {

using Clock = std::chrono::steady_clock;

// The tests' ports run at 115200 unless they ask for a rate termios knows.
speed_t to_speed(unsigned baud) {
  return pty::speed_of(baud).value_or(B115200);
}

std::string printable(std::string_view s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else
      out += static_cast<char>(c);
  }
  return out;
}

// Starts a program (no shell) with its stdout on a pipe whose read end goes to `stdout_fd`,
// and its stderr in `stderr_file` when given.
pid_t spawn(std::vector<std::string> args, int& stdout_fd,
            const std::filesystem::path* stderr_file = nullptr) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    if (stderr_file != nullptr) {
      const int err = ::open(stderr_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (err >= 0) ::dup2(err, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  stdout_fd = out[0];
  return pid;
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "bg95test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

HostPort::HostPort(const std::string& path, unsigned baud) {
  fd_ = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  termios t{};
  ::tcgetattr(fd_, &t);
  ::cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  ::cfsetispeed(&t, to_speed(baud));
  ::cfsetospeed(&t, to_speed(baud));
  ::tcsetattr(fd_, TCSANOW, &t);
}

HostPort::~HostPort() {
  if (fd_ >= 0) ::close(fd_);
}

void HostPort::write(std::string_view bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (n < 0) throw std::runtime_error(std::string("host write failed: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
}

std::string HostPort::take_until(const std::function<std::size_t(const std::string&)>& end_of,
                                 std::chrono::milliseconds timeout, const std::string& what) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (const std::size_t end = end_of(pending_); end != std::string::npos) {
      std::string out = pending_.substr(0, end);
      pending_.erase(0, end);
      return out;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) throw std::runtime_error(what + "; got \"" + printable(pending_) + "\"");
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) > 0) {
      char buf[65536];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) pending_.append(buf, static_cast<std::size_t>(n));
    }
  }
}

std::string HostPort::read_until(std::string_view needle, std::chrono::milliseconds timeout) {
  return take_until(
      [needle](const std::string& s) {
        const auto pos = s.find(needle);
        return pos == std::string::npos ? pos : pos + needle.size();
      },
      timeout, "timed out waiting for \"" + printable(needle) + "\"");
}

std::string HostPort::read_for(std::chrono::milliseconds quiet) {
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) break;
    char buf[65536];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) break;
    pending_.append(buf, static_cast<std::size_t>(n));
  }
  return std::exchange(pending_, {});
}

std::string HostPort::read_once(std::chrono::milliseconds timeout) {
  if (!pending_.empty()) return std::exchange(pending_, {});
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
    throw std::runtime_error("timed out waiting for a read");
  char buf[65536];
  const ssize_t n = ::read(fd_, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

std::string HostPort::command(std::string_view line, std::chrono::milliseconds timeout) {
  // Most hosts end a command line with CR LF (fwupd, TinyGSM, Mbed OS, pyserial scripts):
  // unless a test says otherwise, a line given with a trailing CR goes out that way.
  if (crlf_ && line.ends_with('\r')) {
    write(std::string(line) + "\n");
  } else {
    write(line);
  }
  // The end of the first final result code: OK, ERROR, CONNECT or +CME ERROR: <n>.
  return take_until(
      [](const std::string& s) {
        std::size_t best = std::string::npos;
        for (std::string_view f : {"\r\nOK\r\n", "\r\nERROR\r\n", "\r\nCONNECT\r\n"})
          if (const auto pos = s.find(f); pos != std::string::npos)
            best = std::min(best, pos + f.size());
        if (const auto pos = s.find("\r\n+CME ERROR: "); pos != std::string::npos)
          if (const auto end = s.find("\r\n", pos + 2); end != std::string::npos)
            best = std::min(best, end + 2);
        return best;
      },
      timeout, "no final result for \"" + printable(line) + "\"");
}

std::vector<std::string> lines_of(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    auto j = s.find("\r\n", i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.emplace_back(s.substr(i, j - i));
    i = j + 2;
  }
  return out;
}

void wait_until_ready(HostPort& port, std::chrono::milliseconds timeout) {
  // While booting the module ignores input; ask again until it answers.
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    port.write("AT\r");
    try {
      port.read_until("OK\r\n", std::chrono::milliseconds(200));
      port.read_for(std::chrono::milliseconds(50));  // drop the rest (banner, echoes)
      return;
    } catch (const std::runtime_error&) {
    }
  }
  throw std::runtime_error("module did not become ready");
}

SimProcess::SimProcess(Options options) : options_(std::move(options)) {
  link_ = options_.state_dir.parent_path() / (options_.state_dir.filename().string() + ".port");
  // One stderr file per process: a second emulator on the same state must not overwrite it.
  stderr_file_ =
      options_.state_dir.parent_path() / (options_.state_dir.filename().string() + ".stderr." +
                                          std::to_string(std::random_device{}()));
  std::vector<std::string> args{BG95SIM_BINARY, "--state",      options_.state_dir.string(),
                                "--link",       link_.string(), "-v"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  pid_ = spawn(args, stdout_fd_, &stderr_file_);
  // The ready line names the port.
  std::string line;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{stdout_fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("bg95sim printed no ready line; stderr: " + stderr_text());
    char buf[512];
    const ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("bg95sim exited early; stderr: " + stderr_text());
    line.append(buf, static_cast<std::size_t>(n));
  }
  ready_line_ = line.substr(0, line.find('\n'));
  const auto at = ready_line_.find(" ready on ");
  if (at == std::string::npos) throw std::runtime_error("unexpected ready line: " + ready_line_);
  const auto start = at + std::strlen(" ready on ");
  pty_path_ = ready_line_.substr(start, ready_line_.find(' ', start) - start);
}

SimProcess::~SimProcess() {
  port_.reset();
  if (pid_ > 0) stop(SIGKILL);
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

HostPort& SimProcess::open_port() {
  port_ = std::make_unique<HostPort>(link_.string());
  if (options_.wait_for_boot) wait_until_ready(*port_);
  return *port_;
}

void SimProcess::close_port() {
  port_.reset();
}

bool SimProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

int SimProcess::stop(int signal_number) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal_number);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

std::string SimProcess::stderr_text() const {
  std::ifstream in(stderr_file_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool SimProcess::wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) const {
  const int fd = ::inotify_init1(IN_CLOEXEC);
  if (fd < 0) throw std::runtime_error("inotify_init1 failed");
  ::inotify_add_watch(fd, stderr_file_.c_str(), IN_MODIFY);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool found = false;
  // Watching before the first look: a write between the look and the wait still wakes it.
  while (!(found = stderr_text().find(text) != std::string::npos)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char events[4096];
    (void)::read(fd, events, sizeof events);
  }
  ::close(fd);
  return found;
}

std::pair<int, std::string> run_bg95ctl(const std::filesystem::path& socket,
                                        const std::string& words) {
  std::vector<std::string> args{BG95CTL_BINARY, "--control", socket.string()};
  std::istringstream split(words);
  for (std::string w; split >> w;)
    args.push_back(w);
  int out = -1;
  const pid_t pid = spawn(std::move(args), out);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(out, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

}  // namespace bg95::test
