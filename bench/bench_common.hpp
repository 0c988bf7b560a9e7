#pragma once
// What every benchmark program shares: clocks and statistics, the rows of the results table
// (CSV on stdout, one line per figure beside its baseline), running external tools with a
// stopwatch, files, and a process's memory from /proc.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bg95::bench {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Statistics of a sample (copied: they sort).
double median(std::vector<double> v);
double percentile(std::vector<double> v, double p);  // p in [0, 100], nearest rank

// How many times each measurement is repeated (the median is reported): $BG95_BENCH_REPEAT,
// default `fallback`.
int repeats(int fallback = 3);

inline constexpr double kMiB = 1024.0 * 1024.0;
inline constexpr double kMB = 1e6;

// One line of the results table. `ratio` is value / baseline_value; `target` says what the
// ratio must be ("<= 1.5", ">= 0.5", ...) or is empty when the issue sets none.
struct Row {
  std::string group;   // "at", "com", "apply", "package", "dfota", "memory", "fleet"
  std::string figure;  // what was measured
  std::optional<double> value;
  std::string unit;
  std::string baseline;  // what it is compared with (empty: none)
  std::optional<double> baseline_value;
  std::string target;  // "<= 1.5" / ">= 0.5" / ">= 0.8" or empty
  int runs = 0;
  std::string note;
};

// The CSV header line (scripts/bench.sh writes it once) and one row; commas in text fields
// become semicolons, so the file needs no quoting.
inline constexpr const char* kCsvHeader =
    "group,figure,value,unit,baseline,baseline_value,ratio,target,met,runs,note";
void emit(const Row& row);

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null, stdout to `stdout_path`
// (or /dev/null) and stderr to /dev/null; returns the wall seconds from fork to exit. Throws
// std::runtime_error when it cannot start or exits non-zero.
double run_timed(const std::vector<std::string>& argv, const std::string& stdout_path = {});
// True when `name` is an executable on PATH.
bool have_tool(const std::string& name);

Bytes read_file(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
std::vector<std::uint8_t> random_bytes(std::size_t size, std::uint64_t seed);

// "VmRSS" / "VmHWM" of /proc/<pid>/status in KiB; -1 when absent.
long proc_status_kib(pid_t pid, const char* field);

// The image a new bg95sim writes for --firmware-size `size` (as `dfota-pack firmware --size`).
Bytes module_default_image(std::uint64_t size);
// Its next version: revision stepped, `change` of the body edited (derive_next_body).
Bytes next_version(const Bytes& old_image, double change, std::uint64_t seed);

// v with `digits` decimals ("%.*f").
std::string fixed(double v, int digits = 3);

// Logs a line to stderr (progress; stdout is the CSV).
void say(const std::string& text);

}  // namespace bg95::bench
