// bg95-scenario merge (scenarios/engine/merge.hpp, docs/scale-out.md): the shards' JUnit XML
// and summaries joined byte for byte, and input that is not a run's refused with its reason.

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "scenarios/engine/junit.hpp"
#include "scenarios/engine/merge.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::scenario {
namespace {

RunResult passed_run() {
  RunResult r;
  r.name = "power-cut";
  r.file = "scenarios/power_cut.yaml";
  r.passed = r.verdict_pass = true;
  r.reason = "host script ended";
  r.seconds = 1.5;
  r.rules_fired = {"cut x1"};
  return r;
}

RunResult failed_run() {
  RunResult r;
  r.name = "bad-crc";
  r.file = "scenarios/bad_crc.yaml";
  r.verdict_pass = true;
  r.reason = "expected 506";
  r.seconds = 0.25;
  r.host_tail = "END,0";
  return r;
}

// Two shards as bg95-scenario run writes them (junit_xml itself).
std::vector<ShardText> two_junit_shards() {
  return {{"shard-0", "shard-0/junit.xml", junit_xml("bg95sim scenarios", {passed_run()})},
          {"shard-1", "shard-1/junit.xml", junit_xml("bg95sim scenarios", {failed_run()})}};
}

// The merged JUnit of `shards`, its counts and every byte of it.
void expect_merged(const std::vector<ShardText>& shards, std::size_t tests, std::size_t failures,
                   const std::string& xml) {
  const auto m = merge_junit(shards);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->tests, tests);
  EXPECT_EQ(m->failures, failures);
  EXPECT_EQ(m->text, xml);
}

TEST(Merge, JunitOfTwoShardsByteForByte) {
  expect_merged(two_junit_shards(), 2, 1,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<testsuites name=\"bg95sim scenarios\" tests=\"2\" failures=\"1\" errors=\"0\" "
                "time=\"1.750\">\n"
                "  <testsuite name=\"bg95sim scenarios [shard-0]\" tests=\"1\" failures=\"0\" "
                "errors=\"0\" skipped=\"0\" time=\"1.500\">\n"
                "    <testcase name=\"power-cut\" classname=\"scenarios.power_cut\" "
                "file=\"scenarios/power_cut.yaml\" time=\"1.500\">\n"
                "      <properties><property name=\"shard\" value=\"shard-0\"/></properties>\n"
                "      <system-out>verdict: pass (host script ended)\n"
                "rule fired: cut x1\n"
                "</system-out>\n"
                "    </testcase>\n"
                "  </testsuite>\n"
                "  <testsuite name=\"bg95sim scenarios [shard-1]\" tests=\"1\" failures=\"1\" "
                "errors=\"0\" skipped=\"0\" time=\"0.250\">\n"
                "    <testcase name=\"bad-crc\" classname=\"scenarios.bad_crc\" "
                "file=\"scenarios/bad_crc.yaml\" time=\"0.250\">\n"
                "      <properties><property name=\"shard\" value=\"shard-1\"/></properties>\n"
                "      <failure message=\"ended with pass (expected 506), expected fail\" "
                "type=\"verdict\">expected 506\n"
                "host received (end): END,0</failure>\n"
                "      <system-out>verdict: pass (expected 506)\n"
                "</system-out>\n"
                "    </testcase>\n"
                "  </testsuite>\n"
                "</testsuites>\n");
}

// Another writer's JUnit: a bare <testsuite>, self-closing testcases, errors and skips, a
// comment and suite-level properties (dropped), entities kept as written.
TEST(Merge, JunitOfOtherWritersSumsErrorsAndKeepsEntities) {
  const std::vector<ShardText> shards{
      {"a&b", "a.xml",
       "<?xml version=\"1.0\"?>\n<!-- made elsewhere -->\n"
       "<testsuite name=\"x &amp; y\" tests=\"2\" errors=\"1\" skipped=\"1\" time=\"2\">"
       "<properties><property name=\"k\" value=\"v\"/></properties>"
       "<testcase name='t1' classname='c'/>"
       "<testcase name=\"t2\" classname=\"c\"><error message=\"boom\"/></testcase>"
       "</testsuite>\n"},
      {"b", "b.xml", "<testsuites name=\"other\"></testsuites>"}};
  expect_merged(shards, 2, 1,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<testsuites name=\"x &amp; y\" tests=\"2\" failures=\"0\" errors=\"1\" "
                "time=\"2.000\">\n"
                "  <testsuite name=\"x &amp; y [a&amp;b]\" tests=\"2\" failures=\"0\" errors=\"1\" "
                "skipped=\"1\" time=\"2.000\">\n"
                "    <testcase name='t1' classname='c'>\n"
                "      <properties><property name=\"shard\" value=\"a&amp;b\"/></properties>\n"
                "    </testcase>\n"
                "    <testcase name=\"t2\" classname=\"c\">\n"
                "      <properties><property name=\"shard\" value=\"a&amp;b\"/></properties><error "
                "message=\"boom\"/></testcase>\n"
                "  </testsuite>\n"
                "</testsuites>\n");
}

