// Power saving: AT+CPSMS and AT+QPSMS (PSM), AT+CEDRXS, AT+QEDRXCFG and AT+CEDRXRDP (eDRX),
// AT+QSCLK (sleep). What is modelled: sim/power_saving.hpp; formats and sources:
// docs/at-commands.md.

#include <fmt/format.h>

#include "protocol/at/result_codes.hpp"
#include "sim/module.hpp"
#include "sim/power_saving.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

// AT+CEDRXS / AT+QEDRXCFG values, kept in NV as "<AcT-type>,\"<eDRX>\"[,\"<PTW>\"]".
constexpr const char* kEdrxKey = "+CEDRXS";
constexpr const char* kPtwKey = "+QEDRXCFG";

std::string nv(Module& m, const char* key, std::string fallback = {}) {
  const auto it = m.settings().at_nv.find(key);
  return it == m.settings().at_nv.end() ? fallback : it->second;
}

bool store(Module& m, const char* key, std::optional<std::string> value) {
  auto& kept = m.settings().at_nv;
  const auto before = kept;
  if (value) {
    kept[key] = *value;
  } else {
    kept.erase(key);
  }
  if (m.try_save_settings()) return true;
  kept = before;
  return false;
}

void add_psm(at::CommandTable& t, Module& m) {
  t.add({"+CPSMS", Form::Test, {}, [](Call& c) {
           c.line("+CPSMS: (0-2),,,(\"00000000\"-\"11111111\"),(\"00000000\"-\"11111111\")");
           c.ok();
         }});
  t.add({"+CPSMS", Form::Read, {}, [&m](Call& c) {
           const psm::Request r = m.power_saving().request();
           c.line(fmt::format("+CPSMS: {},,,\"{}\",\"{}\"", r.mode, r.periodic_tau, r.active_time));
           c.ok();
         }});
  // AT+CPSMS=[<mode>[,<RAU>[,<GPRS-READY>[,<Periodic-TAU>[,<Active-Time>]]]]]; 2 = disable
  // and reset the values.
  t.add({"+CPSMS",
         Form::Write,
         {integer(0, 2), optional(at::string(8)), optional(at::string(8)), optional(at::string(8)),
          optional(at::string(8))},
         [&m](Call& c) {
           const auto& a = c.args();
           psm::Request r = m.power_saving().request();
           if (a.integer(0) == 2) r = psm::Request{};
           r.mode = a.integer(0) == 1 ? 1 : 0;
           for (std::size_t i = 1; i <= 2; ++i)  // RAU and GPRS-READY (GERAN): checked, unused
             if (a.has(i) && !psm::valid_bits(a.str(i), 8))
               return c.cme(at::cme::kIncorrectParameters);
           if (a.has(3)) {
             if (!psm::valid_bits(a.str(3), 8)) return c.cme(at::cme::kIncorrectParameters);
             r.periodic_tau = a.str(3);
           }
           if (a.has(4)) {
             if (!psm::valid_bits(a.str(4), 8)) return c.cme(at::cme::kIncorrectParameters);
             r.active_time = a.str(4);
           }
           return m.power_saving().set_request(r) ? c.ok() : c.cme(at::cme::kMemoryFailure);
         }});
  t.add({"+CPSMS", Form::Execute, {}, [&m](Call& c) {
           return m.power_saving().set_request(psm::Request{}) ? c.ok()
                                                               : c.cme(at::cme::kMemoryFailure);
         }});

  // AT+QPSMS: the same request with the timers in seconds.
  t.add({"+QPSMS", Form::Test, {}, [](Call& c) {
           c.line("+QPSMS: (0,1),,,(0-35712000),(0-1116000)");
           c.ok();
         }});
  t.add({"+QPSMS", Form::Read, {}, [&m](Call& c) {
           const psm::Request r = m.power_saving().request();
           const auto tau = psm::decode_timer3(r.periodic_tau);
           const auto act = psm::decode_timer2(r.active_time);
           c.line(fmt::format("+QPSMS: {},,,\"{}\",\"{}\"", r.mode, tau ? tau->count() : 0,
                              act ? act->count() : 0));
           c.ok();
         }});
  t.add({"+QPSMS",
         Form::Write,
         {integer(0, 1), optional(at::any()), optional(at::any()), optional(at::any()),
          optional(at::any())},
         [&m](Call& c) {
           const auto& a = c.args();
           psm::Request r = m.power_saving().request();
           r.mode = static_cast<int>(a.integer(0));
           auto seconds = [&](std::size_t i) -> std::optional<std::int64_t> {
             const auto v =
                 at::parse_integer(a.str(i, a.is_integer(i) ? std::to_string(a.integer(i)) : ""));
             if (!v || *v < 0) return std::nullopt;
             return *v;
           };
           if (a.has(3)) {
             const auto v = seconds(3);
             if (!v || *v > 35712000) return c.cme(at::cme::kIncorrectParameters);
             r.periodic_tau = psm::encode_timer3(std::chrono::seconds(*v));
           }
           if (a.has(4)) {
             const auto v = seconds(4);
             if (!v || *v > 1116000) return c.cme(at::cme::kIncorrectParameters);
             r.active_time = psm::encode_timer2(std::chrono::seconds(*v));
           }
           return m.power_saving().set_request(r) ? c.ok() : c.cme(at::cme::kMemoryFailure);
         }});
}

