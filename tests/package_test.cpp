// DFOTA packages: header round trip and rejection, patch-from payloads made by make_package and
// by the stock zstd CLI, streaming decode in odd chunks, corrupt and hostile input, and the
// synthetic next-version generator.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "sim/firmware/image.hpp"
#include "sim/firmware/package.hpp"
#include "sim/firmware/synthetic.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::firmware {
namespace {

using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

Bytes image_of(std::span<const std::uint8_t> body, const std::string& full_version) {
  ImageHeader h;
  h.model = "BG95-M3";
  h.revision = "BG95M3LAR02A03";
  h.full_version = full_version;
  return make_image(h, body);
}

// A source image and its 3 %-changed successor, as dfota-pack makes them.
struct ImagePair {
  Bytes source, target;
};
ImagePair make_pair(std::uint64_t image_size, std::uint64_t seed) {
  const Bytes body = synthetic_body(image_size - kImageHeaderSize, seed);
  const Bytes next = derive_next_body(body, 0.03, seed + 1);
  return {image_of(body, "BG95M3LAR02A03_01.011.01.011"),
          image_of(next, "BG95M3LAR02A03_01.012.01.012")};
}

std::span<const std::uint8_t> payload_of(const Bytes& package) {
  const auto h = decode_package_header(package);
  EXPECT_TRUE(h.ok()) << (h ? "" : h.error());
  return std::span<const std::uint8_t>(package).subspan(kPackageHeaderSize, h->payload_size);
}

// The outcome of decoding a payload fed in chunks of `chunk` bytes.
struct Decoded {
  Bytes target;
  bool finished = false;
  std::string error;  // empty when every feed succeeded
};
Decoded decode(std::span<const std::uint8_t> source, std::uint64_t target_size,
               std::span<const std::uint8_t> payload, std::size_t chunk) {
  Decoded d;
  PatchDecoder decoder(source, target_size);
  const PatchDecoder::Sink sink = [&d](std::span<const std::uint8_t> out) {
    d.target.insert(d.target.end(), out.begin(), out.end());
    return true;
  };
  for (std::size_t at = 0; at < payload.size(); at += chunk) {
    auto r = decoder.feed(payload.subspan(at, std::min(chunk, payload.size() - at)), sink);
    if (!r) {
      d.error = r.error();
      break;
    }
    EXPECT_EQ(*r, decoder.finished());
  }
  d.finished = decoder.finished();
  EXPECT_EQ(decoder.produced(), d.target.size());
  return d;
}

PackageHeader sample_header() {
  PackageHeader h;
  h.source_version = "BG95M3LAR02A03_01.011.01.011";
  h.target_version = "BG95M3LAR02A03_01.012.01.012";
  for (std::size_t i = 0; i < 32; ++i) {
    h.source_sha256[i] = static_cast<std::uint8_t>(i);
    h.target_sha256[i] = static_cast<std::uint8_t>(255 - i);
  }
  h.source_size = 4u << 20;
  h.target_size = (4u << 20) + 1234;
  h.payload_size = 98765;
  return h;
}

// Rewrites the header CRC after a deliberate field change, so the field check itself is hit.
void fix_crc(Bytes& header) {
  util::put_le<std::uint32_t>(header, 252, util::crc32(std::span(header).first(252)));
}

// A temporary folder for the files the zstd CLI reads and writes.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "package_test.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

void write_file(const fs::path& path, std::span<const std::uint8_t> data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int run(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// ---- header -------------------------------------------------------------------------------

TEST(PackageHeader, RoundTrip) {
  const PackageHeader h = sample_header();
  const Bytes bytes = encode_package_header(h);
  ASSERT_EQ(bytes.size(), kPackageHeaderSize);
  EXPECT_EQ(0, std::memcmp(bytes.data(), "BG95DPKG", 8));
  const auto d = decode_package_header(bytes);
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->format_version, kPackageFormatVersion);
  EXPECT_EQ(d->source_version, h.source_version);
  EXPECT_EQ(d->target_version, h.target_version);
  EXPECT_EQ(d->source_sha256, h.source_sha256);
  EXPECT_EQ(d->target_sha256, h.target_sha256);
  EXPECT_EQ(d->source_size, h.source_size);
  EXPECT_EQ(d->target_size, h.target_size);
  EXPECT_EQ(d->payload_size, h.payload_size);
  EXPECT_EQ(d->codec, PayloadCodec::ZstdPatchFrom);
  EXPECT_EQ(d->package_size(), kPackageHeaderSize + h.payload_size + kPackageTrailerSize);
  // The documented offsets (docs/package-format.md).
  EXPECT_EQ(util::get_le<std::uint16_t>(bytes, 8), 1);
  EXPECT_EQ(util::get_le<std::uint16_t>(bytes, 10), 256);
  EXPECT_EQ(util::get_le<std::uint16_t>(bytes, 12), 1);
  EXPECT_EQ(util::get_le<std::uint64_t>(bytes, 16), h.source_size);
  EXPECT_EQ(util::get_le<std::uint64_t>(bytes, 24), h.target_size);
  EXPECT_EQ(util::get_le<std::uint64_t>(bytes, 32), h.payload_size);
  EXPECT_EQ(bytes[40], 0);
  EXPECT_EQ(bytes[72], 255);
  EXPECT_EQ(util::get_text(bytes, 104, 64), h.source_version);
  EXPECT_EQ(util::get_text(bytes, 168, 64), h.target_version);
}

TEST(PackageHeader, RejectsDamageAndNonsense) {
  const Bytes good = encode_package_header(sample_header());
  auto error_of = [](const Bytes& b) {
    const auto d = decode_package_header(b);
    return d ? std::string("accepted") : d.error();
  };
  EXPECT_NE(error_of(Bytes(good.begin(), good.begin() + 255)).find("needs 256"), std::string::npos);

  Bytes b = good;
  b[0] = 'X';
  EXPECT_NE(error_of(b).find("bad magic"), std::string::npos);

  b = good;
  b[110] ^= 0x01;  // inside the source version, CRC left stale
  EXPECT_NE(error_of(b).find("CRC"), std::string::npos);

  b = good;
  util::put_le<std::uint16_t>(b, 8, 2);
  fix_crc(b);
  EXPECT_NE(error_of(b).find("format version 2"), std::string::npos);

  b = good;
  util::put_le<std::uint16_t>(b, 12, 7);
  fix_crc(b);
  EXPECT_NE(error_of(b).find("codec 7"), std::string::npos);

  b = good;
  util::put_le<std::uint64_t>(b, 32, ~0ull);  // would wrap package_size()
  fix_crc(b);
  EXPECT_NE(error_of(b).find("absurd"), std::string::npos);

  b = good;
  util::put_le<std::uint64_t>(b, 32, 65ull << 20);
  fix_crc(b);
  EXPECT_NE(error_of(b).find("absurd"), std::string::npos);

  b = good;
  util::put_le<std::uint64_t>(b, 32, 0);
  fix_crc(b);
  EXPECT_NE(error_of(b).find("empty payload"), std::string::npos);

  b = good;
  util::put_le<std::uint64_t>(b, 24, 1ull << 40);
  fix_crc(b);
  EXPECT_NE(error_of(b).find("target image size"), std::string::npos);

  b = good;
  util::put_le<std::uint64_t>(b, 16, 100);
  fix_crc(b);
  EXPECT_NE(error_of(b).find("source image size"), std::string::npos);

  b = good;
  util::put_text(b, 168, 64, "");
  fix_crc(b);
  EXPECT_NE(error_of(b).find("version field"), std::string::npos);
}

TEST(PackageHeader, PayloadLargerThanThePackageAreaStillDecodes) {
  // 6 MiB is the module's package area, a download limit, not a format limit.
  PackageHeader h = sample_header();
  h.payload_size = 20ull << 20;
  EXPECT_TRUE(decode_package_header(encode_package_header(h)).ok());
}

// ---- make_package and PatchDecoder ---------------------------------------------------------

TEST(Package, MakeAndDecodeReproducesTheTargetInAnyChunking) {
  const auto [source, target] = make_pair(1u << 20, 11);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();
  const auto h = verify_package(*package);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->source_version, "BG95M3LAR02A03_01.011.01.011");
  EXPECT_EQ(h->target_version, "BG95M3LAR02A03_01.012.01.012");
  EXPECT_EQ(h->source_sha256, util::sha256(source));
  EXPECT_EQ(h->target_sha256, util::sha256(target));
  EXPECT_EQ(h->source_size, source.size());
  EXPECT_EQ(h->target_size, target.size());
  // A 3 % change should not cost anywhere near a full image.
  EXPECT_LT(package->size(), target.size() / 8);

  const auto payload = payload_of(*package);
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, payload.size()}) {
    SCOPED_TRACE(chunk);
    const Decoded d = decode(source, h->target_size, payload, chunk);
    EXPECT_EQ(d.error, "");
    EXPECT_TRUE(d.finished);
    EXPECT_EQ(util::sha256(d.target), h->target_sha256);
    EXPECT_TRUE(verify_image(d.target).ok());
  }
}