std::string junit_error(const std::string& xml) {
  const auto m = merge_junit({{"s", "s/junit.xml", xml}});
  return m ? "merged" : m.error();
}

TEST(Merge, BadJunitIsRefusedWithFileLineAndReason) {
  EXPECT_EQ(junit_error(""), "s/junit.xml:1: empty: not a JUnit XML file");
  EXPECT_EQ(junit_error("<html></html>"),
            "s/junit.xml:1: <html> is not JUnit XML (<testsuites> or <testsuite>)");
  EXPECT_EQ(junit_error("<testsuites>\n<testsuite name=\"a\" tests=\"2\">\n"
                        "<testcase name=\"x\"/>\n</testsuite></testsuites>"),
            "s/junit.xml:4: <testsuite name=\"a\"> says tests=\"2\" but holds 1 testcases");
  EXPECT_EQ(junit_error("<testsuites><testsuite name=\"a\"></testsuite></testsuites>"),
            "s/junit.xml:1: <testsuite> has no tests attribute");
  EXPECT_EQ(junit_error("<testsuite tests=\"x\"/>"),
            "s/junit.xml:1: <testsuite> tests=\"x\" is not a count");
  EXPECT_EQ(junit_error("<testsuite tests=\"1\" time=\"soon\"/>"),
            "s/junit.xml:1: <testsuite> time=\"soon\" is not a number of seconds");
  EXPECT_EQ(junit_error("<testsuites>\n<testsuite tests=\"1\">\n<testcase name=\"x\">\n"),
            "s/junit.xml:3: <testcase> is not closed");
  EXPECT_EQ(junit_error("<testsuite tests=\"0\"></testcase>"),
            "s/junit.xml:1: expected </testsuite>, found </testcase");
  EXPECT_EQ(junit_error("<testsuite tests=\"0\"/><testsuite tests=\"0\"/>"),
            "s/junit.xml:1: more after the end of the document");
  EXPECT_EQ(junit_error("<testsuites><testcase/></testsuites>"),
            "s/junit.xml:1: <testcase> in <testsuites>");
  EXPECT_EQ(junit_error("<testsuite tests=0/>"),
            "s/junit.xml:1: attribute tests of <testsuite> is not quoted");
}

TEST(Merge, OverlappingShardsAreRefused) {
  auto shards = two_junit_shards();
  shards[1].text = shards[0].text;
  const auto m = merge_junit(shards);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(),
            "shard-1/junit.xml: testcase scenarios.power_cut power-cut "
            "scenarios/power_cut.yaml is in shard shard-0 too: shards overlap");
}

// ---- summaries: what bg95-scenario run prints

const char* kSummary0 =
    "PASS  power-cut                                  1.50 s  pass  rules: cut x1\n"
    "\n"
    "1 passed, 0 failed\n";
const char* kSummary1 =
    "PASS  dfota-ok                                   0.40 s  pass\n"
    "FAIL  bad-crc                                    0.25 s  pass: expected 506\n"
    "      host received (end): END,0\n"
    "ERROR broken.yaml:3: unknown key\n"
    "\n"
    "1 passed, 2 failed\n";

TEST(Merge, SummariesByteForByte) {
  const auto m = merge_summaries({{"shard-0", "a", kSummary0}, {"shard-1", "b", kSummary1}});
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->tests, 4u);
  EXPECT_EQ(m->failures, 2u);
  EXPECT_EQ(m->text,
            "[shard-0] PASS  power-cut                                  1.50 s  pass  rules: cut "
            "x1\n"
            "[shard-1] PASS  dfota-ok                                   0.40 s  pass\n"
            "[shard-1] FAIL  bad-crc                                    0.25 s  pass: expected "
            "506\n"
            "[shard-1]       host received (end): END,0\n"
            "[shard-1] ERROR broken.yaml:3: unknown key\n"
            "\n"
            "shard-0: 1 passed, 0 failed\n"
            "shard-1: 1 passed, 2 failed\n"
            "\n"
            "2 passed, 2 failed\n");
}

TEST(Merge, BadSummariesAreRefused) {
  const auto none = merge_summaries({{"s", "s/summary.txt", "PASS  x 1.0 s  pass\n"}});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(),
            "s/summary.txt: no \"N passed, M failed\" line: not what bg95-scenario run prints");
  const auto short_ = merge_summaries({{"s", "s/summary.txt",
                                        "PASS  x 1.0 s  pass\n\n2 passed, 0 "
                                        "failed\n"}});
  ASSERT_FALSE(short_);
  EXPECT_EQ(short_.error(),
            "s/summary.txt: says 2 passed, 0 failed but lists 1 PASS and 0 FAIL or ERROR lines "
            "(cut short?)");
}

// ---- the command: shard folders and files, outputs, exit status

