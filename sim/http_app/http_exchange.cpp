#include "sim/http_app/http_exchange.hpp"

#include <array>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "sim/http_app/response_parser.hpp"
#include "sim/net/link.hpp"
#include "sim/packet/host_resolver.hpp"

namespace bg95::http_app {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

class Exchange final : public HttpExchange, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::any_io_executor executor, net::Link& link, ExchangeRequest request, Done done)
      : executor_(executor),
        link_(link),
        request_(std::move(request)),
        done_(std::move(done)),
        socket_(executor),
        deadline_(executor),
        parser_(request_.max_body) {}

  void run() {
    deadline_.expires_after(request_.response_time);
    deadline_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->finish(HttpError::Timeout, "no complete response within the response time");
    });
    // Everything starts from the loop, so that `done` never runs inside start_exchange().
    asio::post(executor_, [self = shared_from_this()] { self->resolve(); });
  }

  void cancel() override {
    done_ = nullptr;
    close();
  }

 private:
  void resolve() {
    if (finished_) return;
    const net::Url& url = request_.url;
    if (url.host_kind == net::HostKind::Name && link_.dns_fails())
      return finish(HttpError::DnsError, "DNS failure (link fault)");
    const auto addresses = packet::resolve_locally(url.host);
    if (addresses.empty()) return finish(HttpError::DnsError, "unknown host " + url.host);
    error_code ec;
    const auto address = asio::ip::make_address(addresses.front(), ec);
    if (ec) return finish(HttpError::IpAddressError, "bad address " + addresses.front());
    switch (link_.connect_fault()) {
      case net::Link::ConnectFault::None:
        break;
      case net::Link::ConnectFault::Refused:
        return finish(HttpError::SocketConnectError, "connection refused (link fault)");
      case net::Link::ConnectFault::Reset:
        return finish(HttpError::SocketConnectError, "connection reset (link fault)");
      case net::Link::ConnectFault::Timeout:
        return;  // nothing answers: the response time runs out
    }
    if (request_.tls && !start_tls()) return;
    lowest().async_connect(tcp::endpoint(address, request_.url.port),
                           [self = shared_from_this()](error_code e) { self->on_connect(e); });
  }

  bool start_tls() {
    tls_context_.emplace(request_.tls.release());  // the Asio context owns the SSL_CTX now
    tls_.emplace(executor_, *tls_context_);
    // SNI and the host name check, as AT+QSSLCFG="sni" and "checkhost" say.
    if (!net::prepare_session(tls_->native_handle(), request_.ssl, request_.url.host)) {
      finish(HttpError::SocketConnectError, "cannot prepare the TLS session");
      return false;
    }
    return true;
  }

  tcp::socket& lowest() { return tls_ ? tls_->next_layer() : socket_; }

  void on_connect(error_code ec) {
    if (finished_) return;
    if (ec) return finish(HttpError::SocketConnectError, "connect: " + ec.message());
    if (!tls_) return send();
    tls_->async_handshake(
        asio::ssl::stream_base::client, [self = shared_from_this()](error_code e) {
          if (self->finished_) return;
          if (e)
            return self->finish(HttpError::SocketConnectError, "TLS handshake: " + e.message());
          self->send();
        });
  }

  // The request crosses the radio link first, then goes on the socket.
  void send() {
    link_.carry(net::Link::Direction::Up, request_.bytes.size(), [self = shared_from_this()] {
      if (self->finished_) return;
      auto written = [self](error_code e, std::size_t) {
        if (self->finished_) return;
        if (e) return self->finish(HttpError::SocketWriteError, "write: " + e.message());
        self->read();
      };
      if (self->tls_)
        asio::async_write(*self->tls_, asio::buffer(self->request_.bytes), written);
      else
        asio::async_write(self->socket_, asio::buffer(self->request_.bytes), written);
    });
  }

  void read() {
    auto got = [self = shared_from_this()](error_code e, std::size_t n) { self->on_read(e, n); };
    if (tls_)
      tls_->async_read_some(asio::buffer(buffer_), got);
    else
      socket_.async_read_some(asio::buffer(buffer_), got);
  }

  void on_read(error_code ec, std::size_t n) {
    if (finished_) return;
    if (ec) {
      // A close without TLS close_notify ends the stream as well (many servers do it).
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        parser_.end_of_stream();
        return conclude();
      }
      return finish(HttpError::SocketReadError, "read: " + ec.message());
    }
    // What arrived crosses the link before the module has it; no read meanwhile, so a slow
    // link holds the server back.
    link_.carry(net::Link::Direction::Down, n,
                [self = shared_from_this(), bytes = std::string(buffer_.data(), n)] {
                  if (self->finished_) return;
                  self->parser_.feed(bytes);
                  if (self->parser_.done() || self->parser_.failed()) return self->conclude();
                  self->read();
                });
  }

  void conclude() {
    if (parser_.failed()) return finish(parser_.failure(), "bad or incomplete response");
    ExchangeResult r;
    r.err = HttpError::Ok;
    r.status = parser_.status();
    r.content_length = parser_.content_length();
    r.head = parser_.head();
    r.body = parser_.take_body();
    deliver(std::move(r));
  }

  void finish(HttpError err, std::string detail) {
    ExchangeResult r;
    r.err = err;
    r.detail = std::move(detail);
    deliver(std::move(r));
  }

  void deliver(ExchangeResult r) {
    if (finished_) return;
    close();
    if (auto done = std::move(done_)) done(std::move(r));
  }

  void close() {
    finished_ = true;
    deadline_.cancel();
    error_code ignored;
    lowest().close(ignored);
  }

  asio::any_io_executor executor_;
  net::Link& link_;
  ExchangeRequest request_;
  Done done_;
  tcp::socket socket_;
  std::optional<asio::ssl::context> tls_context_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
  asio::steady_timer deadline_;
  ResponseParser parser_;
  std::array<char, 16 * 1024> buffer_{};
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<HttpExchange> start_exchange(asio::any_io_executor executor, net::Link& link,
                                             ExchangeRequest request, HttpExchange::Done done) {
  auto exchange =
      std::make_shared<Exchange>(std::move(executor), link, std::move(request), std::move(done));
  exchange->run();
  return exchange;
}

}  // namespace bg95::http_app
