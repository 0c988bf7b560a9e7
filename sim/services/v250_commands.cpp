// V.250 and 27.007 basics: echo, result code format, error reporting, profiles, baud rate.

#include <array>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "protocol/at/result_codes.hpp"
#include "sim/module.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

constexpr const auto& kBaudRates = state::kIprRates;

// A basic command that sets one profile field from "0"/"1"... ("ATE" alone means "ATE0").
void add_flag(at::CommandTable& t, const char* name, std::int64_t max,
              std::function<void(at::DteProfile&, std::int64_t)> set) {
  t.add({name,
         Form::Execute,
         {},
         [set](Call& c) { set(c.profile(), 0), c.ok(); },
         at::Outcome::error()});
  t.add({name,
         Form::Write,
         {integer(0, max)},
         [set](Call& c) { set(c.profile(), c.args().integer(0)), c.ok(); },
         at::Outcome::error()});
}

std::string profile_text(const at::DteProfile& p) {
  return fmt::format(
      "&C: {}; &D: {}; &F: 0; &W: 0; E: {}; L: 0; M: 0; Q: {}; V: {}; X: 0; Z: 0; S0: 0; "
      "S3: {}; S4: {}; S5: {}; S6: 2; S7: 0; S8: 2; S10: 15",
      p.dcd_mode, p.dtr_mode, p.echo ? 1 : 0, p.quiet ? 1 : 0, p.verbose ? 1 : 0, p.s3, p.s4, p.s5);
}

}  // namespace

void add_v250_commands(at::CommandTable& t, Module& m) {
  using P = at::DteProfile;
  add_flag(t, "E", 1, [](P& p, std::int64_t v) { p.echo = v == 1; });
  add_flag(t, "V", 1, [](P& p, std::int64_t v) { p.verbose = v == 1; });
  add_flag(t, "Q", 1, [](P& p, std::int64_t v) { p.quiet = v == 1; });
  add_flag(t, "&C", 1, [](P& p, std::int64_t v) { p.dcd_mode = static_cast<std::uint8_t>(v); });
  add_flag(t, "&D", 2, [](P& p, std::int64_t v) { p.dtr_mode = static_cast<std::uint8_t>(v); });

  // AT&F: factory defaults (not saved); ATZ: the profile saved by AT&W.
  add_flag(t, "&F", 0, [&m](P& p, std::int64_t) { p = m.factory_profile(); });
  add_flag(t, "Z", 0, [&m](P& p, std::int64_t) { p = m.settings().saved_profile; });
  // AT&W: a settings file that cannot be written (a full disk) is the module's memory failing.
  const auto save_profile = [&m](Call& c) {
    const P before = m.settings().saved_profile;
    m.settings().saved_profile = c.profile();
    if (m.try_save_settings()) return c.ok();
    m.settings().saved_profile = before;
    c.cme(at::cme::kMemoryFailure);
  };
  t.add({"&W", Form::Execute, {}, save_profile, at::Outcome::error()});
  t.add({"&W", Form::Write, {integer(0, 0)}, save_profile, at::Outcome::error()});
  t.add({"&V",
         Form::Execute,
         {},
         [](Call& c) {
           c.line(profile_text(c.profile()));
           c.ok();
         },
         at::Outcome::error()});

  // S-registers the engine uses.
  struct SReg {
    const char* name;
    std::uint8_t at::DteProfile::*field;
  };
  for (const SReg& r : {SReg{"S3", &at::DteProfile::s3}, SReg{"S4", &at::DteProfile::s4},
                        SReg{"S5", &at::DteProfile::s5}}) {
    const auto field = r.field;
    t.add({r.name,
           Form::Read,
           {},
           [field](Call& c) {
             c.line(fmt::format("{:03d}", c.profile().*field));
             c.ok();
           },
           at::Outcome::error()});
    t.add({r.name,
           Form::Write,
           {integer(0, 127)},
           [field](Call& c) {
             c.profile().*field = static_cast<std::uint8_t>(c.args().integer(0));
             c.ok();
           },
           at::Outcome::error()});
  }

  t.add({"+CMEE", Form::Test, {}, [](Call& c) { c.line("+CMEE: (0-2)"), c.ok(); }});
  t.add({"+CMEE", Form::Read, {}, [](Call& c) {
           c.line(fmt::format("+CMEE: {}", static_cast<int>(c.profile().cmee)));
           c.ok();
         }});
  t.add({"+CMEE", Form::Write, {integer(0, 2)}, [](Call& c) {
           c.profile().cmee = static_cast<at::CmeMode>(c.args().integer(0));
           c.ok();
         }});

  t.add({"+IPR", Form::Test, {}, [](Call& c) {
           std::string rates;
           for (auto r : kBaudRates)
             rates += (rates.empty() ? "" : ",") + std::to_string(r);
           c.line("+IPR: (0," + rates + ")");
           c.ok();
         }});
  t.add({"+IPR", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+IPR: {}", m.settings().ipr));
           c.ok();
         }});
  t.add({"+IPR", Form::Write, {integer(0, 4000000)}, [&m](Call& c) {
           const auto rate = static_cast<std::uint32_t>(c.args().integer(0));
           if (rate != 0 &&
               std::find(kBaudRates.begin(), kBaudRates.end(), rate) == kBaudRates.end())
             return c.cme(at::cme::kIncorrectParameters);
           // Kept across power cycles, as on the real module: saved first (a settings file that
           // cannot be written is +CME ERROR: 23 and nothing changes). OK goes out at the old
           // rate; the new one applies after it.
           const std::uint32_t baud = rate == 0 ? 115200 : rate;
           const std::uint32_t before = m.settings().ipr;
           m.settings().ipr = baud;
           if (!m.try_save_settings()) {
             m.settings().ipr = before;
             return c.cme(at::cme::kMemoryFailure);
           }
           c.ok();
           c.after_answer([&m, baud] { m.set_uart_baud(baud); });
         }});

  t.add({"+CSCS", Form::Test, {}, [](Call& c) {
           c.line("+CSCS: (\"GSM\",\"IRA\",\"UCS2\")");
           c.ok();
         }});
  t.add({"+CSCS", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+CSCS: \"{}\"", m.volatile_settings().cscs));
           c.ok();
         }});
  t.add({"+CSCS", Form::Write, {at::string(8)}, [&m](Call& c) {
           std::string cs = c.args().str(0);
           for (auto& ch : cs)
             ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
           if (cs != "GSM" && cs != "IRA" && cs != "UCS2")
             return c.cme(at::cme::kIncorrectParameters);
           m.volatile_settings().cscs = cs;
           c.ok();
         }});
}

}  // namespace bg95::services
