// The real bg95sim program over its real pseudo-terminal, as a host sees it: exact bytes.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

class PtyTest : public ::testing::Test {
 protected:
  SimProcess& start(std::vector<std::string> args = {}) {
    sim = std::make_unique<SimProcess>(SimProcess::Options{dir.path() / "state", std::move(args)});
    return *sim;
  }
  TempDir dir;
  std::unique_ptr<SimProcess> sim;
};

TEST_F(PtyTest, ReadyLineNamesThePortAndTheLink) {
  auto& s = start();
  EXPECT_EQ(s.pty_path().rfind("/dev/pts/", 0), 0u) << s.ready_line();
  EXPECT_EQ(std::filesystem::read_symlink(s.link()).string(), s.pty_path());
  EXPECT_NE(s.ready_line().find("picocom -b 115200"), std::string::npos);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs bg95sim with `args` until it exits: its exit status and what it wrote to stderr.
std::pair<int, std::string> run_to_exit(const std::vector<std::string>& args) {
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return {-1, "pipe failed"};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(err[1], 2);
    std::vector<char*> argv{const_cast<char*>(BG95SIM_BINARY)};
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(BG95SIM_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(err[1]);
  std::string text;
  char buf[512];
  for (ssize_t n; (n = ::read(err[0], buf, sizeof buf)) > 0;)
    text.append(buf, static_cast<std::size_t>(n));
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

// Starting must fail with `message` in stderr; nothing of the state folder is made.
void expect_refused_start(const std::filesystem::path& state, const std::string& message) {
  try {
    SimProcess bad(SimProcess::Options{state, {}});
    ADD_FAILURE() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(state));
}

TEST_F(PtyTest, LinkReplacesOnlyItsOwnKindOfLink) {
  // --link replaced whatever stood at the path and removed it at exit: a regular file was
  // lost (issue 18). Only a symlink to a pty, which is what bg95sim makes, is replaced.
  namespace fs = std::filesystem;
  const fs::path state = dir.path() / "state";
  const fs::path link = dir.path() / "state.port";  // where SimProcess puts --link
  std::ofstream(link) << "precious";
  const std::string refused = link.string() + " exists and is not a link to a pty";
  expect_refused_start(state, refused);
  EXPECT_EQ(read_file(link), "precious");
  fs::remove(link);
  fs::create_symlink(dir.path() / "elsewhere", link);
  expect_refused_start(state, refused);
  EXPECT_EQ(fs::read_symlink(link), dir.path() / "elsewhere");
  fs::remove(link);
  fs::create_directory(link);
  expect_refused_start(state, refused);
  EXPECT_TRUE(fs::is_directory(link));
  fs::remove(link);
  // A missing folder is said as such, before anything is made.
  const fs::path missing = dir.path() / "missing" / "port";
  EXPECT_EQ(run_to_exit({"--state", state.string(), "--link", missing.string()}),
            std::make_pair(2, "bg95sim: the folder of the link " + missing.string() + " (" +
                                  missing.parent_path().string() + ") does not exist\n"));
  EXPECT_FALSE(fs::exists(state));
  EXPECT_FALSE(fs::exists(missing.parent_path()));
  // A stale link of an earlier run is replaced, and removed at exit.
  fs::create_symlink("/dev/pts/999999", link);
  start();
  EXPECT_EQ(fs::read_symlink(link).string(), sim->pty_path());
  sim->stop(SIGTERM);
  EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
}

TEST_F(PtyTest, AtiEchoThenTheWholeAnswerEachInOneRead) {
  auto& port = start().open_port();
  port.write("ATI\r");
  // As from a real module, the echo comes as the bytes arrive and the answer once the command
  // is processed: a host reading as soon as data is there gets the echo alone (fwupd relies on
  // it), then one read() returns the whole answer.
  EXPECT_EQ(port.read_once(), "ATI\r");
  EXPECT_EQ(port.read_once(), "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, WithoutEchoTheAnswerComesInOneRead) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  port.write("ATI\r\n");
  EXPECT_EQ(port.read_once(), "\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A03\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, ChainAnswersInTurnWithOneOk) {
  auto& port = start().open_port();
  EXPECT_EQ(
      port.command("AT+CSQ;+CEREG?;+CGREG?;+COPS?\r"),
      "AT+CSQ;+CEREG?;+CGREG?;+COPS?\r\r\n+CSQ: 26,99\r\n\r\n+CEREG: 0,1\r\n\r\n+CGREG: 0,4\r\n"
      "\r\n+COPS: 0,0,\"Telstra Mobile Telstra\",8\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, EchoOffAndOn) {
  auto& port = start().open_port();
  EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGMR\r"), "\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("ATE1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QGMR\r"), "AT+QGMR\r\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, CmeeModesAndUnknownCommands) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+CSQ?\r"), "\r\n+CME ERROR: 3\r\n");
  EXPECT_EQ(port.command("AT+CMEE=2\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CSQ?\r"), "\r\n+CME ERROR: operation not allowed\r\n");
  EXPECT_EQ(port.command("AT+CMEE=0\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CSQ?\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+CMEE?\r"), "\r\n+CMEE: 0\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CMEE=3\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+BOGUS\r"), "\r\nERROR\r\n");
  // Numeric results end with a bare CR, so read up to it.
  port.write("ATV0\r");
  EXPECT_EQ(port.read_until("0\r"), "0\r");
  port.write("AT+CGMI\r");
  EXPECT_EQ(port.read_until("\n0\r"), "Quectel\r\n0\r");
  port.write("AT+NONE\r");
  EXPECT_EQ(port.read_until("4\r"), "4\r");
}

TEST_F(PtyTest, IdentityAndNetworkFormats) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+CGSN\r"), "\r\n865341040062814\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CGMM\r"), "\r\nBG95-M3\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CPIN?\r"), "\r\n+CPIN: READY\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QNWINFO\r"),
            "\r\n+QNWINFO: \"eMTC\",\"50501\",\"LTE BAND 28\",9410\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CEREG=2;+CEREG?\r"),
            "\r\n+CEREG: 2,1,\"3010\",\"8A2C01B\",8\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, CfunTurnsTheRadioOffAndOnWithUrcs) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+CEREG=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CFUN=4\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+CEREG: 0\r\n"), "\r\n+CEREG: 0\r\n");
  EXPECT_EQ(port.command("AT+CSQ;+COPS?\r"), "\r\n+CSQ: 99,99\r\n\r\n+COPS: 0\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CFUN=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+CEREG: 1\r\n"), "\r\n+CEREG: 1\r\n");
}

