// dfota-pack: makes synthetic firmware images and DFOTA delta packages for bg95sim, and
// inspects and applies them offline (docs/package-format.md).

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "sim/firmware/firmware_store.hpp"
#include "sim/firmware/image.hpp"
#include "sim/firmware/package.hpp"
#include "sim/firmware/synthetic.hpp"
#include "sim/flash/layout.hpp"
#include "sim/flash/nand_flash.hpp"
#include "sim/state/state_dir.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/sha256.hpp"

namespace {

namespace fw = bg95::firmware;
namespace util = bg95::util;
using Bytes = std::vector<std::uint8_t>;

// The module makes its first image with this seed (sim/module.cpp), so that the defaults of
// `dfota-pack firmware` rebuild the image a fresh bg95sim runs, ready to be diffed against.
constexpr std::uint64_t kModuleImageSeed = 0xB695;
constexpr std::uint64_t kModuleImageSize = 4ull * 1024 * 1024;
// Larger inputs than any image or package can be are refused before they are read.
constexpr std::uintmax_t kMaxInputFile = 128ull * 1024 * 1024;

// A failure that ends the program with a message and exit status 1.
struct Failure {
  std::string message;
};

Bytes read_file(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Failure{fmt::format("{}: {}", path, ec.message())};
  if (size > kMaxInputFile)
    throw Failure{fmt::format("{}: {} bytes is larger than any image or package", path, size)};
  std::ifstream in(path, std::ios::binary);
  Bytes data(static_cast<std::size_t>(size));
  if (!in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(data.size())))
    throw Failure{fmt::format("{}: read failed", path)};
  return data;
}

// A file written beside its destination and renamed to it once whole, so that an interrupted
// run never leaves a half-written image or package under the real name. A file already there
// is removed, as `zstd -f` does, before the rename at the latest: renaming over it is ext4's
// replace-via-rename, which makes the rename start writing the new file's data back and wait
// for its blocks (auto_da_alloc, ext4(5)): 27 ms for 16 MiB here, longer than the whole decode.
// remove_existing() may remove it sooner, while another thread's work is the longer one.
class OutputFile {
 public:
  explicit OutputFile(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp") {
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Failure{fmt::format("{}: {}", tmp_, std::strerror(errno))};
  }
  ~OutputFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  bool write(std::span<const std::uint8_t> data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data = data.subspan(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Removes the file under the real name now (absent is fine; a directory stays and fails
  // the rename), unless it is one of `keep` (an input being replaced in place).
  // Decided once: later calls (one per decoded piece) do nothing.
  void remove_existing(std::initializer_list<std::string_view> keep) {
    if (std::exchange(existing_decided_, true)) return;
    struct stat out {};
    if (::stat(path_.c_str(), &out) != 0 || S_ISDIR(out.st_mode)) return;
    for (const auto name : keep) {
      struct stat in {};
      if (::stat(std::string(name).c_str(), &in) == 0 && in.st_dev == out.st_dev &&
          in.st_ino == out.st_ino)
        return;  // removed at commit, once the input is no longer needed
    }
    removed_ = ::unlink(path_.c_str()) == 0;
  }
  void commit() {
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) throw Failure{fmt::format("{}: write failed", tmp_)};
    std::error_code ec;
    if (!removed_) std::filesystem::remove(path_, ec);
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) throw Failure{fmt::format("{}: {}", path_, ec.message())};
    committed_ = true;
  }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
  bool existing_decided_ = false;  // remove_existing() ran
  bool removed_ = false;           // the file under the real name is gone already
};

void write_file(const std::string& path, std::span<const std::uint8_t> data) {
  OutputFile out(path);
  if (!out.write(data)) throw Failure{fmt::format("{}.tmp: write failed", path)};
  out.commit();
}

fw::ImageHeader load_image(const std::string& path, const Bytes& bytes) {
  auto h = fw::verify_image(bytes);
  if (!h) throw Failure{fmt::format("{}: {}", path, h.error())};
  return *h;
}

std::string hex(std::span<const std::uint8_t> bytes) {
  return util::to_hex(bytes);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void print_image(const fw::ImageHeader& h) {
  fmt::print("  model:          {}\n", h.model);
  fmt::print("  revision:       {}\n", h.revision);
  fmt::print("  full version:   {}\n", h.full_version);
  fmt::print("  body size:      {} bytes (image {} bytes)\n", h.body_size, h.image_size());
  fmt::print("  body SHA-256:   {}\n", hex(h.body_sha256));
}

void print_package(const fw::PackageHeader& h) {
  fmt::print("  format version: {}\n", h.format_version);
  fmt::print("  codec:          {} (zstd patch-from)\n", static_cast<unsigned>(h.codec));
  fmt::print("  source:         {} ({} bytes)\n", h.source_version, h.source_size);
  fmt::print("  source SHA-256: {}\n", hex(h.source_sha256));
  fmt::print("  target:         {} ({} bytes)\n", h.target_version, h.target_size);
  fmt::print("  target SHA-256: {}\n", hex(h.target_sha256));
  fmt::print("  payload size:   {} bytes (package {} bytes)\n", h.payload_size, h.package_size());
}

// The zstd frame header (RFC 8878, 3.1.1.1), read here rather than through libzstd's
// experimental API, to show which window a payload (ours or the stock CLI's) asks for.
std::string describe_frame(std::span<const std::uint8_t> p) {
  if (p.size() < 6) return "too short for a zstd frame";
  if (util::get_le<std::uint32_t>(p, 0) != 0xFD2FB528u) return "not a zstd frame (bad magic)";
  const std::uint8_t fhd = p[4];
  const unsigned fcs_flag = fhd >> 6u;
  const bool single_segment = (fhd >> 5u) & 1u;
  const bool checksum = (fhd >> 2u) & 1u;
  const unsigned dict_flag = fhd & 3u;
  std::size_t at = 5;
  std::uint64_t window = 0;
  if (!single_segment) {
    const unsigned exponent = p[at] >> 3u, mantissa = p[at] & 7u;
    const std::uint64_t base = std::uint64_t{1} << (10 + exponent);
    window = base + base / 8 * mantissa;
    ++at;
  }
  at += std::array<std::size_t, 4>{0, 1, 2, 4}[dict_flag];
  const std::size_t fcs_size =
      std::array<std::size_t, 4>{single_segment ? 1u : 0u, 2, 4, 8}[fcs_flag];
  if (p.size() < at + fcs_size) return "truncated zstd frame header";
  std::optional<std::uint64_t> content;
  if (fcs_size > 0) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < fcs_size; ++i)
      v |= std::uint64_t{p[at + i]} << (8 * i);
    content = fcs_size == 2 ? v + 256 : v;
  }
  if (single_segment) window = content.value_or(0);
  return fmt::format("zstd frame, window {} bytes{}, content size {}, checksum {}{}", window,
                     single_segment ? " (single segment)" : "",
                     content ? fmt::format("{}", *content) : std::string("unknown"),
                     checksum ? "yes" : "no", dict_flag != 0 ? ", dictionary ID set" : "");
}

