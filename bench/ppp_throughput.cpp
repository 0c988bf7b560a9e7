// HTTP through PPP: lwIP's PPPoS client (tests/ppp_peer/) dials over bg95sim's pty in the fast
// profile and fetches a 4 MiB file over HTTP/1.0 from a server on 127.0.0.1 through the gateway
// address (libslirp); the baseline is the same request to the same server by a kernel socket,
// in the same run. Each figure is the time from the request sent to the connection closed by the
// server (the peer prints it; PPP negotiation not included). Runs alternate; medians reported.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

#include "bench/bench_common.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

constexpr std::size_t kSize = 4 * 1024 * 1024;

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
double ppp_fetch(const test::SimProcess& sim, int port, const std::filesystem::path& dir,
                 const std::string& body) {
  const auto out = dir / "peer.out", file = dir / "peer.bin";
  run_timed({BG95_PPP_PEER, sim.pty_path(), "10.65.255.254", std::to_string(port), "/file.bin",
             file.string()},
            out.string());
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
    bg95::test::RunningServer running(std::move(server));
    bg95::test::TempDir dir;
    bg95::test::SimProcess sim({.state_dir = dir.path() / "state", .extra_args = {}});
    sim.open_port();
    sim.close_port();  // the peer opens the port itself
    std::vector<double> ppp, direct;
    for (int i = 0; i < repeats(); ++i) {
      ppp.push_back(ppp_fetch(sim, running.port(), dir.path(), body));
      direct.push_back(direct_fetch(running.port(), kSize));
      say("ppp run " + std::to_string(i + 1) + ": " + fixed(ppp.back()) + " s, direct " +
          fixed(direct.back(), 4) + " s");
    }
    const double mb = static_cast<double>(kSize) / kMB;
    emit({.group = "ppp",
          .figure = "HTTP through PPP on the plain port (lwIP PPPoS; fast profile; 4 MiB)",
          .value = mb / median(ppp),
          .unit = "MB/s",
          .baseline = "the same GET on a kernel socket to 127.0.0.1",
          .baseline_value = mb / median(direct),
          .target = "",
          .runs = static_cast<int>(ppp.size()),
          .note = "request to close; PPP set-up not counted"});
  } catch (const std::exception& e) {
    say(std::string("bench_ppp_throughput: ") + e.what());
    return 1;
  }
  return 0;
}
