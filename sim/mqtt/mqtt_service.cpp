#include "sim/mqtt/mqtt_service.hpp"

#include <fmt/format.h>

#include <chrono>
#include <deque>
#include <map>
#include <set>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "sim/fs/module_fs.hpp"
#include "sim/module.hpp"
#include "sim/net/ssl_context.hpp"
#include "sim/packet/host_resolver.hpp"
#include "sim/packet/packet_data.hpp"

namespace bg95::mqtt {

namespace asio = boost::asio;
using asio::ip::tcp;
using Direction = net::Link::Direction;

namespace {

// +QMTOPEN <result> (the note, AT+QMTOPEN).
constexpr int kOpenFailed = -1;  // failed to open the network
constexpr int kOpenOk = 0;
constexpr int kOpenOccupied = 2;  // the MQTT identifier is occupied
constexpr int kOpenNoPdp = 3;     // failed to activate PDP
constexpr int kOpenNoName = 4;    // failed to parse the domain name

// <result> of +QMTCONN, +QMTSUB, +QMTUNS, +QMTPUB.
constexpr int kSent = 0;            // sent, and the acknowledgement came
constexpr int kRetransmitting = 1;  // sent again (with the number of times)
constexpr int kFailed = 2;          // could not be sent

// +QMTSTAT <err_code> (the note, "+QMTSTAT").
constexpr int kStatClosedByPeer = 1;   // connection closed or reset by the peer
constexpr int kStatPingFailed = 2;     // PINGREQ timed out or failed
constexpr int kStatConnackFailed = 4;  // CONNACK timed out or failed
// (6, closed after sending failed every time, is never produced: docs/mqtt.md.)

// What arrives on one client's connection is cut into packets no larger than this.
constexpr std::size_t kMaxIncomingPacket = 1 << 20;

}  // namespace

// One client: its network connection, the MQTT session on it, and what is under way.
class Client {
 public:
  Client(MqttService& service, int idx)
      : service_(service),
        m_(service.module_),
        idx_(idx),
        socket_(m_.executor()),
        keepalive_timer_(m_.executor()),
        ack_timer_(m_.executor()),
        reader_(kMaxIncomingPacket) {}
  ~Client() { drop(); }

