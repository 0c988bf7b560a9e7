// Fleet mode: several independent modules in one bg95sim process, from --count or from a
// fleet file (docs/fleet.md), each checked on its own pty.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <set>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "scenarios/lwm2m_server/lwm2m_server.hpp"
#include "sim/fleet/fleet_file.hpp"
#include "sim/options.hpp"
#include "sim/state/state_dir.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

// Runs a shell command; its exit status and what it printed.
std::pair<int, std::string> run_command(const std::string& cmd) {
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p))
    out += buf;
  const int status = p ? ::pclose(p) : -1;
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string run(const std::string& cmd) {
  return run_command(cmd).second;
}

// Runs `command` (stdout and stderr) until a line of it holds `until`, then stops it with
// SIGTERM (and after 60 s in any case): what it printed.
std::string run_until(const std::string& command, const std::string& until) {
  FILE* p = ::popen(("echo $$; exec timeout 60 " + command + " 2>&1").c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  char buf[4096];
  const pid_t pid = std::fgets(buf, sizeof buf, p) ? std::atoi(buf) : -1;
  while (std::fgets(buf, sizeof buf, p)) {
    out += buf;
    if (std::string_view(buf).find(until) != std::string_view::npos) break;
  }
  if (pid > 0) ::kill(pid, SIGTERM);
  while (std::fgets(buf, sizeof buf, p))
    out += buf;
  ::pclose(p);
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
  // bg95ctl prints a status of several modules one module a line.
  const std::string all = run(ctl + "@all status");
  EXPECT_NE(all.find("\n@0 power=normal "), std::string::npos) << all;
  EXPECT_NE(all.find("\n@1 power=off "), std::string::npos) << all;
  EXPECT_NE(all.find("\n@2 power=normal "), std::string::npos) << all;
  EXPECT_EQ(ports[2]->command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  // A set of modules: @0,2 (module 1 and 3).
  const std::string set = run(ctl + "@0,2 status");
  EXPECT_NE(set.find("\n@0 power=normal "), std::string::npos) << set;
  EXPECT_NE(set.find("\n@2 power=normal "), std::string::npos) << set;
  EXPECT_EQ(set.find("\n@1 "), std::string::npos) << set;
  EXPECT_EQ(run(ctl + "@1-2 power on"), "OK\n");
  // Each its own state folder.
  for (int n = 1; n <= 3; ++n)
    EXPECT_TRUE(
        std::filesystem::exists(dir.path() / "state" / fmt::format("{:04}", n) / "flash.bin"));
}

TEST(Fleet, UpdateOnTheSharedFactoryFlashIsTheModulesOwnAndSurvivesARestart) {
  // Every module of a fleet starts reading the same factory flash; a DFOTA on module 1 makes
  // the blocks it changes its own: module 2 keeps the old image, before and after a restart.
  TempDir dir;
  const Bytes source = default_image();
  const Bytes package = make_package(source, next_image(source));
  auto http = std::make_unique<httplib::Server>();
  http->Get("/update.bin", [&package](const httplib::Request&, httplib::Response& res) {
    res.set_content(as_string(package), "application/octet-stream");
  });
  RunningServer server(std::move(http));
  const auto state = dir.path() / "state";
  {
    SimProcess sim(SimProcess::Options{state, {"--count", "2"}});
    HostPort one(sim.link().string() + "-1"), two(sim.link().string() + "-2");
    wait_until_ready(one);
    wait_until_ready(two);
    EXPECT_EQ(
        one.command(fmt::format("AT+QFOTADL=\"http://127.0.0.1:{}/update.bin\"\r", server.port())),
        "AT+QFOTADL=\"http://127.0.0.1:" + std::to_string(server.port()) +
            "/update.bin\"\r\r\nOK\r\n");
    const std::string urcs = one.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
    EXPECT_NE(urcs.find("+QIND: \"FOTA\",\"END\",0\r\n"), std::string::npos) << urcs;
    EXPECT_EQ(one.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
    EXPECT_EQ(two.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
    EXPECT_EQ(sim.stop(), 0);
  }
  SimProcess again(SimProcess::Options{state, {"--count", "2"}});
  HostPort one(again.link().string() + "-1"), two(again.link().string() + "-2");
  wait_until_ready(one);
  wait_until_ready(two);
  EXPECT_EQ(one.command("AT+QGMR\r"), "AT+QGMR\r\r\nBG95M3LAR02A04_01.012.01.012\r\n\r\nOK\r\n");
  EXPECT_EQ(two.command("AT+QGMR\r"), "AT+QGMR\r\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n");
}

// ---- fleet files

std::filesystem::path write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

TEST(FleetFile, ModelsFirmwareIdentitiesLinksStateAndEndpoints) {
  TempDir dir;
  const std::string d = dir.path().string();
  // Modules 1-2 are BG77s; 3 runs an older BG95-M3 firmware with its own IMSI and ICCID;
  // 4 starts a second IMEI range and keeps its state elsewhere; the rest from the defaults.
  const auto file = write_file(dir.path() / "fleet.yaml", fmt::format(R"(# a test fleet
count: 4
defaults: {{imei_start: "490154203237518", link: "{0}/m-{{:02}}", lwm2m_endpoint: "bg95-{{}}"}}
modules:
  - {{range: 1-2, model: BG77, firmware: BG77LAR02A04_01.012.01.012}}
  - range: 3
    firmware: BG95M3LAR02A02_01.010.01.010
    imsi_start: "505019876543210"
    iccid_start: "8988200000000000014"
  - {{range: 4, imei_start: "356938035643809", state: "{0}/elsewhere-{{}}"}}
)",
                                                                      d));
  SimProcess sim(SimProcess::Options{dir.path() / "state", {"--fleet", file.string()}});
  std::vector<std::unique_ptr<HostPort>> m;
  for (int n = 1; n <= 4; ++n) {
    m.push_back(std::make_unique<HostPort>(fmt::format("{}/m-{:02}", d, n)));
    wait_until_ready(*m.back());
  }
  EXPECT_EQ(m[0]->command("ATI\r"),
            "ATI\r\r\nQuectel\r\nBG77\r\nRevision: BG77LAR02A04\r\n\r\nOK\r\n");
  EXPECT_EQ(m[1]->command("AT+QGMR\r"), "AT+QGMR\r\r\nBG77LAR02A04_01.012.01.012\r\n\r\nOK\r\n");
  EXPECT_EQ(m[2]->command("ATI\r"),
            "ATI\r\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A02\r\n\r\nOK\r\n");
  EXPECT_EQ(m[2]->command("AT+QGMR\r"), "AT+QGMR\r\r\nBG95M3LAR02A02_01.010.01.010\r\n\r\nOK\r\n");
  EXPECT_EQ(m[3]->command("AT+QGMR\r"), "AT+QGMR\r\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n");
  // IMEIs count up from the range's start with a new Luhn digit; module 4 starts another.
  const char* imeis[] = {"490154203237518", "490154203237526", "490154203237534",
                         "356938035643809"};
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(m[static_cast<std::size_t>(i)]->command("AT+CGSN\r"),
              fmt::format("AT+CGSN\r\r\n{}\r\n\r\nOK\r\n", imeis[i]));
  EXPECT_EQ(m[2]->command("AT+CIMI\r"), "AT+CIMI\r\r\n505019876543210\r\n\r\nOK\r\n");
  EXPECT_EQ(m[2]->command("AT+QCCID\r"),
            "AT+QCCID\r\r\n+QCCID: 8988200000000000014F\r\n\r\nOK\r\n");
  EXPECT_EQ(m[3]->command("AT+CIMI\r"), "AT+CIMI\r\r\n505013123456792\r\n\r\nOK\r\n");
  // LwM2M endpoint names from the pattern.
  for (int n = 1; n <= 4; ++n)
    EXPECT_EQ(m[static_cast<std::size_t>(n - 1)]->command("AT+QLWCFG=\"epns\"\r"),
              fmt::format(
                  "AT+QLWCFG=\"epns\"\r\r\n+QLWCFG: \"epns\",1,\"\",\"bg95-{}\"\r\n\r\nOK\r\n", n));
  // State folders: <state>/<nnnn>, or the entry's pattern.
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "state" / "0003" / "flash.bin"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "elsewhere-4" / "flash.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state" / "0004"));
  // One factory flash per distinct default image (BG77 012, BG95-M3 A02, BG95-M3 A03), named
  // by each module's flash; no module wrote its image itself.
  std::vector<std::string> factories;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "state" / ".factory"))
    factories.push_back(
        e.path().filename().string().substr(0, e.path().filename().string().rfind('-')));
  std::sort(factories.begin(), factories.end());
  EXPECT_EQ(factories,
            (std::vector<std::string>{"BG77LAR02A04_01.012.01.012", "BG95M3LAR02A02_01.010.01.010",
                                      "BG95M3LAR02A03_01.011.01.011"}));
  const auto link = [](const std::filesystem::path& state) {
    std::ifstream in(state / "flash.bin.factory");
    std::string line;
    std::getline(in, line);
    return line;
  };
  EXPECT_EQ(link(dir.path() / "state" / "0001"), link(dir.path() / "state" / "0002"));
  EXPECT_NE(link(dir.path() / "state" / "0001"), link(dir.path() / "state" / "0003"));
  EXPECT_TRUE(link(dir.path() / "state" / "0003").starts_with("../.factory/BG95M3LAR02A02"));
  for (const auto& state : {dir.path() / "state" / "0001", dir.path() / "elsewhere-4"}) {
    struct stat st {};
    ASSERT_EQ(::stat((state / "flash.bin").c_str(), &st), 0);
    EXPECT_LT(st.st_blocks * 512, 64 * 1024) << state;  // the 4 MiB image is not in it
  }
}

