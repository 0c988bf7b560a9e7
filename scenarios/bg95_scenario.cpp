// bg95-scenario: runs fault scenarios against the emulator (docs/scenarios.md), writes a
// summary and JUnit XML, checks scenario files, and replays transcripts as regression checks.

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <regex>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "scenarios/engine/junit.hpp"
#include "scenarios/engine/merge.hpp"
#include "scenarios/engine/runner.hpp"
#include "scenarios/engine/scenario.hpp"
#include "scenarios/report/html_report.hpp"
#include "sim/fleet/shard_plan.hpp"
#include "sim/options.hpp"

namespace {

using bg95::scenario::RunResult;

// The files named: files as they are, folders as their files with that extension (scenarios:
// *.yaml and *.yml) in name order.
std::vector<std::filesystem::path> expand(const std::vector<std::string>& paths,
                                          const std::string& extension = ".yaml") {
  std::vector<std::filesystem::path> out;
  for (const auto& p : paths) {
    if (!std::filesystem::is_directory(p)) {
      out.emplace_back(p);
      continue;
    }
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(p))
      if (e.is_regular_file() && (e.path().extension() == extension ||
                                  (extension == ".yaml" && e.path().extension() == ".yml")))
        found.push_back(e.path());
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

// A temporary folder, removed with what it holds.
struct TempFolder {
  std::filesystem::path path;
  TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "bg95-report-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot make a temporary folder: " + pattern);
    path = pattern;
  }
  ~TempFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
};

// Reads the transcripts and writes the HTML report; 0, or 2 with a message on stderr.
int write_report(const std::vector<std::filesystem::path>& transcripts,
                 const std::filesystem::path& out, const std::string& title) {
  try {
    std::vector<bg95::report::ModuleRun> runs;
    for (const auto& t : transcripts)
      runs.push_back(bg95::report::read_transcript(t));
    if (runs.empty()) throw bg95::report::ReportError("no transcript to report on");
    std::ofstream file(out, std::ios::trunc);
    file << bg95::report::html_report(runs, title);
    if (!file.flush()) throw bg95::report::ReportError(out.string() + ": cannot be written");
    fmt::print("report: {} ({} module runs)\n", out.string(), runs.size());
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bg95-scenario: " << e.what() << "\n";
    return 2;
  }
}