  const ClientConfig& cfg() const { return service_.configs_[static_cast<std::size_t>(idx_)]; }
  bool opened() const { return phase_ != Phase::Closed; }
  bool open_done() const { return phase_ != Phase::Closed && phase_ != Phase::Opening; }
  bool is_connected() const { return phase_ == Phase::Connected; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  int pdp_cid() const { return cid_; }
  std::optional<ConnState> conn_state() const {
    switch (phase_) {
      case Phase::Open:
        return ConnState::Initializing;
      case Phase::Connecting:
        return ConnState::Connecting;
      case Phase::Connected:
        return ConnState::Connected;
      case Phase::Disconnecting:
        return ConnState::Disconnecting;
      default:
        return std::nullopt;
    }
  }

  // ---- AT+QMTOPEN
  void open(const std::string& host, int port) {
    host_ = host;
    port_ = port;
    cid_ = cfg().pdp_cid;
    phase_ = Phase::Opening;
    // The URC comes after the command's OK: the steps below run from the event loop.
    asio::post(m_.executor(), life_.guard([this] { start_open(); }));
  }

  // ---- AT+QMTCLOSE: the connection goes; +QMTCLOSE: <idx>,0.
  void close() {
    drop();
    urc(fmt::format("+QMTCLOSE: {},0", idx_));
  }

  // ---- AT+QMTCONN
  void connect(ConnectOptions o) {
    o.version = cfg().version;
    o.clean_session = cfg().clean_session;
    o.keepalive = static_cast<std::uint16_t>(cfg().keepalive);
    if (cfg().will_enabled) o.will = cfg().will;
    phase_ = Phase::Connecting;
    connect_deadline_ = deadline();
    send(encode_connect(o));
    arm_ack_timer();
  }

  // ---- AT+QMTDISC: DISCONNECT, then the client closes the connection (3.1.1, 3.14.4).
  void disconnect() {
    phase_ = Phase::Disconnecting;
    send(encode_disconnect(), [this] {
      drop();
      urc(fmt::format("+QMTDISC: {},0", idx_));
    });
  }

  // ---- AT+QMTSUB / AT+QMTUNS / AT+QMTPUB
  bool msg_id_busy(int msg_id) const {
    return pending_.contains(static_cast<std::uint16_t>(msg_id));
  }
  void subscribe(int msg_id, const std::vector<std::pair<std::string, int>>& topics) {
    expect(msg_id, Pending::Kind::Subscribe,
           encode_subscribe(static_cast<std::uint16_t>(msg_id), topics), {});
  }
  void unsubscribe(int msg_id, const std::vector<std::string>& topics) {
    expect(msg_id, Pending::Kind::Unsubscribe,
           encode_unsubscribe(static_cast<std::uint16_t>(msg_id), topics), {});
  }
  void publish(int msg_id, int qos, bool retain, const std::string& topic,
               const std::string& payload) {
    const auto id = static_cast<std::uint16_t>(msg_id);
    if (qos == 0) {
      // Nothing acknowledges QoS 0: the result comes once the packet is on its way.
      send(encode_publish(topic, payload, 0, retain, 0, false),
           [this, msg_id] { urc(fmt::format("+QMTPUB: {},{},{}", idx_, msg_id, kSent)); });
      return;
    }
    // The retransmission of a PUBLISH carries the DUP flag (3.1.1, 3.3.1.1).
    expect(msg_id, qos == 1 ? Pending::Kind::Publish1 : Pending::Kind::Publish2,
           encode_publish(topic, payload, qos, retain, id, false),
           encode_publish(topic, payload, qos, retain, id, true));
  }

  // ---- buffered receive (AT+QMTCFG="recv/mode",<idx>,1)
  std::array<std::optional<std::string>, kRecvBuffers>& buffers() { return buffers_; }

  // The network deactivated this client's context, or the module lost power: the connection
  // is gone. `stat` the +QMTSTAT code to report, or none.
  void lost(std::optional<int> stat) {
    if (!opened()) return;
    const bool opening = phase_ == Phase::Opening;
    drop();
    if (opening) {
      urc(fmt::format("+QMTOPEN: {},{}", idx_, kOpenFailed));
    } else if (stat) {
      urc(fmt::format("+QMTSTAT: {},{}", idx_, *stat));
    }
  }

  // The same, once the URC that told of it is out.
  void lost_soon(int stat) {
    asio::post(m_.executor(), life_.guard([this, stat] { lost(stat); }));
  }

  // Everything stops; no URC.
  void drop() {
    life_.end();
    boost::system::error_code ignored;
    if (tls_) tls_.reset();
    socket_.close(ignored);
    keepalive_timer_.cancel();
    ack_timer_.cancel();
    out_.clear();
    writing_ = false;
    pending_.clear();
    incoming_qos2_.clear();
    reader_ = Reader(kMaxIncomingPacket);
    ping_outstanding_ = false;
    phase_ = Phase::Closed;
    socket_ = tcp::socket(m_.executor());
  }

 private:
  enum class Phase { Closed, Opening, Open, Connecting, Connected, Disconnecting };

  // A packet that waits for its acknowledgement (the note's <pkt_timeout>, <retry_times>).
  struct Pending {
    enum class Kind { Subscribe, Unsubscribe, Publish1, Publish2 } kind;
    std::string packet;     // as sent again
    int tries = 0;          // retransmissions so far
    bool released = false;  // QoS 2: PUBREC came, PUBREL sent; PUBCOMP awaited
    std::chrono::steady_clock::time_point deadline;
  };

  void urc(const std::string& text) { m_.emit_urc(text); }

  void open_result(int result) {
    if (result != kOpenOk) drop();
    urc(fmt::format("+QMTOPEN: {},{}", idx_, result));
  }

  void start_open() {
    if (!m_.packet_data().active(cid_)) return open_result(kOpenNoPdp);
    if (m_.link().dns_fails()) return open_result(kOpenNoName);
    // Only what this machine answers itself (no traffic beyond loopback).
    const auto addresses = packet::resolve_locally(host_);
    if (addresses.empty()) return open_result(kOpenNoName);
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(addresses.front(), ec);
    if (ec) return open_result(kOpenNoName);
    if (m_.link().connect_fault() != net::Link::ConnectFault::None) return open_result(kOpenFailed);
    if (cfg().ssl && !make_tls()) return open_result(kOpenFailed);
    socket_.async_connect(tcp::endpoint(address, static_cast<std::uint16_t>(port_)),
                          life_.guard([this](boost::system::error_code e) {
                            if (e) return open_result(kOpenFailed);
                            if (!tls_) return opened_now();
                            handshake();
                          }));
  }

  // The OpenSSL context of the client's SSL context (AT+QMTCFG="ssl"), certificates read
  // from the module's file system and dates checked against its clock as the context says;
  // SNI and the host name check per connection (sim/net/ssl_context.hpp, docs/ssl.md).
  bool make_tls() {
    const net::SslContextConfig& sc = m_.ssl_contexts().at(cfg().ssl_ctx);
    auto built =
        net::make_client_context(sc, fs::ModuleFs(m_.config().state_dir / "fs"), m_.rtc_now());
    if (!built.ctx) {
      m_.log_event(
          fmt::format("MQTT client {}: SSL context {}: {}", idx_, cfg().ssl_ctx, built.error));
      return false;
    }
    tls_ctx_ = std::make_unique<asio::ssl::context>(built.ctx.release());
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, *tls_ctx_);
    negotiate_timeout_ = net::negotiate_timeout(sc);
    return net::prepare_session(tls_->native_handle(), sc, host_);
  }

