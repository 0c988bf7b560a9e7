// Delta packages of 16 MiB images (the module's default image at --firmware-size 16777216 and
// versions of it with 1 %, 3 % and 10 % of the body edited by derive_next_body):
//
//   package  creation time and size of firmware::make_package (level 19, one thread), beside
//            Debian's `bsdiff OLD NEW PATCH` and `xdelta3 -e -s OLD NEW PATCH` on the same pairs;
//   apply    MB/s (target image bytes / s) of the module's update path: UpdateEngine stepped
//            with the module's budget (64 pages a step) on a NandFlash in a temporary folder with
//            the package in the PackageArea, from the package check to the journal's Idle:
//            package SHA-256, source read and SHA-256, decode into memory with the target
//            SHA-256, staging written, active written, journal records, package removal; and
//            PatchDecoder alone in memory. Beside `zstd -d --patch-from=OLD PAYLOAD -o NEW` on
//            the same files (a process: exec, read OLD, decode, XXH64, write NEW).
//   process  `dfota-pack apply OLD PACKAGE -o NEW` against `zstd -d --patch-from=OLD PAYLOAD -o
//            NEW`, both whole processes on the same files, 11 interleaved pairs (which goes
//            first alternates), in three memory set-ups that treat both alike: as the machine
//            is (transparent huge pages in `madvise` mode: dfota-pack asks for them, zstd does
//            not), huge pages for both (zstd's malloc asks too: GLIBC_TUNABLES
//            glibc.malloc.hugetlb=1), and for neither (PR_SET_THP_DISABLE before exec).
//   inproc   in-process against in-process on the same bytes and the same kind of output
//            buffer (an ImageBuffer: fresh, huge pages from 4 MiB): libzstd's
//            ZSTD_decompressDCtx with the source as prefix, against PatchDecoder (the decode of
//            the module's update and of dfota-pack) and against apply_package (the decode plus
//            the target SHA-256 and the image check).
//
// Usage: bench_delta [package|apply|process|inproc]...   (default: all)

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/bench_common.hpp"
#include "sim/dfota/package_area.hpp"
#include "sim/dfota/update_engine.hpp"
#include "sim/firmware/firmware_store.hpp"
#include "sim/firmware/image_buffer.hpp"
#include "sim/firmware/package.hpp"
#include "sim/flash/layout.hpp"
#include "sim/flash/nand_flash.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::bench {
namespace {

namespace fs = std::filesystem;
constexpr std::uint64_t kImageSize = 16 * 1024 * 1024;

Bytes make_package(const Bytes& old_image, const Bytes& new_image) {
  auto p = firmware::make_package(old_image, new_image, {.level = 19, .threads = 0});
  if (!p) throw std::runtime_error("make_package: " + p.error());
  return std::move(*p);
}

std::span<const std::uint8_t> payload_of(const Bytes& package) {
  const auto h = firmware::decode_package_header(package);
  if (!h) throw std::runtime_error("bad package header");
  return std::span<const std::uint8_t>(package).subspan(firmware::kPackageHeaderSize,
                                                        h->payload_size);
}

// ---- package creation --------------------------------------------------------------------

void package_bench(const Bytes& old_image, const fs::path& dir, Bytes& package_3) {
  const int runs = repeats();
  const bool bsdiff = have_tool("bsdiff"), xdelta = have_tool("xdelta3");
  const fs::path old_file = dir / "old.img";
  write_file(old_file, old_image);
  for (const int percent : {1, 3, 10}) {
    const Bytes new_image = next_version(old_image, percent / 100.0, 7);
    const fs::path new_file = dir / "new.img";
    write_file(new_file, new_image);
    std::vector<double> ours_s, bs_s, xd_s;
    std::size_t ours_size = 0, bs_size = 0, xd_size = 0;
    for (int r = 0; r < runs; ++r) {
      say("package creation " + std::to_string(percent) + " %: run " + std::to_string(r + 1) + "/" +
          std::to_string(runs));
      const auto start = Clock::now();
      Bytes pkg = make_package(old_image, new_image);
      ours_s.push_back(seconds_since(start));
      ours_size = pkg.size();
      if (percent == 3) package_3 = std::move(pkg);
      if (bsdiff) {
        bs_s.push_back(run_timed({"bsdiff", old_file, new_file, dir / "patch.bsdiff"}));
        bs_size = fs::file_size(dir / "patch.bsdiff");
      }
      if (xdelta) {
        xd_s.push_back(
            run_timed({"xdelta3", "-e", "-f", "-s", old_file, new_file, dir / "patch.xd3"}));
        xd_size = fs::file_size(dir / "patch.xd3");
      }
    }
    const std::string pc = std::to_string(percent) + " % change";
    const std::string note = "16 MiB images; make_package level 19 (1 thread)";
    auto size_row = [&](const std::string& tool, bool have, std::size_t size) {
      emit({.group = "package",
            .figure = "package size; " + pc,
            .value = static_cast<double>(ours_size) / 1024.0,
            .unit = "KiB",
            .baseline = tool,
            .baseline_value =
                have ? std::optional<double>(static_cast<double>(size) / 1024.0) : std::nullopt,
            .target = "",
            .runs = runs,
            .note = have ? note : note + "; " + tool + " not installed"});
    };
    auto time_row = [&](const std::string& tool, bool have, const std::vector<double>& s) {
      emit({.group = "package",
            .figure = "package creation time; " + pc,
            .value = median(ours_s),
            .unit = "s",
            .baseline = tool,
            .baseline_value = have ? std::optional<double>(median(s)) : std::nullopt,
            .target = "",
            .runs = runs,
            .note = have ? note : note + "; " + tool + " not installed"});
    };
    size_row("bsdiff", bsdiff, bs_size);
    size_row("xdelta3 -e (default level)", xdelta, xd_size);
    time_row("bsdiff", bsdiff, bs_s);
    time_row("xdelta3 -e (default level)", xdelta, xd_s);
  }
}

// ---- apply --------------------------------------------------------------------------------

// One update of the module's flash: seconds of UpdateEngine::run() alone.
// Seconds spent in each UpdateEngine::Phase (summed over runs).
constexpr const char* kPhaseNames[] = {"idle",          "check package",  "check source",
                                       "decode",        "verify staging", "copy",
                                       "verify active", "cleanup",        "finished"};
std::array<double, std::size(kPhaseNames)> phases{};

double engine_run(const Bytes& old_image, const Bytes& new_image, const Bytes& package) {
  test::TempDir dir;
  const auto layout = flash::Layout::standard();
  flash::NandFlash flash(dir.path() / "flash.bin", layout.geometry);
  {
    flash::PartitionView active(flash, layout.active);
    if (firmware::write_image(active, old_image) != flash::FlashStatus::Ok)
      throw std::runtime_error("write_image failed");
  }
  dfota::PackageArea area(flash, layout);
  if (area.begin(package.size()) != dfota::AreaStatus::Ok)
    throw std::runtime_error("package area begin failed");
  for (std::size_t at = 0; at < package.size(); at += 65536) {
    const auto n = std::min<std::size_t>(65536, package.size() - at);
    if (area.append(std::span(package).subspan(at, n)) != dfota::AreaStatus::Ok)
      throw std::runtime_error("package area append failed");
  }
  if (area.finish() != dfota::AreaStatus::Ok) throw std::runtime_error("package commit failed");
  dfota::UpdateEngine engine(flash, layout, area);
  // step() with a small budget, so that the time of each phase can be told apart (the
  // breakdown goes to stderr; a budget of 64 pages changes the total by well under 1 %).
  const auto start = Clock::now();
  auto status = dfota::UpdateEngine::Status::Running;
  while (status == dfota::UpdateEngine::Status::Running) {
    const auto phase = engine.phase();
    const auto t = Clock::now();
    status = engine.step(64);
    phases[static_cast<std::size_t>(phase)] += seconds_since(t);
  }
  const double s = seconds_since(start);
  if (status != dfota::UpdateEngine::Status::Done)
    throw std::runtime_error("update failed: " + engine.message());
  Bytes active(new_image.size());
  flash::PartitionView(flash, layout.active).read(0, active);
  if (active != new_image) throw std::runtime_error("active image differs from the target");
  return s;
}

double decoder_run(const Bytes& old_image, const Bytes& new_image, const Bytes& package) {
  const auto payload = payload_of(package);
  Bytes out(new_image.size());
  std::size_t pos = 0;
  const auto start = Clock::now();
  firmware::PatchDecoder decoder(old_image, new_image.size());
  for (std::size_t at = 0; at < payload.size(); at += 65536) {
    const auto r =
        decoder.feed(payload.subspan(at, std::min<std::size_t>(65536, payload.size() - at)),
                     [&](std::span<const std::uint8_t> bytes) {
                       std::memcpy(out.data() + pos, bytes.data(), bytes.size());
                       pos += bytes.size();
                       return true;
                     });
    if (!r) throw std::runtime_error("decode: " + r.error());
  }
  const double s = seconds_since(start);
  if (!decoder.finished() || out != new_image) throw std::runtime_error("decoded image differs");
  return s;
}

void apply_bench(const Bytes& old_image, const fs::path& dir, Bytes package) {
  const Bytes new_image = next_version(old_image, 0.03, 7);
  if (package.empty()) {
    say("apply: making the 3 % package (level 19)");
    package = make_package(old_image, new_image);
  }
  const fs::path old_file = dir / "old.img", payload_file = dir / "payload.zst",
                 out_file = dir / "out.img";
  write_file(old_file, old_image);
  write_file(payload_file, payload_of(package));
  const bool zstd = have_tool("zstd");
  const int runs = repeats(5);
  std::vector<double> engine_s, decoder_s, zstd_s;
  for (int r = 0; r < runs; ++r) {
    say("delta apply: run " + std::to_string(r + 1) + "/" + std::to_string(runs));
    engine_s.push_back(engine_run(old_image, new_image, package));
    decoder_s.push_back(decoder_run(old_image, new_image, package));
    if (zstd) {
      zstd_s.push_back(run_timed({"zstd", "-d", "-f", "-q", "--patch-from=" + old_file.string(),
                                  payload_file, "-o", out_file}));
      if (read_file(out_file) != new_image) throw std::runtime_error("zstd output differs");
    }
  }
  std::string breakdown = "UpdateEngine phases:";
  for (std::size_t i = 0; i < phases.size(); ++i)
    if (phases[i] > 0)
      breakdown += std::string(" ") + kPhaseNames[i] + " " +
                   fixed(phases[i] * 1000 / static_cast<double>(runs), 1) + " ms;";
  say(breakdown + " (mean per run)");
  const double mb = static_cast<double>(new_image.size()) / kMB;
  const std::optional<double> tool =
      zstd ? std::optional<double>(mb / median(zstd_s)) : std::nullopt;
  const std::string note = "16 MiB image; 3 % change; package " +
                           std::to_string(package.size() / 1024) + " KiB (level 19)";
  emit({.group = "apply",
        .figure = "delta apply: UpdateEngine::run (module update path)",
        .value = mb / median(engine_s),
        .unit = "MB/s",
        .baseline = "zstd -d --patch-from (process)",
        .baseline_value = tool,
        .target = ">= 0.8",
        .runs = runs,
        .note = note + "; engine " + fixed(median(engine_s)) + " s"});
  emit({.group = "apply",
        .figure = "delta apply: PatchDecoder alone (memory)",
        .value = mb / median(decoder_s),
        .unit = "MB/s",
        .baseline = "zstd -d --patch-from (process)",
        .baseline_value = tool,
        .target = ">= 0.8",
        .runs = runs,
        .note = note + (zstd ? "; zstd " + fixed(median(zstd_s)) + " s" : "")});
}

// ---- process against process -------------------------------------------------------------

// A row in MB/s of the target: ours against the baseline, from their seconds.
void speed_row(std::size_t target_bytes, const std::string& figure, const std::vector<double>& ours,
               const std::string& baseline, const std::vector<double>& theirs,
               const std::string& target, const std::string& note) {
  const double mb = static_cast<double>(target_bytes) / kMB;
  emit({.group = "apply",
        .figure = figure,
        .value = mb / median(ours),
        .unit = "MB/s",
        .baseline = baseline,
        .baseline_value = mb / median(theirs),
        .target = target,
        .runs = static_cast<int>(ours.size()),
        .note = note});
}

// How the child's memory may use transparent huge pages; the same for both tools in a pair.
enum class HugePages { AsIs, Both, Neither };
constexpr const char* kHugePagesNames[] = {"THP as the machine has it (madvise)",
                                           "huge pages for both", "huge pages for neither"};

// Seconds from fork to exit of argv, output to /dev/null, and the CPU seconds (user + sys) it
// used; throws when it fails.
struct ProcessTime {
  double wall = 0, cpu = 0;
};
ProcessTime run_process(const std::vector<std::string>& argv, HugePages huge) {
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy)
    args.push_back(a.data());
  args.push_back(nullptr);
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int null = ::open("/dev/null", O_RDWR);
    if (null < 0) ::_exit(126);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    // Inherited across exec (prctl(2)): no huge page for anything the child maps.
    if (huge == HugePages::Neither) ::prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    // glibc 2.35+: malloc marks its mappings MADV_HUGEPAGE, as ImageBuffer does its own.
    if (huge == HugePages::Both) ::setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1", 1);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  struct rusage usage {};
  while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  const double elapsed = seconds_since(start);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("command failed (status " + std::to_string(status) + "): " + argv[0]);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return {elapsed, secs(usage.ru_utime) + secs(usage.ru_stime)};
}

