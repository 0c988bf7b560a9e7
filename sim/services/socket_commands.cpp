// TCP/UDP sockets: AT+QIOPEN, AT+QICLOSE, AT+QISTATE, AT+QISEND, AT+QISENDEX, AT+QIRD,
// AT+QISWTMD, AT+QICFG and ATO (Quectel BG95&BG77&BG600L Series TCP/IP Application Note; the
// BG96 TCP/IP Application Note where it is silent). Formats and sources: docs/data-services.md.
// The sockets themselves: sim/sockets/.

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sim/module.hpp"
#include "sim/packet/host_resolver.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/sockets/socket_service.hpp"
#include "sim/sockets/socket_sessions.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

using sockets::Access;
using sockets::Error;
using sockets::Service;
using sockets::Socket;
using sockets::SocketService;

constexpr int kMinCid = 1, kMaxCid = 16;  // <contextID> 1-16 (the note, AT+QIOPEN)
constexpr int kMaxId = 11;                // <connectID> 0-11
constexpr auto kMaxSend = static_cast<std::int64_t>(sockets::kMaxSendLength);
constexpr auto kMaxRead = static_cast<std::int64_t>(sockets::kMaxReadLength);

void set_error(Module& m, Error e) {
  m.packet_data().set_last_error(sockets::code(e));
}

// An answer that is plain ERROR, with the TCP/IP error AT+QIGETERROR then reports.
void fail(Module& m, Call& c, Error e) {
  set_error(m, e);
  c.error();
}

// The socket `id` of the TCP/IP service (not an SSL client's), or null.
Socket* tcpip_socket(Module& m, int id) {
  if (m.socket_ids().owner(id) != net::SocketIds::Owner::Socket) return nullptr;
  return m.sockets().find(id);
}

// +QISTATE: <connectID>,"<service_type>","<IP_address>",<remote_port>,<local_port>,
// <socket_state>,<contextID>,<serverID>,<access_mode>,"<AT_port>" (the note, AT+QISTATE; the
// AT port is the UART's name: handlers do not know their port).
std::string qistate_line(const Socket& s) {
  return fmt::format("+QISTATE: {},\"{}\",\"{}\",{},{},{},{},{},{},\"uart1\"", s.id(),
                     sockets::service_name(s.service()), s.shown_address(), s.remote_port(),
                     s.local_port(), static_cast<int>(s.state()), s.cid(), s.server_id(),
                     static_cast<int>(s.access()));
}

std::shared_ptr<at::DataSession> transparent(Module& m, int id) {
  return std::make_shared<sockets::TransparentSession>(m.sockets(), id);
}

void add_qiopen(at::CommandTable& t, Module& m) {
  t.add({"+QIOPEN", Form::Test, {}, [](Call& c) {
           c.line(
               fmt::format("+QIOPEN: ({}-{}),(0-{}),\"TCP/UDP/TCP LISTENER/UDP SERVICE\","
                           "\"<IP_address>/<domain_name>\",<remote_port>,<local_port>,(0-2)",
                           kMinCid, kMaxCid, kMaxId));
           c.ok();
         }});
  // AT+QIOPEN=<contextID>,<connectID>,<service_type>,<IP_address>/<domain_name>,
  // <remote_port>[,<local_port>[,<access_mode>]]: OK, then +QIOPEN: <connectID>,<err>; in
  // transparent mode CONNECT, or ERROR.
  t.add({"+QIOPEN",
         Form::Write,
         {integer(kMinCid, kMaxCid), integer(0, kMaxId), at::string(16), at::string(255),
          integer(0, 65535), optional(integer(0, 65535)), optional(integer(0, 2))},
         [&m](Call& c) {
           const auto& a = c.args();
           const auto service = sockets::parse_service(util::ascii_upper(a.str(2)));
           if (!service) return fail(m, c, Error::InvalidParameters);
           sockets::OpenRequest r;
           r.cid = static_cast<int>(a.integer(0));
           r.id = static_cast<int>(a.integer(1));
           r.service = *service;
           r.host = a.str(3);
           r.remote_port = static_cast<std::uint16_t>(a.integer(4));
           r.local_port = static_cast<std::uint16_t>(a.integer(5, 0));
           r.access = static_cast<Access>(a.integer(6, 0));
           sockets::answer_open(m, c, r, "+QIOPEN");
         },
         at::Outcome::error()});
}