TEST_F(PtyTest, CfunResetPrintsTheBootBanner) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+CFUN=1,1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+QIND: SMS DONE\r\n"),
            "\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\nAPP RDY\r\n\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n"
            "\r\n+QIND: SMS DONE\r\n");
  // Echo is back on after the reset (E1 at boot).
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
}

TEST_F(PtyTest, BackspaceEditing) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+CGMX\bM\r"), "\r\nBG95-M3\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, HostClosesAndReopensManyTimes) {
  auto& s = start();
  for (int i = 0; i < 1000; ++i) {
    HostPort p(s.link().string());
  }
  auto& port = s.open_port();
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
  EXPECT_TRUE(s.running());
}

TEST_F(PtyTest, RandomBytesDoNotBreakTheModule) {
  auto& s = start();
  auto& port = s.open_port();
  std::mt19937_64 rng(42);
  std::string chunk(64 * 1024, '\0');
  // 10 MB of noise; the module's echo is read and thrown away so the pty never fills.
  for (int i = 0; i < 160; ++i) {
    for (auto& c : chunk)
      c = static_cast<char>(rng());
    port.write(chunk);
    port.read_for(std::chrono::milliseconds(0));
  }
  port.write("\r");
  port.read_for(std::chrono::milliseconds(200));
  // Whatever state the noise left (echo off, V0...), AT&F restores the defaults.
  port.write("AT&F\r");
  port.read_for(std::chrono::milliseconds(200));
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
  EXPECT_TRUE(s.running());
}

TEST_F(PtyTest, OutputWhileNoHostListensIsDropped) {
  auto& s = start();
  {
    auto& port = s.open_port();
    port.command("AT+CEREG=1\r");
    port.write("AT+CFUN=4\r");
    port.read_until("OK\r\n");
    s.close_port();
  }
  // The +CEREG: 0 URC went out while the port was closed: gone, as on a UART.
  auto& port = s.open_port();
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
}

TEST_F(PtyTest, SettingsSurviveARestart) {
  {
    auto& port = start().open_port();
    EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",0,\"Telstra.internet\"\r"),
              "AT+QCFGEXT=\"fota_apn\",0,\"Telstra.internet\"\r\r\nOK\r\n");
    EXPECT_EQ(port.command("ATE0&W\r"), "ATE0&W\r\r\nOK\r\n");
    sim->close_port();
    const int status = sim->stop(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_FALSE(std::filesystem::exists(sim->link()));  // the link goes with the program
  }
  auto& port = start().open_port();
  // ATE0 was saved with AT&W: no echo after the restart.
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\"\r"),
            "\r\n+QCFGEXT: \"fota_apn\",0,\"Telstra.internet\"\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, QcfgextRejectsBadInput) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",3,\"x\"\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"nope\"\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",1,\"v6.apn\",\"user\"\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",2,\"v6.apn\",\"user\",\"pw\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\"\r"),
            "\r\n+QCFGEXT: \"fota_apn\",2,\"v6.apn\",\"user\",\"pw\"\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=?\r"), "\r\nOK\r\n");
}

