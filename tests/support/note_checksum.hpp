#pragma once
// Test support: the note's checksum of an upload (AT+QFOTADL="COM:", AT+QFUPL, AT+QFDWL),
// computed here independently of the module's code: 16-bit words, high byte first, XORed; an
// odd last byte is a high byte with a low byte of 0; printed in lower-case hex.

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace bg95::test {

inline std::string note_checksum(std::string_view data) {
  unsigned sum = 0;
  for (std::size_t i = 0; i < data.size(); i += 2) {
    const unsigned hi = static_cast<unsigned char>(data[i]);
    const unsigned lo = i + 1 < data.size() ? static_cast<unsigned char>(data[i + 1]) : 0u;
    sum ^= (hi << 8) | lo;
  }
  return fmt::format("{:x}", sum);
}

}  // namespace bg95::test
