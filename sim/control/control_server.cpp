#include "sim/control/control_server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "sim/network.hpp"

namespace bg95::control {

using boost::asio::local::stream_protocol;
namespace fs = std::filesystem;

class Session;

struct ControlServer::Impl : std::enable_shared_from_this<ControlServer::Impl> {
  explicit Impl(const boost::asio::any_io_executor& executor)
      : acceptor(executor), retry(executor), owner(::geteuid()) {}

  void open(const fs::path& requested);
  void accept();
  void on_accept(const boost::system::error_code& ec, stream_protocol::socket socket);
  void stop();
  std::string handle(std::string_view line);

  stream_protocol::acceptor acceptor;
  boost::asio::steady_timer retry;  // after an accept error (EMFILE...): try again later
  uid_t owner;
  fs::path path;
  bool bound = false;  // the socket file at `path` is ours (dev/ino below)
  dev_t dev = 0;
  ino_t ino = 0;
  bool stopped = false;
  std::vector<std::unique_ptr<ControlTarget>> targets;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
  std::uint64_t next_id = 0;
};

namespace {

std::string errno_text(int err) {
  return std::system_category().message(err);
}

[[noreturn]] void fail(const fs::path& path, std::string_view what) {
  throw ControlError(fmt::format("control socket {}: {}", path.string(), what));
}

std::string printable(std::string_view s, std::size_t max = 64) {
  std::string out;
  for (const char ch : s.substr(0, max)) {
    const auto c = static_cast<unsigned char>(ch);
    out += c >= 0x20 && c < 0x7F ? ch : '?';
  }
  if (s.size() > max) out += "...";
  return out;
}

// mkdir -p with mode 0700 for the folders that are missing; existing ones are left as they are.
void make_missing_dirs(const fs::path& dir) {
  fs::path prefix;
  for (const auto& part : dir) {
    prefix /= part;
    struct stat st {};
    if (::lstat(prefix.c_str(), &st) == 0) continue;
    if (errno != ENOENT)
      fail(dir, fmt::format("cannot examine {}: {}", prefix.string(), errno_text(errno)));
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      fail(dir, fmt::format("cannot create the folder {}: {}", prefix.string(), errno_text(errno)));
  }
}

// The folder must be a real folder of ours that nobody else can write to: otherwise another
// user could replace the socket with their own and read what tests send.
fs::path safe_socket_path(const fs::path& requested, uid_t owner) {
  if (requested.empty()) throw ControlError("control socket: empty path");
  std::error_code ec;
  const fs::path absolute = fs::absolute(requested, ec);
  if (ec) fail(requested, ec.message());
  const fs::path name = absolute.filename();
  if (name.empty() || name == "." || name == "..")
    fail(requested, "the path must end with a file name");
  make_missing_dirs(absolute.parent_path());
  const fs::path folder = fs::canonical(absolute.parent_path(), ec);
  if (ec) fail(requested, fmt::format("cannot resolve its folder: {}", ec.message()));
  struct stat st {};
  if (::stat(folder.c_str(), &st) != 0)
    fail(requested,
         fmt::format("cannot examine the folder {}: {}", folder.string(), errno_text(errno)));
  if (!S_ISDIR(st.st_mode)) fail(requested, folder.string() + " is not a folder");
  if (st.st_uid != owner)
    fail(requested,
         fmt::format("the folder {} belongs to uid {}, not to you (uid {}); use a folder "
                     "of your own, e.g. $XDG_RUNTIME_DIR/bg95sim",
                     folder.string(), st.st_uid, owner));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    fail(requested, fmt::format("the folder {} is writable by group or others (mode {:o}); use a "
                                "folder only you can write to (it is created with mode 0700 when "
                                "missing)",
                                folder.string(), st.st_mode & 07777));
  fs::path path = folder / name;
  if (path.native().size() >= sizeof(sockaddr_un::sun_path))
    fail(path, fmt::format("path too long ({} bytes, at most {})", path.native().size(),
                           sizeof(sockaddr_un::sun_path) - 1));
  return path;
}

const char* file_kind(mode_t mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  return "not a socket";
}

// What is at the path already: nothing (fine), a stale socket of ours (removed), or anything
// else (refused, left alone). Symbolic links are never followed.
void clear_stale_socket(const fs::path& path, uid_t owner) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    fail(path, errno_text(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    fail(path, fmt::format("the path exists and is {}; it is left alone", file_kind(st.st_mode)));
  if (st.st_uid != owner)
    fail(path,
         fmt::format("an existing socket there belongs to uid {}; it is left alone", st.st_uid));
  // Live or stale? A listener accepts (or its backlog is full); a stale file refuses.
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (probe < 0) fail(path, errno_text(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.native().size() + 1);
  const int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  const int err = rc == 0 ? 0 : errno;
  ::close(probe);
  if (err == 0 || err == EAGAIN || err == EINPROGRESS)
    fail(path, "another program is listening there (a running bg95sim?)");
  if (err == ENOENT) return;
  if (err != ECONNREFUSED)
    fail(path, fmt::format("cannot tell whether it is in use: {}", errno_text(err)));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    fail(path, fmt::format("cannot remove the stale socket: {}", errno_text(errno)));
}

// ---- requests

// Which modules a request acts on: one (@3, or none given: @0), a set (@1,3,5-9) or all.
struct Selector {
  bool all = false;
  std::vector<std::size_t> indices{0};
  bool single() const { return !all && indices.size() == 1; }
};

std::optional<int> parse_uint(std::string_view s, int max);

// "1,3,5-9": indices in the order given, ranges expanded, duplicates dropped; at most 100000.
std::optional<std::vector<std::size_t>> parse_set(std::string_view s) {
  std::vector<std::size_t> out;
  while (!s.empty()) {
    const std::size_t comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    const std::size_t dash = item.find('-');
    const auto lo = parse_uint(item.substr(0, dash), 999999);
    const auto hi = dash == std::string_view::npos ? lo : parse_uint(item.substr(dash + 1), 999999);
    if (!lo || !hi || *hi < *lo || out.size() + static_cast<std::size_t>(*hi - *lo) > 100000)
      return std::nullopt;
    for (int i = *lo; i <= *hi; ++i)
      if (std::find(out.begin(), out.end(), static_cast<std::size_t>(i)) == out.end())
        out.push_back(static_cast<std::size_t>(i));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return std::nullopt;  // a trailing comma
  }
  if (out.empty()) return std::nullopt;
  return out;
}

std::optional<int> parse_uint(std::string_view s, int max) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < 0 || v > max) return std::nullopt;
  return v;
}

std::optional<RegStatus> parse_reg(std::string_view s) {
  if (const auto n = parse_uint(s, 5)) return static_cast<RegStatus>(*n);
  if (s == "none" || s == "notreg") return RegStatus::NotRegistered;
  if (s == "home") return RegStatus::Home;
  if (s == "searching") return RegStatus::Searching;
  if (s == "denied") return RegStatus::Denied;
  if (s == "unknown") return RegStatus::Unknown;
  if (s == "roaming") return RegStatus::Roaming;
  return std::nullopt;
}

// The words of a fault's control form ("net reg" -> net, reg).
std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    const std::size_t space = s.find(' ');
    out.push_back(s.substr(0, space));
    if (space == std::string_view::npos) break;
    s.remove_prefix(space + 1);
  }
  return out;
}

