// The commands host drivers send at init that configure or report the module rather than
// move data: hook and answer (ATH, ATA, ATD), ATS0, AT+GCAP, flow control and framing (AT&K,
// AT+IFC, AT+ICF), time (AT+CTZR, AT+CTZU, AT+CCLK, AT+QLTS), supply and temperature
// (AT+CBC, AT+QTEMP), AT+QPOWD, AT+QCFG, AT+QURCCFG, AT+QENG, AT+QSPN, AT+CSUB, the SMS
// set-up commands (AT+CMGF, AT+CNMI, AT+CPMS, AT+CSMS, AT+CSCA) and AT+CLAC. Formats and the
// public source of each: docs/at-commands.md.

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <map>

#include "protocol/at/result_codes.hpp"
#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/ppp/ppp_service.hpp"
#include "sim/services/handler_names.hpp"
#include "sim/services/services.hpp"
#include "sim/urc.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

// A command that takes 0/1.. and reads back "+NAME: <n>" from a field of the module.
void add_setting(at::CommandTable& t, const char* name, const char* range, std::int64_t min,
                 std::int64_t max, std::function<int&(Module&)> field, Module& m) {
  const std::string prefix = name;
  t.add({name, Form::Test, {}, [prefix, range](Call& c) {
           c.line(prefix + ": " + range);
           c.ok();
         }});
  t.add({name, Form::Read, {}, [prefix, field, &m](Call& c) {
           c.line(fmt::format("{}: {}", prefix, field(m)));
           c.ok();
         }});
  t.add({name, Form::Write, {integer(min, max)}, [field, &m](Call& c) {
           field(m) = static_cast<int>(c.args().integer(0));
           c.ok();
         }});
}

// ---- AT+QCFG ------------------------------------------------------------------------------
//
// One row per setting: its default (the text the read form prints after the name), how many
// values a write takes (the rest: the optional <effect> the BG95 QCFG manual gives for the
// network settings), and what each value may be. Values are kept as the read form prints
// them, in settings.json (the module keeps them in NV).
struct QcfgValue {
  enum class Kind { Int, Quoted, Hex, Digits } kind;
  std::int64_t min = 0, max = 0;          // Int
  std::vector<std::string> choices = {};  // Quoted
  std::vector<std::int64_t> gaps = {};    // Int: values within min..max that are not allowed
};
struct QcfgRow {
  const char* name;
  const char* defaults;
  std::vector<QcfgValue> values;
  std::size_t required;  // values a write must give
  bool effect;           // a trailing <effect> 0/1 is accepted
};

// An integer from min to max, but for the values in `gaps` (nwscanmode is (0,1,3)).
QcfgValue num(std::int64_t min, std::int64_t max, std::vector<std::int64_t> gaps = {}) {
  return {QcfgValue::Kind::Int, min, max, {}, std::move(gaps)};
}
QcfgValue word(std::vector<std::string> choices) {
  return {QcfgValue::Kind::Quoted, 0, 0, std::move(choices)};
}

