// The PPP dial and its companions: ATD*99#, ATD*99***<cid># and AT+CGDATA="PPP",<cid> answer
// CONNECT and run PPP (sim/ppp/); ATO returns to a link left with "+++"; any other dial string
// gets NO CARRIER (no voice or circuit-switched data). Formats: Quectel BG96 AT Commands
// Manual V2.1 (ATD, ATO, AT+CGDATA) and 3GPP TS 27.007 sections 10.1.12 and 10.2.1.1;
// docs/ppp.md.

#include <charconv>
#include <optional>
#include <string_view>

#include "protocol/at/reply.hpp"
#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/ppp/ppp_service.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

constexpr int kDefaultCid = 1;  // ATD*99# without a <cid>: the first context (27.007 10.2.1.1)

std::optional<int> parse_cid(std::string_view text) {
  int cid = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), cid);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (cid < packet::kMinCid || cid > packet::kMaxCid) return std::nullopt;
  return cid;
}

// The context of a packet-domain dial string, 27.007 10.2.1.1:
// *99[*[<called_address>][*[<L2P>][*[<cid>]]]]#; nullopt for any other dial string or a
// <L2P> other than PPP (1). `T`/`P` dial modifiers are not part of it.
std::optional<int> ppp_dial_cid(std::string_view s) {
  if (!s.starts_with("*99") || !s.ends_with('#')) return std::nullopt;
  s = s.substr(3, s.size() - 4);
  if (s.empty()) return kDefaultCid;
  if (s.front() != '*') return std::nullopt;
  s.remove_prefix(1);
  std::string_view fields[3];
  for (int i = 0; i < 3; ++i) {
    const auto star = s.find('*');
    fields[i] = s.substr(0, star);
    if (star == std::string_view::npos) {
      s = {};
      break;
    }
    s.remove_prefix(star + 1);
    if (i == 2) return std::nullopt;  // a fourth field
  }
  if (!fields[1].empty() && fields[1] != "PPP" && fields[1] != "1") return std::nullopt;
  if (fields[2].empty()) return kDefaultCid;
  return parse_cid(fields[2]);
}

}  // namespace

void add_ppp_commands(at::CommandTable& t, Module& m) {
  t.add({"D",
         Form::Write,
         {at::any()},
         [&m](Call& c) {
           if (const auto cid = ppp_dial_cid(c.args().str(0))) return m.ppp().dial(c, *cid);
           // No voice calls and no circuit-switched data: another dial gets no carrier.
           c.finish({at::Outcome::Kind::NoCarrier, 0});
         },
         at::Outcome::error()});
  // ATO: back to the PPP link this port left with "+++" or DTR under AT&D1, or else to the
  // transparent socket "+++" left; NO CARRIER when there is neither (V.250 6.3.7). (With both
  // left at once, PPP wins: which one was left last is not kept.)
  auto online = [&m](Call& c) {
    if (m.ppp().resume(c) || resume_transparent_socket(m, c)) return;
    c.finish({at::Outcome::Kind::NoCarrier, 0});
  };
  t.add({"O", Form::Execute, {}, online, at::Outcome::error()});
  t.add({"O", Form::Write, {at::integer(0, 0)}, online, at::Outcome::error()});
  t.add({"+CGDATA", Form::Test, {}, [](Call& c) { c.line("+CGDATA: (\"PPP\")"), c.ok(); }});
  // AT+CGDATA=<L2P>[,<cid>]: only PPP; an unknown <L2P> is an error (27.007 10.1.12).
  t.add({"+CGDATA",
         Form::Write,
         {at::string(8), at::optional(at::integer(packet::kMinCid, packet::kMaxCid))},
         [&m](Call& c) {
           if (c.args().str(0) != "PPP") return c.error();
           m.ppp().dial(c, static_cast<int>(c.args().integer(1, kDefaultCid)));
         }});
}

}  // namespace bg95::services