struct Command {
  int status;
  std::string out, err;
};

Command merge(const MergeRequest& request) {
  std::ostringstream out, err;
  const int status = merge_command(request, out, err);
  return {status, out.str(), err.str()};
}

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
}

std::string read(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A shard folder as a pod leaves it: junit.xml, and summary.txt unless `summary` is empty.
void write_shard(const std::filesystem::path& folder, const std::string& junit,
                 const std::string& summary) {
  write(folder / "junit.xml", junit);
  if (!summary.empty()) write(folder / "summary.txt", summary);
}

TEST(MergeCommand, FoldersGiveShardNamesAndBothOutputs) {
  test::TempDir dir;
  const auto shards = two_junit_shards();
  write_shard(dir.path() / "shard-0", shards[0].text, kSummary0);
  write_shard(dir.path() / "shard-1", shards[1].text,
              "FAIL  bad-crc                                    0.25 s  pass: expected 506\n"
              "\n0 passed, 1 failed\n");
  const auto c = merge({{dir.path() / "shard-0", dir.path() / "shard-1/"},
                        dir.path() / "all.xml",
                        dir.path() / "all.txt"});
  EXPECT_EQ(c.err, "");
  EXPECT_EQ(c.status, 1);  // one testcase failed
  EXPECT_EQ(read(dir.path() / "all.xml"), merge_junit(shards)->text);
  const std::string summary = read(dir.path() / "all.txt");
  EXPECT_TRUE(
      summary.ends_with("\nshard-0: 1 passed, 0 failed\nshard-1: 0 passed, 1 failed\n"
                        "\n1 passed, 1 failed\n"))
      << summary;
  EXPECT_EQ(c.out, summary + "merged 2 shards into " + (dir.path() / "all.xml").string() + "\n");
}

TEST(MergeCommand, FilesNameTheirShardAndAllPassingIsZero) {
  test::TempDir dir;
  write(dir.path() / "a.xml", junit_xml("s", {passed_run()}));
  auto other = passed_run();
  other.name = "second";
  write(dir.path() / "b.xml", junit_xml("s", {other}));
  const auto c = merge({{dir.path() / "a.xml", dir.path() / "b.xml"}, dir.path() / "all.xml", {}});
  EXPECT_EQ(c.err, "");
  EXPECT_EQ(c.status, 0);
  EXPECT_EQ(c.out,
            "2 passed, 0 failed\nmerged 2 shards into " + (dir.path() / "all.xml").string() + "\n");
  EXPECT_NE(read(dir.path() / "all.xml").find("<testsuite name=\"s [b]\""), std::string::npos);
}

TEST(MergeCommand, BadInputWritesNothingAndSaysWhy) {
  test::TempDir dir;
  const auto shards = two_junit_shards();
  write_shard(dir.path() / "shard-0", shards[0].text, kSummary0);
  write_shard(dir.path() / "shard-1", shards[1].text, "");
  const auto out = dir.path() / "all.xml";
  const auto missing = merge({{dir.path() / "shard-0", dir.path() / "shard-1"}, out, {}});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err,
            "bg95-scenario: merge: shard shard-1 has no summary while other shards have one\n");
  EXPECT_FALSE(std::filesystem::exists(out));

  std::filesystem::create_directories(dir.path() / "empty");
  const auto empty = merge({{dir.path() / "empty"}, out, {}});
  EXPECT_EQ(empty.status, 2);
  EXPECT_EQ(empty.err, "bg95-scenario: merge: " + (dir.path() / "empty").string() +
                           ": a shard folder holds junit.xml and/or summary.txt; this one holds "
                           "neither\n");

  const auto no_output = merge({{dir.path() / "shard-0" / "junit.xml"}, {}, {}});
  EXPECT_EQ(no_output.err, "bg95-scenario: merge: the merged JUnit goes to -o FILE\n");

  write(dir.path() / "broken.xml", "<testsuite tests=\"1\">");
  const auto broken = merge({{dir.path() / "broken.xml"}, out, {}});
  EXPECT_EQ(broken.status, 2);
  EXPECT_EQ(broken.err, "bg95-scenario: merge: " + (dir.path() / "broken.xml").string() +
                            ":1: <testsuite> is not closed\n");
  EXPECT_FALSE(std::filesystem::exists(out));

  const auto gone = merge({{dir.path() / "nowhere.xml"}, out, {}});
  EXPECT_EQ(gone.err, "bg95-scenario: merge: " + (dir.path() / "nowhere.xml").string() +
                          ": cannot be read\n");

  // JUnit and summaries of different runs.
  write_shard(dir.path() / "x", shards[0].text, kSummary1);
  const auto mixed = merge({{dir.path() / "x"}, out, {}});
  EXPECT_EQ(mixed.err,
            "bg95-scenario: merge: the JUnit files count 1 testcases (0 failed), the summaries 3 "
            "(2 failed): from different runs?\n");
}

}  // namespace
}  // namespace bg95::scenario
