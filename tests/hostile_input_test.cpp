// Hostile host, network and state folder, through the real bg95sim on its real pty
// (docs/reliability.md, "Hostile input"). Every case ends with a clear error (exact bytes) and
// a module that still works: AT answers OK, ATI and AT+QGMR name the firmware that is in
// flash, AT+QFOTADL=4 and `bg95ctl status` agree on the package area.
//
// Already covered elsewhere and not repeated here: 10 MB of noise and 1000 opens and closes
// (bg95sim_pty_test), a corrupt settings file and a truncated flash file (bg95sim_pty_test),
// stalls, early closes, HTTP errors and oversized Content-Length (dfota_http_test,
// http_download_test), CoAP protocol violations at library level (coap_download_test).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/flash/layout.hpp"
#include "tests/support/coap_fake_server.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/note_checksum.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"
#include "tests/support/test_pki.hpp"

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kAti = "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n";
constexpr const char* kQgmr = "\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n";
constexpr const char* kStatusIdle =
    "OK power=normal mode=command firmware=BG95M3LAR02A03_01.011.01.011 revision=BG95M3LAR02A03 "
    "package=none dfota=idle progress=0";

struct Packages {
  Bytes source = default_image();
  Bytes target = next_image(source);
  std::string package = as_string(make_package(source, target));
};
const Packages& packages() {
  static const Packages p;
  return p;
}

// A bg95sim with a control socket, a short guard time (100 ms) and download timeout (1 s).
class HostileTest : public ::testing::Test {
 protected:
  // Starts bg95sim; does not open the port.
  void launch(std::vector<std::string> args = {}) {
    socket_ = dir_.path() / "ctl" / "bg95.sock";
    args.insert(args.end(),
                {"--control", socket_.string(), "--guard-time", "100", "--download-timeout", "1"});
    sim_ =
        std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", std::move(args)});
  }
  // Starts bg95sim, opens the port once the module answers, and turns echo off.
  HostPort& start(std::vector<std::string> args = {}) {
    launch(std::move(args));
    HostPort& port = sim_->open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    return port;
  }
  stdfs::path state() const { return dir_.path() / "state"; }
  std::string ctl(const std::string& words) {
    auto [rc, out] = run_bg95ctl(socket_, words);
    EXPECT_EQ(rc, 0) << words << ": " << out;
    return out;
  }
  // Polls `bg95ctl status` until it contains `what` (each poll is a round trip through the
  // module's event loop); false at the deadline.
  bool status_shows(const std::string& what, std::chrono::seconds limit = 15s) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline)
      if (ctl("status").find(what) != std::string::npos) return true;
    return false;
  }
  // Echo off, and then: AT, ATI and AT+QGMR exact, the package area as `package` says, and
  // the control socket agreeing.
  void expect_healthy(HostPort& port, std::uint64_t package = 0) {
    EXPECT_EQ(port.command("AT\r"), "\r\nOK\r\n");
    EXPECT_EQ(port.command("ATI\r"), kAti);
    EXPECT_EQ(port.command("AT+QGMR\r"), kQgmr);
    EXPECT_EQ(port.command("AT+QFOTADL=4\r"),
              fmt::format("\r\n+QFOTADL: 4,{}\r\n\r\nOK\r\n", package));
    const std::string status = ctl("status");
    if (package == 0) {
      EXPECT_EQ(status.rfind(kStatusIdle, 0), 0u) << status;
    } else {
      EXPECT_NE(status.find(fmt::format("package={}", package)), std::string::npos) << status;
    }
    EXPECT_TRUE(sim_->running());
  }

  TempDir dir_;
  stdfs::path socket_;
  std::unique_ptr<SimProcess> sim_;
};

// ---------------------------------------------------------------------------------------
// The host

