#include "scenarios/engine/rule_engine.hpp"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include <algorithm>

namespace bg95::scenario {

RuleEngine::RuleEngine(Module& module, std::vector<Rule> rules, Hooks hooks)
    : module_(module), hooks_(std::move(hooks)) {
  for (auto& r : rules)
    rules_.push_back({std::move(r)});
  module_.add_observer(this);
}

RuleEngine::~RuleEngine() {
  module_.remove_observer(this);
  for (auto& t : timers_)
    t.cancel();
}

void RuleEngine::start() {
  for (auto& r : rules_) {
    if (r.rule.when.kind != Trigger::Kind::Time) continue;
    after(r.rule.when.at, [this, &r] {
      if (occur(r)) fire(r, r.rule.when.describe());
    });
  }
}

std::vector<std::uint64_t> RuleEngine::fired_counts() const {
  std::vector<std::uint64_t> out;
  for (const auto& r : rules_)
    out.push_back(r.fired);
  return out;
}

bool RuleEngine::occur(RuleState& r) {
  if (r.done) return false;
  ++r.occurrences;
  const bool fires = r.rule.count.fires(r.occurrences);
  if (r.rule.count.done_after(r.occurrences)) r.done = true;
  return fires;
}

void RuleEngine::after(std::chrono::milliseconds delay, std::function<void()> f) {
  auto& timer = timers_.emplace_back(module_.executor());
  auto it = std::prev(timers_.end());
  timer.expires_after(delay);
  timer.async_wait(
      [this, it, alive = std::weak_ptr(alive_), f = std::move(f)](boost::system::error_code ec) {
        if (ec || alive.expired()) return;
        timers_.erase(it);
        f();
      });
}

void RuleEngine::fire(RuleState& r, const std::string& context, flash::Fault* flash,
                      std::optional<at::Interception>* interception) {
  ++r.fired;
  std::string what;
  for (const auto& a : r.rule.actions)
    what += (what.empty() ? "" : "; ") + a.describe();
  if (hooks_.event)
    hooks_.event("rule", fmt::format("rule \"{}\" fired ({}, occurrence {}): {}", r.rule.name,
                                     context, r.occurrences, what));
  const std::string why = "rule \"" + r.rule.name + "\"";
  for (const auto& a : r.rule.actions) {
    using K = Action::Kind;
    const bool now = a.after.count() == 0;
    // The members of a group (network) are applied alike: the first one says how.
    const faults::Fault* fault = a.kind == K::Fault ? a.faults.front().fault : nullptr;
    // Decisions of the flash write that triggered the rule.
    if (flash && now && fault && fault->on_flash_write != flash::Fault::None) {
      *flash = fault->on_flash_write;
      continue;
    }
    // Answers of the command that triggered the rule.
    if (interception && (a.kind == K::Respond || a.kind == K::RespondRaw || a.kind == K::Delay)) {
      if (!*interception) *interception = at::Interception{};
      at::Interception& i = **interception;
      if (a.kind == K::Respond) i.reply = a.reply;
      if (a.kind == K::RespondRaw) i.raw = hooks_.substitute ? hooks_.substitute(a.text) : a.text;
      if (a.kind == K::Delay) i.delay = *a.duration;
      continue;
    }
    // A power cut waits for no posted handler: it lands before the module's next flash write
    // (the chunk or update step under way goes no further), or right after this handler.
    // The link's and the cell's conditions change at once, so that they apply to the very
    // next byte (a posted change would come after chunks already queued). Not from inside a
    // URC being emitted: a network change raises URCs of its own, which must come after it.
    using faults::InRule;
    if (now && fault &&
        (fault->in_rule == InRule::AtOnce ||
         (fault->in_rule == InRule::AtOnceState && r.rule.when.kind != Trigger::Kind::Urc))) {
      perform(a);
      continue;
    }
    schedule(a, why);
  }
}

void RuleEngine::run(const std::vector<Action>& actions, const std::string& why) {
  for (const auto& a : actions)
    schedule(a, why);
}

void RuleEngine::schedule(const Action& action, const std::string& why) {
  // Never inside the module's own call (a URC being emitted, a flash write): posted, or
  // after the action's delay.
  auto run = [this, action, why] {
    if (hooks_.event && action.after.count() > 0)
      hooks_.event("action", why + ": " + action.describe());
    perform(action);
  };
  if (action.after.count() > 0) return after(action.after, run);
  boost::asio::post(module_.executor(), [alive = std::weak_ptr(alive_), run] {
    if (!alive.expired()) run();
  });
}

void RuleEngine::perform(const Action& a) {
  using K = Action::Kind;
  switch (a.kind) {
    case K::Fault:
      return perform_faults(a.faults);
    case K::Urc:
      return module_.emit_urc(hooks_.substitute ? hooks_.substitute(a.text) : a.text);
    case K::Server:
      if (hooks_.server_faults) hooks_.server_faults(a.server);
      return;
    case K::Log:
      if (hooks_.event) hooks_.event("log", hooks_.substitute ? hooks_.substitute(a.text) : a.text);
      return;
    case K::Verdict:
      if (hooks_.verdict)
        hooks_.verdict(a.pass, hooks_.substitute ? hooks_.substitute(a.text) : a.text);
      return;
    case K::Respond:
    case K::RespondRaw:
    case K::Delay:
      return;  // only on their command's trigger (the parser sees to it)
  }
}

void RuleEngine::perform_faults(const std::vector<faults::Call>& calls) {
  const faults::Fault& first = *calls.front().fault;
  if (calls.size() == 1 && first.perform_in_rule) {
    first.perform_in_rule(module_, calls.front().value);
  } else {
    try {
      faults::perform(module_, calls);
    } catch (const faults::Refused&) {
      // What the module cannot do now (a context that is not active) is not done: as on a
      // real network, nothing happens.
    }
  }
  // A fault for a while ({link_stall: {for: 2s}}): undone when the while has passed.
  for (const auto& c : calls) {
    if (!c.fault->undo || !c.value.given) continue;
    after(std::chrono::milliseconds(c.value.number), [this, f = c.fault] {
      std::string name(f->name);
      std::replace(name.begin(), name.end(), '_', ' ');
      if (hooks_.event) hooks_.event("action", name + " over");
      f->undo(module_);
    });
  }
}

// ---- triggers ----------------------------------------------------------------------------

void RuleEngine::on_power(PowerEvent event) {
  for (auto& r : rules_)
    if (r.rule.when.kind == Trigger::Kind::Power && r.rule.when.power == event && occur(r))
      fire(r, r.rule.when.describe());
  // A new boot, a new download and update: thresholds count again.
  if (event == PowerEvent::On) {
    download_bytes_ = 0;
    download_percent_ = -1;
    update_percent_.clear();
  }
}

void RuleEngine::on_urc(std::string_view text) {
  for (auto& r : rules_)
    if (r.rule.when.kind == Trigger::Kind::Urc && r.rule.when.pattern->matches(text) && occur(r))
      fire(r, fmt::format("URC {}", text));
}

void RuleEngine::on_download_progress(std::uint64_t received, std::optional<std::uint64_t> total) {
  if (received < download_bytes_) download_percent_ = -1, download_bytes_ = 0;  // a new download
  const std::uint64_t before_bytes = download_bytes_;
  download_bytes_ = received;
  for (auto& r : rules_) {
    const Trigger& t = r.rule.when;
    if (t.kind == Trigger::Kind::DownloadBytes && received >= t.value && before_bytes < t.value &&
        occur(r))
      fire(r, fmt::format("download {} bytes", received));
  }
  if (!total || *total == 0) return;
  const int percent = static_cast<int>(std::min<std::uint64_t>(100, received * 100 / *total));
  if (percent <= download_percent_) return;
  const int before = download_percent_;
  download_percent_ = percent;
  // From -1 so that a threshold of 0 fires with the first bytes.
  for (auto& r : rules_) {
    const Trigger& t = r.rule.when;
    if (t.kind != Trigger::Kind::DownloadPercent) continue;
    const int v = static_cast<int>(t.value);
    if (percent >= v && before < v && occur(r)) fire(r, t.describe());
  }
}

void RuleEngine::on_update_progress(std::string_view phase, int percent) {
  auto it = update_percent_.find(phase);
  const int before = it == update_percent_.end() ? -1 : it->second;
  update_percent_[std::string(phase)] = percent;
  if (percent <= before) return;
  for (auto& r : rules_) {
    const Trigger& t = r.rule.when;
    if (t.kind != Trigger::Kind::UpdatePercent || t.phase != phase) continue;
    const int v = static_cast<int>(t.value);
    if (percent >= v && before < v && occur(r)) fire(r, t.describe());
  }
}

flash::Fault RuleEngine::flash_fault(const flash::FlashOp& op, std::uint64_t index) {
  flash::Fault fault = flash::Fault::None;
  const std::uint64_t n = index;
  for (auto& r : rules_) {
    if (r.rule.when.kind != Trigger::Kind::FlashWrite || r.rule.when.value != n || !occur(r))
      continue;
    fire(r,
         fmt::format("flash write {} ({} block {} page {})", n,
                     op.kind == flash::FlashOp::Kind::Program ? "program" : "erase", op.block,
                     op.page),
         &fault);
  }
  return fault;
}

std::optional<at::Interception> RuleEngine::intercept(std::string_view port,
                                                      std::string_view command) {
  std::optional<at::Interception> interception;
  for (auto& r : rules_) {
    const Trigger& t = r.rule.when;
    if (t.kind != Trigger::Kind::Command || (!t.port.empty() && t.port != port) ||
        !t.pattern->matches(command) || !occur(r))
      continue;
    fire(r, fmt::format("command {} on {}", command, port), nullptr, &interception);
  }
  return interception;
}

void RuleEngine::host_opened(std::string_view port) {
  for (auto& r : rules_)
    if (r.rule.when.kind == Trigger::Kind::HostOpen &&
        (r.rule.when.port.empty() || r.rule.when.port == port) && occur(r))
      fire(r, r.rule.when.describe());
}

void RuleEngine::host_closed(std::string_view port) {
  for (auto& r : rules_)
    if (r.rule.when.kind == Trigger::Kind::HostClose &&
        (r.rule.when.port.empty() || r.rule.when.port == port) && occur(r))
      fire(r, r.rule.when.describe());
}

}  // namespace bg95::scenario
