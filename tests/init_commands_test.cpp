// The commands host drivers send at init, on the real bg95sim through its pty, byte for byte:
// packet data (PDP contexts, attach, activation, addresses, DNS, +CGEV), its faults from the
// control socket, housekeeping (hook, time, supply, power-down, AT+QCFG, AT+QENG ...), the
// registration URC modes 3-5, and PSM. Formats and their sources: docs/at-commands.md.

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;

class InitCommandsTest : public ::testing::Test {
 protected:
  HostPort& start(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--control", socket_.string()});
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", args});
    HostPort& port = sim_->open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    return port;
  }
  std::string ctl(const std::string& words) {
    auto [rc, out] = run_bg95ctl(socket_, words);
    EXPECT_EQ(rc, 0) << words << ": " << out;
    return out;
  }
  static std::string ok(const std::string& lines) { return "\r\n" + lines + "\r\n\r\nOK\r\n"; }
  TempDir dir_;
  std::filesystem::path socket_ = dir_.path() / "ctl" / "ctl.sock";
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(InitCommandsTest, PdpContextsAreDefinedReadAndKept) {
  HostPort& port = start();
  EXPECT_EQ(port.command("AT+CGDCONT=?\r"),
            "\r\n+CGDCONT: (1-15),\"IP\",,,(0-2),(0-4),(0),(0)\r\n"
            "+CGDCONT: (1-15),\"IPV6\",,,(0-2),(0-4),(0),(0)\r\n"
            "+CGDCONT: (1-15),\"IPV4V6\",,,(0-2),(0-4),(0),(0)\r\n"
            "+CGDCONT: (1-15),\"Non-IP\",,,(0-2),(0-4),(0),(0)\r\n\r\nOK\r\n");
  // A new module: context 1, IPv4v6, the network's default APN.
  EXPECT_EQ(port.command("AT+CGDCONT?\r"),
            ok("+CGDCONT: 1,\"IPV4V6\",\"\",\"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0\",0,0,0,0"));
  EXPECT_EQ(port.command("AT+CGDCONT=1,\"IP\",\"internet\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGDCONT=3,\"non-ip\",\"nidd\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGDCONT=2,\"PPP\",\"x\"\r"), "\r\n+CME ERROR: 50\r\n");
  EXPECT_EQ(port.command("AT+CGDCONT=16,\"IP\",\"x\"\r"), "\r\n+CME ERROR: 50\r\n");
  EXPECT_EQ(port.command("AT+CGDCONT?\r"),
            "\r\n+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0,0,0\r\n"
            "+CGDCONT: 3,\"Non-IP\",\"nidd\",\"0.0.0.0\",0,0,0,0\r\n\r\nOK\r\n");
  // AT+QICSGP writes the same definition; its read form has no <contextID>.
  EXPECT_EQ(port.command("AT+QICSGP=2,3,\"apn2\",\"user\",\"pw\",2\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QICSGP=2\r"), ok("+QICSGP: 3,\"apn2\",\"user\",\"pw\",2"));
  EXPECT_EQ(port.command("AT+QICSGP=4\r"), ok("+QICSGP: 0,\"\",\"\",\"\",0"));
  EXPECT_EQ(port.command("AT+QICSGP=?\r"),
            ok("+QICSGP: (1-15),(1-3),<APN>,<username>,<password>,(0-3)"));
  EXPECT_EQ(port.command("AT+CGDCONT=3\r"), "\r\nOK\r\n");  // removed
  // Kept across a restart (NV).
  ctl("reset");
  wait_until_ready(port);
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+CGDCONT?\r"),
            "\r\n+CGDCONT: 1,\"IP\",\"internet\",\"0.0.0.0\",0,0,0,0\r\n"
            "+CGDCONT: 2,\"IPV4V6\",\"apn2\",\"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0\",0,0,0,0\r\n"
            "\r\nOK\r\n");
}

