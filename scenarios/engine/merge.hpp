#pragma once
// `bg95-scenario merge`: joins what the shards of a run (the pods of a Kubernetes Indexed Job,
// docs/scale-out.md) wrote into one result, as if one process had run it all: their JUnit XML
// (junit.hpp) into one file whose totals are the sums and which holds every testcase, each in a
// <testsuite> named after its shard and with a "shard" property; and their summaries (what
// `bg95-scenario run` prints) into one, each line marked with its shard and the total last.
//
// A shard is a folder (named after the shard) holding junit.xml and/or summary.txt, or a file:
// NAME.xml (JUnit) or NAME.txt (summary) of shard NAME. Input that is not what
// `bg95-scenario run` writes is refused with the file and what is wrong, and nothing is written.

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <string>
#include <vector>

#include "sim/util/expected.hpp"

namespace bg95::scenario {

// One input text of one shard.
struct ShardText {
  std::string shard;  // the shard's name
  std::string where;  // the file, for errors
  std::string text;
};

struct Merged {
  std::string text;
  std::size_t tests = 0, failures = 0;  // failures: failed and errored testcases
};

// One JUnit document of every shard's, in the order given. The top-level name is the first
// input's. An error for XML that is not JUnit, a testsuite whose `tests` is not its number of
// testcases, or a testcase found in two shards (shards that overlap).
util::Expected<Merged> merge_junit(const std::vector<ShardText>& shards);

// One summary of every shard's: their lines with "[shard] " in front, each shard's count, and
// "N passed, M failed" last. An error for a text without its count line, or whose PASS/FAIL
// lines do not add up to it.
util::Expected<Merged> merge_summaries(const std::vector<ShardText>& shards);

struct MergeRequest {
  std::vector<std::filesystem::path> inputs;  // shard folders, .xml and .txt files
  std::filesystem::path junit_out;            // -o: the merged JUnit (needed for JUnit inputs)
  std::filesystem::path summary_out;          // --summary: also write the merged summary here
};

// Reads the inputs, writes the outputs, and prints the merged summary (or the totals) to
// `out`: 0 when every testcase passed, 1 when some failed, 2 (said on `err`) for bad input.
int merge_command(const MergeRequest& request, std::ostream& out, std::ostream& err);

}  // namespace bg95::scenario
