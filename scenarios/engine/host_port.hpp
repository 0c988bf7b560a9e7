#pragma once
// The host side of one of the module's ports, as a scenario's host script uses it: opened like
// a serial device (raw, at a baud rate), written and read with deadlines. Every wait also
// watches a wake-up descriptor, so that the run can stop the script at once (a verdict, the
// scenario's time-out) instead of waiting out a step.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bg95::scenario {

class HostPort {
 public:
  using Clock = std::chrono::steady_clock;
  HostPort() = default;
  ~HostPort();
  HostPort(const HostPort&) = delete;
  HostPort& operator=(const HostPort&) = delete;

  // Throws std::runtime_error with the reason.
  void open(const std::string& path, std::uint32_t baud);
  void close();
  bool is_open() const { return fd_ >= 0; }
  void set_baud(std::uint32_t baud);

  enum class Wait { Data, Deadline, Woken, Gone };
  // Writes all bytes unless the deadline passes or the wake descriptor fires first.
  Wait write(std::string_view bytes, Clock::time_point deadline, int wake_fd);
  // Appends what arrives to `into` (one read); Gone when the port vanished (e.g. the USB port
  // in DFOTA mode) — the port is closed then.
  Wait read(std::string& into, Clock::time_point deadline, int wake_fd);

 private:
  int fd_ = -1;
};

}  // namespace bg95::scenario
