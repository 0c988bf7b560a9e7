// A real 27.010 host multiplexer opens the multiplexer on the emulator's pty: Debian's
// gsm0710muxd (/usr/sbin/gsm0710muxd, basic option, frame size 127) switches the module with
// AT+CMUX, opens DLCI 0 and one DLC per virtual port it is asked for over D-Bus, and AT / ATI
// typed on two of its virtual ports are answered. Then a PPP client the project did not write,
// lwIP's PPPoS (tests/ppp_peer/), dials ATD*99# on one virtual port while the other still
// answers AT, and fetches a file byte for byte from a server on 127.0.0.1 through the gateway.
// The bus and the daemon: tests/support/gsm0710muxd.hpp.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/gsm0710muxd.hpp"
#include "tests/support/sim_process.hpp"
#ifdef BG95_PPP_PEER
#include "tests/support/http_test_server.hpp"
#endif

namespace bg95::test {
namespace {

using namespace std::chrono_literals;

class Gsm0710muxdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto tool = missing_muxd_tool())
      GTEST_SKIP() << *tool << " is not installed (scripts/setup.sh installs gsm0710muxd)";
    // The module is ready (banner out, AT answered) before the multiplexer daemon opens the port.
    sim_.open_port();
    sim_.close_port();
    muxd_ = std::make_unique<Gsm0710muxd>(dir_.path(), sim_.pty_path());
  }
  TempDir dir_;
  SimProcess sim_{{dir_.path() / "state", {}}};
  std::unique_ptr<Gsm0710muxd> muxd_;
};

TEST_F(Gsm0710muxdTest, TwoVirtualPortsAnswerAtAndAti) {
  const std::string one = muxd_->virtual_port("one"), two = muxd_->virtual_port("two");
  ASSERT_NE(one, two);
  HostPort first(one);
  HostPort second(two);
  // The channels start with the port's profile as AT+CMUX found it: ATE0, so no echo.
  EXPECT_EQ(first.command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(second.command("AT\r"), "\r\nOK\r\n");
  const std::string ati = "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n";
  EXPECT_EQ(second.command("ATI\r"), ati);
  EXPECT_EQ(first.command("ATI\r"), ati);
}

#ifdef BG95_PPP_PEER
std::string body_of(std::size_t size) {
  std::string body(size, '\0');
  std::uint32_t x = 0x9E3779B9;
  for (auto& c : body) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);  // every byte value: 0x7E/0x7D for PPP, 0xF9 for 27.010
  }
  return body;
}

TEST_F(Gsm0710muxdTest, LwipDialsPppOnAVirtualPortAndFetchesAFile) {
  const std::string body = body_of(256 * 1024);
  auto server = std::make_unique<httplib::Server>();
  server->Get("/file.bin", [&body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/octet-stream");
  });
  RunningServer running(std::move(server));
  // DLC 1 for commands (URCs go to the lowest open DLC, docs/cmux-ppp.md), DLC 2 for PPP.
  const std::string at = muxd_->virtual_port("at"), data = muxd_->virtual_port("ppp");
  HostPort control(at);
  // gsm0710muxd's start-up sends AT+CFUN=0 (made for phones that power the radio later); a
  // host turns the radio on before it dials, as it would on a real module, and awaits
  // registration (the +CEREG URC, 27.007 10.1.22).
  EXPECT_EQ(control.command("AT+CEREG=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(control.command("AT+CFUN=1\r"), "\r\nOK\r\n");
  // Both URCs come (+CPIN: READY as the SIM is powered with the radio); their order is timing.
  std::string urcs = control.read_until("+CEREG: 1\r\n", 30s);
  if (urcs.find("+CPIN") == std::string::npos) urcs += control.read_until("+CPIN: READY\r\n");
  EXPECT_TRUE(urcs == "\r\n+CPIN: READY\r\n\r\n+CEREG: 1\r\n" ||
              urcs == "\r\n+CEREG: 1\r\n\r\n+CPIN: READY\r\n")
      << urcs;
  const auto file = dir_.path() / "out.bin";
  Child peer({BG95_PPP_PEER, data, "10.65.255.254", std::to_string(running.port()), "/file.bin",
              file.string()});
  ASSERT_TRUE(peer.wait_for("ADDRESS", 30s)) << peer.output() << muxd_->output();
  // While PPP holds its DLC, the other channel still answers commands.
  EXPECT_EQ(control.command("AT\r\n"), "\r\nOK\r\n");
  ASSERT_TRUE(peer.wait_ended(60s)) << peer.output();
  const std::string out = peer.finish();
  // Module 0, context 1: 10.65.0.2; the module's end is the gateway; DNS as AT+QIDNSCFG says.
  EXPECT_NE(out.find("ADDRESS 10.65.0.2\nGATEWAY 10.65.255.254\nDNS 10.64.0.1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("FETCHED 262144 "), std::string::npos) << out;
  EXPECT_NE(out.find("ENDED\n"), std::string::npos) << out;
  std::ifstream in(file, std::ios::binary);
  const std::string got{std::istreambuf_iterator<char>(in), {}};
  const auto diff = std::mismatch(got.begin(), got.end(), body.begin(), body.end());
  EXPECT_TRUE(got == body) << got.size() << " bytes, first difference at "
                           << (diff.first - got.begin());
  // The peer saw NO CARRIER on its DLC ("ENDED"); the module still answers on the other.
  EXPECT_EQ(control.command("AT\r"), "\r\nOK\r\n");
}
#endif

}  // namespace
}  // namespace bg95::test