// Ranges from the AT+QCFG=? answer of a real BG95-M3 (BG95M3LAR02A03_01.011.01.011, public
// capture in lukejenkins/cellular quectel/bg95m3/outputs/); defaults: see docs/at-commands.md.
const std::vector<QcfgRow>& qcfg_rows() {
  static const std::vector<QcfgRow> rows = {
      {"nwscanmode", "0", {num(0, 3, {2})}, 1, true},
      {"nwscanseq", "020301", {{QcfgValue::Kind::Digits}}, 1, true},
      {"servicedomain", "2", {num(1, 2)}, 1, true},
      {"iotopmode", "2", {num(0, 2)}, 1, true},
      {"band",
       "0xf,0x100002000000000f0e189f,0x10004200000000090e189f",
       {{QcfgValue::Kind::Hex}, {QcfgValue::Kind::Hex}, {QcfgValue::Kind::Hex}},
       3,
       true},
      {"urc/ri/ring",
       "\"pulse\",120,1000,5000,\"off\",1",
       {word({"off", "pulse", "always", "auto", "wave"}), num(1, 2000), num(1, 10000),
        num(1, 10000), word({"off", "on"}), num(1, 5)},
       1,
       false},
      {"urc/ri/smsincoming",
       "\"pulse\",120,1",
       {word({"off", "pulse", "always"}), num(1, 2000), num(1, 5)},
       1,
       false},
      {"urc/ri/other",
       "\"pulse\",120,1",
       {word({"off", "pulse"}), num(1, 2000), num(1, 5)},
       1,
       false},
      {"risignaltype", "\"respective\"", {word({"respective", "physical"})}, 1, false},
      {"urc/delay", "0", {num(0, 1)}, 1, false},
      {"psm/enter", "0", {num(0, 1)}, 1, false},
      {"psm/urc", "0", {num(0, 1)}, 1, false},
      {"apready", "0,1,500", {num(0, 1), num(0, 1), num(100, 3000)}, 3, false},
      {"ledmode", "0", {num(0, 3)}, 1, false},
      {"airplanecontrol", "0", {num(0, 1)}, 1, false},
      {"cmux/urcport", "0", {num(0, 4)}, 1, false},
  };
  return rows;
}

const QcfgRow* find_qcfg(const std::string& given) {
  const std::string name = util::ascii_lower(given);
  for (const auto& r : qcfg_rows())
    if (name == r.name) return &r;
  return nullptr;
}

// A written value as the read form prints it; nullopt when it does not fit.
std::optional<std::string> qcfg_value(const QcfgValue& v, const at::RawArgument& a) {
  switch (v.kind) {
    case QcfgValue::Kind::Int: {
      const auto n = at::parse_integer(a.text);
      if (a.quoted || !n || *n < v.min || *n > v.max) return std::nullopt;
      if (std::find(v.gaps.begin(), v.gaps.end(), *n) != v.gaps.end()) return std::nullopt;
      return std::to_string(*n);
    }
    case QcfgValue::Kind::Quoted: {
      std::string s = util::ascii_lower(a.text);
      if (std::find(v.choices.begin(), v.choices.end(), s) == v.choices.end()) return std::nullopt;
      return "\"" + s + "\"";
    }
    case QcfgValue::Kind::Hex: {
      std::string s = util::ascii_lower(a.text);
      if (s.starts_with("0x")) s.erase(0, 2);
      if (s.empty() || s.size() > 32 ||
          s.find_first_not_of("0123456789abcdef") != std::string::npos)
        return std::nullopt;
      s.erase(0, std::min(s.find_first_not_of('0'), s.size() - 1));
      return "0x" + s;
    }
    case QcfgValue::Kind::Digits: {
      // <scanseq>: pairs of 00 (automatic), 01 GSM, 02 eMTC, 03 NB-IoT; printed unquoted.
      const std::string& s = a.text;
      if (s.empty() || s.size() > 6 || s.size() % 2 != 0) return std::nullopt;
      for (std::size_t i = 0; i < s.size(); i += 2)
        if (s[i] != '0' || s[i + 1] < '0' || s[i + 1] > '3') return std::nullopt;
      return s;
    }
  }
  return std::nullopt;
}

