// bg95ctl: the command-line client of bg95sim's control socket (docs/control.md).
//
//   bg95ctl --control PATH power cut      one request; prints the response line
//   bg95ctl --control PATH < script       one request per line of stdin
//
// Exit status: 0 when every response is OK, 1 at the first ERR (or after all lines with
// --keep-going), 2 when the socket cannot be reached, the connection breaks, or the command
// line is wrong.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace {

constexpr int kExitOk = 0;
constexpr int kExitErr = 1;
constexpr int kExitConnection = 2;

struct ConnectionError {
  std::string message;
};

class Connection {
 public:
  Connection(const std::string& path, std::chrono::milliseconds timeout) : timeout_(timeout) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) throw ConnectionError{path + ": path too long"};
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw ConnectionError{std::string("socket: ") + std::strerror(errno)};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      const int err = errno;
      ::close(fd_);
      throw ConnectionError{"cannot connect to " + path + ": " + std::strerror(err)};
    }
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends one request line and returns the response line (without its newline).
  std::string request(const std::string& line) {
    std::string out = line + "\n";
    std::size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::send(fd_, out.data() + done, out.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ConnectionError{std::string("send: ") + std::strerror(errno)};
      done += static_cast<std::size_t>(n);
    }
    return read_line();
  }

 private:
  std::string read_line() {
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    for (;;) {
      if (const auto nl = pending_.find('\n'); nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) throw ConnectionError{"no response (timeout)"};
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) throw ConnectionError{std::string("poll: ") + std::strerror(errno)};
      if (r == 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ConnectionError{std::string("recv: ") + std::strerror(errno)};
      if (n == 0) {
        // The server may close after a final line without newline; it never does, but a
        // refusal ("ERR permission denied") is followed by a close.
        if (!pending_.empty()) {
          std::string line;
          line.swap(pending_);
          return line;
        }
        throw ConnectionError{"the connection was closed without a response"};
      }
      pending_.append(buf, static_cast<std::size_t>(n));
    }
  }

  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string pending_;
};

// The words of a response line: split at spaces outside "..." (a value with spaces is quoted,
// with \" and \\ inside, as the server's format_pair writes it).
std::vector<std::string> words_of(const std::string& line) {
  std::vector<std::string> out;
  std::string word;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '\\' && i + 1 < line.size()) {
      word += c;
      word += line[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (c == ' ' && !quoted) {
      if (!word.empty()) out.push_back(std::exchange(word, {}));
      continue;
    }
    word += c;
  }
  if (!word.empty()) out.push_back(word);
  return out;
}

// A status of several modules ("OK 0.power=normal ... 1.power=off ...", some 4 KB for a fleet)
// is printed one module a line: "OK", then "@0 power=normal ...", "@1 power=off ..."; any other
// response as it came.
std::string for_people(const std::string& response) {
  const auto words = words_of(response);
  if (words.size() < 2 || words[0] != "OK") return response;
  std::map<int, std::string> modules;
  for (std::size_t i = 1; i < words.size(); ++i) {
    const auto dot = words[i].find('.');
    const auto eq = words[i].find('=');
    if (dot == std::string::npos || dot == 0 || eq < dot ||
        words[i].find_first_not_of("0123456789") != dot)
      return response;
    std::string& line = modules[std::stoi(words[i].substr(0, dot))];
    line += ' ' + words[i].substr(dot + 1);
  }
  std::string out = "OK";
  for (const auto& [index, line] : modules)
    out += "\n@" + std::to_string(index) + line;
  return out;
}

bool is_ok(const std::string& response) {
  return response == "OK" || response.rfind("OK ", 0) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string control;
  std::vector<std::string> words;
  double timeout_s = 10;
  bool keep_going = false;
  bool quiet = false;

  CLI::App app{
      "bg95ctl: drive a running bg95sim through its control socket (bg95sim --control PATH).\n"
      "With words, sends them as one request and prints the response; without, sends each line "
      "of standard input (blank lines and lines starting with # are skipped).\n"
      "Exit status: 0 OK, 1 ERR, 2 connection failure or usage error."};
  app.set_version_flag("--version", std::string("bg95ctl ") + BG95SIM_VERSION);
  app.add_option("-c,--control", control, "The control socket of bg95sim")
      ->envname("BG95SIM_CONTROL")
      ->required();
  app.add_option("--timeout", timeout_s, "Seconds to wait for each response")
      ->check(CLI::PositiveNumber);
  app.add_flag("-k,--keep-going", keep_going,
               "With standard input: go on after an ERR (exit status 1 at the end)");
  app.add_flag("-q,--quiet", quiet, "Do not print OK responses");
  app.add_option("words", words,
                 "The request, e.g.: status | power on|off|cut | reset | dtr low|high | "
                 "net reg <0-5> | net csq <0-31|99> | net rat emtc|nbiot | help; "
                 "optionally preceded by @<index> or @all");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help prints and exits 0; a usage error exits 2 like a connection failure.
    return app.exit(e) == 0 ? kExitOk : kExitConnection;
  }

  const auto timeout =
      std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(timeout_s * 1000));
  int status = kExitOk;
  try {
    Connection conn(control, timeout);
    auto run = [&](const std::string& line) {
      const std::string response = conn.request(line);
      const bool ok = is_ok(response);
      if (!ok || !quiet) std::cout << for_people(response) << std::endl;
      return ok;
    };
    if (!words.empty()) {
      std::string line;
      for (const auto& w : words) {
        if (!line.empty()) line += ' ';
        line += w;
      }
      if (line.find('\n') != std::string::npos) {
        std::cerr << "bg95ctl: a request cannot contain a line break\n";
        return kExitErr;
      }
      return run(line) ? kExitOk : kExitErr;
    }
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#') continue;
      if (!run(line)) {
        status = kExitErr;
        if (!keep_going) break;
      }
    }
  } catch (const ConnectionError& e) {
    std::cerr << "bg95ctl: " << e.message << "\n";
    return kExitConnection;
  }
  return status;
}
