// Packet data: AT+CGDCONT, AT+CGACT, AT+CGATT, AT+CGPADDR, AT+CGEREP (3GPP 27.007 as the
// BG95 AT commands manual gives them), AT+QICSGP, AT+QIACT, AT+QIDEACT, AT+QIDNSCFG,
// AT+QIDNSGIP, AT+QIGETERROR (Quectel's TCP/IP application note), and the dial ATD*99#.
// Formats and their sources: docs/at-commands.md.

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "protocol/at/result_codes.hpp"
#include "sim/module.hpp"
#include "sim/packet/host_resolver.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/sockets/socket_limits.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

using packet::kMaxCid;
using packet::kMinCid;
using packet::PacketData;

// The TCP/IP application note's error codes used here (AT+QIGETERROR, +QIURC: "dnsgip").
constexpr int kQiOk = 0;
constexpr int kQiOpenPdpFailed = 561;
constexpr int kQiDnsParseFailed = 565;
constexpr int kQiPdpBroken = 570;

// "" for a context whose address has no IPv6 part, else ",<v6>" as AT+CGPADDR adds it.
std::string cgpaddr_line(const PacketData& pd, int cid) {
  const state::PdpProfile* p = pd.profile(cid);
  if (p && p->type == "IPV6") return fmt::format("+CGPADDR: {},\"{}\"", cid, pd.ipv6_address(cid));
  const std::string v6 = pd.ipv6_address(cid);
  if (v6.empty()) return fmt::format("+CGPADDR: {},\"{}\"", cid, pd.ipv4_address(cid));
  return fmt::format("+CGPADDR: {},\"{}\",\"{}\"", cid, pd.ipv4_address(cid), v6);
}

std::string cid_list(const std::vector<int>& cids) {
  std::string s;
  for (int cid : cids)
    s += (s.empty() ? "" : ",") + std::to_string(cid);
  return s;
}

void add_cgdcont(at::CommandTable& t, Module& m) {
  t.add({"+CGDCONT", Form::Test, {}, [](Call& c) {
           for (const char* type : {"IP", "IPV6", "IPV4V6", "Non-IP"})
             c.line(fmt::format("+CGDCONT: ({}-{}),\"{}\",,,(0-2),(0-4),(0),(0)", kMinCid, kMaxCid,
                                type));
           c.ok();
         }});
  t.add({"+CGDCONT", Form::Read, {}, [&m](Call& c) {
           const PacketData& pd = m.packet_data();
           for (int cid : pd.defined_cids()) {
             // <PDP_addr> is the address asked for, none: zeros, 16 bytes for IPv6 types (a real
             // BG96 log; the assigned one is AT+CGPADDR's).
             const state::PdpProfile& p = *pd.profile(cid);
             const char* none = p.type == "IP" || p.type == "Non-IP"
                                    ? "0.0.0.0"
                                    : "0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0";
             c.line(fmt::format("+CGDCONT: {},\"{}\",\"{}\",\"{}\",0,0,0,0", cid, p.type, p.apn,
                                none));
           }
           c.ok();
         }});
  // AT+CGDCONT=<cid>[,<PDP_type>[,<APN>[,<PDP_addr>[,<d_comp>[,<h_comp>[,<IPv4AddrAlloc>
  // [,<request_type>]]]]]]]; <cid> alone removes the definition.
  t.add({"+CGDCONT",
         Form::Write,
         {integer(kMinCid, kMaxCid), optional(at::string(8)), optional(at::string(99)),
          optional(at::string(64)), optional(integer(0, 2)), optional(integer(0, 4)),
          optional(integer(0, 0)), optional(integer(0, 0))},
         [&m](Call& c) {
           const auto& a = c.args();
           const int cid = static_cast<int>(a.integer(0));
           PacketData& pd = m.packet_data();
           // Removing a context that is up is refused; a new definition of one is taken and
           // applies at its next activation (ppp chat scripts define context 1 while LTE's
           // default bearer is up on it).
           if (c.raw_arguments().size() == 1)
             return !pd.active(cid) && pd.undefine(cid) ? c.ok() : c.error();
           std::string type = util::ascii_upper(a.str(1, "IP"));
           if (type == "NON-IP") type = "Non-IP";
           if (!packet::known_pdp_type(type) || !state::storable_text(a.str(2)))
             return c.cme(at::cme::kIncorrectParameters);
           state::PdpProfile p = pd.profile(cid) ? *pd.profile(cid) : state::PdpProfile{};
           p.type = type;
           p.apn = a.str(2);
           if (!pd.define(cid, std::move(p))) return c.cme(at::cme::kMemoryFailure);
           c.ok();
         }});
}