void process_bench(const Bytes& old_image, const fs::path& dir, const Bytes& package) {
  if (!have_tool("zstd")) {
    say("process: zstd not installed, skipped");
    return;
  }
  const Bytes new_image = next_version(old_image, 0.03, 7);
  const fs::path old_file = dir / "old.img", package_file = dir / "update.pkg",
                 payload_file = dir / "payload.zst", ours_out = dir / "ours.img",
                 zstd_out = dir / "zstd.img";
  write_file(old_file, old_image);
  write_file(package_file, package);
  write_file(payload_file, payload_of(package));
  const std::vector<std::string> ours = {DFOTA_PACK_BINARY, "apply", old_file,
                                         package_file,      "-o",    ours_out};
  const std::vector<std::string> zstd = {
      "zstd", "-d", "-f", "-q", "--patch-from=" + old_file.string(), payload_file, "-o", zstd_out};
  constexpr int kPairs = 11;
  for (const HugePages huge : {HugePages::AsIs, HugePages::Both, HugePages::Neither}) {
    const std::string setup = kHugePagesNames[static_cast<int>(huge)];
    std::vector<double> ours_s, zstd_s, ratios, ours_cpu, zstd_cpu;
    run_process(ours, huge);  // warm: the page cache holds both inputs for every pair
    run_process(zstd, huge);
    for (int pair = 0; pair < kPairs; ++pair) {
      ProcessTime o, z;
      if (pair % 2 == 0) {
        o = run_process(ours, huge);
        z = run_process(zstd, huge);
      } else {
        z = run_process(zstd, huge);
        o = run_process(ours, huge);
      }
      ours_s.push_back(o.wall);
      zstd_s.push_back(z.wall);
      ratios.push_back(z.wall / o.wall);
      ours_cpu.push_back(o.cpu);
      zstd_cpu.push_back(z.cpu);
    }
    if (read_file(ours_out) != new_image || read_file(zstd_out) != new_image)
      throw std::runtime_error("process: an output differs from the target");
    const std::string cpu = "CPU (user+sys) dfota-pack " + fixed(median(ours_cpu) * 1000, 1) +
                            " ms; zstd " + fixed(median(zstd_cpu) * 1000, 1) + " ms";
    say("process (" + setup + "): dfota-pack " + fixed(median(ours_s)) + " s, zstd " +
        fixed(median(zstd_s)) + " s, median of the pairs' ratios " + fixed(median(ratios), 2) +
        "; " + cpu);
    speed_row(new_image.size(), "delta apply: dfota-pack apply (process); " + setup, ours_s,
              "zstd -d --patch-from (process)", zstd_s, ">= 1.0",
              "16 MiB image; 3 % change; " + std::to_string(kPairs) +
                  " interleaved pairs; median of the pairs' ratios " + fixed(median(ratios), 3) +
                  "; " + cpu);
  }
}