// bg95sim with this fleet file: its exit status and what it printed.
std::pair<int, std::string> run_fleet(const TempDir& dir, const std::string& text) {
  const auto file = write_file(dir.path() / "bad.yaml", text);
  return run_command(fmt::format("{} --fleet {} --state {} 2>&1", BG95SIM_BINARY, file.string(),
                                 (dir.path() / "state").string()));
}

// A scenario in a fleet: every module gets its set-up, and a rule's `modules:` picks which
// modules it watches (here module 2 alone, and modules 1 and 3).
TEST(Fleet, ScenarioRulesAddressOneModuleOrASet) {
  TempDir dir;
  const auto file = write_file(dir.path() / "fleet-scenario.yaml", R"(name: fleet-scenario
module:
  network: {csq: 20}
rules:
  - {name: weak, when: {command: CSQ}, modules: 2, do: {respond: ["+CSQ: 3,99", OK]}}
  - {name: busy, when: {command: CGMR}, modules: [1, 3], do: {respond: [ERROR]}}
)");
  SimProcess sim(
      SimProcess::Options{dir.path() / "state", {"--count", "3", "--scenario", file.string()}});
  const std::string link = sim.link().string();
  std::vector<std::unique_ptr<HostPort>> ports;
  for (int n = 1; n <= 3; ++n) {
    ports.push_back(std::make_unique<HostPort>(link + "-" + std::to_string(n)));
    wait_until_ready(*ports.back());
  }
  EXPECT_EQ(ports[0]->command("AT+CSQ\r"), "AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
  EXPECT_EQ(ports[1]->command("AT+CSQ\r"), "AT+CSQ\r\r\n+CSQ: 3,99\r\n\r\nOK\r\n");
  EXPECT_EQ(ports[2]->command("AT+CSQ\r"), "AT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n");
  EXPECT_EQ(ports[0]->command("AT+CGMR\r"), "AT+CGMR\r\r\nERROR\r\n");
  EXPECT_EQ(ports[1]->command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  EXPECT_EQ(ports[2]->command("AT+CGMR\r"), "AT+CGMR\r\r\nERROR\r\n");
}

TEST(FleetFile, ErrorsNameFileLineAndKeyAndStartNothing) {
  TempDir dir;
  const std::string f = (dir.path() / "bad.yaml").string();
  const std::pair<std::string, std::string> cases[] = {
      {"count: 5\ndefaults: {modle: BG77}\n",
       ":2:12: defaults.modle: unknown key (known: model, firmware, imei_start, imsi_start, "
       "iccid_start, link, usb_link, state, lwm2m_endpoint, dialect, ports)"},
      {"count: 2\ndefaults: {ports: serial}\n",
       ":2:19: defaults.ports: \"serial\" is not pty or none"},
      {"count: 5\nmodules:\n  - {range: 0-3, model: BG77}\n",
       ":3:13: modules[0].range: 0-3 is not within 1..5 (count)"},
      {"count: 5\nmodules:\n  - {range: 2, model: BG77, firmware: BG95M3LAR02A02_01.010.01.010}\n",
       ":3:39: modules[0].firmware: module 2 is a BG77, whose firmware revisions start with BG77"},
      {"count: 5\ndefaults: {imei_start: \"865341040062815\"}\n",
       ":2:24: defaults.imei_start: the IMEI's check digit (Luhn) should be 4"},
      {"count: 5\ndefaults: {imei_start: \"865341049999990\"}\n",
       ":2:24: defaults.imei_start: the IMEI serial number (6 digits, from 999999) runs out after "
       "1 of 2 modules"},
      {"count: 3\nmodules:\n  - {range: 2, imei_start: \"865341040062814\"}\n",
       ":3:28: modules[0].imei_start: modules 1 and 2 would have the same IMEI 865341040062814"},
      {"count: 2\ndefaults: {link: \"/tmp/x-{:q}\"}\n",
       ":2:18: defaults.link: bad pattern \"/tmp/x-{:q}\" (invalid type specifier); {} or {:04} "
       "is the module number"},
      {"count: 2\nmodules:\n  - {firmware: BG95M3LAR02A02_01.010.01.010}\n",
       ":3:5: modules[0].range: missing (which modules: N or FIRST-LAST)"},
      {"count: 2\nmodules:\n  - {range: 1, model: BG99}\n",
       ":3:23: modules[0].model: unknown model \"BG99\" (BG95-M1, BG95-M2, BG95-M3, BG95-M4, "
       "BG95-M5 or BG77)"},
      {"count: [5\n", ":2:1: end of sequence flow not found"},
      {"count: 3\ncount: 4\n", ":2:1: count: given twice"},
      {"modules: []\n", ":1:1: count: missing (how many modules)"},
      {"count: 20000\n", ":1:8: count: \"20000\" is not a number in 1..10000"},
      // The module options of a `dialect` (sim/options.hpp).
      {"count: 2\ndefaults:\n  dialect: {echoo: false}\n",
       ":3:13: defaults.dialect.echoo: unknown key (known: percent_sign, downloading_step, echo, "
       "coalesce_urcs, coap_progress, restore_phase, resume_notice)"},
      {"count: 2\nmodules:\n  - {range: 1, dialect: {echo: true}}\n  - range: 2\n"
       "    dialect: {downloading_step: 0}\n",
       ":5:33: modules[1].dialect.downloading_step: \"0\" is not a number in 1..100"},
      {"count: 2\ndefaults: {dialect: {echo: 1}}\n",
       ":2:28: defaults.dialect.echo: \"1\" is not true or false"},
      {"count: 2\ndefaults: {dialect: echo}\n",
       ":2:21: defaults.dialect: a map of module options (docs/scenarios.md, \"Dialects\")"},
  };
  for (const auto& [text, error] : cases) {
    SCOPED_TRACE(text);
    const auto [status, out] = run_fleet(dir, text);
    EXPECT_EQ(status, 2);
    EXPECT_EQ(out, "bg95sim: " + f + error + "\n");
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));  // nothing was created
  }
}