// Decodes a package's payload against a source image (fw::apply_package checks the result
// against the package's target SHA-256 and as an image).
Bytes decode_target(const Bytes& source, const Bytes& package) {
  auto target = fw::apply_package(source, package);
  if (!target) throw Failure{target.error()};
  return std::move(*target);
}

// ---- firmware -----------------------------------------------------------------------------

struct FirmwareArgs {
  std::string model = "BG95-M3";
  std::string revision;
  std::string full_version;
  std::uint64_t size = kModuleImageSize;
  std::optional<std::uint64_t> seed;
  std::string from;
  double change = 0.03;
  bool bump_revision = false;
  std::string output;
};

int cmd_firmware(const FirmwareArgs& a) {
  fw::ImageHeader h;
  Bytes body;
  if (a.from.empty()) {
    if (!fw::known_model(a.model))
      throw Failure{fmt::format("unknown model {} (BG95-M1, -M2, -M3, -M4, -M5 or BG77)", a.model)};
    if (a.size < fw::kImageHeaderSize || a.size - fw::kImageHeaderSize > fw::kMaxImageBody)
      throw Failure{fmt::format("image size must be {}..{} bytes", fw::kImageHeaderSize,
                                fw::kImageHeaderSize + fw::kMaxImageBody)};
    h.model = a.model;
    h.revision = a.revision.empty() ? fw::default_revision(a.model) : a.revision;
    h.full_version = a.full_version.empty() ? fw::default_full_version(h.revision) : a.full_version;
    body = fw::synthetic_body(a.size - fw::kImageHeaderSize, a.seed.value_or(kModuleImageSeed));
  } else {
    const Bytes old = read_file(a.from);
    const fw::ImageHeader o = load_image(a.from, old);
    const auto old_body = std::span<const std::uint8_t>(old).subspan(fw::kImageHeaderSize);
    // Without a seed, the old body's digest picks one: each version in a chain of derived
    // versions differs differently, and the same input still gives the same output.
    const std::uint64_t seed = a.seed.value_or(util::get_le<std::uint64_t>(o.body_sha256, 0));
    fw::BodyEdits edits;
    body = fw::derive_next_body(old_body, a.change, seed, edits);
    if (body.size() > fw::kMaxImageBody)
      throw Failure{
          fmt::format("the derived body ({} bytes) is over the image limit", body.size())};
    h.model = o.model;
    h.revision = !a.revision.empty() ? a.revision
                 : a.bump_revision   ? fw::next_revision(o.revision)
                                     : o.revision;
    if (!a.full_version.empty()) {
      h.full_version = a.full_version;
    } else {
      h.full_version = fw::next_full_version(o.full_version);
      // A new revision keeps the sub-version scheme but is named by the new revision.
      if (h.revision != o.revision && h.full_version.starts_with(o.revision))
        h.full_version = h.revision + h.full_version.substr(o.revision.size());
    }
    fmt::print(
        "derived from {} ({}): {} clusters, {} bytes changed, {} inserted, {} deleted "
        "({:.2f}% of the old body)\n",
        a.from, o.full_version, edits.clusters, edits.changed, edits.inserted, edits.deleted,
        old_body.empty()
            ? 0.0
            : 100.0 * static_cast<double>(edits.changed + edits.inserted + edits.deleted) /
                  static_cast<double>(old_body.size()));
  }
  const Bytes image = fw::make_image(h, body);
  // make_image writes whatever it is given; checking the result catches names that are too
  // long or not printable before the module would refuse the image.
  const auto check = fw::verify_image(image);
  if (!check || check->model != h.model || check->revision != h.revision ||
      check->full_version != h.full_version)
    throw Failure{check ? "a name field is too long for the image header" : check.error()};
  write_file(a.output, image);
  fmt::print("wrote {} ({} bytes)\n", a.output, image.size());
  print_image(*check);
  return 0;
}

