// The AT engine's data mode and "+++" escape detection (protocol/at/engine.*). The input is a
// sequence of records, each [control][length][length bytes]:
//   control bits 0-5: the silence before the chunk, in 1/16ths of the guard time (0..~4 guard
//                     times), on the engine's clock, which this target steps itself;
//   control bit 6:    after the chunk, DTR drops (AT&D1: data mode ends as if escaped);
//   control bit 7:    after the chunk, the module resets (power loss).
// AT+UP=<n> (1..64) enters data mode for n bytes, AT+UP? answers; other lines are answered by
// the engine as usual. The engine's clock is stepped; only the timer that ends the silence
// after "+++" waits for real, and only when a chunk is followed by at least a guard time.
//
// Properties: a session never takes bytes after it was finished and is finished exactly
// once; data mode is on exactly while the latest session is not finished.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "protocol/at/command_table.hpp"
#include "protocol/at/data_session.hpp"
#include "protocol/at/dte_profile.hpp"
#include "protocol/at/engine.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace bg95::at;
using namespace std::chrono_literals;

// Short, because the end of an escape is a real timer of this length.
constexpr auto kGuard = 2ms;
// At most this many real waits per input, so that no input takes more than ~10 ms of waiting.
constexpr int kMaxRealWaits = 4;

class Upload : public DataSession {
 public:
  explicit Upload(std::size_t want) : want_(want) {}
  std::size_t on_data(std::string_view bytes) override {
    BG95_FUZZ_CHECK(!ended);
    const std::size_t take = std::min(bytes.size(), want_ - data.size());
    data.append(bytes.substr(0, take));
    return take;
  }
  bool complete() const override { return data.size() == want_; }
  double idle_timeout_seconds() const override { return 0; }
  Reply finish(DataEnd why) override {
    BG95_FUZZ_CHECK(!ended);
    ended = true;
    end = why;
    return Reply{{"+UP: " + std::to_string(data.size())}, Outcome::ok(), nullptr};
  }
  std::string data;
  bool ended = false;
  DataEnd end = DataEnd::Complete;

 private:
  std::size_t want_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::asio::io_context io;
  CommandTable table;
  DteProfile profile;
  std::shared_ptr<Upload> session;
  table.add({"+UP", Form::Write, {integer(1, 64)}, [&session](Call& c) {
               session = std::make_shared<Upload>(static_cast<std::size_t>(c.args().integer(0)));
               c.connect(session);
             }});
  table.add({"+UP", Form::Read, {}, [&session](Call& c) {
               c.line("+UP: " + std::to_string(session ? session->data.size() : 0));
               c.ok();
             }});
  AtEngine engine(io.get_executor(), table, profile, [](std::string) {});
  engine.set_guard_time(kGuard);
  AtEngine::Clock::time_point now{};
  engine.set_clock([&now] { return now; });

  int real_waits = 0;
  std::size_t at = 0;
  while (at + 2 <= size) {
    const std::uint8_t control = data[at];
    const std::size_t length = std::min<std::size_t>(data[at + 1], size - at - 2);
    const std::string_view chunk(reinterpret_cast<const char*>(data + at + 2), length);
    at += 2 + length;

    const auto gap = kGuard * (control & 0x3f) / 16;
    if (gap >= kGuard && engine.in_data_mode() && real_waits < kMaxRealWaits) {
      ++real_waits;  // the silence after a possible "+++": let its timer decide
      io.restart();
      io.run_for(kGuard + 1ms);
    }
    now += std::chrono::duration_cast<AtEngine::Clock::duration>(gap);
    engine.receive(chunk);
    io.restart();
    io.poll();
    if ((control & 0x40) != 0) engine.end_data_mode(DataEnd::DtrDrop);
    if ((control & 0x80) != 0) engine.reset();
    // Data mode is on exactly while the latest session is not finished.
    BG95_FUZZ_CHECK(engine.in_data_mode() == (session && !session->ended));
  }
  io.restart();
  io.poll();
  engine.reset();
  BG95_FUZZ_CHECK(!session || session->ended);
  return 0;
}
