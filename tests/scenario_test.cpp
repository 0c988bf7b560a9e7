// Fault scenarios end to end: every file of the library in scenarios/ runs with its host script
// against a real module on a real pty, with real servers on 127.0.0.1, and must end with its
// expected verdict; scenarios that must fail do fail, and say why; a recorded transcript
// replays byte for byte and a changed one is caught; the JUnit report parses with Python's
// xml.etree; bg95sim --scenario fires its rules for a host on the port and records them.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "scenarios/engine/runner.hpp"
#include "scenarios/engine/scenario.hpp"
#include "tests/support/coap_test_server.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> library_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(fs::path(BG95SIM_SOURCE_DIR) / "scenarios"))
    if (e.path().extension() == ".yaml") files.push_back(e.path().stem().string());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

scenario::RunResult run_file(const fs::path& file, const fs::path& transcripts = {}) {
  scenario::RunOptions o;
  o.transcript_dir = transcripts;
  return scenario::run_scenario(scenario::parse_scenario(file), o);
}

// ---- the library --------------------------------------------------------------------------

class ScenarioLibrary : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioLibrary, EndsWithItsExpectedVerdict) {
  TempDir dir;
  const auto r =
      run_file(fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / (GetParam() + ".yaml"), dir.path());
  EXPECT_TRUE(r.passed) << r.reason << "\nhost received (end): " << r.host_tail << "\n"
                        << read_text(r.transcript).substr(0, 20000);
  EXPECT_TRUE(r.verdict_pass) << r.reason;
  // The transcript was written, with its header first.
  std::ifstream json(dir.path() / (GetParam() + ".jsonl"));
  std::string first;
  ASSERT_TRUE(std::getline(json, first));
  EXPECT_EQ(nlohmann::json::parse(first).at("format"), "bg95sim-transcript");
}

INSTANTIATE_TEST_SUITE_P(Files, ScenarioLibrary, ::testing::ValuesIn(library_files()),
                         [](const ::testing::TestParamInfo<std::string>& file) {
                           std::string name = file.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// A slow flash (the fault table's flash_slow) slows the update: its steps wait for the flash.
// Without the fault this update is over well within the second of silence asked for.
TEST(ScenarioFaults, ASlowFlashSlowsTheUpdate) {
  const std::string text = R"(name: slow-flash-during-update
module:
  firmware: {size: 16KiB}
packages:
  update: {change: 0.05}
server:
  http: 0
  packages: {/update.bin: update}
rules:
  - name: slow
    when: {urc: 'HTTPEND'}
    do: {flash_slow: 150ms}
host:
  timeout: 30s
  steps:
    - expect: "+QIND: SMS DONE"
    - send: "AT+QFOTADL=\"${server.http}/update.bin\"\r"
    - expect: '+QIND: "FOTA","START"'
    - expect_not: {pattern: 'END', within: 2s}
    - expect: '+QIND: "FOTA","END",0'
expect:
  verdict: pass
  firmware: {target_of: update}
)";
  TempDir dir;
  scenario::RunOptions o;
  o.transcript_dir = dir.path();
  const auto r = scenario::run_scenario(scenario::parse_scenario_text(text, "t.yaml"), o);
  EXPECT_TRUE(r.passed) << r.reason << "\nhost received (end): " << r.host_tail;
}

TEST(ScenarioLibraryFiles, AtLeastTwentyAndAllNamedAsTheirFile) {
  const auto files = library_files();
  EXPECT_GE(files.size(), 20u);
  for (const auto& f : files)
    EXPECT_EQ(
        scenario::parse_scenario(fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / (f + ".yaml")).name,
        f);
}

// ---- runs that must not pass --------------------------------------------------------------

fs::path must(const std::string& name) {
  return fs::path(BG95SIM_SOURCE_DIR) / "tests" / "scenarios" / (name + ".yaml");
}

TEST(ScenarioRunner, AnExpectThatNeverComesFailsWithWhatArrived) {
  const auto r = run_file(must("must-fail-wrong-urc"));
  EXPECT_FALSE(r.passed);
  EXPECT_FALSE(r.verdict_pass);
  EXPECT_NE(r.reason.find("step 3 (line 15"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("did not arrive within 2000 ms; received since the last match:"),
            std::string::npos)
      << r.reason;
  // The package check's real result is in what the host saw.
  EXPECT_NE(r.reason.find("+QIND: \"FOTA\",\"HTTPEND\",710"), std::string::npos) << r.reason;
}

TEST(ScenarioRunner, FinalChecksNameEveryMismatch) {
  const auto r = run_file(must("must-fail-final-state"));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reason,
            "final state: the revision is BG95M3LAR02A03, not BG95M3LAR02A99; the package area "
            "holds 0 bytes, not 5");
}

TEST(ScenarioRunner, AVerdictRuleEndsTheRunAtOnce) {
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_file(must("must-fail-verdict-rule"));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.reason, "verdict fail: seen the banner");
  // The host's 5 s pause was cut short by the verdict.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
}

