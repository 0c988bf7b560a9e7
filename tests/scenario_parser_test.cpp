// The scenario parser (scenarios/engine/scenario_parser.cpp, docs/scenarios.md) on the library's
// files and on broken ones: a file it cannot use is a ScenarioError naming the file, line and
// key, never a crash or another exception. Several cases here are reproducers that fuzz_scenario
// (tests/fuzz, docs/reliability.md) runs as seeds too.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "scenarios/engine/packages.hpp"
#include "scenarios/engine/scenario.hpp"
#include "sim/faults.hpp"
#include "sim/options.hpp"

namespace {

namespace fs = std::filesystem;
using bg95::scenario::parse_scenario;
using bg95::scenario::parse_scenario_text;
using bg95::scenario::ScenarioError;

// The message of the ScenarioError that parsing `text` as "t.yaml" throws.
std::string error_of(const std::string& text) {
  try {
    parse_scenario_text(text, "t.yaml");
  } catch (const ScenarioError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ScenarioParserTest, EveryLibraryFileParsesWithItsOwnName) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(BG95SIM_SOURCE_DIR) / "scenarios")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    const auto s = parse_scenario(entry.path());
    EXPECT_EQ(s.name, entry.path().stem().string());
    EXPECT_TRUE(s.host.present || !s.rules.empty());
  }
  EXPECT_GE(files, 35);
}

TEST(ScenarioParserTest, AnEmptyRespondListIsAnError) {
  // The final result was taken from the last line of an empty list (undefined behaviour).
  EXPECT_EQ(error_of("rules:\n  - {when: {command: CSQ}, do: {respond: []}}\n"),
            "t.yaml:2: rules[0].do.respond: expected the answer's lines, the last one OK, ERROR, "
            "NO CARRIER or +CME ERROR: <n>");
  const auto s = parse_scenario_text(
      "rules:\n  - {when: {command: CSQ}, do: {respond: [\"+CSQ: 9,99\", OK]}}\n", "t.yaml");
  ASSERT_EQ(s.rules.at(0).actions.size(), 1u);
  EXPECT_EQ(s.rules[0].actions[0].reply.lines, std::vector<std::string>{"+CSQ: 9,99"});
}

TEST(ScenarioParserTest, PatternsAndTextsToExpectHaveALengthLimit) {
  // std::regex compiles by recursion: an expected text of 30 000 characters overflowed the
  // stack (a crash, also in `bg95-scenario check`).
  const std::string at_limit(bg95::scenario::kMaxPatternLength, 'a');
  const std::string over = at_limit + "a";
  const auto s =
      parse_scenario_text("host:\n  steps:\n    - expect: \"" + at_limit + "\"\n", "t.yaml");
  ASSERT_EQ(s.host.steps.size(), 1u);
  EXPECT_TRUE(s.host.steps[0].pattern->matches("x" + at_limit));
  EXPECT_FALSE(s.host.steps[0].pattern->matches(at_limit.substr(1)));
  EXPECT_EQ(error_of("host:\n  steps:\n    - expect: \"" + over + "\"\n"),
            "t.yaml:3: host.steps[0].expect: 4097 characters; a pattern or text to expect has at "
            "most 4096");
  EXPECT_EQ(error_of("host:\n  steps:\n    - expect: {text: \"" + over + "\"}\n"),
            "t.yaml:3: host.steps[0].expect.text: 4097 characters; a pattern or text to expect "
            "has at most 4096");
  EXPECT_EQ(error_of("rules:\n  - when: {urc: '" + over + "'}\n    do: reset\n"),
            "t.yaml:2: rules[0].when.urc: 4097 characters; a pattern or text to expect has at "
            "most 4096");
  EXPECT_EQ(
      error_of(std::string("host:\n  steps:\n    - expect: \"") + std::string(30000, 'b') + "\"\n"),
      "t.yaml:3: host.steps[0].expect: 30000 characters; a pattern or text to expect has "
      "at most 4096");
}

