// The radio link under the data services (sim/net/link.*, docs/network.md):
//  - the token bucket on a stepped clock: exact departure times;
//  - the figures per RAT (Timing::link_rates) and, through a real event loop, rates and
//    latencies measured within tolerance (a time-scaled realistic profile);
//  - order kept within a direction, whatever the sizes and retransmissions;
//  - a stall holds everything until it ends; a reset loses what was in flight;
//  - each fault through the control socket's grammar (the fault table) and in a scenario,
//    and shown in the status.

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "scenarios/engine/rule_engine.hpp"
#include "scenarios/engine/scenario.hpp"
#include "sim/control/control_server.hpp"
#include "sim/control/module_control.hpp"
#include "sim/faults.hpp"
#include "sim/module.hpp"
#include "sim/net/link.hpp"
#include "sim/timing.hpp"

namespace bg95::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Dir = Link::Direction;

// ---- the token bucket ------------------------------------------------------------------------

TEST(PacerTest, ABurstPassesAtOnceThenTheRateHolds) {
  Pacer p;
  p.set_rate(1000, 1500);
  p.reset();  // a full bucket
  const Clock::time_point t0{std::chrono::seconds(100)};
  EXPECT_EQ(p.depart(1500, t0), t0);                  // the burst
  EXPECT_EQ(p.depart(1000, t0), t0 + 1s);             // then 1000 B/s
  EXPECT_EQ(p.depart(500, t0 + 200ms), t0 + 1500ms);  // behind the one before it
  // Idle for 3 s: the bucket is full again, no more than its depth.
  EXPECT_EQ(p.depart(1500, t0 + 4500ms), t0 + 4500ms);
  EXPECT_EQ(p.depart(2000, t0 + 4500ms), t0 + 6500ms);
  // A chunk larger than the bucket: its last byte leaves when all of it is paid.
  p.reset();
  EXPECT_EQ(p.depart(11500, t0 + 20s), t0 + 30s);
}

TEST(PacerTest, UnlimitedLeavesAtOnceAndAShiftDelaysWhatIsUnderWay) {
  Pacer p;
  const Clock::time_point t0{std::chrono::seconds(5)};
  EXPECT_EQ(p.depart(1 << 20, t0), t0);
  p.set_rate(100, 100);
  p.reset();
  EXPECT_EQ(p.depart(300, t0), t0 + 2s);
  p.shift(3s);
  EXPECT_EQ(p.depart(100, t0 + 1s), t0 + 6s);
}

TEST(LinkFiguresTest, PerRatRatesAndRoundTripsScaleWithTime) {
  Timing fast;
  EXPECT_EQ(fast.link_rates(false).up, 0u);
  EXPECT_EQ(fast.link_rates(true).round_trip, 0us);
  Timing real;
  real.profile = Timing::Profile::Realistic;
  const auto m = real.link_rates(false), nb = real.link_rates(true);
  EXPECT_EQ(m.up, 38400u);
  EXPECT_EQ(m.down, 38400u);
  EXPECT_EQ(m.round_trip, 100ms);
  EXPECT_EQ(nb.up, 7812u);
  EXPECT_EQ(nb.down, 3250u);
  EXPECT_EQ(nb.round_trip, 837ms);
  real.scale = 0.5;
  EXPECT_EQ(real.link_rates(true).down, 6500u);
  EXPECT_EQ(real.link_rates(true).round_trip, 418500us);
}

// ---- a Link on a real event loop ------------------------------------------------------------

class LinkTest : public ::testing::Test {
 protected:
  // Runs the loop until `done` holds; false at the deadline.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() > deadline) return false;
      if (io.stopped()) io.restart();  // it stops whenever it runs out of work
      io.run_one_for(20ms);
    }
    return true;
  }
  // The loop for `d`, whatever happens.
  void run_for(std::chrono::milliseconds d) {
    const auto end = Clock::now() + d;
    while (Clock::now() < end) {
      if (io.stopped()) io.restart();
      io.run_one_until(end);
    }
  }
  // The realistic profile at this time scale, on LTE-M or NB-IoT.
  void shape(double scale, bool nbiot) {
    Timing t;
    t.profile = Timing::Profile::Realistic;
    t.scale = scale;
    link.set_shapes(t);
    link.set_nbiot(nbiot);
  }
  // Carries `chunks` chunks of `size` bytes; the time from the first offer to the last arrival.
  std::chrono::duration<double> transfer(Dir dir, int chunks, std::size_t size) {
    int arrived = 0;
    const auto start = Clock::now();
    Clock::time_point last;
    for (int i = 0; i < chunks; ++i)
      link.carry(dir, size, [&] {
        ++arrived;
        last = Clock::now();
      });
    EXPECT_TRUE(run_until([&] { return arrived == chunks; }, 30s));
    return last - start;
  }

  boost::asio::io_context io;
  Link link{io.get_executor()};
};

