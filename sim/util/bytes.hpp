#pragma once
// Little-endian field access for the binary formats (images, packages, flash headers).

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace bg95::util {

template <typename T>
void put_le(std::span<std::uint8_t> out, std::size_t offset, T value) {
  for (std::size_t i = 0; i < sizeof(T); ++i)
    out[offset + i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(value) >> (8 * i));
}

template <typename T>
T get_le(std::span<const std::uint8_t> in, std::size_t offset) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<std::uint64_t>(in[offset + i]) << (8 * i);
  return static_cast<T>(v);
}

// A fixed-size, NUL-padded ASCII field.
inline void put_text(std::span<std::uint8_t> out, std::size_t offset, std::size_t size,
                     std::string_view text) {
  std::memset(out.data() + offset, 0, size);
  std::memcpy(out.data() + offset, text.data(), std::min(text.size(), size));
}

inline std::string get_text(std::span<const std::uint8_t> in, std::size_t offset,
                            std::size_t size) {
  std::string s(reinterpret_cast<const char*>(in.data() + offset), size);
  s.resize(std::strlen(s.c_str()));
  return s;
}

}  // namespace bg95::util