void add_cgact_cgatt(at::CommandTable& t, Module& m) {
  t.add({"+CGACT", Form::Test, {}, [](Call& c) { c.line("+CGACT: (0,1)"), c.ok(); }});
  t.add({"+CGACT", Form::Read, {}, [&m](Call& c) {
           const PacketData& pd = m.packet_data();
           for (int cid : pd.defined_cids())
             c.line(fmt::format("+CGACT: {},{}", cid, pd.active(cid) ? 1 : 0));
           c.ok();
         }});
  // AT+CGACT=<state>[,<cid>[,<cid>...]]: no <cid> means every defined context.
  t.add({"+CGACT",
         Form::Write,
         {integer(0, 1), optional(integer(kMinCid, kMaxCid)), optional(integer(kMinCid, kMaxCid)),
          optional(integer(kMinCid, kMaxCid))},
         [&m](Call& c) {
           const auto& a = c.args();
           PacketData& pd = m.packet_data();
           std::vector<int> cids;
           for (std::size_t i = 1; i < a.size(); ++i)
             if (a.has(i)) cids.push_back(static_cast<int>(a.integer(i)));
           if (cids.empty()) cids = pd.defined_cids();
           for (int cid : cids) {
             if (a.integer(0) == 0) {
               pd.deactivate(cid);
             } else if (pd.activate(cid) != PacketData::ActivateResult::Ok) {
               return c.error();
             }
           }
           c.ok();
         }});

  t.add({"+CGATT", Form::Test, {}, [](Call& c) { c.line("+CGATT: (0,1)"), c.ok(); }});
  t.add({"+CGATT", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+CGATT: {}", m.packet_data().attached() ? 1 : 0));
           c.ok();
         }});
  t.add({"+CGATT", Form::Write, {integer(0, 1)}, [&m](Call& c) {
           return m.packet_data().set_attach(c.args().integer(0) == 1) ? c.ok() : c.error();
         }});

  t.add({"+CGPADDR", Form::Test, {}, [&m](Call& c) {
           c.line("+CGPADDR: (" + cid_list(m.packet_data().defined_cids()) + ")");
           c.ok();
         }});
  auto addresses = [&m](Call& c, std::vector<int> cids) {
    const PacketData& pd = m.packet_data();
    for (int cid : cids)
      if (pd.profile(cid)) c.line(cgpaddr_line(pd, cid));
    c.ok();
  };
  t.add({"+CGPADDR", Form::Execute, {}, [&m, addresses](Call& c) {
           addresses(c, m.packet_data().defined_cids());
         }});
  t.add({"+CGPADDR",
         Form::Write,
         {integer(kMinCid, kMaxCid), optional(integer(kMinCid, kMaxCid)),
          optional(integer(kMinCid, kMaxCid))},
         [addresses](Call& c) {
           std::vector<int> cids;
           for (std::size_t i = 0; i < c.args().size(); ++i)
             if (c.args().has(i)) cids.push_back(static_cast<int>(c.args().integer(i)));
           addresses(c, cids);
         }});

  // AT+CGCONTRDP[=<cid>]: +CGCONTRDP: <cid>,<bearer_id>,<apn>,<local_addr and subnet_mask>,
  // <gw_addr>,<DNS_prim_addr>,<DNS_sec_addr> per active context (27.007 10.1.23; Mbed OS
  // reads it after activation).
  auto contrdp = [&m](Call& c, std::vector<int> cids) {
    const PacketData& pd = m.packet_data();
    for (int cid : cids) {
      if (!pd.active(cid)) continue;
      const std::string ip = pd.ipv4_address(cid);
      const auto dns = pd.dns(cid);
      const std::string gateway = ip.substr(0, ip.rfind('.')) + ".1";
      c.line(fmt::format("+CGCONTRDP: {},{},\"{}\",\"{}.255.255.255.0\",\"{}\",\"{}\",\"{}\"", cid,
                         cid + 4, pd.profile(cid)->apn, ip, gateway, dns.primary, dns.secondary));
    }
    c.ok();
  };
  t.add({"+CGCONTRDP", Form::Test, {}, [&m](Call& c) {
           c.line("+CGCONTRDP: (" + cid_list(m.packet_data().active_cids()) + ")");
           c.ok();
         }});
  t.add({"+CGCONTRDP", Form::Execute, {}, [&m, contrdp](Call& c) {
           contrdp(c, m.packet_data().active_cids());
         }});
  t.add({"+CGCONTRDP", Form::Write, {integer(kMinCid, kMaxCid)}, [contrdp](Call& c) {
           contrdp(c, {static_cast<int>(c.args().integer(0))});
         }});

  t.add({"+CGEREP", Form::Test, {}, [](Call& c) { c.line("+CGEREP: (0-2),(0-1)"), c.ok(); }});
  t.add({"+CGEREP", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+CGEREP: {},0", m.packet_data().cgerep_mode()));
           c.ok();
         }});
  t.add({"+CGEREP", Form::Write, {integer(0, 2), optional(integer(0, 1))}, [&m](Call& c) {
           m.packet_data().set_cgerep_mode(static_cast<int>(c.args().integer(0)));
           c.ok();
         }});
}

