#include "sim/fs/checksum.hpp"

#include <fmt/format.h>

namespace bg95::fs {

void XorChecksum::update(std::string_view bytes) {
  for (const char c : bytes)
    take(static_cast<std::uint8_t>(c));
  size_ += bytes.size();
}

void XorChecksum::update(std::span<const std::uint8_t> bytes) {
  for (const std::uint8_t b : bytes)
    take(b);
  size_ += bytes.size();
}

std::uint16_t XorChecksum::value() const {
  return odd_ ? static_cast<std::uint16_t>(sum_ ^ (high_ << 8)) : sum_;
}

std::uint16_t xor_checksum(std::string_view bytes) {
  XorChecksum sum;
  sum.update(bytes);
  return sum.value();
}

std::string format_checksum(std::uint16_t checksum) {
  return fmt::format("{:x}", checksum);
}

}  // namespace bg95::fs