TEST(ScenarioParserTest, NestingTooDeepForYamlCppIsAClearError) {
  // yaml-cpp 0.7 stops its recursive parser itself (at depth 500); its message was "bad file".
  const std::string deep = "rules: " + std::string(3000, '[') + std::string(3000, ']') + "\n";
  EXPECT_EQ(error_of(deep),
            "t.yaml:1: not valid YAML: nested too deeply (yaml-cpp stops at depth "
            "500)");
  // As deep as a real file gets is fine (and then a schema error).
  const std::string shallow = "rules: " + std::string(50, '[') + std::string(50, ']') + "\n";
  EXPECT_EQ(error_of(shallow), "t.yaml:1: rules[0]: expected a mapping (key: value lines)");
}

TEST(ScenarioParserTest, ImageTextsTheHeaderCannotHoldAreErrors) {
  // The run built such an image and then failed to read its header back (bad_variant_access).
  EXPECT_EQ(error_of("module:\n  firmware: {revision: \"BG95 M3\"}\n"),
            "t.yaml:2: module.firmware.revision: \"BG95 M3\": an image header holds 1 to 32 "
            "printable characters, no spaces");
  EXPECT_EQ(error_of("module:\n  firmware: {version: \"" + std::string(65, 'V') + "\"}\n"),
            "t.yaml:2: module.firmware.version: \"" + std::string(65, 'V') +
                "\": an image header holds 1 to 64 printable characters, no spaces");
  EXPECT_EQ(error_of("packages:\n  p: {source: {revision: \"" + std::string(33, 'R') + "\"}}\n"),
            "t.yaml:2: packages.p.source.revision: \"" + std::string(33, 'R') +
                "\": an image header holds 1 to 32 printable characters, no spaces");
  EXPECT_EQ(error_of("packages:\n  p: {target_revision: \"A\\tB\"}\n"),
            "t.yaml:2: packages.p.target_revision: \"A\tB\": an image header holds 1 to 32 "
            "printable characters, no spaces");
  const auto s = parse_scenario_text("module:\n  firmware: {revision: " + std::string(32, 'R') +
                                         ", version: " + std::string(64, 'V') + "}\n",
                                     "t.yaml");
  EXPECT_EQ(s.module.firmware.revision, std::string(32, 'R'));
  EXPECT_EQ(s.module.firmware.full_version, std::string(64, 'V'));
}

TEST(ScenarioParserTest, APackageNeedsAName) {
  // A key that is a list or a mapping became a package named "".
  EXPECT_EQ(error_of("packages:\n  \"\": {}\n"), "t.yaml:2: packages: a package needs a name");
  EXPECT_EQ(error_of("packages:\n  ? [a, b]\n  : {}\n"),
            "t.yaml:2: packages: a package needs a name");
}

TEST(ScenarioParserTest, CsqIsAnRssiOrNinetyNine) {
  // docs/scenarios.md says 0-31 or 99; 32..98 were taken (AT+QCSQ then said +85 dBm).
  EXPECT_EQ(error_of("module:\n  network: {csq: 50}\n"),
            "t.yaml:2: module.network.csq: 50 is not an AT+CSQ <rssi> (0-31, 99)");
  EXPECT_EQ(error_of("rules:\n  - {when: {at: 1s}, do: {network: {csq: 32}}}\n"),
            "t.yaml:2: rules[0].do.network.csq: 32 is not an AT+CSQ <rssi> (0-31, 99)");
  EXPECT_EQ(error_of("module:\n  network: {csq: 100}\n"),
            "t.yaml:2: module.network.csq: 100 is out of range (0..99)");
  EXPECT_EQ(parse_scenario_text("module:\n  network: {csq: 99}\n", "t.yaml")
                .module.config.network.csq_rssi,
            99);
  const auto s =
      parse_scenario_text("rules:\n  - {when: {at: 1s}, do: {network: {csq: 31}}}\n", "t.yaml");
  EXPECT_EQ(s.rules.at(0).actions.at(0).faults.at(0).value.number, 31);
}