  // The handshake, given up after the context's "negotiatetime" (the keep-alive timer is
  // free while the client opens).
  void handshake() {
    keepalive_timer_.expires_after(negotiate_timeout_);
    keepalive_timer_.async_wait(life_.on_expiry([this] { open_result(kOpenFailed); }));
    tls_->async_handshake(
        asio::ssl::stream_base::client, life_.guard([this](boost::system::error_code e) {
          keepalive_timer_.cancel();
          if (e) {
            m_.log_event(fmt::format("MQTT client {}: TLS handshake: {}", idx_, e.message()));
            return open_result(kOpenFailed);
          }
          opened_now();
        }));
  }

  void opened_now() {
    phase_ = Phase::Open;
    urc(fmt::format("+QMTOPEN: {},{}", idx_, kOpenOk));
    read_more();
  }

  // ---- bytes out: each packet crosses the radio link, then goes to the socket in order.
  void send(std::string packet, std::function<void()> sent = {}) {
    const std::size_t n = packet.size();
    m_.link().carry(
        Direction::Up, n,
        life_.guard([this, packet = std::move(packet), sent = std::move(sent)]() mutable {
          out_.push_back({std::move(packet), std::move(sent)});
          write_next();
        }));
    restart_keepalive();
  }

  void write_next() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    auto done = life_.guard([this](boost::system::error_code e, std::size_t) {
      writing_ = false;
      if (e) return failed(kStatClosedByPeer);
      auto sent = std::move(out_.front().sent);
      out_.pop_front();
      if (sent) sent();
      write_next();
    });
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(out_.front().bytes), std::move(done));
    } else {
      asio::async_write(socket_, asio::buffer(out_.front().bytes), std::move(done));
    }
  }

  // ---- bytes in
  void read_more() {
    auto got = life_.guard([this](boost::system::error_code e, std::size_t n) {
      if (e) {
        // The broker closed the connection or reset it. After DISCONNECT that is expected.
        if (phase_ == Phase::Disconnecting) return;
        return failed(kStatClosedByPeer);
      }
      std::string bytes(in_.data(), n);
      m_.link().carry(Direction::Down, n, life_.guard([this, bytes = std::move(bytes)] {
        reader_.feed(bytes);
        handle_packets();
      }));
      read_more();
    });
    if (tls_) {
      tls_->async_read_some(asio::buffer(in_), std::move(got));
    } else {
      socket_.async_read_some(asio::buffer(in_), std::move(got));
    }
  }

  void handle_packets() {
    while (auto p = reader_.next()) {
      if (!opened()) return;
      handle(*p);
    }
    if (reader_.broken()) failed(kStatClosedByPeer);
  }

  // What each packet a server sends to a client does here; others are ignored.
  void handle(const Packet& p) {
    using Handler = void (Client::*)(const Packet&);
    static constexpr std::pair<PacketType, Handler> kHandlers[] = {
        {PacketType::Connack, &Client::on_connack},    {PacketType::Publish, &Client::on_publish},
        {PacketType::Puback, &Client::acknowledged},   {PacketType::Pubcomp, &Client::acknowledged},
        {PacketType::Unsuback, &Client::acknowledged}, {PacketType::Pubrec, &Client::on_pubrec},
        {PacketType::Pubrel, &Client::on_pubrel},      {PacketType::Suback, &Client::on_suback},
        {PacketType::Pingresp, &Client::on_pingresp},
    };
    for (const auto& [type, handler] : kHandlers) {
      if (type == p.type) return (this->*handler)(p);
    }
  }

  void on_pingresp(const Packet&) { ping_outstanding_ = false; }

  void on_connack(const Packet& p) {
    const auto c = parse_connack(p);
    if (phase_ != Phase::Connecting || !c) return;
    // +QMTCONN: <idx>,<result>,<ret_code>: the CONNACK's return code as it came.
    urc(fmt::format("+QMTCONN: {},{},{}", idx_, kSent, c->return_code));
    if (c->return_code != 0) {
      phase_ = Phase::Open;  // the server closes the connection next (3.1.1, 3.2.2.3)
      return;
    }
    phase_ = Phase::Connected;
    arm_ack_timer();
  }

  void on_publish(const Packet& p) {
    const auto m = parse_publish(p);
    if (!m) return failed(kStatClosedByPeer);
    if (m->qos == 1) send(encode_ack(PacketType::Puback, m->packet_id));
    if (m->qos == 2) {
      send(encode_ack(PacketType::Pubrec, m->packet_id));
      // Exactly once: a PUBLISH sent again before PUBREL is not delivered twice (4.3.3).
      if (!incoming_qos2_.insert(m->packet_id).second) return;
    }
    deliver(*m);
  }

  void on_pubrel(const Packet& p) {
    const auto id = parse_packet_id(p);
    if (!id) return failed(kStatClosedByPeer);
    incoming_qos2_.erase(*id);
    send(encode_ack(PacketType::Pubcomp, *id));
  }

  void deliver(const Publish& m) {
    const std::string length = cfg().recv_len ? fmt::format(",{}", m.payload.size()) : "";
    const std::string message =
        fmt::format("{},{},\"{}\"{},\"{}\"", idx_, m.packet_id, m.topic, length, m.payload);
    if (cfg().recv_mode == 0) return urc("+QMTRECV: " + message);
    for (std::size_t i = 0; i < buffers_.size(); ++i) {
      if (!buffers_[i]) {
        buffers_[i] = message;
        return urc(fmt::format("+QMTRECV: {},{}", idx_, i));
      }
    }
    m_.log_event(fmt::format("MQTT client {}: receive buffers full, message dropped", idx_));
  }

  void on_pubrec(const Packet& p) {
    const auto id = parse_packet_id(p);
    if (!id) return failed(kStatClosedByPeer);
    auto it = pending_.find(*id);
    if (it == pending_.end() || it->second.kind != Pending::Kind::Publish2) return;
    it->second.released = true;
    it->second.packet = encode_ack(PacketType::Pubrel, *id);
    it->second.deadline = deadline();
    send(it->second.packet);
  }

  void on_suback(const Packet& p) {
    const auto s = parse_suback(p);
    if (!s) return failed(kStatClosedByPeer);
    auto it = pending_.find(s->packet_id);
    if (it == pending_.end() || it->second.kind != Pending::Kind::Subscribe) return;
    pending_.erase(it);
    // +QMTSUB: <idx>,<msgID>,<result>,<value>: the granted QoS of each topic, 128 a refusal.
    std::string line = fmt::format("+QMTSUB: {},{},{}", idx_, s->packet_id, kSent);
    for (const int q : s->granted)
      line += fmt::format(",{}", q);
    urc(line);
  }

  void acknowledged(const Packet& p) {
    const auto id = parse_packet_id(p);
    if (!id) return failed(kStatClosedByPeer);
    auto it = pending_.find(*id);
    if (it == pending_.end()) return;
    const Pending::Kind kind = it->second.kind;
    const bool fits =
        (p.type == PacketType::Puback && kind == Pending::Kind::Publish1) ||
        (p.type == PacketType::Pubcomp && kind == Pending::Kind::Publish2 && it->second.released) ||
        (p.type == PacketType::Unsuback && kind == Pending::Kind::Unsubscribe);
    if (!fits) return;
    pending_.erase(it);
    const char* name = kind == Pending::Kind::Unsubscribe ? "+QMTUNS" : "+QMTPUB";
    urc(fmt::format("{}: {},{},{}", name, idx_, *id, kSent));
  }

  // ---- acknowledgements awaited: <pkt_timeout> each, <retry_times> retransmissions
  std::chrono::steady_clock::time_point deadline() const {
    return std::chrono::steady_clock::now() + std::chrono::seconds(cfg().pkt_timeout);
  }

  void expect(int msg_id, Pending::Kind kind, std::string packet, std::string again) {
    const auto id = static_cast<std::uint16_t>(msg_id);
    pending_[id] = Pending{kind, again.empty() ? packet : std::move(again), 0, false, deadline()};
    send(std::move(packet));
    arm_ack_timer();
  }

  // The timer wakes at the earliest deadline of what is awaited, and not at all when nothing is.
  void arm_ack_timer() {
    std::optional<std::chrono::steady_clock::time_point> next;
    const auto earlier = [&](std::chrono::steady_clock::time_point t) {
      if (!next || t < *next) next = t;
    };
    if (phase_ == Phase::Connecting) earlier(connect_deadline_);
    if (ping_outstanding_) earlier(ping_deadline_);
    for (const auto& [id, p] : pending_)
      earlier(p.deadline);
    if (!next) return;
    ack_timer_.expires_at(*next);
    ack_timer_.async_wait(life_.on_expiry([this] { check_acks(); }));
  }

  void check_acks() {
    const auto now = std::chrono::steady_clock::now();
    if (phase_ == Phase::Connecting && now >= connect_deadline_) return failed(kStatConnackFailed);
    if (ping_outstanding_ && now >= ping_deadline_) return failed(kStatPingFailed);
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      if (now < p.deadline) {
        ++it;
        continue;
      }
      const char* name = p.kind == Pending::Kind::Subscribe     ? "+QMTSUB"
                         : p.kind == Pending::Kind::Unsubscribe ? "+QMTUNS"
                                                                : "+QMTPUB";
      if (p.tries >= cfg().retry_times) {
        urc(fmt::format("{}: {},{},{}", name, idx_, it->first, kFailed));
        it = pending_.erase(it);
        continue;
      }
      ++p.tries;
      p.deadline = deadline();
      if (cfg().timeout_notice)
        urc(fmt::format("{}: {},{},{},{}", name, idx_, it->first, kRetransmitting, p.tries));
      send(p.packet);
      ++it;
    }
    arm_ack_timer();
  }

  // ---- keep-alive: a PINGREQ when nothing was sent for <keep_alive_time> (3.1.1, 3.1.2.10)
  void restart_keepalive() {
    if (cfg().keepalive == 0) return;
    keepalive_timer_.expires_after(std::chrono::seconds(cfg().keepalive));
    keepalive_timer_.async_wait(life_.on_expiry([this] { ping(); }));
  }

  void ping() {
    if (phase_ != Phase::Connected) return restart_keepalive();
    if (!ping_outstanding_) {
      ping_outstanding_ = true;
      ping_deadline_ = deadline();
    }
    send(encode_pingreq());
    arm_ack_timer();
  }

  // The connection failed under the session: closed, +QMTSTAT.
  void failed(int stat) {
    if (phase_ == Phase::Opening) return open_result(kOpenFailed);
    drop();
    urc(fmt::format("+QMTSTAT: {},{}", idx_, stat));
  }

  struct Outgoing {
    std::string bytes;
    std::function<void()> sent;
  };

  MqttService& service_;
  Module& m_;
  int idx_;
  LifeGuard life_;  // ended whenever the connection goes: its callbacks do nothing after
  Phase phase_ = Phase::Closed;
  std::string host_;
  int port_ = 0;
  int cid_ = 1;
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::context> tls_ctx_;
  std::unique_ptr<asio::ssl::stream<tcp::socket&>> tls_;
  std::chrono::seconds negotiate_timeout_{300};
  std::array<char, 4096> in_{};
  std::deque<Outgoing> out_;
  bool writing_ = false;
  asio::steady_timer keepalive_timer_;
  asio::steady_timer ack_timer_;
  std::chrono::steady_clock::time_point connect_deadline_{};
  bool ping_outstanding_ = false;
  std::chrono::steady_clock::time_point ping_deadline_{};
  Reader reader_;
  std::map<std::uint16_t, Pending> pending_;
  std::set<std::uint16_t> incoming_qos2_;
  std::array<std::optional<std::string>, kRecvBuffers> buffers_{};
};