TEST(ScenarioRunner, AnExpectedFailPasses) {
  const auto r = run_file(must("expected-fail"));
  EXPECT_TRUE(r.passed) << r.reason;
  EXPECT_FALSE(r.verdict_pass);
  EXPECT_EQ(r.reason, "verdict fail: on purpose");
}

// ---- replay -------------------------------------------------------------------------------

int run_cli(const std::vector<std::string>& args, const fs::path& log) {
  std::vector<std::string> all{BG95_SCENARIO_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  return run_program(all, log, std::chrono::seconds(120));
}

TEST(Replay, ARecordedRunReplaysByteForByteAndAChangedOneIsCaught) {
  TempDir dir;
  const auto file = fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / "com-upload-escape-with-plus.yaml";
  ASSERT_TRUE(run_file(file, dir.path()).passed);
  const fs::path jsonl = dir.path() / "com-upload-escape-with-plus.jsonl";
  const fs::path log = dir.path() / "replay.log";
  EXPECT_EQ(run_cli({"replay", jsonl.string()}, log), 0) << read_text(log);
  EXPECT_NE(read_text(log).find("PASS  com-upload-escape-with-plus"), std::string::npos)
      << read_text(log);

  // One byte of the module's recorded answer changed: the replay says where.
  std::string text = read_text(jsonl);
  std::size_t at = std::string::npos;
  for (std::size_t line = 0; line < text.size(); line = text.find('\n', line) + 1) {
    const std::string_view l = std::string_view(text).substr(line, text.find('\n', line) - line);
    if (l.find("\"type\":\"module\"") != std::string_view::npos &&
        l.find("+QFOTADL: 19,") != std::string_view::npos) {
      at = line + l.find("+QFOTADL: 19,");
      break;
    }
  }
  ASSERT_NE(at, std::string::npos);
  text[at + 11] = '8';  // "+QFOTADL: 19," -> "+QFOTADL: 18,"
  const fs::path changed = dir.path() / "changed.jsonl";
  std::ofstream(changed) << text;
  const fs::path log2 = dir.path() / "replay2.log";
  EXPECT_EQ(WEXITSTATUS(run_cli({"replay", changed.string()}, log2)), 1) << read_text(log2);
  EXPECT_NE(read_text(log2).find("the module's uart output differs at byte"), std::string::npos)
      << read_text(log2);
  EXPECT_NE(read_text(log2).find("+QFOTADL: 18,"), std::string::npos) << read_text(log2);
}

// ---- JUnit --------------------------------------------------------------------------------

TEST(Junit, TheReportParsesWithPythonAndCountsEachScenario) {
  TempDir dir;
  const fs::path xml = dir.path() / "report.xml";
  const fs::path log = dir.path() / "run.log";
  const int status =
      run_cli({"run", "--junit", xml.string(),
               (fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / "http-update.yaml").string(),
               (fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / "error-705-url-error.yaml").string(),
               must("must-fail-final-state").string()},
              log);
  EXPECT_EQ(WEXITSTATUS(status), 1) << read_text(log);  // one failed
  EXPECT_NE(read_text(log).find("2 passed, 1 failed"), std::string::npos) << read_text(log);
  // Python's own XML parser reads it, and the counts and cases are as run.
  const fs::path check = dir.path() / "check.py";
  std::ofstream(check) << R"(import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suite = root.find("testsuite")
assert suite.get("tests") == "3" and suite.get("failures") == "1", suite.attrib
cases = suite.findall("testcase")
names = [c.get("name") for c in cases]
assert names == ["http-update", "error-705-url-error", "must-fail-final-state"], names
failed = [c.get("name") for c in cases if c.find("failure") is not None]
assert failed == ["must-fail-final-state"], failed
message = cases[2].find("failure").get("message")
assert "the revision is BG95M3LAR02A03, not BG95M3LAR02A99" in message, message
assert all(c.find("system-out") is not None for c in cases)
print("junit ok")
)";
  const fs::path pylog = dir.path() / "python.log";
  EXPECT_EQ(run_program({"/usr/bin/python3", check.string(), xml.string()}, pylog), 0)
      << read_text(pylog) << read_text(xml);
  EXPECT_EQ(read_text(pylog), "junit ok\n");
}

