#include "sim/sockets/socket_service.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "sim/fs/module_fs.hpp"
#include "sim/module.hpp"
#include "sim/net/link.hpp"
#include "sim/net/ssl_context.hpp"
#include "sim/packet/host_resolver.hpp"
#include "sim/packet/packet_data.hpp"

namespace bg95::sockets {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using Direction = net::Link::Direction;

namespace {

constexpr std::array<std::pair<Service, std::string_view>, 6> kServiceNames{{
    {Service::Tcp, "TCP"},
    {Service::Udp, "UDP"},
    {Service::TcpListener, "TCP LISTENER"},
    {Service::TcpIncoming, "TCP INCOMING"},
    {Service::UdpService, "UDP SERVICE"},
    {Service::SslClient, "SSLClient"},
}};

constexpr std::size_t kReadChunk = 4096;
constexpr std::size_t kMaxDatagram = 65536;

}  // namespace

std::string_view service_name(Service service) {
  for (const auto& [s, name] : kServiceNames)
    if (s == service) return name;
  return "";
}

std::optional<Service> parse_service(std::string_view text) {
  // AT+QIOPEN takes the four the note lists; "TCP INCOMING" is made by a listener only.
  for (Service s : {Service::Tcp, Service::Udp, Service::TcpListener, Service::UdpService})
    if (service_name(s) == text) return s;
  return std::nullopt;
}

bool is_loopback(const asio::ip::address& address) {
  return address.is_loopback() ||
         (address.is_v6() && address.to_v6().is_v4_mapped() &&
          asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback());
}

// ---- Socket --------------------------------------------------------------------------------

Socket::Socket(SocketService& owner, OpenRequest request)
    : owner_(owner), request_(std::move(request)) {
  remote_port_ = request_.remote_port;
  local_port_ = request_.local_port;
  shown_address_ = request_.host;
}

Socket::~Socket() {
  closed_ = true;
}

std::string Socket::urc_prefix() const {
  return is_ssl() ? "+QSSLURC: " : "+QIURC: ";
}

namespace {

// Posts `done(err)` unless the socket was closed meanwhile (a power loss, AT+QICLOSE).
void post_done(const std::shared_ptr<Socket>& self, asio::any_io_executor executor,
               std::function<void(int)> done, int err) {
  asio::post(executor, [weak = std::weak_ptr<Socket>(self), done = std::move(done), err] {
    if (auto s = weak.lock(); s && !s->closed()) done(err);
  });
}

}  // namespace

void Socket::connect(std::function<void(int err)> done) {
  Module& m = owner_.module();
  auto self = shared_from_this();
  auto fail = [&](Error e) { post_done(self, m.executor(), done, code(e)); };
  if (request_.service == Service::TcpListener) return start_listener(std::move(done));
  if (request_.service == Service::UdpService) return start_udp(std::nullopt, std::move(done));
  // A name is looked up first (the link's DNS fault, or a name this machine does not know).
  if (m.link().dns_fails()) return fail(Error::DnsParseFailed);
  const auto addresses = packet::resolve_locally(request_.host);
  boost::system::error_code ec;
  const auto address =
      addresses.empty() ? asio::ip::address{} : asio::ip::make_address(addresses.front(), ec);
  if (addresses.empty() || ec) return fail(Error::DnsParseFailed);
  shown_address_ = address.to_string();
  // Traffic stays on this machine: anything else is a server that cannot be reached.
  if (!is_loopback(address)) return fail(Error::ConnectFailed);
  switch (m.link().connect_fault()) {
    case net::Link::ConnectFault::Refused:
      return fail(Error::ConnectFailed);
    case net::Link::ConnectFault::Timeout:
      return fail(Error::Timeout);
    case net::Link::ConnectFault::Reset:
      reset_after_connect_ = true;
      break;
    case net::Link::ConnectFault::None:
      break;
  }
  if (request_.service == Service::Udp)
    return start_udp(udp::endpoint(address, request_.remote_port), std::move(done));
  start_tcp(tcp::endpoint(address, request_.remote_port), std::move(done));
}

void Socket::start_tcp(const tcp::endpoint& to, std::function<void(int)> done) {
  tcp_.emplace(owner_.module().executor());
  tcp_->async_connect(to, [self = shared_from_this(), done](boost::system::error_code ec) {
    if (self->closed_) return;
    // Refused (nothing listens there) or unreachable: the note's "socket connect failed".
    if (ec) return done(code(Error::ConnectFailed));
    boost::system::error_code ignored;
    self->local_port_ = self->tcp_->local_endpoint(ignored).port();
    if (self->is_ssl()) return self->start_tls(done);
    self->state_ = State::Connected;
    done(0);
    self->connected();
  });
}

void Socket::connected() {
  if (closed_) return;
  // The link's reset fault: the server resets the connection as soon as it is up.
  if (reset_after_connect_) return lost(true);
  read_stream();
}

void Socket::start_tls(std::function<void(int)> done) {
  Module& m = owner_.module();
  const auto& config = m.ssl_contexts().at(request_.ssl_ctx);
  auto built = net::make_client_context(config, fs::ModuleFs(m.config().state_dir / "fs"));
  if (!built.ctx) {
    m.log_event("ssl: " + built.error);
    return done(code(Error::ConnectFailed));
  }
  tls_context_ = std::make_unique<asio::ssl::context>(built.ctx.release());
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(*tcp_, *tls_context_);
  // SNI (AT+QSSLCFG="sni"): SSL_set_tlsext_host_name without its C cast.
  if (config.sni)
    SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(request_.host.c_str()));
  tls_->async_handshake(asio::ssl::stream_base::client,
                        [self = shared_from_this(), done](boost::system::error_code ec) {
                          if (self->closed_) return;
                          if (ec) {
                            self->owner_.module().log_event("ssl handshake: " + ec.message());
                            return done(code(Error::ConnectFailed));
                          }
                          self->state_ = State::Connected;
                          done(0);
                          self->connected();
                        });
}

