// LwM2M: AT+QLWCFG (configuration, kept in the non-volatile settings) and AT+QLWSVC
// (registration), as seen in a real BG95's test-command output (module-behaviour.md); the
// read forms print the values in the shape the write forms take them. docs/lwm2m.md.

#include <fmt/format.h>

#include "protocol/at/result_codes.hpp"
#include "sim/lwm2m/lwm2m_service.hpp"
#include "sim/module.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

using at::Call;
using at::Form;

constexpr int kBadParameter = 50;
constexpr int kNotAllowed = 3;

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An argument as text (quoted or not), or nullopt when absent.
std::optional<std::string> text(const at::Args& a, std::size_t i) {
  if (!a.has(i)) return std::nullopt;
  if (a.is_integer(i)) return std::to_string(a.integer(i));
  return a.str(i);
}

// An argument as an integer in [min, max], or nullopt when absent or not such a number.
std::optional<std::int64_t> number(const at::Args& a, std::size_t i, std::int64_t min,
                                   std::int64_t max) {
  if (!a.has(i)) return std::nullopt;
  std::optional<std::int64_t> v;
  if (a.is_integer(i)) {
    v = a.integer(i);
  } else {
    v = at::parse_integer(a.str(i));
  }
  if (!v || *v < min || *v > max) return std::nullopt;
  return v;
}

bool is_hex(const std::string& s) {
  return s.size() % 2 == 0 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

std::string security_line(const state::Lwm2mSettings& s) {
  return fmt::format("+QLWCFG: \"security\",{},{},\"{}\",{},{},\"{}\",\"{}\"", s.ssid,
                     s.short_server_id, s.server_uri, s.bootstrap ? 1 : 0, s.security_mode,
                     s.psk_id, s.psk);
}
std::string epns_line(const state::Lwm2mSettings& s) {
  return fmt::format("+QLWCFG: \"epns\",{},\"{}\",\"{}\"", s.epns_mode, s.bs_epname, s.reg_epname);
}
std::string server_line(const state::Lwm2mSettings& s) {
  return fmt::format("+QLWCFG: \"server\",{},{},{},{},\"{}\"", s.short_server_id, s.lifetime,
                     s.default_pmin, s.default_pmax, s.binding);
}
std::string version_line(const state::Lwm2mSettings& s) {
  return fmt::format("+QLWCFG: \"version\",{}", s.version);
}

int state_number(lwm2m::ClientState s) {
  switch (s) {
    case lwm2m::ClientState::Stopped:
      return 0;
    case lwm2m::ClientState::Registering:
      return 1;
    case lwm2m::ClientState::Registered:
      return 2;
    case lwm2m::ClientState::Deregistering:
      return 3;
  }
  return 0;
}

void qlwcfg(Call& c, Module& m) {
  const auto& a = c.args();
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (a.has(i) && !a.is_integer(i) && !state::storable_text(a.str(i)))
      return c.cme(kBadParameter);  // the settings file could not hold it
  }
  const std::string what = lower(a.str(0));
  state::Lwm2mSettings s = m.settings().lwm2m;
  const bool query = !a.has(1);
  if (what == "security") {
    if (query) {
      c.line(security_line(s));
      return c.ok();
    }
    // <ssid>,<short_server_id>,<server_uri>,<bootstrap>,<security_mode>[,<psk_id>,<psk>]
    const auto ssid = number(a, 1, 0, 65534);
    const auto short_id = number(a, 2, 1, 65534);
    const auto uri = text(a, 3);
    const auto bs = number(a, 4, 0, 1);
    const auto mode = number(a, 5, 0, 3);
    if (!ssid || !short_id || !uri || !bs || !mode || (*mode != 0 && *mode != 3))
      return c.cme(kBadParameter);
    if (*uri != "" && !uri->starts_with("coap://") && !uri->starts_with("coaps://"))
      return c.cme(kBadParameter);
    if (*mode == 0) {
      const auto id = text(a, 6);
      const auto key = text(a, 7);
      if (!id || !key || id->empty() || key->empty() || !is_hex(*key)) return c.cme(kBadParameter);
      s.psk_id = *id;
      s.psk = *key;
    } else {
      if (a.has(6) || a.has(7)) return c.cme(kBadParameter);
      s.psk_id.clear();
      s.psk.clear();
    }
    s.ssid = static_cast<int>(*ssid);
    s.short_server_id = static_cast<int>(*short_id);
    s.server_uri = *uri;
    s.bootstrap = *bs == 1;
    s.security_mode = static_cast<int>(*mode);
  } else if (what == "epns") {
    if (query) {
      c.line(epns_line(s));
      return c.ok();
    }
    const auto mode = number(a, 1, 0, 1);
    if (!mode || a.has(4)) return c.cme(kBadParameter);
    s.epns_mode = static_cast<int>(*mode);
    s.bs_epname = text(a, 2).value_or("");
    s.reg_epname = text(a, 3).value_or("");
    if (s.epns_mode == 1 && s.reg_epname.empty()) return c.cme(kBadParameter);
  } else if (what == "server") {
    if (query) {
      c.line(server_line(s));
      return c.ok();
    }
    // <short_server_id>,<lifetime>[,<default_pmin>,<default_pmax>[,<binding>]]
    const auto short_id = number(a, 1, 1, 65534);
    const auto lifetime = number(a, 2, 1, 0xffffffffLL);
    if (!short_id || !lifetime) return c.cme(kBadParameter);
    const auto pmin = a.has(3) ? number(a, 3, 0, 0xffffffffLL) : std::optional<std::int64_t>(0);
    const auto pmax = a.has(4) ? number(a, 4, 0, 0xffffffffLL) : std::optional<std::int64_t>(0);
    const auto binding = text(a, 5).value_or("U");
    if (!pmin || !pmax || binding != "U" || a.has(6)) return c.cme(kBadParameter);
    s.short_server_id = static_cast<int>(*short_id);
    s.lifetime = static_cast<std::uint32_t>(*lifetime);
    s.default_pmin = static_cast<std::uint32_t>(*pmin);
    s.default_pmax = static_cast<std::uint32_t>(*pmax);
    s.binding = binding;
  } else if (what == "version") {
    if (query) {
      c.line(version_line(s));
      return c.ok();
    }
    const auto v = number(a, 1, 0, 1);
    if (!v || a.has(2)) return c.cme(kBadParameter);
    s.version = static_cast<int>(*v);
  } else {
    return c.cme(kBadParameter);
  }
  // Kept across power cycles, used at the next registration: a settings file that cannot be
  // written is +CME ERROR: 23, and nothing changes.
  const state::Lwm2mSettings before = m.settings().lwm2m;
  m.settings().lwm2m = s;
  if (m.try_save_settings()) return c.ok();
  m.settings().lwm2m = before;
  c.cme(at::cme::kMemoryFailure);
}