TEST(Package, ThreadedCompressionMakesAValidPackage) {
  const auto [source, target] = make_pair(1u << 20, 12);
  const auto package = make_package(source, target, {.level = 3, .threads = 2});
  ASSERT_TRUE(package.ok()) << package.error();
  const Decoded d = decode(source, target.size(), payload_of(*package), 65536);
  EXPECT_TRUE(d.finished) << d.error;
  EXPECT_EQ(d.target, target);
}

TEST(Package, MakePackageRefusesNonImages) {
  const auto [source, target] = make_pair(64u << 10, 13);
  Bytes bad = target;
  bad.back() ^= 1;
  const auto p = make_package(source, bad);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().find("target"), std::string::npos);
  EXPECT_FALSE(make_package(Bytes(100, 0), target).ok());
}

TEST(Package, CorruptPayloadIsAnErrorNeverAWrongImage) {
  const auto [source, target] = make_pair(256u << 10, 14);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();
  const auto digest = util::sha256(target);
  const Bytes payload(payload_of(*package).begin(), payload_of(*package).end());

  // The whole-package SHA-256 catches it first.
  Bytes damaged = *package;
  damaged[kPackageHeaderSize + payload.size() / 2] ^= 0x10;
  const auto v = verify_package(damaged);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().find("SHA-256"), std::string::npos);

  // And the decoder, fed a damaged payload anyway, fails or at worst makes a different image.
  std::uint64_t seed = 99;
  for (int round = 0; round < 200; ++round) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    Bytes p = payload;
    const std::size_t at = static_cast<std::size_t>(seed >> 33) % p.size();
    p[at] = static_cast<std::uint8_t>(p[at] ^ (1u << ((seed >> 20) & 7)));
    const Decoded d = decode(source, target.size(), p, 1000);
    if (d.finished) {
      EXPECT_EQ(util::sha256(d.target), digest) << "round " << round << " byte " << at;
    } else {
      EXPECT_LE(d.target.size(), target.size());
    }
  }
}