TEST_F(HostileTest, HundredMegabytesOfNoise) {
  auto& port = start();
  std::mt19937_64 rng(9);
  std::string chunk(64 * 1024, '\0');
  // 100 MB (1600 x 64 KiB); what the module echoes is read and thrown away.
  for (int i = 0; i < 1600; ++i) {
    for (auto& c : chunk)
      c = static_cast<char>(rng());
    port.write(chunk);
    port.read_for(0ms);
  }
  // Whatever the noise left (a line begun, data mode, echo or V0 set...): the end of a line,
  // a "+++" between guard times, and the factory profile.
  port.write("\r");
  port.read_for(300ms);
  port.write("+++");
  port.read_for(300ms);
  port.write("AT&F\r");
  port.read_for(300ms);
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
  EXPECT_EQ(port.command("ATI\r"), std::string("ATI\r") + kAti);
  EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  expect_healthy(port);
}

TEST_F(HostileTest, LinesOfAHundredKilobytes) {
  auto& port = start();
  const std::string filler(100 * 1024, 'X');
  // Longer than a command line can be (4096 bytes): ERROR, and nothing of it runs.
  EXPECT_EQ(port.command("AT" + filler + "\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"" + filler + "\",1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"http://127.0.0.1/" + filler + "\"\r"), "\r\nERROR\r\n");
  // A line that fits but whose argument is over its limit: the argument's own error.
  EXPECT_EQ(port.command("AT+QFOTADL=\"http://127.0.0.1/" + std::string(3000, 'u') + "\"\r"),
            "\r\n+CME ERROR: 590\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"" + std::string(4000, 'n') + "\",1\r"),
            "\r\n+CME ERROR: 406\r\n");
  // 100 KB without "AT" is not a command at all: silence.
  port.write(std::string(100 * 1024, 'Z') + "\r");
  EXPECT_EQ(port.read_for(300ms), "");
  // With echo on, every byte comes back, then the error.
  EXPECT_EQ(port.command("ATE1\r"), "\r\nOK\r\n");
  const std::string line = "AT+CGMR" + filler + "\r";
  EXPECT_EQ(port.command(line), line + "\r\nERROR\r\n");
  EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
  expect_healthy(port);
}

TEST_F(HostileTest, ThousandsOfPlusesInCommandMode) {
  auto& port = start();
  // Back to back, in one write and in many.
  port.write(std::string(3 * 5000, '+'));
  for (int i = 0; i < 2000; ++i)
    port.write("+++");
  EXPECT_EQ(port.read_for(300ms), "");
  // Between guard times, as an escape would be: still nothing to escape from.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(port.read_for(150ms), "");
    port.write("+++");
  }
  EXPECT_EQ(port.read_for(150ms), "");
  // Pluses are not a line: the command after them runs as usual, echoed with them.
  EXPECT_EQ(port.command("ATE1\r"), "\r\nOK\r\n");
  const std::string pluses(3 * 1000, '+');
  EXPECT_EQ(port.command(pluses + "AT\r"), pluses + "AT\r\r\nOK\r\n");
  EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  expect_healthy(port);
}

TEST_F(HostileTest, ThousandsOfPlusesInDataMode) {
  auto& port = start();
  // Without guard times they are data: 15000 pluses fill a 15000-byte upload exactly.
  const std::string pluses(15000, '+');
  EXPECT_EQ(port.command("AT+QFUPL=\"plus.bin\",15000,5\r"), "\r\nCONNECT\r\n");
  for (std::size_t i = 0; i < pluses.size(); i += 3)
    port.write("+++");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFUPL: 15000,0\r\n\r\nOK\r\n");
  port.write("AT+QFDWL=\"plus.bin\"\r");
  EXPECT_EQ(port.read_until("OK\r\n"),
            "\r\nCONNECT\r\n" + pluses + "\r\n+QFDWL: 15000,0\r\n\r\nOK\r\n");

  // A guard time, then 6000 pluses: more than three, so data, not an escape. A real escape
  // after them keeps all 6000.
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",100000,30\r"), "\r\nCONNECT\r\n");
  EXPECT_EQ(port.read_for(150ms), "");
  port.write(std::string(6000, '+'));
  EXPECT_EQ(port.read_for(150ms), "");
  port.write("+++");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFOTADL: 6000,0\r\n\r\nOK\r\n");

  // Escapes between guard times, again and again: the first leaves data mode, the others
  // reach command mode and are nothing there.
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",100000,30\r"), "\r\nCONNECT\r\n");
  port.write("abcd");
  std::string answers;
  for (int i = 0; i < 10; ++i) {
    answers += port.read_for(150ms);
    port.write("+++");
  }
  // "abcd": 0x6162 ^ 0x6364 = 0x206.
  EXPECT_EQ(answers + port.read_for(300ms), "\r\n+QFOTADL: 4,206\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=5\r"), "\r\nOK\r\n");
  expect_healthy(port);
}