void add_edrx(at::CommandTable& t, Module& m) {
  t.add({"+CEDRXS", Form::Test, {}, [](Call& c) {
           c.line("+CEDRXS: (0-3),(4,5),(\"0000\"-\"1111\")");
           c.ok();
         }});
  // Disabled: "+CEDRXS: 0" (as a BG77x shows it); else <AcT-type>,"<Requested_eDRX_value>".
  t.add({"+CEDRXS", Form::Read, {}, [&m](Call& c) {
           const std::string v = nv(m, kEdrxKey);
           c.line("+CEDRXS: " + (v.empty() ? std::string("0") : v));
           c.ok();
         }});
  // AT+CEDRXS=<mode>[,<AcT-type>[,<Requested_eDRX_value>]]; 3 = disable and reset.
  t.add({"+CEDRXS",
         Form::Write,
         {integer(0, 3), optional(integer(4, 5)), optional(at::string(4))},
         [&m](Call& c) {
           const auto& a = c.args();
           const auto mode = a.integer(0);
           if (mode == 0 || mode == 3)
             return store(m, kEdrxKey, std::nullopt) ? c.ok() : c.cme(at::cme::kMemoryFailure);
           if (a.has(2) && !psm::valid_bits(a.str(2), 4))
             return c.cme(at::cme::kIncorrectParameters);
           const std::string value = fmt::format("{},\"{}\"", a.integer(1, 4), a.str(2, "0101"));
           return store(m, kEdrxKey, value) ? c.ok() : c.cme(at::cme::kMemoryFailure);
         }});
  // AT+CEDRXRDP: what the network granted (the request, here) and the paging time window.
  t.add({"+CEDRXRDP", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+CEDRXRDP", Form::Execute, {}, [&m](Call& c) {
           const std::string v = nv(m, kEdrxKey);
           if (v.empty() || !m.network().view().registered()) {
             c.line("+CEDRXRDP: 0");
             return c.ok();
           }
           const at::CommandLine parsed = at::parse_command_line("+X=" + v);
           const auto& args = parsed.commands.at(0).args;
           const std::string ptw = nv(m, kPtwKey, "\"0011\"");
           c.line(fmt::format("+CEDRXRDP: {},\"{}\",\"{}\",{}", args.at(0).text, args.at(1).text,
                              args.at(1).text, ptw));
           c.ok();
         }});
  // AT+QEDRXCFG=<mode>,<AcT-type>,"<eDRX>","<PTW>" (no public source gives this form; our
  // reading of the BG95 eDRX application note's name for it).
  t.add({"+QEDRXCFG", Form::Test, {}, [](Call& c) {
           c.line("+QEDRXCFG: (0-3),(4,5),(\"0000\"-\"1111\"),(\"0000\"-\"1111\")");
           c.ok();
         }});
  t.add({"+QEDRXCFG", Form::Read, {}, [&m](Call& c) {
           const std::string v = nv(m, kEdrxKey);
           if (v.empty()) {
             c.line("+QEDRXCFG: 0");
           } else {
             c.line(fmt::format("+QEDRXCFG: {},{}", v, nv(m, kPtwKey, "\"0011\"")));
           }
           c.ok();
         }});
  t.add({"+QEDRXCFG",
         Form::Write,
         {integer(0, 3), optional(integer(4, 5)), optional(at::string(4)), optional(at::string(4))},
         [&m](Call& c) {
           const auto& a = c.args();
           const auto mode = a.integer(0);
           if (mode == 0 || mode == 3) {
             return store(m, kEdrxKey, std::nullopt) && store(m, kPtwKey, std::nullopt)
                        ? c.ok()
                        : c.cme(at::cme::kMemoryFailure);
           }
           if ((a.has(2) && !psm::valid_bits(a.str(2), 4)) ||
               (a.has(3) && !psm::valid_bits(a.str(3), 4)))
             return c.cme(at::cme::kIncorrectParameters);
           const bool ok =
               store(m, kEdrxKey, fmt::format("{},\"{}\"", a.integer(1, 4), a.str(2, "0101"))) &&
               store(m, kPtwKey, fmt::format("\"{}\"", a.str(3, "0011")));
           return ok ? c.ok() : c.cme(at::cme::kMemoryFailure);
         }});
}

}  // namespace

void add_power_saving_commands(at::CommandTable& t, Module& m) {
  add_psm(t, m);
  add_edrx(t, m);
  // AT+QSCLK: sleep when DTR is high-to-low allowed; a pty has no DTR wake-up: stored only.
  t.add({"+QSCLK", Form::Test, {}, [](Call& c) { c.line("+QSCLK: (0,1)"), c.ok(); }});
  t.add({"+QSCLK", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+QSCLK: {}", m.volatile_settings().qsclk));
           c.ok();
         }});
  t.add({"+QSCLK", Form::Write, {integer(0, 1)}, [&m](Call& c) {
           m.volatile_settings().qsclk = static_cast<int>(c.args().integer(0));
           c.ok();
         }});
}

}  // namespace bg95::services
