// HTTP through PPP: lwIP's PPPoS client (tests/ppp_peer/) dials over bg95sim's pty in the fast
// profile and fetches a 4 MiB file over HTTP/1.0 from a server on 127.0.0.1 through the gateway
// address (libslirp); then the same client on a virtual port of gsm0710muxd, the 27.010 host
// multiplexer, on a second bg95sim (PPP over CMUX, basic option, frames of 127 bytes); the
// baseline is the same request to the same server by a kernel socket, in the same run. Each figure
// is the time from the request sent to the connection closed by the server (the peer prints it; PPP
// negotiation not included). Runs alternate; medians reported.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "bench/bench_common.hpp"
#include "tests/support/gsm0710muxd.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

constexpr std::size_t kSize = 4 * 1024 * 1024;
// Over CMUX the first 1 MiB of the file: the peer gives up after 60 s, and 4 MiB through 127-byte
// frames on a loaded machine comes near that.
constexpr std::size_t kCmuxSize = 1024 * 1024;
// The module's DLCs are 1-4 (docs/cmux-ppp.md): DLC 1 for commands, one fresh DLC per run (the
// daemon does not give a virtual port back to a second client once the first closed it).
constexpr int kCmuxRuns = 2;

std::string request() {
  return "GET /file.bin HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
}

// The baseline: one HTTP/1.0 GET on a kernel TCP socket; seconds from the request to EOF.
double direct_fetch(int port, std::size_t expected) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("connect failed");
  const auto start = Clock::now();
  const std::string r = request();
  if (::write(fd, r.data(), r.size()) != static_cast<ssize_t>(r.size()))
    throw std::runtime_error("write failed");
  std::size_t total = 0;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    total += static_cast<std::size_t>(n);
  const double s = seconds_since(start);
  ::close(fd);
  if (total < expected) throw std::runtime_error("short direct fetch");
  return s;
}

// lwIP over PPP: the seconds the peer printed ("FETCHED <bytes> <seconds>").
double ppp_fetch(const std::string& pty, int port, const std::filesystem::path& dir,
                 const std::string& body, const std::string& path = "/file.bin") {
  const auto out = dir / "peer.out", file = dir / "peer.bin";
  try {
    run_timed({BG95_PPP_PEER, pty, "10.65.255.254", std::to_string(port), path, file.string()},
              out.string());
  } catch (const std::exception& e) {
    std::ifstream in(out);
    throw std::runtime_error(e.what() + std::string(": ") +
                             std::string{std::istreambuf_iterator<char>(in), {}});
  }
  std::ifstream in(out);
  const std::string printed{std::istreambuf_iterator<char>(in), {}};
  const auto at = printed.find("FETCHED ");
  std::size_t bytes = 0;
  double seconds = 0;
  if (at == std::string::npos ||
      std::sscanf(printed.c_str() + at, "FETCHED %zu %lf", &bytes, &seconds) != 2)
    throw std::runtime_error("no FETCHED line: " + printed);
  std::ifstream got_in(file, std::ios::binary);
  const std::string got{std::istreambuf_iterator<char>(got_in), {}};
  if (got != body) throw std::runtime_error("the file fetched through PPP differs");
  return seconds;
}

// A second module under gsm0710muxd; on DLC 1 the radio is turned on (the daemon's start-up
// sent AT+CFUN=0) and registration awaited, as a host would before it dials.
std::unique_ptr<test::HostPort> cmux_control_port(test::Gsm0710muxd& muxd) {
  auto control = std::make_unique<test::HostPort>(muxd.virtual_port("at"));
  control->command("AT+CEREG=1\r");
  control->command("AT+CFUN=1\r");
  control->read_until("+CEREG: 1\r\n", std::chrono::seconds(30));
  return control;
}

}  // namespace
}  // namespace bg95::bench

int main() {
  using namespace bg95::bench;
  try {
    const Bytes random = random_bytes(kSize, 21);
    const std::string body(random.begin(), random.end());
    auto server = std::make_unique<httplib::Server>();
    server->Get("/file.bin", [&body](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/octet-stream");
    });
    const std::string part = body.substr(0, kCmuxSize);
    server->Get("/part.bin", [&part](const httplib::Request&, httplib::Response& res) {
      res.set_content(part, "application/octet-stream");
    });
    bg95::test::RunningServer running(std::move(server));
    bg95::test::TempDir dir;
    bg95::test::SimProcess sim({.state_dir = dir.path() / "state", .extra_args = {}});
    sim.open_port();
    sim.close_port();  // the peer opens the port itself
    if (const auto tool = bg95::test::missing_muxd_tool())
      throw std::runtime_error(*tool + " is not installed");
    bg95::test::SimProcess muxed({.state_dir = dir.path() / "muxed", .extra_args = {}});
    muxed.open_port();
    muxed.close_port();  // gsm0710muxd opens it
    bg95::test::Gsm0710muxd muxd(dir.path(), muxed.pty_path(), false);
    const auto control = cmux_control_port(muxd);
    std::vector<double> ppp, cmux, direct;
    for (int i = 0; i < repeats(); ++i) {
      ppp.push_back(ppp_fetch(sim.pty_path(), running.port(), dir.path(), body));
      if (i < kCmuxRuns)
        cmux.push_back(ppp_fetch(muxd.virtual_port("ppp" + std::to_string(i)), running.port(),
                                 dir.path(), part, "/part.bin"));
      direct.push_back(direct_fetch(running.port(), kSize));
      say("ppp run " + std::to_string(i + 1) + ": plain port " + fixed(ppp.back()) + " s (4 MiB)" +
          (i < kCmuxRuns ? ", over CMUX " + fixed(cmux.back()) + " s (1 MiB)" : std::string()) +
          ", direct " + fixed(direct.back(), 4) + " s (4 MiB)");
    }
    const double mb = static_cast<double>(kSize) / kMB;
    const double cmux_mb = static_cast<double>(kCmuxSize) / kMB;
    emit({.group = "ppp",
          .figure = "HTTP through PPP on the plain port (lwIP PPPoS; fast profile; 4 MiB)",
          .value = mb / median(ppp),
          .unit = "MB/s",
          .baseline = "the same GET on a kernel socket to 127.0.0.1",
          .baseline_value = mb / median(direct),
          .target = "",
          .runs = static_cast<int>(ppp.size()),
          .note = "request to close; PPP set-up not counted"});
    emit({.group = "ppp",
          .figure = "HTTP through PPP over CMUX (lwIP on a gsm0710muxd DLC; fast profile; 1 MiB)",
          .value = cmux_mb / median(cmux),
          .unit = "MB/s",
          .baseline = "the same GET on a kernel socket to 127.0.0.1",
          .baseline_value = mb / median(direct),
          .target = "",
          .runs = static_cast<int>(cmux.size()),
          .note = "basic option, N1 127; request to close; PPP set-up not counted"});
  } catch (const std::exception& e) {
    say(std::string("bench_ppp_throughput: ") + e.what());
    return 1;
  }
  return 0;
}