// ---- diff ---------------------------------------------------------------------------------

struct DiffArgs {
  std::string source, target, output, payload;
  int level = 19;
  int threads = 0;
};

int cmd_diff(const DiffArgs& a) {
  const Bytes source = read_file(a.source), target = read_file(a.target);
  load_image(a.source, source);
  load_image(a.target, target);
  const auto start = std::chrono::steady_clock::now();
  Bytes package;
  if (a.payload.empty()) {
    auto made = fw::make_package(source, target, {.level = a.level, .threads = a.threads});
    if (!made) throw Failure{made.error()};
    package = std::move(*made);
  } else {
    package = fw::wrap_payload(source, target, read_file(a.payload));
  }
  const double made_in = seconds_since(start);
  auto h = fw::verify_package(package);
  if (!h) throw Failure{"the package made is invalid: " + h.error()};
  // Proves the package before it is handed to a module: a payload made against another
  // source, or by a tool with other settings, fails here rather than in DFOTA mode.
  const auto check_start = std::chrono::steady_clock::now();
  decode_target(source, package);
  const double checked_in = seconds_since(check_start);
  write_file(a.output, package);
  fmt::print("wrote {} ({} bytes, {:.2f}% of the target image)\n", a.output, package.size(),
             100.0 * static_cast<double>(package.size()) / static_cast<double>(target.size()));
  print_package(*h);
  fmt::print("  payload frame:  {}\n",
             describe_frame(std::span<const std::uint8_t>(package).subspan(fw::kPackageHeaderSize,
                                                                           h->payload_size)));
  fmt::print("{} in {:.2f} s, test-decoded in {:.2f} s\n",
             a.payload.empty() ? fmt::format("compressed (level {})", a.level) : "wrapped", made_in,
             checked_in);
  return 0;
}

// ---- inspect ------------------------------------------------------------------------------

