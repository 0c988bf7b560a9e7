#include "tests/support/scripted_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "tests/support/no_sigpipe.hpp"

namespace bg95::test {

ScriptedServer::ScriptedServer(Script script, std::optional<Tls> tls) : script_(std::move(script)) {
  if (tls) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == nullptr || SSL_CTX_use_certificate_chain_file(ctx_, tls->cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx_, tls->key_file.c_str(), SSL_FILETYPE_PEM) != 1)
      throw std::runtime_error("cannot set up TLS");
    SSL_CTX_set_mode(ctx_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd_, 4) != 0)
    throw std::runtime_error("cannot listen");
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedServer::~ScriptedServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

std::string ScriptedServer::url(const std::string& path) const {
  return std::string(ctx_ != nullptr ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) +
         path;
}

bool ScriptedServer::send_all(int fd, std::string_view bytes) {
  while (!bytes.empty() && !stop_) {
    pollfd p{fd, POLLOUT | POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    if ((p.revents & POLLIN) != 0 && !peer_open(fd)) return false;
    if ((p.revents & POLLOUT) == 0) continue;
    long n = 0;
    if (ssl_ != nullptr) {
      n = SSL_write(ssl_, bytes.data(),
                    static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
      if (n <= 0 && SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_WANT_WRITE) continue;
    } else {
      n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EAGAIN) continue;
    }
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return !stop_;
}

std::string ScriptedServer::server_name() const {
  std::lock_guard lock(mutex_);
  return server_name_;
}

bool ScriptedServer::pause(int fd, std::chrono::milliseconds d) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(d.count())) > 0 && !peer_open(fd)) return false;
  return !stop_;
}

long ScriptedServer::receive(int fd, char* buf, std::size_t size) {
  if (ssl_ == nullptr) return ::recv(fd, buf, size, MSG_DONTWAIT);
  const int n = SSL_read(ssl_, buf, static_cast<int>(size));
  if (n <= 0 && SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ) {
    errno = EAGAIN;
    return -1;
  }
  return n;
}

bool ScriptedServer::peer_open(int fd) {
  char buf[4096];
  const long n = receive(fd, buf, sizeof buf);
  return n > 0 || (n < 0 && errno == EAGAIN);
}

// Under TLS: the server side of the handshake on the non-blocking socket, within 5 s.
bool ScriptedServer::handshake(int fd) {
  if (ctx_ == nullptr) return true;
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd);
  for (;;) {
    const int rc = SSL_accept(ssl_);
    if (rc == 1) {
      const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
      std::lock_guard lock(mutex_);
      server_name_ = name != nullptr ? name : "";
      return true;
    }
    const int err = SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return false;
    pollfd p{fd, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    if (stop_ || ::poll(&p, 1, 5000) <= 0) return false;
  }
}

void ScriptedServer::serve() {
  block_sigpipe_on_this_thread();  // SSL_write to a module that hung up
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) continue;
    ++connections_;
    if (handshake(c)) {
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
          if (::poll(&q, 1, 5000) <= 0) break;
        }
        const long n = receive(c, buf, sizeof buf);
        if (n < 0 && errno == EAGAIN) continue;
        if (n <= 0) break;
        head.append(buf, static_cast<std::size_t>(n));
      }
      script_(*this, c);
    }
    if (ssl_ != nullptr) SSL_free(ssl_);
    ssl_ = nullptr;
    ::close(c);
  }
}

ScriptedServer::Script long_head_line(bool status_line, std::size_t line_size, int status) {
  return [status_line, line_size, status](ScriptedServer& s, int fd) {
    const std::string code = "HTTP/1.1 " + std::to_string(status) + " ";
    const std::string before = status_line ? "" : code + "Status\r\n";
    const std::string start = status_line ? code : "X-Long: ";
    if (!s.send_all(fd, before + start)) return;
    for (std::size_t left = line_size - start.size() - 2; left > 0;) {
      const std::size_t n = std::min<std::size_t>(left, 1 << 16);
      if (!s.send_all(fd, std::string(n, 'O'))) return;
      left -= n;
    }
    s.send_all(fd, "\r\nContent-Length: 3\r\n\r\nabc");
  };
}

}  // namespace bg95::test