// ---- in-process against in-process --------------------------------------------------------

double libzstd_run(const Bytes& old_image, const Bytes& new_image, const Bytes& package) {
  const auto payload = payload_of(package);
  const auto start = Clock::now();
  firmware::ImageBuffer out(new_image.size());
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX);
  ZSTD_DCtx_refPrefix(dctx, old_image.data(), old_image.size());
  const std::size_t n =
      ZSTD_decompressDCtx(dctx, out.bytes().data(), out.size(), payload.data(), payload.size());
  ZSTD_freeDCtx(dctx);
  const double s = seconds_since(start);
  if (ZSTD_isError(n) || n != new_image.size() ||
      !std::equal(new_image.begin(), new_image.end(), out.bytes().begin()))
    throw std::runtime_error("libzstd: decoded image differs");
  return s;
}

double patch_decoder_run(const Bytes& old_image, const Bytes& new_image, const Bytes& package) {
  const auto payload = payload_of(package);
  const auto start = Clock::now();
  firmware::ImageBuffer out(new_image.size());
  firmware::PatchDecoder decoder(old_image, out.bytes());
  // In the 16 KiB pieces apply_package feeds it.
  for (std::size_t at = 0; at < payload.size(); at += 16384) {
    const auto r =
        decoder.feed(payload.subspan(at, std::min<std::size_t>(16384, payload.size() - at)),
                     [](std::span<const std::uint8_t>) { return true; });
    if (!r) throw std::runtime_error("decode: " + r.error());
  }
  const double s = seconds_since(start);
  if (!decoder.finished() || !std::equal(new_image.begin(), new_image.end(), out.bytes().begin()))
    throw std::runtime_error("PatchDecoder: decoded image differs");
  return s;
}

