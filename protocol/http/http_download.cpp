#include "protocol/http/http_download.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
// cpp-httplib as Debian builds it (libcpp-httplib.so): the pkg-config flags of the
// PkgConfig::HTTPLIB target define CPPHTTPLIB_OPENSSL_SUPPORT (and the zlib/brotli switches)
// exactly as the library was compiled, so the class layouts match.
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "CPPHTTPLIB_OPENSSL_SUPPORT must be defined (link PkgConfig::HTTPLIB)"
#endif
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "protocol/http/response_guard.hpp"
#include "protocol/net/socket_stats.hpp"
#include "protocol/net/url.hpp"

namespace bg95::http {
namespace {

using Clock = std::chrono::steady_clock;

// Bytes at or above 0x80 go out percent-encoded; parse_url() already refused spaces and
// controls and checked the escapes the URL carries.
std::string encode_target(const std::string& target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(target.size());
  for (const char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80) {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    } else {
      out += c;
    }
  }
  return out;
}

// This thread's OpenSSL error queue, as text, then cleared.
std::string take_openssl_errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    if (!out.empty()) out += "; ";
    out += text.data();
  }
  return out;
}

std::string millis(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

// cpp-httplib keeps every header line of a response and has no limit on their number, so a
// server sending header lines for ever would fill memory before on_response is called. What
// it reads from the socket until the head is through is watched instead (TLS handshake
// included; body bytes already received but not read yet do not count).
constexpr std::uint64_t kMaxHeadBytes = 256 * 1024;
constexpr std::chrono::milliseconds kHeadWatchPeriod{10};

// RFC 6066, 3: the server name indication carries a host name, never an IP address literal.
// cpp-httplib sets it from whatever the host is, so for an address it is taken out again when
// the handshake starts, before the ClientHello is built.
void no_server_name_for_addresses(const SSL* ssl, int where, int /*ret*/) {
  // SSL_set_tlsext_host_name(ssl, nullptr), without the macro's C cast.
  if ((where & SSL_CB_HANDSHAKE_START) != 0)
    SSL_ctrl(const_cast<SSL*>(ssl), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             nullptr);
}

// The connection as cpp-httplib reads and writes it: the socket, or the TLS session over it,
// with the library's timeouts. It exists so that every byte of the response head passes the
// ResponseGuard before the library's parser sees it (the library reads the head one byte at a
// time), and so does every byte of a chunked body; a refused line reads as an error, and the
// library gives up on the response.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, SSL* ssl, std::chrono::microseconds read_timeout,
                std::chrono::microseconds write_timeout, ResponseGuard& guard)
      : fd_(fd),
        ssl_(ssl),
        read_timeout_(read_timeout),
        write_timeout_(write_timeout),
        guard_(guard) {}

  bool is_readable() const override {
    return (ssl_ != nullptr && SSL_pending(ssl_) > 0) || wait_for(POLLIN, read_timeout_);
  }
  bool is_writable() const override { return wait_for(POLLOUT, write_timeout_); }

  ssize_t read(char* ptr, size_t size) override {
    if (buffered_ == used_) {
      // Large reads of a body the guard no longer watches go straight to the caller; small
      // ones (the head's single bytes) are served from a buffer.
      if (size >= buffer_.size() && !guard_.watching()) return receive(ptr, size);
      const ssize_t n = receive(buffer_.data(), buffer_.size());
      if (n <= 0) return n;
      buffered_ = static_cast<std::size_t>(n);
      used_ = 0;
    }
    const std::size_t n = std::min(size, buffered_ - used_);
    const std::string_view bytes(buffer_.data() + used_, n);
    if (guard_.watching() && !guard_.take(bytes)) return -1;
    std::copy(bytes.begin(), bytes.end(), ptr);
    used_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    if (ssl_ == nullptr) return ::send(fd_, ptr, size, MSG_NOSIGNAL);
    const int len = static_cast<int>(std::min<size_t>(size, INT32_MAX));
    for (;;) {
      const int n = SSL_write(ssl_, ptr, len);
      if (n > 0) return n;
      if (SSL_get_error(ssl_, n) != SSL_ERROR_WANT_WRITE || !is_writable()) return -1;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(::getpeername, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(::getsockname, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  // Waits for `events` on the socket; false after `timeout` or on an error.
  bool wait_for(short events, std::chrono::microseconds timeout) const {
    pollfd p{fd_, events, 0};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    int rc = 0;
    do {
      rc = ::poll(&p, 1, static_cast<int>(ms));
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
  }
  ssize_t receive(char* ptr, size_t size) {
    if (!is_readable()) return -1;
    if (ssl_ == nullptr) return ::recv(fd_, ptr, size, 0);
    const int len = static_cast<int>(std::min<size_t>(size, INT32_MAX));
    for (;;) {  // a record may arrive in pieces
      const int n = SSL_read(ssl_, ptr, len);
      if (n > 0 || SSL_get_error(ssl_, n) != SSL_ERROR_WANT_READ) return n;
      if (!wait_for(POLLIN, read_timeout_)) return -1;
    }
  }
  template <class Query>
  void address_of(Query query, std::string& ip, int& port) const {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (query(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    std::array<char, NI_MAXHOST> host{};
    std::array<char, NI_MAXSERV> serv{};
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host.data(), host.size(),
                      serv.data(), serv.size(), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      ip = host.data();
      port = std::atoi(serv.data());
    }
  }

  int fd_;
  SSL* ssl_;
  std::chrono::microseconds read_timeout_;
  std::chrono::microseconds write_timeout_;
  ResponseGuard& guard_;
  std::array<char, 4096> buffer_{};
  std::size_t buffered_ = 0;
  std::size_t used_ = 0;
};

// cpp-httplib's client (plain or TLS) with its connection read through a GuardedStream.
// process_socket() is the library's one place where a connected socket becomes a Stream.
template <class Client>
class GuardedClient final : public Client {
 public:
  template <class... Args>
  explicit GuardedClient(ResponseGuard& guard, Args&&... args)
      : Client(std::forward<Args>(args)...), guard_(guard) {}

 private:
  bool process_socket(const typename Client::Socket& socket,
                      std::function<bool(httplib::Stream& strm)> callback) override {
    using std::chrono::microseconds;
    using std::chrono::seconds;
    GuardedStream stream(
        socket.sock, socket.ssl,
        seconds(this->read_timeout_sec_) + microseconds(this->read_timeout_usec_),
        seconds(this->write_timeout_sec_) + microseconds(this->write_timeout_usec_), guard_);
    return callback(stream);
  }

  ResponseGuard& guard_;
};

}  // namespace

struct HttpDownload::Shared : std::enable_shared_from_this<HttpDownload::Shared> {
  Shared(boost::asio::any_io_executor executor, net::Url u, HttpDownloadOptions o,
         HttpDownloadHandlers h)
      : strand(boost::asio::make_strand(executor)),
        work(boost::asio::prefer(executor, boost::asio::execution::outstanding_work.tracked)),
        url(std::move(u)),
        options(std::move(o)),
        handlers(std::move(h)),
        head_watch(strand) {}

  boost::asio::strand<boost::asio::any_io_executor> strand;
  // Keeps the io_context's run() from returning while the download is active.
  boost::asio::any_io_executor work;
  const net::Url url;
  const HttpDownloadOptions options;

  // --- Executor side (guarded by deliver_mutex; recursive so that a handler may cancel).
  std::recursive_mutex deliver_mutex;
  HttpDownloadHandlers handlers;
  bool closed = false;   // no handler runs any more
  int depth = 0;         // handlers running right now (re-entry through cancel)
  bool refused = false;  // on_chunk returned false
  std::optional<std::uint64_t> total;
  std::uint64_t taken = 0;

  // --- Worker coordination (guarded by mutex).
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;       // cancelled, or the consumer refused: stop as soon as possible
  bool returned = false;   // the job has returned (nothing of it runs any more)
  std::size_t queued = 0;  // bytes posted to the strand, not yet handed to on_chunk
  int socket_copy = -1;    // dup() of the socket in use: shutdown() on it wakes blocking I/O

  // --- The response head's size (kMaxHeadBytes), watched from the strand.
  boost::asio::steady_timer head_watch;
  std::atomic<bool> head_done{false};       // on_response ran, or the worker ended
  std::atomic<bool> head_too_large{false};  // stopped for it
  ResponseGuard response_guard;  // the lines of the head and chunked body (worker thread only)

  void watch_head() {
    head_watch.expires_after(kHeadWatchPeriod);
    head_watch.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->head_done) return;
      {
        std::lock_guard lock(self->mutex);
        if (self->stop) return;
        const auto read =
            self->socket_copy >= 0 ? net::tcp_bytes_read(self->socket_copy) : std::nullopt;
        if (read && *read > kMaxHeadBytes) {
          self->head_too_large = true;
          self->stop = true;
          ::shutdown(self->socket_copy, SHUT_RDWR);
          self->cv.notify_all();
          return;
        }
      }
      self->watch_head();
    });
  }

  // Tells the worker to stop and interrupts whatever socket call it is blocked in.
  void request_stop() {
    std::lock_guard lock(mutex);
    stop = true;
    if (socket_copy >= 0) ::shutdown(socket_copy, SHUT_RDWR);
    cv.notify_all();
  }
  bool stopping() {
    std::lock_guard lock(mutex);
    return stop;
  }
  // Called by cpp-httplib for each socket it makes, before it connects. The copy keeps the
  // socket (not just its number) alive until release_socket(), so a shutdown from another
  // thread can never hit an unrelated socket that reused the number.
  void adopt_socket(int fd) {
    std::lock_guard lock(mutex);
    if (socket_copy >= 0) ::close(socket_copy);
    socket_copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (stop && socket_copy >= 0) ::shutdown(socket_copy, SHUT_RDWR);
  }
  void release_socket() {
    std::lock_guard lock(mutex);
    if (socket_copy >= 0) ::close(socket_copy);
    socket_copy = -1;
  }
  // The job's last act, and what cancel() waits for when the job had started.
  void mark_returned() {
    std::lock_guard lock(mutex);
    returned = true;
    cv.notify_all();
  }
  void wait_returned() {
    std::unique_lock lock(mutex);
    cv.wait(lock, [this] { return returned; });
  }

  // Executor side: ends the download's life as far as handlers go.
  void close_locked() {
    closed = true;
    head_watch.cancel();
    work = boost::asio::any_io_executor{};
    if (depth == 0) handlers = HttpDownloadHandlers{};
  }

  // ---- Runs on the strand.
  void deliver_headers(std::optional<std::uint64_t> length) {
    std::lock_guard lock(deliver_mutex);
    if (closed || refused) return;
    total = length;
    if (handlers.on_progress) {
      ++depth;
      handlers.on_progress(HttpProgress{total, taken});
      --depth;
      if (closed && depth == 0) handlers = HttpDownloadHandlers{};
    }
  }

  void deliver_chunk(const std::vector<std::uint8_t>& bytes) {
    {
      std::lock_guard lock(deliver_mutex);
      if (!closed && !refused) {
        ++depth;
        const bool ok = handlers.on_chunk ? handlers.on_chunk(std::span(bytes)) : true;
        if (ok && !closed) {
          taken += bytes.size();
          if (handlers.on_progress) handlers.on_progress(HttpProgress{total, taken});
        }
        --depth;
        if (closed) {
          if (depth == 0) handlers = HttpDownloadHandlers{};
        } else if (!ok) {
          refused = true;
          request_stop();
        }
      }
    }
    std::lock_guard lock(mutex);
    queued -= bytes.size();
    cv.notify_all();
  }

  void deliver_done(HttpDownloadResult result) {
    // The lock stays held through on_done, so that a cancel() from another thread returns
    // only after it; on this thread it may re-enter (start(), cancel(), destruction).
    std::lock_guard lock(deliver_mutex);
    if (closed) return;
    if (refused) {
      result.http_err = http_err::kWriteFailed;
      result.detail = "the consumer refused a chunk (write to flash failed) after " +
                      std::to_string(taken) + " bytes";
    }
    result.received = taken;
    auto on_done = std::move(handlers.on_done);
    close_locked();
    handlers = HttpDownloadHandlers{};
    if (on_done) on_done(result);
  }

  // ---- Runs on the worker thread.
  void post_chunk(std::vector<std::uint8_t> bytes) {
    boost::asio::post(
        strand, [self = shared_from_this(), b = std::move(bytes)] { self->deliver_chunk(b); });
  }

  HttpDownloadResult run();
  HttpDownloadResult transfer(httplib::ClientImpl& client, httplib::SSLClient* ssl);
};

HttpDownloadResult HttpDownload::Shared::run() {
  // Pool threads are reused: nothing an earlier transfer left in this thread's OpenSSL error
  // queue may be blamed on this one.
  ERR_clear_error();
  HttpDownloadResult result;
  const bool https = url.scheme == net::Scheme::Https;

  // A name is resolved here first so that "not resolved" has its own message; cpp-httplib
  // then resolves it again itself (a second lookup: free for /etc/hosts names, cheap with a
  // caching resolver).
  if (url.host_kind == net::HostKind::Name) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(url.host.c_str(), nullptr, &hints, &found);
    if (found != nullptr) ::freeaddrinfo(found);
    if (rc != 0) {
      result.http_err = http_err::kConnectFailed;
      result.detail = "cannot resolve host name \"" + url.host + "\": " + ::gai_strerror(rc);
      return result;
    }
  }
  if (stopping()) return result;

  const int port = url.port;
  if (!https) {
    GuardedClient<httplib::ClientImpl> client(response_guard, url.host, port);
    return transfer(client, nullptr);
  }

  using SslClient = GuardedClient<httplib::SSLClient>;
  const bool client_cert = options.client_cert_file && options.client_key_file;
  std::unique_ptr<httplib::SSLClient> ssl =
      client_cert ? std::make_unique<SslClient>(response_guard, url.host, port,
                                                *options.client_cert_file, *options.client_key_file)
                  : std::make_unique<SslClient>(response_guard, url.host, port);
  if (!ssl->is_valid()) {
    result.http_err = http_err::kConnectFailed;
    result.detail = "TLS set-up failed: cannot load the client certificate \"" +
                    options.client_cert_file.value_or("") + "\" or key \"" +
                    options.client_key_file.value_or("") + "\"";
    const std::string why = take_openssl_errors();
    if (!why.empty()) result.detail += " (" + why + ")";
    return result;
  }
  SSL_CTX* ctx = ssl->ssl_context();
  if (!options.allow_tls13) SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
  if (url.host_kind != net::HostKind::Name)
    SSL_CTX_set_info_callback(ctx, no_server_name_for_addresses);
  if (options.ca_file) {
    ssl->set_ca_cert_path(*options.ca_file);
    ssl->enable_server_certificate_verification(true);
    // The chain check also checks the name: OpenSSL's matcher (SAN first, IP addresses as
    // addresses) rather than only cpp-httplib's own, which runs afterwards as well.
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
    if (url.host_kind == net::HostKind::Name) {
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
    } else {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    }
  } else {
    ssl->enable_server_certificate_verification(false);
  }
  return transfer(*ssl, ssl.get());
}