void add_qcfg(at::CommandTable& t, Module& m) {
  t.add({"+QCFG", Form::Test, {}, [](Call& c) {
           // The real BG95-M3's list (see qcfg_rows), for the settings modelled here.
           c.line("+QCFG: \"nwscanmode\",(0,1,3),(0,1)");
           c.line("+QCFG: \"servicedomain\",(1,2),(0,1)");
           c.line("+QCFG: \"nwscanseq\",(00-010203),(0,1)");
           c.line(
               "+QCFG: \"band\",(0-F),(0-0x100002000000000F0E189F),(0-0x10004200000000090E189F),"
               "(0,1)");
           c.line("+QCFG: \"iotopmode\",(0-2),(0,1)");
           c.line(
               "+QCFG: \"urc/ri/ring\",(\"off\",\"pulse\",\"always\",\"auto\",\"wave\"),(1-2000),"
               "(1-10000),(1-10000),(\"off\",\"on\"),(1-5)");
           c.line("+QCFG: \"urc/ri/smsincoming\",(\"off\",\"pulse\",\"always\"),(1-2000),(1-5)");
           c.line("+QCFG: \"urc/ri/other\",(\"off\",\"pulse\"),(1-2000),(1-5)");
           c.line("+QCFG: \"risignaltype\",(\"respective\",\"physical\")");
           c.line("+QCFG: \"urc/delay\",(0,1)");
           c.line("+QCFG: \"ledmode\",(0,1,3)");
           c.line("+QCFG: \"airplanecontrol\",(0,1)");
           c.line("+QCFG: \"cmux/urcport\",(0-4)");
           c.line("+QCFG: \"apready\",(0,1),(0,1),(100-3000)");
           c.line("+QCFG: \"psm/enter\",(0,1)");
           c.line("+QCFG: \"psm/urc\",(0,1)");
           c.ok();
         }});
  // AT+QCFG="<name>"[,<value>...]: the name alone reads; values write.
  t.add({"+QCFG",
         Form::Write,
         {at::quoted(32), optional(at::any()), optional(at::any()), optional(at::any()),
          optional(at::any()), optional(at::any()), optional(at::any()), optional(at::any())},
         [&m](Call& c) {
           const QcfgRow* row = find_qcfg(c.args().str(0));
           if (!row) return c.error();  // a setting the module does not have
           auto& kept = m.settings().qcfg;
           const auto it = kept.find(row->name);
           const std::string current = it == kept.end() ? row->defaults : it->second;
           const auto& raw = c.raw_arguments();
           if (raw.size() == 1) {
             c.line(fmt::format("+QCFG: \"{}\",{}", row->name, current));
             return c.ok();
           }
           // Values given replace the current ones from the left; the rest stay.
           std::vector<std::string> values;
           {
             const at::CommandLine parsed = at::parse_command_line("+X=" + current);
             for (const auto& a : parsed.commands.at(0).args)
               values.push_back(a.quoted ? "\"" + a.text + "\"" : a.text);
           }
           const std::size_t given = raw.size() - 1;
           const std::size_t max = row->values.size() + (row->effect ? 1 : 0);
           if (given < row->required || given > max) return c.error();
           for (std::size_t i = 0; i < given && i < row->values.size(); ++i) {
             if (!raw[i + 1].present) continue;
             const auto v = qcfg_value(row->values[i], raw[i + 1]);
             if (!v) return c.error();
             values.at(i) = *v;
           }
           if (given > row->values.size()) {  // <effect>
             const auto e = at::parse_integer(raw.back().text);
             if (!e || *e < 0 || *e > 1) return c.error();
           }
           std::string text;
           for (const auto& v : values)
             text += (text.empty() ? "" : ",") + v;
           kept[row->name] = text;
           if (!m.try_save_settings()) return c.cme(at::cme::kMemoryFailure);
           c.ok();
         }});
}

// ---- time ------------------------------------------------------------------------------------

// "yy/MM/dd,hh:mm:ss±zz" → UTC and the zone; nullopt when it is not that.
std::optional<std::pair<std::chrono::system_clock::time_point, int>> parse_cclk(
    const std::string& s) {
  int yy, mo, dd, hh, mi, ss, tz = 0;
  char sign = '+';
  if (s.size() != 17 && s.size() != 20) return std::nullopt;
  const int n = std::sscanf(s.c_str(), "%2d/%2d/%2d,%2d:%2d:%2d%c%2d", &yy, &mo, &dd, &hh, &mi, &ss,
                            &sign, &tz);
  if (n != 6 && n != 8) return std::nullopt;
  if (n == 8 && ((sign != '+' && sign != '-') || tz > 96)) return std::nullopt;
  if (mo < 1 || mo > 12 || dd < 1 || dd > 31 || hh > 23 || mi > 59 || ss > 59 || yy < 0)
    return std::nullopt;
  const int zone = sign == '-' ? -tz : tz;
  const std::chrono::year_month_day ymd{std::chrono::year{2000 + yy},
                                        std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(dd))};
  if (!ymd.ok()) return std::nullopt;
  const auto local = std::chrono::sys_days{ymd} + std::chrono::hours(hh) +
                     std::chrono::minutes(mi) + std::chrono::seconds(ss);
  return std::make_pair(local - std::chrono::minutes(15 * zone), zone);
}

