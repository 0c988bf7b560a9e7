#pragma once
// The HTTP or HTTPS listener: accepts connections (at most max_connections open; more are
// closed at once and reported as Refused), picks each HTTPS connection's certificate (the
// tls_wrong_ca rules count connections), and hands the connection to an HttpConnection.

#include <cstdint>
#include <map>
#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "scenarios/package_server/protocol.hpp"
#include "scenarios/package_server/server_state.hpp"
#include "scenarios/package_server/tls_contexts.hpp"

namespace bg95::pkgserver {

class HttpConnectionBase;

class HttpListener : public std::enable_shared_from_this<HttpListener> {
 public:
  // `tls` is needed for Https and must outlive the listener.
  HttpListener(std::shared_ptr<ServerState> state, Protocol protocol, TlsContexts* tls);

  // Binds and listens; throws std::runtime_error naming the address and the reason.
  void start(const boost::asio::ip::address& address, std::uint16_t port);
  // Closes the listening socket and every open connection.
  void stop();
  std::uint16_t port() const { return port_; }

 private:
  void accept();
  void on_accepted(boost::asio::ip::tcp::socket socket);

  std::shared_ptr<ServerState> state_;
  Protocol protocol_;
  TlsContexts* tls_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::weak_ptr<HttpConnectionBase>> connections_;
};

// "127.0.0.1:40312", "[::1]:40312".
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace bg95::pkgserver
