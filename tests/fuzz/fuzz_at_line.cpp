// The whole AT front end of one module: the input is what a host writes to the UART of an
// in-process bg95::Module (sim/module.hpp), booted on a fresh state folder for every input.
// So the LineAssembler, parse_command_line, CommandTable::resolve with the module's real
// command table (argument binding) and every command handler the services register are fuzzed
// together, data mode (AT+QFUPL) and DFOTA mode (AT+QFOTADL) included. The input is one host
// write, or several separated by the byte 0x1E (ASCII RS; doubled, it is one 0x1E byte of the
// write), each followed by running the module until it is idle.
//
// Bounded on purpose: the fast timing profile (no artificial delays), a 16 KiB firmware image,
// a 1 ms "+++" guard time, and after the input the io_context runs until it is idle (at most
// kIdleBudget). Timers further out (upload timeouts, LwM2M lifetimes) never fire: the module
// is shut down and destroyed with them pending, which must be clean too. To see what the
// module answered to an input: BG95_FUZZ_SHOW_OUTPUT=1 fuzz_at_line FILE.
//
// Network: a URL in the input makes the module resolve names and connect. The target
// therefore refuses to run unless it is in a network namespace of its own with no interface but
// loopback (scripts/fuzz.sh runs it under `unshare --net`): nothing can leave the machine, and
// every connection fails at once.
#include <ifaddrs.h>
#include <net/if.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "sim/module.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr std::uint64_t kImageSize = 16 * 1024;
constexpr auto kIdleBudget = 200ms;
// Splits the input into host writes (ASCII RS; "\x1e\x1e" is one 0x1E byte of a write).
constexpr char kRecordSeparator = '\x1e';
// At most this many writes per input (later separators are plain bytes), so that an input of
// separators cannot run into libFuzzer's timeout by idle waits alone.
constexpr int kMaxWrites = 32;

// True when every interface that is up is a loopback one.
bool only_loopback() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return false;
  bool ok = true;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if ((i->ifa_flags & IFF_UP) != 0 && (i->ifa_flags & IFF_LOOPBACK) == 0) ok = false;
  }
  ::freeifaddrs(list);
  return ok;
}

// What every input shares: a scratch folder (on tmpfs when there is one) and the default
// image, made once per process.
struct Process {
  Process() {
    if (!only_loopback() && std::getenv("BG95_FUZZ_ALLOW_NETWORK") == nullptr) {
      std::fprintf(stderr,
                   "fuzz_at_line: refusing to run with a network interface up: input can make "
                   "the module connect anywhere. Run it in a namespace of its own, e.g.\n"
                   "  unshare --net --map-root-user %s ...   (scripts/fuzz.sh does)\n",
                   "fuzz_at_line");
      std::exit(2);
    }
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (base / "bg95-fuzz-at-XXXXXX").string();
    BG95_FUZZ_CHECK(::mkdtemp(pattern.data()) != nullptr);
    scratch = pattern;
    image = std::make_shared<const std::vector<std::uint8_t>>(
        bg95::make_default_image("BG95-M3", kImageSize));
    show_output = std::getenv("BG95_FUZZ_SHOW_OUTPUT") != nullptr;
  }
  ~Process() {
    std::error_code ignored;
    fs::remove_all(scratch, ignored);
  }
  fs::path scratch;
  std::shared_ptr<const std::vector<std::uint8_t>> image;
  bool show_output = false;  // BG95_FUZZ_SHOW_OUTPUT set: the module's output on stderr
};

Process& process() {
  static Process p;
  return p;
}

// Runs handlers until none is ready for a millisecond, or the budget is spent.
void run_until_idle(boost::asio::io_context& io) {
  const auto deadline = std::chrono::steady_clock::now() + kIdleBudget;
  while (std::chrono::steady_clock::now() < deadline) {
    io.restart();
    if (io.poll() != 0) continue;
    io.restart();
    if (io.run_for(1ms) == 0) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Process& p = process();
  const fs::path state = p.scratch / "state";
  {
    boost::asio::io_context io;
    bg95::ModuleConfig config;
    config.state_dir = state;
    config.default_image_size = kImageSize;
    config.default_image = p.image;
    config.guard_time = 1ms;  // a write after an idle run starts an escape; "+++" ends it
    config.download_idle_timeout = 100ms;
    bg95::Module module(io.get_executor(), config);
    module.set_port_writer([&p](std::string bytes) {
      if (p.show_output) std::fwrite(bytes.data(), 1, bytes.size(), stderr);
    });
    module.power_on();
    run_until_idle(io);
    BG95_FUZZ_CHECK(module.power_state() == bg95::PowerState::Normal);

    // One host write per record: bytes behind the end of an upload in the same write are
    // dropped (host tools pad their last chunk), so commands after an upload need their own.
    std::string write;
    int writes = 0;
    for (std::size_t i = 0; i <= size; ++i) {
      const bool end = i == size;
      const char c = end ? '\0' : static_cast<char>(data[i]);
      if (!end && (c != kRecordSeparator || writes == kMaxWrites - 1)) {
        write.push_back(c);
        continue;
      }
      if (!end && i + 1 < size && data[i + 1] == kRecordSeparator) {  // doubled: the byte itself
        write.push_back(c);
        ++i;
        continue;
      }
      if (!write.empty()) module.host_input(write);
      write.clear();
      ++writes;
      run_until_idle(io);
    }
    module.shutdown();
    run_until_idle(io);
  }
  std::error_code ignored;
  fs::remove_all(state, ignored);
  return 0;
}