MqttService::MqttService(Module& module) : module_(module) {
  for (int i = 0; i < kClients; ++i)
    clients_[static_cast<std::size_t>(i)] = std::make_unique<Client>(*this, i);
  module_.add_observer(this);
}

MqttService::~MqttService() {
  module_.remove_observer(this);
}

Client& MqttService::client(int idx) const {
  return *clients_.at(static_cast<std::size_t>(idx));
}

ClientConfig& MqttService::config(int idx) {
  return configs_.at(static_cast<std::size_t>(idx));
}

void MqttService::on_boot() {
  configs_ = {};
  for (auto& c : clients_) {
    c->drop();
    c->buffers() = {};
  }
}

void MqttService::on_power_lost() {
  for (auto& c : clients_)
    c->drop();
}

bool MqttService::open(int idx, const std::string& host, int port) {
  Client& c = client(idx);
  if (c.opened()) {
    // The note's <result> 2: this client is open already; the open one stays.
    module_.emit_urc(fmt::format("+QMTOPEN: {},{}", idx, kOpenOccupied));
    return true;
  }
  c.open(host, port);
  return true;
}

bool MqttService::close(int idx) {
  if (!client(idx).opened()) return false;
  client(idx).close();
  return true;
}

bool MqttService::connect(int idx, ConnectOptions options) {
  if (client(idx).conn_state() != ConnState::Initializing) return false;
  client(idx).connect(std::move(options));
  return true;
}

