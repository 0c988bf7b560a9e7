// The file commands (AT+QFUPL, AT+QFDWL, AT+QFLST, AT+QFLDS, AT+QFDEL) on the real bg95sim
// over its real pseudo-terminal: exact bytes, the data-mode endings, and names that try to
// leave the module's file system.

#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The note's checksum, computed here independently of the module's code: 16-bit words,
// first byte high, XORed; an odd last byte is a high byte with a zero low byte.
std::string checksum_hex(std::string_view data) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const unsigned hi = static_cast<unsigned char>(data[i]);
    const unsigned lo = i + 1 < data.size() ? static_cast<unsigned char>(data[i + 1]) : 0u;
    sum ^= (hi << 8) | lo;
  }
  char buf[8];
  std::snprintf(buf, sizeof buf, "%x", sum);
  return buf;
}

// Bytes that would confuse a sloppy data mode: every byte value, CR LF, "AT", "+++", NUL.
std::string payload(std::size_t size, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::string out;
  const std::string tricky = std::string("AT\r\n+++\0\x11\x13\x03\x1a\xff", 13);
  while (out.size() < size) {
    if (rng() % 8 == 0)
      out += tricky;
    else
      out.push_back(static_cast<char>(rng()));
  }
  out.resize(size);
  return out;
}

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const stdfs::path& p, std::string_view data) {
  std::ofstream out(p, std::ios::binary);
  out << data;
}

class FileCommandsTest : public ::testing::Test {
 protected:
  HostPort& start(std::vector<std::string> args = {}) {
    sim.reset();
    sim = std::make_unique<SimProcess>(SimProcess::Options{state(), std::move(args)});
    HostPort& port = sim->open_port();
    // Echo off: the answers below are exactly what the module adds.
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    return port;
  }
  stdfs::path state() const { return dir.path() / "state"; }
  stdfs::path ufs() const { return state() / "fs" / "ufs"; }
  stdfs::path datatx() const { return state() / "fs" / "datatx"; }

  // AT+QFUPL with the data written in one piece; returns everything after CONNECT.
  std::string upload(HostPort& port, const std::string& args, std::string_view data) {
    EXPECT_EQ(port.command("AT+QFUPL=" + args + "\r"), "\r\nCONNECT\r\n");
    port.write(data);
    return port.read_until("OK\r\n");
  }

  TempDir dir;
  std::unique_ptr<SimProcess> sim;
};

TEST_F(FileCommandsTest, UploadAnswersSizeAndChecksumAndStoresTheExactBytes) {
  auto& port = start();
  const std::string data = payload(1939);
  EXPECT_EQ(upload(port, "\"dfota_update.bin\",1939", data),
            "\r\n+QFUPL: 1939," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "dfota_update.bin"), data);
  // Back in command mode.
  EXPECT_EQ(port.command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\n+QFLST: \"dfota_update.bin\",1939\r\n\r\nOK\r\n");
}

// The LF of a CR LF line end is never data: `AT+QFUPL="x",4,5\r\n` + `ABCD` stored "\nABC"
// (checksum 4802 instead of 206) before, and fwupd's packages then failed with 506.
TEST_F(FileCommandsTest, TheLfOfCrLfIsNotUploaded) {
  auto& port = start();
  port.write("AT+QFUPL=\"x\",4,5\r\n");
  EXPECT_EQ(port.read_until("CONNECT\r\n"), "\r\nCONNECT\r\n");
  port.write("ABCD");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFUPL: 4,206\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "x"), "ABCD");
  // The same when the host's LF and its data come in one write with the command line.
  port.write("AT+QFUPL=\"y\",4,5\r\nABCD");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\nCONNECT\r\n\r\n+QFUPL: 4,206\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "y"), "ABCD");
  // A host that ends lines with CR alone and sends an LF as its first byte after CONNECT
  // keeps it: after CONNECT every byte is data.
  port.set_crlf(false);
  EXPECT_EQ(port.command("AT+QFUPL=\"z\",4,5\r"), "\r\nCONNECT\r\n");
  port.write("\nABC");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFUPL: 4," + checksum_hex("\nABC") + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "z"), "\nABC");
}