// A parameter as a list of a command's forms shows it ("<stat>"), and as help and the usage of
// a bad value do ("<0-5|none|...>").
std::string_view placeholder(const faults::Param& p) {
  return p.placeholder.empty() ? p.words : p.placeholder;
}
std::string_view values(const faults::Param& p) {
  return p.values.empty() ? placeholder(p) : p.values;
}

// The forms of the faults on the socket, those of one command (first word) or of all (empty):
// rows that differ only in their last word and take no parameter make one ("power on|off|cut").
std::vector<std::string> fault_forms(std::string_view command, bool full) {
  std::vector<std::string> out;
  std::string_view last_prefix;
  bool mergeable = false;
  for (const faults::Fault& f : faults::table()) {
    if (f.control.empty() || (!command.empty() && split_words(f.control)[0] != command)) continue;
    const bool bare = f.param.type == faults::Type::None;
    const std::size_t space = f.control.rfind(' ');
    const std::string_view prefix =
        space == std::string_view::npos ? std::string_view() : f.control.substr(0, space);
    if (bare && mergeable && !prefix.empty() && prefix == last_prefix) {
      out.back() += "|" + std::string(f.control.substr(space + 1));
      continue;
    }
    std::string form(f.control);
    if (!bare) form += " " + std::string(full ? values(f.param) : placeholder(f.param));
    out.push_back(std::move(form));
    mergeable = bare;
    last_prefix = prefix;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view between) {
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : std::string(between)) + p;
  return out;
}

