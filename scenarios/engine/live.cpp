#include "scenarios/engine/live.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "sim/options.hpp"

namespace bg95::scenario {

LiveScenario::LiveScenario(Scenario scenario, boost::asio::any_io_executor executor,
                           const std::filesystem::path& work_dir)
    : s_(std::move(scenario)), setup_(s_, executor, work_dir, /*lwm2m_peer=*/false) {}

LiveScenario::~LiveScenario() {
  for (auto& a : attached_)
    a.host->remove_tap(a.rules.get());
}

void LiveScenario::attach(ModuleHost& host, Transcript* transcript, const std::string& name,
                          unsigned module_number, std::function<void(const std::string&)> say) {
  RuleEngine::Hooks hooks;
  hooks.event = [transcript, say](std::string_view kind, std::string_view text) {
    if (transcript) transcript->event(kind, text);
    if (say && (kind == "rule" || kind == "log")) say(std::string(text));
  };
  hooks.verdict = [this, transcript, say, name](bool pass, const std::string& reason) {
    const std::string line =
        fmt::format("scenario {}{}: verdict {}{}", s_.name, name, pass ? "pass" : "fail",
                    reason.empty() ? "" : ": " + reason);
    if (transcript) transcript->event("verdict", line);
    if (say) say(line);
  };
  hooks.server_faults = [this, say](const YAML::Node& faults) {
    try {
      setup_.set_server_faults(faults);
    } catch (const std::exception& e) {
      if (say) say(std::string("server faults: ") + e.what());
    }
  };
  hooks.substitute = [this](const std::string& t) { return setup_.substitute(t); };
  auto rules = std::make_unique<RuleEngine>(host.module(), rules_for(s_.rules, module_number),
                                            std::move(hooks));
  host.add_tap(rules.get());
  attached_.push_back({&host, std::move(rules)});
}

std::vector<std::string> LiveScenario::addresses() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : setup_.vars())
    if ((key.starts_with("server.") && !key.ends_with(".port")) || key.starts_with("package."))
      out.push_back(fmt::format("${{{}}} = {}", key, value));
  return out;
}

void LiveScenario::start() {
  for (auto& a : attached_)
    a.rules->start();
}

std::string session_scenario(const ModuleConfig& c, bool usb_port) {
  YAML::Emitter out;
  auto duration = [](std::chrono::milliseconds d) { return fmt::format("{}ms", d.count()); };
  std::string_view reg = "home";
  for (const auto& [name, stat] : kRegNames)
    if (stat == c.network.status) reg = name;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "session";
  out << YAML::Key << "description" << YAML::Value
      << "a bg95sim session as recorded by --transcript";
  out << YAML::Key << "module" << YAML::Value << YAML::BeginMap;
  if (!c.model.empty()) out << YAML::Key << "model" << YAML::Value << c.model;
  out << YAML::Key << "usb_port" << YAML::Value << usb_port;
  out << YAML::Key << "network" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key << "reg"
      << YAML::Value << std::string(reg) << YAML::Key << "csq" << YAML::Value << c.network.csq_rssi
      << YAML::Key << "rat" << YAML::Value << (c.network.rat == Rat::NbIot ? "nbiot" : "emtc")
      << YAML::Key << "operator" << YAML::Value << c.network.operator_name << YAML::Key << "plmn"
      << YAML::Value << c.network.plmn;
  if (!c.network.accepted_apn.empty())
    out << YAML::Key << "accepted_apn" << YAML::Value << c.network.accepted_apn;
  out << YAML::EndMap;
  out << YAML::Key << "timing" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
      << "profile" << YAML::Value
      << (c.timing.profile == Timing::Profile::Realistic ? "realistic" : "fast") << YAML::Key
      << "scale" << YAML::Value << c.timing.scale << YAML::Key << "download_timeout" << YAML::Value
      << duration(c.download_idle_timeout) << YAML::Key << "guard_time" << YAML::Value
      << duration(c.guard_time) << YAML::EndMap;
  out << YAML::Key << "dialect" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (const auto& o : options::dialect_options()) {
    out << YAML::Key << std::string(o.key) << YAML::Value;
    if (o.kind == options::Kind::Number)
      out << c.dialect.*o.number;
    else
      out << c.dialect.*o.flag;
  }
  out << YAML::EndMap;
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace bg95::scenario
