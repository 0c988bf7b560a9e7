#pragma once
// Test support: echo servers on 127.0.0.1:<ephemeral> — TCP, TLS (the test PKI's server
// certificate) and UDP — each on a thread and io_context of its own, stopped and joined at
// destruction. A test can close or reset (RST) every connection the server has, to see what
// the module reports.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>

namespace bg95::test {

class EchoServer {
 public:
  enum class Kind { Tcp, Tls, Udp };

  // Tls needs the server's certificate and key files.
  explicit EchoServer(Kind kind, const std::filesystem::path& cert_file = {},
                      const std::filesystem::path& key_file = {})
      : kind_(kind), tls_(boost::asio::ssl::context::tls_server) {
    namespace asio = boost::asio;
    const auto loopback = asio::ip::address_v4::loopback();
    if (kind == Kind::Udp) {
      udp_.emplace(io_, asio::ip::udp::endpoint(loopback, 0));
      port_ = udp_->local_endpoint().port();
      receive_datagram();
    } else {
      if (kind == Kind::Tls) {
        tls_.use_certificate_chain_file(cert_file.string());
        tls_.use_private_key_file(key_file.string(), asio::ssl::context::pem);
      }
      acceptor_.emplace(io_, asio::ip::tcp::endpoint(loopback, 0));
      port_ = acceptor_->local_endpoint().port();
      accept();
    }
    thread_ = std::thread([this] { io_.run(); });
  }
  ~EchoServer() {
    io_.stop();
    thread_.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::uint64_t echoed() const { return echoed_; }  // bytes sent back so far
  std::size_t accepted() const { return accepted_; }

  // Every connection ends: with FIN, or with RST (SO_LINGER 0) when `reset`.
  void drop_connections(bool reset) {
    std::atomic<bool> done{false};
    boost::asio::post(io_, [this, reset, &done] {
      for (auto& weak : connections_)
        if (auto c = weak.lock()) c->drop(reset);
      done = true;
      done.notify_all();
    });
    done.wait(false);
  }

 private:
  struct Connection : std::enable_shared_from_this<Connection> {
    Connection(EchoServer& owner, boost::asio::ip::tcp::socket s)
        : server(owner), socket(std::move(s)), tls(socket, owner.tls_) {}
    void start() {
      if (server.kind_ != Kind::Tls) return read();
      tls.async_handshake(boost::asio::ssl::stream_base::server,
                          [self = shared_from_this()](boost::system::error_code ec) {
                            if (!ec) self->read();
                          });
    }
    void read() {
      auto on_read = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec) return;
        auto on_written = [self](boost::system::error_code ec2, std::size_t written) {
          if (ec2) return;
          self->server.echoed_ += written;
          self->read();
        };
        if (self->server.kind_ == Kind::Tls)
          boost::asio::async_write(self->tls, boost::asio::buffer(self->buffer, n), on_written);
        else
          boost::asio::async_write(self->socket, boost::asio::buffer(self->buffer, n), on_written);
      };
      if (server.kind_ == Kind::Tls)
        tls.async_read_some(boost::asio::buffer(buffer), on_read);
      else
        socket.async_read_some(boost::asio::buffer(buffer), on_read);
    }
    void drop(bool reset) {
      boost::system::error_code ec;
      if (reset) socket.set_option(boost::asio::socket_base::linger(true, 0), ec);
      socket.close(ec);
    }
    EchoServer& server;
    boost::asio::ip::tcp::socket socket;
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> tls;
    char buffer[16384];
  };

  void accept() {
    acceptor_->async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      ++accepted_;
      auto c = std::make_shared<Connection>(*this, std::move(s));
      connections_.push_back(c);
      c->start();
      accept();
    });
  }

  void receive_datagram() {
    udp_->async_receive_from(boost::asio::buffer(datagram_, sizeof datagram_), from_,
                             [this](boost::system::error_code ec, std::size_t n) {
                               if (ec) return;
                               boost::system::error_code ignored;
                               udp_->send_to(boost::asio::buffer(datagram_, n), from_, 0, ignored);
                               if (!ignored) echoed_ += n;
                               receive_datagram();
                             });
  }

  Kind kind_;
  boost::asio::io_context io_;
  boost::asio::ssl::context tls_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::optional<boost::asio::ip::udp::socket> udp_;
  std::list<std::weak_ptr<Connection>> connections_;
  boost::asio::ip::udp::endpoint from_;
  char datagram_[65536];
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> echoed_{0};
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

// A port on 127.0.0.1 where nothing listens (bound and released: a connection is refused).
inline std::uint16_t closed_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(
      io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
  return a.local_endpoint().port();
}

}  // namespace bg95::test