// The value of a fault's parameter in one word of a request.
std::optional<faults::Value> parse_value(const faults::Param& p, std::string_view word) {
  using faults::Type;
  faults::Value v;
  v.given = true;
  switch (p.type) {
    case Type::None:
      return std::nullopt;
    case Type::Choice:
    case Type::Rat: {
      const auto choices = faults::words(p);
      const auto it = std::find(choices.begin(), choices.end(), word);
      if (it == choices.end()) return std::nullopt;
      v.number = it - choices.begin();
      return v;
    }
    case Type::Integer:
    case Type::Size:
    case Type::Duration: {
      const auto n = parse_uint(word, static_cast<int>(p.max));
      if (!n || *n < p.min) return std::nullopt;
      v.number = *n;
      return v;
    }
    case Type::Csq: {
      const auto n = parse_uint(word, 99);
      if (!n || (*n > 31 && *n != 99)) return std::nullopt;
      v.number = *n;
      return v;
    }
    case Type::Reg: {
      const auto stat = parse_reg(word);
      if (!stat) return std::nullopt;
      v.number = static_cast<int>(*stat);
      return v;
    }
    case Type::Apn:
      v.text = word == "any" ? std::string() : std::string(word);
      return v;
  }
  return std::nullopt;
}

// A bad value of these is told the command's own usage; of a choice, all the forms of the
// command (as "net rat gsm" is).
bool own_usage(const faults::Param& p) {
  return p.type != faults::Type::Choice && p.type != faults::Type::Rat;
}

// The fault a request names (its words without the selector) with its value; or the ERR
// answer when the words start like a fault but do not fit; or neither (not a fault).
struct FaultRequest {
  std::optional<faults::Call> call;
  std::optional<std::string> error;
};

FaultRequest parse_fault(const std::vector<std::string>& words) {
  bool command_known = false;
  for (const faults::Fault& f : faults::table()) {
    if (f.control.empty()) continue;
    const auto form = split_words(f.control);
    if (form[0] != words[0]) continue;
    command_known = true;
    const bool bare = f.param.type == faults::Type::None;
    if (words.size() != form.size() + (bare ? 0 : 1) ||
        !std::equal(form.begin(), form.end(), words.begin()))
      continue;
    faults::Call call{&f, {}};
    if (!bare) {
      const auto value = parse_value(f.param, words.back());
      if (!value && own_usage(f.param))
        return {std::nullopt,
                fmt::format("usage: {} {}{}", f.control, values(f.param), f.param.note)};
      if (!value) break;
      call.value = *value;
    }
    return {call, std::nullopt};
  }
  if (!command_known) return {};
  return {std::nullopt, "usage: " + join(fault_forms(words[0], false), " | ")};
}

std::string help_text() {
  return join(fault_forms("", true), "; ") + "; status; modules; help";
}

// The keys every status starts with, in this order; then the others by name.
constexpr std::array<std::string_view, 9> kStatusOrder = {
    "power", "mode", "firmware", "revision", "package", "dfota", "progress", "dtr", "boots"};

void append_status(std::string& out, const std::map<std::string, std::string>& status,
                   std::string_view prefix) {
  auto add = [&](std::string_view key, const std::string& value) {
    out += ' ';
    out += format_pair(std::string(prefix) + std::string(key), value);
  };
  for (const auto key : kStatusOrder)
    if (const auto it = status.find(std::string(key)); it != status.end()) add(key, it->second);
  for (const auto& [key, value] : status)
    if (std::find(kStatusOrder.begin(), kStatusOrder.end(), key) == kStatusOrder.end())
      add(key, value);
}

std::string err(std::string_view reason) {
  return "ERR " + printable(reason, 400);
}

}  // namespace

std::string format_pair(std::string_view key, std::string_view value) {
  bool bare = !value.empty();
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '\\') bare = false;
  }
  std::string out = printable(key, 200);
  out += '=';
  if (bare) return out + std::string(value);
  out += '"';
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += ch;
    }
  }
  out += '"';
  return out;
}

