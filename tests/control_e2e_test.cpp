// The control interface through the real program: bg95ctl drives DTR during an upload and
// cuts power during UPDATING, as a test rig or a user at a shell would.

#include <sys/wait.h>

#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

// Runs bg95ctl; returns its exit status and what it printed.
std::pair<int, std::string> bg95ctl(const std::filesystem::path& socket, const std::string& words) {
  const std::string cmd = fmt::format("{} --control {} {}", BG95CTL_BINARY, socket.string(), words);
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class ControlE2eTest : public ::testing::Test {
 protected:
  HostPort& start(std::vector<std::string> args = {}) {
    socket_ = dir_.path() / "ctl" / "bg95.sock";
    args.insert(args.end(), {"--control", socket_.string()});
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", args});
    auto& port = sim_->open_port();
    port.command("ATE0\r");
    return port;
  }
  std::string ctl_ok(const std::string& words) {
    auto [rc, out] = bg95ctl(socket_, words);
    EXPECT_EQ(rc, 0) << words << ": " << out;
    return out;
  }
  // Starts a COM upload of 10 bytes and sends 4 of them.
  void start_upload(HostPort& port) {
    EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",10,30\r"), "\r\nCONNECT\r\n");
    port.write("abcd");
    EXPECT_EQ(port.read_for(std::chrono::milliseconds(100)), "");
  }
  TempDir dir_;
  std::filesystem::path socket_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(ControlE2eTest, StatusAndErrors) {
  start();
  const std::string status = ctl_ok("status");
  EXPECT_EQ(status.rfind("OK power=normal mode=command firmware=BG95M3LAR02A03_01.011.01.011 "
                         "revision=BG95M3LAR02A03 package=none dfota=idle progress=0 dtr=high",
                         0),
            0u)
      << status;
  EXPECT_EQ(bg95ctl(socket_, "frobnicate").first, 1);
  EXPECT_EQ(bg95ctl(dir_.path() / "nothing.sock", "status").first, 2);
}