void add_time(at::CommandTable& t, Module& m) {
  add_setting(
      t, "+CTZR", "(0-2)", 0, 2, [](Module& mm) -> int& { return mm.volatile_settings().ctzr; }, m);
  // AT+CTZU: kept in NV; 1 (default here) lets network time set the clock.
  t.add({"+CTZU", Form::Test, {}, [](Call& c) { c.line("+CTZU: (0,1)"), c.ok(); }});
  t.add({"+CTZU", Form::Read, {}, [&m](Call& c) {
           const auto it = m.settings().at_nv.find("+CTZU");
           c.line("+CTZU: " + (it == m.settings().at_nv.end() ? std::string("1") : it->second));
           c.ok();
         }});
  t.add({"+CTZU", Form::Write, {integer(0, 1)}, [&m](Call& c) {
           m.settings().at_nv["+CTZU"] = std::to_string(c.args().integer(0));
           return m.try_save_settings() ? c.ok() : c.cme(at::cme::kMemoryFailure);
         }});

  t.add({"+CCLK", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+CCLK", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+CCLK: \"{}\"",
                              urc::cclk_time(m.rtc_now(), m.volatile_settings().rtc_tz)));
           c.ok();
         }});
  t.add({"+CCLK", Form::Write, {at::quoted(20)}, [&m](Call& c) {
           const auto t0 = parse_cclk(c.args().str(0));
           if (!t0) return c.cme(at::cme::kIncorrectParameters);
           m.set_rtc(t0->first, t0->second);
           c.ok();
         }});

  // AT+QLTS[=<mode>]: 0 the last network time, 1 UTC from the clock, 2 local time.
  t.add({"+QLTS", Form::Test, {}, [](Call& c) { c.line("+QLTS: (0-2)"), c.ok(); }});
  auto qlts = [&m](Call& c, std::int64_t mode) {
    const auto& v = m.volatile_settings();
    if (mode == 0) {
      c.line(v.nitz ? fmt::format("+QLTS: \"{}\"", urc::qlts_time(*v.nitz, 0, 0)) : "+QLTS: \"\"");
    } else {
      c.line(
          fmt::format("+QLTS: \"{}\"", urc::qlts_time(m.rtc_now(), mode == 1 ? 0 : v.rtc_tz, 0)));
    }
    c.ok();
  };
  t.add({"+QLTS", Form::Execute, {}, [qlts](Call& c) { qlts(c, 0); }});
  t.add({"+QLTS", Form::Write, {integer(0, 2)}, [qlts](Call& c) { qlts(c, c.args().integer(0)); }});
}

// ---- the serving cell --------------------------------------------------------------------

void add_cell_info(at::CommandTable& t, Module& m) {
  // AT+QENG="servingcell" (BG95 line of real captures, e.g.
  // +QENG: "servingcell","NOCONN","eMTC","FDD",274,02,44F5C,267,3600,8,3,3,8,-80,-12,-53,11,47).
  t.add({"+QENG", Form::Test, {}, [](Call& c) {
           c.line("+QENG: (\"servingcell\",\"neighbourcell\")");
           c.ok();
         }});
  t.add({"+QENG", Form::Write, {at::quoted(16)}, [&m](Call& c) {
           std::string what = util::ascii_lower(c.args().str(0));
           const NetworkState net = m.network().view();
           if (what == "neighbourcell") return c.ok();  // no neighbours modelled
           if (what != "servingcell") return c.cme(at::cme::kIncorrectParameters);
           if (!net.registered()) {
             c.line("+QENG: \"servingcell\",\"SEARCH\"");
             return c.ok();
           }
           const std::string mcc = net.plmn.substr(0, 3);
           const std::string mnc = net.plmn.substr(3);
           const int rssi = -113 + 2 * net.csq_rssi;
           c.line(fmt::format(
               "+QENG: "
               "\"servingcell\",\"NOCONN\",\"{}\",\"FDD\",{},{},{},{},{},{},3,3,{},{},{},{},{},{}",
               rat_name(net.rat), mcc, mnc, net.cell_id, net.pcid, net.earfcn, net.band, net.tac,
               net.rsrp, net.rsrq, rssi, net.sinr / 10, net.srxlev));
           c.ok();
         }});
  // AT+QSPN: +QSPN: <FNN>,<SNN>,<SPN>,<alphabet>,<RPLMN>
  t.add({"+QSPN", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QSPN", Form::Execute, {}, [&m](Call& c) {
           const NetworkState net = m.network().view();
           if (!net.registered()) {
             c.line("+QSPN: \"\",\"\",\"\",0,\"\"");
             return c.ok();
           }
           const std::string short_name = net.operator_name.substr(0, net.operator_name.find(' '));
           c.line(fmt::format("+QSPN: \"{}\",\"{}\",\"\",0,\"{}\"", net.operator_name, short_name,
                              net.plmn));
           c.ok();
         }});
}

