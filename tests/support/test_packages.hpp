#pragma once
// Test support: the firmware images and delta packages the DFOTA tests serve, and noise.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bg95::test {

using Bytes = std::vector<std::uint8_t>;

inline std::string as_string(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

// The image a new bg95sim writes on first start (Module::create_default_image), of 4 MiB or
// of the size given with --firmware-size.
Bytes default_image(std::size_t size = 4 * 1024 * 1024);
// The next version of an image: revision and full version stepped, 3 % of the body changed.
Bytes next_image(const Bytes& old_image, std::uint64_t seed = 7);
// A next version of which `fresh_bytes` bytes are new (not derivable from the old image), so
// that its package is about that large.
Bytes image_with_fresh_bytes(const Bytes& old_image, std::size_t fresh_bytes);
Bytes make_package(const Bytes& source, const Bytes& target);
// `n` bytes of noise, the same for the same seed.
std::string random_bytes(std::size_t n, std::uint64_t seed);

}  // namespace bg95::test
