// What the emulator exposes to another local user and to a hostile host or server
// (docs/reliability.md, "Security"): the control socket's folder, file names and package paths
// that try to leave the module's file system, the limits of the note, and peer verification
// of HTTPS and CoAPS, which the log reports. Complements control_test (socket modes, symlinks
// at the socket path, SO_PEERCRED) and file_commands_test (../, other storages, planted
// symlinks, a folder replaced by a symlink).

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "sim/control/control_server.hpp"
#include "tests/support/coap_test_server.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"
#include "tests/support/test_pki.hpp"

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

constexpr uid_t kNobody = 65534;

std::string read_text(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// ---------------------------------------------------------------------------------------
// The control socket

// Runs `body` in a child process as user nobody; its exit code (or -1).
int as_nobody(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The ControlServer's refusal for `socket`, or "" when it accepted.
std::string refusal(const stdfs::path& socket) {
  boost::asio::io_context io;
  try {
    control::ControlServer server(io.get_executor(), socket);
    return "";
  } catch (const control::ControlError& e) {
    return e.what();
  }
}

TEST(ControlSocketSecurity, AFolderOfAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a folder to another user";
  TempDir dir;
  const stdfs::path theirs = dir.path() / "theirs";
  ASSERT_EQ(::mkdir(theirs.c_str(), 0700), 0);
  ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNobody), 0);
  const std::string why = refusal(theirs / "ctl.sock");
  EXPECT_NE(why.find(fmt::format("belongs to uid {}, not to you (uid 0)", kNobody)),
            std::string::npos)
      << why;
  EXPECT_FALSE(stdfs::exists(theirs / "ctl.sock"));
  // Reached through a symbolic link of ours: the real folder is what counts.
  const stdfs::path link = dir.path() / "mine";
  stdfs::create_directory_symlink(theirs, link);
  EXPECT_NE(refusal(link / "ctl.sock").find("belongs to uid"), std::string::npos);
  EXPECT_FALSE(stdfs::exists(theirs / "ctl.sock"));
}

TEST(ControlSocketSecurity, ASymlinkToAWorldWritableFolderIsRefused) {
  TempDir dir;
  const stdfs::path shared = dir.path() / "shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);  // like /tmp
  const stdfs::path link = dir.path() / "looks-private";
  stdfs::create_directory_symlink(shared, link);
  const std::string why = refusal(link / "ctl.sock");
  EXPECT_NE(why.find("is writable by group or others"), std::string::npos) << why;
  EXPECT_TRUE(stdfs::is_empty(shared));
}