void Socket::start_udp(const std::optional<udp::endpoint>& to, std::function<void(int)> done) {
  Module& m = owner_.module();
  boost::system::error_code ec;
  udp_.emplace(m.executor());
  const auto local_address = to && to->address().is_v6()
                                 ? asio::ip::address(asio::ip::address_v6::loopback())
                                 : asio::ip::address(asio::ip::address_v4::loopback());
  udp_->open(local_address.is_v6() ? udp::v6() : udp::v4(), ec);
  if (!ec) udp_->bind(udp::endpoint(local_address, request_.local_port), ec);
  if (ec)
    return post_done(shared_from_this(), m.executor(), std::move(done), code(Error::BindFailed));
  if (to) udp_->connect(*to, ec);
  if (ec)
    return post_done(shared_from_this(), m.executor(), std::move(done), code(Error::ConnectFailed));
  local_port_ = udp_->local_endpoint(ec).port();
  // A UDP service shows the module's own address (the note, AT+QISTATE <IP_address>).
  if (!to) shown_address_ = m.packet_data().ipv4_address(request_.cid);
  state_ = State::Connected;
  asio::post(m.executor(), [self = shared_from_this(), done = std::move(done)] {
    if (self->closed_) return;
    done(0);
    self->read_datagrams();
  });
}