// ---- bg95sim --scenario ---------------------------------------------------------------------

TEST(SimScenario, RulesFireForAHostOnThePortAndTheTranscriptReplays) {
  TempDir dir;
  const fs::path base = dir.path() / "session";
  SimProcess sim(
      {.state_dir = dir.path() / "state",
       .extra_args =
           {"--scenario",
            (fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / "power-cut-during-update.yaml").string(),
            "--transcript", base.string()},
       .wait_for_boot = true});
  // The server's address is in the transcript's header.
  std::ifstream json(base.string() + ".jsonl");
  std::string first;
  ASSERT_TRUE(std::getline(json, first));
  const std::string http = nlohmann::json::parse(first).at("vars").at("server.http");
  auto& port = sim.open_port();
  EXPECT_EQ(port.command("AT+QFOTADL=\"" + http + "/update.bin\"\r"),
            "AT+QFOTADL=\"" + http + "/update.bin\"\r\r\nOK\r\n");
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(30));
  // UPDATING 43 %, then (power cut, power on) START again.
  const auto cut = urcs.find("+QIND: \"FOTA\",\"UPDATING\",43\r\n");
  ASSERT_NE(cut, std::string::npos) << urcs;
  EXPECT_NE(urcs.find("+QIND: \"FOTA\",\"START\"\r\n", cut), std::string::npos) << urcs;
  EXPECT_NE(urcs.find("+QIND: \"FOTA\",\"END\",0\r\n", cut), std::string::npos) << urcs;
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
  EXPECT_EQ(sim.stop(), 0);
  const std::string text = read_text(base.string() + ".txt");
  EXPECT_NE(text.find("rule \"cut-at-43\" fired (UPDATING 43 %, occurrence 1): power_cut; power_on "
                      "after 200 ms"),
            std::string::npos)
      << text.substr(0, 4000);
  // The session replays from its saved state, against a new server.
  const fs::path log = dir.path() / "replay.log";
  EXPECT_EQ(run_cli({"replay", base.string() + ".jsonl"}, log), 0) << read_text(log);
}

