// AT+QFOTADL="COM:" over the real pty: data mode, leaving it by size, timeout and "+++",
// the extended functions, and an upload that then updates the firmware.

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sim/firmware/image.hpp"
#include "sim/firmware/package.hpp"
#include "sim/firmware/synthetic.hpp"
#include "tests/support/note_checksum.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

using namespace std::string_literals;

class ComUploadTest : public ::testing::Test {
 protected:
  HostPort& start(std::vector<std::string> args = {}) {
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", args});
    auto& port = sim_->open_port();
    port.command("ATE0\r");
    return port;
  }
  TempDir dir_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(ComUploadTest, SixMebibytesAtFullSpeed) {
  auto& port = start();
  const std::string data = random_bytes(6 * 1024 * 1024, 1);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",6291456\r"), "\r\nCONNECT\r\n");
  port.write(data);
  EXPECT_EQ(port.read_until("OK\r\n", std::chrono::seconds(60)),
            "\r\n+QFOTADL: 6291456," + note_checksum(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,6291456\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, OddSizeChecksumAndPaddedLastChunk) {
  auto& port = start();
  const std::string data = random_bytes(4097, 2);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",4097,5\r"), "\r\nCONNECT\r\n");
  // 2048-byte chunks, the last padded with 0xFF past the size, as real host tools do.
  for (std::size_t off = 0; off < data.size(); off += 2048) {
    std::string chunk = data.substr(off, 2048);
    chunk.resize(2048, '\xFF');
    port.write(chunk);
  }
  EXPECT_EQ(port.read_until("OK\r\n"),
            "\r\n+QFOTADL: 4097," + note_checksum(data) + "\r\n\r\nOK\r\n");
  // The padding was not taken as commands: the port answers at once.
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,4097\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, EveryByteValueIsData) {
  auto& port = start();
  std::string data;
  for (int i = 0; i < 256; ++i)
    data.push_back(static_cast<char>(i));
  data += "AT\r\nATI\r+++\0+++"s;
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\"," + std::to_string(data.size()) + "\r"),
            "\r\nCONNECT\r\n");
  port.write(data);
  EXPECT_EQ(port.read_until("OK\r\n"),
            fmt::format("\r\n+QFOTADL: {},{}\r\n\r\nOK\r\n", data.size(), note_checksum(data)));
}

TEST_F(ComUploadTest, EscapeWithGuardTimesKeepsTheData) {
  auto& port = start({"--guard-time", "200"});
  const std::string part = random_bytes(3000, 3);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",10000,30\r"), "\r\nCONNECT\r\n");
  port.write(part);
  // Guard time of silence (and the module says nothing meanwhile), "+++", guard time again.
  EXPECT_EQ(port.read_for(std::chrono::milliseconds(300)), "");
  port.write("+++");
  EXPECT_EQ(port.read_until("OK\r\n", std::chrono::seconds(5)),
            "\r\n+QFOTADL: 3000," + note_checksum(part) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,3000\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, PlusesWithoutGuardTimesAreData) {
  auto& port = start({"--guard-time", "200"});
  const std::string data = "abc+++def" + random_bytes(991, 4);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",1000\r"), "\r\nCONNECT\r\n");
  port.write(data);
  EXPECT_EQ(port.read_until("OK\r\n"),
            "\r\n+QFOTADL: 1000," + note_checksum(data) + "\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, TimeoutEndsDataModeKeepingWhatArrived) {
  auto& port = start();
  const std::string part = random_bytes(777, 5);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",5000,1\r"), "\r\nCONNECT\r\n");
  port.write(part);
  EXPECT_EQ(port.read_until("OK\r\n", std::chrono::seconds(5)),
            "\r\n+QFOTADL: 777," + note_checksum(part) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,777\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, ParameterErrorsAndExtendedFunctions) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",0\r"), "\r\n+CME ERROR: 590\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",6291457\r"), "\r\n+CME ERROR: 590\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",abc\r"), "\r\n+CME ERROR: 590\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",\"12\"\r"), "\r\n+CME ERROR: 590\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",10,0\r"), "\r\n+CME ERROR: 590\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=3\r"), "\r\n+QFOTADL: 3,1\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=3,0;+QFOTADL=3\r"), "\r\n+QFOTADL: 3,0\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4,1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=2\r"), "\r\nERROR\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=7\r"), "\r\nERROR\r\n");
  // A new upload overwrites the old package; =5 deletes it.
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",10\r"), "\r\nCONNECT\r\n");
  port.write("0123456789");
  port.read_until("OK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",4\r"), "\r\nCONNECT\r\n");
  port.write("wxyz");
  port.read_until("OK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,4\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=5;+QFOTADL=4\r"), "\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
  // The trigger mode is "invalid after powering down": back to 1 after a reset.
  EXPECT_EQ(port.command("AT+QFOTADL=3,0\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CFUN=1,1\r"), "\r\nOK\r\n");
  port.read_until("+QIND: SMS DONE\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=3\r"), "AT+QFOTADL=3\r\r\n+QFOTADL: 3,1\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, UploadThenUpdate) {
  firmware::ImageHeader h{"BG95-M3", "BG95M3LAR02A03", "BG95M3LAR02A03_01.011.01.011", 0, {}};
  const auto source =
      firmware::make_image(h, firmware::synthetic_body(4 * 1024 * 1024 - 256, 0xB695));
  firmware::ImageHeader t{"BG95-M3", "BG95M3LAR02A04", "BG95M3LAR02A04_01.012.01.012", 0, {}};
  const auto target =
      firmware::make_image(t, firmware::derive_next_body(std::span(source).subspan(256), 0.02, 11));
  const auto package = *firmware::make_package(source, target, {.level = 3});
  const std::string data(package.begin(), package.end());

  auto& port = start();
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\"," + std::to_string(data.size()) + "\r"),
            "\r\nCONNECT\r\n");
  port.write(data);
  EXPECT_EQ(port.read_until("OK\r\n", std::chrono::seconds(30)),
            fmt::format("\r\n+QFOTADL: {},{}\r\n\r\nOK\r\n", data.size(), note_checksum(data)));
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
  EXPECT_EQ(urcs.rfind("\r\n+QIND: \"FOTA\",\"RESETTING\"\r\n\r\n+QIND: \"FOTA\",\"START\"\r\n", 0),
            0u)
      << urcs;
  EXPECT_NE(urcs.find("\r\n+QIND: \"FOTA\",\"UPDATING\",100\r\n\r\n+QIND: \"FOTA\",\"END\",0\r\n"),
            std::string::npos);
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(ComUploadTest, DamagedPackageUploadEndsWith506) {
  auto& port = start();
  const std::string junk = random_bytes(20000, 6);
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",20000\r"), "\r\nCONNECT\r\n");
  port.write(junk);
  port.read_until("OK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(30)),
            "\r\n+QIND: \"FOTA\",\"RESETTING\"\r\n\r\n+QIND: \"FOTA\",\"START\"\r\n"
            "\r\n+QIND: \"FOTA\",\"END\",506\r\n\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\nAPP RDY\r\n"
            "\r\n+CPIN: READY\r\n\r\n+QUSIM: 1\r\n\r\n+QIND: SMS DONE\r\n");
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
