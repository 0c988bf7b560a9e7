// Fleet mode: several independent modules in one bg95sim process.

#include <cstdio>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

std::string run(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  if (p) ::pclose(p);
  return out;
}

TEST(Fleet, ModulesAreIndependent) {
  TempDir dir;
  const auto socket = dir.path() / "ctl" / "s";
  SimProcess sim(
      SimProcess::Options{dir.path() / "state", {"--count", "3", "--control", socket.string()}});
  // SimProcess links module n at <link>-n.
  const std::string link = sim.link().string();
  std::vector<std::unique_ptr<HostPort>> ports;
  for (int n = 1; n <= 3; ++n) {
    ports.push_back(std::make_unique<HostPort>(link + "-" + std::to_string(n)));
    wait_until_ready(*ports.back());
  }
  // Each its own identity (IMEI from the fleet index, valid Luhn digit).
  EXPECT_EQ(ports[0]->command("AT+CGSN\r"), "AT+CGSN\r\r\n865341040062814\r\n\r\nOK\r\n");
  EXPECT_EQ(ports[1]->command("AT+CGSN\r"), "AT+CGSN\r\r\n865341040062822\r\n\r\nOK\r\n");
  EXPECT_EQ(ports[2]->command("AT+CGSN\r"), "AT+CGSN\r\r\n865341040062830\r\n\r\nOK\r\n");
  // Each its own settings: ATE0 on one does not silence another.
  EXPECT_EQ(ports[0]->command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  EXPECT_EQ(ports[0]->command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(ports[1]->command("AT\r"), "AT\r\r\nOK\r\n");
  // The control socket addresses one module (@1 is module 2) or all.
  const std::string ctl = fmt::format("{} --control {} ", BG95CTL_BINARY, socket.string());
  EXPECT_EQ(run(ctl + "modules"), "OK count=3\n");
  EXPECT_EQ(run(ctl + "@1 power cut"), "OK\n");
  const std::string all = run(ctl + "@all status");
  EXPECT_NE(all.find("0.power=normal"), std::string::npos) << all;
  EXPECT_NE(all.find("1.power=off"), std::string::npos) << all;
  EXPECT_NE(all.find("2.power=normal"), std::string::npos) << all;
  EXPECT_EQ(ports[2]->command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  // A set of modules: @0,2 (module 1 and 3).
  const std::string set = run(ctl + "@0,2 status");
  EXPECT_NE(set.find("0.power=normal"), std::string::npos) << set;
  EXPECT_NE(set.find("2.power=normal"), std::string::npos) << set;
  EXPECT_EQ(set.find("1.power"), std::string::npos) << set;
  EXPECT_EQ(run(ctl + "@1-2 power on"), "OK\n");
  // Each its own state folder.
  for (int n = 1; n <= 3; ++n)
    EXPECT_TRUE(
        std::filesystem::exists(dir.path() / "state" / fmt::format("{:04}", n) / "flash.bin"));
}

}  // namespace
}  // namespace bg95::test
