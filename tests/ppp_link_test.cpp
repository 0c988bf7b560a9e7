// The module's end of a PPP link on the real pty, frame by frame: LCP and IPCP as the module
// negotiates them, "+++" and ATO, DTR under AT&D1 and AT&D2, LCP Terminate from the host, the
// network deactivating the context (LCP Terminate-Request, then NO CARRIER), and the two PPP
// faults of the control socket. The host's side is written with the project's own codec, so
// each frame the module sends is asserted byte for byte.

#include <gtest/gtest.h>

#include <string>

#include "protocol/ppp/hdlc.hpp"
#include "protocol/ppp/packets.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;
using ppp::be32;
using ppp::ControlPacket;
using ppp::kDefaultAccm;
using ppp::Option;

constexpr std::uint32_t kModuleMagic = 0x42473935;  // the first dial of a process
constexpr std::uint32_t kHostMagic = 0x11223344;

// A control packet as a frame, every control character escaped (the default ACCM, which both
// ends keep here: the host asks for no other).
std::string frame(std::uint16_t protocol, std::uint8_t code, std::uint8_t id, std::string data,
                  bool corrupt_fcs = false) {
  return ppp::encode_frame(protocol, ppp::encode_control(ControlPacket{code, id, std::move(data)}),
                           kDefaultAccm, corrupt_fcs);
}

std::string lcp(std::uint8_t code, std::uint8_t id, std::string data = {}) {
  return frame(ppp::kLcp, code, id, std::move(data));
}

std::string ipcp(std::uint8_t code, std::uint8_t id, const std::vector<Option>& options) {
  return frame(ppp::kIpcp, code, id, ppp::encode_options(options));
}

class PppLinkTest : public ::testing::Test {
 protected:
  PppLinkTest()
      : sim_({.state_dir = dir_.path() / "state", .extra_args = {"--control", socket_.string()}}) {}

  HostPort& port() { return sim_.port(); }
  // The port, opened (and the module found ready) the first time.
  HostPort& opened() {
    if (!port_open_) sim_.open_port();
    port_open_ = true;
    return port();
  }

  // Host and module each send a Configure-Request and ack the other's, for LCP then IPCP; the
  // host gets the context's address and DNS servers by a Nak, as lwIP and pppd do.
  void open_link(const std::string& dial = "ATD*99#\r") {
    HostPort& p = opened();
    EXPECT_EQ(p.command(dial), dial + "\r\nCONNECT\r\n");
    const std::string module_lcp = ppp::encode_options({{ppp::kAccm, be32(0)},
                                                        {ppp::kMagicNumber, be32(kModuleMagic)},
                                                        {ppp::kPfc, {}},
                                                        {ppp::kAcfc, {}}});
    expect_next(lcp(ppp::kConfigureRequest, 1, module_lcp));
    const std::string host_lcp = ppp::encode_options({{ppp::kMagicNumber, be32(kHostMagic)}});
    p.write(lcp(ppp::kConfigureRequest, 0x10, host_lcp));
    expect_next(lcp(ppp::kConfigureAck, 0x10, host_lcp));
    p.write(lcp(ppp::kConfigureAck, 1, module_lcp));
    // LCP is open and no authentication asked: IPCP, the module's end at the gateway address.
    const std::vector<Option> module_ipcp{{ppp::kIpAddress, be32(0x0a41fffe)}};
    expect_next(ipcp(ppp::kConfigureRequest, 2, module_ipcp));
    p.write(ipcp(
        ppp::kConfigureRequest, 0x20,
        {{ppp::kIpAddress, be32(0)}, {ppp::kPrimaryDns, be32(0)}, {ppp::kSecondaryDns, be32(0)}}));
    const std::vector<Option> assigned{{ppp::kIpAddress, be32(0x0a410002)},
                                       {ppp::kPrimaryDns, be32(0x0a400001)},
                                       {ppp::kSecondaryDns, be32(0x0a400002)}};
    expect_next(ipcp(ppp::kConfigureNak, 0x20, assigned));
    p.write(ipcp(ppp::kConfigureRequest, 0x21, assigned));
    expect_next(ipcp(ppp::kConfigureAck, 0x21, assigned));
    p.write(ipcp(ppp::kConfigureAck, 2, module_ipcp));
    // The module has taken every frame before the test goes on (a DTR change or "+++" must not
    // meet frames still unread).
    expect_echo(0x30);
  }