TEST(ScenarioParserTest, AHugeCorruptCountFlipsOnlyTheBytesThereAre) {
  // `corrupt: {count: 1e12}` is a valid size; building the package looped 10^12 times.
  const auto s = parse_scenario_text(
      "packages:\n  junk: {random: 100, seed: 3}\n"
      "  damaged: {random: 100, seed: 3, corrupt: {offset: 90, count: 1e12}}\n",
      "t.yaml");
  ASSERT_EQ(s.packages.size(), 2u);
  EXPECT_EQ(s.packages[1].corrupt_count, 1000000000000u);
  const auto plain = bg95::scenario::build_package(s.packages[0], {}, "BG95-M3");
  const auto damaged = bg95::scenario::build_package(s.packages[1], {}, "BG95-M3");
  ASSERT_EQ(plain.bytes.size(), 100u);
  ASSERT_EQ(damaged.bytes.size(), 100u);
  for (std::size_t i = 0; i < 100; ++i)
    EXPECT_EQ(damaged.bytes[i], i < 90 ? plain.bytes[i] : plain.bytes[i] ^ 0xFF) << i;
}

}  // namespace

TEST(ScenarioParserTest, ModulesOfAFleetARuleWatches) {
  const auto s = parse_scenario_text(R"(rules:
  - {when: {command: CSQ}, do: {respond: ["+CSQ: 3,99", OK]}, modules: 2}
  - {when: {command: CSQ}, do: {respond: ["+CSQ: 4,99", OK]}, modules: "3-5"}
  - {when: {command: CSQ}, do: {respond: ["+CSQ: 5,99", OK]}, modules: [1, "7-8"]}
  - {when: {command: CSQ}, do: {respond: ["+CSQ: 6,99", OK]}, modules: all}
  - {when: {command: CSQ}, do: {respond: ["+CSQ: 7,99", OK]}}
)",
                                     "t.yaml");
  ASSERT_EQ(s.rules.size(), 5u);
  auto watched = [&](std::size_t rule) {
    std::vector<unsigned> out;
    for (unsigned m = 1; m <= 9; ++m)
      if (s.rules[rule].applies_to(m)) out.push_back(m);
    return out;
  };
  EXPECT_EQ(watched(0), (std::vector<unsigned>{2}));
  EXPECT_EQ(watched(1), (std::vector<unsigned>{3, 4, 5}));
  EXPECT_EQ(watched(2), (std::vector<unsigned>{1, 7, 8}));
  EXPECT_EQ(watched(3), (std::vector<unsigned>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(watched(4), watched(3));
}

TEST(ScenarioParserTest, ModuleNumbersOutsideAFleetAreErrors) {
  const std::string rule = "rules:\n  - {when: {at: 1s}, do: power_cut, modules: ";
  EXPECT_EQ(error_of(rule + "0}\n"), "t.yaml:2: rules[0].modules: 0 is out of range (1..10000)");
  EXPECT_EQ(error_of(rule + "\"5-2\"}\n"), "t.yaml:2: rules[0].modules: 5-2 is an empty range");
  EXPECT_EQ(error_of(rule + "\"1-10001\"}\n"),
            "t.yaml:2: rules[0].modules: expected FIRST-LAST with module numbers 1..10000, got "
            "\"1-10001\"");
  EXPECT_EQ(error_of(rule + "\"a-b\"}\n"),
            "t.yaml:2: rules[0].modules: expected FIRST-LAST with module numbers 1..10000, got "
            "\"a-b\"");
  EXPECT_EQ(error_of(rule + "[]}\n"),
            "t.yaml:2: rules[0].modules: an empty list watches no module (leave modules out for "
            "all)");
  EXPECT_EQ(error_of(rule + "[2, {x: 1}]}\n"),
            "t.yaml:2: rules[0].modules[1]: expected a module number or FIRST-LAST");
}

// Fault actions come from the fault table (sim/faults.hpp); their errors and descriptions read
// as they always have.
TEST(ScenarioParserTest, FaultActionsErrorsAndDescriptions) {
  const std::string rule = "rules:\n  - {when: {at: 1s}, do: ";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {rule + "frobnicate}\n",
       "t.yaml:2: rules[0].do: unknown action \"frobnicate\" (known: power_cut, power_off, "
       "power_on, reset, torn_write, flash_fail, flash_fail_always, flash_off, network, "
       "link_drop, link_stall, link_resume, link_throttle, link_corrupt, dtr, flash_slow, "
       "respond, respond_raw, delay, urc, server, log, verdict)"},
      {rule + "{power_cut: 1}}\n",
       "t.yaml:2: rules[0].do.power_cut: takes no value (only {after: <duration>})"},
      {rule + "{network: 3}}\n",
       "t.yaml:2: rules[0].do.network: expected {reg: ..., csq: ..., rat: ...}"},
      {rule + "{network: {after: 1s}}}\n",
       "t.yaml:2: rules[0].do.network: give reg, csq, rat, pdp_deact, attach, accepted_apn, stall, "
       "latency, loss, connect or dns"},
      {rule + "{network: {pdp_deact: 16}}}\n",
       "t.yaml:2: rules[0].do.network.pdp_deact: 16 is out of range (1..15)"},
      {rule + "{dtr: {after: 1s}}}\n", "t.yaml:2: rules[0].do.dtr: needs low or high"},
      {rule + "{link_throttle: {after: 1s}}}\n", "t.yaml:2: rules[0].do.link_throttle: needs rate"},
      {rule + "{link_stall: 2s}}\n",
       "t.yaml:2: rules[0].do.link_stall: expected {for: <duration>, after: <duration>} or "
       "nothing"},
      {rule + "torn_write}\n", "t.yaml:2: rules[0].do: torn_write needs a flash_write trigger"},
      {"host:\n  steps:\n    - do: torn_write\n",
       "t.yaml:3: host.steps[0].do: respond, respond_raw, delay and torn_write belong in rules"},
  };
  for (const auto& [text, error] : cases)
    EXPECT_EQ(error_of(text), error) << text;

  const auto s = parse_scenario_text(
      rule +
          "[power_cut, {dtr: low}, {link_stall: {for: 2s}}, {link_throttle: 1KiB}, "
          "{network: {reg: searching, rat: nbiot, attach: refuse, accepted_apn: corp}}]}\n",
      "t.yaml");
  std::vector<std::string> described;
  for (const auto& a : s.rules.at(0).actions)
    described.push_back(a.describe());
  EXPECT_EQ(described,
            (std::vector<std::string>{
                "power_cut", "dtr low", "link_stall for 2000 ms", "link_throttle 1024 B/s",
                "network reg=2 rat=NBIoT attach=refuse accepted_apn=\"corp\""}));
}

