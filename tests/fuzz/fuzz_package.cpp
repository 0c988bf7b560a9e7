// DFOTA packages (sim/firmware/package.*) on hostile bytes: the header decoder, verify_package,
// and the whole offline apply of `dfota-pack apply` (apply_package: verify, match the source,
// zstd patch-from decode, target checks) against a small fixed source image, the one
// `dfota-pack firmware --size 4096` makes. Sizes in the header are the attacker's: nothing may
// crash, and memory stays bounded by the limits the decoder enforces.
//
// The first byte picks how the rest is used:
//   bit 0 clear: as it is (most inputs die at the header CRC or the whole-package SHA-256);
//   bit 0 set:   "sealed": magic, version, header size, payload size, header CRC and trailer
//                SHA-256 are made right so that the payload decoder is reached; bit 1 also
//                makes the source size and SHA-256 those of the fixed source image.
//   bits 2-7:    the piece size the payload is also streamed to a PatchDecoder in.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "sim/firmware/image.hpp"
#include "sim/firmware/package.hpp"
#include "sim/module.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"
#include "sim/util/sha256.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace fw = bg95::firmware;
namespace util = bg95::util;

// docs/package-format.md, "DFOTA package": the offsets the sealing fixes up.
constexpr std::size_t kOffVersion = 8, kOffHeaderSize = 10, kOffSourceSize = 16,
                      kOffPayloadSize = 32, kOffSourceSha = 40, kOffCrc = 252;

const std::vector<std::uint8_t>& source_image() {
  static const std::vector<std::uint8_t> image = bg95::make_default_image("BG95-M3", 4096);
  return image;
}

// The input as header + payload; the trailer is computed.
std::vector<std::uint8_t> seal(std::span<const std::uint8_t> input, bool source_too) {
  std::vector<std::uint8_t> package(input.begin(), input.end());
  if (package.size() < fw::kPackageHeaderSize) package.resize(fw::kPackageHeaderSize, 0);
  std::memcpy(package.data(), fw::kPackageMagic, sizeof fw::kPackageMagic);
  util::put_le<std::uint16_t>(package, kOffVersion, fw::kPackageFormatVersion);
  util::put_le<std::uint16_t>(package, kOffHeaderSize, fw::kPackageHeaderSize);
  util::put_le<std::uint64_t>(package, kOffPayloadSize, package.size() - fw::kPackageHeaderSize);
  if (source_too) {
    util::put_le<std::uint64_t>(package, kOffSourceSize, source_image().size());
    const util::Digest digest = util::sha256(source_image());
    std::memcpy(package.data() + kOffSourceSha, digest.data(), digest.size());
  }
  util::put_le<std::uint32_t>(package, kOffCrc,
                              util::crc32(std::span<const std::uint8_t>(package).first(kOffCrc)));
  const util::Digest trailer = util::sha256(package);
  package.insert(package.end(), trailer.begin(), trailer.end());
  return package;
}

// The payload fed to a decoder in small pieces (the header check holds bytes back across feeds).
void stream(std::span<const std::uint8_t> payload, std::uint64_t target_size, std::size_t piece) {
  fw::PatchDecoder decoder(source_image(), target_size);
  std::uint64_t out = 0;
  for (std::size_t at = 0; at < payload.size(); at += piece) {
    const auto r = decoder.feed(payload.subspan(at, std::min(piece, payload.size() - at)),
                                [&out](std::span<const std::uint8_t> bytes) {
                                  out += bytes.size();
                                  return true;
                                });
    if (!r) break;
  }
  BG95_FUZZ_CHECK(out == decoder.produced());
  BG95_FUZZ_CHECK(out <= target_size);
  BG95_FUZZ_CHECK(!decoder.finished() || out == target_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  const std::span<const std::uint8_t> input(data + 1, size - 1);
  const std::vector<std::uint8_t> package =
      (mode & 1) != 0 ? seal(input, (mode & 2) != 0)
                      : std::vector<std::uint8_t>(input.begin(), input.end());

  const auto header = fw::decode_package_header(package);
  const auto verified = fw::verify_package(package);
  BG95_FUZZ_CHECK(!verified || header);
  const auto target = fw::apply_package(source_image(), package);
  // An apply does not check the package's own SHA-256 (only its target's, which a wrong source
  // or a damaged payload cannot match): what it yields is always the target the header names.
  if (target) {
    BG95_FUZZ_CHECK(header && target->size() == header->target_size);
    BG95_FUZZ_CHECK(util::sha256(*target) == header->target_sha256);
  }
  if (!verified) return 0;
  BG95_FUZZ_CHECK(verified->package_size() == package.size());
  const auto again = fw::decode_package_header(fw::encode_package_header(*verified));
  BG95_FUZZ_CHECK(again && again->source_version == verified->source_version &&
                  again->target_version == verified->target_version &&
                  again->source_size == verified->source_size &&
                  again->target_size == verified->target_size &&
                  again->payload_size == verified->payload_size);
  if (target) {
    BG95_FUZZ_CHECK(target->size() == verified->target_size);
    BG95_FUZZ_CHECK(util::sha256(*target) == verified->target_sha256);
  }
  const std::size_t piece = 1 + static_cast<std::size_t>(mode >> 2) * 67;
  stream(std::span<const std::uint8_t>(package).subspan(fw::kPackageHeaderSize,
                                                        verified->payload_size),
         verified->target_size, piece);
  return 0;
}
