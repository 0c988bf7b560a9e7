// The firmware image header decoder and verify_image (sim/firmware/image.*) on hostile bytes.
// The first byte picks how the rest is used:
//   bit 0 clear: as it is (most inputs die at the magic or the header CRC);
//   bit 0 set:   "sealed": magic, format version, header size and header CRC made right, so
//                that the field checks behind them are reached; bit 1 also makes the body size
//                and SHA-256 those of the bytes after the header, so verify_image can pass.
// Whatever decodes must survive encode -> decode unchanged.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "sim/firmware/image.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace fw = bg95::firmware;
namespace util = bg95::util;

// docs/package-format.md, "Firmware image": the offsets the sealing fixes up.
constexpr std::size_t kOffVersion = 8, kOffHeaderSize = 10, kOffBodySize = 16, kOffBodySha = 24,
                      kOffCrc = 252;

void seal(std::vector<std::uint8_t>& image, bool body_too) {
  if (image.size() < fw::kImageHeaderSize) image.resize(fw::kImageHeaderSize, 0);
  std::memcpy(image.data(), fw::kImageMagic, sizeof fw::kImageMagic);
  util::put_le<std::uint16_t>(image, kOffVersion, fw::kImageFormatVersion);
  util::put_le<std::uint16_t>(image, kOffHeaderSize, fw::kImageHeaderSize);
  if (body_too) {
    const auto body = std::span<const std::uint8_t>(image).subspan(fw::kImageHeaderSize);
    util::put_le<std::uint64_t>(image, kOffBodySize, body.size());
    const util::Digest digest = util::sha256(body);
    std::memcpy(image.data() + kOffBodySha, digest.data(), digest.size());
  }
  util::put_le<std::uint32_t>(image, kOffCrc,
                              util::crc32(std::span<const std::uint8_t>(image).first(kOffCrc)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  std::vector<std::uint8_t> image(data + 1, data + size);
  if ((mode & 1) != 0) seal(image, (mode & 2) != 0);

  const auto header = fw::decode_image_header(image);
  const auto verified = fw::verify_image(image);
  BG95_FUZZ_CHECK(!verified || header);
  if (!header) return 0;
  BG95_FUZZ_CHECK(header->body_size <= fw::kMaxImageBody);
  const auto again = fw::decode_image_header(fw::encode_image_header(*header));
  BG95_FUZZ_CHECK(again.ok());
  BG95_FUZZ_CHECK(again->model == header->model && again->revision == header->revision &&
                  again->full_version == header->full_version &&
                  again->body_size == header->body_size &&
                  again->body_sha256 == header->body_sha256);
  if (verified) {
    BG95_FUZZ_CHECK(image.size() == verified->image_size());
    const auto body = std::span<const std::uint8_t>(image).subspan(fw::kImageHeaderSize);
    BG95_FUZZ_CHECK(fw::verify_image(fw::make_image(*verified, body)).ok());
  }
  return 0;
}