// Found by fuzz_at_line: a byte that is not UTF-8 in a saved string made writing settings.json
// throw, which ended the whole program. Now the command is refused and nothing changes.
TEST_F(PtyTest, TextTheSettingsFileCannotHoldIsRefused) {
  auto& port = start().open_port();
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",0,\"ap\xb1n\"\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"epns\",0,\"bs\",\"dev\xb1\"\r"), "\r\n+CME ERROR: 50\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"epns\",0,\"bs\",\"dev\xc3\xa9\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"epns\"\r"),
            "\r\n+QLWCFG: \"epns\",0,\"bs\",\"dev\xc3\xa9\"\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\"\r"),
            "\r\n+QCFGEXT: \"fota_apn\",0,\"\"\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, CorruptSettingsGiveAClearErrorAndCanBeRecreated) {
  {
    start();
    sim->stop(SIGTERM);
  }
  const auto settings = dir.path() / "state" / "settings.json";
  std::ofstream(settings) << "{ not json";
  SimProcess::Options opts{dir.path() / "state", {}};
  try {
    SimProcess bad(opts);
    FAIL() << "started with corrupt settings";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("settings.json: corrupt settings"), std::string::npos) << what;
    EXPECT_NE(what.find("--recreate-state"), std::string::npos) << what;
  }
  auto& port = start({"--recreate-state"}).open_port();
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, TruncatedFlashIsRefusedWithItsName) {
  {
    start();
    sim->stop(SIGTERM);
  }
  std::filesystem::resize_file(dir.path() / "state" / "flash.bin", 4096);
  try {
    SimProcess bad(SimProcess::Options{dir.path() / "state", {}});
    FAIL() << "started with a truncated flash";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("flash.bin: flash file has 4096 bytes"), std::string::npos)
        << e.what();
  }
}

TEST_F(PtyTest, ModelOptionChangesIdentityAndRevision) {
  auto& port = start({"--model", "BG77"}).open_port();
  EXPECT_EQ(port.command("ATI\r"),
            "ATI\r\r\nQuectel\r\nBG77\r\nRevision: BG77LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(PtyTest, StateFolderIsLockedAgainstASecondEmulator) {
  start();
  try {
    SimProcess second(SimProcess::Options{dir.path() / "state", {}});
    FAIL() << "two emulators shared a state folder";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another bg95sim"), std::string::npos)
        << e.what();
  }
}

TEST_F(PtyTest, TheReadyLineComesWhenTheBannerIsOutAndTheModuleAnswers) {
  // Issue 16 item 3, issue 20 item 2: the ready line came before the boot, some 2.5 s before
  // the module answered AT in the realistic profile; printed on Booted, it came with RDY and
  // the rest of the banner still to be written. Now it comes once the whole banner is out: a
  // host that opens the port on the line is answered at once and reads no banner byte after.
  // Boot here: 2.5 s to RDY and 1 s of banner, scaled by 0.2.
  sim = std::make_unique<SimProcess>(SimProcess::Options{
      dir.path() / "state", {"--timing", "realistic", "--time-scale", "0.2"}, false});
  auto& port = sim->open_port();
  EXPECT_EQ(port.command("AT\r", std::chrono::seconds(1)), "AT\r\r\nOK\r\n");
  EXPECT_EQ(port.read_for(std::chrono::milliseconds(400)), "");
}

TEST_F(PtyTest, RealisticProfileGarblesAtTheWrongBaudRate) {
  auto& s = start({"--timing", "realistic", "--time-scale", "0.001"});
  auto& port = s.open_port();  // 115200, the module's rate: clean
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
  s.close_port();
  HostPort slow(s.link().string(), 9600);
  slow.write("AT\r");
  // The module hears noise: whatever comes back is not an echo or an OK.
  const std::string noise = slow.read_for(std::chrono::milliseconds(300));
  EXPECT_EQ(noise.find("OK"), std::string::npos);
  EXPECT_EQ(noise.find("AT"), std::string::npos);
}

TEST_F(PtyTest, IprChangesTheModuleRateAndIsKept) {
  auto& s = start({"--timing", "realistic", "--time-scale", "0.001"});
  auto& port = s.open_port();
  EXPECT_EQ(port.command("AT+IPR=9600\r"), "AT+IPR=9600\r\r\nOK\r\n");
  s.close_port();
  HostPort slow(s.link().string(), 9600);
  EXPECT_EQ(slow.command("AT+IPR?\r"), "AT+IPR?\r\r\n+IPR: 9600\r\n\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
