#pragma once
// CRC-32 (IEEE 802.3, as zlib's crc32) for small headers and journal records.

#include <cstdint>
#include <span>

namespace bg95::util {

std::uint32_t crc32(std::span<const std::uint8_t> bytes, std::uint32_t crc = 0);

}  // namespace bg95::util