TEST_F(InitCommandsTest, AttachActivationAndAddresses) {
  HostPort& port = start();
  // Attached with registration; LTE's default bearer is context 1.
  EXPECT_EQ(port.command("AT+CGATT?\r"), ok("+CGATT: 1"));
  EXPECT_EQ(port.command("AT+CGACT?\r"), ok("+CGACT: 1,1"));
  EXPECT_EQ(port.command("AT+QIACT?\r"), ok("+QIACT: 1,1,3,\"10.65.0.2\""));
  EXPECT_EQ(port.command("AT+CGPADDR=1\r"), ok("+CGPADDR: 1,\"10.65.0.2\",\"2001:db8:1:0::2\""));
  EXPECT_EQ(port.command("AT+QIDEACT=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIACT?\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGPADDR=1\r"), ok("+CGPADDR: 1,\"0.0.0.0\""));
  EXPECT_EQ(port.command("AT+QICSGP=1,1,\"internet\",\"\",\"\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIACT=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIACT?\r"), ok("+QIACT: 1,1,1,\"10.65.0.2\""));
  EXPECT_EQ(port.command("AT+CGPADDR\r"), ok("+CGPADDR: 1,\"10.65.0.2\""));
  EXPECT_EQ(port.command("AT+CGCONTRDP=1\r"),
            ok("+CGCONTRDP: 1,5,\"internet\",\"10.65.0.2.255.255.255.0\",\"10.65.0.1\","
               "\"10.64.0.1\",\"10.64.0.2\""));
  EXPECT_EQ(port.command("AT+QIDNSCFG=1\r"), ok("+QIDNSCFG: 1,\"10.64.0.1\",\"10.64.0.2\""));
  EXPECT_EQ(port.command("AT+QIDNSCFG=1,\"127.0.0.53\",\"::1\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIDNSCFG=1\r"), ok("+QIDNSCFG: 1,\"127.0.0.53\",\"::1\""));
  EXPECT_EQ(port.command("AT+QIDNSCFG=1,\"dns.example\"\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QIDNSCFG=2\r"), "\r\nERROR\r\n") << "not active";
  // Detach: every context goes; attach again brings the default bearer back.
  EXPECT_EQ(port.command("AT+CGATT=0\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGATT?;+CGACT?\r"), "\r\n+CGATT: 0\r\n\r\n+CGACT: 1,0\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIACT=1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QIGETERROR\r"), ok("+QIGETERROR: 561,open PDP context failed"));
  EXPECT_EQ(port.command("AT+CGATT=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGACT?\r"), ok("+CGACT: 1,1"));
  EXPECT_EQ(port.command("AT+QIGETERROR\r"), ok("+QIGETERROR: 561,open PDP context failed"));
  EXPECT_EQ(port.command("AT+QIACT=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIGETERROR\r"), ok("+QIGETERROR: 0,operate successfully"));
  // A voice call, or a dial string that is not the packet domain's: NO CARRIER at once, never a
  // hang (ATD*99# runs PPP: ppp_link_test).
  for (const char* dial : {"ATD+4930123456;\r\n", "ATD*98#\r\n", "ATD*99***PPP*16#\r\n"}) {
    port.write(dial);
    EXPECT_EQ(port.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n") << dial;
  }
}

TEST_F(InitCommandsTest, DnsAnswersWhatThisMachineKnows) {
  HostPort& port = start();
  port.write("AT+QIDNSGIP=1,\"localhost\"\r\n");
  EXPECT_EQ(port.read_until("\"dnsgip\",\"127.0.0.1\"\r\n"),
            "\r\nOK\r\n\r\n+QIURC: \"dnsgip\",0,1,600\r\n\r\n+QIURC: \"dnsgip\",\"127.0.0.1\"\r\n");
  port.write("AT+QIDNSGIP=1,\"192.0.2.7\"\r\n");
  EXPECT_EQ(port.read_until("\"192.0.2.7\"\r\n"),
            "\r\nOK\r\n\r\n+QIURC: \"dnsgip\",0,1,600\r\n\r\n+QIURC: \"dnsgip\",\"192.0.2.7\"\r\n");
  port.write("AT+QIDNSGIP=1,\"no-such-host.invalid\"\r\n");
  EXPECT_EQ(port.read_until("565\r\n"), "\r\nOK\r\n\r\n+QIURC: \"dnsgip\",565\r\n");
  EXPECT_EQ(port.command("AT+QIDNSGIP=2,\"localhost\"\r"), "\r\nERROR\r\n") << "not active";
}