// A plain name that names no file is an error, not an empty listing (fwupd's set-up reads OK as
// "an old file exists" and then fails on AT+QFDEL); a wildcard that matches nothing is OK.
TEST_F(FileCommandsTest, ListingAMissingNameIs405) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFLST=\"UFS:dfota_update.bin\"\r"), "\r\n+CME ERROR: 405\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"dfota_update.bin\"\r"), "\r\n+CME ERROR: 405\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"dfota*\"\r"), "\r\nOK\r\n");
}

TEST_F(FileCommandsTest, OddSizeAndPaddingPastTheAnnouncedSize) {
  auto& port = start();
  const std::string data = "ABCDEFG";
  // A host tool pads its last chunk with 0xFF: the padding is not stored and not run.
  EXPECT_EQ(upload(port, "\"UFS:odd.bin\",7", data + std::string(9, '\xff')),
            "\r\n+QFUPL: 7," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(checksum_hex(data), "40");  // 0x4142 ^ 0x4344 ^ 0x4546 ^ 0x4700
  EXPECT_EQ(slurp(ufs() / "odd.bin"), data);
  EXPECT_EQ(port.command("AT\r"), "\r\nOK\r\n");
}

TEST_F(FileCommandsTest, DefaultSizeIs10240) {
  auto& port = start();
  const std::string data = payload(10240, 3);
  EXPECT_EQ(upload(port, "\"d.bin\"", data + "AT\r"),
            "\r\n+QFUPL: 10240," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "d.bin"), data);
}

TEST_F(FileCommandsTest, AckModeSendsOneAPerKibibyte) {
  auto& port = start();
  const std::string data = payload(3000, 4);
  EXPECT_EQ(port.command("AT+QFUPL=\"ack.bin\",3000,5,1\r"), "\r\nCONNECT\r\n");
  port.write(std::string_view(data).substr(0, 1000));
  port.write(std::string_view(data).substr(1000, 24));
  EXPECT_EQ(port.read_until("A"), "A");
  port.write(std::string_view(data).substr(1024, 1024));
  EXPECT_EQ(port.read_until("A"), "A");
  port.write(std::string_view(data).substr(2048));
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFUPL: 3000," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "ack.bin"), data);
}

TEST_F(FileCommandsTest, AckModeLikeTheFieldUpdater) {
  // AT+QFUPL="dfota_update.bin",<size>,5,1, then 2048-byte chunks, the last one padded with
  // 0xFF; an "A" for every 1024 bytes, the last one right before the answer.
  auto& port = start();
  const std::size_t size = 100 * 1024 + 1000;
  const std::string data = payload(size, 5);
  EXPECT_EQ(port.command("AT+QFUPL=\"dfota_update.bin\"," + std::to_string(size) + ",5,1\r"),
            "\r\nCONNECT\r\n");
  std::size_t off = 0;
  std::size_t acks = 0;
  for (; size - off > 2048; off += 2048) {
    port.write(std::string_view(data).substr(off, 2048));
    for (; acks < (off + 2048) / 1024; ++acks)
      EXPECT_EQ(port.read_until("A"), "A");
  }
  std::string last = data.substr(off);
  last.resize(2048, '\xff');
  port.write(last);
  std::string rest = port.read_until("OK\r\n");
  EXPECT_EQ(rest, std::string(size / 1024 - acks, 'A') + "\r\n+QFUPL: " + std::to_string(size) +
                      "," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "dfota_update.bin"), data);
}

TEST_F(FileCommandsTest, EscapeKeepsWhatArrived) {
  auto& port = start({"--guard-time", "200"});
  EXPECT_EQ(port.command("AT+QFUPL=\"e.bin\",100\r"), "\r\nCONNECT\r\n");
  port.write("0123456789");
  // The escape needs a guard time of silence before "+++": wait for it, asserting that the
  // module says nothing meanwhile.
  EXPECT_EQ(port.read_for(milliseconds(300)), "");
  port.write("+++");
  EXPECT_EQ(port.read_until("OK\r\n", seconds(3)),
            "\r\n+QFUPL: 10," + checksum_hex("0123456789") + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "e.bin"), "0123456789");
  EXPECT_EQ(port.command("AT+QFLST=\"e.bin\"\r"), "\r\n+QFLST: \"e.bin\",10\r\n\r\nOK\r\n");
}

