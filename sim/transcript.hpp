#pragma once
// The record of a session (docs/scenarios.md, "Transcripts"): every byte in both directions on
// every port, with the time it crossed, and every module event (power, mode, commands, URCs,
// download and update progress, flash operations, network, DTR, rules fired, verdicts). Two
// files: <base>.txt for people, <base>.jsonl for programs — one JSON object a line, the first
// a header that says how the session was set up, so that `bg95-scenario replay` can send the
// host's side again and compare the module's answers.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "sim/module_host.hpp"
#include "sim/module_observer.hpp"

namespace bg95 {

class Transcript : public ModuleObserver, public PortTap {
 public:
  static constexpr int kFormatVersion = 1;

  // Creates (or truncates) both files and writes the header; throws std::runtime_error naming
  // the file when that fails.
  Transcript(std::filesystem::path base, nlohmann::json header);
  ~Transcript() override;
  Transcript(const Transcript&) = delete;
  Transcript& operator=(const Transcript&) = delete;

  // An event of the run around the module (a rule fired, a verdict, a server request).
  void event(std::string_view kind, std::string_view text, nlohmann::json extra = {});
  void flush();

  std::filesystem::path text_file() const { return base_.string() + ".txt"; }
  std::filesystem::path json_file() const { return base_.string() + ".jsonl"; }

  // ---- PortTap
  void host_bytes(std::string_view port, std::string_view bytes, bool heard) override;
  void module_bytes(std::string_view port, std::string_view bytes, bool delivered) override;
  void host_opened(std::string_view port) override;
  void host_closed(std::string_view port) override;
  // ---- ModuleObserver
  void on_power(PowerEvent event) override;
  void on_command(std::string_view port, std::string_view command) override;
  void on_urc(std::string_view text) override;
  void on_download_progress(std::uint64_t received, std::optional<std::uint64_t> total) override;
  void on_update_progress(std::string_view phase, int percent) override;
  void on_flash_op(const flash::FlashOp& op, std::uint64_t index, flash::Fault fault) override;
  void on_network(const NetworkState& now) override;
  void on_dtr(bool high) override;
  void on_log(std::string_view event) override;

  // How the text form shows bytes: printable ASCII as it is, CR LF TAB as \r \n \t, the rest
  // as \xNN; at most `max` bytes, then "… (+N bytes)".
  static std::string escape(std::string_view bytes, std::size_t max = 240);

 private:
  double now() const;
  void record(nlohmann::json j, const std::string& text_line);
  void end_flash_run();

  std::filesystem::path base_;
  std::ofstream text_;
  std::ofstream json_;
  std::chrono::steady_clock::time_point start_;
  // Flash operations are many: the text form shows a run of them as one line.
  std::uint64_t flash_first_ = 0, flash_last_ = 0, flash_programs_ = 0, flash_erases_ = 0;
  double flash_time_ = 0;
  int last_download_percent_ = -1;
};

}  // namespace bg95