void add_qicsgp(at::CommandTable& t, Module& m) {
  t.add({"+QICSGP", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QICSGP: ({}-{}),(1-3),<APN>,<username>,<password>,(0-3)", kMinCid,
                              kMaxCid));
           c.ok();
         }});
  // AT+QICSGP=<contextID>: the context's configuration.
  t.add({"+QICSGP", Form::Write, {integer(kMinCid, kMaxCid)}, [&m](Call& c) {
           const state::PdpProfile* p =
               m.packet_data().profile(static_cast<int>(c.args().integer(0)));
           // An unused context reads +QICSGP: 0,"","","",0 (a BG96 as RAK documents it).
           if (!p) {
             c.line("+QICSGP: 0,\"\",\"\",\"\",0");
             return c.ok();
           }
           c.line(fmt::format("+QICSGP: {},\"{}\",\"{}\",\"{}\",{}",
                              packet::context_type_of_pdp_type(p->type), p->apn, p->username,
                              p->password, p->auth));
           c.ok();
         }});
  // AT+QICSGP=<contextID>,<context_type>,<APN>[,<username>,<password>[,<authentication>]]
  t.add({"+QICSGP",
         Form::Write,
         {integer(kMinCid, kMaxCid), integer(1, 3), at::string(99), optional(at::string(127)),
          optional(at::string(127)), optional(integer(0, 3))},
         [&m](Call& c) {
           const auto& a = c.args();
           const int cid = static_cast<int>(a.integer(0));
           PacketData& pd = m.packet_data();
           if (!state::storable_text(a.str(2)) || !state::storable_text(a.str(3)) ||
               !state::storable_text(a.str(4)))
             return c.error();
           state::PdpProfile p = pd.profile(cid) ? *pd.profile(cid) : state::PdpProfile{};
           p.type = packet::pdp_type_of_context_type(static_cast<int>(a.integer(1)));
           p.apn = a.str(2);
           p.username = a.str(3);
           p.password = a.str(4);
           p.auth = static_cast<int>(a.integer(5, 0));
           if (!pd.define(cid, std::move(p))) return c.cme(at::cme::kMemoryFailure);
           c.ok();
         }});
}

void add_qiact(at::CommandTable& t, Module& m) {
  t.add({"+QIACT", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QIACT: ({}-{})", kMinCid, kMaxCid));
           c.ok();
         }});
  // +QIACT: <contextID>,<context_state>,<context_type>[,<IP_address>] per active context.
  t.add({"+QIACT", Form::Read, {}, [&m](Call& c) {
           const PacketData& pd = m.packet_data();
           for (int cid : pd.active_cids()) {
             const state::PdpProfile* p = pd.profile(cid);
             const int type = p ? packet::context_type_of_pdp_type(p->type) : 1;
             const std::string addr = type == 2 ? pd.ipv6_address(cid) : pd.ipv4_address(cid);
             c.line(fmt::format("+QIACT: {},1,{},\"{}\"", cid, type == 0 ? 1 : type, addr));
           }
           c.ok();
         }});
  t.add({"+QIACT", Form::Write, {integer(kMinCid, kMaxCid)}, [&m](Call& c) {
           PacketData& pd = m.packet_data();
           const bool ok =
               pd.activate(static_cast<int>(c.args().integer(0))) == PacketData::ActivateResult::Ok;
           pd.set_last_error(ok ? kQiOk : kQiOpenPdpFailed);
           return ok ? c.ok() : c.error();
         }});
  t.add({"+QIDEACT", Form::Test, {}, [](Call& c) {
           c.line(fmt::format("+QIDEACT: ({}-{})", kMinCid, kMaxCid));
           c.ok();
         }});
  t.add({"+QIDEACT", Form::Write, {integer(kMinCid, kMaxCid)}, [&m](Call& c) {
           m.packet_data().deactivate(static_cast<int>(c.args().integer(0)));
           m.packet_data().set_last_error(kQiOk);
           c.ok();
         }});
}