int cmd_inspect(const std::string& path, const std::string& source_path) {
  const Bytes data = read_file(path);
  const auto starts_with = [&data](const char(&magic)[8]) {
    return data.size() >= sizeof magic && std::memcmp(data.data(), magic, sizeof magic) == 0;
  };
  if (starts_with(fw::kImageMagic)) {
    fmt::print("{}: firmware image, {} bytes\n", path, data.size());
    if (auto h = fw::decode_image_header(data)) print_image(*h);
    const auto v = fw::verify_image(data);
    if (!v) throw Failure{fmt::format("{}: INVALID image: {}", path, v.error())};
    fmt::print("{}: valid image\n", path);
    return 0;
  }
  if (starts_with(fw::kPackageMagic)) {
    fmt::print("{}: DFOTA package, {} bytes\n", path, data.size());
    const auto header = fw::decode_package_header(data);
    if (header) {
      print_package(*header);
      const auto payload = std::span<const std::uint8_t>(data).subspan(
          fw::kPackageHeaderSize,
          std::min<std::size_t>(header->payload_size, data.size() - fw::kPackageHeaderSize));
      fmt::print("  payload frame:  {}\n", describe_frame(payload));
    }
    const auto v = fw::verify_package(data);
    if (!v) throw Failure{fmt::format("{}: INVALID package: {}", path, v.error())};
    fmt::print("{}: valid package (header CRC and whole-package SHA-256)\n", path);
    if (!source_path.empty()) {
      const Bytes source = read_file(source_path);
      decode_target(source, data);
      fmt::print("{}: applies to {} and yields the target exactly\n", path, source_path);
    }
    return 0;
  }
  throw Failure{
      fmt::format("{}: neither a firmware image nor a DFOTA package (unknown magic)", path)};
}

// ---- export -------------------------------------------------------------------------------

// The image the module's flash holds in its active partition, checked (header and body
// SHA-256) and written to a file: what `inspect --source` and `diff` take as the old image.
// The state folder is locked while it is read, so it is refused while a bg95sim runs on it.
int cmd_export(const std::string& state, const std::string& output) {
  if (!std::filesystem::is_regular_file(std::filesystem::path(state) / "flash.bin"))
    throw Failure{fmt::format("{}: not a bg95sim state folder (no flash.bin)", state)};
  bg95::state::StateDir dir{std::filesystem::path(state)};
  const auto layout = bg95::flash::Layout::standard();
  bg95::flash::NandFlash flash(dir.flash_file(), layout.geometry);
  const bg95::flash::PartitionView active(flash, layout.active);
  const auto header = fw::verify_partition_image(active);
  if (!header)
    throw Failure{fmt::format("{}: the active image does not verify: {}", state, header.error())};
  Bytes image(static_cast<std::size_t>(header->image_size()));
  active.read(0, image);
  write_file(output, image);
  fmt::print("{}: {} ({} bytes) from {}\n", output, header->full_version, image.size(), state);
  return 0;
}

// ---- apply --------------------------------------------------------------------------------

// A whole input file mapped read-only: the page cache's own pages, neither copied nor zeroed
// first (what read_file's vector costs for 16 MiB is a few ms, the whole of a fast apply is
// tens). Empty files are not mapped.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Failure{fmt::format("{}: {}", path, std::strerror(errno))};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<std::uintmax_t>(st.st_size) > kMaxInputFile) {
      ::close(fd);
      throw Failure{fmt::format("{}: larger than any image or package, or unreadable", path)};
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      // MAP_POPULATE: the whole file is read anyway; one call maps it instead of a fault a page.
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        throw Failure{fmt::format("{}: {}", path, std::strerror(errno))};
      }
      data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<std::uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }

 private:
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