TEST_F(HostileTest, HostClosesThePortMidUpload) {
  auto& port = start();
  const std::string part = random_bytes(3000, 1);
  // AT+QFUPL: the host goes away; the upload's own timeout (2 s) ends it and keeps what came.
  EXPECT_EQ(port.command("AT+QFUPL=\"half.bin\",10000,2\r"), "\r\nCONNECT\r\n");
  port.write(part);
  sim_->close_port();
  ASSERT_TRUE(status_shows("mode=command"));
  {
    auto& again = sim_->open_port();  // echo is still off
    EXPECT_EQ(again.command("AT+QFLST\r"), "\r\n+QFLST: \"half.bin\",3000\r\n\r\nOK\r\n");
    again.write("AT+QFDWL=\"half.bin\"\r");
    EXPECT_EQ(again.read_until("OK\r\n"), "\r\nCONNECT\r\n" + part + "\r\n+QFDWL: 3000," +
                                              note_checksum(part) + "\r\n\r\nOK\r\n");
    EXPECT_EQ(again.command("AT+QFOTADL=\"COM:\",10000,2\r"), "\r\nCONNECT\r\n");
    again.write(part);
  }
  // AT+QFOTADL="COM:" the same way: 3000 bytes kept, which do not make a package (506), and
  // the firmware is untouched.
  sim_->close_port();
  ASSERT_TRUE(status_shows("mode=command"));
  auto& third = sim_->open_port();
  EXPECT_EQ(third.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,3000\r\n\r\nOK\r\n");
  EXPECT_EQ(third.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(third.read_until("+QIND: SMS DONE\r\n", 30s),
            std::string("\r\n+QIND: \"FOTA\",\"RESETTING\"\r\n\r\n+QIND: \"FOTA\",\"START\"\r\n"
                        "\r\n+QIND: \"FOTA\",\"END\",506\r\n") +
                kBootBanner);
  EXPECT_EQ(third.command("ATE0;+QFOTADL=5\r"), "ATE0;+QFOTADL=5\r\r\nOK\r\n");
  expect_healthy(third);
}

TEST_F(HostileTest, HostReopensWhileStillInDataModeAndEscapes) {
  auto& port = start();
  const std::string part = random_bytes(2500, 2);
  EXPECT_EQ(port.command("AT+QFUPL=\"back.bin\",10000,60\r"), "\r\nCONNECT\r\n");
  port.write(part);
  sim_->close_port();
  // The module cannot know the host went: the next host finds it in data mode and leaves it
  // the documented way.
  ASSERT_TRUE(status_shows("mode=data"));
  HostPort again(sim_->link().string());
  EXPECT_EQ(again.read_for(150ms), "");
  again.write("+++");
  EXPECT_EQ(again.read_until("OK\r\n"),
            "\r\n+QFUPL: 2500," + note_checksum(part) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(again.command("AT+QFLST\r"), "\r\n+QFLST: \"back.bin\",2500\r\n\r\nOK\r\n");
  expect_healthy(again);
}

TEST_F(HostileTest, HostClosesThePortMidResponse) {
  const std::string big = random_bytes(4 * 1024 * 1024, 3);
  stdfs::create_directories(state() / "fs" / "ufs");
  std::ofstream(state() / "fs" / "ufs" / "big.bin", std::ios::binary) << big;
  auto& port = start();
  port.write("AT+QFDWL=\"big.bin\"\r");
  EXPECT_EQ(port.read_until("\r\nCONNECT\r\n"), "\r\nCONNECT\r\n");
  port.read_once();  // some of the file, then the host goes away
  sim_->close_port();
  ASSERT_TRUE(status_shows("mode=command"));  // the module has seen the close
  // The rest of the response was for the host that left: the next one gets none of it.
  HostPort again(sim_->link().string());
  const std::string answer = again.command("AT\r");
  EXPECT_TRUE(answer == "\r\nOK\r\n")
      << answer.size() << " bytes, ending \""
      << answer.substr(answer.size() - std::min<std::size_t>(answer.size(), 16)) << "\"";
  again.write("AT+QFDWL=\"big.bin\"\r");
  EXPECT_EQ(again.read_until("OK\r\n", 60s), "\r\nCONNECT\r\n" + big + "\r\n+QFDWL: 4194304," +
                                                 note_checksum(big) + "\r\n\r\nOK\r\n");
  expect_healthy(again);
}

// ---------------------------------------------------------------------------------------
// The network

std::string ok_head(std::size_t content_length) {
  return fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
      content_length);
}

class HostileNetworkTest : public HostileTest {
 protected:
  // AT+QFOTADL=<url>: OK, then the URCs up to and with HTTPEND (or COAPEND).
  std::string download(HostPort& port, const std::string& url, const char* end = "HTTPEND",
                       std::chrono::seconds limit = 60s) {
    EXPECT_EQ(port.command("AT+QFOTADL=\"" + url + "\"\r"), "\r\nOK\r\n");
    std::string urcs = port.read_until(fmt::format("\"{}\",", end), limit);
    return urcs + port.read_until("\r\n");
  }
  // The download went through: the update ran and the module boots the target.
  void expect_updated(HostPort& port) {
    const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", 60s);
    EXPECT_NE(urcs.find("\r\n+QIND: \"FOTA\",\"END\",0\r\n"), std::string::npos) << urcs;
    EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
  }
};

TEST_F(HostileNetworkTest, EndlessBodyIs708AtThePackageAreaSize) {
  auto server = std::make_unique<httplib::Server>();
  server->Get("/endless", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/octet-stream",
                                     [](std::size_t, httplib::DataSink& sink) {
                                       const std::string block(65536, 'E');
                                       return sink.write(block.data(), block.size());
                                     });
  });
  RunningServer http(std::move(server));
  auto& port = start();
  const std::string urcs = download(port, fmt::format("http://127.0.0.1:{}/endless", http.port()));
  EXPECT_EQ(urcs, "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n\r\n+QIND: \"FOTA\",\"HTTPEND\",708\r\n");
  expect_healthy(port);
}