TEST(SimScenario, AStateWithAnotherImageIsRefusedNotSilentlyKept) {
  // issue 19: --scenario on an existing state ran that state's image and ignored the
  // scenario's firmware. A state whose image is the scenario's is taken; another is refused.
  TempDir dir;
  const std::string scenario =
      (fs::path(BG95SIM_SOURCE_DIR) / "scenarios" / "power-cut-during-update.yaml").string();
  { SimProcess plain({.state_dir = dir.path() / "state", .extra_args = {}}); }  // 4 MiB image
  try {
    SimProcess sim({.state_dir = dir.path() / "state", .extra_args = {"--scenario", scenario}});
    ADD_FAILURE() << "started on a state with another image";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "state holds firmware BG95M3LAR02A03_01.011.01.011 (4194304 bytes), not the "
                  "scenario's BG95M3LAR02A03_01.011.01.011 (524288 bytes): a scenario's module "
                  "section sets up a new state folder. Give --state a folder that does not exist "
                  "yet, or remove this one."),
              std::string::npos)
        << e.what();
  }
  // A new state, then the same state again: the scenario's own image, taken both times.
  { SimProcess first({.state_dir = dir.path() / "fresh", .extra_args = {"--scenario", scenario}}); }
  SimProcess again({.state_dir = dir.path() / "fresh", .extra_args = {"--scenario", scenario}});
  EXPECT_EQ(again.open_port().command("ATI\r"),
            "ATI\r\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
}

TEST(SimScenario, APlainSessionIsRecordedAndReplays) {
  TempDir dir;
  const fs::path base = dir.path() / "plain";
  {
    SimProcess sim({.state_dir = dir.path() / "state",
                    .extra_args = {"--transcript", base.string(), "--guard-time", "200"},
                    .wait_for_boot = true});
    auto& port = sim.open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",0,\"apn.example\"\r"), "\r\nOK\r\n");
    EXPECT_EQ(port.command("ATI\r"),
              "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
    EXPECT_EQ(sim.stop(), 0);
  }
  const fs::path log = dir.path() / "replay.log";
  EXPECT_EQ(run_cli({"replay", base.string() + ".jsonl"}, log), 0) << read_text(log);
  EXPECT_TRUE(fs::exists(base.string() + ".state/flash.bin"));
}