int cmd_apply(const std::string& source_path, const std::string& package_path,
              const std::string& output) {
  const MappedFile source(source_path), package(package_path);
  const auto start = std::chrono::steady_clock::now();
  fw::ImageBuffer target;
  // Each range goes to the file as it is decoded and hashed; the name gets it only once the
  // whole target matched the package's SHA-256. A file already under that name is removed
  // once decoding began (as `zstd -f` removes it before it starts): removing 16 MiB of page
  // cache takes about 1 ms, which the decoder's thread has to spare while the hash, the
  // longer job, runs on the other (issue 20). A package refused before any byte is decoded
  // leaves that file as it was; one failing later leaves no output, as with zstd.
  OutputFile out(output);
  const auto h = fw::apply_package(source.bytes(), package.bytes(), target,
                                   [&](std::span<const std::uint8_t> bytes) {
                                     if (!out.write(bytes)) return false;
                                     out.remove_existing({source_path, package_path});
                                     return true;
                                   });
  if (!h) {
    // A source that is no image at all is named as such, as before the package is looked at.
    if (auto s = fw::verify_image(source.bytes()); !s)
      throw Failure{fmt::format("{}: {}", source_path, s.error())};
    // A damaged package is named, as when it was verified before the decode.
    const bool damaged = !fw::verify_package(package.bytes());
    throw Failure{damaged ? fmt::format("{}: {}", package_path, h.error()) : h.error()};
  }
  out.commit();
  fmt::print("wrote {} ({} bytes, {}) in {:.2f} s; SHA-256 matches the package\n", output,
             target.size(), h->target_version, seconds_since(start));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dfota-pack: synthetic firmware images and DFOTA delta packages for bg95sim"};
  app.set_version_flag("--version", std::string("dfota-pack ") + BG95SIM_VERSION);
  app.require_subcommand(1);

  FirmwareArgs fa;
  auto* firmware = app.add_subcommand(
      "firmware", "Make a synthetic firmware image, or the next version of an existing one");
  auto* model = firmware->add_option("--model", fa.model, "Module model")->capture_default_str();
  auto* size = firmware->add_option("--size", fa.size, "Whole image size (e.g. 16MiB)")
                   ->transform(CLI::AsSizeValue(false))
                   ->capture_default_str();
  firmware->add_option("--revision", fa.revision,
                       "Revision (default: the model's, or the old image's with --from)");
  firmware->add_option("--full-version", fa.full_version,
                       "Full version (default: <revision>_01.011.01.011, or the next after the "
                       "old image's with --from)");
  firmware->add_option("--seed", fa.seed,
                       "Seed (default 0xB695 as the module's first image; with --from, taken "
                       "from the old body's SHA-256)");
  auto* from = firmware->add_option("--from", fa.from, "Derive the next version of this image")
                   ->check(CLI::ExistingFile);
  from->excludes(model)->excludes(size);
  firmware->add_option("--change", fa.change, "Fraction of the body to edit, with --from")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str()
      ->needs(from);
  firmware
      ->add_flag("--bump-revision", fa.bump_revision,
                 "With --from: also step the revision (…A03 -> …A04)")
      ->needs(from);
  firmware->add_option("-o,--output", fa.output, "Image file to write")->required();

  DiffArgs da;
  auto* diff = app.add_subcommand("diff", "Make a package updating SOURCE to TARGET");
  diff->add_option("source", da.source, "Source (old) image")->required()->check(CLI::ExistingFile);
  diff->add_option("target", da.target, "Target (new) image")->required()->check(CLI::ExistingFile);
  diff->add_option("-o,--output", da.output, "Package file to write")->required();
  diff->add_option("--level", da.level, "zstd level")
      ->check(CLI::Range(1, 22))
      ->capture_default_str();
  diff->add_option("--threads", da.threads, "zstd worker threads (0: single-threaded)")
      ->check(CLI::Range(0, 64))
      ->capture_default_str();
  diff->add_option("--payload", da.payload,
                   "Wrap this payload (made by `zstd --patch-from=SOURCE TARGET`) instead")
      ->check(CLI::ExistingFile);

  std::string inspect_path, inspect_source;
  auto* inspect = app.add_subcommand("inspect", "Print and verify an image or a package");
  inspect->add_option("file", inspect_path, "Image or package")
      ->required()
      ->check(CLI::ExistingFile);
  inspect
      ->add_option("--source", inspect_source,
                   "For a package: also apply it to this image and check the target")
      ->check(CLI::ExistingFile);

  std::string apply_source, apply_package, apply_output;
  auto* apply = app.add_subcommand("apply", "Apply a package to an image offline");
  apply->add_option("source", apply_source, "Source (old) image")
      ->required()
      ->check(CLI::ExistingFile);
  apply->add_option("package", apply_package, "Package")->required()->check(CLI::ExistingFile);
  apply->add_option("-o,--output", apply_output, "Target image to write")->required();

  std::string export_state, export_output;
  auto* exporting = app.add_subcommand(
      "export", "Write the image a module's flash runs (its state folder) to a file");
  exporting->add_option("--state", export_state, "The module's state folder")->required();
  exporting->add_option("-o,--output", export_output, "Image to write")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*exporting) return cmd_export(export_state, export_output);
    if (*firmware) return cmd_firmware(fa);
    if (*diff) return cmd_diff(da);
    if (*inspect) return cmd_inspect(inspect_path, inspect_source);
    if (*apply) return cmd_apply(apply_source, apply_package, apply_output);
  } catch (const Failure& f) {
    std::fflush(stdout);
    fmt::print(stderr, "dfota-pack: {}\n", f.message);
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "dfota-pack: {}\n", e.what());
    return 1;
  }
  return 1;
}