TEST_F(HostileNetworkTest, BodyLongerThanContentLengthIsCutThere) {
  const std::string& pkg = packages().package;
  ScriptedServer server([&pkg](ScriptedServer& s, int fd) {
    // The package as announced, then 64 KiB more, and the connection stays open.
    if (!s.send_all(fd, ok_head(pkg.size()) + pkg + std::string(65536, 'J'))) return;
    while (s.pause(fd, 50ms)) {
    }
  });
  auto& port = start();
  const std::string urcs = download(port, server.url("/update.bin"));
  EXPECT_TRUE(urcs.ends_with("\r\n+QIND: \"FOTA\",\"HTTPEND\",0\r\n")) << urcs;
  expect_updated(port);
}

TEST_F(HostileNetworkTest, EndlessResponseHeadersAreRefused) {
  ScriptedServer server([](ScriptedServer& s, int fd) {
    if (!s.send_all(fd, "HTTP/1.1 200 OK\r\n")) return;
    const std::string lines = [] {
      std::string l;
      for (int i = 0; i < 1000; ++i)
        l += fmt::format("X-Filler-{}: {}\r\n", i, std::string(40, 'h'));
      return l;
    }();
    while (s.send_all(fd, lines)) {
    }
  });
  auto& port = start();
  const std::string urcs = download(port, server.url("/update.bin"));
  EXPECT_EQ(urcs, "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n\r\n+QIND: \"FOTA\",\"HTTPEND\",703\r\n");
  EXPECT_NE(sim_->stderr_text().find("HTTP download ended with 703: the response head grew past "
                                     "262144 bytes"),
            std::string::npos)
      << sim_->stderr_text();
  expect_healthy(port);
}