  void expect_next(const std::string& bytes) { EXPECT_EQ(port().read_until(bytes, 5s), bytes); }

  // An LCP Echo-Request answered with the module's magic number: the link is up.
  void expect_echo(std::uint8_t id) {
    port().write(lcp(ppp::kEchoRequest, id, be32(kHostMagic) + "ping"));
    expect_next(lcp(ppp::kEchoReply, id, be32(kModuleMagic) + "ping"));
  }

  // A command that ends with NO CARRIER (HostPort::command waits for OK, ERROR or CONNECT).
  void expect_no_carrier(const std::string& line) {
    port().write(line);
    EXPECT_EQ(port().read_until("NO CARRIER\r\n"), line + "\r\nNO CARRIER\r\n");
  }

  std::string ctl(const std::string& words) { return run_bg95ctl(socket_, words).second; }

  bool port_open_ = false;
  TempDir dir_;
  std::filesystem::path socket_ = dir_.path() / "ctl.sock";
  SimProcess sim_;
};

TEST_F(PppLinkTest, LcpTerminateFromTheHostGivesNoCarrier) {
  open_link();
  expect_echo(0x40);
  port().write(lcp(ppp::kTerminateRequest, 0x41));
  expect_next(lcp(ppp::kTerminateAck, 0x41) + "\r\nNO CARRIER\r\n");
  EXPECT_EQ(port().command("AT\r"), "AT\r\r\nOK\r\n");
  // No link left to return to.
  expect_no_carrier("ATO\r");
}

TEST_F(PppLinkTest, EscapeKeepsTheLinkAndAtoReturnsToIt) {
  open_link("AT+CGDATA=\"PPP\",1\r");
  port().set_crlf(false);                  // command lines ended by CR alone from here
  EXPECT_EQ(port().read_for(1100ms), "");  // the guard time, silent both ways
  port().write("+++");
  EXPECT_EQ(port().read_until("OK\r\n", 3s), "\r\nOK\r\n");
  EXPECT_EQ(port().command("AT+CGACT?\r"), "AT+CGACT?\r\r\n+CGACT: 1,1\r\n\r\nOK\r\n");
  EXPECT_EQ(port().command("ATO\r"), "ATO\r\r\nCONNECT\r\n");
  expect_echo(0x42);
  // Again, and ATH ends the link this time.
  EXPECT_EQ(port().read_for(1100ms), "");
  port().write("+++");
  EXPECT_EQ(port().read_until("OK\r\n", 3s), "\r\nOK\r\n");
  EXPECT_EQ(port().command("ATH\r"), "ATH\r\r\nOK\r\n");
  expect_no_carrier("ATO\r");
}

TEST_F(PppLinkTest, DtrDropUnderAtD1LeavesDataModeAndAtD2EndsTheLink) {
  opened();
  EXPECT_EQ(port().command("AT&D1\r"), "AT&D1\r\r\nOK\r\n");
  open_link();
  EXPECT_EQ(ctl("dtr low"), "OK\n");
  EXPECT_EQ(port().read_until("OK\r\n", 3s), "\r\nOK\r\n");
  EXPECT_EQ(ctl("dtr high"), "OK\n");
  EXPECT_EQ(port().command("ATO\r"), "ATO\r\r\nCONNECT\r\n");
  expect_echo(0x43);
  EXPECT_EQ(ctl("dtr low"), "OK\n");
  EXPECT_EQ(port().read_until("OK\r\n", 3s), "\r\nOK\r\n");
  EXPECT_EQ(ctl("dtr high"), "OK\n");
  EXPECT_EQ(port().command("AT&D2\r"), "AT&D2\r\r\nOK\r\n");
  EXPECT_EQ(port().command("ATO\r"), "ATO\r\r\nCONNECT\r\n");
  EXPECT_EQ(ctl("dtr low"), "OK\n");
  EXPECT_EQ(port().read_until("NO CARRIER\r\n", 3s), "\r\nNO CARRIER\r\n");
  EXPECT_EQ(ctl("dtr high"), "OK\n");
  expect_no_carrier("ATO\r");
}

