#pragma once
// The HTML report of a run (docs/scenarios.md, "Reports"): one self-contained file (no script,
// no fetch, inline CSS and SVG) made from transcripts' .jsonl files. Per module: a timeline (power
// state, AT commands folded, URCs, download and update progress as bars, rule firings, network
// and DTR events, flash operations binned), a summary line per DFOTA (from and to revision,
// phases with durations, result with its reason), and the events as a folded list.

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bg95::report {

struct ReportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One mark on a lane of the timeline, and one row of the event list.
struct Mark {
  double t = 0;
  std::string lane;    // power, at, urc, rule, network, step
  std::string label;   // short, on the timeline's tooltip and in the list
  std::string detail;  // the list's folded part (an AT answer's bytes), may be empty
  std::string css;     // the mark's class: power-cut, power-on, ..., fault
  // Identical marks on the lane folded into this one (a polled AT+CSQ with the same answer,
  // a repeated URC): the list shows "×N", the timeline every time.
  std::vector<double> again;
  bool folded = false;  // folded into an earlier mark: not shown on its own
  int count() const { return 1 + static_cast<int>(again.size()); }
};

// A stretch of one state or one progress bar.
struct Span {
  double from = 0, to = 0;
  std::string lane;  // power, download, update
  std::string label;
  std::string css;
  int percent = -1;  // for progress: the highest percent reached in the span
};

// One DFOTA from its first URC to its end, as its summary line reports it.
struct Dfota {
  std::string from_revision, to_revision;
  std::optional<double> download_start, download_end, mode_entered, update_start, update_end,
      booted;
  std::string download_kind;  // HTTP, CoAP, or empty for a local or COM package
  std::optional<int> download_code, end_code;
  int highest_percent = -1;
  std::vector<int> cuts_at;  // the UPDATING percent at each power cut during the update
  // The module's own explanations, from its log ("HTTP download ended with 703: ...",
  // "update ended with 511: ..."); the summary gives the one that goes with the result.
  std::string download_reason, update_reason;
  std::string summary() const;
};

struct ModuleRun {
  std::string name;  // the scenario's name, or the file's stem
  std::string model, imei;
  std::string verdict;  // "pass", "fail: <reason>", or empty when none was recorded
  double duration = 0;
  std::vector<Mark> marks;
  std::vector<Span> spans;
  std::vector<double> flash_ops;  // times of the flash operations (binned when drawn)
  std::vector<double> flash_faults;
  std::vector<Dfota> dfotas;
};

// Reads one transcript (.jsonl). Throws ReportError naming the file and line when it is not
// one, or a line is not JSON.
ModuleRun read_transcript(const std::filesystem::path& jsonl);

// The whole page for these runs.
std::string html_report(const std::vector<ModuleRun>& runs, const std::string& title);

}  // namespace bg95::report