void add_dns(at::CommandTable& t, Module& m) {
  // AT+QIDNSCFG=<contextID>: +QIDNSCFG: <contextID>,"<pridnsaddr>","<secdnsaddr>"
  t.add({"+QIDNSCFG", Form::Write, {integer(kMinCid, kMaxCid)}, [&m](Call& c) {
           const int cid = static_cast<int>(c.args().integer(0));
           // A BG96 answers ERROR before the context is active (a real log: Azure
           // embedded-wireless-framework issue #20).
           if (!m.packet_data().active(cid)) return c.error();
           const auto dns = m.packet_data().dns(cid);
           c.line(fmt::format("+QIDNSCFG: {},\"{}\",\"{}\"", cid, dns.primary, dns.secondary));
           c.ok();
         }});
  t.add(
      {"+QIDNSCFG",
       Form::Write,
       {integer(kMinCid, kMaxCid), at::string(45), optional(at::string(45))},
       [&m](Call& c) {
         const auto& a = c.args();
         if (packet::resolve_locally(a.str(1)) != std::vector<std::string>{a.str(1)} ||
             (a.has(2) && packet::resolve_locally(a.str(2)) != std::vector<std::string>{a.str(2)}))
           return c.error();  // only address literals
         m.packet_data().set_dns(static_cast<int>(a.integer(0)), {a.str(1), a.str(2)});
         c.ok();
       }});
  t.add({"+QIDNSCFG", Form::Test, {}, [](Call& c) { c.ok(); }});
  // AT+QIDNSGIP=<contextID>,"<hostname>": OK, then the answer as URCs:
  // +QIURC: "dnsgip",<err>,<IP_count>,<DNS_ttl> and +QIURC: "dnsgip","<hostIPaddr>" each.
  t.add({"+QIDNSGIP", Form::Write, {integer(kMinCid, kMaxCid), at::string(255)}, [&m](Call& c) {
           const int cid = static_cast<int>(c.args().integer(0));
           PacketData& pd = m.packet_data();
           if (!pd.active(cid)) {
             pd.set_last_error(kQiPdpBroken);
             return c.error();
           }
           const std::string host = c.args().str(1);
           c.ok();
           // After OK, as the module looks the name up.
           boost::asio::post(m.executor(), [&m, host] {
             // The link's DNS fault fails the lookup as an unknown name does.
             const auto addresses =
                 m.link().dns_fails() ? std::vector<std::string>{} : packet::resolve_locally(host);
             if (addresses.empty()) {
               m.emit_urc(fmt::format("+QIURC: \"dnsgip\",{}", kQiDnsParseFailed));
               return;
             }
             m.emit_urc(fmt::format("+QIURC: \"dnsgip\",0,{},600", addresses.size()));
             for (const auto& a : addresses)
               m.emit_urc(fmt::format("+QIURC: \"dnsgip\",\"{}\"", a));
           });
         }});
  t.add({"+QIGETERROR", Form::Execute, {}, [&m](Call& c) {
           const int code = m.packet_data().last_error();
           c.line(fmt::format("+QIGETERROR: {},{}", code, sockets::error_text(code)));
           c.ok();
         }});
}

}  // namespace

void add_packet_data_commands(at::CommandTable& t, Module& m) {
  add_cgdcont(t, m);
  add_cgact_cgatt(t, m);
  add_qicsgp(t, m);
  add_qiact(t, m);
  add_dns(t, m);
}

}  // namespace bg95::services
