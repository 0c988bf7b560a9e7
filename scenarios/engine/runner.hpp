#pragma once
// Runs one scenario end to end in this process: builds its firmware and packages, starts its
// package server and LwM2M server on loopback, sets up a module on a real pseudo-terminal,
// attaches the scenario's rules and a transcript, and plays the host script against the port
// from this thread while the module, the rules and the servers run on an event loop of their
// own. The run ends with the host script's end, a verdict action, a failed step or the
// scenario's time-out; then the final checks of `expect:` are made.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/engine/scenario.hpp"

namespace bg95::scenario {

struct RunOptions {
  // Where the module's state folder goes (a fresh temporary folder when empty); removed after
  // the run unless keep_state.
  std::filesystem::path work_dir;
  bool keep_state = false;
  // Where transcripts go (<dir>/<scenario name>.txt and .jsonl); none when empty.
  std::filesystem::path transcript_dir;
  // A transcript to replay instead of the scenario's host script (bg95-scenario replay).
  std::optional<std::filesystem::path> replay;
  bool replay_real_time = false;  // keep every recorded gap (else gaps are capped)
  // Progress lines (steps, rules fired) as they happen; none when empty.
  std::function<void(const std::string&)> progress;
};

struct RunResult {
  std::string name;
  std::filesystem::path file;
  bool passed = false;        // the run ended with the verdict the scenario expects
  bool verdict_pass = false;  // the verdict itself
  std::string reason;         // how it ended, or what failed
  double seconds = 0;
  std::filesystem::path transcript;      // the .txt, when one was written
  std::vector<std::string> rules_fired;  // "cut-at-43 x1"
  std::string host_tail;  // the last bytes the host received, escaped (for failure reports)
};

RunResult run_scenario(const Scenario& scenario, const RunOptions& options);

}  // namespace bg95::scenario