// The expected time of a transfer: what exceeds the bucket at the rate, plus half a round
// trip. The measured one is never shorter and, on a loaded machine, at most a little longer.
// Each measurement is recorded (--gtest_output=json:FILE lists them as "measured_<n>": expected
// and measured milliseconds).
void expect_about(std::chrono::duration<double> measured, double expected_s) {
  static int n = 0;
  ::testing::Test::RecordProperty("measured_" + std::to_string(++n),
                                  std::to_string(expected_s * 1000) + " ms expected, " +
                                      std::to_string(measured.count() * 1000) + " ms measured");
  EXPECT_GE(measured.count(), expected_s * 0.97) << expected_s;
  EXPECT_LE(measured.count(), expected_s * 1.3 + 0.05) << expected_s;
}

TEST_F(LinkTest, LteMRatesAndLatencyMeasured) {
  const double scale = 0.02;  // fifty times as fast: LTE-M at 1.92 MB/s, RTT 2 ms
  shape(scale, false);
  const double rate = 38400 / scale, half_rtt = 0.100 * scale / 2;
  expect_about(transfer(Dir::Down, 50, 4096), (50 * 4096 - 1500) / rate + half_rtt);
  expect_about(transfer(Dir::Up, 50, 4096), (50 * 4096 - 1500) / rate + half_rtt);
}

TEST_F(LinkTest, NbIotRatesAndLatencyMeasured) {
  const double scale = 0.05;  // twenty times as fast: down 65 kB/s, up 156 kB/s, RTT 42 ms
  shape(scale, true);
  run_for(50ms);  // the buckets fill
  expect_about(transfer(Dir::Down, 10, 2000),
               (10 * 2000 - 1500) / (3250 / scale) + 0.837 * scale / 2);
  run_for(50ms);
  expect_about(transfer(Dir::Up, 10, 4000),
               (10 * 4000 - 1500) / (7812 / scale) + 0.837 * scale / 2);
  // A small chunk on an idle link: half a round trip.
  run_for(100ms);
  expect_about(transfer(Dir::Up, 1, 100), 0.837 * scale / 2);
}

TEST_F(LinkTest, FastProfilePassesAtOnceButNeverInsideCarry) {
  bool arrived = false;
  link.carry(Dir::Down, 1 << 20, [&] { arrived = true; });
  EXPECT_FALSE(arrived);
  io.poll();
  EXPECT_TRUE(arrived);
}

TEST_F(LinkTest, OrderIsKeptWhateverTheSizesAndRetransmissions) {
  shape(0.01, false);
  link.set_loss(30);  // some chunks wait for a retransmission; none overtakes
  std::vector<int> up, down;
  for (int i = 0; i < 60; ++i) {
    link.carry(Dir::Up, static_cast<std::size_t>(1 + (i * 7919) % 3000),
               [&up, i] { up.push_back(i); });
    link.carry(Dir::Down, static_cast<std::size_t>(1 + (i * 104729) % 5000),
               [&down, i] { down.push_back(i); });
  }
  ASSERT_TRUE(run_until([&] { return up.size() == 60 && down.size() == 60; }));
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(up[static_cast<std::size_t>(i)], i);
    EXPECT_EQ(down[static_cast<std::size_t>(i)], i);
  }
}

TEST_F(LinkTest, AStallHoldsEverythingAndTheEndReleasesItInOrder) {
  std::vector<int> got;
  link.set_stalled(true);
  for (int i = 0; i < 3; ++i)
    link.carry(Dir::Down, 10, [&got, i] { got.push_back(i); });
  link.carry(Dir::Up, 10, [&got] { got.push_back(9); });
  run_for(100ms);
  EXPECT_TRUE(got.empty());
  link.set_stalled(false);
  ASSERT_TRUE(run_until([&] { return got.size() == 4; }));
  EXPECT_EQ(got, (std::vector<int>{9, 0, 1, 2}));  // Up's one chunk was offered first to its lane
}

