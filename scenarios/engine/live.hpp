#pragma once
// A scenario at work inside bg95sim (`bg95sim --scenario FILE`): the module(s) get its set-up
// and its rules, its package server runs beside them, and a person or a host driver on the
// port is the host (the scenario's own host script is for bg95-scenario). Verdicts and fired
// rules are told through `say` and written to each module's transcript.
//
// Also: the scenario a plain session is recorded as (`bg95sim --transcript`), so that
// `bg95-scenario replay` can set the module up the same way again.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "scenarios/engine/rule_engine.hpp"
#include "scenarios/engine/scenario.hpp"
#include "scenarios/engine/setup.hpp"
#include "sim/module_host.hpp"
#include "sim/transcript.hpp"

namespace bg95::scenario {

class LiveScenario {
 public:
  LiveScenario(Scenario scenario, boost::asio::any_io_executor executor,
               const std::filesystem::path& work_dir);
  ~LiveScenario();

  const Scenario& scenario() const { return s_; }
  ScenarioSetup& setup() { return setup_; }
  // Before the module powers on: its settings and files (prepare), then the rules (attach;
  // told to `transcript` too when there is one). `name` tells modules of a fleet apart;
  // `module_number` (from 1) picks the rules whose `modules:` name it.
  void prepare(ModuleHost& host) { setup_.prepare_module(host.module()); }
  void attach(ModuleHost& host, Transcript* transcript, const std::string& name,
              unsigned module_number, std::function<void(const std::string&)> say);
  // "server.http http://127.0.0.1:41234" lines for the person at the port.
  std::vector<std::string> addresses() const;
  void start();  // time triggers count from now

 private:
  Scenario s_;
  ScenarioSetup setup_;
  struct Attached {
    ModuleHost* host;
    std::unique_ptr<RuleEngine> rules;
  };
  std::vector<Attached> attached_;
};

// A scenario file's text (module section only) that sets a module up as `config` does.
std::string session_scenario(const ModuleConfig& config, bool usb_port);

}  // namespace bg95::scenario
