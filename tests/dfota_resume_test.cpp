// A power loss between +QIND: "FOTA","START" and the first UPDATING line (while the module
// checks the package and its running image, before the update journal begins) must bring the
// module back into DFOTA mode at the next power-on, which then updates: the note's 2.2.1.1
// note 3 ("power lost during the update: the module enters DFOTA mode again at power-up").
// Before the FOTA flag was written ahead of the reset, such a module booted the old firmware
// with the package still stored.
//
// In-process (one Module on an io_context), so that the cut lands at an exact step of the
// event loop: 20 moments spread evenly over the handlers that run between START and the first
// UPDATING.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <functional>
#include <string>

#include "sim/module.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;

class Harness {
 public:
  explicit Harness(const std::filesystem::path& state) {
    ModuleConfig config;
    config.state_dir = state;
    // In-process, nobody reads the port: output at once, the steps of the module's own work
    // exact (the framing gaps would only cost time).
    config.timing.framing_gap = std::chrono::milliseconds(0);
    module_ = std::make_unique<Module>(io_.get_executor(), config);
    module_->set_port_writer([this](std::string bytes) { out_ += bytes; });
  }
  Module& module() { return *module_; }
  std::string& out() { return out_; }

  // Runs handlers until `done` holds; false after `limit` of real time.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.restart();
      io_.run_for(5ms);
    }
    return true;
  }
  // Runs exactly one ready handler (waiting for a timer when none is ready).
  void run_one() {
    io_.restart();
    io_.run_one_for(1s);
  }
  // One handler at a time until `done` holds, so that nothing runs past that moment.
  bool step_until(const std::function<bool()>& done, int limit = 100000) {
    for (int i = 0; i < limit && !done(); ++i)
      run_one();
    return done();
  }
  bool saw(std::string_view text) const { return out_.find(text) != std::string::npos; }

  void boot() {
    module_->power_on();
    ASSERT_TRUE(run_until([this] { return saw("+QIND: SMS DONE\r\n"); }));
    out_.clear();
  }
  // AT+QFOTADL="COM:" with the whole package, then OK.
  void upload(const std::string& package) {
    module_->host_input("ATE0\r");
    ASSERT_TRUE(run_until([this] { return saw("OK\r\n"); }));
    out_.clear();
    module_->host_input("AT+QFOTADL=\"COM:\"," + std::to_string(package.size()) + "\r\n");
    ASSERT_TRUE(run_until([this] { return saw("CONNECT\r\n"); }));
    module_->host_input(package);
    ASSERT_TRUE(run_until([this] { return saw("OK\r\n"); })) << out_;
    out_.clear();
  }

 private:
  boost::asio::io_context io_;
  std::unique_ptr<Module> module_;
  std::string out_;
};

class DfotaResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    source_ = default_image();
    target_ = next_image(source_);
    package_ = as_string(make_package(source_, target_));
  }
  Bytes source_, target_;
  std::string package_;
};

// How many handlers run between START and the first UPDATING line of an uninterrupted update.
int handlers_between_start_and_updating(const std::string& package, const TempDir& dir) {
  Harness h(dir.path() / "reference");
  h.boot();
  h.upload(package);
  h.module().host_input("AT+QFOTADL=1\r");
  EXPECT_TRUE(h.step_until([&] { return h.saw("\"START\""); }));
  int n = 0;
  while (!h.saw("\"UPDATING\"") && n < 100000) {
    h.run_one();
    ++n;
  }
  return n;
}

TEST_F(DfotaResumeTest, PowerLossBetweenStartAndFirstUpdatingResumesToTheTarget) {
  TempDir dir;
  const int window = handlers_between_start_and_updating(package_, dir);
  ASSERT_GE(window, 20) << "too few steps between START and UPDATING to spread 20 cuts";
  for (int moment = 0; moment < 20; ++moment) {
    SCOPED_TRACE("cut after handler " + std::to_string(moment * window / 20) + " of " +
                 std::to_string(window));
    Harness h(dir.path() / ("state" + std::to_string(moment)));
    h.boot();
    h.upload(package_);
    h.module().host_input("AT+QFOTADL=1\r");
    ASSERT_TRUE(h.step_until([&] { return h.saw("\"START\""); }));
    for (int i = 0; i < moment * window / 20; ++i)
      h.run_one();
    ASSERT_FALSE(h.saw("\"UPDATING\"")) << "the cut must come before the first UPDATING";
    h.module().power_cut();
    h.out().clear();
    h.module().power_on();
    // Back in DFOTA mode: START again, the update, END,0, and the new image boots.
    ASSERT_TRUE(h.run_until([&] { return h.saw("+QIND: SMS DONE\r\n"); })) << h.out();
    EXPECT_TRUE(h.out().starts_with("\r\n+QIND: \"FOTA\",\"START\"\r\n")) << h.out();
    EXPECT_NE(h.out().find("\r\n+QIND: \"FOTA\",\"UPDATING\",100\r\n"), std::string::npos);
    EXPECT_NE(h.out().find("\r\n+QIND: \"FOTA\",\"END\",0\r\n"), std::string::npos) << h.out();
    EXPECT_EQ(h.module().running_image().revision, "BG95M3LAR02A04");
    h.out().clear();
    h.module().host_input("AT+QFOTADL=4\r");
    ASSERT_TRUE(h.run_until([&] { return h.saw("OK\r\n"); }));
    EXPECT_NE(h.out().find("+QFOTADL: 4,0"), std::string::npos) << "the package is gone";
  }
}

// The same with a cut while RESETTING (before START): the flag is already in flash.
TEST_F(DfotaResumeTest, PowerLossRightAfterResettingResumes) {
  TempDir dir;
  Harness h(dir.path() / "state");
  h.boot();
  h.upload(package_);
  h.module().host_input("AT+QFOTADL=1\r");
  ASSERT_TRUE(h.step_until([&] { return h.saw("\"RESETTING\""); }));
  ASSERT_FALSE(h.saw("\"START\""));
  h.module().power_cut();
  h.out().clear();
  h.module().power_on();
  ASSERT_TRUE(h.run_until([&] { return h.saw("+QIND: SMS DONE\r\n"); })) << h.out();
  EXPECT_NE(h.out().find("\"END\",0"), std::string::npos) << h.out();
  EXPECT_EQ(h.module().running_image().revision, "BG95M3LAR02A04");
}

// DFOTA mode prints only FOTA URCs: a host that asked for +CREG/+CGREG/+CEREG URCs sees none
// between RESETTING and END (the radio going down and coming back belongs to the reboot).
TEST_F(DfotaResumeTest, DfotaModePrintsOnlyFotaUrcs) {
  TempDir dir;
  Harness h(dir.path() / "state");
  h.boot();
  h.module().host_input("ATE0\r");
  ASSERT_TRUE(h.run_until([&] { return h.saw("OK\r\n"); }));
  h.out().clear();
  h.module().host_input("AT+CREG=2;+CGREG=2;+CEREG=2\r");
  ASSERT_TRUE(h.run_until([&] { return h.saw("OK\r\n"); }));
  h.upload(package_);
  h.module().host_input("AT+QFOTADL=1\r");
  ASSERT_TRUE(h.run_until([&] { return h.saw("\"END\",0\r\n"); })) << h.out();
  const std::string dfota = h.out().substr(h.out().find("RESETTING"));
  for (const char* urc : {"+CREG:", "+CGREG:", "+CEREG:"})
    EXPECT_EQ(dfota.find(urc), std::string::npos) << urc << " in DFOTA mode:\n" << dfota;
}

}  // namespace
}  // namespace bg95::test