TEST_F(ControlE2eTest, DtrUnderAmpD1LeavesDataModeKeepingData) {
  auto& port = start();
  EXPECT_EQ(port.command("AT&D1\r"), "\r\nOK\r\n");
  start_upload(port);
  ctl_ok("dtr low");
  // "abcd": 0x6162 ^ 0x6364 = 0x0206.
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFOTADL: 4,206\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,4\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, DtrUnderAmpD2DropsTheTransfer) {
  auto& port = start();
  EXPECT_EQ(port.command("AT&D2\r"), "\r\nOK\r\n");
  start_upload(port);
  ctl_ok("dtr low");
  EXPECT_EQ(port.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, DtrUnderAmpD0IsIgnored) {
  auto& port = start();
  EXPECT_EQ(port.command("AT&D0\r"), "\r\nOK\r\n");
  start_upload(port);
  ctl_ok("dtr low");
  EXPECT_EQ(port.read_for(std::chrono::milliseconds(200)), "");  // still in data mode
  ctl_ok("dtr high");
  port.write("efghij");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFOTADL: 10,6962\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, PowerCutDuringUpdatingThenPowerOnResumes) {
  // Realistic timing keeps the update long enough to cut it from a shell.
  auto& port = start({"--timing", "realistic", "--time-scale", "0.02"});
  const Bytes source = default_image();
  const std::string pkg = as_string(make_package(source, next_image(source)));
  EXPECT_EQ(port.command("AT+CEREG?\r").find("+CEREG: 0,"), 2u);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\"," + std::to_string(pkg.size()) + "\r"),
            "\r\nCONNECT\r\n");
  port.write(pkg);
  port.read_until("OK\r\n", std::chrono::seconds(30));
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  port.read_until("\"UPDATING\",20\r\n", std::chrono::seconds(60));
  ctl_ok("power cut");
  EXPECT_NE(ctl_ok("status").find("power=off"), std::string::npos);
  port.read_for(std::chrono::milliseconds(100));  // whatever was on its way when power went
  ctl_ok("power on");
  // Power-up goes straight back into DFOTA mode: START again, the update goes on.
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(120));
  EXPECT_EQ(urcs.rfind("\r\n+QIND: \"FOTA\",\"START\"\r\n", 0), 0u) << urcs;
  EXPECT_NE(urcs.find("\r\n+QIND: \"FOTA\",\"END\",0\r\n"), std::string::npos) << urcs;
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, NetworkControlsChangeWhatTheModuleReports) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+CEREG=1\r"), "\r\nOK\r\n");
  ctl_ok("net reg searching");
  EXPECT_EQ(port.read_until("+CEREG: 2\r\n"), "\r\n+CEREG: 2\r\n");
  EXPECT_EQ(port.command("AT+CSQ\r"), "\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
  ctl_ok("net reg home");
  port.read_until("+CEREG: 1\r\n");
  ctl_ok("net csq 12");
  EXPECT_EQ(port.command("AT+CSQ\r"), "\r\n+CSQ: 12,99\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, FlashWriteFailureDuringDownloadIs707) {
  const Bytes source = default_image();
  const std::string pkg = as_string(make_package(source, next_image(source)));
  auto server = std::make_unique<httplib::Server>();
  server->Get("/update.bin", [&pkg](const httplib::Request&, httplib::Response& res) {
    res.set_content(pkg, "application/octet-stream");
  });
  RunningServer http(std::move(server));
  auto& port = start();
  ctl_ok("flash fail always");
  EXPECT_EQ(port.command("AT+QFOTADL=\"http://127.0.0.1:" + std::to_string(http.port()) +
                         "/update.bin\"\r"),
            "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("\"HTTPEND\",707\r\n", std::chrono::seconds(30)),
            "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n\r\n+QIND: \"FOTA\",\"HTTPEND\",707\r\n");
  // The same through the port.
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",100\r"), "\r\n+CME ERROR: 707\r\n");
  ctl_ok("flash off");
  EXPECT_EQ(port.command("AT+CGMR\r"), "\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, FlashFailureDuringTheUpdateIs504AndTheOldImageBoots) {
  auto& port = start();
  const Bytes source = default_image();
  const std::string pkg = as_string(make_package(source, next_image(source)));
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\"," + std::to_string(pkg.size()) + "\r"),
            "\r\nCONNECT\r\n");
  port.write(pkg);
  port.read_until("OK\r\n", std::chrono::seconds(30));
  ctl_ok("flash fail always");
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  port.read_until("\"END\",504\r\n", std::chrono::seconds(30));
  ctl_ok("flash off");
  port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(30));
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  // The package is still there, and with a healthy flash it applies.
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "AT+QFOTADL=1\r\r\nOK\r\n");
  port.read_until("\"END\",0\r\n", std::chrono::seconds(60));
  port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(30));
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(ControlE2eTest, StatusSaysWhyTheLastDfotaFailed) {
  // issue 19: a bare END,511 says nothing a user can act on; status names both images.
  auto& port = start();
  EXPECT_NE(ctl_ok("status").find(" last_error=none"), std::string::npos);
  const Bytes other = next_image(default_image(), 3);
  const std::string pkg = as_string(make_package(other, next_image(other)));
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\"," + std::to_string(pkg.size()) + "\r"),
            "\r\nCONNECT\r\n");
  port.write(pkg);
  port.read_until("OK\r\n", std::chrono::seconds(30));
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
  const std::string status = ctl_ok("status");
  EXPECT_NE(status.find(" last_error=\"511 package is for "), std::string::npos) << status;
  EXPECT_NE(status.find(", flash holds BG95M3LAR02A03_01.011.01.011 (4194304 bytes)\""),
            std::string::npos)
      << status;
}

TEST_F(ControlE2eTest, PowerCutAtAFlashWriteOfTheUpdate) {
  auto& port = start();
  const Bytes source = default_image();
  const std::string pkg = as_string(make_package(source, next_image(source)));
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\"," + std::to_string(pkg.size()) + "\r"),
            "\r\nCONNECT\r\n");
  port.write(pkg);
  port.read_until("OK\r\n", std::chrono::seconds(30));
  ctl_ok("flash cut 3000");  // well inside the copy of a 4 MiB image (about 4100 operations)
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  port.read_until("\"START\"\r\n", std::chrono::seconds(30));
  // The module goes dark at flash operation 3000; status says so once it has. Polled against
  // a deadline, not a count of queries: under load the update is slower than 200 queries.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline &&
         ctl_ok("status").find("power=off") == std::string::npos) {
  }
  EXPECT_NE(ctl_ok("status").find("power=off"), std::string::npos);
  port.read_for(std::chrono::milliseconds(50));
  ctl_ok("power on");
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
  EXPECT_EQ(urcs.rfind("\r\n+QIND: \"FOTA\",\"START\"\r\n", 0), 0u) << urcs;
  EXPECT_NE(urcs.find("\"END\",0\r\n"), std::string::npos);
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