// Every fault of the table is documented: its action in docs/scenarios.md, its request in
// docs/control.md.
TEST(ScenarioParserTest, EveryFaultIsDocumented) {
  auto read = [](const char* name) {
    std::ifstream in(fs::path(BG95SIM_SOURCE_DIR) / "docs" / name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string scenarios = read("scenarios.md"), control = read("control.md");
  for (const auto& f : bg95::faults::table()) {
    const std::string name(f.group().empty() ? f.name : f.key());
    if (!name.empty()) {
      EXPECT_NE(scenarios.find(name), std::string::npos) << name;
    }
    if (!f.control.empty()) {
      EXPECT_NE(control.find("`" + std::string(f.control)), std::string::npos) << f.control;
    }
  }
}

// Every module option of the table (sim/options.hpp) is in docs/scenarios.md's Dialects table,
// by key and option, and a scenario sets it.
TEST(ScenarioParserTest, EveryDialectOptionIsDocumentedAndParsed) {
  std::ifstream in(fs::path(BG95SIM_SOURCE_DIR) / "docs" / "scenarios.md");
  const std::string doc(std::istreambuf_iterator<char>(in), {});
  for (const auto& o : bg95::options::dialect_options()) {
    const std::string key(o.key), cli(o.cli);
    EXPECT_NE(doc.find("| `" + key + "` | `" + cli), std::string::npos) << key;
    // Each set to what it is not by default.
    const bool number = o.kind == bg95::options::Kind::Number;
    const bool flag = number || !(bg95::Dialect{}.*o.flag);
    const auto s = parse_scenario_text("module:\n  dialect: {" + key + ": " +
                                           (number ? "7"
                                            : flag ? "true"
                                                   : "false") +
                                           "}\n",
                                       "t.yaml");
    const bg95::Dialect& d = s.module.config.dialect;
    if (number) {
      EXPECT_EQ(d.*o.number, 7) << key;
    } else {
      EXPECT_EQ(d.*o.flag, flag) << key;
    }
  }
}

namespace bg95::scenario {
namespace {

TEST(ScenarioVariablesTest, EveryNameIsCheckedWhenTheFileIsRead) {
  // issue 19: `bg95-scenario check` passed a file with ${server.nothing}; the docs promise
  // the names are checked before power-on. They are now checked as the file is read.
  const std::string head =
      "packages:\n  update: {change: 0.05}\n  blob: {random: 100}\nserver:\n  http: 0\n"
      "host:\n  steps:\n";
  auto error = [&](const std::string& step) {
    try {
      parse_scenario_text(head + "    - send: \"" + step + "\"\n", "t.yaml");
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  for (const char* ok : {"${server.http}/u.bin", "${server.http.port}", "${package.update.size}",
                         "${package.update.target_revision}", "${package.blob.checksum}",
                         "${module.imei} ${module.version}"})
    EXPECT_EQ(error(ok), "no error") << ok;
  const std::string known =
      "(known: module.imei, module.model, module.revision, module.version, package.blob.checksum, "
      "package.blob.size, package.update.checksum, package.update.size, "
      "package.update.source_version, package.update.target_revision, "
      "package.update.target_version, server.http, server.http.port)";
  EXPECT_EQ(error("${server.nothing}"),
            "t.yaml:8: host step: ${server.nothing} is not known in this scenario " + known);
  // No HTTPS listener, and a random package has no revisions.
  EXPECT_EQ(error("${server.https}"),
            "t.yaml:8: host step: ${server.https} is not known in this scenario " + known);
  EXPECT_EQ(error("${package.blob.target_revision}"),
            "t.yaml:8: host step: ${package.blob.target_revision} is not known in this "
            "scenario " +
                known);
  // In a rule's action too.
  try {
    parse_scenario_text(
        "rules:\n  - name: x\n    when: {command: CSQ}\n    do: {log: \"${lwm2m.uri}\"}\n",
        "r.yaml");
    ADD_FAILURE() << "no error";
  } catch (const ScenarioError& e) {
    EXPECT_EQ(std::string(e.what()),
              "r.yaml:2: rule \"x\": ${lwm2m.uri} is not known in this scenario (known: "
              "module.imei, module.model, module.revision, module.version)");
  }
}

}  // namespace
}  // namespace bg95::scenario

namespace bg95::scenario {
namespace {

TEST(ScenarioPatternsTest, RepetitionCountsOverAThousandAreRefused) {
  // libstdc++'s regex compiler overflowed a long on a back-reference of 29 digits (undefined
  // behaviour, found by fuzz_scenario), and would on a brace count as long; both are checked
  // before it sees them.
  auto error = [](const std::string& pattern) {
    try {
      parse_scenario_text("rules:\n  - when: {command: '" + pattern + "'}\n    do: reset\n",
                          "p.yaml");
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  for (const char* ok : {"^AT{2}$", "A{1000}", "A{3,}", "A{0,1000}", "\\{99999\\}"})
    EXPECT_EQ(error(ok), "no error") << ok;
  EXPECT_EQ(error("A{5555555555555555555}"),
            "p.yaml:2: rules[0].when.command: not a valid regular expression (a repetition count "
            "over 1000: {5555555555555555555}): A{5555555555555555555}");
  EXPECT_EQ(error("^AT\\55555555555555555555555555555+QFOTADL="),
            "p.yaml:2: rules[0].when.command: not a valid regular expression (a back-reference "
            "number over 1000: \\55555555555555555555555555555): "
            "^AT\\55555555555555555555555555555+QFOTADL=");
  EXPECT_EQ(error("A{2,1001}"),
            "p.yaml:2: rules[0].when.command: not a valid regular expression (a repetition count "
            "over 1000: {2,1001}): A{2,1001}");
}

}  // namespace
}  // namespace bg95::scenario