void Socket::start_listener(std::function<void(int)> done) {
  Module& m = owner_.module();
  boost::system::error_code ec;
  acceptor_.emplace(m.executor());
  const tcp::endpoint at(asio::ip::address_v4::loopback(), request_.local_port);
  acceptor_->open(at.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(at, ec);
  if (ec)
    return post_done(shared_from_this(), m.executor(), std::move(done), code(Error::BindFailed));
  acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return post_done(shared_from_this(), m.executor(), std::move(done), code(Error::ListenFailed));
  local_port_ = acceptor_->local_endpoint(ec).port();
  shown_address_ = m.packet_data().ipv4_address(request_.cid);
  state_ = State::Listening;
  asio::post(m.executor(), [self = shared_from_this(), done = std::move(done)] {
    if (self->closed_) return;
    done(0);
    self->accept_next();
  });
}

void Socket::accept_next() {
  acceptor_->async_accept(
      [self = shared_from_this()](boost::system::error_code ec, tcp::socket peer) {
        if (self->closed_) return;
        if (ec) return self->accept_next();
        SocketService& owner = self->owner_;
        const auto id = owner.take_incoming_id();
        if (!id) {
          // Every id is taken: the connection is turned away (the note, +QIURC: "incoming full").
          owner.emit_urc("+QIURC: \"incoming full\"");
          return self->accept_next();
        }
        OpenRequest r = self->request_;
        r.id = *id;
        r.service = Service::TcpIncoming;
        auto incoming = std::make_shared<Socket>(owner, r);
        incoming->server_id_ = self->id();
        incoming->adopt(std::move(peer));
        owner.add_incoming(incoming);
        owner.emit_urc(fmt::format("+QIURC: \"incoming\",{},{},\"{}\",{}", *id, self->id(),
                                   incoming->shown_address_, incoming->remote_port_));
        incoming->read_stream();
        self->accept_next();
      });
}

void Socket::adopt(tcp::socket socket) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  shown_address_ = remote.address().to_string();
  remote_port_ = remote.port();
  local_port_ = socket.local_endpoint(ec).port();
  tcp_.emplace(std::move(socket));
  state_ = State::Connected;
}

// ---- receiving -----------------------------------------------------------------------------

void Socket::read_stream() {
  // A full receive buffer stops reading: TCP's window then holds the peer back until the
  // host reads (AT+QIRD), and nothing is lost.
  if (closed_ || reading_ || buffered_ >= kReceiveBuffer) return;
  reading_ = true;
  rx_chunk_.resize(kReadChunk);
  auto on_read = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
    self->reading_ = false;
    if (self->closed_) return;
    if (ec) return self->lost(true);  // the peer closed (EOF) or reset the connection
    std::string bytes = self->rx_chunk_.substr(0, n);
    self->owner_.module().link().carry(Direction::Down, n, [self, bytes = std::move(bytes)] {
      if (self->closed_) return;
      self->arrived(bytes);
      self->read_stream();
    });
  };
  if (tls_)
    tls_->async_read_some(asio::buffer(rx_chunk_), std::move(on_read));
  else
    tcp_->async_read_some(asio::buffer(rx_chunk_), std::move(on_read));
}

void Socket::read_datagrams() {
  if (closed_ || reading_) return;
  reading_ = true;
  rx_chunk_.resize(kMaxDatagram);
  udp_->async_receive_from(
      asio::buffer(rx_chunk_), rx_from_,
      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        self->reading_ = false;
        if (self->closed_ || ec == asio::error::operation_aborted) return;
        // An ICMP "port unreachable" for an earlier datagram is not a failure of the socket.
        if (!ec && !self->owner_.module().link().drop_datagram()) {
          std::string bytes = self->rx_chunk_.substr(0, n);
          const auto from = self->rx_from_;
          self->owner_.module().link().carry(
              Direction::Down, n,
              [self, bytes = std::move(bytes), from] {
                if (self->closed_) return;
                // A datagram that finds the buffer full is lost, as UDP is.
                if (self->buffered_ + bytes.size() > kReceiveBuffer) return;
                self->arrived(bytes, from.address().to_string(), from.port());
              },
              net::Link::Traffic::Datagram);
        }
        self->read_datagrams();
      });
}

void Socket::arrived(std::string bytes, std::string from_ip, std::uint16_t from_port) {
  received_ += bytes.size();
  buffered_ += bytes.size();
  if (is_datagram() || inbox_.empty())
    inbox_.push_back({std::move(bytes), std::move(from_ip), from_port});
  else
    inbox_.back().data += bytes;
  deliver();
}

