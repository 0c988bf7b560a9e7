// Network: functionality level, signal, registration (with URC modes), operator, cell info.

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "protocol/at/result_codes.hpp"
#include "sim/module.hpp"
#include "sim/power_saving.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/urc.hpp"

namespace bg95::services {
namespace {

// +CREG / +CGREG / +CEREG share their forms; only the status they report and the highest
// <n> differ (27.007: +CREG has no PSM fields, so 0-3; +CGREG and +CEREG 0-5).
void add_registration(at::CommandTable& t, Module& m, const char* name, int Module::Volatile::*mode,
                      int max_mode, std::function<int(const NetworkState&)> status) {
  const std::string prefix = name;
  t.add({name, Form::Test, {}, [prefix, max_mode](Call& c) {
           c.line(fmt::format("{}: (0-{})", prefix, max_mode));
           c.ok();
         }});
  t.add({name, Form::Read, {}, [&m, prefix, mode, status](Call& c) {
           const NetworkState net = m.network().view();
           const int n = m.volatile_settings().*mode;
           const std::string urc =
               urc::registration(prefix, n, status(net), net, m.power_saving().granted());
           // The read form always leads with <n>.
           c.line(fmt::format("{}: {},{}", prefix, n, urc.substr(prefix.size() + 2)));
           c.ok();
         }});
  t.add({name, Form::Write, {integer(0, max_mode)}, [&m, mode](Call& c) {
           m.volatile_settings().*mode = static_cast<int>(c.args().integer(0));
           c.ok();
         }});
}

}  // namespace

void add_network_commands(at::CommandTable& t, Module& m) {
  t.add({"+CFUN", Form::Test, {}, [](Call& c) { c.line("+CFUN: (0,1,4),(0-1)"), c.ok(); }});
  t.add({"+CFUN", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+CFUN: {}", m.cfun()));
           c.ok();
         }});
  t.add({"+CFUN", Form::Write, {integer(0, 4), optional(integer(0, 1))}, [&m](Call& c) {
           const auto fun = static_cast<int>(c.args().integer(0));
           if (fun != 0 && fun != 1 && fun != 4) return c.cme(at::cme::kIncorrectParameters);
           const bool reset = c.args().integer(1) == 1;
           if (reset && fun != 1) return c.cme(at::cme::kIncorrectParameters);
           c.ok();
           if (reset) {
             // OK first, then the module restarts: post so the answer leaves before the reset.
             boost::asio::post(m.executor(), [&m] { m.reset(); });
             return;
           }
           const int before = m.cfun();
           m.set_cfun(fun);
           if (before == 0 && fun != 0) m.emit_urc("+CPIN: READY");
         }});

  t.add({"+CSQ", Form::Test, {}, [](Call& c) { c.line("+CSQ: (0-31,99),(0-7,99)"), c.ok(); }});
  t.add({"+CSQ", Form::Execute, {}, [&m](Call& c) {
           const NetworkState net = m.network().view();
           c.line(net.registered() ? fmt::format("+CSQ: {},99", net.csq_rssi) : "+CSQ: 99,99");
           c.ok();
         }});
  t.add({"+QCSQ", Form::Test, {}, [](Call& c) {
           c.line("+QCSQ: (\"NOSERVICE\",\"GSM\",\"eMTC\",\"NBIoT\")");
           c.ok();
         }});
  t.add({"+QCSQ", Form::Execute, {}, [&m](Call& c) {
           const NetworkState net = m.network().view();
           if (!net.registered()) {
             c.line("+QCSQ: \"NOSERVICE\"");
           } else {
             // <sysmode>,<rssi>,<rsrp>,<sinr>,<rsrq>; RSSI in dBm from the CSQ scale.
             c.line(fmt::format("+QCSQ: \"{}\",{},{},{},{}", rat_name(net.rat),
                                -113 + 2 * net.csq_rssi, net.rsrp, net.sinr, net.rsrq));
           }
           c.ok();
         }});

  add_registration(t, m, "+CREG", &Module::Volatile::creg_mode, 3,
                   [](const NetworkState& s) { return static_cast<int>(s.status); });
  add_registration(t, m, "+CGREG", &Module::Volatile::cgreg_mode, 5, gprs_status);
  add_registration(t, m, "+CEREG", &Module::Volatile::cereg_mode, 5,
                   [](const NetworkState& s) { return static_cast<int>(s.status); });

  t.add({"+COPS", Form::Test, {}, [&m](Call& c) {
           const NetworkState net = m.network().cell();
           c.line(fmt::format("+COPS: (2,\"{}\",\"{}\",\"{}\",{}),,(0-4),(0-2)", net.operator_name,
                              net.operator_name.substr(0, net.operator_name.find(' ')), net.plmn,
                              rat_act(net.rat)));
           c.ok();
         }});
  // The operator as AT+COPS=3,<format> asked: 0 long name, 1 short name, 2 numeric (27.007;
  // gammu asks for 2 and then 0).
  t.add({"+COPS", Form::Read, {}, [&m](Call& c) {
           const NetworkState net = m.network().view();
           const int format = m.volatile_settings().cops_format;
           const std::string name = format == 2 ? net.plmn
                                    : format == 1
                                        ? net.operator_name.substr(0, net.operator_name.find(' '))
                                        : net.operator_name;
           c.line(net.registered()
                      ? fmt::format("+COPS: 0,{},\"{}\",{}", format, name, rat_act(net.rat))
                      : "+COPS: 0");
           c.ok();
         }});
  t.add(
      {"+COPS",
       Form::Write,
       {integer(0, 4), optional(integer(0, 2)), optional(at::string(32)), optional(integer(0, 9))},
       [&m](Call& c) {
         // Registration stays automatic; the format is kept for the read form.
         if (c.args().has(1))
           m.volatile_settings().cops_format = static_cast<int>(c.args().integer(1));
         c.ok();
       }});

  t.add({"+QNWINFO", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QNWINFO", Form::Execute, {}, [&m](Call& c) {
           const NetworkState net = m.network().view();
           c.line(net.registered() ? fmt::format("+QNWINFO: \"{}\",\"{}\",\"LTE BAND {}\",{}",
                                                 rat_name(net.rat), net.plmn, net.band, net.earfcn)
                                   : "+QNWINFO: No Service");
           c.ok();
         }});
}

}  // namespace bg95::services
