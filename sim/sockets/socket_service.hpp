#pragma once
// The module's TCP/UDP and SSL sockets (AT+QIOPEN, AT+QSSLOPEN and the commands after them):
// Boost.Asio sockets in the module's one event loop, gated by the modelled PDP context, every
// byte crossing Module::link(). The AT commands are in sim/services/socket_commands.cpp and
// ssl_socket_commands.cpp; formats, codes and their sources in docs/data-services.md.
//
// The model:
//   - A socket opens only on an active context (AT+QIACT); ids 0-11 come from
//     Module::socket_ids(), shared with the SSL clients.
//   - Traffic goes to loopback only: a name resolves through the local resolver
//     (sim/packet/host_resolver.hpp) and an address outside 127.0.0.0/8 and ::1 fails to
//     connect, as an unreachable server does.
//   - Buffer access mode keeps what arrives until AT+QIRD; direct push mode prints it in
//     +QIURC: "recv" URCs; transparent mode writes it to the host through the engine's
//     DataLink while data mode lasts and keeps it otherwise (after "+++"), for ATO.
//   - A socket whose peer closes, resets, or whose context goes is "closing" (state 4) with
//     +QIURC: "closed" until AT+QICLOSE frees its id. A power loss or reset frees everything
//     silently.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "protocol/at/data_session.hpp"
#include "sim/sockets/socket_limits.hpp"

namespace bg95 {
class Module;
}

namespace bg95::sockets {

enum class Service { Tcp, Udp, TcpListener, TcpIncoming, UdpService, SslClient };
enum class Access { Buffer = 0, Push = 1, Transparent = 2 };
// <socket_state> of AT+QISTATE / AT+QSSLSTATE.
enum class State { Initial = 0, Opening = 1, Connected = 2, Listening = 3, Closing = 4 };

// "TCP", "UDP", "TCP LISTENER", "TCP INCOMING", "UDP SERVICE", "SSLClient".
std::string_view service_name(Service service);
// The service types AT+QIOPEN takes (upper case as the note writes them).
std::optional<Service> parse_service(std::string_view text);
bool is_loopback(const boost::asio::ip::address& address);

struct OpenRequest {
  int cid = 1;
  int id = 0;
  Service service = Service::Tcp;
  std::string host;  // address or name; the local address for listeners and UDP services
  std::uint16_t remote_port = 0;
  std::uint16_t local_port = 0;
  Access access = Access::Buffer;
  int ssl_ctx = 0;  // AT+QSSLOPEN's <sslctxID>
};

// AT+QICFG values the sockets read.
struct QiConfig {
  int transpktsize = 1024;  // bytes (1-1460)
  int transwaittm = 2;      // 100 ms units (0-20)
  int send_format = 0;      // "dataformat": 0 text, 1 hex
  int recv_format = 0;
  int viewmode = 0;  // 0: header and data on separate lines, 1: in one line
  int keepalive_enable = 0, keepalive_idle = 1, keepalive_interval = 30, keepalive_count = 3;
};

class SocketService;

class Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(SocketService& owner, OpenRequest request);
  ~Socket();
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int id() const { return request_.id; }
  int cid() const { return request_.cid; }
  Service service() const { return request_.service; }
  Access access() const { return request_.access; }
  State state() const { return state_; }
  int ssl_ctx() const { return request_.ssl_ctx; }
  bool is_ssl() const { return request_.service == Service::SslClient; }
  bool is_datagram() const {
    return request_.service == Service::Udp || request_.service == Service::UdpService;
  }
  // <IP_address> and <remote_port> as AT+QISTATE prints them.
  const std::string& shown_address() const { return shown_address_; }
  std::uint16_t remote_port() const { return remote_port_; }
  std::uint16_t local_port() const { return local_port_; }
  int server_id() const { return server_id_; }

  // ---- sending (AT+QISEND, AT+QSSLSEND, transparent mode)
  enum class SendResult { Ok, Full, NotConnected };
  // `to` is the destination of a UDP SERVICE datagram. Unbounded (transparent mode, whose
  // bytes cannot be refused) the send buffer's size is not checked.
  SendResult send(std::string bytes,
                  std::optional<boost::asio::ip::udp::endpoint> to = std::nullopt,
                  bool bounded = true);
  std::uint64_t total_sent() const { return sent_; }
  // Bytes handed to the socket that the peer has not acknowledged yet (our queue and the
  // kernel's send queue, SIOCOUTQ).
  std::uint64_t unacked() const;