TEST_F(HostileNetworkTest, LongStatusAndHeaderLinesEndTheDownloadAndTheModuleAnswers) {
  // A status line of 30 KB or more crashed the whole process inside cpp-httplib (issue 18).
  // Lines of 1 KB (the 404 after them ends the download with 706: the head was read), 64 KB
  // and 16 MB, over HTTP and HTTPS: an HTTPEND code, and the module still answers.
  const auto pki = TestPki::make(dir_.path());
  const ScriptedServer::Tls tls{pki.server.cert_file, pki.server.key_file};
  auto& port = start();
  for (const bool https : {false, true}) {
    for (const bool status_line : {true, false}) {
      for (const std::size_t size :
           {std::size_t{1000}, std::size_t{64'000}, std::size_t{16'000'000}}) {
        SCOPED_TRACE(fmt::format("{} {} line of {} bytes", https ? "https" : "http",
                                 status_line ? "status" : "header", size));
        ScriptedServer server(long_head_line(status_line, size, 404),
                              https ? std::optional(tls) : std::nullopt);
        const std::string urcs = download(port, server.url("/update.bin"));
        EXPECT_EQ(urcs, fmt::format("\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n\r\n+QIND: "
                                    "\"FOTA\",\"HTTPEND\",{}\r\n",
                                    size == 1000 ? 706 : 703));
        EXPECT_EQ(port.command("AT\r"), "\r\nOK\r\n");
      }
    }
  }
  EXPECT_NE(sim_->stderr_text().find("HTTP download ended with 703: the response head was "
                                     "refused: the status line is longer than 1024 bytes"),
            std::string::npos);
  expect_healthy(port);
}

TEST_F(HostileNetworkTest, SlowLorisThatKeepsSendingSucceeds) {
  // The idle timeout (--download-timeout, 1 s here) is the longest silence allowed, not a
  // deadline for the whole download: a server that sends one byte every 5 ms, headers and
  // the first 500 bytes of the body, is slow but not silent.
  const std::string& pkg = packages().package;
  ScriptedServer server([&pkg](ScriptedServer& s, int fd) {
    const std::string slow = ok_head(pkg.size()) + pkg.substr(0, 500);
    for (const char c : slow)
      if (!s.send_all(fd, std::string_view(&c, 1)) || !s.pause(fd, 5ms)) return;
    s.send_all(fd, std::string_view(pkg).substr(500));
  });
  auto& port = start();
  const std::string urcs = download(port, server.url("/update.bin"));
  EXPECT_TRUE(urcs.ends_with("\r\n+QIND: \"FOTA\",\"HTTPEND\",0\r\n")) << urcs;
  expect_updated(port);
}

TEST_F(HostileNetworkTest, SlowLorisThatFallsSilentIs704) {
  const std::string& pkg = packages().package;
  ScriptedServer server([&pkg](ScriptedServer& s, int fd) {
    const std::string slow = ok_head(pkg.size()) + pkg.substr(0, 300);
    for (const char c : slow)
      if (!s.send_all(fd, std::string_view(&c, 1)) || !s.pause(fd, 5ms)) return;
    while (s.pause(fd, 50ms)) {  // then silence until the module gives up
    }
  });
  auto& port = start();
  const std::string urcs = download(port, server.url("/update.bin"));
  EXPECT_EQ(urcs, "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n\r\n+QIND: \"FOTA\",\"HTTPEND\",704\r\n");
  expect_healthy(port);
}

TEST_F(HostileNetworkTest, EndlessTrickleLeavesTheModuleUsableAndAResetEndsIt) {
  // One byte every 10 ms for ever, no Content-Length: never silent, so no 704; only the
  // 6 MiB package area (708, after 17 hours) would end it. The module keeps answering, and the
  // host ends it by resetting the module.
  ScriptedServer server([](ScriptedServer& s, int fd) {
    if (!s.send_all(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")) return;
    while (s.send_all(fd, "t") && s.pause(fd, 10ms)) {
    }
  });
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFOTADL=\"" + server.url("/update.bin") + "\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("\"HTTPSTART\"\r\n"), "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n");
  ASSERT_TRUE(status_shows("dfota=downloading"));
  EXPECT_EQ(port.command("ATI\r"), kAti);
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+CME ERROR: 591\r\n");
  EXPECT_EQ(port.command("AT+CFUN=1,1\r"), "\r\nOK\r\n");
  port.read_until("+QIND: SMS DONE\r\n");
  EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  expect_healthy(port);
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HostileNetworkTest, CoapBlocksOutOfOrderAndChangedEtagAre701) {
  const std::vector<std::uint8_t> body(10 * 1024, 0x5A);
  auto& port = start();
  for (const auto mode : {FakeCoapServer::Mode::kWrongBlock, FakeCoapServer::Mode::kEtagChanges}) {
    SCOPED_TRACE(static_cast<int>(mode));
    FakeCoapServer server(mode, body);
    EXPECT_EQ(download(port, server.url("/p"), "COAPEND"),
              "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",701\r\n");
    expect_healthy(port);
  }
}

// ---------------------------------------------------------------------------------------
// The state folder (a corrupt settings file and a truncated flash file: bg95sim_pty_test)

// Overwrites `bytes.size()` bytes of the flash file at the start of partition `p` + `offset`.
void scribble(const stdfs::path& flash_file, const flash::Partition& p, std::uint64_t offset,
              const std::string& bytes) {
  const auto layout = flash::Layout::standard();
  std::fstream f(flash_file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(std::uint64_t{p.first_block} * layout.geometry.block_size() +
                                      offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST_F(HostileTest, GarbageInTheJournalAndPackageAreaIsNoPackage) {
  start();
  sim_->stop();
  const auto layout = flash::Layout::standard();
  scribble(state() / "flash.bin", layout.journal, 0, random_bytes(8 * 128 * 1024, 4));
  scribble(state() / "flash.bin", layout.package, 0, random_bytes(1024 * 1024, 5));
  auto& port = start();
  expect_healthy(port);
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("\"END\",505\r\n"), "\r\n+QIND: \"FOTA\",\"END\",505\r\n");
  // Both areas still take new records and data.
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",4\r"), "\r\nCONNECT\r\n");
  port.write("abcd");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFOTADL: 4,206\r\n\r\nOK\r\n");
  expect_healthy(port, 4);
  EXPECT_EQ(port.command("AT+QFOTADL=5\r"), "\r\nOK\r\n");
  expect_healthy(port);
}

TEST_F(HostileTest, CorruptFirmwareImageStaysDarkAndSaysWhy) {
  start();
  sim_->stop();
  scribble(state() / "flash.bin", flash::Layout::standard().active, 100 * 1024,
           random_bytes(4096, 6));
  launch();
  HostPort port(sim_->link().string());
  ASSERT_TRUE(status_shows("power=off"));
  port.write("AT\r");
  EXPECT_EQ(port.read_for(300ms), "");  // a module whose firmware does not verify is dark
  EXPECT_NE(sim_->stderr_text().find("firmware does not boot: "), std::string::npos)
      << sim_->stderr_text();
  sim_->stop();
  auto& fresh = start({"--recreate-state"});
  expect_healthy(fresh);
}

}  // namespace
}  // namespace bg95::test