TEST_F(LinkTest, AStallInTheMiddleOfAShapedTransferDelaysItByTheStall) {
  shape(0.02, false);
  int arrived = 0;
  const auto start = Clock::now();
  for (int i = 0; i < 40; ++i)
    link.carry(Dir::Down, 4096, [&] { ++arrived; });
  run_for(20ms);
  const int before = arrived;
  link.set_stalled(true);
  run_for(150ms);
  EXPECT_EQ(arrived, before);  // nothing while stalled
  link.set_stalled(false);
  ASSERT_TRUE(run_until([&] { return arrived == 40; }));
  const double expected = (40 * 4096 - 1500) / (38400 / 0.02) + 0.150;
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - start).count(), expected * 0.97);
}

TEST_F(LinkTest, ResetLosesWhatIsInFlight) {
  shape(0.02, false);
  int arrived = 0;
  for (int i = 0; i < 10; ++i)
    link.carry(Dir::Down, 4096, [&] { ++arrived; });
  link.reset();
  run_for(100ms);
  EXPECT_EQ(arrived, 0);
  link.carry(Dir::Down, 10, [&] { ++arrived; });
  ASSERT_TRUE(run_until([&] { return arrived == 1; }));
}

TEST_F(LinkTest, LossDropsThatShareOfDatagramsTheSameWayForTheSameSeed) {
  auto drops = [&](std::uint64_t seed) {
    link.seed(seed);
    std::vector<bool> out;
    for (int i = 0; i < 2000; ++i)
      out.push_back(link.drop_datagram());
    return out;
  };
  const auto none = drops(1);
  EXPECT_EQ(std::count(none.begin(), none.end(), true), 0);  // no loss set
  link.set_loss(25);
  const auto a = drops(7), b = drops(7);
  EXPECT_EQ(a, b);
  const auto lost = std::count(a.begin(), a.end(), true);
  EXPECT_GT(lost, 400);
  EXPECT_LT(lost, 600);
  link.set_loss(100);
  EXPECT_TRUE(link.drop_datagram());
}

TEST_F(LinkTest, AddedLatencyAndRetransmissionDelayAreMeasured) {
  link.set_added_latency(60ms);
  expect_about(transfer(Dir::Up, 1, 10), 0.060);
  link.set_loss(100);  // a stream's chunk waits for the retransmission timeout
  EXPECT_EQ(link.retransmission_delay(), 320ms);  // 200 ms + the two added one-way delays
  expect_about(transfer(Dir::Down, 1, 10), 0.380);
  // A datagram is not sent again: it is dropped before, or it arrives on time.
  int arrived = 0;
  const auto start = Clock::now();
  link.carry(
      Dir::Down, 10, [&] { ++arrived; }, Link::Traffic::Datagram);
  ASSERT_TRUE(run_until([&] { return arrived == 1; }));
  expect_about(Clock::now() - start, 0.060);
}

// ---- the faults: the control socket's grammar, the status, a scenario ------------------------

class LinkFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ModuleConfig config;
    config.state_dir = dir / "state";
    config.default_image_size = 256 * 1024;
    module = std::make_unique<Module>(io.get_executor(), config);
    server.add_target(std::make_unique<control::ModuleControl>(*module));
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("bg95-link-" + std::to_string(::getpid()) + "-" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  boost::asio::io_context io;
  std::unique_ptr<Module> module;
  control::ControlServer server{io.get_executor(), dir / "ctl.sock"};
  std::string status_of(const std::string& key) {
    const std::string s = server.handle_line("status");
    const auto at = s.find(" " + key + "=");
    if (at == std::string::npos) return "(none)";
    const auto from = at + key.size() + 2;
    return s.substr(from, s.find(' ', from) - from);
  }
};

