// A PPP host the project did not write: lwIP's PPPoS client (tests/ppp_peer/) dials over the
// real bg95sim's pseudo-terminal, gets the context's address and DNS servers, and fetches a
// file over HTTP from a server on 127.0.0.1 through the gateway address, byte for byte; then it
// ends the link with LCP Terminate and the module answers NO CARRIER.

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"

extern char** environ;

namespace bg95::test {
namespace {

// Runs a program and returns its exit status and standard output; fails after `timeout`.
std::pair<int, std::string> run(const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) throw std::runtime_error("spawn");
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(pipe_fds[0]);
      throw std::runtime_error("timed out; printed: " + out);
    }
    char buf[4096];
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string body_of(std::size_t size) {
  std::string body(size, '\0');
  std::uint32_t x = 0x12345678;
  for (auto& c : body) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);  // every byte value, control characters and 0x7E included
  }
  return body;
}

class PppLwipTest : public ::testing::Test {
 protected:
  PppLwipTest() : sim_({.state_dir = dir_.path() / "state", .extra_args = {}}) {
    auto server = std::make_unique<httplib::Server>();
    server->Get("/file.bin", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(body_, "application/octet-stream");
    });
    server_ = std::make_unique<RunningServer>(std::move(server));
    sim_.open_port();
  }

  // The server by address (the gateway) or by a name the peer resolves through PPP.
  std::pair<int, std::string> dial(const std::vector<std::string>& extra = {},
                                   const std::string& server = "10.65.255.254") {
    sim_.close_port();  // the peer opens the port itself
    std::vector<std::string> args{BG95_PPP_PEER, sim_.pty_path(),
                                  server,        std::to_string(server_->port()),
                                  "/file.bin",   (dir_.path() / "out.bin").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args, std::chrono::seconds(60));
  }

  // Context 1 asks for user/secret with PAP (1) or CHAP (2).
  void set_credentials(int auth) {
    const std::string line =
        "AT+QICSGP=1,1,\"iot\",\"user\",\"secret\"," + std::to_string(auth) + "\r";
    EXPECT_EQ(sim_.port().command(line), line + "\r\nOK\r\n");
  }

  std::string fetched() const {
    std::ifstream in(dir_.path() / "out.bin", std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  void expect_fetched_whole() const {
    const std::string got = fetched();
    const auto diff = std::mismatch(got.begin(), got.end(), body_.begin(), body_.end());
    EXPECT_TRUE(got == body_) << got.size() << " bytes, first difference at "
                              << (diff.first - got.begin());
  }

  TempDir dir_;
  SimProcess sim_;
  std::string body_ = body_of(256 * 1024);
  std::unique_ptr<RunningServer> server_;
};

TEST_F(PppLwipTest, DialsGetsTheContextAddressAndFetchesAFileThroughTheGateway) {
  const auto [status, out] = dial();
  EXPECT_EQ(status, 0) << out << sim_.stderr_text();
  // Module 0, context 1: 10.65.0.2; the module's end is the gateway; DNS as AT+QIDNSCFG says.
  EXPECT_NE(out.find("ADDRESS 10.65.0.2\nGATEWAY 10.65.255.254\nDNS 10.64.0.1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("FETCHED 262144 "), std::string::npos) << out;
  EXPECT_NE(out.find("ENDED\n"), std::string::npos) << out;
  expect_fetched_whole();
}

// "localhost" through the DNS server IPCP handed out: the module's local resolver answers, with
// 127.0.0.1 given as the gateway address that reaches it.
TEST_F(PppLwipTest, ResolvesANameThroughTheContextsDnsServer) {
  const auto [status, out] = dial({}, "localhost");
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("RESOLVED localhost 10.65.255.254\n"), std::string::npos) << out;
  expect_fetched_whole();
}

TEST_F(PppLwipTest, ChapWithTheContextsCredentials) {
  set_credentials(2);  // CHAP
  const auto [status, out] = dial({"ATD*99***1#", "user", "secret"});
  EXPECT_EQ(status, 0) << out;
  expect_fetched_whole();
}

TEST_F(PppLwipTest, WrongPapPasswordEndsTheLink) {
  set_credentials(1);  // PAP
  const auto [status, out] = dial({"AT+CGDATA=\"PPP\",1", "user", "wrong"});
  EXPECT_EQ(status, 1) << out;
  EXPECT_EQ(out.find("ADDRESS"), std::string::npos) << out;
}

}  // namespace
}  // namespace bg95::test
