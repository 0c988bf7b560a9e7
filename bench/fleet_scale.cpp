// Fleets at the size of issue 20, run by hand (scripts/fleet_scale.sh), not by ctest:
//
//   bench_fleet_scale headless N   N modules with --ports none and --lwm2m-autoreg against the
//                                  project's LwM2M test server (scenarios/lwm2m_server): the
//                                  time to the ready line and until all N registered, the
//                                  process's open files and its idle VmRSS per module.
//   bench_fleet_scale mixed P H    P pty modules and H headless ones from a fleet file: the
//                                  time to the ready line, then every pty opened and sent AT in
//                                  batches; how many answered OK, and how long it took.
//
// bg95sim runs with the limits the benchmark has; a fleet that does not fit them is refused by
// bg95sim before it starts, naming the numbers (docs/fleet.md, "Resources"), and the benchmark
// then fails with that message.

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_common.hpp"
#include "scenarios/lwm2m_server/lwm2m_server.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

// A bg95sim child with its stdout on a pipe.
struct Child {
  pid_t pid = -1;
  int out = -1;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
    if (out >= 0) ::close(out);
  }
};

// Starts bg95sim with `args`, its stderr on ours (a refusal says why).
void start(Child& c, std::vector<std::string> args) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe");
  args.insert(args.begin(), BG95SIM_BINARY);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  c.pid = ::fork();
  if (c.pid == 0) {
    ::dup2(pipe_fds[1], 1);
    ::close(pipe_fds[0]);
    ::execv(BG95SIM_BINARY, argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  c.out = pipe_fds[0];
}

// Reads the child's stdout until `needle`; all of it. Throws after `timeout_s`.
std::string read_until(Child& c, const std::string& needle, double timeout_s) {
  std::string text;
  const auto begin = Clock::now();
  while (text.find(needle) == std::string::npos) {
    if (seconds_since(begin) > timeout_s) throw std::runtime_error("no " + needle);
    pollfd p{c.out, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    char buf[65536];
    const ssize_t got = ::read(c.out, buf, sizeof buf);
    if (got <= 0) throw std::runtime_error("bg95sim exited: " + text.substr(0, 2000));
    text.append(buf, static_cast<std::size_t>(got));
  }
  return text;
}

std::size_t open_files(pid_t pid) {
  const std::filesystem::directory_iterator fds(fmt::format("/proc/{}/fd", pid));
  return static_cast<std::size_t>(std::distance(fds, std::filesystem::directory_iterator{}));
}

void report(const std::string& what, double value, const std::string& unit) {
  std::cout << fmt::format("{}: {:.2f} {}", what, value, unit) << std::endl;
}

int headless(int n) {
  test::TempDir dir;
  peer::Lwm2mServer lwm2m({.psk = std::nullopt, .max_registrations = n});
  Child sim;
  const auto begin = Clock::now();
  start(sim, {"--count", std::to_string(n), "--ports", "none", "--state",
              (dir.path() / "state").string(), "--lwm2m-server", lwm2m.uri(), "--lwm2m-autoreg"});
  read_until(sim, fmt::format("fleet of {} modules ready", n), 600);
  report("ready line after", seconds_since(begin), "s");
  // Progress every 10 s, for 10 minutes at the most.
  for (int i = 0; i < 60 && lwm2m.registration_count() < static_cast<std::size_t>(n); ++i) {
    try {
      lwm2m.wait_registration(static_cast<std::size_t>(n), std::chrono::seconds(10));
    } catch (const std::runtime_error&) {
      std::cerr << fmt::format("{:.0f} s: {} registered\n", seconds_since(begin),
                               lwm2m.registration_count());
    }
  }
  report("all registered after", seconds_since(begin), "s");
  std::this_thread::sleep_for(std::chrono::seconds(5));  // idle: what stays
  const long kib = proc_status_kib(sim.pid, "VmRSS");
  report("registrations", static_cast<double>(lwm2m.registration_count()), "");
  report("open files", static_cast<double>(open_files(sim.pid)), "");
  report("idle VmRSS", static_cast<double>(kib) / 1024.0, "MiB");
  report("idle VmRSS per module", static_cast<double>(kib) / n, "KiB");
  return lwm2m.registration_count() >= static_cast<std::size_t>(n) ? 0 : 1;
}

// Opens each pty, sends AT and waits for OK, `batch` ports at a time; how many answered.
int answer_at(const std::string& link, int ptys, int batch) {
  int answered = 0;
  for (int first = 1; first <= ptys; first += batch) {
    std::vector<std::unique_ptr<test::HostPort>> open;
    for (int n = first; n < first + batch && n <= ptys; ++n) {
      open.push_back(std::make_unique<test::HostPort>(fmt::format("{}-{}", link, n)));
      open.back()->write("AT\r");
    }
    for (auto& port : open) {
      try {
        port->read_until("OK\r\n", std::chrono::seconds(5));
        ++answered;
      } catch (const std::exception& e) {
        std::cerr << e.what() << "\n";
      }
    }
  }
  return answered;
}

int mixed(int ptys, int headless_count) {
  test::TempDir dir;
  const auto file = dir.path() / "fleet.yaml";
  std::ofstream(file) << fmt::format("count: {}\nmodules:\n  - {{range: {}-{}, ports: none}}\n",
                                     ptys + headless_count, ptys + 1, ptys + headless_count);
  const std::string link = (dir.path() / "port").string();
  Child sim;
  const auto begin = Clock::now();
  start(sim,
        {"--fleet", file.string(), "--state", (dir.path() / "state").string(), "--link", link});
  read_until(sim, "modules ready", 600);
  report("ready line after", seconds_since(begin), "s");
  report("open files", static_cast<double>(open_files(sim.pid)), "");
  report("idle VmRSS", static_cast<double>(proc_status_kib(sim.pid, "VmRSS")) / 1024.0, "MiB");
  const auto at = Clock::now();
  const int answered = answer_at(link, ptys, 200);
  report("ptys answering AT", answered, fmt::format("of {}", ptys));
  report("all AT answered in", seconds_since(at), "s");
  return answered == ptys ? 0 : 1;
}

}  // namespace
}  // namespace bg95::bench

int main(int argc, char** argv) {
  using namespace bg95::bench;
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "headless" && argc == 3) return headless(std::atoi(argv[2]));
    if (mode == "mixed" && argc == 4) return mixed(std::atoi(argv[2]), std::atoi(argv[3]));
  } catch (const std::exception& e) {
    std::cerr << "bench_fleet_scale: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "usage: bench_fleet_scale headless N | mixed PTYS HEADLESS\n";
  return 2;
}