  // ---- receiving (AT+QIRD, AT+QSSLRECV)
  struct Read {
    std::string data;
    std::string from_ip;  // the datagram's sender, for UDP SERVICE
    std::uint16_t from_port = 0;
  };
  Read read(std::size_t max);
  std::uint64_t total_received() const { return received_; }
  std::uint64_t total_read() const { return read_; }
  std::size_t unread() const { return buffered_; }

  // ---- modes
  void set_access(Access access);  // AT+QISWTMD; push mode prints what waits
  // Transparent data mode started (the engine's DataLink) or ended.
  void attach(at::DataLink link);
  void detach();
  bool attached() const { return link_.has_value(); }

  // ---- life
  void connect(std::function<void(int err)> done);  // after the owner checked the request
  // The connection is gone (the peer closed or reset it, the network failed): the socket
  // stays, "closing", until AT+QICLOSE. With `urc`, +QIURC: "closed" tells the host
  // (transparent mode ends with NO CARRIER instead).
  void lost(bool urc);
  // The transport has stopped (lost, or closed by the host); what was received can still be
  // read.
  bool closed() const { return closed_; }

 private:
  friend class SocketService;
  void start_tcp(const boost::asio::ip::tcp::endpoint& to, std::function<void(int)> done);
  void start_tls(std::function<void(int)> done);
  void start_udp(const std::optional<boost::asio::ip::udp::endpoint>& to,
                 std::function<void(int)> done);
  void start_listener(std::function<void(int)> done);
  void adopt(boost::asio::ip::tcp::socket socket);  // an incoming connection
  void read_stream();
  void read_datagrams();
  void accept_next();
  void arrived(std::string bytes, std::string from_ip = {}, std::uint16_t from_port = 0);
  void connected();
  void deliver();  // what waits goes out as the access mode says
  void write_next();
  void shut_transport();
  std::string urc_prefix() const;

  SocketService& owner_;
  OpenRequest request_;
  State state_ = State::Opening;
  std::string shown_address_;
  std::uint16_t remote_port_ = 0, local_port_ = 0;
  int server_id_ = 0;
  bool closed_ = false;
  bool reset_after_connect_ = false;  // the link's reset fault

  std::optional<boost::asio::ip::tcp::socket> tcp_;
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  std::optional<boost::asio::ip::udp::socket> udp_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;

  // Received and not yet given to the host: one entry per datagram, or stream bytes.
  std::deque<Read> inbox_;
  std::size_t buffered_ = 0;
  bool reading_ = false;   // a network read is outstanding
  bool urc_armed_ = true;  // buffer mode: the next arrival reports +QIURC: "recv"
  std::uint64_t received_ = 0, read_ = 0, sent_ = 0;
  std::string rx_chunk_;
  boost::asio::ip::udp::endpoint rx_from_;

  struct Outgoing {
    std::string bytes;
    std::optional<boost::asio::ip::udp::endpoint> to;
  };
  std::deque<Outgoing> outbox_;
  std::size_t queued_ = 0;
  bool writing_ = false;
  std::optional<at::DataLink> link_;
};

class SocketService {
 public:
  explicit SocketService(Module& module);
  ~SocketService();
  SocketService(const SocketService&) = delete;
  SocketService& operator=(const SocketService&) = delete;

  Module& module() { return module_; }
  QiConfig& config() { return config_; }
  // The socket last in transparent mode (ATO goes back to it); -1: none.
  int last_transparent() const { return last_transparent_; }
  void set_last_transparent(int id) { last_transparent_ = id; }

  // Opens a socket: an error at once (the id is taken, the context is down), or Ok and
  // `done(err)` later, once, from the event loop.
  Error open(const OpenRequest& request, std::function<void(int err)> done);
  Socket* find(int id);
  // AT+QICLOSE / AT+QSSLCLOSE: the connection goes and the id is free.
  void close(int id);
  std::vector<Socket*> all();

  // ---- the module's events
  void on_power_lost();  // everything closes silently
  // The context went: by the host (AT+QIDEACT: sockets close silently and their ids are
  // free) or by the network (they close with +QIURC: "closed" and wait for AT+QICLOSE).
  void on_context_down(int cid, bool by_network);

  // ---- for sockets
  void emit_urc(const std::string& text);
  // A new incoming connection on listener `server`: a free id, or none.
  std::optional<int> take_incoming_id();
  void add_incoming(std::shared_ptr<Socket> socket);

 private:
  // Closes socket `id` (when it is `socket`, or any) and frees its id.
  void forget(int id, const Socket* socket);
  Module& module_;
  QiConfig config_;
  int last_transparent_ = -1;
  std::map<int, std::shared_ptr<Socket>> sockets_;
};

}  // namespace bg95::sockets