// ---- SMS set-up (27.005): stored, no SMS traffic ------------------------------------------

void add_sms(at::CommandTable& t, Module& m) {
  add_setting(
      t, "+CMGF", "(0,1)", 0, 1, [](Module& mm) -> int& { return mm.volatile_settings().cmgf; }, m);
  t.add({"+CNMI", Form::Test, {}, [](Call& c) {
           c.line("+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)");
           c.ok();
         }});
  t.add({"+CNMI", Form::Read, {}, [&m](Call& c) {
           c.line("+CNMI: " + m.volatile_settings().cnmi);
           c.ok();
         }});
  t.add({"+CNMI",
         Form::Write,
         {integer(0, 2), optional(integer(0, 3)), optional(integer(0, 2)), optional(integer(0, 2)),
          optional(integer(0, 1))},
         [&m](Call& c) {
           const auto& a = c.args();
           // Absent values keep the current ones.
           const at::CommandLine cur = at::parse_command_line("+X=" + m.volatile_settings().cnmi);
           std::string text;
           for (std::size_t i = 0; i < 5; ++i) {
             const std::string v =
                 a.has(i) ? std::to_string(a.integer(i)) : cur.commands.at(0).args.at(i).text;
             text += (i ? "," : "") + v;
           }
           m.volatile_settings().cnmi = text;
           c.ok();
         }});
  // AT+CPMS: the module's own storage "ME" and the SIM's "SM", none holding a message.
  auto storage_counts = [](const std::string& mems) {
    std::string out;
    const at::CommandLine parsed = at::parse_command_line("+X=" + mems);
    for (const auto& a : parsed.commands.at(0).args)
      out +=
          fmt::format("{}\"{}\",0,{}", out.empty() ? "" : ",", a.text, a.text == "SM" ? 50 : 255);
    return out;
  };
  t.add({"+CPMS", Form::Test, {}, [](Call& c) {
           c.line("+CPMS: (\"SM\",\"ME\",\"MT\"),(\"SM\",\"ME\",\"MT\"),(\"SM\",\"ME\",\"MT\")");
           c.ok();
         }});
  t.add({"+CPMS", Form::Read, {}, [&m, storage_counts](Call& c) {
           c.line("+CPMS: " + storage_counts(m.volatile_settings().cpms));
           c.ok();
         }});
  t.add({"+CPMS",
         Form::Write,
         {at::quoted(2), optional(at::quoted(2)), optional(at::quoted(2))},
         [&m](Call& c) {
           const auto& a = c.args();
           std::string mems, counts;
           for (std::size_t i = 0; i < 3; ++i) {
             std::string mem = util::ascii_upper(a.has(i) ? a.str(i) : a.str(0));
             if (mem != "SM" && mem != "ME" && mem != "MT")
               return c.cme(at::cme::kIncorrectParameters);
             mems += fmt::format("{}\"{}\"", i ? "," : "", mem);
             counts += fmt::format("{}0,{}", i ? "," : "", mem == "SM" ? 50 : 255);
           }
           m.volatile_settings().cpms = mems;
           c.line("+CPMS: " + counts);  // the write form gives used,total without names
           c.ok();
         }});
  t.add({"+CSMS", Form::Test, {}, [](Call& c) { c.line("+CSMS: (0,1)"), c.ok(); }});
  t.add({"+CSMS", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+CSMS: {},1,1,1", m.volatile_settings().csms));
           c.ok();
         }});
  t.add({"+CSMS", Form::Write, {integer(0, 1)}, [&m](Call& c) {
           m.volatile_settings().csms = static_cast<int>(c.args().integer(0));
           c.line("+CSMS: 1,1,1");
           c.ok();
         }});
  t.add({"+CSCA", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+CSCA", Form::Read, {}, [&m](Call& c) {
           c.line("+CSCA: " + m.volatile_settings().csca);
           c.ok();
         }});
  t.add({"+CSCA", Form::Write, {at::quoted(20), optional(integer(0, 255))}, [&m](Call& c) {
           const std::string sca = c.args().str(0);
           if (sca.find_first_not_of("+0123456789") != std::string::npos)
             return c.cme(at::cme::kIncorrectParameters);
           const auto tosca = c.args().integer(1, sca.starts_with('+') ? 145 : 129);
           m.volatile_settings().csca = fmt::format("\"{}\",{}", sca, tosca);
           c.ok();
         }});
}

}  // namespace