TEST_F(FileCommandsTest, EscapeWithTheDefaultGuardTime) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFUPL=\"e.bin\",100\r"), "\r\nCONNECT\r\n");
  port.write("abc");
  EXPECT_EQ(port.read_for(milliseconds(1100)), "");
  port.write("+++");
  EXPECT_EQ(port.read_until("OK\r\n", seconds(3)),
            "\r\n+QFUPL: 3," + checksum_hex("abc") + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "e.bin"), "abc");
}

TEST_F(FileCommandsTest, TimeoutKeepsWhatArrived) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFUPL=\"t.bin\",100,1\r"), "\r\nCONNECT\r\n");
  port.write("hello");
  EXPECT_EQ(port.read_until("OK\r\n", seconds(5)),
            "\r\n+QFUPL: 5," + checksum_hex("hello") + "\r\n\r\nOK\r\n");
  EXPECT_EQ(slurp(ufs() / "t.bin"), "hello");
}

TEST_F(FileCommandsTest, TimeoutWithNothingIsAnErrorAndNoFile) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFUPL=\"n.bin\",100,1\r"), "\r\nCONNECT\r\n");
  EXPECT_EQ(port.read_until("\r\n+CME ERROR: 421\r\n", seconds(5)), "\r\n+CME ERROR: 421\r\n");
  EXPECT_FALSE(stdfs::exists(ufs() / "n.bin"));
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
}