TEST(ControlSocketSecurity, AnotherUserCannotReachTheSocket) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);  // others may reach the folder above
  const stdfs::path socket = dir.path() / "run" / "ctl.sock";
  boost::asio::io_context io;
  control::ControlServer server(io.get_executor(), socket);
  struct stat st {};
  ASSERT_EQ(::stat(socket.parent_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);  // made for the socket: only we can enter it
  ASSERT_EQ(::lstat(socket.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // Nobody gets no further than the folder: connect() fails with EACCES.
  const int result = as_nobody([&] {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket.c_str(), socket.native().size() + 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return 1;
    return errno == EACCES ? 0 : 2;
  });
  EXPECT_EQ(result, 0);
}

// ---------------------------------------------------------------------------------------
// File names and package paths

class FileSystemSecurityTest : public ::testing::Test {
 protected:
  HostPort& start() {
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{state(), {}});
    HostPort& port = sim_->open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    return port;
  }
  stdfs::path state() const { return dir_.path() / "state"; }
  stdfs::path ufs() const { return state() / "fs" / "ufs"; }
  std::string upload(HostPort& port, const std::string& name, const std::string& data) {
    EXPECT_EQ(port.command(fmt::format("AT+QFUPL=\"{}\",{}\r", name, data.size())),
              "\r\nCONNECT\r\n");
    port.write(data);
    return port.read_until("OK\r\n");
  }
  void expect_old_firmware_and_no_package(HostPort& port) {
    EXPECT_EQ(port.command("AT+QGMR\r"), "\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n");
    EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
  }
  TempDir dir_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(FileSystemSecurityTest, NulBytesNeverReachTheHostFileSystem) {
  // V.250: a control character in a command line is ignored, NUL included; the name the
  // file system sees has no NUL in it (and so cannot be cut short at one).
  stdfs::create_directories(ufs());
  stdfs::create_symlink(dir_.path() / "secret", ufs() / "evil");
  auto& port = start();
  // "xyz": 0x7879 ^ 0x7a00 = 0x279.
  EXPECT_EQ(upload(port, std::string("a\0b.txt", 7), "xyz"), "\r\n+QFUPL: 3,279\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\n+QFLST: \"ab.txt\",3\r\n\r\nOK\r\n");
  EXPECT_EQ(read_text(ufs() / "ab.txt"), "xyz");
  const std::string evil("ev\0il", 5);  // the planted symlink once the NUL is gone
  EXPECT_EQ(port.command("AT+QFDWL=\"" + evil + "\"\r"), "\r\n+CME ERROR: 406\r\n");
  EXPECT_EQ(port.command("AT+QFUPL=\"" + evil + "\",1\r"), "\r\n+CME ERROR: 406\r\n");
  EXPECT_EQ(port.command("AT+QFDEL=\"" + evil + "\"\r"), "\r\n+CME ERROR: 406\r\n");
  EXPECT_TRUE(stdfs::is_symlink(ufs() / "evil"));
}

TEST_F(FileSystemSecurityTest, DotNamesAndHostPathsAreInvalid) {
  auto& port = start();
  const std::string host_path = (ufs() / "x").string();  // the real place, spelled out
  for (const std::string& name : std::vector<std::string>{
           ".", "UFS:.", "UFS:..", "/data/ufs/.", "/data/ufs/..", "/datatx/.", "/datatx/..",
           "/data/ufs", "/datatx", host_path, "/data/ufs//x", "/data/ufs/./x", "UFS:/x"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(port.command("AT+QFUPL=\"" + name + "\",1\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFDWL=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFDEL=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
    EXPECT_EQ(port.command("AT+QFLST=\"" + name + "\"\r"), "\r\n+CME ERROR: 406\r\n");
  }
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
}

TEST_F(FileSystemSecurityTest, NamesUpToEightyBytes) {
  auto& port = start();
  const std::string longest(80, 'n');
  const std::string too_long(81, 'n');
  EXPECT_EQ(upload(port, longest, "ab"), "\r\n+QFUPL: 2,6162\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\n+QFLST: \"" + longest + "\",2\r\n\r\nOK\r\n");
  // The limit is on the name as typed: the prefix counts.
  EXPECT_EQ(port.command("AT+QFDWL=\"UFS:" + longest + "\"\r"), "\r\n+CME ERROR: 406\r\n");
  for (const std::string& cmd :
       {"AT+QFUPL=\"" + too_long + "\",1\r", "AT+QFDWL=\"" + too_long + "\"\r",
        "AT+QFDEL=\"" + too_long + "\"\r", "AT+QFLST=\"" + too_long + "\"\r",
        "AT+QFOTADL=\"/data/ufs/" + std::string(72, 'n') + "\"\r"}) {
    SCOPED_TRACE(cmd);
    const bool fota = cmd.starts_with("AT+QFOTADL");
    EXPECT_EQ(port.command(cmd), fota ? "\r\n+CME ERROR: 590\r\n" : "\r\n+CME ERROR: 406\r\n");
  }
  EXPECT_EQ(port.command("AT+QFDEL=\"" + longest + "\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFLST\r"), "\r\nOK\r\n");
}

TEST_F(FileSystemSecurityTest, LocalPackagePathsCannotLeaveTheFileSystem) {
  // A real package for this module's firmware, outside the module's file system, and ways
  // to point AT+QFOTADL at it.
  const Bytes source = default_image();
  const Bytes package = make_package(source, next_image(source));
  const stdfs::path outside = dir_.path() / "outside.bin";
  std::ofstream(outside, std::ios::binary)
      .write(reinterpret_cast<const char*>(package.data()),
             static_cast<std::streamsize>(package.size()));
  stdfs::create_directories(ufs());
  stdfs::create_symlink(outside, ufs() / "link.bin");
  stdfs::create_directories(state() / "fs" / "datatx");
  stdfs::create_symlink(outside, state() / "fs" / "datatx" / "link.bin");
  auto& port = start();
  const std::string up = "../../../" + outside.filename().string();
  for (const std::string& path : std::vector<std::string>{
           outside.string(), "/data/ufs/" + up, "UFS:" + up, "/datatx/" + up, up,
           "/data/ufs/link.bin", "link.bin", "/datatx/link.bin", "/etc/passwd", "/data/ufs/",
           "/data/ufs/..", "/proc/self/environ", "file:///etc/passwd"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(port.command("AT+QFOTADL=\"" + path + "\"\r"), "\r\n+CME ERROR: 590\r\n");
  }
  EXPECT_EQ(port.read_for(200ms), "");  // no update started
  expect_old_firmware_and_no_package(port);
  EXPECT_TRUE(stdfs::is_symlink(ufs() / "link.bin"));
}

TEST_F(FileSystemSecurityTest, LocalPackageOverSixMebibytesIs590) {
  stdfs::create_directories(ufs());
  std::ofstream(ufs() / "big.bin", std::ios::binary) << std::string(6 * 1024 * 1024 + 1, 'B');
  std::ofstream(ufs() / "six.bin", std::ios::binary) << std::string(6 * 1024 * 1024, 'S');
  auto& port = start();
  EXPECT_EQ(port.command("AT+QFOTADL=\"/data/ufs/big.bin\"\r"), "\r\n+CME ERROR: 590\r\n");
  expect_old_firmware_and_no_package(port);
  // Exactly 6 MiB is taken; as it is not a package, the update refuses it.
  EXPECT_EQ(port.command("AT+QFOTADL=\"/data/ufs/six.bin\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+QIND: SMS DONE\r\n", 30s),
            std::string("\r\n+QIND: \"FOTA\",\"START\"\r\n\r\n+QIND: \"FOTA\",\"END\",506\r\n") +
                kBootBanner);
  EXPECT_EQ(port.command("AT+QGMR\r"), "AT+QGMR\r\r\nBG95M3LAR02A03_01.011.01.011\r\n\r\nOK\r\n");
}

TEST_F(FileSystemSecurityTest, UrlOfSevenHundredBytesAndNotOneMore) {
  auto http = serve_files({});
  auto& port = start();
  const std::string base = fmt::format("http://127.0.0.1:{}/", http->port());
  const std::string longest = base + std::string(700 - base.size(), 'u');
  ASSERT_EQ(longest.size(), 700u);
  EXPECT_EQ(port.command("AT+QFOTADL=\"" + longest + "\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("\"HTTPEND\",706\r\n"),
            "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n\r\n+QIND: \"FOTA\",\"HTTPEND\",706\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=\"" + longest + "u\"\r"), "\r\n+CME ERROR: 590\r\n");
  expect_old_firmware_and_no_package(port);
}

// ---------------------------------------------------------------------------------------
// Peer verification of HTTPS and CoAPS

class PeerVerificationTest : public FileSystemSecurityTest {
 protected:
  void SetUp() override { pki_ = TestPki::make(dir_.path() / "pki"); }
  // Downloads `url` (junk: the download ends 710 once connected) and returns HTTPEND/COAPEND's
  // code and what the module logged about the peer.
  std::pair<std::string, std::string> fetch(HostPort& port, const std::string& url,
                                            const char* end) {
    EXPECT_EQ(port.command("AT+QFOTADL=\"" + url + "\"\r"), "\r\nOK\r\n");
    port.read_until(fmt::format("\"{}\",", end), 60s);
    const std::string code = port.read_until("\r\n");
    const std::string log = sim_->stderr_text();
    const auto at = log.rfind(" download: ");
    std::string peer = at == std::string::npos ? "" : log.substr(at + 11);
    peer = peer.substr(0, peer.find('\n'));
    return {code.substr(0, code.size() - 2), peer};
  }
  void install_ca(HostPort& port, const TestPki::Pair& ca) {
    upload(port, "/datatx/fota_cacert.pem", read_text(ca.cert_file));
  }
  // Without a CA the server is not verified, and the log says so; with the wrong CA the
  // handshake fails (702); with the right one the download goes through (to 710, as the
  // server serves junk). `end` is HTTPEND or COAPEND, `name` HTTPS or CoAPS.
  void expect_verification_follows_the_ca(const std::string& url, const char* end,
                                          const char* name) {
    auto& port = start();
    const std::string unverified =
        "no /datatx/fota_cacert.pem, the server's certificate is NOT verified";
    const std::string verified =
        "the server's certificate is verified against /datatx/fota_cacert.pem";
    EXPECT_EQ(fetch(port, url, end), std::make_pair(std::string("710"), unverified));
    install_ca(port, pki_.other_ca);
    EXPECT_EQ(fetch(port, url, end), std::make_pair(std::string("702"), verified));
    EXPECT_EQ(port.command("AT+QFDEL=\"/datatx/fota_cacert.pem\"\r"), "\r\nOK\r\n");
    install_ca(port, pki_.ca);
    EXPECT_EQ(fetch(port, url, end), std::make_pair(std::string("710"), verified));
    EXPECT_NE(sim_->stderr_text().find(std::string(name) + " download: " + unverified),
              std::string::npos);
  }
  TestPki pki_;
};

TEST_F(PeerVerificationTest, HttpsVerifiesWheneverACaIsInstalledAndSaysSoWhenNot) {
  auto server = std::make_unique<httplib::SSLServer>(pki_.server.cert_file.c_str(),
                                                     pki_.server.key_file.c_str());
  server->Get("/junk.bin", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(5000, 'j'), "application/octet-stream");
  });
  RunningServer https(std::move(server));
  expect_verification_follows_the_ca(fmt::format("https://127.0.0.1:{}/junk.bin", https.port()),
                                     "HTTPEND", "HTTPS");
}

TEST_F(PeerVerificationTest, ACaFileThatDoesNotLoadIsNeverCalledVerified) {
  // -v logged "verified against /datatx/fota_cacert.pem" before the file failed to load
  // (issue 18): the log now says it cannot be, and the download ends with 702.
  auto server = std::make_unique<httplib::SSLServer>(pki_.server.cert_file.c_str(),
                                                     pki_.server.key_file.c_str());
  RunningServer https(std::move(server));
  auto& port = start();
  upload(port, "/datatx/fota_cacert.pem", "-----BEGIN CERTIFICATE-----\nnot base64\n");
  EXPECT_EQ(fetch(port, fmt::format("https://127.0.0.1:{}/junk.bin", https.port()), "HTTPEND"),
            std::make_pair(std::string("702"),
                           std::string("/datatx/fota_cacert.pem holds no certificate that can be "
                                       "loaded, so the server cannot be verified (the download "
                                       "ends with 702)")));
  EXPECT_EQ(sim_->stderr_text().find("verified against"), std::string::npos);
}

TEST_F(PeerVerificationTest, CoapsVerifiesWheneverACaIsInstalledAndSaysSoWhenNot) {
  CoapServer server(dir_.path(),
                    {"-c", pki_.server.cert_file.string(), "-j", pki_.server.key_file.string()});
  server.put("/junk.bin", Bytes(3000, 0x4A));
  expect_verification_follows_the_ca(server.secure_url("/junk.bin"), "COAPEND", "CoAPS");
}

}  // namespace
}  // namespace bg95::test