void add_qiclose_qistate(at::CommandTable& t, Module& m) {
  t.add({"+QICLOSE", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QICLOSE: (0-{}),(0-65535)", kMaxId));
           c.ok();
         }});
  // AT+QICLOSE=<connectID>[,<timeout>]: the connection closes at once here (nothing waits
  // for the peer), so the timeout never runs out.
  t.add({"+QICLOSE",
         Form::Write,
         {integer(0, kMaxId), optional(integer(0, 65535))},
         [&m](Call& c) {
           const int id = static_cast<int>(c.args().integer(0));
           if (m.socket_ids().owner(id) == net::SocketIds::Owner::Ssl)
             return fail(m, c, Error::NotAllowed);
           m.sockets().close(id);
           set_error(m, Error::Ok);
           c.ok();
         },
         at::Outcome::error()});

  t.add({"+QISTATE", Form::Test, {}, [](Call& c) { c.ok(); }});
  auto list = [&m](Call& c, auto&& wanted) {
    for (Socket* s : m.sockets().all())
      if (!s->is_ssl() && wanted(*s)) c.line(qistate_line(*s));
    set_error(m, Error::Ok);
    c.ok();
  };
  t.add({"+QISTATE", Form::Read, {}, [list](Call& c) {
           list(c, [](const Socket&) { return true; });
         }});
  // AT+QISTATE=<query_type>,<contextID|connectID>: 0 the sockets of a context, 1 one socket.
  t.add({"+QISTATE",
         Form::Write,
         {integer(0, 1), integer(0, kMaxCid)},
         [list](Call& c) {
           const int n = static_cast<int>(c.args().integer(1));
           if (c.args().integer(0) == 0)
             return list(c, [n](const Socket& s) { return s.cid() == n; });
           list(c, [n](const Socket& s) { return s.id() == n; });
         },
         at::Outcome::error()});
}

// The destination of a UDP SERVICE datagram: a dotted address (the note) and a port.
std::optional<boost::asio::ip::udp::endpoint> udp_destination(const std::string& ip,
                                                              std::int64_t port) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(ip, ec);
  if (ec || !sockets::is_loopback(address)) return std::nullopt;
  return boost::asio::ip::udp::endpoint(address, static_cast<std::uint16_t>(port));
}

void add_qisend(at::CommandTable& t, Module& m) {
  t.add({"+QISEND", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QISEND: (0-{}),(0-{})", kMaxId, sockets::kMaxSendLength));
           c.ok();
         }});
  // AT+QISEND=<connectID>[,<send_length>[,<remoteIP>,<remote_port>]]
  t.add({"+QISEND",
         Form::Write,
         {integer(0, kMaxId), optional(integer(0, kMaxSend)), optional(at::string(64)),
          optional(integer(0, 65535))},
         [&m](Call& c) {
           const auto& a = c.args();
           const int id = static_cast<int>(a.integer(0));
           Socket* s = tcpip_socket(m, id);
           const bool udp_service = s && s->service() == Service::UdpService;
           // =<connectID>,0: +QISEND: <total_send_length>,<ackedbytes>,<unackedbytes>
           if (a.has(1) && a.integer(1) == 0 && !a.has(2)) {
             if (!s) return fail(m, c, Error::SocketClosed);
             c.line(sockets::send_totals("+QISEND", *s));
             set_error(m, Error::Ok);
             return c.ok();
           }
           if (!s || s->state() != sockets::State::Connected ||
               s->access() == Access::Transparent || s->service() == Service::TcpListener)
             return fail(m, c, Error::SocketClosed);
           sockets::SendSession::Options o;
           o.id = id;
           if (a.has(1)) o.length = static_cast<std::size_t>(a.integer(1));
           // The remote form is the UDP SERVICE's, and a UDP SERVICE has only that one.
           if (a.has(2) != udp_service || (udp_service && (!a.has(1) || !a.has(3))))
             return fail(m, c, Error::InvalidParameters);
           if (udp_service) {
             o.to = udp_destination(a.str(2), a.integer(3));
             if (!o.to) return fail(m, c, Error::InvalidParameters);
           }
           // "dataformat" hex: the host types two digits per byte.
           o.hex = m.sockets().config().send_format == 1;
           if (o.hex && o.length) *o.length *= 2;
           c.prompt(std::make_shared<sockets::SendSession>(m.sockets(), o));
         },
         at::Outcome::error()});
  // AT+QISENDEX=<connectID>,"<hex_string>": at most 512 bytes (the BG96 note).
  t.add({"+QISENDEX",
         Form::Write,
         {integer(0, kMaxId), at::string(2 * sockets::kMaxSendExLength)},
         [&m](Call& c) {
           const int id = static_cast<int>(c.args().integer(0));
           auto bytes = sockets::from_hex(c.args().str(1));
           if (!bytes) return fail(m, c, Error::InvalidParameters);
           Socket* s = tcpip_socket(m, id);
           if (!s || s->access() == Access::Transparent || s->service() == Service::UdpService)
             return fail(m, c, Error::SocketClosed);
           at::Reply r = sockets::send_reply(m.sockets(), id, std::move(*bytes), std::nullopt);
           for (auto& line : r.lines)
             c.line(std::move(line));
           c.finish(r.outcome);
         },
         at::Outcome::error()});
}

