#pragma once
// The host side of a scenario run: it plays the host script's steps (send, expect, pause,
// open/close, baud, do, lwm2m) against the module's real ports from the runner's thread, or
// replays the host side of a recorded transcript and compares what the module answers with
// what it answered then. It never touches the module directly: module-side actions and
// transcript lines go through the callbacks, which post them to the module's event loop.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenarios/engine/host_port.hpp"
#include "scenarios/engine/scenario.hpp"

namespace bg95::peer {
class Lwm2mServer;
}

namespace bg95::scenario {

class HostDriver {
 public:
  struct Env {
    std::function<std::string(const std::string& port)> port_path;  // "uart" -> /dev/pts/7
    std::function<std::string(const std::string&)> substitute;      // ${...}; throws
    // Step `index` of the host script starts (the transcript records it, so that a replay
    // can do its module-side actions again at the same place).
    std::function<void(std::size_t index, const std::string& text)> step_started;
    std::function<void(const std::vector<Action>&, const std::string& why)> act;
    std::function<const std::vector<std::uint8_t>*(const std::string& name)> package;
    peer::Lwm2mServer* lwm2m = nullptr;
    int wake_fd = -1;                      // readable: stop now (a verdict)
    HostPort::Clock::time_point deadline;  // the scenario's time-out
    Duration default_timeout{std::chrono::seconds(10)};
    Duration guard_time{std::chrono::seconds(1)};  // for replay: gaps this long are kept
    // For replay: recorded text (host bytes, module output) to this run's (server addresses).
    std::function<std::string(std::string)> translate;
    // For replay: waits until the module has written `count` times to `port` (delivered or
    // not), or the deadline passed; false then.
    std::function<bool(const std::string& port, std::uint64_t count,
                       HostPort::Clock::time_point deadline)>
        wait_module_writes;
    // For replay: the module's writes to `port` so far, in order, with their times (the
    // replay checks that they come in the recorded order and at the recorded gaps).
    struct ModuleWrite {
      HostPort::Clock::time_point at;
      std::string bytes;
      bool delivered = true;
    };
    std::function<std::vector<ModuleWrite>(const std::string& port)> module_writes;
  };

  // A replay's gaps between the module's writes may differ from the recording's by this
  // much, plus kGapToleranceShare of the recorded gap (the realistic profile's seeded jitter
  // is ±10 %; a loaded machine adds tens of milliseconds to a timer).
  static constexpr Duration kGapTolerance{std::chrono::milliseconds(100)};
  static constexpr double kGapToleranceShare = 0.25;

  explicit HostDriver(Env env) : env_(std::move(env)) {}

  void open(const std::string& port, std::uint32_t baud = 115200);
  // Runs the steps in order; nullopt when every step passed (or a wake-up stopped them),
  // else what failed.
  std::optional<std::string> run(const std::vector<HostStep>& steps, std::size_t first = 0);
  // The `open` steps the script starts with, done before the module powers on (so that the
  // host sees the banner); returns how many there were. Throws on a port that cannot be opened.
  std::size_t open_first(const std::vector<HostStep>& steps);
  // Sends the host side of a transcript again; nullopt when the module answered byte for byte
  // as recorded, else where it differed.
  // Before the module powers on: opens the ports the recording's host had open before the
  // module's first write to them.
  void replay_open_first(const std::filesystem::path& jsonl);
  // `steps`: the recorded scenario's host steps (their `do` and `lwm2m` steps are done again).
  std::optional<std::string> replay(const std::filesystem::path& jsonl, bool real_time,
                                    const std::vector<HostStep>& steps);

  bool woken() const { return woken_; }
  // The last bytes received on a port, escaped (for reports).
  std::string tail(const std::string& port) const;

 private:
  std::optional<std::string> step(const HostStep& s, std::size_t index);
  std::optional<std::string> send(const std::string& port, std::string_view bytes);
  // Reads until the pattern is in the port's buffer (consumed through the match) or the time
  // is up; with `absent`, succeeds when the time is up without it.
  std::optional<std::string> expect(const std::string& port, const Pattern& pattern,
                                    Duration timeout, bool absent);
  // Reads whatever arrives on open ports until `until` (a pause keeps the output flowing).
  bool drain_until(HostPort::Clock::time_point until);
  std::optional<std::string> lwm2m(const HostStep& s);
  HostPort::Clock::time_point limit(Duration timeout) const;
  // A module write of the recording, and whether the host did something on its port since
  // the one before (then the gap is the host's doing, not the module's).
  struct RecordedWrite {
    double t = 0;
    std::string bytes;
    bool after_host = false;
  };
  // The replay's writes against the recording's: order, bytes and gaps.
  std::optional<std::string> check_writes(const std::string& port,
                                          const std::vector<RecordedWrite>& recorded) const;

  Env env_;
  std::map<std::string, HostPort> ports_;
  std::map<std::string, std::string> received_;  // per port, not yet consumed by an expect
  std::map<std::string, std::string> history_;   // per port, everything (for replay)
  std::map<std::string, std::vector<std::uint8_t>> observe_tokens_;  // LwM2M path -> token
  bool woken_ = false;
};

}  // namespace bg95::scenario
