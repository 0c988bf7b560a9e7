// SSL sockets: AT+QSSLOPEN, AT+QSSLSEND, AT+QSSLRECV, AT+QSSLSTATE, AT+QSSLCLOSE (Quectel
// BG95&BG77&BG600L Series SSL Application Note; BG96 SSL Application Note). The same sockets
// as TCP (sim/sockets/) over TLS, with the settings of AT+QSSLCFG's contexts
// (Module::ssl_contexts()). Formats and sources: docs/data-services.md.

#include <fmt/format.h>

#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/sockets/socket_service.hpp"
#include "sim/sockets/socket_sessions.hpp"

namespace bg95::services {
namespace {

using sockets::Access;
using sockets::Error;
using sockets::Socket;

constexpr int kMinCid = 1, kMaxCid = 16;  // <pdpctxID> 1-16
constexpr int kMaxId = 11;                // <clientID> 0-11
constexpr auto kMaxSend = static_cast<std::int64_t>(sockets::kMaxSendLength);
constexpr auto kMaxRead = static_cast<std::int64_t>(sockets::kMaxSslReadLength);
constexpr int kMaxCtx = net::SslContexts::kCount - 1;

void fail(Module& m, Call& c, Error e) {
  m.packet_data().set_last_error(sockets::code(e));
  c.error();
}

Socket* ssl_socket(Module& m, int id) {
  if (m.socket_ids().owner(id) != net::SocketIds::Owner::Ssl) return nullptr;
  return m.sockets().find(id);
}

// +QSSLSTATE: <clientID>,"SSLClient","<IP_address>",<remote_port>,<local_port>,
// <socket_state>,<pdpctxID>,<serverID>,<access_mode>,"<AT_port>",<sslctxID>
std::string qsslstate_line(const Socket& s) {
  return fmt::format("+QSSLSTATE: {},\"SSLClient\",\"{}\",{},{},{},{},{},{},\"uart1\",{}", s.id(),
                     s.shown_address(), s.remote_port(), s.local_port(),
                     static_cast<int>(s.state()), s.cid(), s.server_id(),
                     static_cast<int>(s.access()), s.ssl_ctx());
}

void add_qsslopen(at::CommandTable& t, Module& m) {
  t.add({"+QSSLOPEN", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QSSLOPEN: ({}-{}),(0-{}),(0-{}),<serveraddr>,(1-65535),(0-2)",
                              kMinCid, kMaxCid, kMaxCtx, kMaxId));
           c.ok();
         }});
  // AT+QSSLOPEN=<pdpctxID>,<sslctxID>,<clientID>,<serveraddr>,<server_port>[,<access_mode>]:
  // OK, then +QSSLOPEN: <clientID>,<err>; in transparent mode CONNECT, or ERROR.
  t.add({"+QSSLOPEN",
         Form::Write,
         {integer(kMinCid, kMaxCid), integer(0, kMaxCtx), integer(0, kMaxId), at::string(255),
          integer(1, 65535), optional(integer(0, 2))},
         [&m](Call& c) {
           const auto& a = c.args();
           sockets::OpenRequest r;
           r.cid = static_cast<int>(a.integer(0));
           r.ssl_ctx = static_cast<int>(a.integer(1));
           r.id = static_cast<int>(a.integer(2));
           r.service = sockets::Service::SslClient;
           r.host = a.str(3);
           r.remote_port = static_cast<std::uint16_t>(a.integer(4));
           r.access = static_cast<Access>(a.integer(5, 0));
           sockets::answer_open(m, c, r, "+QSSLOPEN");
         },
         at::Outcome::error()});
}

