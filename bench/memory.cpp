// Memory of idle modules: VmRSS (and VmHWM, the peak) of one bg95sim process after boot, with
// the host port open and the module answering AT, from /proc/<pid>/status.
//
// Fleet rows (issue 8: N = 10 / 100 / 1000 modules in one process): measured only when
// `bg95sim --help` lists --count; otherwise the rows are written as "not measured" so that the
// table and the CSV keep their place. With --count, N = 10 and N = 100 are started idle (a
// state folder of their own, fast profile) and their total RSS is read once the process has
// printed N ready lines; wall time, CPU time and peak RSS of N concurrent DFOTAs are left to
// the fleet benchmark that comes with fleet mode.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_common.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

std::string capture(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

bool fleet_mode_exists() {
  return capture(std::string(BG95SIM_BINARY) + " --help 2>&1").find("--count") != std::string::npos;
}

// Idle RSS (KiB) of one module: started, port opened, AT answered, then 1 s of idling.
std::pair<long, long> single_run() {
  test::TempDir dir;
  test::SimProcess sim({.state_dir = dir.path() / "state", .extra_args = {}});
  auto& port = sim.open_port();
  port.command("AT\r");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return {proc_status_kib(sim.pid(), "VmRSS"), proc_status_kib(sim.pid(), "VmHWM")};
}

// Fleet of n idle modules in one process: total VmRSS in KiB, or -1 when it did not come up.
long fleet_run(int n, double& startup_s) {
  test::TempDir dir;
  int out[2];
  if (::pipe(out) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    const std::string state = (dir.path() / "fleet").string();
    const std::string count = std::to_string(n);
    ::execl(BG95SIM_BINARY, BG95SIM_BINARY, "--count", count.c_str(), "--state", state.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  // One ready line per module, then "fleet of N modules ready", within 120 s.
  std::string text;
  const auto start = Clock::now();
  while (text.find("modules ready") == std::string::npos && seconds_since(start) < 120) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[4096];
    const ssize_t got = ::read(out[0], buf, sizeof buf);
    if (got <= 0) break;
    text.append(buf, static_cast<std::size_t>(got));
  }
  startup_s = seconds_since(start);
  const bool ready = text.find("modules ready") != std::string::npos;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long rss = ready ? proc_status_kib(pid, "VmRSS") : -1;
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(out[0]);
  return rss;
}

}  // namespace
}  // namespace bg95::bench

int main() {
  using namespace bg95::bench;
  const int runs = repeats();
  std::vector<double> rss, hwm;
  try {
    for (int r = 0; r < runs; ++r) {
      say("idle RSS: run " + std::to_string(r + 1) + "/" + std::to_string(runs));
      const auto [now, peak] = single_run();
      rss.push_back(static_cast<double>(now) / 1024.0);
      hwm.push_back(static_cast<double>(peak) / 1024.0);
    }
  } catch (const std::exception& e) {
    say(std::string("idle RSS failed: ") + e.what());
    return 1;
  }
  emit({.group = "memory",
        .figure = "idle RSS of one bg95sim process (VmRSS)",
        .value = median(rss),
        .unit = "MiB",
        .baseline = "",
        .baseline_value = std::nullopt,
        .target = "",
        .runs = runs,
        .note = "4 MiB default image; after boot and one AT; peak VmHWM " + fixed(median(hwm), 1) +
                " MiB"});

  // Fleet rows: the layout the fleet benchmark fills in (issue 8, point 2, last item).
  const bool fleet = fleet_mode_exists();
  for (const int n : {10, 100, 1000}) {
    const std::string N = "fleet N=" + std::to_string(n);
    std::optional<double> per_module;
    std::string why = fleet ? (n <= 100 ? "fleet did not come up within 120 s"
                                        : "left to the fleet benchmark (N=10 and 100 here)")
                            : "bg95sim has no --count yet";
    if (fleet && n <= 100) {
      say("fleet idle RSS: N=" + std::to_string(n));
      double startup = 0;
      const long kib = fleet_run(n, startup);
      if (kib > 0) {
        per_module = static_cast<double>(kib) / 1024.0 / n;
        why = "idle; total VmRSS " + fixed(static_cast<double>(kib) / 1024.0, 1) +
              " MiB / N; start-up to ready " + fixed(startup, 2) + " s";
      }
    }
    auto row = [&](const std::string& figure, const std::string& unit, std::optional<double> value,
                   const std::string& note) {
      Row r;
      r.group = "fleet";
      r.figure = N + ": " + figure;
      r.value = value;
      r.unit = unit;
      r.runs = value ? 1 : 0;
      r.note = note;
      emit(r);
    };
    row("wall time of N concurrent DFOTAs", "s", std::nullopt, "left to the fleet benchmark");
    row("CPU time of N concurrent DFOTAs", "s", std::nullopt, "left to the fleet benchmark");
    row("peak RSS", "MiB", std::nullopt, "left to the fleet benchmark");
    row("RSS per idle module", "MiB", per_module, why);
  }
  return 0;
}
