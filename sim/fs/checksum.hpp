#pragma once
// The 16-bit XOR checksum that AT+QFUPL, AT+QFDWL and AT+QFOTADL="COM:" report (the note's
// 2.2.1.3): the data is taken as big-endian 16-bit words (first byte high) that are XORed
// together; an odd last byte is the high byte of a word whose low byte is 0.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bg95::fs {

// Takes the data in chunks of any size (a data-mode transfer arrives in arbitrary reads);
// the result equals the checksum of all bytes taken at once.
class XorChecksum {
 public:
  void update(std::string_view bytes);
  void update(std::span<const std::uint8_t> bytes);
  // The checksum of everything taken so far (a pending odd byte counts as a high byte).
  std::uint16_t value() const;
  std::uint64_t size() const { return size_; }

 private:
  void take(std::uint8_t byte) {
    if (odd_) {
      sum_ ^= static_cast<std::uint16_t>((high_ << 8) | byte);
    } else {
      high_ = byte;
    }
    odd_ = !odd_;
  }
  std::uint16_t sum_ = 0;
  std::uint8_t high_ = 0;
  bool odd_ = false;
  std::uint64_t size_ = 0;
};

std::uint16_t xor_checksum(std::string_view bytes);

// As the module prints it: lower-case hex without leading zeros ("4f64", "3", "0"), as in
// the real log line "+QFUPL: 1939,4f64" and drivers that parse "+QFDWL: 20,3".
std::string format_checksum(std::uint16_t checksum);

}  // namespace bg95::fs