TEST(Package, TruncatedPackageAndPayload) {
  const auto [source, target] = make_pair(256u << 10, 15);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();

  const Bytes cut(package->begin(), package->end() - 1);
  const auto v = verify_package(cut);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().find("truncated"), std::string::npos);
  Bytes longer = *package;
  longer.push_back(0);
  EXPECT_FALSE(verify_package(longer).ok());
  EXPECT_FALSE(verify_package(Bytes(package->begin(), package->begin() + 100)).ok());

  const auto payload = payload_of(*package);
  const Decoded d = decode(source, target.size(), payload.first(payload.size() - 10), 4096);
  EXPECT_EQ(d.error, "");
  EXPECT_FALSE(d.finished);
  EXPECT_LT(d.target.size(), target.size());
}

TEST(Package, GarbageAndHostileFramesAreRefused) {
  const auto [source, target] = make_pair(64u << 10, 16);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();
  const auto payload = payload_of(*package);

  // Not zstd at all.
  Bytes garbage(5000);
  for (std::size_t i = 0; i < garbage.size(); ++i)
    garbage[i] = static_cast<std::uint8_t>(i * 131 + 7);
  Decoded d = decode(source, target.size(), garbage, 4096);
  EXPECT_NE(d.error.find("not a zstd frame"), std::string::npos) << d.error;

  // A frame that would make more than the target: refused from its header, before any output.
  d = decode(source, target.size() - 1, payload, 4096);
  EXPECT_NE(d.error.find("package target is"), std::string::npos) << d.error;
  EXPECT_TRUE(d.target.empty());

  // Frames that do not declare their size, or ask for an enormous window.
  const Bytes no_size = {0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x58, 0x01, 0x00, 0x00, 0x00};
  d = decode(source, target.size(), no_size, 1);
  EXPECT_NE(d.error.find("content size"), std::string::npos) << d.error;
  // Window exponents past libzstd's limit never parse; a 2 GiB window (the limit) with the
  // right content size passes the header check and must not cost 2 GiB.
  auto frame_header = [&target](std::uint8_t descriptor, std::uint8_t window) {
    Bytes f = {0x28, 0xB5, 0x2F, 0xFD, descriptor, window};
    for (int i = 0; i < 8; ++i)
      f.push_back(static_cast<std::uint8_t>(target.size() >> (8 * i)));
    return f;
  };
  Bytes huge_window = frame_header(0xC4, 0xF8);
  huge_window.insert(huge_window.end(), {0x01, 0x00, 0x00, 0x00});
  d = decode(source, target.size(), huge_window, 3);
  EXPECT_NE(d.error.find("corrupt zstd frame header"), std::string::npos) << d.error;
  // Our frame's header: magic, descriptor, [window], content size of 1, 2, 4 or 8 bytes.
  const std::uint8_t descriptor = payload[4];
  const bool single_segment = (descriptor & 0x20u) != 0;
  const std::size_t fcs_size =
      std::array<std::size_t, 4>{single_segment ? 1u : 0u, 2, 4, 8}[descriptor >> 6];
  const std::size_t header_size = 5 + (single_segment ? 0 : 1) + fcs_size;
  Bytes big_window = frame_header(0xC4, 0xA8);
  big_window.insert(big_window.end(), payload.begin() + static_cast<std::ptrdiff_t>(header_size),
                    payload.end());
  d = decode(source, target.size(), big_window, 4096);
  EXPECT_EQ(d.error, "");
  EXPECT_TRUE(d.finished);
  EXPECT_EQ(d.target, target);
  Bytes no_checksum = frame_header(0xC0, 0x58);
  d = decode(source, target.size(), no_checksum, 1);
  EXPECT_NE(d.error.find("no content checksum"), std::string::npos) << d.error;
  d = decode(source, target.size(), frame_header(0xC5, 0x58), 1);
  EXPECT_NE(d.error.find("dictionary"), std::string::npos) << d.error;

  // Bytes after the frame, in the same feed or a later one.
  Bytes trailing(payload.begin(), payload.end());
  trailing.push_back(0);
  d = decode(source, target.size(), trailing, trailing.size());
  EXPECT_NE(d.error.find("garbage after"), std::string::npos) << d.error;
  d = decode(source, target.size(), trailing, payload.size());
  EXPECT_NE(d.error.find("garbage after"), std::string::npos) << d.error;

  // The wrong source: zstd's frame checksum (or a bad match offset) catches it.
  Bytes other = source;
  other[kImageHeaderSize + 1000] ^= 0xFF;
  d = decode(other, target.size(), payload, 4096);
  EXPECT_FALSE(d.finished && util::sha256(d.target) == util::sha256(target));
  EXPECT_FALSE(d.error.empty());

  // A failed decoder stays failed.
  PatchDecoder decoder(source, target.size());
  const PatchDecoder::Sink sink = [](std::span<const std::uint8_t>) { return true; };
  EXPECT_FALSE(decoder.feed(garbage, sink).ok());
  EXPECT_FALSE(decoder.feed(payload, sink).ok());
}