void Socket::deliver() {
  switch (request_.access) {
    case Access::Transparent:
      // In command mode (after "+++") the bytes wait for ATO.
      while (link_ && !inbox_.empty()) {
        Read r = read(kReceiveBuffer);
        link_->to_host(std::move(r.data));
      }
      return;
    case Access::Push:
      while (!inbox_.empty()) {
        Read r = read(kMaxPushLength);
        const std::string from = request_.service == Service::UdpService
                                     ? fmt::format(",\"{}\",{}", r.from_ip, r.from_port)
                                     : std::string{};
        owner_.emit_urc(fmt::format("{}\"recv\",{},{}{}\r\n{}", urc_prefix(), id(), r.data.size(),
                                    from, r.data));
      }
      return;
    case Access::Buffer:
      // Once per emptying of the buffer (the note, +QIURC: "recv").
      if (buffered_ > 0 && urc_armed_) {
        urc_armed_ = false;
        owner_.emit_urc(fmt::format("{}\"recv\",{}", urc_prefix(), id()));
      }
      return;
  }
}

Socket::Read Socket::read(std::size_t max) {
  Read r;
  if (inbox_.empty() || max == 0) return r;
  Read& front = inbox_.front();
  const std::size_t n = std::min(max, front.data.size());
  r.data = front.data.substr(0, n);
  r.from_ip = front.from_ip;
  r.from_port = front.from_port;
  front.data.erase(0, n);
  if (front.data.empty()) inbox_.pop_front();
  buffered_ -= n;
  read_ += n;
  if (buffered_ == 0) urc_armed_ = true;
  if (!is_datagram() && request_.service != Service::TcpListener && (tcp_ || tls_))
    asio::post(owner_.module().executor(), [self = shared_from_this()] { self->read_stream(); });
  return r;
}

// ---- sending -------------------------------------------------------------------------------

Socket::SendResult Socket::send(std::string bytes, std::optional<udp::endpoint> to, bool bounded) {
  if (closed_ || state_ != State::Connected) return SendResult::NotConnected;
  if (bounded && queued_ + bytes.size() > kSendBuffer) return SendResult::Full;
  sent_ += bytes.size();
  if (is_datagram() && owner_.module().link().drop_datagram()) return SendResult::Ok;
  queued_ += bytes.size();
  outbox_.push_back({std::move(bytes), to});
  write_next();
  return SendResult::Ok;
}

void Socket::write_next() {
  if (closed_ || writing_ || outbox_.empty()) return;
  writing_ = true;
  const std::size_t n = outbox_.front().bytes.size();
  const auto traffic = is_datagram() ? net::Link::Traffic::Datagram : net::Link::Traffic::Stream;
  owner_.module().link().carry(
      Direction::Up, n,
      [self = shared_from_this(), n] {
        if (self->closed_) return;
        auto written = [self, n](boost::system::error_code ec, std::size_t) {
          if (self->closed_) return;
          self->writing_ = false;
          self->queued_ -= n;
          self->outbox_.pop_front();
          if (ec && !self->is_datagram()) return self->lost(true);
          self->write_next();
        };
        Outgoing& o = self->outbox_.front();
        if (self->udp_) {
          if (o.to)
            self->udp_->async_send_to(asio::buffer(o.bytes), *o.to, std::move(written));
          else
            self->udp_->async_send(asio::buffer(o.bytes), std::move(written));
        } else if (self->tls_) {
          asio::async_write(*self->tls_, asio::buffer(o.bytes), std::move(written));
        } else {
          asio::async_write(*self->tcp_, asio::buffer(o.bytes), std::move(written));
        }
      },
      traffic);
}

std::uint64_t Socket::unacked() const {
  std::uint64_t n = queued_;
  if (tcp_ && tcp_->is_open()) {
    int outq = 0;
    // Bytes in the kernel's send queue: sent and not acknowledged, or not sent yet.
    if (::ioctl(const_cast<tcp::socket&>(*tcp_).native_handle(), SIOCOUTQ, &outq) == 0 && outq > 0)
      n += static_cast<std::uint64_t>(outq);
  }
  return std::min<std::uint64_t>(n, sent_);
}

