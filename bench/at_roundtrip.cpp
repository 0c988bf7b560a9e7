// AT round trip: the host writes "AT\r" and waits for "\r\nOK\r\n" (ATE0), over the real
// bg95sim pty, beside the machine's floor: a minimal process that reads a pty master and
// writes "\r\nOK\r\n" back for each CR. Both are driven by the same client loop on the slave
// side (raw mode, blocking read/write). Median and 99th percentile of each run; the runs
// alternate sim / floor and the median over runs is reported. The system calls of the same
// loop: scripts/at_syscalls.sh.
//
// Usage: bench_at_roundtrip [round trips per run, default 2000]

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_common.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

constexpr std::string_view kOk = "\r\nOK\r\n";

// One round trip on `fd`: microseconds from the write to the last byte of the answer.
double round_trip(int fd) {
  const auto start = Clock::now();
  if (::write(fd, "AT\r", 3) != 3) throw std::runtime_error("write failed");
  char buf[256];
  std::size_t got = 0;
  while (got < kOk.size()) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) throw std::runtime_error("no answer within 5 s");
    const ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n <= 0) throw std::runtime_error("read failed");
    got += static_cast<std::size_t>(n);
  }
  if (std::string_view(buf, got) != kOk)
    throw std::runtime_error("unexpected answer: " + std::string(buf, got));
  return seconds_since(start) * 1e6;
}

std::vector<double> sample(int fd, int count) {
  for (int i = 0; i < 500; ++i)
    round_trip(fd);  // warm-up
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i)
    us.push_back(round_trip(fd));
  return us;
}

// The floor: a child process echoes "\r\nOK\r\n" for every CR read from the master.
std::vector<double> floor_run(int count) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
    throw std::runtime_error("posix_openpt failed");
  const std::string slave = ::ptsname(master);
  test::HostPort host(slave);  // the same host side as the sim's: raw, 115200
  const pid_t pid = ::fork();
  if (pid == 0) {
    char buf[65536];
    while (true) {
      const ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) ::_exit(0);
      for (ssize_t i = 0; i < n; ++i)
        if (buf[i] == '\r' && ::write(master, kOk.data(), kOk.size()) < 0) ::_exit(1);
    }
  }
  std::vector<double> us = sample(host.fd(), count);
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(master);
  return us;
}

std::vector<double> sim_run(int count) {
  test::TempDir dir;
  test::SimProcess sim({.state_dir = dir.path() / "state", .extra_args = {}});
  auto& port = sim.open_port();
  port.command("ATE0\r");
  port.read_for(std::chrono::milliseconds(100));
  return sample(port.fd(), count);
}

}  // namespace
}  // namespace bg95::bench

int main(int argc, char** argv) {
  using namespace bg95::bench;
  const int count = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int runs = repeats(5);
  std::vector<double> sim_med, sim_p99, floor_med, floor_p99;
  try {
    for (int r = 0; r < runs; ++r) {
      say("AT round trip: run " + std::to_string(r + 1) + "/" + std::to_string(runs));
      const auto s = sim_run(count);
      const auto f = floor_run(count);
      sim_med.push_back(median(s));
      sim_p99.push_back(percentile(s, 99));
      floor_med.push_back(median(f));
      floor_p99.push_back(percentile(f, 99));
    }
  } catch (const std::exception& e) {
    say(std::string("AT round trip failed: ") + e.what());
    return 1;
  }
  const std::string note = std::to_string(count) + " round trips per run; ATE0";
  emit({.group = "at",
        .figure = "AT round trip median (bg95sim pty)",
        .value = median(sim_med),
        .unit = "us",
        .baseline = "pty echo loop (floor)",
        .baseline_value = median(floor_med),
        .target = "<= 1.15",  // issue 20, item 5 (issue 8 asked for 1.5)
        .runs = runs,
        .note = note});
  emit({.group = "at",
        .figure = "AT round trip p99 (bg95sim pty)",
        .value = median(sim_p99),
        .unit = "us",
        .baseline = "pty echo loop (floor)",
        .baseline_value = median(floor_p99),
        .target = "",
        .runs = runs,
        .note = note});
  return 0;
}