TEST(Package, SinkCanStopTheDecoder) {
  const auto [source, target] = make_pair(1u << 20, 17);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();
  PatchDecoder decoder(source, target.size());
  std::size_t calls = 0;
  const auto r = decoder.feed(payload_of(*package),
                              [&calls](std::span<const std::uint8_t>) { return ++calls < 2; });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("stopped"), std::string::npos);
  EXPECT_EQ(calls, 2u);
  EXPECT_FALSE(decoder.finished());
}

// The offline apply of `dfota-pack apply` (and the fuzz target fuzz_package).
TEST(Package, ApplyPackageYieldsTheTargetOrSaysWhyNot) {
  const auto [source, target] = make_pair(256u << 10, 19);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();
  const auto applied = apply_package(source, *package);
  ASSERT_TRUE(applied.ok()) << applied.error();
  EXPECT_EQ(*applied, target);

  const auto [other, unused] = make_pair(256u << 10, 23);
  const auto wrong_source = apply_package(other, *package);
  ASSERT_FALSE(wrong_source.ok());
  EXPECT_EQ(wrong_source.error(),
            "the package does not match this source image (source SHA-256 differs)");

  Bytes damaged = *package;
  damaged[kPackageHeaderSize + 40] ^= 0x01;
  const auto corrupt = apply_package(source, damaged);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error(), "package SHA-256 mismatch (corrupted package)");
}

