// Scenario pieces in words (for transcripts and reports), and which occurrences fire a rule.

#include <algorithm>
#include <iterator>
#include <regex>

#include <fmt/format.h>

#include "scenarios/engine/scenario.hpp"
#include "sim/transcript.hpp"

namespace bg95::scenario {

Pattern literal(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return Pattern{text, std::regex(std::regex_replace(text, special, R"(\$&)"))};
}

bool Count::fires(std::uint64_t occurrence) const {
  switch (kind) {
    case Kind::First:
      return occurrence == 1;
    case Kind::Every:
      return n <= 1 || occurrence % n == 0;
    case Kind::Nth:
      return occurrence == n;
    case Kind::Times:
      return occurrence <= n;
  }
  return false;
}

bool Count::done_after(std::uint64_t occurrence) const {
  switch (kind) {
    case Kind::First:
      return occurrence >= 1;
    case Kind::Every:
      return false;
    case Kind::Nth:
    case Kind::Times:
      return occurrence >= n;
  }
  return true;
}

std::string Trigger::describe() const {
  const std::string on_port = port.empty() ? "" : " on " + port;
  switch (kind) {
    case Kind::Time:
      return fmt::format("at {} ms", at.count());
    case Kind::Command:
      return fmt::format("command /{}/{}", pattern->text, on_port);
    case Kind::Urc:
      return fmt::format("URC /{}/", pattern->text);
    case Kind::DownloadPercent:
      return fmt::format("download {} %", value);
    case Kind::DownloadBytes:
      return fmt::format("download {} bytes", value);
    case Kind::UpdatePercent:
      return fmt::format("{} {} %", phase, value);
    case Kind::FlashWrite:
      return fmt::format("flash write {}", value);
    case Kind::HostOpen:
      return "host opens the port" + on_port;
    case Kind::HostClose:
      return "host closes the port" + on_port;
    case Kind::Power:
      return fmt::format("power: {}", power_event_name(*power));
  }
  return "?";
}

bool Rule::applies_to(unsigned module_number) const {
  if (modules.empty()) return true;
  return std::any_of(modules.begin(), modules.end(), [module_number](const ModuleRange& r) {
    return module_number >= r.first && module_number <= r.last;
  });
}

std::vector<Rule> rules_for(const std::vector<Rule>& rules, unsigned module_number) {
  std::vector<Rule> out;
  std::copy_if(rules.begin(), rules.end(), std::back_inserter(out),
               [module_number](const Rule& r) { return r.applies_to(module_number); });
  return out;
}

namespace {

// "power_cut", "dtr low", "link_throttle 131072 B/s", "network reg=2 csq=5".
std::string describe_faults(const std::vector<faults::Call>& calls) {
  if (calls.empty()) return "?";
  const faults::Fault& first = *calls.front().fault;
  if (!first.group().empty()) {
    std::string s(first.group());
    for (const auto& c : calls)
      s += fmt::format(" {}={}", c.fault->key(), faults::show(*c.fault, c.value));
    return s;
  }
  std::string s(first.name);
  if (first.param.type != faults::Type::None && calls.front().value.given)
    s += " " + fmt::format(fmt::runtime(first.shown), faults::show(first, calls.front().value));
  return s;
}

}  // namespace

std::string Action::describe() const {
  std::string s;
  switch (kind) {
    case Kind::Fault:
      s = describe_faults(faults);
      break;
    case Kind::Respond:
      s = "respond";
      break;
    case Kind::RespondRaw:
      s = "respond_raw";
      break;
    case Kind::Delay:
      s = fmt::format("delay {} ms", duration ? duration->count() : 0);
      break;
    case Kind::Urc:
      s = "urc " + text;
      break;
    case Kind::Server:
      s = fmt::format("server faults ({})", server.size());
      break;
    case Kind::Log:
      s = "log " + text;
      break;
    case Kind::Verdict:
      s = std::string("verdict ") + (pass ? "pass" : "fail") + (text.empty() ? "" : ": " + text);
      break;
  }
  if (after.count() > 0) s += fmt::format(" after {} ms", after.count());
  return s;
}

std::string HostStep::describe() const {
  switch (kind) {
    case Kind::Send:
      return package ? "send package " + *package : "send \"" + Transcript::escape(text) + "\"";
    case Kind::Expect:
      return "expect \"" + Transcript::escape(pattern->text) + "\"";
    case Kind::ExpectNot:
      return "expect_not \"" + Transcript::escape(pattern->text) + "\"";
    case Kind::Pause:
      return fmt::format("pause {} ms", duration.count());
    case Kind::Open:
      return "open " + port;
    case Kind::Close:
      return "close " + port;
    case Kind::Baud:
      return fmt::format("baud {}", baud);
    case Kind::Do: {
      std::string s = "do";
      for (const auto& a : actions)
        s += " " + a.describe();
      return s;
    }
    case Kind::Lwm2m:
      return "lwm2m " + op + " " + path;
  }
  return "?";
}

std::set<std::string> variable_names(const Scenario& s) {
  std::set<std::string> names{"module.model", "module.revision", "module.version", "module.imei"};
  for (const auto& p : s.packages) {
    const std::string at = "package." + p.name;
    names.insert({at + ".size", at + ".checksum"});
    if (p.kind == PackageSpec::Kind::Delta)
      names.insert({at + ".target_revision", at + ".target_version", at + ".source_version"});
  }
  // A listener the server: mapping names (with any port, 0 included) is there in every run.
  if (s.server && s.server->IsMap())
    for (const char* key : {"http", "https", "coap", "coaps"})
      if ((*s.server)[key])
        names.insert({std::string("server.") + key, std::string("server.") + key + ".port"});
  if (s.lwm2m_server) names.insert("lwm2m.uri");
  return names;
}

void check_variable_names(const Scenario& s) {
  static const std::regex var(R"(\$\{([A-Za-z0-9_.\-]+)\})");
  const std::set<std::string> known = variable_names(s);
  // `at`: "file:line: what", as the parser's own errors begin.
  auto check = [&](const std::string& text, const std::string& at) {
    for (auto it = std::sregex_iterator(text.begin(), text.end(), var);
         it != std::sregex_iterator(); ++it) {
      const std::string name = (*it)[1].str();
      if (known.contains(name)) continue;
      std::string list;
      for (const auto& k : known)
        list += (list.empty() ? "" : ", ") + k;
      throw ScenarioError(
          fmt::format("{}: ${{{}}} is not known in this scenario (known: {})", at, name, list));
    }
  };
  const std::string file = s.file.string();
  check(s.module.config.lwm2m.server, file + ": module.lwm2m.server");
  for (const auto& f : s.module.files)
    if (f.source == FileSpec::Source::Text) check(f.value, file + ": module.files " + f.name);
  for (const auto& r : s.rules)
    for (const auto& a : r.actions)
      check(a.text, fmt::format("{}:{}: rule \"{}\"", file, r.line, r.name));
  for (const auto& st : s.host.steps) {
    const std::string at = fmt::format("{}:{}: host step", file, st.line);
    check(st.text, at);
    check(st.value, at);
    if (st.pattern) check(st.pattern->text, at);
    for (const auto& a : st.actions)
      check(a.text, at);
  }
}

}  // namespace bg95::scenario