TEST_F(FileCommandsTest, DownloadExactBytes) {
  auto& port = start();
  const std::string data = payload(5000, 6);
  upload(port, "\"dl.bin\",5000", data);
  EXPECT_EQ(port.command("AT+QFDWL=\"dl.bin\"\r"), "\r\nCONNECT\r\n");
  EXPECT_EQ(port.read_until("OK\r\n"),
            data + "\r\n+QFDWL: 5000," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  // The same file under its other names.
  for (const char* name : {"UFS:dl.bin", "/data/ufs/dl.bin"}) {
    port.write(std::string("AT+QFDWL=\"") + name + "\"\r");
    EXPECT_EQ(port.read_until("OK\r\n"), "\r\nCONNECT\r\n" + data + "\r\n+QFDWL: 5000," +
                                             checksum_hex(data) + "\r\n\r\nOK\r\n");
  }
  // With echo, the echo comes first in a read of its own, then the answer in one read.
  EXPECT_EQ(port.command("ATE1\r"), "\r\nOK\r\n");
  spit(ufs() / "small.txt", "hi!");
  port.write("AT+QFDWL=\"small.txt\"\r");
  EXPECT_EQ(port.read_once(), "AT+QFDWL=\"small.txt\"\r");
  EXPECT_EQ(port.read_once(),
            "\r\nCONNECT\r\nhi!\r\n+QFDWL: 3," + checksum_hex("hi!") + "\r\n\r\nOK\r\n");
  // Numeric result codes.
  port.write("ATV0\r");
  EXPECT_EQ(port.read_until("ATV0\r0\r"), "ATV0\r0\r");
  port.write("ATE0\r");
  EXPECT_EQ(port.read_until("ATE0\r0\r"), "ATE0\r0\r");
  port.write("AT+QFDWL=\"small.txt\"\r");
  EXPECT_EQ(port.read_until("\n0\r"), "1\rhi!\r\n+QFDWL: 3," + checksum_hex("hi!") + "\r\n0\r");
}

TEST_F(FileCommandsTest, ListSpaceAndDelete) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 8388608,8388608\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS\r"), "\r\n+QFLDS: 0,0\r\n\r\nOK\r\n");
  upload(port, "\"b.txt\",3", "bbb");
  upload(port, "\"a.txt\",2", "aa");
  upload(port, "\"/datatx/fota_cacert.pem\",4", "CERT");
  EXPECT_EQ(slurp(datatx() / "fota_cacert.pem"), "CERT");
  EXPECT_EQ(port.command("AT+QFLST\r"),
            "\r\n+QFLST: \"a.txt\",2\r\n+QFLST: \"b.txt\",3\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"*\"\r"),
            "\r\n+QFLST: \"a.txt\",2\r\n+QFLST: \"b.txt\",3\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"UFS:a*\"\r"), "\r\n+QFLST: \"UFS:a.txt\",2\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"/datatx/*\"\r"),
            "\r\n+QFLST: \"/datatx/fota_cacert.pem\",4\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"none*\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 8388599,8388608\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"ufs\"\r"), "\r\n+QFLDS: 8388599,8388608\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS\r"), "\r\n+QFLDS: 5,2\r\n\r\nOK\r\n");

  EXPECT_EQ(port.command("AT+QFDEL=\"a.txt\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFDEL=\"a.txt\"\r"), "\r\n+CME ERROR: 405\r\n");
  EXPECT_EQ(port.command("AT+QFDEL=\"*\"\r"), "\r\nOK\r\n");  // every UFS file...
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
  EXPECT_TRUE(stdfs::exists(datatx() / "fota_cacert.pem"));  // ...but not the certificates
  EXPECT_EQ(port.command("AT+QFDEL=\"/datatx/fota_cacert.pem\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"/datatx/*\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 8388608,8388608\r\n\r\nOK\r\n");
}

TEST_F(FileCommandsTest, ErrorCodes) {
  auto& port = start();
  upload(port, "\"x.bin\",1", "x");
  EXPECT_EQ(port.command("AT+QFUPL=\"x.bin\",1\r"), "\r\n+CME ERROR: 407\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"UFS:x.bin\",1\r"), "\r\n+CME ERROR: 407\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"y.bin\",8388609\r"), "\r\n+CME ERROR: 423\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"y.bin\",8388608\r"), "\r\n+CME ERROR: 420\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"y.bin\",0\r"), "\r\n+CME ERROR: 425\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"y.bin\",1,0\r"), "\r\n+CME ERROR: 425\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"y.bin\",1,5,2\r"), "\r\n+CME ERROR: 425\r\n");
  EXPECT_EQ(port.command("AT+QFUPL\r"), "\r\n+CME ERROR: 3\r\n");
  EXPECT_EQ(port.command("AT+QFDWL=\"nope\"\r"), "\r\n+CME ERROR: 405\r\n");
  EXPECT_EQ(port.command("AT+QFDEL=\"nope\"\r"), "\r\n+CME ERROR: 405\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"RAM\"\r"), "\r\n+CME ERROR: 425\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"" + std::string(81, 'n') + "\",1\r"),
            "\r\n+CME ERROR: 406\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=?\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+CMEE=2\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"x.bin\",1\r"), "\r\n+CME ERROR: file already existed\r\n");
}

TEST_F(FileCommandsTest, FullFileSystemRefusesUploads) {
  stdfs::create_directories(ufs());
  spit(ufs() / "big.bin", std::string(8000000, '\x5a'));
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 388608,8388608\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\n+QFLST: \"big.bin\",8000000\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"y.bin\",388609\r"), "\r\n+CME ERROR: 420\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"/datatx/fota_cacert.pem\",388609\r"),
            "\r\n+CME ERROR: 420\r\n");
  const std::string data = payload(388608, 8);
  EXPECT_EQ(upload(port, "\"y.bin\",388608", data),
            "\r\n+QFUPL: 388608," + checksum_hex(data) + "\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 0,8388608\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"z.bin\",1\r"), "\r\n+CME ERROR: 420\r\n");
}

TEST_F(FileCommandsTest, NamesCannotLeaveTheFileSystem) {
  // Something outside the module's file system, and a symlink to it planted inside.
  const auto secret = dir.path() / "secret.txt";
  spit(secret, "top secret");
  stdfs::create_directories(ufs());
  stdfs::create_symlink(secret, ufs() / "evil");
  stdfs::create_directories(datatx());
  stdfs::create_symlink(secret, datatx() / "fota_cacert.pem");
  auto& port = start();

  for (const std::string name :
       {"../x", "UFS:../x", "/data/ufs/../x", "/datatx/../x", "/etc/passwd", "/tmp/x", "..",
        ".hidden", "a/b", "RAM:x", "EFS:x", "/datatx/a/b", "a\\b"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(port.command("AT+QFUPL=\"" + name + "\",1\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFDWL=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFDEL=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFLST=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
  }
  // The planted symlinks are neither followed, listed, replaced nor counted.
  for (const std::string name : {"evil", "UFS:evil", "/data/ufs/evil", "/datatx/fota_cacert.pem"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(port.command("AT+QFDWL=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFUPL=\"" + name + "\",1\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFDEL=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
  }
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"/datatx/*\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 8388608,8388608\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFDEL=\"*\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(slurp(secret), "top secret");
  EXPECT_TRUE(stdfs::is_symlink(ufs() / "evil"));
  EXPECT_TRUE(stdfs::is_symlink(datatx() / "fota_cacert.pem"));
  // Nothing was created outside.
  EXPECT_FALSE(stdfs::exists(state() / "x"));
  EXPECT_FALSE(stdfs::exists(state() / "fs" / "x"));
  EXPECT_FALSE(stdfs::exists(dir.path() / "x"));
}

TEST_F(FileCommandsTest, AFolderReplacedByASymlinkIsNotEntered) {
  const auto outside = dir.path() / "outside";
  stdfs::create_directories(outside);
  spit(outside / "victim", "keep me");
  stdfs::create_directories(state() / "fs");
  stdfs::create_directory_symlink(outside, ufs());
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFDWL=\"victim\"\r"), "\r\n+CME ERROR: 410\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\n+CME ERROR: 417\r\n");
  EXPECT_EQ(port.command("AT+QFDEL=\"victim\"\r"), "\r\n+CME ERROR: 418\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+CME ERROR: 419\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"new\",1\r"), "\r\n+CME ERROR: 409\r\n");
  EXPECT_EQ(slurp(outside / "victim"), "keep me");
  EXPECT_EQ(std::distance(stdfs::directory_iterator(outside), stdfs::directory_iterator()), 1);
}

TEST_F(FileCommandsTest, FilesSurviveARestart) {
  const std::string data = payload(4321, 9);
  {
    auto& port = start();
    upload(port, "\"keep.bin\",4321", data);
    upload(port, "\"/datatx/fota_client_key.pem\",3", "KEY");
  }
  sim->close_port();
  const int status = sim->stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\n+QFLST: \"keep.bin\",4321\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST=\"/datatx/*\"\r"),
            "\r\n+QFLST: \"/datatx/fota_client_key.pem\",3\r\n\r\nOK\r\n");
  port.write("AT+QFDWL=\"/data/ufs/keep.bin\"\r");
  EXPECT_EQ(port.read_until("OK\r\n"),
            "\r\nCONNECT\r\n" + data + "\r\n+QFDWL: 4321," + checksum_hex(data) + "\r\n\r\nOK\r\n");
}

TEST_F(FileCommandsTest, PowerLossDuringUploadKeepsNothing) {
  {
    auto& port = start();
    EXPECT_EQ(port.command("AT+QFUPL=\"cut.bin\",100\r"), "\r\nCONNECT\r\n");
    port.write("partial");
    // The upload's hidden temporary file is there from CONNECT on.
    ASSERT_EQ(std::distance(stdfs::directory_iterator(ufs()), stdfs::directory_iterator()), 1);
  }
  sim->stop(SIGKILL);  // a power cut as far as the state folder is concerned
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLDS=\"UFS\"\r"), "\r\n+QFLDS: 8388608,8388608\r\n\r\nOK\r\n");
  // The temporary file of the cut upload is gone too.
  EXPECT_EQ(std::distance(stdfs::directory_iterator(ufs()), stdfs::directory_iterator()), 0);
}

}  // namespace
}  // namespace bg95::test