// ---- the stock zstd CLI --------------------------------------------------------------------

TEST(Package, StockZstdPatchFromPayloadApplies) {
  const auto [source, target] = make_pair(2u << 20, 18);
  TempDir dir;
  write_file(dir / "old.img", source);
  write_file(dir / "new.img", target);
  for (const std::string flags : {"-19", "-19 --long=27", "-3 --single-thread"}) {
    SCOPED_TRACE(flags);
    const fs::path out = dir / "payload.zst";
    ASSERT_EQ(0,
              run("/usr/bin/zstd -q -f " + flags + " --patch-from='" + (dir / "old.img").string() +
                  "' '" + (dir / "new.img").string() + "' -o '" + out.string() + "' 2>/dev/null"));
    const Bytes payload = read_file(out);
    ASSERT_FALSE(payload.empty());
    const Bytes package = wrap_payload(source, target, payload);
    const auto h = verify_package(package);
    ASSERT_TRUE(h.ok()) << h.error();
    EXPECT_EQ(h->payload_size, payload.size());
    EXPECT_EQ(h->target_version, "BG95M3LAR02A03_01.012.01.012");
    for (std::size_t chunk : {std::size_t{7}, std::size_t{4096}}) {
      const Decoded d = decode(source, h->target_size, payload_of(package), chunk);
      EXPECT_EQ(d.error, "");
      ASSERT_TRUE(d.finished);
      EXPECT_EQ(util::sha256(d.target), h->target_sha256);
    }
  }
}

TEST(Package, StockZstdDecodesOurPayload) {
  const auto [source, target] = make_pair(1u << 20, 19);
  const auto package = make_package(source, target);
  ASSERT_TRUE(package.ok()) << package.error();
  TempDir dir;
  write_file(dir / "old.img", source);
  write_file(dir / "p.zst", payload_of(*package));
  ASSERT_EQ(
      0, run("/usr/bin/zstd -q -d -f --patch-from='" + (dir / "old.img").string() + "' '" +
             (dir / "p.zst").string() + "' -o '" + (dir / "new.img").string() + "' 2>/dev/null"));
  EXPECT_EQ(read_file(dir / "new.img"), target);
}

