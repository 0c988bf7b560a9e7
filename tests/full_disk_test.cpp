// A state folder that cannot be written (issue 18): a full disk made with a small tmpfs
// mounted by the test (root; where mount is refused the tests are skipped and say why).
// Every command that writes state answers its error, a download ends with 707, SIGTERM exits
// with a message, a state that does not fit is not made at all, and in a fleet the other
// modules go on. Nothing is corrupted: the module starts again on the same state.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

// A tmpfs of `bytes` at `dir` for the object's life.
class Tmpfs {
 public:
  Tmpfs(stdfs::path dir, std::size_t bytes) : dir_(std::move(dir)) {
    stdfs::create_directories(dir_);
    const std::string options = fmt::format("size={},mode=0700", bytes);
    mounted_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  Tmpfs(const Tmpfs&) = delete;
  Tmpfs& operator=(const Tmpfs&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // A file that takes every block left, down to the last byte.
  void fill() {
    const int fd = ::open(filler().c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    const std::string chunk(1 << 16, 'f');
    for (std::size_t n = chunk.size(); n > 0; n /= 2)
      while (::write(fd, chunk.data(), n) == static_cast<ssize_t>(n)) {
      }
    ::close(fd);
  }
  void unfill() { stdfs::remove(filler()); }

 private:
  stdfs::path filler() const { return dir_ / "filler"; }
  stdfs::path dir_;
  bool mounted_ = false;
  std::string error_;
};

#define MOUNT_OR_SKIP(fs)                                                    \
  if (!(fs).mounted())                                                       \
  GTEST_SKIP() << "cannot mount a tmpfs for the full disk (" << (fs).error() \
               << "); these cases need root"

constexpr std::size_t kEightMebibytes = 8u << 20;
constexpr const char* kMemoryFailure = "\r\n+CME ERROR: 23\r\n";

int exit_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(FullDisk, EveryStateWriteIsAnErrorAndTheModuleStaysUp) {
  TempDir dir;
  Tmpfs disk(dir.path() / "disk", kEightMebibytes);
  MOUNT_OR_SKIP(disk);
  auto server = std::make_unique<httplib::Server>();
  const std::string body = random_bytes(256 * 1024, 3);
  server->Get("/update.bin", [&body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/octet-stream");
  });
  RunningServer http(std::move(server));
  const stdfs::path state = dir.path() / "disk" / "state";
  {
    SimProcess sim(SimProcess::Options{state, {}});
    HostPort& port = sim.open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    disk.fill();
    EXPECT_EQ(port.command("AT&W\r"), kMemoryFailure);
    EXPECT_EQ(port.command("AT+IPR=9600\r"), kMemoryFailure);
    EXPECT_EQ(port.command("AT+IPR?\r"), "\r\n+IPR: 115200\r\n\r\nOK\r\n");
    EXPECT_EQ(port.command("AT+QCFGEXT=\"fota_apn\",0,\"apn\"\r"), kMemoryFailure);
    EXPECT_EQ(port.command("AT+QLWCFG=\"version\",1\r"), kMemoryFailure);
    EXPECT_EQ(
        port.command(fmt::format("AT+QFOTADL=\"http://127.0.0.1:{}/update.bin\"\r", http.port())),
        "\r\nOK\r\n");
    std::string urcs = port.read_until("\"HTTPEND\",", 30s);
    urcs += port.read_until("\r\n");
    EXPECT_TRUE(urcs.ends_with("\r\n+QIND: \"FOTA\",\"HTTPEND\",707\r\n")) << urcs;
    EXPECT_EQ(port.command("AT\r"), "\r\nOK\r\n");
    EXPECT_NE(sim.stderr_text().find("flash write failed: " + (state / "flash.bin").string() +
                                     ": write failed: No space left on device"),
              std::string::npos)
        << sim.stderr_text();
    EXPECT_EQ(exit_code(sim.stop(SIGTERM)), 1);
    EXPECT_NE(sim.stderr_text().find(
                  "bg95sim: settings not saved at exit: " + (state / "settings.json.tmp").string() +
                  ": No space left on device"),
              std::string::npos)
        << sim.stderr_text();
  }
  // Nothing was corrupted: with space again the module starts on the same state, as it was.
  disk.unfill();
  SimProcess again(SimProcess::Options{state, {}});
  HostPort& port = again.open_port();
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+IPR?\r"), "AT+IPR?\r\r\n+IPR: 115200\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"), "AT+QFOTADL=4\r\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
}

TEST(FullDisk, UploadsAndTheUpdateEndWithTheirWriteErrors) {
  TempDir dir;
  Tmpfs disk(dir.path() / "disk", kEightMebibytes);
  MOUNT_OR_SKIP(disk);
  const stdfs::path state = dir.path() / "disk" / "state";
  const std::string package = as_string(make_package(default_image(), next_image(default_image())));
  SimProcess sim(SimProcess::Options{state, {}});
  HostPort& port = sim.open_port();
  EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  // A package in the area while there is space; then the disk is full.
  EXPECT_EQ(port.command(fmt::format("AT+QFOTADL=\"COM:\",{},30\r", package.size())),
            "\r\nCONNECT\r\n");
  port.write(package);
  port.read_until("\r\nOK\r\n", 30s);
  disk.fill();
  // A file upload: the file system's write error.
  EXPECT_EQ(port.command("AT+QFUPL=\"a.bin\",100,5\r"), "\r\nCONNECT\r\n");
  port.write(std::string(100, 'a'));
  EXPECT_EQ(port.read_until("\r\n+CME ERROR: 409\r\n", 10s), "\r\n+CME ERROR: 409\r\n");
  // The update cannot stage the new image: END,504, and the module boots the old one.
  EXPECT_EQ(port.command("AT+QFOTADL=1\r"), "\r\nOK\r\n");
  const std::string urcs = port.read_until("+QIND: SMS DONE\r\n", 60s);
  EXPECT_NE(urcs.find("\r\n+QIND: \"FOTA\",\"END\",504\r\n"), std::string::npos) << urcs;
  wait_until_ready(port);
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A03\r\n\r\nOK\r\n");
  // A COM upload cannot begin in the package area: 707.
  EXPECT_EQ(port.command("AT+QFOTADL=\"COM:\",1000,5\r"),
            "AT+QFOTADL=\"COM:\",1000,5\r\r\n+CME ERROR: 707\r\n");
  EXPECT_EQ(port.command("AT\r"), "AT\r\r\nOK\r\n");
  EXPECT_NE(sim.stderr_text().find("flash write failed: " + (state / "flash.bin").string() +
                                   ": write failed: No space left on device"),
            std::string::npos);
}

TEST(FullDisk, AStateThatDoesNotFitSaysNoSpaceAndLeavesNothing) {
  TempDir dir;
  Tmpfs disk(dir.path() / "disk", 2u << 20);  // the default image is 4 MiB
  MOUNT_OR_SKIP(disk);
  const stdfs::path state = dir.path() / "disk" / "state";
  try {
    SimProcess sim(SimProcess::Options{state, {}});
    ADD_FAILURE() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  (state / "flash.bin").string() + ": cannot write the default image: " +
                  (state / "flash.bin").string() + ": write failed: No space left on device"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(stdfs::exists(state / "flash.bin"));
  EXPECT_FALSE(stdfs::exists(state / "settings.json"));
  EXPECT_FALSE(stdfs::exists(stdfs::symlink_status(dir.path() / "disk" / "state.port")));
}

TEST(FullDisk, AFullModuleFolderKeepsTheOtherModulesOfAFleetWorking) {
  TempDir dir;
  const stdfs::path state = dir.path() / "state";
  Tmpfs second(state / "0002", kEightMebibytes);
  MOUNT_OR_SKIP(second);
  auto ports_of = [](SimProcess& sim) {
    std::vector<std::unique_ptr<HostPort>> ports;
    for (int n = 1; n <= 3; ++n) {
      ports.push_back(std::make_unique<HostPort>(sim.link().string() + "-" + std::to_string(n)));
      wait_until_ready(*ports.back());
    }
    return ports;
  };
  {
    SimProcess sim(SimProcess::Options{state, {"--count", "3"}});
    auto ports = ports_of(sim);
    second.fill();
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(ports[i]->command("ATE0\r"), "ATE0\r\r\nOK\r\n");
      EXPECT_EQ(ports[i]->command("AT&W\r"), i == 1 ? kMemoryFailure : "\r\nOK\r\n") << i;
      EXPECT_EQ(ports[i]->command("AT\r"), "\r\nOK\r\n");
    }
    EXPECT_EQ(exit_code(sim.stop(SIGTERM)), 1);
    EXPECT_NE(sim.stderr_text().find("bg95sim[2]: settings not saved at exit: "), std::string::npos)
        << sim.stderr_text();
  }
  // Modules 1 and 3 saved ATE0; module 2 kept what it had, whole.
  second.unfill();
  SimProcess again(SimProcess::Options{state, {"--count", "3"}});
  auto ports = ports_of(again);
  EXPECT_EQ(ports[0]->command("AT\r"), "\r\nOK\r\n");
  EXPECT_EQ(ports[1]->command("AT\r"), "AT\r\r\nOK\r\n");
  EXPECT_EQ(ports[2]->command("AT\r"), "\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