bool MqttService::disconnect(int idx) {
  if (!client(idx).open_done()) return false;
  client(idx).disconnect();
  return true;
}

bool MqttService::subscribe(int idx, int msg_id, std::vector<std::pair<std::string, int>> topics) {
  Client& c = client(idx);
  if (!c.is_connected() || c.msg_id_busy(msg_id)) return false;
  c.subscribe(msg_id, topics);
  return true;
}

bool MqttService::unsubscribe(int idx, int msg_id, std::vector<std::string> topics) {
  Client& c = client(idx);
  if (!c.is_connected() || c.msg_id_busy(msg_id)) return false;
  c.unsubscribe(msg_id, topics);
  return true;
}

bool MqttService::can_publish(int idx, int msg_id, int qos) const {
  const Client& c = client(idx);
  // <msgID> 0 only at QoS 0, 1-65535 otherwise (the note, AT+QMTPUB).
  if ((qos == 0) != (msg_id == 0)) return false;
  return c.is_connected() && (qos == 0 || !c.msg_id_busy(msg_id));
}

void MqttService::publish(int idx, int msg_id, int qos, bool retain, const std::string& topic,
                          const std::string& payload) {
  Client& c = client(idx);
  // The connection may have gone while the host typed the message.
  if (!c.is_connected()) {
    module_.emit_urc(fmt::format("+QMTPUB: {},{},{}", idx, msg_id, kFailed));
    return;
  }
  c.publish(msg_id, qos, retain, topic, payload);
}