void add_qsslsend_recv(at::CommandTable& t, Module& m) {
  t.add({"+QSSLSEND", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QSSLSEND: (0-{}),(0-{})", kMaxId, sockets::kMaxSendLength));
           c.ok();
         }});
  // AT+QSSLSEND=<clientID>[,<send_length>]; =<clientID>,0:
  // +QSSLSEND: <total_send_length>,<ackedbytes>,<unackedbytes>.
  t.add({"+QSSLSEND",
         Form::Write,
         {integer(0, kMaxId), optional(integer(0, kMaxSend))},
         [&m](Call& c) {
           const auto& a = c.args();
           const int id = static_cast<int>(a.integer(0));
           Socket* s = ssl_socket(m, id);
           if (a.has(1) && a.integer(1) == 0) {
             if (!s) return fail(m, c, Error::SocketClosed);
             c.line(sockets::send_totals("+QSSLSEND", *s));
             return c.ok();
           }
           if (!s || s->state() != sockets::State::Connected || s->access() == Access::Transparent)
             return fail(m, c, Error::SocketClosed);
           sockets::SendSession::Options o;
           o.id = id;
           if (a.has(1)) o.length = static_cast<std::size_t>(a.integer(1));
           c.prompt(std::make_shared<sockets::SendSession>(m.sockets(), o));
         },
         at::Outcome::error()});

  t.add({"+QSSLRECV", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QSSLRECV: (0-{}),(1-{})", kMaxId, sockets::kMaxSslReadLength));
           c.ok();
         }});
  // AT+QSSLRECV=<clientID>,<read_length>: +QSSLRECV: <have_read_length> CR LF <data>. With
  // <read_length> 0 the totals, +QSSLRECV: <total>,<have_read>,<unread>, as AT+QIRD=<id>,0
  // prints them: the note has no such form, but TinyGSM's BG96 driver asks it
  // (src/TinyGsmClientBG96.h, modemGetAvailable) and reads the third number.
  t.add({"+QSSLRECV",
         Form::Write,
         {integer(0, kMaxId), integer(0, kMaxRead)},
         [&m](Call& c) {
           Socket* s = ssl_socket(m, static_cast<int>(c.args().integer(0)));
           if (!s || s->access() == Access::Transparent) return fail(m, c, Error::SocketClosed);
           const auto length = static_cast<std::size_t>(c.args().integer(1));
           if (length == 0) {
             c.line(fmt::format("+QSSLRECV: {},{},{}", s->total_received(), s->total_read(),
                                s->unread()));
             return c.ok();
           }
           const auto r = s->read(length);
           std::string line = fmt::format("+QSSLRECV: {}", r.data.size());
           if (!r.data.empty()) line += "\r\n" + r.data;
           c.line(std::move(line));
           c.ok();
         },
         at::Outcome::error()});
}

void add_qsslstate_close(at::CommandTable& t, Module& m) {
  auto list = [&m](Call& c, int only) {
    for (Socket* s : m.sockets().all())
      if (s->is_ssl() && (only < 0 || s->id() == only)) c.line(qsslstate_line(*s));
    c.ok();
  };
  t.add({"+QSSLSTATE", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QSSLSTATE", Form::Execute, {}, [list](Call& c) { list(c, -1); }});
  t.add({"+QSSLSTATE", Form::Read, {}, [list](Call& c) { list(c, -1); }});
  // AT+QSSLSTATE=<clientID>; also =1,<clientID>, the AT+QISTATE form TinyGSM's BG96 driver
  // sends (src/TinyGsmClientBG96.h, modemGetConnected).
  t.add({"+QSSLSTATE",
         Form::Write,
         {integer(0, kMaxId), optional(integer(0, kMaxId))},
         [list](Call& c) {
           const auto& a = c.args();
           if (a.has(1) && a.integer(0) != 1) return c.error();
           list(c, static_cast<int>(a.has(1) ? a.integer(1) : a.integer(0)));
         },
         at::Outcome::error()});

  t.add({"+QSSLCLOSE", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QSSLCLOSE: (0-{}),(0-65535)", kMaxId));
           c.ok();
         }});
  // AT+QSSLCLOSE=<clientID>[,<close_timeout>]
  t.add({"+QSSLCLOSE",
         Form::Write,
         {integer(0, kMaxId), optional(integer(0, 65535))},
         [&m](Call& c) {
           const int id = static_cast<int>(c.args().integer(0));
           if (m.socket_ids().owner(id) == net::SocketIds::Owner::Socket)
             return fail(m, c, Error::NotAllowed);
           m.sockets().close(id);
           c.ok();
         },
         at::Outcome::error()});
}

}  // namespace

void add_ssl_socket_commands(at::CommandTable& t, Module& m) {
  add_qsslopen(t, m);
  add_qsslsend_recv(t, m);
  add_qsslstate_close(t, m);
}

}  // namespace bg95::services
