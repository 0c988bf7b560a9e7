// Identification: manufacturer, model, revision (read from the running firmware image), IMEI,
// IMSI, ICCID and the SIM state.

#include <fmt/format.h>

#include "protocol/at/result_codes.hpp"
#include "sim/module.hpp"
#include "sim/services/services.hpp"

namespace bg95::services {
namespace {

using at::Call;
using at::Form;

constexpr const char* kManufacturer = "Quectel";

// Commands answered by one fixed information text, under several names (+CGMI and +GMI ...).
void add_info(at::CommandTable& t, std::initializer_list<const char*> names,
              std::function<std::string()> text) {
  for (const char* name : names) {
    t.add({name, Form::Execute, {}, [text](Call& c) {
             c.line(text());
             c.ok();
           }});
    t.add({name, Form::Test, {}, [](Call& c) { c.ok(); }});
  }
}

bool sim_ready(const Module& m) {
  return m.cfun() != 0;
}

}  // namespace

void add_identification_commands(at::CommandTable& t, Module& m) {
  // ATI and ATI0: the three lines of the reference, from the image in flash.
  auto ati = [&m](Call& c) {
    c.line(kManufacturer);
    c.line(m.settings().model);
    c.line("Revision: " + m.running_image().revision);
    c.ok();
  };
  t.add({"I", Form::Execute, {}, ati, at::Outcome::error()});
  t.add({"I", Form::Write, {at::integer(0, 0)}, ati, at::Outcome::error()});

  add_info(t, {"+CGMI", "+GMI"}, [] { return std::string(kManufacturer); });
  add_info(t, {"+CGMM", "+GMM"}, [&m] { return m.settings().model; });
  add_info(t, {"+CGMR", "+GMR"}, [&m] { return m.running_image().revision; });
  add_info(t, {"+QGMR"}, [&m] { return m.running_image().full_version; });
  add_info(t, {"+CGSN", "+GSN"}, [&m] { return m.settings().identity.imei; });

  // 27.007: AT+CGSN=1 gives the IMEI with its prefix.
  t.add({"+CGSN", Form::Write, {at::integer(0, 1)}, [&m](Call& c) {
           const auto& imei = m.settings().identity.imei;
           c.line(c.args().integer(0) == 1 ? fmt::format("+CGSN: \"{}\"", imei) : imei);
           c.ok();
         }});

  t.add({"+CIMI", Form::Execute, {}, [&m](Call& c) {
           if (!sim_ready(m)) return c.cme(at::cme::kSimNotInserted);
           c.line(m.settings().identity.imsi);
           c.ok();
         }});
  t.add({"+CIMI", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QCCID", Form::Execute, {}, [&m](Call& c) {
           if (!sim_ready(m)) return c.cme(at::cme::kSimNotInserted);
           c.line("+QCCID: " + m.settings().identity.iccid);
           c.ok();
         }});
  t.add({"+QCCID", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+CPIN", Form::Read, {}, [&m](Call& c) {
           if (!sim_ready(m)) return c.cme(at::cme::kSimNotInserted);
           c.line("+CPIN: READY");
           c.ok();
         }});
  t.add({"+CPIN", Form::Test, {}, [](Call& c) { c.ok(); }});
}

}  // namespace bg95::services