TEST_F(LinkFaultTest, EachFaultThroughTheControlSocketAndItsStatus) {
  Link& link = module->link();
  EXPECT_EQ(status_of("net_stall"), "off");
  EXPECT_EQ(status_of("net_latency"), "0");
  EXPECT_EQ(status_of("net_loss"), "0");
  EXPECT_EQ(status_of("net_connect"), "ok");
  EXPECT_EQ(status_of("net_dns"), "ok");

  // Each request, the status it shows, and the link as it leaves it.
  const std::vector<std::tuple<std::string, std::string, std::string, std::function<bool()>>>
      steps = {
          {"net stall on", "net_stall", "on", [&] { return link.stalled(); }},
          {"net stall off", "net_stall", "off", [&] { return !link.stalled(); }},
          {"net latency 250", "net_latency", "250", [&] { return link.added_latency() == 250ms; }},
          {"net loss 12", "net_loss", "12", [&] { return link.loss() == 12; }},
          {"net connect refuse", "net_connect", "refuse",
           [&] { return link.connect_fault() == Link::ConnectFault::Refused; }},
          {"net connect reset", "net_connect", "reset",
           [&] { return link.connect_fault() == Link::ConnectFault::Reset; }},
          {"net connect timeout", "net_connect", "timeout",
           [&] { return link.connect_fault() == Link::ConnectFault::Timeout; }},
          {"net connect ok", "net_connect", "ok",
           [&] { return link.connect_fault() == Link::ConnectFault::None; }},
          {"net dns fail", "net_dns", "fail", [&] { return link.dns_fails(); }},
          {"net dns ok", "net_dns", "ok", [&] { return !link.dns_fails(); }},
      };
  for (const auto& [request, key, shown, holds] : steps) {
    EXPECT_EQ(server.handle_line(request), "OK") << request;
    EXPECT_TRUE(holds()) << request;
    EXPECT_EQ(status_of(key), shown) << request;
  }

  // Bad values get the usage, and change nothing.
  EXPECT_EQ(server.handle_line("net latency 60001"), "ERR usage: net latency <ms>");
  EXPECT_EQ(server.handle_line("net loss 101"), "ERR usage: net loss <0-100>");
  EXPECT_EQ(server.handle_line("net loss -1"), "ERR usage: net loss <0-100>");
  EXPECT_EQ(server.handle_line("net stall maybe").rfind("ERR usage: net reg <stat> | ", 0), 0u);
  EXPECT_EQ(link.added_latency(), 250ms);
  EXPECT_EQ(link.loss(), 12);
}

TEST_F(LinkFaultTest, FaultsOutlivePowerLossButWhatWasInFlightDoesNot) {
  EXPECT_EQ(server.handle_line("net latency 40"), "OK");
  module->power_on();
  int arrived = 0;
  module->link().carry(Dir::Up, 10, [&] { ++arrived; });
  module->power_cut();
  const auto end = Clock::now() + 100ms;
  while (Clock::now() < end) {
    if (io.stopped()) io.restart();
    io.run_one_until(end);
  }
  EXPECT_EQ(arrived, 0);
  EXPECT_EQ(module->link().added_latency(), 40ms);
}

TEST_F(LinkFaultTest, AScenarioSetsTheFaultsAsOneAction) {
  const auto s = scenario::parse_scenario_text(
      "rules:\n  - {when: {at: 1s}, do: "
      "[{network: {stall: on, latency: 2s, loss: 5, connect: refuse, dns: fail}}]}\n",
      "t.yaml");
  const auto& action = s.rules.at(0).actions.at(0);
  EXPECT_EQ(action.describe(), "network stall=on latency=2000 loss=5 connect=refuse dns=fail");
  faults::perform(*module, action.faults);
  const Link& link = module->link();
  EXPECT_TRUE(link.stalled());
  EXPECT_EQ(link.added_latency(), 2000ms);
  EXPECT_EQ(link.loss(), 5);
  EXPECT_EQ(link.connect_fault(), Link::ConnectFault::Refused);
  EXPECT_TRUE(link.dns_fails());
}

// A scenario's rules on a running module: the link stalls at 50 ms and goes on at 200 ms; a
// chunk offered meanwhile arrives only then.
TEST_F(LinkFaultTest, ScenarioRulesStallAndResumeTheLink) {
  const auto s = scenario::parse_scenario_text(R"(name: t
rules:
  - when: {at: 50ms}
    do: {network: {stall: on, dns: fail}}
  - when: {at: 200ms}
    do: {network: {stall: off}}
)",
                                               "t.yaml");
  scenario::RuleEngine rules(*module, s.rules, {});
  const auto start = Clock::now();
  rules.start();
  auto run_until = [&](const std::function<bool()>& done) {
    const auto deadline = Clock::now() + 5s;
    while (!done() && Clock::now() < deadline) {
      if (io.stopped()) io.restart();
      io.run_one_for(10ms);
    }
    return done();
  };
  ASSERT_TRUE(run_until([&] { return module->link().stalled(); }));
  EXPECT_TRUE(module->link().dns_fails());
  EXPECT_EQ(status_of("net_stall"), "on");
  Clock::time_point arrived{};
  module->link().carry(Dir::Down, 100, [&] { arrived = Clock::now(); });
  ASSERT_TRUE(run_until([&] { return arrived != Clock::time_point{}; }));
  EXPECT_FALSE(module->link().stalled());
  EXPECT_GE(arrived - start, 200ms);
  EXPECT_EQ(rules.fired_counts(), (std::vector<std::uint64_t>{1, 1}));
}

}  // namespace
}  // namespace bg95::net