// ---- headless modules (--ports none, issue 20)

std::size_t open_files(pid_t pid) {
  const auto fds = std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid));
  return static_cast<std::size_t>(std::distance(fds, std::filesystem::directory_iterator{}));
}

// Modules 3 to 5 have no port: no pty, no link. They register with LwM2M and obey the control
// socket as the others do; the fleet's ready line comes when every module answers (modules 1
// and 2 answer AT at once, with no retry), and the process holds no more open files than the
// budget it checked at start says.
TEST(Fleet, HeadlessModulesRunBesidePtyModules) {
  TempDir dir;
  peer::Lwm2mServer lwm2m;
  const auto socket = dir.path() / "ctl" / "s";
  const std::string fleet = "count: 5\nmodules:\n  - {range: 3-5, ports: none}\n";
  const auto file = write_file(dir.path() / "fleet.yaml", fleet);
  SimProcess sim(
      SimProcess::Options{dir.path() / "state",
                          {"--fleet", file.string(), "--control", socket.string(), "--lwm2m-server",
                           lwm2m.uri(), "--lwm2m-autoreg", "--lwm2m-endpoint", "bg95-{}"},
                          false});
  const std::string link = sim.link().string();
  for (int n = 1; n <= 2; ++n) {
    HostPort port(link + "-" + std::to_string(n));
    EXPECT_EQ(port.command("AT\r", std::chrono::seconds(1)), "AT\r\r\nOK\r\n") << n;
  }
  for (int n = 3; n <= 5; ++n)
    EXPECT_FALSE(
        std::filesystem::exists(std::filesystem::symlink_status(link + "-" + std::to_string(n))))
        << n;
  lwm2m.wait_registration(5, std::chrono::seconds(30));
  std::set<std::string> endpoints;
  for (std::size_t i = 1; i <= lwm2m.registration_count(); ++i)
    endpoints.insert(lwm2m.registration(i).endpoint);
  EXPECT_EQ(endpoints, (std::set<std::string>{"bg95-1", "bg95-2", "bg95-3", "bg95-4", "bg95-5"}));
  const std::string ctl = fmt::format("{} --control {} ", BG95CTL_BINARY, socket.string());
  EXPECT_EQ(run(ctl + "@3 power cut"), "OK\n");
  const std::string all = run(ctl + "@all status");
  EXPECT_NE(all.find("\n@3 power=off "), std::string::npos) << all;
  EXPECT_NE(all.find("\n@4 power=normal "), std::string::npos) << all;

  fleet::FleetDefaults defaults;
  defaults.state = dir.path() / "state";
  defaults.link = link;
  const auto plan = fleet::load_fleet_file(file, defaults);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->modules[1].link, link + "-2");
  EXPECT_EQ(plan->modules[2].link, "");  // headless: the pattern is for the others
  const auto budget = fleet::budget(*plan, {}, defaults.state, true, 1 << 20, std::nullopt);
  EXPECT_EQ(budget.ptys, 2u);
  EXPECT_LE(open_files(sim.pid()), budget.descriptors);
}