void print_result(const RunResult& r) {
  std::string fired;
  for (const auto& f : r.rules_fired)
    fired += (fired.empty() ? "  rules: " : ", ") + f;
  fmt::print("{}  {:<40} {:6.2f} s  {}{}\n", r.passed ? "PASS" : "FAIL", r.name, r.seconds,
             r.verdict_pass ? "pass" : "fail", r.passed ? fired : ": " + r.reason);
  if (!r.passed && !r.host_tail.empty()) fmt::print("      host received (end): {}\n", r.host_tail);
  if (!r.transcript.empty() && !r.passed)
    fmt::print("      transcript: {}\n", r.transcript.string());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bg95-scenario: fault scenarios for the bg95sim emulator (docs/scenarios.md)"};
  app.set_version_flag("--version", std::string("bg95-scenario ") + BG95SIM_VERSION);
  app.require_subcommand(1);

  std::vector<std::string> run_paths;
  std::string junit, transcripts, work, filter;
  bool keep_state = false, verbose = false;
  auto* run = app.add_subcommand("run", "Run scenarios (files, or folders of *.yaml) and report");
  run->add_option("paths", run_paths, "Scenario files or folders")->required();
  run->add_option("--junit", junit, "Write a JUnit XML report here");
  run->add_option("--transcripts", transcripts, "Write each run's transcript (.txt, .jsonl) here");
  run->add_option("--work", work,
                  "Folder for the modules' state folders (default: a temporary one)");
  run->add_flag("--keep-state", keep_state, "Keep each run's state folder");
  run->add_option("--filter", filter, "Only scenarios whose name matches this regular expression");
  run->add_flag("-v,--verbose", verbose, "Print each step and each rule fired as it happens");
  bg95::options::ShardArgs shard;  // a block of the scenario files (docs/scale-out.md)
  bg95::options::add_shard_options(*run, shard);

  std::vector<std::string> check_paths;
  auto* check =
      app.add_subcommand("check", "Read scenario files and report problems; runs nothing");
  check->add_option("paths", check_paths, "Scenario files or folders")->required();

  std::string replay_file;
  bool real_time = false;
  auto* replay = app.add_subcommand(
      "replay", "Send the host side of a transcript again and compare the module's answers");
  replay->add_option("transcript", replay_file, "A transcript's .jsonl file")->required();
  replay->add_flag("--real-time", real_time,
                   "Keep every recorded pause (else long ones are shortened)");
  replay->add_option("--transcripts", transcripts, "Write the replay's own transcript here");
  replay->add_flag("-v,--verbose", verbose, "Print each step as it happens");

  std::vector<std::string> report_paths;
  std::string report_out, report_title = "bg95sim run";
  auto* report = app.add_subcommand(
      "report", "Make one self-contained HTML report of transcripts (.jsonl files or folders)");
  report->add_option("transcripts", report_paths, "Transcripts' .jsonl files, or folders of them")
      ->required();
  report->add_option("-o,--output", report_out, "The HTML file to write")->required();
  report->add_option("--title", report_title, "The report's title");
  std::string html;
  run->add_option("--html", html,
                  "Also write an HTML report of the runs here (transcripts go to --transcripts, "
                  "or a temporary folder)");

  // The shards of a run joined into one (docs/scale-out.md).
  bg95::scenario::MergeRequest merge_request;
  auto* merge = app.add_subcommand(
      "merge", "Join the JUnit XML and summaries of a run's shards (folders or files) into one");
  merge
      ->add_option("shards", merge_request.inputs,
                   "Shard folders (junit.xml, summary.txt), or NAME.xml / NAME.txt files")
      ->required();
  merge->add_option("-o,--output", merge_request.junit_out, "The merged JUnit XML file to write");
  merge->add_option("--summary", merge_request.summary_out, "Also write the merged summary here");

  CLI11_PARSE(app, argc, argv);

  if (*merge) return bg95::scenario::merge_command(merge_request, std::cout, std::cerr);
  if (*report) return write_report(expand(report_paths, ".jsonl"), report_out, report_title);

  bg95::scenario::RunOptions options;
  options.work_dir = work;
  options.keep_state = keep_state;
  options.transcript_dir = transcripts;
  if (verbose) options.progress = [](const std::string& line) { fmt::print("      {}\n", line); };

  if (*check) {
    int bad = 0;
    for (const auto& f : expand(check_paths)) {
      try {
        const auto s = bg95::scenario::parse_scenario(f);
        fmt::print("ok    {} ({}: {} rules, {} host steps)\n", f.string(), s.name, s.rules.size(),
                   s.host.steps.size());
      } catch (const std::exception& e) {
        fmt::print("error {}\n", e.what());
        ++bad;
      }
    }
    return bad == 0 ? 0 : 2;
  }

  if (*replay) {
    std::ifstream in(replay_file);
    std::string first;
    if (!in || !std::getline(in, first)) {
      std::cerr << "bg95-scenario: " << replay_file << ": cannot be read\n";
      return 2;
    }
    bg95::scenario::Scenario s;
    try {
      const auto header = nlohmann::json::parse(first);
      if (header.value("format", "") != "bg95sim-transcript")
        throw std::runtime_error("not a bg95sim transcript (its first line is no header)");
      s = bg95::scenario::parse_scenario_text(header.at("scenario").at("source").get<std::string>(),
                                              header.at("scenario").at("file").get<std::string>());
    } catch (const std::exception& e) {
      std::cerr << "bg95-scenario: " << replay_file << ": " << e.what() << "\n";
      return 2;
    }
    options.replay = replay_file;
    options.replay_real_time = real_time;
    const RunResult r = bg95::scenario::run_scenario(s, options);
    print_result(r);
    return r.verdict_pass ? 0 : 1;
  }

  std::optional<TempFolder> html_transcripts;
  if (!html.empty() && transcripts.empty()) {
    html_transcripts.emplace();
    options.transcript_dir = html_transcripts->path;
  }

  std::vector<RunResult> results;
  int unreadable = 0;
  std::optional<std::regex> only;
  if (!filter.empty()) only = std::regex(filter);
  auto scenario_files = expand(run_paths);
  const auto slice = bg95::fleet::take_slice(scenario_files.size(), shard.index, shard.count,
                                             bg95::fleet::process_environment(), "scenario file");
  if (!slice) {
    std::cerr << "bg95-scenario: " << slice.error() << "\n";
    return 2;
  }
  scenario_files = {scenario_files.begin() + static_cast<long>(slice->first),
                    scenario_files.begin() + static_cast<long>(slice->last)};
  for (const auto& f : scenario_files) {
    bg95::scenario::Scenario s;
    try {
      s = bg95::scenario::parse_scenario(f);
    } catch (const std::exception& e) {
      fmt::print("ERROR {}\n", e.what());
      RunResult r;
      r.name = f.stem().string();
      r.file = f;
      r.reason = e.what();
      results.push_back(r);
      ++unreadable;
      continue;
    }
    if (only && !std::regex_search(s.name, *only)) continue;
    if (verbose) fmt::print("      {}: {}\n", s.name, s.description);
    results.push_back(bg95::scenario::run_scenario(s, options));
    print_result(results.back());
    std::fflush(stdout);
  }
  const auto passed = static_cast<std::size_t>(
      std::count_if(results.begin(), results.end(), [](const RunResult& r) { return r.passed; }));
  fmt::print("\n{} passed, {} failed\n", passed, results.size() - passed);
  if (!junit.empty()) {
    std::ofstream out(junit);
    out << bg95::scenario::junit_xml("bg95sim scenarios", results);
    if (!out) {
      std::cerr << "bg95-scenario: " << junit << ": cannot be written\n";
      return 2;
    }
  }
  if (!html.empty()) {
    std::vector<std::filesystem::path> files;
    for (const RunResult& r : results)  // r.transcript is the .txt; its .jsonl is beside it
      if (!r.transcript.empty())
        files.push_back(std::filesystem::path(r.transcript).replace_extension(".jsonl"));
    if (write_report(files, html, "bg95sim scenarios") != 0) return 2;
  }
  if (unreadable > 0) return 2;
  return passed == results.size() ? 0 : 1;
}
