#pragma once
// The DFOTA delta package (docs/package-format.md): a 256-byte header, a payload, and a
// 32-byte trailer holding the SHA-256 of everything before it (integrity of the whole file).
//
// The payload of codec kZstdPatchFrom is one zstd frame compressed with the whole source
// image as its prefix ("patch-from", long-distance matching), so that the stock
// `zstd --patch-from=SOURCE TARGET` also makes a valid payload.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "sim/firmware/image_buffer.hpp"
#include "sim/util/expected.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::firmware {

inline constexpr std::size_t kPackageHeaderSize = 256;
inline constexpr std::size_t kPackageTrailerSize = 32;
inline constexpr char kPackageMagic[8] = {'B', 'G', '9', '5', 'D', 'P', 'K', 'G'};
inline constexpr std::uint16_t kPackageFormatVersion = 1;

enum class PayloadCodec : std::uint16_t { ZstdPatchFrom = 1 };

struct PackageHeader {
  std::uint16_t format_version = kPackageFormatVersion;
  std::string source_version;    // full version of the source image
  util::Digest source_sha256{};  // of the whole source image (header + body)
  std::uint64_t source_size = 0;
  std::string target_version;
  util::Digest target_sha256{};  // of the whole target image
  std::uint64_t target_size = 0;
  PayloadCodec codec = PayloadCodec::ZstdPatchFrom;
  std::uint64_t payload_size = 0;

  std::uint64_t package_size() const {
    return kPackageHeaderSize + payload_size + kPackageTrailerSize;
  }
};

std::vector<std::uint8_t> encode_package_header(const PackageHeader& header);
// Checks magic, version, codec, sizes and the header CRC; not the payload.
util::Expected<PackageHeader> decode_package_header(std::span<const std::uint8_t> bytes);

struct PackOptions {
  int level = 19;
  int threads = 0;  // zstd worker threads; 0 = single-threaded
};
// Makes a whole package (header, payload, trailer) from two whole images.
util::Expected<std::vector<std::uint8_t>> make_package(std::span<const std::uint8_t> source_image,
                                                       std::span<const std::uint8_t> target_image,
                                                       const PackOptions& options = {});
// Wraps a payload made elsewhere (e.g. by `zstd --patch-from`) into a package.
std::vector<std::uint8_t> wrap_payload(std::span<const std::uint8_t> source_image,
                                       std::span<const std::uint8_t> target_image,
                                       std::span<const std::uint8_t> payload);

// Header, size and whole-package SHA-256 of a package held in memory.
util::Expected<PackageHeader> verify_package(std::span<const std::uint8_t> package);

// The whole offline apply (`dfota-pack apply`, and its check after `dfota-pack diff`): decodes
// the payload straight into `target` (made here, the header's target size, at most 32 MiB),
// hashing it as it comes, and checks the result against the package's target SHA-256 and its
// image header. The whole-package SHA-256 and the source's SHA-256 are computed only when that
// fails, to say why (a corrupted package, another source): a package that yields exactly its target
// needs neither, and a wrong source or damaged payload cannot yield it. The errors are those
// of checking both first.
// `writer`, when given, gets the target in order, range by range as it is decoded (false:
// stop, the apply fails), so that a caller writing it to a file writes each byte once while it
// is in the cache; what it got is only good once the apply succeeded.
using ApplyWriter = std::function<bool(std::span<const std::uint8_t> target_bytes)>;
util::Expected<PackageHeader> apply_package(std::span<const std::uint8_t> source_image,
                                            std::span<const std::uint8_t> package,
                                            ImageBuffer& target, const ApplyWriter& writer = {});
// The same into a vector (tests, the fuzz target).
util::Expected<std::vector<std::uint8_t>> apply_package(std::span<const std::uint8_t> source_image,
                                                        std::span<const std::uint8_t> package);

// Streams a payload back into the target image. The source image must stay alive and
// unchanged while the decoder exists (it is the zstd prefix).
class PatchDecoder {
 public:
  using Sink = std::function<bool(std::span<const std::uint8_t> target_bytes)>;  // false: stop

  PatchDecoder(std::span<const std::uint8_t> source_image, std::uint64_t target_size);
  // Decodes straight into `target` (target_size = target.size()), which must stay alive and
  // untouched while the decoder exists; the sink sees each newly decoded range of it. zstd then
  // uses `target` as its window: no window buffer of its own and one copy fewer per byte.
  PatchDecoder(std::span<const std::uint8_t> source_image, std::span<std::uint8_t> target);
  ~PatchDecoder();
  PatchDecoder(const PatchDecoder&) = delete;
  PatchDecoder& operator=(const PatchDecoder&) = delete;

  // Feeds payload bytes; target bytes go to the sink as they are produced. An error for a
  // corrupt frame, or output beyond target_size.
  util::Expected<bool> feed(std::span<const std::uint8_t> payload, const Sink& sink);
  // True once the frame ended with exactly target_size bytes out.
  bool finished() const;
  std::uint64_t produced() const;
  // For a caller that checks the whole target against the package's SHA-256 itself: zstd
  // then does not compute the frame's XXH64 as well (a second pass over every byte, about
  // 1 ms for 16 MiB). Before the first feed; a damaged payload is still caught, by the hash.
  void skip_frame_checksum();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bg95::firmware
