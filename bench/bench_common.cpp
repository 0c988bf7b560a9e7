#include "bench/bench_common.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "sim/firmware/image.hpp"
#include "sim/firmware/synthetic.hpp"

namespace bg95::bench {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = std::ceil(p / 100.0 * static_cast<double>(v.size()));
  const auto i = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(v.size())));
  return v[i - 1];
}

int repeats(int fallback) {
  if (const char* e = std::getenv("BG95_BENCH_REPEAT")) {
    const int n = std::atoi(e);
    if (n > 0) return n;
  }
  return fallback;
}

namespace {

std::string field(std::string s) {
  std::replace(s.begin(), s.end(), ',', ';');
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

std::string number(double v) {
  char buf[64];
  if (v != 0 && (std::fabs(v) >= 1e7 || std::fabs(v) < 1e-3))
    std::snprintf(buf, sizeof buf, "%.4g", v);
  else if (std::fabs(v) >= 100)
    std::snprintf(buf, sizeof buf, "%.1f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace

void emit(const Row& r) {
  std::string ratio, met;
  if (r.value && r.baseline_value && *r.baseline_value != 0)
    ratio = number(*r.value / *r.baseline_value);
  if (!r.value) {
    met = "not measured";
  } else if (r.target.empty() || ratio.empty()) {
    met = "-";
  } else {
    const double q = *r.value / *r.baseline_value;
    const double t = std::strtod(r.target.c_str() + 3, nullptr);
    const bool ok = r.target.starts_with("<=") ? q <= t : q >= t;
    met = ok ? "yes" : "NO";
  }
  std::cout << field(r.group) << ',' << field(r.figure) << ','
            << (r.value ? number(*r.value) : std::string{}) << ',' << field(r.unit) << ','
            << field(r.baseline) << ','
            << (r.baseline_value ? number(*r.baseline_value) : std::string{}) << ',' << ratio << ','
            << field(r.target) << ',' << met << ',' << r.runs << ',' << field(r.note) << std::endl;
}

double run_timed(const std::vector<std::string>& argv, const std::string& stdout_path) {
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy)
    args.push_back(a.data());
  args.push_back(nullptr);
  const std::string out = stdout_path.empty() ? "/dev/null" : stdout_path;
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int in = ::open("/dev/null", O_RDONLY);
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int err = ::open("/dev/null", O_WRONLY);
    if (in < 0 || o < 0 || err < 0) ::_exit(126);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(err, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const double elapsed = seconds_since(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv)
      cmd += a + " ";
    throw std::runtime_error("command failed (status " + std::to_string(status) + "): " + cmd);
  }
  return elapsed;
}

bool have_tool(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const auto p = std::filesystem::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return true;
  }
  return false;
}

Bytes read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  Bytes data(static_cast<std::size_t>(std::filesystem::file_size(path)));
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size()));
  return data;
}

void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<std::uint8_t> random_bytes(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes out(size);
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t v = rng();
    for (std::size_t k = 0; k < 8 && i + k < size; ++k)
      out[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
  }
  return out;
}

long proc_status_kib(pid_t pid, const char* name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  const std::string key = std::string(name) + ":";
  while (std::getline(in, line))
    if (line.starts_with(key)) return std::strtol(line.c_str() + key.size(), nullptr, 10);
  return -1;
}

Bytes module_default_image(std::uint64_t size) {
  firmware::ImageHeader h;
  h.model = "BG95-M3";
  h.revision = firmware::default_revision(h.model);
  h.full_version = firmware::default_full_version(h.revision);
  // Module::create_default_image and `dfota-pack firmware` use this seed.
  return firmware::make_image(h,
                              firmware::synthetic_body(size - firmware::kImageHeaderSize, 0xB695));
}

Bytes next_version(const Bytes& old_image, double change, std::uint64_t seed) {
  firmware::ImageHeader h = *firmware::decode_image_header(old_image);
  const std::string old_revision = h.revision;
  h.revision = firmware::next_revision(h.revision);
  h.full_version =
      h.revision + firmware::next_full_version(h.full_version).substr(old_revision.size());
  const auto body = firmware::derive_next_body(
      std::span<const std::uint8_t>(old_image).subspan(firmware::kImageHeaderSize), change, seed);
  return firmware::make_image(h, body);
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

void say(const std::string& text) {
  std::cerr << "bench: " << text << std::endl;
}

}  // namespace bg95::bench