// ---- one connection

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ControlServer::Impl> server, stream_protocol::socket socket,
          std::uint64_t id)
      : server_(std::move(server)), socket_(std::move(socket)), id_(id) {}
  ~Session() { server_->sessions.erase(id_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void start() { read(); }
  // Tells the peer why and closes once that is written.
  void refuse(std::string_view line) {
    close_after_write_ = true;
    send(std::string(line));
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    socket_.shutdown(stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  bool done() const { return closed_ || server_->stopped; }

  void read() {
    if (reading_ || done() || eof_ || close_after_write_) return;
    if (out_bytes_ >= ControlServer::kMaxPendingOutput) return;  // resumed once written
    reading_ = true;
    socket_.async_read_some(boost::asio::buffer(buf_),
                            [self = shared_from_this()](boost::system::error_code ec,
                                                        std::size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, std::size_t n) {
    reading_ = false;
    if (done()) return;
    if (ec) {
      // End of input or an error: a partial line is dropped unexecuted (half a "net csq 31"
      // must not become "net csq 3"); answers still queued are written first.
      eof_ = true;
      line_.clear();
      if (!writing_) close();
      return;
    }
    feed(std::string_view(buf_.data(), n));
    read();
  }

  void feed(std::string_view bytes) {
    for (const char c : bytes) {
      if (done()) return;
      if (c == '\n') {
        end_line();
      } else if (!discarding_) {
        // One byte of slack for the '\r' of a CRLF line.
        if (line_.size() > ControlServer::kMaxLine) {
          discarding_ = true;
          line_.clear();
        } else {
          line_.push_back(c);
        }
      }
    }
  }

  void end_line() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    if (discarding_ || line_.size() > ControlServer::kMaxLine) {
      send(fmt::format("ERR line too long (more than {} bytes)", ControlServer::kMaxLine));
    } else {
      send(server_->handle(line_));
    }
    discarding_ = false;
    line_.clear();
  }

  void send(std::string line) {
    line += '\n';
    out_bytes_ += line.size();
    out_.push_back(std::move(line));
    if (!writing_) write_next();
  }

  void write_next() {
    if (done()) return;
    if (out_.empty()) {
      writing_ = false;
      if (eof_ || close_after_write_) return close();
      return read();
    }
    writing_ = true;
    boost::asio::async_write(
        socket_, boost::asio::buffer(out_.front()),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (self->done()) return;
          if (ec) return self->close();
          self->out_bytes_ -= self->out_.front().size();
          self->out_.pop_front();
          self->write_next();
        });
  }

  std::shared_ptr<ControlServer::Impl> server_;
  stream_protocol::socket socket_;
  std::uint64_t id_;
  std::array<char, 1024> buf_{};
  std::string line_;
  bool discarding_ = false;  // the current line is too long: skip to its end
  std::deque<std::string> out_;
  std::size_t out_bytes_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool eof_ = false;
  bool close_after_write_ = false;
  bool closed_ = false;
};

// ---- the server

void ControlServer::Impl::open(const fs::path& requested) {
  path = safe_socket_path(requested, owner);
  clear_stale_socket(path, owner);

  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(path, errno_text(errno));
  boost::system::error_code ec;
  acceptor.assign(stream_protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    fail(path, ec.message());
  }
  acceptor.bind(stream_protocol::endpoint(path.string()), ec);
  if (ec) fail(path, "cannot create: " + ec.message());
  // Nobody can connect before listen(), so the mode set here is the mode from the start.
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) fail(path, "vanished after bind");
  bound = true;
  dev = st.st_dev;
  ino = st.st_ino;
  if (::chmod(path.c_str(), 0600) != 0) fail(path, "cannot set mode 0600: " + errno_text(errno));
  acceptor.listen(SOMAXCONN, ec);
  if (ec) fail(path, "cannot listen: " + ec.message());
}

void ControlServer::Impl::accept() {
  if (stopped) return;
  acceptor.async_accept(
      [self = shared_from_this()](boost::system::error_code ec, stream_protocol::socket socket) {
        self->on_accept(ec, std::move(socket));
      });
}

void ControlServer::Impl::on_accept(const boost::system::error_code& ec,
                                    stream_protocol::socket socket) {
  if (stopped || ec == boost::asio::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors and the like: do not spin, try again shortly.
    retry.expires_after(std::chrono::milliseconds(100));
    retry.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (!wait_ec) self->accept();
    });
    return;
  }
  const int fd = socket.native_handle();
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  ucred cred{};
  socklen_t len = sizeof cred;
  const bool have_cred = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
  const std::uint64_t id = next_id++;
  auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), id);
  sessions[id] = session;
  if (!have_cred) {
    session->refuse("ERR cannot read the peer's credentials");
  } else if (cred.uid != owner) {
    session->refuse(
        fmt::format("ERR permission denied: uid {} is not the owner (uid {})", cred.uid, owner));
  } else if (sessions.size() > ControlServer::kMaxConnections) {
    session->refuse(
        fmt::format("ERR too many connections (at most {})", ControlServer::kMaxConnections));
  } else {
    session->start();
  }
  accept();
}