void add_qird(at::CommandTable& t, Module& m) {
  t.add({"+QIRD", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QIRD: (0-{}),(0-{})", kMaxId, sockets::kMaxReadLength));
           c.ok();
         }});
  // AT+QIRD=<connectID>[,<read_length>]: +QIRD: <read_actual_length> CR LF <data>; for a UDP
  // SERVICE (no length) +QIRD: <len>,"<remoteIP>",<remote_port>; =<id>,0:
  // +QIRD: <total_receive_length>,<have_read_length>,<unread_length>.
  t.add({"+QIRD",
         Form::Write,
         {integer(0, kMaxId), optional(integer(0, kMaxRead))},
         [&m](Call& c) {
           const auto& a = c.args();
           Socket* s = tcpip_socket(m, static_cast<int>(a.integer(0)));
           if (!s || s->service() == Service::TcpListener || s->access() == Access::Transparent)
             return fail(m, c, Error::SocketClosed);
           const bool udp_service = s->service() == Service::UdpService;
           if (a.has(1) && a.integer(1) == 0 && !udp_service) {
             c.line(
                 fmt::format("+QIRD: {},{},{}", s->total_received(), s->total_read(), s->unread()));
             set_error(m, Error::Ok);
             return c.ok();
           }
           // The UDP SERVICE form has no length: a datagram at a time.
           if (udp_service && a.has(1)) return fail(m, c, Error::InvalidParameters);
           const auto r =
               s->read(a.has(1) ? static_cast<std::size_t>(a.integer(1)) : sockets::kMaxReadLength);
           const auto& cfg = m.sockets().config();
           const std::string data = cfg.recv_format == 1 ? sockets::to_hex(r.data) : r.data;
           std::string header = fmt::format("+QIRD: {}", r.data.size());
           if (udp_service && !r.data.empty())
             header += fmt::format(",\"{}\",{}", r.from_ip, r.from_port);
           // "viewmode" 1: header and data on one line, a comma between.
           // No data: the header alone (the note's example, "+QIRD: 0").
           if (!r.data.empty()) header += (cfg.viewmode == 1 ? "," : "\r\n") + data;
           c.line(std::move(header));
           set_error(m, Error::Ok);
           c.ok();
         },
         at::Outcome::error()});
}

void add_qiswtmd_ato(at::CommandTable& t, Module& m) {
  t.add({"+QISWTMD", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QISWTMD: (0-{}),(0-2)", kMaxId));
           c.ok();
         }});
  // AT+QISWTMD=<connectID>,<access_mode>: OK, or CONNECT for transparent mode.
  t.add({"+QISWTMD",
         Form::Write,
         {integer(0, kMaxId), integer(0, 2)},
         [&m](Call& c) {
           const int id = static_cast<int>(c.args().integer(0));
           Socket* s = tcpip_socket(m, id);
           if (!s || s->service() == Service::TcpListener) return fail(m, c, Error::SocketClosed);
           const auto mode = static_cast<Access>(c.args().integer(1));
           set_error(m, Error::Ok);
           s->set_access(mode);
           if (mode == Access::Transparent) return c.connect(transparent(m, id));
           c.ok();
         },
         at::Outcome::error()});
}