void qlwsvc(Call& c, Module& m) {
  const std::string what = lower(c.args().str(0));
  auto& service = m.lwm2m();
  if (what == "reg") {
    if (c.args().has(1)) return c.cme(kBadParameter);
    if (service.client_state() == lwm2m::ClientState::Registered) return c.cme(kNotAllowed);
    if (!service.reg()) return c.cme(kNotAllowed);  // no server configured
    return c.ok();
  }
  if (what == "dereg") {
    if (service.client_state() == lwm2m::ClientState::Stopped) return c.cme(kNotAllowed);
    auto done = c.defer();
    service.dereg([done] { done(at::Reply{{}, at::Outcome::ok(), nullptr}); });
    return;
  }
  if (what == "update") {
    if (!service.update()) return c.cme(kNotAllowed);
    return c.ok();
  }
  if (what == "state") {
    c.line(fmt::format("+QLWSVC: \"state\",{}", state_number(service.client_state())));
    return c.ok();
  }
  c.cme(kBadParameter);
}

}  // namespace

void add_lwm2m_commands(at::CommandTable& t, Module& m) {
  t.add({"+QLWCFG", Form::Test, {}, [](Call& c) {
           c.line(
               "+QLWCFG: \"security\",<ssid>,<short_server_id>,<server_uri>,(0,1),(0,3),<psk_id>,"
               "<psk>");
           c.line("+QLWCFG: \"epns\",(0,1),<bs_epname>,<reg_epname>");
           c.line(
               "+QLWCFG: \"server\",<short_server_id>,<lifetime>,<default_pmin>,<default_pmax>,"
               "<binding>");
           c.line("+QLWCFG: \"version\",(0,1)");
           c.ok();
         }});
  std::vector<at::ArgSpec> params{at::quoted(16)};
  for (int i = 0; i < 8; ++i)
    params.push_back(at::optional(at::any()));
  t.add({"+QLWCFG", Form::Write, params, [&m](Call& c) { qlwcfg(c, m); },
         at::Outcome::cme_error(kBadParameter)});
  t.add({"+QLWSVC", Form::Test, {}, [](Call& c) {
           c.line("+QLWSVC: (\"reg\",\"dereg\",\"update\",\"state\")");
           c.ok();
         }});
  t.add({"+QLWSVC",
         Form::Write,
         {at::quoted(16), at::optional(at::any())},
         [&m](Call& c) { qlwsvc(c, m); },
         at::Outcome::cme_error(kBadParameter)});
}

}  // namespace bg95::services
