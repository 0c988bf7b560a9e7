// The power and mode state machine: its table (sim/power_state.*), the diagram that
// docs/architecture.md draws from it, the events a real Module tells its observers, and the
// LifeGuard that makes callbacks of an earlier power cycle do nothing.
//
// When the table changes, BG95_UPDATE_DOCS=1 build/tests/power_state_test rewrites the diagram
// in docs/architecture.md.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/engine/rule_engine.hpp"
#include "scenarios/engine/scenario.hpp"
#include "sim/life_guard.hpp"
#include "sim/module.hpp"
#include "sim/power_state.hpp"

namespace bg95 {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::string_view kBegin = "<!-- state table: begin -->\n";
constexpr std::string_view kEnd = "<!-- state table: end -->\n";

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(PowerStateTable, DocsDrawTheTable) {
  const fs::path doc = fs::path(BG95SIM_SOURCE_DIR) / "docs" / "architecture.md";
  std::string text = read_file(doc);
  const auto begin = text.find(kBegin);
  const auto end = text.find(kEnd);
  ASSERT_NE(begin, std::string::npos) << doc << " has no " << kBegin;
  ASSERT_NE(end, std::string::npos) << doc << " has no " << kEnd;
  const auto from = begin + kBegin.size();
  const std::string generated = power_state_diagram();
  if (std::getenv("BG95_UPDATE_DOCS")) {
    text.replace(from, end - from, generated);
    std::ofstream(doc, std::ios::binary) << text;
  }
  EXPECT_EQ(text.substr(from, end - from), generated)
      << "docs/architecture.md's state diagram is not the table's; rerun with BG95_UPDATE_DOCS=1";
}

TEST(PowerStateTable, OneTransitionPerStateAndEvent) {
  std::set<std::pair<PowerState, PowerEvent>> seen;
  for (const PowerTransition& t : power_transitions()) {
    EXPECT_TRUE(seen.insert({t.from, t.event}).second)
        << power_state_name(t.from) << " + " << power_event_name(t.event) << " twice";
    EXPECT_EQ(find_transition(t.from, t.event), &t);
  }
  EXPECT_EQ(find_transition(PowerState::Normal, PowerEvent::On), nullptr);
  EXPECT_EQ(find_transition(PowerState::Off, PowerEvent::Cut), nullptr);
}

TEST(PowerStateTable, EveryStateIsReachedFromOffAndLeadsBackToIt) {
  const std::vector<PowerState> all{PowerState::Off, PowerState::Booting, PowerState::Normal,
                                    PowerState::Dfota};
  std::set<PowerState> reached{PowerState::Off};
  for (bool grew = true; grew;) {
    grew = false;
    for (const PowerTransition& t : power_transitions())
      if (reached.count(t.from) && reached.insert(t.to).second) grew = true;
  }
  EXPECT_EQ(reached.size(), all.size());
  for (PowerState s : all) {
    if (s == PowerState::Off) continue;
    const PowerTransition* cut = find_transition(s, PowerEvent::Cut);
    ASSERT_NE(cut, nullptr) << power_state_name(s) << " cannot lose power";
    EXPECT_EQ(cut->to, PowerState::Off);
  }
}

TEST(PowerStateTable, TheEdgesOfAnUpdate) {
  // Resuming after a cut during the update: straight from the boot into DFOTA mode.
  const PowerTransition* resume = find_transition(PowerState::Booting, PowerEvent::DfotaMode);
  ASSERT_NE(resume, nullptr);
  EXPECT_EQ(resume->to, PowerState::Dfota);
  const PowerTransition* ended = find_transition(PowerState::Dfota, PowerEvent::Restart);
  ASSERT_NE(ended, nullptr);
  EXPECT_TRUE(passes_through_off(*ended));
  EXPECT_FALSE(power_event_info(PowerEvent::Restart).power_lost);
  EXPECT_TRUE(power_event_info(PowerEvent::Reset).power_lost);
}

TEST(PowerStateTable, EventNames) {
  EXPECT_STREQ(power_event_name(PowerEvent::Reset), "reset");
  EXPECT_STREQ(power_event_name(PowerEvent::Cut), "power cut");
  EXPECT_STREQ(power_event_name(PowerEvent::Restart), "restart");
  EXPECT_STREQ(power_event_name(PowerEvent::Psm), "PSM");
  for (int e = 0; e <= static_cast<int>(PowerEvent::Psm); ++e)
    EXPECT_EQ(static_cast<int>(power_event_info(static_cast<PowerEvent>(e)).event), e);
}

TEST(LifeGuard, CallbacksOfAnEarlierLifeDoNothing) {
  LifeGuard life;
  int calls = 0;
  auto now = life.guard([&](int n) { calls += n; });
  now(1);
  EXPECT_EQ(calls, 1);
  life.end();
  now(10);
  EXPECT_EQ(calls, 1);
  life.guard([&](int n) { calls += n; })(2);
  EXPECT_EQ(calls, 3);
  auto expiry = life.on_expiry([&] { ++calls; });
  expiry(boost::asio::error::operation_aborted);
  EXPECT_EQ(calls, 3);
  expiry({});
  EXPECT_EQ(calls, 4);
  life.end();
  expiry({});
  EXPECT_EQ(calls, 4);
}

// ---- a real module -------------------------------------------------------------------------

class Events : public ModuleObserver {
 public:
  void on_power(PowerEvent e) override { seen.push_back(power_event_name(e)); }
  std::vector<std::string> seen;
};

class PowerStateModule : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "bg95-power-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    ModuleConfig config;
    config.state_dir = dir_;
    config.default_image_size = 256 * 1024;
    config.timing.framing_gap = 0ms;
    module_ = std::make_unique<Module>(io_.get_executor(), config);
    module_->add_observer(&events_);
  }
  void TearDown() override {
    if (module_) module_->shutdown();
    module_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // With the fast timing every step is ready at once: a boot takes a few handlers.
  bool booted() {
    for (int handlers = 0; handlers < 10000; ++handlers) {
      if (module_->power_state() == PowerState::Normal) return true;
      io_.restart();
      io_.run_one_for(10ms);
    }
    return false;
  }

  boost::asio::io_context io_;
  fs::path dir_;
  std::unique_ptr<Module> module_;
  Events events_;
};