// AT+QICFG=<name>[,<values>]: no values reads the setting back.
struct QicfgEntry {
  const char* name;
  std::vector<std::pair<int, int>> ranges;  // each value's range
  std::vector<int sockets::QiConfig::*> fields;
};

const std::vector<QicfgEntry>& qicfg_entries() {
  using Q = sockets::QiConfig;
  static const std::vector<QicfgEntry> kEntries{
      {"transpktsize", {{1, 1460}}, {&Q::transpktsize}},
      {"transwaittm", {{0, 20}}, {&Q::transwaittm}},
      {"dataformat", {{0, 1}, {0, 1}}, {&Q::send_format, &Q::recv_format}},
      {"viewmode", {{0, 1}}, {&Q::viewmode}},
      {"tcp/keepalive",
       {{0, 1}, {1, 120}, {25, 100}, {3, 10}},
       {&Q::keepalive_enable, &Q::keepalive_idle, &Q::keepalive_interval, &Q::keepalive_count}},
  };
  return kEntries;
}

void add_qicfg(at::CommandTable& t, Module& m) {
  t.add({"+QICFG", Form::Test, {}, [](Call& c) {
           c.line("+QICFG: \"transpktsize\",(1-1460)");
           c.line("+QICFG: \"transwaittm\",(0-20)");
           c.line("+QICFG: \"dataformat\",(0,1),(0,1)");
           c.line("+QICFG: \"viewmode\",(0,1)");
           c.line("+QICFG: \"tcp/keepalive\",(0,1),(1-120),(25-100),(3-10)");
           c.ok();
         }});
  t.add({"+QICFG",
         Form::Write,
         {at::string(32), optional(at::any()), optional(at::any()), optional(at::any()),
          optional(at::any())},
         [&m](Call& c) {
           const std::string name = c.args().str(0);
           const auto& raw = c.raw_arguments();
           for (const auto& e : qicfg_entries()) {
             if (name != e.name) continue;
             auto& cfg = m.sockets().config();
             if (raw.size() == 1) {
               std::string line = fmt::format("+QICFG: \"{}\"", e.name);
               for (auto field : e.fields)
                 line += fmt::format(",{}", cfg.*field);
               c.line(std::move(line));
               return c.ok();
             }
             // "tcp/keepalive",0 alone turns it off; otherwise every value is given.
             const bool keepalive_off = e.fields.size() == 4 && raw.size() == 2;
             if (raw.size() != e.fields.size() + 1 && !keepalive_off) return c.error();
             std::vector<int> values;
             for (std::size_t i = 1; i < raw.size(); ++i) {
               const auto v = at::parse_integer(raw[i].text);
               if (raw[i].quoted || !v || *v < e.ranges[i - 1].first || *v > e.ranges[i - 1].second)
                 return c.error();
               values.push_back(static_cast<int>(*v));
             }
             if (keepalive_off && values[0] != 0) return c.error();
             for (std::size_t i = 0; i < values.size(); ++i)
               cfg.*(e.fields[i]) = values[i];
             return c.ok();
           }
           c.error();
         },
         at::Outcome::error()});
}

// AT+QPING: one ping, then the next until `left` are done; the totals at the end.
struct PingRun {
  std::string address;  // empty: the name did not resolve
  bool reachable = false;
  int left = 0, sent = 0, received = 0;
  std::chrono::seconds timeout{4};
  std::chrono::milliseconds min{0}, max{0}, total{0};
  std::uint64_t boot = 0;  // a reset or power loss ends the run
};