void add_housekeeping_commands(at::CommandTable& t, Module& m) {
  // No voice calls: ATH hangs up a PPP link left in command mode, if any; ATA has nothing to
  // answer. The dial, ATD, is the PPP service's (ppp_commands.cpp).
  t.add({"H",
         Form::Execute,
         {},
         [&m](Call& c) { m.ppp().hang_up(c), c.ok(); },
         at::Outcome::error()});
  t.add({"H",
         Form::Write,
         {integer(0, 0)},
         [&m](Call& c) { m.ppp().hang_up(c), c.ok(); },
         at::Outcome::error()});
  t.add({"A",
         Form::Execute,
         {},
         [](Call& c) {
           c.finish({at::Outcome::Kind::NoCarrier, 0});
         },
         at::Outcome::error()});
  // ATS0: rings before the module answers by itself (no calls come; kept per boot).
  t.add({"S0",
         Form::Read,
         {},
         [&m](Call& c) {
           c.line(fmt::format("{:03d}", m.volatile_settings().s0));
           c.ok();
         },
         at::Outcome::error()});
  t.add({"S0",
         Form::Write,
         {integer(0, 255)},
         [&m](Call& c) {
           m.volatile_settings().s0 = static_cast<int>(c.args().integer(0));
           c.ok();
         },
         at::Outcome::error()});

  t.add({"+GCAP", Form::Execute, {}, [](Call& c) { c.line("+GCAP: +CGSM"), c.ok(); }});
  t.add({"+GCAP", Form::Test, {}, [](Call& c) { c.ok(); }});
  // AT&K0 no flow control, AT&K3 RTS/CTS (a pty has no handshake lines: stored only).
  t.add({"&K",
         Form::Execute,
         {},
         [&m](Call& c) { m.volatile_settings().flow_k = 0, c.ok(); },
         at::Outcome::error()});
  t.add({"&K",
         Form::Write,
         {integer(0, 4)},
         [&m](Call& c) {
           const auto k = c.args().integer(0);
           if (k != 0 && k != 3) return c.error();
           m.volatile_settings().flow_k = static_cast<int>(k);
           c.ok();
         },
         at::Outcome::error()});
  t.add({"+IFC", Form::Test, {}, [](Call& c) { c.line("+IFC: (0,2),(0,2)"), c.ok(); }});
  t.add({"+IFC", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+IFC: {},{}", m.volatile_settings().ifc_by_te,
                              m.volatile_settings().ifc_by_ta));
           c.ok();
         }});
  t.add({"+IFC", Form::Write, {integer(0, 2), optional(integer(0, 2))}, [&m](Call& c) {
           const auto te = c.args().integer(0), ta = c.args().integer(1, 0);
           if (te == 1 || ta == 1) return c.cme(at::cme::kIncorrectParameters);
           m.volatile_settings().ifc_by_te = static_cast<int>(te);
           m.volatile_settings().ifc_by_ta = static_cast<int>(ta);
           c.ok();
         }});
  t.add({"+ICF", Form::Test, {}, [](Call& c) { c.line("+ICF: (1-6),(0-3)"), c.ok(); }});
  t.add({"+ICF", Form::Read, {}, [&m](Call& c) {
           c.line(fmt::format("+ICF: {},{}", m.volatile_settings().icf_format,
                              m.volatile_settings().icf_parity));
           c.ok();
         }});
  t.add({"+ICF", Form::Write, {integer(1, 6), optional(integer(0, 3))}, [&m](Call& c) {
           m.volatile_settings().icf_format = static_cast<int>(c.args().integer(0));
           m.volatile_settings().icf_parity = static_cast<int>(c.args().integer(1, 3));
           c.ok();
         }});

  add_time(t, m);

  // Supply and temperature of the modelled board: a 3.8 V supply, room temperature.
  t.add(
      {"+CBC", Form::Test, {}, [](Call& c) { c.line("+CBC: (0-2),(0-100),(3300-4300)"), c.ok(); }});
  t.add({"+CBC", Form::Execute, {}, [](Call& c) { c.line("+CBC: 0,75,3800"), c.ok(); }});
  t.add({"+QTEMP", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+QTEMP", Form::Execute, {}, [](Call& c) { c.line("+QTEMP: 31,30,32"), c.ok(); }});

  // AT+QPOWD[=<n>]: OK, then POWERED DOWN, then nothing until the module is powered on.
  auto qpowd = [&m](Call& c) {
    c.ok();
    boost::asio::post(m.executor(), [&m] { m.power_down_by_command(); });
  };
  t.add({"+QPOWD", Form::Test, {}, [](Call& c) { c.line("+QPOWD: (0,1)"), c.ok(); }});
  t.add({"+QPOWD", Form::Execute, {}, qpowd});
  t.add({"+QPOWD", Form::Write, {integer(0, 1)}, qpowd});

  add_qcfg(t, m);

  // AT+QURCCFG="urcport"[,<port>]: kept in NV (URCs still go to every port; docs).
  t.add({"+QURCCFG", Form::Test, {}, [](Call& c) {
           c.line("+QURCCFG: \"urcport\",(\"usbat\",\"usbmodem\",\"uart1\")");
           c.ok();
         }});
  t.add({"+QURCCFG", Form::Write, {at::quoted(16), optional(at::quoted(16))}, [&m](Call& c) {
           std::string what = util::ascii_lower(c.args().str(0));
           if (what != "urcport") return c.error();
           auto& nv = m.settings().at_nv;
           if (!c.args().has(1)) {
             const auto it = nv.find("+QURCCFG");
             c.line(fmt::format("+QURCCFG: \"urcport\",\"{}\"",
                                it == nv.end() ? std::string("uart1") : it->second));
             return c.ok();
           }
           std::string port = util::ascii_lower(c.args().str(1));
           if (port != "usbat" && port != "usbmodem" && port != "uart1") return c.error();
           nv["+QURCCFG"] = port;
           return m.try_save_settings() ? c.ok() : c.cme(at::cme::kMemoryFailure);
         }});

  add_cell_info(t, m);
  t.add({"+CSUB", Form::Execute, {}, [](Call& c) { c.line("SubEdition: V01"), c.ok(); }});
  t.add({"+CSUB", Form::Test, {}, [](Call& c) { c.ok(); }});
  add_sms(t, m);
}

void add_clac_command(at::CommandTable& t) {
  t.add({"+CLAC", Form::Test, {}, [](Call& c) { c.ok(); }});
  t.add({"+CLAC", Form::Execute, {}, [&t](Call& c) {
           // Every command of the table, as a host types it.
           for (const auto& name : t.names())
             c.line("AT" + name);
           c.ok();
         }});
}

}  // namespace bg95::services
