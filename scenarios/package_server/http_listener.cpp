#include "scenarios/package_server/http_listener.hpp"

#include <stdexcept>
#include <vector>

#include "scenarios/package_server/http_connection.hpp"

namespace bg95::pkgserver {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

HttpListener::HttpListener(std::shared_ptr<ServerState> state, Protocol protocol, TlsContexts* tls)
    : state_(std::move(state)), protocol_(protocol), tls_(tls), acceptor_(state_->executor) {}

void HttpListener::start(const asio::ip::address& address, std::uint16_t port) {
  const tcp::endpoint endpoint(address, port);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    throw std::runtime_error("cannot listen on " + endpoint_text(endpoint) + " for " +
                             std::string(to_string(protocol_)) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  accept();
}

void HttpListener::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  // abort() does not call back; the copy keeps the iteration safe all the same.
  const auto connections = std::move(connections_);
  connections_.clear();
  for (const auto& [id, weak] : connections) {
    if (auto connection = weak.lock()) connection->abort();
  }
}

void HttpListener::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) self->on_accepted(std::move(socket));
        // Other errors (EMFILE, ECONNABORTED) concern one connection: go on accepting.
        self->accept();
      });
}

void HttpListener::on_accepted(tcp::socket socket) {
  boost::system::error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return;  // gone already
  ConnectionSetup setup;
  setup.state = state_;
  setup.protocol = protocol_;
  setup.peer = endpoint_text(remote);

  if (connections_.size() >= state_->max_connections) {
    ServerEvent event;
    event.protocol = protocol_;
    event.peer = setup.peer;
    event.outcome = Outcome::Refused;
    event.detail =
        "too many connections (max_connections " + std::to_string(state_->max_connections) + ")";
    state_->emit(std::move(event));
    socket.close(ec);
    return;
  }

  asio::ssl::context* context = nullptr;
  if (protocol_ == Protocol::Https) {
    const auto wrong = state_->faults.wrong_ca_for_connection(protocol_);
    if (wrong) setup.connection_faults.push_back(*wrong);
    context = wrong ? &tls_->wrong_ca : &tls_->right;
  }
  const std::uint64_t id = next_id_++;
  std::weak_ptr<HttpListener> weak_self = weak_from_this();
  setup.on_finished = [weak_self, id] {
    if (auto self = weak_self.lock()) self->connections_.erase(id);
  };
  auto connection = make_http_connection(std::move(socket), context, std::move(setup));
  connections_[id] = connection;
  connection->start();
}

}  // namespace bg95::pkgserver