double apply_package_run(const Bytes& old_image, const Bytes& new_image, const Bytes& package) {
  const auto start = Clock::now();
  firmware::ImageBuffer out;
  const auto h = firmware::apply_package(old_image, package, out);
  const double s = seconds_since(start);
  if (!h || !std::equal(new_image.begin(), new_image.end(), out.bytes().begin()))
    throw std::runtime_error("apply_package: " + (h ? std::string("image differs") : h.error()));
  return s;
}

void inproc_bench(const Bytes& old_image, const Bytes& package) {
  const Bytes new_image = next_version(old_image, 0.03, 7);
  constexpr int kPairs = 11;
  std::vector<double> zstd_s, decoder_s, apply_s;
  for (int r = 0; r < kPairs; ++r) {
    zstd_s.push_back(libzstd_run(old_image, new_image, package));
    decoder_s.push_back(patch_decoder_run(old_image, new_image, package));
    apply_s.push_back(apply_package_run(old_image, new_image, package));
  }
  say("in-process: libzstd " + fixed(median(zstd_s) * 1000, 1) + " ms, PatchDecoder " +
      fixed(median(decoder_s) * 1000, 1) + " ms, apply_package " +
      fixed(median(apply_s) * 1000, 1) + " ms");
  const std::string note = "16 MiB image; 3 % change; " + std::to_string(kPairs) +
                           " interleaved runs; output into a fresh ImageBuffer each";
  const std::string libzstd = "libzstd ZSTD_decompressDCtx; source as prefix";
  speed_row(new_image.size(), "delta apply in-process: PatchDecoder (module; dfota-pack)",
            decoder_s, libzstd, zstd_s, ">= 1.0", note);
  speed_row(new_image.size(),
            "delta apply in-process: apply_package (decode; target SHA-256; header check)", apply_s,
            libzstd, zstd_s, "", note);
}

}  // namespace
}  // namespace bg95::bench

int main(int argc, char** argv) {
  using namespace bg95::bench;
  std::vector<std::string> what(argv + 1, argv + argc);
  if (what.empty()) what = {"package", "apply", "process", "inproc"};
  const auto has = [&](const char* w) {
    return std::find(what.begin(), what.end(), w) != what.end();
  };
  try {
    bg95::test::TempDir dir;
    const Bytes old_image = module_default_image(kImageSize);
    Bytes package_3;
    if (has("package")) package_bench(old_image, dir.path(), package_3);
    const bool later = has("process") || has("inproc");
    if (later && package_3.empty()) {
      say("making the 3 % package (level 19)");
      package_3 = make_package(old_image, next_version(old_image, 0.03, 7));
    }
    if (has("apply")) apply_bench(old_image, dir.path(), later ? package_3 : std::move(package_3));
    if (has("process")) process_bench(old_image, dir.path(), package_3);
    if (has("inproc")) inproc_bench(old_image, package_3);
  } catch (const std::exception& e) {
    say(std::string("delta benchmark failed: ") + e.what());
    return 1;
  }
  return 0;
}
