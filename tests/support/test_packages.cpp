#include "tests/support/test_packages.hpp"

#include <random>
#include <span>

#include "sim/firmware/image.hpp"
#include "sim/firmware/package.hpp"
#include "sim/firmware/synthetic.hpp"

namespace bg95::test {

Bytes default_image(std::size_t size) {
  firmware::ImageHeader h;
  h.model = "BG95-M3";
  h.revision = firmware::default_revision(h.model);
  h.full_version = firmware::default_full_version(h.revision);
  return firmware::make_image(h,
                              firmware::synthetic_body(size - firmware::kImageHeaderSize, 0xB695));
}

namespace {
firmware::ImageHeader next_header(const Bytes& old_image) {
  firmware::ImageHeader h = *firmware::decode_image_header(old_image);
  h.revision = firmware::next_revision(h.revision);
  h.full_version = h.revision + "_01.012.01.012";
  return h;
}
}  // namespace

Bytes next_image(const Bytes& old_image, std::uint64_t seed) {
  const auto body = firmware::derive_next_body(
      std::span(old_image).subspan(firmware::kImageHeaderSize), 0.03, seed);
  return firmware::make_image(next_header(old_image), body);
}

Bytes image_with_fresh_bytes(const Bytes& old_image, std::size_t fresh_bytes) {
  Bytes body(old_image.begin() + firmware::kImageHeaderSize, old_image.end());
  std::mt19937_64 rng(99);
  for (std::size_t i = 0; i < fresh_bytes && i < body.size(); ++i)
    body[body.size() / 4 + i % (body.size() / 2)] = static_cast<std::uint8_t>(rng());
  return firmware::make_image(next_header(old_image), body);
}

Bytes make_package(const Bytes& source, const Bytes& target) {
  return *firmware::make_package(source, target, {.level = 3});
}

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

}  // namespace bg95::test