// Issue 20: a fleet locks its state root once instead of each module's folder. A folder below
// it is still refused to anyone else while the fleet runs (a module started alone takes a shared
// lock of the root's fleet.lock, which the fleet's exclusive one excludes; flock excludes across
// open files of one process as across processes), and the fleet is refused while a module of
// it runs alone.
TEST(FleetLock, ModuleFoldersBelowALockedRootAreRefusedToOthers) {
  TempDir dir;
  const auto root = dir.path() / "state";
  const auto what = [](const auto& make) -> std::string {
    try {
      make();
    } catch (const state::StateError& e) {
      return e.what();
    }
    return "not refused";
  };
  {
    state::FleetLock fleet(root);
    state::StateDir covered(root / "0001", &fleet);
    EXPECT_FALSE(std::filesystem::exists(root / "0001" / "lock"));  // no lock of its own
    EXPECT_EQ(what([&] { state::StateDir alone(root / "0001"); }),
              (root / "0001").string() +
                  ": state folder is in use by another bg95sim (the fleet of " + root.string() +
                  ")");
    EXPECT_EQ(what([&] { state::FleetLock second(root); }),
              root.string() +
                  ": this fleet's state is in use by another bg95sim (the fleet, or one of its "
                  "modules started alone)");
    // A folder elsewhere (a fleet file's `state` pattern) is locked on its own, as before.
    state::StateDir elsewhere(dir.path() / "late-1", &fleet);
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "late-1" / "lock"));
    EXPECT_EQ(what([&] { state::StateDir again(dir.path() / "late-1"); }),
              (dir.path() / "late-1").string() + ": state folder is in use by another bg95sim");
  }
  {
    state::StateDir alone(root / "0002");
    EXPECT_EQ(what([&] { state::FleetLock fleet(root); }),
              root.string() +
                  ": this fleet's state is in use by another bg95sim (the fleet, or one of its "
                  "modules started alone)");
  }
  state::FleetLock free_again(root);
}