TEST_F(InitCommandsTest, NetworkFaultsFromTheControlSocket) {
  HostPort& port = start();
  EXPECT_EQ(port.command("AT+CGEREP=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGEREP?\r"), ok("+CGEREP: 1,0"));
  // The network deactivates context 1: the TCP/IP URC and the 27.007 event.
  ctl("net pdpdeact 1");
  EXPECT_EQ(port.read_until("DEACT 1\r\n"),
            "\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+CGEV: NW PDN DEACT 1\r\n");
  EXPECT_EQ(port.command("AT+CGACT?\r"), ok("+CGACT: 1,0"));
  EXPECT_NE(run_bg95ctl(socket_, "net pdpdeact 1").first, 0) << "not active any more";
  // The module stays usable: a new activation works, with its event.
  port.write("AT+QIACT=1\r");
  EXPECT_EQ(port.read_until("ACT 1\r\n"), "\r\nOK\r\n\r\n+CGEV: ME PDN ACT 1\r\n");
  // Only one APN accepted for data.
  ctl("net apn corporate");
  EXPECT_EQ(port.command("AT+CGDCONT=2,\"IP\",\"internet\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QIACT=2\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+CGDCONT=2,\"IP\",\"CORPORATE\"\r"), "\r\nOK\r\n");
  port.write("AT+QIACT=2\r");
  EXPECT_EQ(port.read_until("ACT 2\r\n"), "\r\nOK\r\n\r\n+CGEV: ME PDN ACT 2\r\n");
  // Attach refused by the network: detached, events, and no attach until allowed.
  ctl("net attach refuse");
  EXPECT_EQ(port.read_until("NW DETACH\r\n"), "\r\n+CGEV: NW DETACH\r\n");
  EXPECT_EQ(port.command("AT+CGATT=1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+CGATT?\r"), ok("+CGATT: 0"));
  ctl("net attach allow");
  EXPECT_EQ(port.command("AT+CGATT?\r"), ok("+CGATT: 1"));
  const std::string status = ctl("status");
  EXPECT_NE(status.find("attached=1"), std::string::npos) << status;
  EXPECT_NE(status.find("pdp=1"), std::string::npos) << status;
}