HttpDownloadResult HttpDownload::Shared::transfer(httplib::ClientImpl& client,
                                                  httplib::SSLClient* ssl) {
  HttpDownloadResult result;
  client.set_connection_timeout(options.connect_timeout);
  client.set_read_timeout(options.idle_timeout);
  client.set_write_timeout(options.idle_timeout);
  client.set_keep_alive(false);
  client.set_follow_location(false);
  client.set_decompress(false);  // the package's bytes exactly as served
  client.set_url_encode(false);  // encode_target() did what is needed
  client.set_socket_options([this](socket_t fd) { adopt_socket(fd); });

  // Where the worker is; read by the classification below (worker thread only).
  Clock::time_point last_activity = Clock::now();
  bool headers_seen = false;
  std::optional<HttpDownloadResult> verdict;  // a decision taken inside a callback
  std::uint64_t received = 0;
  Clock::time_point body_start;

  const httplib::Headers headers{
      {"Host", url.authority()}, {"User-Agent", options.user_agent}, {"Accept", "*/*"}};

  auto on_response = [&](const httplib::Response& res) {
    last_activity = Clock::now();
    headers_seen = true;
    head_done = true;
    result.status = res.status;
    if (res.status == 404) {
      verdict = HttpDownloadResult{http_err::kNotFound, res.status, 0,
                                   "HTTP 404 " + res.reason + ": no such file on the server"};
      return false;
    }
    if (res.status != 200 && res.status != 206) {
      verdict = HttpDownloadResult{http_err::kRequestFailed, res.status, 0,
                                   "HTTP " + std::to_string(res.status) + " " + res.reason};
      return false;
    }
    std::optional<std::uint64_t> length;
    if (res.has_header("Content-Length") && !res.has_header("Transfer-Encoding")) {
      length = res.get_header_value<std::uint64_t>("Content-Length");
      if (*length > options.max_size) {
        verdict = HttpDownloadResult{http_err::kTooLarge, res.status, 0,
                                     "Content-Length " + std::to_string(*length) +
                                         " exceeds the package area (" +
                                         std::to_string(options.max_size) + " bytes)"};
        return false;
      }
    }
    boost::asio::post(strand,
                      [self = shared_from_this(), length] { self->deliver_headers(length); });
    body_start = Clock::now();
    last_activity = body_start;
    return !stopping();
  };

  const std::size_t queue_limit = std::max<std::size_t>(options.max_queued_bytes, 1);
  auto on_data = [&](const char* data, std::size_t n) {
    if (received + n > options.max_size) {
      verdict = HttpDownloadResult{
          http_err::kTooLarge, result.status, 0,
          "the body grew past the package area (" + std::to_string(options.max_size) + " bytes)"};
      return false;
    }
    received += n;
    {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return stop || queued < queue_limit; });
      if (stop) return false;
      queued += n;
    }
    const auto* first = reinterpret_cast<const std::uint8_t*>(data);
    post_chunk(std::vector<std::uint8_t>(first, first + n));
    if (options.rate_limit_bytes_per_s > 0) {
      // Hold the average at the cap: byte `received` is due at body_start + received / rate.
      const auto due =
          body_start +
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
              static_cast<double>(received) / static_cast<double>(options.rate_limit_bytes_per_s)));
      std::unique_lock lock(mutex);
      cv.wait_until(lock, due, [&] { return stop; });
      if (stop) return false;
    }
    // The idle clock restarts when the next read starts: time spent waiting for the consumer
    // or for the rate cap is not the server's silence.
    last_activity = Clock::now();
    return true;
  };

  const httplib::Result res =
      client.Get(encode_target(url.target()), headers, on_response, on_data);
  release_socket();
  const httplib::Error error = res.error();
  const std::string ssl_errors = take_openssl_errors();

  if (head_too_large) {
    result.http_err = http_err::kRequestFailed;
    result.detail = "the response head grew past " + std::to_string(kMaxHeadBytes) +
                    " bytes without ending (read so far, TLS included)";
    return result;
  }
  if (response_guard.refused_in_body()) {
    // Like any other body that breaks off: the head was fine (note, Table 1: 701 unknown).
    result.http_err = http_err::kUnknown;
    result.detail = "the chunked body was refused after " + std::to_string(received) +
                    " bytes: " + response_guard.why();
    return result;
  }
  if (response_guard.refused()) {
    result.http_err = http_err::kRequestFailed;
    result.detail = "the response head was refused: " + response_guard.why();
    return result;
  }
  if (stopping()) {
    result.http_err = http_err::kUnknown;
    result.detail = "stopped";
    return result;
  }
  if (verdict) return *verdict;

  const std::string tls_note = ssl == nullptr ? std::string()
                               : options.ca_file
                                   ? "; server certificate verified against " + *options.ca_file
                                   : "; server certificate NOT verified (no CA file)";

  if (error == httplib::Error::Success && res && res->status != 200 && res->status != 206) {
    // cpp-httplib calls on_response only for responses that may have a body: a 204 (found by
    // fuzz_http_head) came back as a success without a byte.
    result.status = res->status;
    result.http_err = http_err::kRequestFailed;
    result.detail = "HTTP " + std::to_string(res->status) + " " + res->reason;
    return result;
  }
  if (error == httplib::Error::Success && res) {
    result.status = res->status;
    result.http_err = http_err::kOk;
    result.detail = "HTTP " + std::to_string(res->status) + ", " + std::to_string(received) +
                    " bytes" + tls_note;
    return result;
  }

  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::BindIPAddress:
      result.http_err = http_err::kConnectFailed;
      result.detail =
          "cannot connect to " + url.authority() + ": connection refused or unreachable";
      return result;
    case httplib::Error::ConnectionTimeout:
      result.http_err = http_err::kConnectFailed;
      result.detail = "cannot connect to " + url.authority() + ": no answer within " +
                      millis(options.connect_timeout);
      return result;
    case httplib::Error::SSLConnection:
      result.http_err = http_err::kConnectFailed;
      result.detail = "TLS handshake with " + url.authority() + " failed";
      if (!ssl_errors.empty()) result.detail += ": " + ssl_errors;
      return result;
    case httplib::Error::SSLLoadingCerts:
      result.http_err = http_err::kConnectFailed;
      result.detail = "cannot load the CA file \"" + options.ca_file.value_or("") + "\"";
      if (!ssl_errors.empty()) result.detail += ": " + ssl_errors;
      return result;
    case httplib::Error::SSLServerVerification: {
      result.http_err = http_err::kConnectFailed;
      const long code = ssl != nullptr ? ssl->get_openssl_verify_result() : X509_V_OK;
      result.detail =
          "server certificate of " + url.authority() + " not accepted: " +
          (code != X509_V_OK ? X509_verify_cert_error_string(code) : "it does not name the host");
      return result;
    }
    case httplib::Error::Write:
      result.http_err = http_err::kConnectFailed;
      result.detail = "cannot send the request to " + url.authority();
      return result;
    case httplib::Error::Read: {
      if (ssl != nullptr && !headers_seen && !ssl_errors.empty()) {
        // A TLS alert instead of a response: under TLS 1.3 a server that refuses our client
        // certificate says so only after our side of the handshake has finished.
        result.http_err = http_err::kConnectFailed;
        result.detail = "TLS session with " + url.authority() + " failed: " + ssl_errors;
        return result;
      }
      const auto idle = Clock::now() - last_activity;
      // A read that timed out waited at least idle_timeout since the last byte; a connection
      // the server closed comes back sooner.
      if (idle + std::chrono::milliseconds(10) >= options.idle_timeout) {
        result.http_err = http_err::kTimeout;
        result.detail = std::string(headers_seen ? "no data within the body" : "no response") +
                        " for " + millis(options.idle_timeout) + " (after " +
                        std::to_string(received) + " bytes)";
      } else if (!headers_seen) {
        result.http_err = http_err::kRequestFailed;
        result.detail = "the server closed the connection without a valid response";
      } else {
        result.http_err = http_err::kUnknown;
        result.detail = "the server closed the connection after " + std::to_string(received) +
                        " bytes of the body";
      }
      if (!ssl_errors.empty()) result.detail += " (" + ssl_errors + ")";
      return result;
    }
    default:
      result.http_err = http_err::kUnknown;
      result.detail = "download failed: " + httplib::to_string(error);
      if (!ssl_errors.empty()) result.detail += " (" + ssl_errors + ")";
      return result;
  }
}