void finish_ping(Module& m, const PingRun& run) {
  // +QPING: <finresult>[,<sent>,<rcvd>,<lost>,<min>,<max>,<avg>]
  if (run.address.empty())
    return m.emit_urc(fmt::format("+QPING: {}", sockets::code(Error::DnsParseFailed)));
  const auto avg = run.received ? run.total.count() / run.received : 0;
  m.emit_urc(fmt::format("+QPING: 0,{},{},{},{},{},{}", run.sent, run.received,
                         run.sent - run.received, run.min.count(), run.max.count(), avg));
}

void ping_next(Module& m, std::shared_ptr<PingRun> run) {
  if (m.boot_count() != run->boot || m.power_state() != PowerState::Normal) return;
  if (run->left == 0 || run->address.empty()) return finish_ping(m, *run);
  --run->left;
  ++run->sent;
  const auto start = std::chrono::steady_clock::now();
  if (!run->reachable) {
    // No echo reply comes from off this machine: each ping times out (569).
    auto timer = std::make_shared<boost::asio::steady_timer>(m.executor(), run->timeout);
    return timer->async_wait([&m, run, timer](boost::system::error_code) {
      if (m.boot_count() != run->boot) return;
      m.emit_urc(fmt::format("+QPING: {}", sockets::code(Error::Timeout)));
      ping_next(m, run);
    });
  }
  // A loopback address answers: the 32 bytes cross the link both ways.
  m.link().carry(net::Link::Direction::Up, 32, [&m, run, start] {
    m.link().carry(net::Link::Direction::Down, 32, [&m, run, start] {
      if (m.boot_count() != run->boot) return;
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      run->min = run->received ? std::min(run->min, ms) : ms;
      run->max = std::max(run->max, ms);
      run->total += ms;
      ++run->received;
      // +QPING: <result>,<IP_address>,<bytes>,<time>,<ttl>
      m.emit_urc(fmt::format("+QPING: 0,\"{}\",32,{},255", run->address, ms.count()));
      ping_next(m, run);
    });
  });
}

void add_qping(at::CommandTable& t, Module& m) {
  t.add({"+QPING", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QPING: ({}-{}),<host>,(1-255),(1-10)", kMinCid, kMaxCid));
           c.ok();
         }});
  // AT+QPING=<contextID>,"<host>"[,<timeout>[,<pingnum>]]: OK, then the URCs.
  t.add({"+QPING",
         Form::Write,
         {integer(kMinCid, kMaxCid), at::string(255), optional(integer(1, 255)),
          optional(integer(1, 10))},
         [&m](Call& c) {
           const auto& a = c.args();
           if (!m.packet_data().active(static_cast<int>(a.integer(0))))
             return fail(m, c, Error::PdpBroken);
           auto run = std::make_shared<PingRun>();
           run->timeout = std::chrono::seconds(a.integer(2, 4));
           run->left = static_cast<int>(a.integer(3, 4));
           run->boot = m.boot_count();
           const auto addresses = m.link().dns_fails() ? std::vector<std::string>{}
                                                       : packet::resolve_locally(a.str(1));
           boost::system::error_code ec;
           if (!addresses.empty()) {
             run->address = addresses.front();
             const auto address = boost::asio::ip::make_address(run->address, ec);
             run->reachable = !ec && sockets::is_loopback(address);
           }
           set_error(m, Error::Ok);
           c.ok();
           boost::asio::post(m.executor(), [&m, run] { ping_next(m, run); });
         },
         at::Outcome::error()});
}

}  // namespace

void add_socket_commands(at::CommandTable& t, Module& m) {
  add_qping(t, m);
  add_qiopen(t, m);
  add_qiclose_qistate(t, m);
  add_qisend(t, m);
  add_qird(t, m);
  add_qiswtmd_ato(t, m);
  add_qicfg(t, m);
}

// ATO's socket half (the one ATO entry is in ppp_commands.cpp): back to the transparent
// socket "+++" left; false when it is gone.
bool resume_transparent_socket(Module& m, Call& c) {
  const int id = m.sockets().last_transparent();
  Socket* s = id >= 0 ? m.sockets().find(id) : nullptr;
  if (!s || s->access() != Access::Transparent || s->state() != sockets::State::Connected)
    return false;
  c.connect(transparent(m, id));
  return true;
}

}  // namespace bg95::services