TEST_F(InitCommandsTest, HousekeepingAnswers) {
  HostPort& port = start();
  EXPECT_EQ(port.command("ATH\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("ATH0\r"), "\r\nOK\r\n");
  port.write("ATA\r\n");
  EXPECT_EQ(port.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n");
  EXPECT_EQ(port.command("ATS0=2\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("ATS0?\r"), ok("002"));
  EXPECT_EQ(port.command("AT+GCAP\r"), ok("+GCAP: +CGSM"));
  EXPECT_EQ(port.command("AT&K3\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT&K1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+IFC=2,2\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+IFC?\r"), ok("+IFC: 2,2"));
  EXPECT_EQ(port.command("AT+ICF?\r"), ok("+ICF: 3,3"));
  EXPECT_EQ(port.command("AT+CTZR=0;+CTZU=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CTZR?;+CTZU?\r"), "\r\n+CTZR: 0\r\n\r\n+CTZU: 1\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CBC\r"), ok("+CBC: 0,75,3800"));
  EXPECT_EQ(port.command("AT+QTEMP\r"), ok("+QTEMP: 31,30,32"));
  EXPECT_EQ(port.command("AT+QSCLK=1;+QSCLK?\r"), ok("+QSCLK: 1"));
  EXPECT_EQ(port.command("AT+CSUB\r"), ok("SubEdition: V01"));
  EXPECT_EQ(port.command("AT+QSPN\r"),
            ok("+QSPN: \"Telstra Mobile Telstra\",\"Telstra\",\"\",0,\"50501\""));
  EXPECT_EQ(port.command("AT+QENG=\"servingcell\"\r"),
            ok("+QENG: \"servingcell\",\"NOCONN\",\"eMTC\",\"FDD\",505,01,8A2C01B,267,9410,28,3,3,"
               "3010,-87,-12,-61,11,47"));
  EXPECT_EQ(port.command("AT+COPS=3,2;+COPS?\r"), ok("+COPS: 0,2,\"50501\",8"));
  EXPECT_EQ(port.command("AT+QURCCFG=\"urcport\"\r"), ok("+QURCCFG: \"urcport\",\"uart1\""));
  EXPECT_EQ(port.command("AT+QURCCFG=\"urcport\",\"usbat\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QURCCFG=\"urcport\"\r"), ok("+QURCCFG: \"urcport\",\"usbat\""));
  // SMS set-up (no SMS traffic).
  EXPECT_EQ(port.command("AT+CMGF=1;+CMGF?\r"), ok("+CMGF: 1"));
  EXPECT_EQ(port.command("AT+CNMI=2,1;+CNMI?\r"), ok("+CNMI: 2,1,0,0,0"));
  EXPECT_EQ(port.command("AT+CPMS=\"SM\",\"SM\",\"SM\"\r"), ok("+CPMS: 0,50,0,50,0,50"));
  EXPECT_EQ(port.command("AT+CPMS?\r"), ok("+CPMS: \"SM\",0,50,\"SM\",0,50,\"SM\",0,50"));
  EXPECT_EQ(port.command("AT+CSMS?\r"), ok("+CSMS: 0,1,1,1"));
  EXPECT_EQ(port.command("AT+CSCA?\r"), ok("+CSCA: \"+61418706700\",145"));
  // AT+CLAC lists every command, one per line.
  const std::string clac = port.command("AT+CLAC\r");
  for (const char* c :
       {"\r\nAT+CGDCONT\r\n", "\r\nAT+QFOTADL\r\n", "\r\nATH\r\n", "\r\nAT+QCFG\r\n"})
    EXPECT_NE(clac.find(c), std::string::npos) << c;
}

TEST_F(InitCommandsTest, ClockAndNetworkTime) {
  HostPort& port = start();
  // Network time came with the registration: the clock is this machine's UTC, zone +00.
  const std::regex cclk(
      "\r\n\\+CCLK: \"(\\d\\d)/\\d\\d/\\d\\d,\\d\\d:\\d\\d:\\d\\d\\+00\"\r\n\r\nOK\r\n");
  std::smatch m;
  const std::string now = port.command("AT+CCLK?\r");
  ASSERT_TRUE(std::regex_match(now, m, cclk)) << now;
  EXPECT_GE(std::stoi(m[1]), 26);
  const std::regex qlts(
      "\r\n\\+QLTS: \"20\\d\\d/\\d\\d/\\d\\d,\\d\\d:\\d\\d:\\d\\d\\+00,0\"\r\n\r\nOK\r\n");
  for (const char* q : {"AT+QLTS\r", "AT+QLTS=0\r", "AT+QLTS=1\r", "AT+QLTS=2\r"})
    EXPECT_TRUE(std::regex_match(port.command(q), qlts)) << q;
  // Set by the host, in its zone (quarter hours).
  EXPECT_EQ(port.command("AT+CCLK=\"24/02/29,23:59:58+40\"\r"), "\r\nOK\r\n");
  const std::string set = port.command("AT+CCLK?\r");
  EXPECT_TRUE(set.starts_with("\r\n+CCLK: \"24/02/29,23:59:5") ||
              set.starts_with("\r\n+CCLK: \"24/03/01,00:00:0"))
      << set;
  EXPECT_NE(set.find("+40\""), std::string::npos) << set;
  EXPECT_EQ(port.command("AT+CCLK=\"24/13/01,00:00:00+00\"\r"), "\r\n+CME ERROR: 50\r\n");
}

TEST_F(InitCommandsTest, QcfgSettingsAreKeptAndCheckedByTheRealRanges) {
  HostPort& port = start();
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanseq\"\r"), ok("+QCFG: \"nwscanseq\",020301"));
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanmode\"\r"), ok("+QCFG: \"nwscanmode\",0"));
  EXPECT_EQ(port.command("AT+QCFG=\"iotopmode\"\r"), ok("+QCFG: \"iotopmode\",2"));
  EXPECT_EQ(port.command("AT+QCFG=\"band\"\r"),
            ok("+QCFG: \"band\",0xf,0x100002000000000f0e189f,0x10004200000000090e189f"));
  EXPECT_EQ(port.command("AT+QCFG=\"urc/ri/ring\"\r"),
            ok("+QCFG: \"urc/ri/ring\",\"pulse\",120,1000,5000,\"off\",1"));
  EXPECT_EQ(port.command("AT+QCFG=\"apready\"\r"), ok("+QCFG: \"apready\",0,1,500"));
  // Writes as Particle's and Mbed OS's drivers send them (with <effect>).
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanseq\",020103,1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanmode\",3,1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"iotopmode\",0,1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"band\",0,0x80084,0x80084,1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"urc/ri/ring\",\"ALWAYS\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanmode\",2\r"), "\r\nERROR\r\n");  // BG95: (0,1,3)
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanseq\",0204\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"apready\",1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"nosuchthing\"\r"), "\r\nERROR\r\n");
  ctl("reset");
  wait_until_ready(port);
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+QCFG=\"nwscanseq\";+QCFG=\"nwscanmode\";+QCFG=\"band\"\r"),
            "\r\n+QCFG: \"nwscanseq\",020103\r\n\r\n+QCFG: \"nwscanmode\",3\r\n"
            "\r\n+QCFG: \"band\",0x0,0x80084,0x80084\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFG=\"urc/ri/ring\"\r"),
            ok("+QCFG: \"urc/ri/ring\",\"always\",120,1000,5000,\"off\",1"));
}

TEST_F(InitCommandsTest, QpowdAnswersThenPowersDownUntilPoweredOn) {
  HostPort& port = start();
  port.write("AT+QPOWD=1\r");
  EXPECT_EQ(port.read_until("POWERED DOWN\r\n"), "\r\nOK\r\n\r\nPOWERED DOWN\r\n");
  port.write("AT\r");
  EXPECT_EQ(port.read_for(300ms), "") << "off";
  EXPECT_NE(ctl("status").find("power=off"), std::string::npos);
  ctl("power on");
  EXPECT_EQ(port.read_until("+QIND: SMS DONE\r\n"), kBootBanner);
}