std::vector<std::string> MqttService::open_lines() const {
  std::vector<std::string> out;
  for (int i = 0; i < kClients; ++i) {
    const Client& c = *clients_[static_cast<std::size_t>(i)];
    if (c.open_done()) out.push_back(fmt::format("+QMTOPEN: {},\"{}\",{}", i, c.host(), c.port()));
  }
  return out;
}

std::vector<std::string> MqttService::conn_lines() const {
  std::vector<std::string> out;
  for (int i = 0; i < kClients; ++i) {
    if (const auto s = clients_[static_cast<std::size_t>(i)]->conn_state())
      out.push_back(fmt::format("+QMTCONN: {},{}", i, static_cast<int>(*s)));
  }
  return out;
}

std::vector<std::string> MqttService::recv_status_lines() const {
  std::vector<std::string> out;
  for (int i = 0; i < kClients; ++i) {
    Client& c = *clients_[static_cast<std::size_t>(i)];
    if (!c.is_connected()) continue;
    std::string line = fmt::format("+QMTRECV: {}", i);
    for (const auto& b : c.buffers())
      line += b ? ",1" : ",0";
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> MqttService::read_buffered(int idx, std::optional<int> recv_id) {
  auto& buffers = clients_.at(static_cast<std::size_t>(idx))->buffers();
  std::vector<std::string> out;
  for (int i = 0; i < kRecvBuffers; ++i) {
    auto& b = buffers[static_cast<std::size_t>(i)];
    if ((recv_id && *recv_id != i) || !b) continue;
    out.push_back("+QMTRECV: " + *b);
    b.reset();
  }
  return out;
}

bool MqttService::connected(int idx) const {
  return clients_.at(static_cast<std::size_t>(idx))->is_connected();
}

void MqttService::on_urc(std::string_view text) {
  // +QIURC: "pdpdeact",<cid> (packet data, the network deactivated the context).
  constexpr std::string_view kDeact = "+QIURC: \"pdpdeact\",";
  if (!text.starts_with(kDeact)) return;
  const auto cid = at::parse_integer(text.substr(kDeact.size()));
  if (!cid) return;
  for (auto& c : clients_) {
    if (c->opened() && c->pdp_cid() == *cid) c->lost_soon(kStatClosedByPeer);
  }
}

void MqttService::on_network(const NetworkState&) {
  // Detach (radio off, AT+CGATT=0) deactivates every context without a "pdpdeact" URC.
  for (auto& c : clients_) {
    if (c->opened() && !module_.packet_data().active(c->pdp_cid())) c->lost_soon(kStatClosedByPeer);
  }
}

}  // namespace bg95::mqtt
