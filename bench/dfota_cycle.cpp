// The whole DFOTA cycle over HTTP on loopback, fast profile, 16 MiB image: from writing
// AT+QFOTADL="http://127.0.0.1:<port>/update.bin" to the reboot banner's "+QIND: SMS DONE"
// (download into the package area, check, reset into DFOTA mode, update, reboot), beside the
// sum of `curl` fetching the same package from the same server and `zstd -d --patch-from`
// applying its payload. Every run starts a new module (state folder) that has not been timed
// yet; the runs alternate module / tools and medians are reported.

#include <httplib.h>

#include <filesystem>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "sim/firmware/package.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kImageSize = 16 * 1024 * 1024;

// Seconds from AT+QFOTADL to each stage's URC, one entry per run.
std::vector<double> stages[4];

double module_run(int port, const std::string& expect_revision) {
  test::TempDir dir;
  test::SimProcess sim({.state_dir = dir.path() / "state",
                        .extra_args = {"--firmware-size", std::to_string(kImageSize)}});
  auto& host = sim.open_port();
  host.command("ATE0\r");
  host.read_for(std::chrono::milliseconds(100));
  const auto start = Clock::now();
  host.write("AT+QFOTADL=\"http://127.0.0.1:" + std::to_string(port) + "/update.bin\"\r");
  // The stages, from the URCs' arrival: download (to HTTPEND), reset into DFOTA mode (to
  // START), update (to END), reboot (to SMS DONE).
  std::string out;
  const char* marks[] = {"\"HTTPEND\",", "\"START\"", "\"END\",", "+QIND: SMS DONE\r\n"};
  for (std::size_t i = 0; i < std::size(marks); ++i) {
    out += host.read_until(marks[i], std::chrono::seconds(300));
    stages[i].push_back(seconds_since(start));
  }
  const double s = seconds_since(start);
  if (out.find("\"END\",0") == std::string::npos)
    throw std::runtime_error("the update did not end with END,0: " + out.substr(0, 400));
  host.read_for(std::chrono::milliseconds(50));
  for (std::size_t i = 3; i > 0; --i)
    stages[i].back() -= stages[i - 1].back();
  const auto ati = host.command("ATI\r");
  if (ati.find(expect_revision) == std::string::npos)
    throw std::runtime_error("ATI after the update: " + ati);
  return s;
}

}  // namespace
}  // namespace bg95::bench

int main() {
  using namespace bg95::bench;
  try {
    bg95::test::TempDir dir;
    say("DFOTA cycle: making the 16 MiB images and the 3 % package (level 19)");
    const Bytes old_image = module_default_image(kImageSize);
    const Bytes new_image = next_version(old_image, 0.03, 7);
    auto pkg = bg95::firmware::make_package(old_image, new_image, {.level = 19, .threads = 0});
    if (!pkg) throw std::runtime_error(pkg.error());
    const Bytes package = std::move(*pkg);
    const std::string body(package.begin(), package.end());
    const auto h = *bg95::firmware::decode_package_header(package);
    const std::string revision =
        "Revision: " + h.target_version.substr(0, h.target_version.find('_'));

    auto server = std::make_unique<httplib::Server>();
    server->Get("/update.bin", [&body](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/octet-stream");
    });
    bg95::test::RunningServer running(std::move(server));
    const std::string url = "http://127.0.0.1:" + std::to_string(running.port()) + "/update.bin";

    const fs::path old_file = dir.path() / "old.img", fetched = dir.path() / "update.bin",
                   payload = dir.path() / "payload.zst", out = dir.path() / "new.img";
    write_file(old_file, old_image);
    const bool tools = have_tool("curl") && have_tool("zstd");
    const int runs = repeats();
    std::vector<double> cycle, curl_s, zstd_s, sum;
    for (int r = 0; r < runs; ++r) {
      say("DFOTA cycle: run " + std::to_string(r + 1) + "/" + std::to_string(runs));
      cycle.push_back(module_run(running.port(), revision));
      if (tools) {
        const double c = run_timed({"curl", "-s", "-f", "-o", fetched.string(), url});
        const Bytes got = read_file(fetched);
        if (got != package) throw std::runtime_error("curl fetched other bytes");
        write_file(payload,
                   std::span(got).subspan(bg95::firmware::kPackageHeaderSize, h.payload_size));
        const double z = run_timed(
            {"zstd", "-d", "-f", "-q", "--patch-from=" + old_file.string(), payload, "-o", out});
        curl_s.push_back(c);
        zstd_s.push_back(z);
        sum.push_back(c + z);
      }
    }
    emit({.group = "dfota",
          .figure = "whole DFOTA cycle over HTTP (AT+QFOTADL to SMS DONE; fast)",
          .value = median(cycle),
          .unit = "s",
          .baseline = "curl fetch + zstd -d --patch-from",
          .baseline_value = tools ? std::optional<double>(median(sum)) : std::nullopt,
          .target = "",
          .runs = runs,
          .note = "16 MiB image; 3 % change; package " + std::to_string(package.size() / 1024) +
                  " KiB; download " + fixed(median(stages[0])) + " s + reset " +
                  fixed(median(stages[1])) + " s + update " + fixed(median(stages[2])) +
                  " s + reboot " + fixed(median(stages[3])) + " s" +
                  (tools ? "; curl " + fixed(median(curl_s)) + " s + zstd " +
                               fixed(median(zstd_s)) + " s"
                         : "; curl or zstd missing")});
  } catch (const std::exception& e) {
    say(std::string("DFOTA cycle failed: ") + e.what());
    return 1;
  }
  return 0;
}