TEST_F(InitCommandsTest, RegistrationUrcModesThreeToFive) {
  HostPort& port = start();
  EXPECT_EQ(port.command("AT+CEREG=?;+CGREG=?;+CREG=?\r"),
            "\r\n+CEREG: (0-5)\r\n\r\n+CGREG: (0-5)\r\n\r\n+CREG: (0-3)\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CEREG=3;+CEREG?\r"), ok("+CEREG: 3,1,\"3010\",\"8A2C01B\",8"));
  // Denied: reject cause fields (n=3).
  ctl("net reg denied");
  EXPECT_EQ(port.read_until("\r\n+CEREG: 3,,,,0,0\r\n"), "\r\n+CEREG: 3,,,,0,0\r\n");
  ctl("net reg home");
  EXPECT_EQ(port.read_until("8\r\n"), "\r\n+CEREG: 1,\"3010\",\"8A2C01B\",8\r\n");
  // PSM granted: Active-Time and Periodic-TAU (n=4).
  EXPECT_EQ(port.command("AT+CPSMS=1,,,\"00100001\",\"00100010\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CEREG=4;+CEREG?\r"),
            ok("+CEREG: 4,1,\"3010\",\"8A2C01B\",8,,,\"00100010\",\"00100001\""));
  EXPECT_EQ(port.command("AT+CEREG=5;+CEREG?\r"),
            ok("+CEREG: 5,1,\"3010\",\"8A2C01B\",8,,,\"00100010\",\"00100001\""));
  EXPECT_EQ(port.command("AT+CPSMS=0\r"), "\r\nOK\r\n");
}

TEST_F(InitCommandsTest, PsmSleepsAfterActiveTimeAndWakesAtPeriodicTau) {
  HostPort& port = start();
  EXPECT_EQ(port.command("AT+QCFG=\"psm/urc\",1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QPSMS?\r"), ok("+QPSMS: 0,,,\"3600\",\"2\""));
  // Periodic-TAU 2 s x 3 (unit 011), Active-Time 2 s x 1 (unit 000); granted as asked.
  EXPECT_EQ(port.command("AT+CPSMS=1,,,\"01100011\",\"00000001\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+QPSMTIMER: 6,2\r\n"), "\r\n+QPSMTIMER: 6,2\r\n");
  EXPECT_EQ(port.command("AT+QPSMS?\r"), ok("+QPSMS: 1,,,\"6\",\"2\""));
  // No byte from the host for 2 s: it says so and sleeps.
  EXPECT_EQ(port.read_until("PSM POWER DOWN\r\n", 5s), "\r\nPSM POWER DOWN\r\n");
  port.write("AT\r");
  EXPECT_EQ(port.read_for(500ms), "") << "asleep: nothing answers";
  // T3412 ends the sleep: it boots, and its per-boot settings start over (echo back on).
  EXPECT_EQ(port.read_until("+QIND: SMS DONE\r\n", 10s), kBootBanner);
  // Registered again, the timers are negotiated again.
  EXPECT_EQ(port.read_until("+QPSMTIMER: 6,2\r\n"), "\r\n+QPSMTIMER: 6,2\r\n");
  EXPECT_EQ(port.command("AT+CPSMS=0\r"), "AT+CPSMS=0\r\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CPSMS?\r"),
            "AT+CPSMS?\r\r\n+CPSMS: 0,,,\"01100011\",\"00000001\"\r\n\r\nOK\r\n");
}

TEST_F(InitCommandsTest, EdrxIsStoredAndReported) {
  HostPort& port = start();
  EXPECT_EQ(port.command("AT+CEDRXS?\r"), ok("+CEDRXS: 0"));
  EXPECT_EQ(port.command("AT+CEDRXRDP\r"), ok("+CEDRXRDP: 0"));
  EXPECT_EQ(port.command("AT+CEDRXS=1,4,\"0101\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CEDRXS?\r"), ok("+CEDRXS: 4,\"0101\""));
  EXPECT_EQ(port.command("AT+CEDRXRDP\r"), ok("+CEDRXRDP: 4,\"0101\",\"0101\",\"0011\""));
  EXPECT_EQ(port.command("AT+CEDRXS=1,4,\"012\"\r"), "\r\n+CME ERROR: 50\r\n");
  EXPECT_EQ(port.command("AT+CEDRXS=3\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CEDRXS?\r"), ok("+CEDRXS: 0"));
}

}  // namespace
}  // namespace bg95::test