TEST_F(PowerStateModule, AResetIsItsOwnEventNotAPowerCut) {
  module_->power_on();
  ASSERT_TRUE(booted());
  module_->reset();
  ASSERT_TRUE(booted());
  EXPECT_EQ(events_.seen,
            (std::vector<std::string>{"power on", "booted", "reset", "power on", "booted"}));
  EXPECT_EQ(module_->boot_count(), 2u);
}

TEST_F(PowerStateModule, CutOffRestartAndTheTransitionsTheTableHasNot) {
  module_->power_on();
  ASSERT_TRUE(booted());
  module_->power_on();  // on already: no such transition
  module_->reboot();
  ASSERT_TRUE(booted());
  module_->power_cut();
  module_->power_cut();  // off already
  module_->power_off();
  module_->reset();  // a reset of a module that is off powers it on
  ASSERT_TRUE(booted());
  module_->power_off();
  EXPECT_EQ(module_->power_state(), PowerState::Off);
  EXPECT_EQ(events_.seen,
            (std::vector<std::string>{"power on", "booted", "restart", "power on", "booted",
                                      "power cut", "power on", "booted", "power off"}));
}

TEST_F(PowerStateModule, ScenarioRulesTellAResetFromACut) {
  const auto s = scenario::parse_scenario_text(R"(name: t
rules:
  - when: {power: reset}
    do: {log: reset}
  - when: {power: cut}
    do: {log: cut}
)",
                                               "t.yaml");
  scenario::RuleEngine::Hooks hooks;
  std::vector<std::string> logged;
  hooks.event = [&](std::string_view kind, std::string_view text) {
    if (kind == "log") logged.emplace_back(text);
  };
  scenario::RuleEngine rules(*module_, s.rules, std::move(hooks));
  rules.start();
  module_->power_on();
  ASSERT_TRUE(booted());
  module_->reset();
  ASSERT_TRUE(booted());
  EXPECT_EQ(rules.fired_counts(), (std::vector<std::uint64_t>{1, 0}));
  module_->power_cut();
  EXPECT_EQ(rules.fired_counts(), (std::vector<std::uint64_t>{1, 1}));
  io_.restart();
  io_.poll();  // the rules' actions are posted
  EXPECT_EQ(logged, (std::vector<std::string>{"reset", "cut"}));
}

}  // namespace
}  // namespace bg95