// The same through the programs: a module of a running fleet started alone is refused.
TEST(FleetLock, AModuleOfARunningFleetCannotBeStartedAlone) {
  TempDir dir;
  const auto root = dir.path() / "state";
  const auto file =
      write_file(dir.path() / "fleet.yaml", "count: 2\nmodules:\n  - {range: 2, ports: none}\n");
  SimProcess fleet(SimProcess::Options{root, {"--fleet", file.string()}, false});
  const auto [status, out] = run_command(
      fmt::format("{} --ports none --state {} 2>&1", BG95SIM_BINARY, (root / "0001").string()));
  EXPECT_EQ(status, 2);
  EXPECT_NE(
      out.find((root / "0001").string() +
               ": state folder is in use by another bg95sim (the fleet of " + root.string() + ")"),
      std::string::npos)
      << out;
}

// bg95sim raises its soft limit of open files to the hard one, and refuses a fleet that does
// not fit what it has then, naming the numbers, before it makes anything.
TEST(Fleet, AFleetThatDoesNotFitItsOpenFilesIsRefusedBeforeItStarts) {
  TempDir dir;
  const auto state = dir.path() / "state";
  const auto [status, out] =
      run_command(fmt::format("prlimit --nofile=100:100 {} --count 20 --ports none --state {} 2>&1",
                              BG95SIM_BINARY, state.string()));
  EXPECT_EQ(status, 2);
  EXPECT_TRUE(
      out.starts_with("bg95sim: 20 modules need about 124 open files and 0 ptys (per "
                      "module: 2 per pty, 1 for an LwM2M client, 1 for a state folder outside "
                      "the fleet's locked --state folder; 64 for the process and up to 256 open "
                      "flash files), but this process may open 100 files (RLIMIT_NOFILE)"))
      << out;
  EXPECT_NE(out.find(": 12 of them fit. Raise the limit (e.g. prlimit --nofile=124:124 bg95sim"),
            std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(state));
  // A soft limit of 50 under a hard one of 200: raised, and the same fleet fits and starts.
  const std::string said =
      run_until(fmt::format("prlimit --nofile=50:200 {} --count 20 --ports none --state {} -v",
                            BG95SIM_BINARY, state.string()),
                "bg95sim: fleet of 20 modules ready");
  EXPECT_NE(said.find("bg95sim: 20 modules need about 124 open files of 200 and 0 ptys"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("bg95sim[20]: BG95-M3 ready, headless (no host port)\n"), std::string::npos)
      << said;
}

// The fleet's ready line waits for every module, and names one that will not answer: here a
// scenario's rule powers module 2 off as it powers on.
TEST(Fleet, TheReadyLineNamesAModuleThatDoesNotAnswer) {
  TempDir dir;
  const auto file = write_file(dir.path() / "dark.yaml", R"(name: dark
rules:
  - {name: dark, when: {power: on}, modules: 2, do: power_off}
)");
  const std::string said = run_until(
      fmt::format("{} --count 3 --scenario {} --state {} --link {}", BG95SIM_BINARY, file.string(),
                  (dir.path() / "state").string(), (dir.path() / "port").string()),
      "modules ready");
  EXPECT_NE(said.find("\nbg95sim: fleet of 3 modules ready (control: none); not answering AT: 2 "
                      "(powered off)\n"),
            std::string::npos)
      << said;
}

// ---- the module options (sim/options.hpp) in a fleet file's `dialect`

// The defaults set an option for every module, an entry overrides it per key for its range,
// and the command line's (here percent_sign) stays what neither sets.
TEST(FleetFile, DialectOfTheDefaultsAndEntriesOverridesPerKey) {
  TempDir dir;
  const auto file = write_file(dir.path() / "fleet.yaml", R"(count: 3
defaults:
  dialect: {downloading_step: 5, echo: false}
modules:
  - range: 2-3
    dialect: {downloading_step: 25}
  - {range: 3, dialect: {echo: true, coalesce_urcs: true}}
)");
  fleet::FleetDefaults defaults;
  defaults.state = dir.path() / "state";
  defaults.dialect.percent_sign = true;
  const auto plan = fleet::load_fleet_file(file, defaults);
  ASSERT_TRUE(plan) << plan.error();
  ASSERT_EQ(plan->modules.size(), 3u);
  const auto& m = plan->modules;
  EXPECT_EQ(m[0].dialect.downloading_step, 5);
  EXPECT_EQ(m[1].dialect.downloading_step, 25);
  EXPECT_EQ(m[2].dialect.downloading_step, 25);
  EXPECT_FALSE(m[0].dialect.echo);
  EXPECT_FALSE(m[1].dialect.echo);
  EXPECT_TRUE(m[2].dialect.echo);
  EXPECT_FALSE(m[1].dialect.coalesce_urcs);
  EXPECT_TRUE(m[2].dialect.coalesce_urcs);
  for (const auto& module : m)
    EXPECT_TRUE(module.dialect.percent_sign) << module.number;
}

// Every option of the table is a key of a fleet file's `dialect`, set as in a scenario.
TEST(FleetFile, EveryDialectOptionIsAKey) {
  TempDir dir;
  fleet::FleetDefaults defaults;
  defaults.state = dir.path() / "state";
  for (const auto& o : options::dialect_options()) {
    SCOPED_TRACE(o.key);
    const bool number = o.kind == options::Kind::Number;
    const bool flag = number || !(Dialect{}.*o.flag);
    const auto file = write_file(dir.path() / "fleet.yaml",
                                 fmt::format("count: 1\ndefaults: {{dialect: {{{}: {}}}}}\n", o.key,
                                             number ? "7"
                                             : flag ? "true"
                                                    : "false"));
    const auto plan = fleet::load_fleet_file(file, defaults);
    ASSERT_TRUE(plan) << plan.error();
    const Dialect& d = plan->modules.at(0).dialect;
    if (number) {
      EXPECT_EQ(d.*o.number, 7);
    } else {
      EXPECT_EQ(d.*o.flag, flag);
    }
  }
}

// End to end: module 1 has the command line's dialect (no echo), module 2 its entry's (echo),
// module 3 the later entry's, over the first.
TEST(FleetFile, EachModuleRunsItsDialect) {
  TempDir dir;
  const auto file = write_file(dir.path() / "fleet.yaml", R"(count: 3
modules:
  - {range: 2-3, dialect: {echo: true}}
  - {range: 3, dialect: {echo: false}}
)");
  SimProcess sim(
      SimProcess::Options{dir.path() / "state", {"--fleet", file.string(), "--echo-default", "0"}});
  std::vector<std::unique_ptr<HostPort>> ports;
  for (int n = 1; n <= 3; ++n) {
    ports.push_back(std::make_unique<HostPort>(sim.link().string() + "-" + std::to_string(n)));
    wait_until_ready(*ports.back());
  }
  EXPECT_EQ(ports[0]->command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(ports[1]->command("AT\r"), "AT\r\r\nOK\r\n");
  EXPECT_EQ(ports[2]->command("AT\r"), "\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
