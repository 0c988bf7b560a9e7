#include "sim/firmware/image.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <fmt/format.h>

#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"

namespace bg95::firmware {
namespace {

// Header layout (all integers little-endian):
constexpr std::size_t kOffMagic = 0;          // 8  "BG95FWIM"
constexpr std::size_t kOffVersion = 8;        // 2  format version
constexpr std::size_t kOffHeaderSize = 10;    // 2  256
constexpr std::size_t kOffBodySize = 16;      // 8
constexpr std::size_t kOffBodySha = 24;       // 32
constexpr std::size_t kOffModel = 56;         // 16
constexpr std::size_t kOffRevision = 72;      // 32
constexpr std::size_t kOffFullVersion = 104;  // 64
constexpr std::size_t kOffCrc = 252;          // 4  CRC-32 of bytes 0..251

bool printable(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

struct ModelRevision {
  const char* model;
  const char* revision;
};
constexpr std::array kModels{
    ModelRevision{"BG95-M1", "BG95M1LAR02A03"}, ModelRevision{"BG95-M2", "BG95M2LAR02A03"},
    ModelRevision{"BG95-M3", "BG95M3LAR02A03"}, ModelRevision{"BG95-M4", "BG95M4LAR02A02"},
    ModelRevision{"BG95-M5", "BG95M5LAR02A03"}, ModelRevision{"BG77", "BG77LAR02A04"},
};

}  // namespace

std::vector<std::uint8_t> encode_image_header(const ImageHeader& h) {
  std::vector<std::uint8_t> out(kImageHeaderSize, 0);
  std::memcpy(out.data() + kOffMagic, kImageMagic, sizeof kImageMagic);
  util::put_le<std::uint16_t>(out, kOffVersion, kImageFormatVersion);
  util::put_le<std::uint16_t>(out, kOffHeaderSize, kImageHeaderSize);
  util::put_le<std::uint64_t>(out, kOffBodySize, h.body_size);
  std::copy(h.body_sha256.begin(), h.body_sha256.end(), out.begin() + kOffBodySha);
  util::put_text(out, kOffModel, kImageModelSize, h.model);
  util::put_text(out, kOffRevision, kImageRevisionSize, h.revision);
  util::put_text(out, kOffFullVersion, kImageVersionSize, h.full_version);
  util::put_le<std::uint32_t>(out, kOffCrc,
                              util::crc32(std::span<const std::uint8_t>(out).first(kOffCrc)));
  return out;
}

util::Expected<ImageHeader> decode_image_header(std::span<const std::uint8_t> b) {
  if (b.size() < kImageHeaderSize)
    return util::Error{
        fmt::format("image header needs {} bytes, have {}", kImageHeaderSize, b.size())};
  if (std::memcmp(b.data() + kOffMagic, kImageMagic, sizeof kImageMagic) != 0)
    return util::Error{"not a firmware image (bad magic)"};
  const auto version = util::get_le<std::uint16_t>(b, kOffVersion);
  if (version != kImageFormatVersion)
    return util::Error{fmt::format("unsupported image format version {}", version)};
  if (util::get_le<std::uint16_t>(b, kOffHeaderSize) != kImageHeaderSize)
    return util::Error{"bad image header size"};
  if (util::get_le<std::uint32_t>(b, kOffCrc) != util::crc32(b.first(kOffCrc)))
    return util::Error{"image header CRC mismatch"};
  ImageHeader h;
  h.body_size = util::get_le<std::uint64_t>(b, kOffBodySize);
  std::copy_n(b.begin() + kOffBodySha, 32, h.body_sha256.begin());
  h.model = util::get_text(b, kOffModel, kImageModelSize);
  h.revision = util::get_text(b, kOffRevision, kImageRevisionSize);
  h.full_version = util::get_text(b, kOffFullVersion, kImageVersionSize);
  if (h.body_size > kMaxImageBody)
    return util::Error{fmt::format("image body of {} bytes is over the limit", h.body_size)};
  if (!printable(h.model) || !printable(h.revision) || !printable(h.full_version))
    return util::Error{"image header has an empty or non-printable name field"};
  return h;
}

std::vector<std::uint8_t> make_image(const ImageHeader& fields,
                                     std::span<const std::uint8_t> body) {
  ImageHeader h = fields;
  h.body_size = body.size();
  h.body_sha256 = util::sha256(body);
  std::vector<std::uint8_t> out = encode_image_header(h);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

util::Expected<ImageHeader> verify_image(std::span<const std::uint8_t> image) {
  auto h = decode_image_header(image);
  if (!h) return h;
  if (image.size() != h->image_size())
    return util::Error{
        fmt::format("image has {} bytes, header says {}", image.size(), h->image_size())};
  if (util::sha256(image.subspan(kImageHeaderSize)) != h->body_sha256)
    return util::Error{"image body SHA-256 mismatch"};
  return h;
}

std::string default_revision(const std::string& model) {
  for (const auto& m : kModels)
    if (model == m.model) return m.revision;
  return "BG95M3LAR02A03";
}

std::string default_full_version(const std::string& revision) {
  return revision + "_01.011.01.011";
}

bool known_model(const std::string& model) {
  return std::any_of(kModels.begin(), kModels.end(),
                     [&](const ModelRevision& m) { return model == m.model; });
}

std::vector<std::uint8_t> synthetic_body(std::uint64_t size, std::uint64_t seed) {
  // splitmix64: small, fast and the same on every machine.
  std::uint64_t state = seed ^ 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<std::uint8_t> body;
  body.reserve(size);
  // A small "instruction set" of 4-byte words; functions are runs of words with operands,
  // some functions are copies of earlier ones (inlined helpers, tables), as in real code.
  std::array<std::uint32_t, 64> opcodes{};
  for (auto& op : opcodes)
    op = static_cast<std::uint32_t>(next()) & 0xFFF0F0F0u;
  while (body.size() < size) {
    const std::uint64_t r = next();
    if (body.size() > 4096 && (r & 7) == 0) {
      const std::size_t len = std::min<std::size_t>(64 + (r >> 8) % 512, size - body.size());
      const std::size_t from = (r >> 20) % (body.size() - len);
      for (std::size_t i = 0; i < len; ++i)
        body.push_back(body[from + i]);
      continue;
    }
    const std::size_t words = 8 + (r >> 8) % 56;
    for (std::size_t w = 0; w < words && body.size() < size; ++w) {
      const std::uint64_t x = next();
      std::uint32_t word = opcodes[x & 63] | (static_cast<std::uint32_t>(x >> 8) & 0x000F0F0Fu);
      for (int k = 0; k < 4 && body.size() < size; ++k)
        body.push_back(static_cast<std::uint8_t>(word >> (8 * k)));
    }
  }
  return body;
}

}  // namespace bg95::firmware