TEST_F(PppLinkTest, NetworkDeactivationSendsTerminateThenNoCarrier) {
  open_link();
  EXPECT_EQ(ctl("net pdpdeact 1"), "OK\n");
  expect_next(lcp(ppp::kTerminateRequest, 3, "PDP context deactivated"));
  port().write(lcp(ppp::kTerminateAck, 3));
  // The URC held back in data mode comes after NO CARRIER.
  expect_next("\r\nNO CARRIER\r\n\r\n+QIURC: \"pdpdeact\",1\r\n");
  EXPECT_EQ(port().command("AT+CGACT?\r"), "AT+CGACT?\r\r\n+CGACT: 1,0\r\n\r\nOK\r\n");
}

// The dial script of Zephyr's modem_cellular (quectel_bg95, issue #21) on the plain port: the
// context taken down and defined again, then ATD*99***1# activates it and PPP starts.
TEST_F(PppLinkTest, ZephyrDialScriptOnThePlainPort) {
  HostPort& p = opened();
  EXPECT_EQ(p.command("AT+CGACT=0,1\r"), "AT+CGACT=0,1\r\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+CGDCONT=1,\"IP\",\"internet\"\r"),
            "AT+CGDCONT=1,\"IP\",\"internet\"\r\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+CFUN=1\r"), "AT+CFUN=1\r\r\nOK\r\n");
  open_link("ATD*99***1#\r");
  port().write(lcp(ppp::kTerminateRequest, 0x70));
  expect_next(lcp(ppp::kTerminateAck, 0x70) + "\r\nNO CARRIER\r\n");
  EXPECT_EQ(port().command("AT+CGACT?\r"), "AT+CGACT?\r\r\n+CGACT: 1,1\r\n\r\nOK\r\n");
}

TEST_F(PppLinkTest, LostFramesAndBadFcsFromTheControlSocket) {
  EXPECT_EQ(ctl("ppp lose 1"), "ERR no PPP link\n");
  open_link();
  EXPECT_EQ(ctl("ppp lose 1"), "OK\n");
  port().write(lcp(ppp::kEchoRequest, 0x50, be32(kHostMagic)));
  EXPECT_EQ(port().read_for(300ms), "");  // the reply was lost
  expect_echo(0x51);
  EXPECT_EQ(ctl("ppp badfcs 1"), "OK\n");
  port().write(lcp(ppp::kEchoRequest, 0x52, be32(kHostMagic)));
  // The reply with its FCS inverted: a host drops it (RFC 1662 section 4.3).
  expect_next(frame(ppp::kLcp, ppp::kEchoReply, 0x52, be32(kModuleMagic), /*corrupt_fcs=*/true));
  expect_echo(0x53);
  // Frames from the host with a bad FCS are dropped too, without an answer.
  port().write(frame(ppp::kLcp, ppp::kEchoRequest, 0x54, be32(kHostMagic), true));
  EXPECT_EQ(port().read_for(300ms), "");
  expect_echo(0x55);
}

TEST_F(PppLinkTest, GarbageFromTheHostIsDroppedAndTheLinkGoesOn) {
  open_link();
  std::string junk;
  for (int i = 0; i < 4096; ++i)
    junk.push_back(static_cast<char>((i * 37) & 0xff));
  port().write(junk + "\x7e");
  // Malformed control packets inside good frames: too short, a length past the data.
  port().write(ppp::encode_frame(ppp::kLcp, "\x09", kDefaultAccm));
  port().write(ppp::encode_frame(ppp::kIpcp, "\x01\x01\x00\x40\x03", kDefaultAccm));
  expect_echo(0x60);
}

}  // namespace
}  // namespace bg95::test
