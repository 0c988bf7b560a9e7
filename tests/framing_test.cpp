// The byte stream's framing in time (issue 16), over the real bg95sim pty: a host that reads as
// soon as data is there sees what a real module's timing gives it.
//   - the echo of a command alone in its read, then the answer in the next (fwupd's
//     fu_mm_device_at_cmd() takes a first read of exactly "<cmd>\r" as the echo);
//   - each URC in a read of its own (fwupd's attach matches only the first +QIND of a read);
//   - in the realistic profile, a DFOTA's restart takes long enough that a host which closes
//     the port after HTTPEND (fwupd waits for its device to come back) and reopens it 2 s
//     later still sees START, the UPDATING lines and END.

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;

// One read() of at most 4096 bytes once poll() says data is there; "" on timeout.
std::string read_once(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
  std::string buf(4096, '\0');
  const ssize_t n = ::read(fd, buf.data(), buf.size());
  buf.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return buf;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    ASSERT_GT(n, 0);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool is_final(std::string_view answer) {
  return answer.ends_with("\r\nOK\r\n") || answer.ends_with("\r\nERROR\r\n") ||
         (answer.rfind("\r\n+CME ERROR: ") != std::string_view::npos && answer.ends_with("\r\n"));
}

// Commands a host driver sends at init and while it polls, read-only so that the module's
// state does not drift, in the case the host types them; plus ones the module does not know.
constexpr std::array<std::string_view, 24> kCommands{
    "AT",        "ATI",      "AT+CGMI",     "AT+CGMM",      "AT+CGMR",      "AT+GSN",
    "AT+CIMI",   "AT+QCCID", "AT+CSQ",      "AT+CPIN?",     "AT+CEREG?",    "AT+CREG?",
    "AT+CGREG?", "AT+COPS?", "AT+CFUN?",    "AT+QFLST=?",   "AT+CGDCONT?",  "AT+QGMR",
    "AT+CGATT?", "at+csq",   "AT+QFOTADL?", "AT+NOSUCHCMD", "AT+CSQ;+CGMR", "AT+CEREG=9"};

TEST(FramingTest, EchoAloneThenTheAnswerForAThousandRandomCommands) {
  TempDir dir;
  SimProcess sim(SimProcess::Options{dir.path() / "state", {}});  // the default profile
  const int fd = sim.open_port().fd();
  std::mt19937 rng(16);
  for (int i = 0; i < 1000; ++i) {
    const std::string cmd(kCommands[rng() % kCommands.size()]);
    // Hosts end lines with CR LF (fwupd, Zephyr) or CR alone (Mbed OS, TinyGSM).
    write_all(fd, cmd + (rng() % 2 ? "\r\n" : "\r"));
    const std::string echo = read_once(fd, 2000ms);
    ASSERT_EQ(echo, cmd + "\r") << "command " << i << ": the first read must be the echo alone";
    const std::string answer = read_once(fd, 5000ms);
    ASSERT_TRUE(answer.starts_with("\r\n") && is_final(answer))
        << "command " << i << " (" << cmd << "): the next read must be the whole answer; got \""
        << answer << "\"";
  }
}

TEST(FramingTest, RealisticAHostThatClosesAfterHttpendAndComesBackTwoSecondsLaterSeesTheUpdate) {
  // Small, so that the realistic update takes seconds, not minutes (--firmware-size below).
  const Bytes source = default_image(128 * 1024);
  const auto http =
      serve_files({{"/update.bin", as_string(make_package(source, next_image(source)))}});
  TempDir dir;
  SimProcess sim(SimProcess::Options{dir.path() / "state",
                                     {"--timing", "realistic", "--firmware-size", "131072"},
                                     /*wait_for_boot=*/false});
  auto port = std::make_unique<HostPort>(sim.link().string());
  wait_until_ready(*port, 30s);
  // Registered a few seconds after the banner: the +CEREG URC says when.
  EXPECT_EQ(port->command("AT+CEREG=1\r"), "AT+CEREG=1\r\r\nOK\r\n");
  port->read_until("+CEREG: 1\r\n", 30s);
  const std::string fotadl =
      "AT+QFOTADL=\"http://127.0.0.1:" + std::to_string(http->port()) + "/update.bin\"\r";
  EXPECT_EQ(port->command(fotadl), fotadl + "\r\nOK\r\n");
  port->read_until("+QIND: \"FOTA\",\"HTTPEND\",0\r\n", 60s);
  port.reset();  // the host lets go of the port, as for a device that restarts
  const auto closed = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);  // the host's own pause, the subject of the test
  port = std::make_unique<HostPort>(sim.link().string());
  const std::string seen = port->read_until("+QIND: \"FOTA\",\"END\",0\r\n", 90s);
  const auto start = seen.find("+QIND: \"FOTA\",\"START\"\r\n");
  ASSERT_NE(start, std::string::npos) << seen;
  EXPECT_EQ(seen.find("RESETTING"), std::string::npos) << "said before the host came back";
  int updating = 0;
  for (auto at = seen.find("\"UPDATING\",", start); at != std::string::npos;
       at = seen.find("\"UPDATING\",", at + 1))
    ++updating;
  EXPECT_EQ(updating, 100) << seen;
  EXPECT_GT(std::chrono::steady_clock::now() - closed, 2s);
}

}  // namespace
}  // namespace bg95::test