HttpDownload::HttpDownload(boost::asio::any_io_executor executor, std::shared_ptr<WorkerPool> pool)
    : executor_(std::move(executor)),
      pool_(pool ? std::move(pool) : std::make_shared<WorkerPool>(1)) {}

HttpDownload::~HttpDownload() {
  cancel();
}

void HttpDownload::start(std::string_view url_text, HttpDownloadOptions options,
                         HttpDownloadHandlers handlers) {
  cancel();
  net::Url url = net::parse_url(url_text);
  auto shared = std::make_shared<Shared>(executor_, url, std::move(options), std::move(handlers));
  shared_ = shared;

  if (!url.ok() || !net::is_http(url.scheme)) {
    HttpDownloadResult result;
    result.http_err = http_err::kUrlError;
    result.detail =
        url.ok() ? "not an HTTP(S) URL: " + std::string(url_text) : "bad URL: " + url.error;
    boost::asio::post(shared->strand, [shared, result] { shared->deliver_done(result); });
    return;
  }

  // On a pool thread (SIGPIPE blocked there), once one is free.
  ticket_ = pool_->submit([shared] {
    HttpDownloadResult result;
    if (!shared->stopping()) {
      try {
        result = shared->run();
      } catch (const std::exception& e) {
        result.http_err = http_err::kUnknown;
        result.detail = std::string("download failed: ") + e.what();
      }
    }
    shared->head_done = true;
    boost::asio::post(shared->strand, [shared, r = std::move(result)] { shared->deliver_done(r); });
    shared->mark_returned();
  });
  boost::asio::post(shared->strand, [shared] { shared->watch_head(); });
}

void HttpDownload::cancel() {
  if (!shared_) return;
  {
    std::lock_guard lock(shared_->deliver_mutex);
    shared_->close_locked();
  }
  shared_->request_stop();
  // A job still queued is withdrawn and never runs; one that started is waited for.
  if (ticket_ != 0 && !pool_->withdraw(ticket_)) shared_->wait_returned();
  ticket_ = 0;
  shared_.reset();
}

bool HttpDownload::running() const {
  if (!shared_) return false;
  std::lock_guard lock(shared_->deliver_mutex);
  return !shared_->closed;
}

}  // namespace bg95::http
