#pragma once
// A scenario's rules at work on one module: it watches the module's events (as a
// ModuleObserver) and the host's opens and closes of the ports, counts each rule's trigger,
// and does the rule's actions when the count says so. Faults that must be decided on the spot
// — a flash write that fails, tears or loses power, a command answered differently or later —
// are returned from the observer hooks; every other action is posted to the module's
// executor (after its `after` delay), so no action runs inside the module's own call.

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "scenarios/engine/scenario.hpp"
#include "sim/module.hpp"
#include "sim/module_host.hpp"

namespace bg95::scenario {

class RuleEngine : public ModuleObserver, public PortTap {
 public:
  struct Hooks {
    // A line for the transcript: "rule \"cut\" fired (UPDATING 43 %): power_cut".
    std::function<void(std::string_view kind, std::string_view text)> event;
    // A verdict action: the scenario ends with this result.
    std::function<void(bool pass, const std::string& reason)> verdict;
    // A server action: the package server's faults become these.
    std::function<void(const YAML::Node& faults)> server_faults;
    // ${...} in texts (URCs, raw answers) resolved against the run.
    std::function<std::string(const std::string&)> substitute;
  };

  RuleEngine(Module& module, std::vector<Rule> rules, Hooks hooks);
  ~RuleEngine() override;
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  // The scenario starts now: time triggers count from here.
  void start();
  // Actions of the host script's `do:` steps; `why` names the step in the transcript.
  void run(const std::vector<Action>& actions, const std::string& why);

  // How often each rule has fired so far (for reports), in the rules' order.
  std::vector<std::uint64_t> fired_counts() const;

  // ---- ModuleObserver
  void on_power(PowerEvent event) override;
  void on_urc(std::string_view text) override;
  void on_download_progress(std::uint64_t received, std::optional<std::uint64_t> total) override;
  void on_update_progress(std::string_view phase, int percent) override;
  flash::Fault flash_fault(const flash::FlashOp& op, std::uint64_t index) override;
  std::optional<at::Interception> intercept(std::string_view port,
                                            std::string_view command) override;
  // ---- PortTap
  void host_opened(std::string_view port) override;
  void host_closed(std::string_view port) override;

 private:
  struct RuleState {
    Rule rule;
    std::uint64_t occurrences = 0;
    std::uint64_t fired = 0;
    bool done = false;
  };
  // Counts one occurrence of a rule's trigger; true when this one fires the rule.
  bool occur(RuleState& r);
  // Fires a rule: the transcript hears of it, and its actions run. Flash and command faults
  // with no delay are collected into the outputs instead of being posted.
  void fire(RuleState& r, const std::string& context, flash::Fault* flash = nullptr,
            std::optional<at::Interception>* interception = nullptr);
  void schedule(const Action& action, const std::string& why);
  void perform(const Action& action);
  void perform_faults(const std::vector<faults::Call>& calls);
  void after(std::chrono::milliseconds delay, std::function<void()> f);

  Module& module_;
  std::vector<RuleState> rules_;
  Hooks hooks_;
  std::uint64_t download_bytes_ = 0;
  int download_percent_ = -1;
  std::map<std::string, int, std::less<>> update_percent_;  // by phase
  std::list<boost::asio::steady_timer> timers_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace bg95::scenario