// ---- synthetic evolution -------------------------------------------------------------------

// The share of the new body's 8-byte sequences that appear nowhere in the old body: a
// shift-proof measure of how much of it is new.
double new_fraction(std::span<const std::uint8_t> old_body, std::span<const std::uint8_t> body) {
  auto gram = [](std::span<const std::uint8_t> b, std::size_t i) {
    return util::get_le<std::uint64_t>(b, i);
  };
  std::unordered_set<std::uint64_t> seen;
  seen.reserve(old_body.size());
  for (std::size_t i = 0; i + 8 <= old_body.size(); ++i)
    seen.insert(gram(old_body, i));
  std::size_t fresh = 0;
  for (std::size_t i = 0; i + 8 <= body.size(); ++i)
    fresh += seen.count(gram(body, i)) ? 0u : 1u;
  return static_cast<double>(fresh) / static_cast<double>(body.size());
}

TEST(Synthetic, DeriveNextBodyChangesRoughlyTheAskedFraction) {
  const Bytes body = synthetic_body(1u << 20, 5);
  for (double f : {0.01, 0.03, 0.10}) {
    SCOPED_TRACE(f);
    BodyEdits e;
    const Bytes next = derive_next_body(body, f, 42, e);
    const double spent = static_cast<double>(e.changed + e.inserted + e.deleted);
    EXPECT_NEAR(spent / static_cast<double>(body.size()), f, f * 0.1 + 0.002);
    EXPECT_GT(e.inserted, 0u);
    EXPECT_GT(e.deleted, 0u);
    EXPECT_GT(e.clusters, 10u);
    EXPECT_EQ(next.size(), body.size() + e.inserted - e.deleted);
    const double fresh = new_fraction(body, next);
    EXPECT_GT(fresh, f * 0.5);
    EXPECT_LT(fresh, f * 2.5);
  }
}

TEST(Synthetic, DeriveNextBodyIsDeterministic) {
  const Bytes body = synthetic_body(256u << 10, 6);
  EXPECT_EQ(derive_next_body(body, 0.03, 1), derive_next_body(body, 0.03, 1));
  EXPECT_NE(derive_next_body(body, 0.03, 1), derive_next_body(body, 0.03, 2));
  EXPECT_EQ(derive_next_body(body, 0.0, 1), body);
  EXPECT_TRUE(derive_next_body({}, 0.5, 1).empty());
  // Extremes stay within bounds and terminate.
  EXPECT_FALSE(derive_next_body(body, 1.0, 3).empty());
  EXPECT_FALSE(derive_next_body(Bytes(10, 1), 0.5, 3).empty());
}

TEST(Synthetic, NextVersions) {
  EXPECT_EQ(next_full_version("BG95M3LAR02A03_01.011.01.011"), "BG95M3LAR02A03_01.012.01.012");
  EXPECT_EQ(next_full_version("BG95M3LAR02A03_01.199.01.199"), "BG95M3LAR02A03_01.200.01.200");
  EXPECT_EQ(next_full_version("BG77LAR02A04_01.999.01.999"), "BG77LAR02A04_01.1000.01.1000");
  EXPECT_EQ(next_full_version("custom-7"), "custom-8");
  EXPECT_EQ(next_full_version("custom"), "custom_01");
  EXPECT_EQ(next_revision("BG95M3LAR02A03"), "BG95M3LAR02A04");
  EXPECT_EQ(next_revision("BG95M3LAR02A09"), "BG95M3LAR02A10");
  EXPECT_EQ(next_revision("BG95M3LAR02A"), "BG95M3LAR02A01");
}

}  // namespace
}  // namespace bg95::firmware