// Issue 16: a replay checks the module's writes, not only its bytes: a write the module made
// on its own (not after something the host did) that the replay's module does not make apart,
// or a gap of the module's own that differs by more than the tolerance
// (HostDriver::kGapTolerance), fails it.
TEST(SimScenario, AReplayChecksTheOrderOfWritesAndTheirGaps) {
  TempDir dir;
  const fs::path base = dir.path() / "plain";
  {
    SimProcess sim({.state_dir = dir.path() / "state",
                    .extra_args = {"--transcript", base.string()},
                    .wait_for_boot = true});
    auto& port = sim.open_port();
    EXPECT_EQ(port.command("ATI\r"),
              "ATI\r\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
    EXPECT_EQ(sim.stop(), 0);
  }
  std::vector<nlohmann::json> records;
  {
    std::ifstream in(base.string() + ".jsonl");
    for (std::string line; std::getline(in, line);)
      records.push_back(nlohmann::json::parse(line));
  }
  auto write_copy = [&](const std::string& name, const std::vector<nlohmann::json>& rs) {
    const fs::path copy = dir.path() / (name + ".jsonl");
    std::ofstream out(copy);
    for (const auto& r : rs)
      out << r.dump() << "\n";
    return copy;
  };
  auto module_at = [&](std::vector<nlohmann::json>& rs, const std::string& text) {
    return std::find_if(rs.begin(), rs.end(), [&](const nlohmann::json& r) {
      return r.value("type", "") == "module" && r.value("text", "") == text;
    });
  };
  const fs::path log = dir.path() / "replay.log";
  EXPECT_EQ(run_cli({"replay", base.string() + ".jsonl"}, log), 0) << read_text(log);

  // The answer as if the module had cut it in two writes: the replay's module writes it in
  // one, so the second half does not start a write of its own.
  auto split = records;
  auto echo = module_at(split, "ATI\r");
  ASSERT_NE(echo, split.end());
  auto answer = std::find_if(echo + 1, split.end(), [](const nlohmann::json& r) {
    return r.value("type", "") == "module";
  });
  ASSERT_NE(answer, split.end());
  const std::string whole = answer->value("text", "");
  const std::size_t cut = whole.find("Revision");
  ASSERT_NE(cut, std::string::npos) << whole;
  nlohmann::json second = *answer;
  (*answer)["text"] = whole.substr(0, cut);
  second["text"] = whole.substr(cut);
  split.insert(answer + 1, second);
  EXPECT_NE(run_cli({"replay", write_copy("split", split).string()}, log), 0);
  EXPECT_NE(read_text(log).find("(\"Revision: BG95M3LAR02A03\\r\\n\\r\\nOK\\r\\n\") was not a "
                                "write of its own in the replay (the same bytes, cut otherwise;"),
            std::string::npos)
      << read_text(log);

  // The answer a second later after the echo than the module wrote it (nothing the host did
  // came between them: the gap is the module's own).
  auto later = records;
  auto ati = module_at(later, "ATI\r");
  ASSERT_NE(ati, later.end());
  for (auto r = ati + 1; r != later.end(); ++r)
    if (r->contains("t")) (*r)["t"] = (*r)["t"].get<double>() + 1.0;
  EXPECT_NE(run_cli({"replay", write_copy("later", later).string()}, log), 0);
  EXPECT_NE(read_text(log).find("(\"\\r\\nQuectel\\r\\nBG95-M3"), std::string::npos)
      << read_text(log);
  EXPECT_NE(read_text(log).find("came 0.0"), std::string::npos) << read_text(log);
}

// ---- the parser's errors ------------------------------------------------------------------

std::string error_of(const std::string& text) {
  try {
    scenario::parse_scenario_text(text, "t.yaml");
  } catch (const scenario::ScenarioError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ScenarioParser, ErrorsNameTheFileTheLineAndTheKey) {
  EXPECT_EQ(error_of("name: x\nmodule:\n  modle: BG77\n"),
            "t.yaml:3: module.modle: unknown key (known here: model, firmware, state, usb_port, "
            "settings, files, network, timing, dialect, lwm2m)");
  EXPECT_EQ(error_of("rules:\n  - when: {update: 43}\n    do: {power_on: {after: soon}}\n"),
            "t.yaml:3: rules[0].do.power_on.after: expected a duration such as 250ms, 2s or "
            "1.5min, not \"soon\"");
  EXPECT_EQ(error_of("rules:\n  - when: {urc: 'END'}\n    do: {respond: OK}\n"),
            "t.yaml:3: rules[0].do: respond, respond_raw and delay need a command trigger");
  EXPECT_EQ(error_of("host:\n  steps:\n    - send: {package: nope}\n"),
            "t.yaml:3: host.steps[0].send.package: no package \"nope\" under packages:");
  EXPECT_EQ(error_of("rules:\n  - when: {command: '(unclosed'}\n    do: log\n"),
            "t.yaml:2: rules[0].when.command: not a valid regular expression (Mismatched '(' and "
            "')' in regular expression): (unclosed");
  EXPECT_EQ(error_of("name: [x\n"), "t.yaml:2: not valid YAML: end of sequence flow not found");
  EXPECT_EQ(error_of(""), "t.yaml: the file is empty");
}

TEST(ScenarioParser, DurationsAndSizes) {
  EXPECT_EQ(scenario::parse_duration("250ms").count(), 250);
  EXPECT_EQ(scenario::parse_duration("1.5s").count(), 1500);
  EXPECT_EQ(scenario::parse_duration("2").count(), 2000);
  EXPECT_EQ(scenario::parse_duration("2min").count(), 120000);
  EXPECT_THROW(scenario::parse_duration("-1s"), std::invalid_argument);
  EXPECT_THROW(scenario::parse_duration("3 weeks"), std::invalid_argument);
  EXPECT_EQ(scenario::parse_size("300KB"), 300000u);
  EXPECT_EQ(scenario::parse_size("300KiB"), 307200u);
  EXPECT_EQ(scenario::parse_size("6MiB"), 6291456u);
  EXPECT_THROW(scenario::parse_size("6GiB"), std::invalid_argument);
}

}  // namespace
}  // namespace bg95::test
