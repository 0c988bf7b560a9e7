// DFOTA: AT+QFOTADL (the note's 2.2.1) and AT+QCFGEXT="fota_apn" (2.2.2).

#include <fmt/format.h>

#include "protocol/at/result_codes.hpp"
#include "sim/dfota/dfota_service.hpp"
#include "sim/module.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

using util::iequals;

std::string fota_apn_line(const state::FotaApn& a) {
  std::string line = fmt::format("+QCFGEXT: \"fota_apn\",{},\"{}\"", a.ip_type, a.apn);
  if (!a.username.empty() || !a.password.empty())
    line += fmt::format(",\"{}\",\"{}\"", a.username, a.password);
  return line;
}

}  // namespace

void add_fota_commands(at::CommandTable& t, Module& m) {
  const auto bad = at::Outcome::cme_error(at::cme::kDfotaInvalidParameter);
  t.add({"+QFOTADL", Form::Test, {}, [](Call& c) { c.ok(); }, bad});
  // AT+QFOTADL=<HTTP_URL>|<CoAP_URL>|<local file>: at most 700 bytes.
  t.add({"+QFOTADL",
         Form::Write,
         {at::quoted(700)},
         [&m](Call& c) { m.dfota().start_download(c, c.args().str(0)); },
         bad});
  // AT+QFOTADL="COM:",<file_size>[,<timeout>]: a size that is not a number is 590 too.
  t.add({"+QFOTADL",
         Form::Write,
         {at::quoted(8), at::any(), optional(at::any())},
         [&m](Call& c) {
           const auto& a = c.args();
           if (!iequals(a.str(0), "COM:") || !a.is_integer(1) || (a.has(2) && !a.is_integer(2)))
             return c.cme(at::cme::kDfotaInvalidParameter);
           m.dfota().start_com_upload(c, a.integer(1), a.has(2) ? a.integer(2) : 5);
         },
         bad});
  // AT+QFOTADL=<para1>[,<para2>]: the extended functions (2.2.1.4). One rule for every
  // <para1> (docs/dfota.md): a value that names no function (2 reserved, 0, 6, -1, 256,
  // text) is "any other error": ERROR. Only a bad <para2> of function 3 is the ME's 590.
  t.add({"+QFOTADL",
         Form::Write,
         {at::any(), optional(at::any())},
         [&m](Call& c) {
           const auto& a = c.args();
           // A quoted first parameter is a URL or file that did not fit its own form (over 700
           // bytes): the ME's 590, as before.
           if (c.raw_arguments().at(0).quoted) return c.cme(at::cme::kDfotaInvalidParameter);
           if (!a.is_integer(0)) return c.error();
           std::optional<std::int64_t> value;
           if (a.has(1)) {
             if (!a.is_integer(1))
               return a.integer(0) == 3 ? c.cme(at::cme::kDfotaInvalidParameter) : c.error();
             value = a.integer(1);
           }
           m.dfota().extended(c, a.integer(0), value);
         },
         bad});

  // AT+QCFGEXT: errors are plain ERROR (the note, 2.2.2).
  t.add({"+QCFGEXT",
         Form::Test,
         {},
         [](Call& c) {
           c.line("+QCFGEXT: \"fota_apn\",(0-2),<APN>,<username>,<password>");
           c.ok();
         },
         at::Outcome::error()});
  t.add({"+QCFGEXT",
         Form::Write,
         {at::quoted(32), optional(integer(0, 2)), optional(at::string(99)),
          optional(at::string(127)), optional(at::string(127))},
         [&m](Call& c) {
           const auto& a = c.args();
           if (!iequals(a.str(0), "fota_apn")) return c.error();
           if (!a.has(1)) {  // query
             if (a.has(2) || a.has(3) || a.has(4)) return c.error();
             c.line(fota_apn_line(m.settings().fota_apn));
             return c.ok();
           }
           // A write needs the APN (possibly empty "") and takes user and password together.
           if (!a.has(2) || a.has(3) != a.has(4)) return c.error();
           for (std::size_t i = 2; i <= 4; ++i) {
             if (!state::storable_text(a.str(i))) return c.error();  // see storable_text
           }
           state::FotaApn apn{static_cast<int>(a.integer(1)), a.str(2), a.str(3), a.str(4)};
           // "Remain valid after powering down": a settings file that cannot be written is
           // +CME ERROR: 23, and the APN stays as it was.
           const state::FotaApn before = m.settings().fota_apn;
           m.settings().fota_apn = apn;
           if (m.try_save_settings()) return c.ok();
           m.settings().fota_apn = before;
           c.cme(at::cme::kMemoryFailure);
         },
         at::Outcome::error()});
}

}  // namespace bg95::services
