// COM upload: AT+QFOTADL="COM:",6291456 in the fast profile, 6 MiB of random bytes written in
// 2048-byte chunks from CONNECT to the final OK, beside the raw throughput of a pty pair with
// the same writer: a child process reads the master (64 KiB reads, as bg95sim does) until all
// bytes arrived and answers "\r\nOK\r\n". Runs alternate upload / raw; medians are reported.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

constexpr std::size_t kSize = 6 * 1024 * 1024;
constexpr std::size_t kChunk = 2048;

void write_chunks(int fd, const Bytes& data) {
  for (std::size_t at = 0; at < data.size(); at += kChunk) {
    const std::size_t n = std::min(kChunk, data.size() - at);
    std::size_t done = 0;
    while (done < n) {
      const ssize_t w = ::write(fd, data.data() + at + done, n - done);
      if (w < 0) throw std::runtime_error("write failed");
      done += static_cast<std::size_t>(w);
    }
  }
}

double raw_run(const Bytes& data) {
  const int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0)
    throw std::runtime_error("posix_openpt failed");
  test::HostPort host(::ptsname(master));
  const pid_t pid = ::fork();
  if (pid == 0) {
    static char buf[65536];
    std::size_t got = 0;
    while (got < kSize) {
      const ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) ::_exit(1);
      got += static_cast<std::size_t>(n);
    }
    if (::write(master, "\r\nOK\r\n", 6) != 6) ::_exit(1);
    ::pause();
    ::_exit(0);
  }
  const auto start = Clock::now();
  write_chunks(host.fd(), data);
  host.read_until("OK\r\n", std::chrono::seconds(60));
  const double s = seconds_since(start);
  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  ::close(master);
  return s;
}

double upload_run(const Bytes& data) {
  test::TempDir dir;
  test::SimProcess sim({.state_dir = dir.path() / "state", .extra_args = {}});
  auto& port = sim.open_port();
  port.command("ATE0\r");
  port.read_for(std::chrono::milliseconds(100));
  const auto connect = port.command("AT+QFOTADL=\"COM:\"," + std::to_string(kSize) + "\r");
  if (connect.find("CONNECT") == std::string::npos)
    throw std::runtime_error("no CONNECT: " + connect);
  const auto start = Clock::now();
  write_chunks(port.fd(), data);
  const auto answer = port.read_until("OK\r\n", std::chrono::seconds(60));
  const double s = seconds_since(start);
  if (answer.find("+QFOTADL: " + std::to_string(kSize) + ",") == std::string::npos)
    throw std::runtime_error("unexpected answer: " + answer);
  return s;
}

}  // namespace
}  // namespace bg95::bench

int main() {
  using namespace bg95::bench;
  const Bytes data = random_bytes(kSize, 1);
  const int runs = repeats(9);  // cheap, and noisy: the pty pair's speed depends on scheduling
  std::vector<double> up, raw;
  try {
    for (int r = 0; r < runs; ++r) {
      say("COM upload: run " + std::to_string(r + 1) + "/" + std::to_string(runs));
      up.push_back(static_cast<double>(kSize) / kMB / upload_run(data));
      raw.push_back(static_cast<double>(kSize) / kMB / raw_run(data));
    }
  } catch (const std::exception& e) {
    say(std::string("COM upload failed: ") + e.what());
    return 1;
  }
  emit({.group = "com",
        .figure = "COM upload 6 MiB (AT+QFOTADL=\"COM:\"; fast)",
        .value = median(up),
        .unit = "MB/s",
        .baseline = "raw pty pair; same writer",
        .baseline_value = median(raw),
        .target = ">= 0.5",
        .runs = runs,
        .note = "2048-byte writes; CONNECT to OK"});
  return 0;
}