void ControlServer::Impl::stop() {
  if (stopped) return;
  stopped = true;
  boost::system::error_code ignored;
  acceptor.close(ignored);
  retry.cancel();
  std::vector<std::shared_ptr<Session>> live;
  for (auto& [id, weak] : sessions)
    if (auto s = weak.lock()) live.push_back(std::move(s));
  for (auto& s : live)
    s->close();
  live.clear();
  targets.clear();
  // Remove the file only if it is still the socket we made.
  struct stat st {};
  if (bound && ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
      st.st_ino == ino)
    ::unlink(path.c_str());
  bound = false;
}

std::string ControlServer::Impl::handle(std::string_view line) {
  for (const char ch : line) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c >= 0x7F) return err("invalid characters in the request");
  }
  std::vector<std::string> words;
  for (std::size_t i = 0; i < line.size();) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    std::string w(line.substr(i, j - i));
    for (auto& ch : w)
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    words.push_back(std::move(w));
    i = j;
  }
  if (words.empty()) return err("empty request (try help)");

  Selector selector;
  if (words[0].front() == '@') {
    const std::string_view sel = std::string_view(words[0]).substr(1);
    if (sel == "all") {
      selector.all = true;
    } else if (auto set = parse_set(sel)) {
      selector.indices = std::move(*set);
    } else {
      return err(fmt::format("bad selector \"{}\" (use @<index>, @<i>,<j>-<k> or @all)",
                             printable(words[0])));
    }
    words.erase(words.begin());
    if (words.empty()) return err("a selector needs a command (try help)");
  }
  const std::string& cmd = words[0];
  const std::size_t argc = words.size() - 1;

  if (cmd == "help" && argc == 0)
    return "OK " + format_pair("commands", help_text()) + " " +
           format_pair("selector", "@<index>|@<i>,<j>-<k>|@all (default @0)");
  if (cmd == "modules" && argc == 0) return fmt::format("OK count={}", targets.size());

  // Everything else acts on modules: their status, or a fault of the table (sim/faults.hpp).
  std::function<void(ControlTarget&)> action;
  const bool is_status = cmd == "status" && argc == 0;
  if (!is_status) {
    FaultRequest request = parse_fault(words);
    if (request.error) return err(*request.error);
    if (!request.call)
      return err(fmt::format("unknown command \"{}\" (try help)", printable(cmd, 40)));
    action = [call = *request.call](ControlTarget& t) { t.apply(call); };
  }

  if (targets.empty()) return err("no module");
  if (selector.all) {
    selector.indices.resize(targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i)
      selector.indices[i] = i;
  }
  for (const std::size_t i : selector.indices)
    if (i >= targets.size())
      return err(fmt::format("no module @{} (there {} {})", i, targets.size() == 1 ? "is" : "are",
                             targets.size()));
  // With @all or a set, status keys carry the module's index ("0.power=normal"); with one
  // module, they are plain, even when @0 was given.
  const bool prefixed = !selector.single();
  std::string out = "OK";
  for (const std::size_t i : selector.indices) {
    ControlTarget& t = *targets[i];
    try {
      if (is_status) {
        append_status(out, t.status(), prefixed ? fmt::format("{}.", i) : std::string());
      } else {
        action(t);
      }
    } catch (const std::exception& e) {
      return err(prefixed ? fmt::format("@{}: {}", i, e.what()) : std::string(e.what()));
    }
  }
  return out;
}

ControlServer::ControlServer(boost::asio::any_io_executor executor, const fs::path& path)
    : impl_(std::make_shared<Impl>(executor)) {
  try {
    impl_->open(path);
  } catch (...) {
    impl_->stop();  // removes the socket file if bind got that far
    throw;
  }
  impl_->accept();
}

ControlServer::~ControlServer() {
  impl_->stop();
}

std::size_t ControlServer::add_target(std::unique_ptr<ControlTarget> target) {
  impl_->targets.push_back(std::move(target));
  return impl_->targets.size() - 1;
}

std::size_t ControlServer::target_count() const {
  return impl_->targets.size();
}

const fs::path& ControlServer::path() const {
  return impl_->path;
}

std::size_t ControlServer::connection_count() const {
  return impl_->sessions.size();
}

std::string ControlServer::handle_line(std::string_view line) {
  return impl_->handle(line);
}

}  // namespace bg95::control
