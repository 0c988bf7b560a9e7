#pragma once
// The firmware image format (docs/package-format.md): a 256-byte header followed by the body.
// The module reads its revision from this header in flash, so an update changes ATI, AT+CGMR
// and AT+QGMR by itself.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sim/util/expected.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::firmware {

inline constexpr std::size_t kImageHeaderSize = 256;
inline constexpr char kImageMagic[8] = {'B', 'G', '9', '5', 'F', 'W', 'I', 'M'};
inline constexpr std::uint16_t kImageFormatVersion = 1;
inline constexpr std::uint64_t kMaxImageBody = 32ull * 1024 * 1024 - kImageHeaderSize;
// The header's text fields hold at most this many characters, each printable ASCII (no space).
inline constexpr std::size_t kImageModelSize = 16, kImageRevisionSize = 32, kImageVersionSize = 64;

struct ImageHeader {
  std::string model;         // "BG95-M3"
  std::string revision;      // "BG95M3LAR02A03"
  std::string full_version;  // "BG95M3LAR02A03_01.011.01.011"
  std::uint64_t body_size = 0;
  util::Digest body_sha256{};

  std::uint64_t image_size() const { return kImageHeaderSize + body_size; }
};

std::vector<std::uint8_t> encode_image_header(const ImageHeader& header);
// Checks magic, format version, field syntax and the header CRC.
util::Expected<ImageHeader> decode_image_header(std::span<const std::uint8_t> bytes);

// A whole image: header + body.
std::vector<std::uint8_t> make_image(const ImageHeader& fields, std::span<const std::uint8_t> body);
util::Expected<ImageHeader> verify_image(std::span<const std::uint8_t> image);

// The revision Quectel ships for each model, and the full version built from it.
std::string default_revision(const std::string& model);
std::string default_full_version(const std::string& revision);
bool known_model(const std::string& model);

// A synthetic firmware body, deterministic from the seed: code-like words with repeats, so
// that it compresses like real firmware rather than like noise.
std::vector<std::uint8_t> synthetic_body(std::uint64_t size, std::uint64_t seed);

}  // namespace bg95::firmware
