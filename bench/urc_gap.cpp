// The smallest URC gap a host still sees apart (issue 16): a writer puts URC-sized lines into a
// pty master, each in a write of its own with a given gap between them, and a host on the
// slave side reads as soon as data is there (poll, then one read of up to 4096 bytes, as
// fwupd and most drivers do). A read that holds more than one line is a merge. For each gap
// the bench reports the share of lines that came merged; the baseline is the same host with
// no gap at all (back-to-back writes), in the same run. The module's URC gap
// (Timing::urc_gap, sim/timing.hpp) must be above the smallest gap with no merge here, with a
// margin for a loaded machine.
//
// Usage: bench_urc_gap [lines per gap, default 1000]

#include <poll.h>
#include <pty.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/bench_common.hpp"

namespace bg95::bench {
namespace {

constexpr std::string_view kUrc = "\r\n+QIND: \"FOTA\",\"UPDATING\",42\r\n";

struct Pty {
  int master = -1, slave = -1;
  Pty() {
    if (::openpty(&master, &slave, nullptr, nullptr, nullptr) != 0)
      throw std::runtime_error("openpty failed");
    termios t{};
    ::tcgetattr(slave, &t);
    ::cfmakeraw(&t);
    ::tcsetattr(slave, TCSANOW, &t);
  }
  ~Pty() {
    ::close(master);
    ::close(slave);
  }
};

// Lines that arrived in a read with another line, out of `count`, at `gap` between writes.
double merged_share(std::chrono::microseconds gap, int count) {
  Pty pty;
  std::atomic<bool> done{false};
  int merged = 0, lines = 0;
  std::thread host([&] {
    std::string buf(4096, '\0');
    while (lines < count) {
      pollfd p{pty.slave, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) break;
      const ssize_t n = ::read(pty.slave, buf.data(), buf.size());
      if (n <= 0) break;
      const std::string_view got(buf.data(), static_cast<std::size_t>(n));
      // Whole lines only: the writer writes whole URCs, so a read holds k of them.
      const int k = static_cast<int>(got.size() / kUrc.size());
      lines += k;
      if (k > 1) merged += k;
    }
    done = true;
  });
  for (int i = 0; i < count; ++i) {
    if (::write(pty.master, kUrc.data(), kUrc.size()) != static_cast<ssize_t>(kUrc.size()))
      throw std::runtime_error("write failed");
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
  }
  host.join();
  return lines == 0 ? 1.0 : static_cast<double>(merged) / lines;
}

}  // namespace
}  // namespace bg95::bench

int main(int argc, char** argv) {
  using namespace bg95::bench;
  const int count = argc > 1 ? std::atoi(argv[1]) : 1000;
  const double back_to_back = merged_share(std::chrono::microseconds(0), count);
  for (const int us : {50, 100, 200, 500, 1000, 2000, 5000, 10000}) {
    const double share = merged_share(std::chrono::microseconds(us), count);
    emit(Row{.group = "urc",
             .figure = "URCs merged into one read at a " + std::to_string(us) + " us gap",
             .value = share * 100,
             .unit = "%",
             .baseline = "back-to-back writes",
             .baseline_value = back_to_back * 100,
             .target = "",
             .runs = 1,
             .note = std::to_string(count) + " URCs; host reads as soon as data is there"});
  }
}