// ---- modes and life ------------------------------------------------------------------------

void Socket::set_access(Access access) {
  request_.access = access;
  if (access != Access::Buffer) urc_armed_ = true;
  deliver();
}

void Socket::attach(at::DataLink link) {
  link_ = std::move(link);
  deliver();  // what came in command mode goes first
}

void Socket::detach() {
  link_.reset();
}

void Socket::lost(bool urc) {
  if (closed_) return;
  shut_transport();
  state_ = State::Closing;
  // Transparent mode ends with NO CARRIER; in command mode the host hears +QIURC: "closed".
  if (auto link = std::exchange(link_, std::nullopt)) {
    link->end(at::DataEnd::Closed);
    return;
  }
  if (urc) owner_.emit_urc(fmt::format("{}\"closed\",{}", urc_prefix(), id()));
}

void Socket::shut_transport() {
  closed_ = true;
  boost::system::error_code ec;
  if (tcp_) tcp_->close(ec);
  if (udp_) udp_->close(ec);
  if (acceptor_) acceptor_->close(ec);
  outbox_.clear();
  queued_ = 0;
}

// ---- SocketService -------------------------------------------------------------------------

SocketService::SocketService(Module& module) : module_(module) {}

SocketService::~SocketService() {
  for (auto& [id, s] : sockets_)
    s->shut_transport();
}

Error SocketService::open(const OpenRequest& request, std::function<void(int err)> done) {
  auto& ids = module_.socket_ids();
  const auto owner = request.service == Service::SslClient ? net::SocketIds::Owner::Ssl
                                                           : net::SocketIds::Owner::Socket;
  if (!ids.take(request.id, owner)) return Error::IdInUse;
  if (!module_.packet_data().active(request.cid)) {
    ids.release(request.id);
    return Error::OpenPdpFailed;
  }
  auto socket = std::make_shared<Socket>(*this, request);
  sockets_[request.id] = socket;
  socket->connect([this, weak = std::weak_ptr<Socket>(socket), done](int err) {
    // A socket that could not open gives its id back (drivers open the same id again).
    if (err != 0) {
      auto s = weak.lock();
      if (s) forget(s->id(), s.get());
    }
    done(err);
  });
  return Error::Ok;
}

void SocketService::forget(int id, const Socket* socket) {
  const auto it = sockets_.find(id);
  if (it == sockets_.end() || (socket && it->second.get() != socket)) return;
  it->second->shut_transport();
  it->second->detach();
  sockets_.erase(it);
  module_.socket_ids().release(id);
}

Socket* SocketService::find(int id) {
  const auto it = sockets_.find(id);
  return it == sockets_.end() ? nullptr : it->second.get();
}

void SocketService::close(int id) {
  forget(id, nullptr);
}

std::vector<Socket*> SocketService::all() {
  std::vector<Socket*> out;
  for (auto& [id, s] : sockets_)
    out.push_back(s.get());
  return out;
}

void SocketService::on_power_lost() {
  for (auto& [id, s] : sockets_) {
    s->shut_transport();
    s->detach();
  }
  sockets_.clear();
  module_.socket_ids().clear();
}

void SocketService::on_context_down(int cid, bool by_network) {
  std::vector<int> ids;
  for (auto& [id, s] : sockets_)
    if (s->cid() == cid) ids.push_back(id);
  for (int id : ids) {
    if (by_network) {
      if (Socket* s = find(id)) s->lost(true);
    } else {
      forget(id, nullptr);
    }
  }
}

void SocketService::emit_urc(const std::string& text) {
  module_.emit_urc(text);
}

std::optional<int> SocketService::take_incoming_id() {
  for (int id = 0; id < net::SocketIds::kCount; ++id)
    if (module_.socket_ids().take(id, net::SocketIds::Owner::Socket)) return id;
  return std::nullopt;
}

void SocketService::add_incoming(std::shared_ptr<Socket> socket) {
  sockets_[socket->id()] = std::move(socket);
}

}  // namespace bg95::sockets
