#include "protocol/cmux/control.hpp"

namespace bg95::cmux {

std::uint8_t type_octet(const Message& message) {
  return static_cast<std::uint8_t>((message.type << 2) | (message.command ? 0x02 : 0) | 0x01);
}

std::string encode(const Message& message) {
  std::string out(1, static_cast<char>(type_octet(message)));
  // The length in seven-bit groups, least significant first; EA marks the last (27.010
  // 5.4.6.1).
  std::size_t n = message.value.size();
  do {
    const auto group = static_cast<std::uint8_t>((n & 0x7F) << 1);
    n >>= 7;
    out.push_back(static_cast<char>(group | (n == 0 ? 0x01 : 0)));
  } while (n != 0);
  out += message.value;
  return out;
}

std::optional<Message> decode_message(std::string_view info) {
  if (info.size() < 2) return std::nullopt;
  const auto type = static_cast<std::uint8_t>(info[0]);
  if ((type & 0x01) == 0) return std::nullopt;  // multi-octet types are not defined
  std::size_t length = 0, shift = 0, i = 1;
  for (;; ++i) {
    if (i >= info.size() || shift > 14) return std::nullopt;
    const auto octet = static_cast<std::uint8_t>(info[i]);
    length |= static_cast<std::size_t>(octet >> 1) << shift;
    shift += 7;
    if (octet & 0x01) break;
  }
  if (info.size() - (i + 1) != length) return std::nullopt;
  return Message{static_cast<std::uint8_t>(type >> 2), (type & 0x02) != 0,
                 std::string(info.substr(i + 1))};
}

std::uint8_t encode_signals(const Signals& s) {
  return static_cast<std::uint8_t>(0x01 | (s.fc ? 0x02 : 0) | (s.rtc ? 0x04 : 0) |
                                   (s.rtr ? 0x08 : 0) | (s.ic ? 0x40 : 0) | (s.dv ? 0x80 : 0));
}

Signals decode_signals(std::uint8_t octet) {
  return {.fc = (octet & 0x02) != 0,
          .rtc = (octet & 0x04) != 0,
          .rtr = (octet & 0x08) != 0,
          .ic = (octet & 0x40) != 0,
          .dv = (octet & 0x80) != 0};
}

std::string encode_msc(const ModemStatus& status) {
  std::string out;
  out.push_back(static_cast<char>((status.dlci << 2) | 0x03));
  out.push_back(static_cast<char>(encode_signals(status.signals)));
  if (status.break_octet) out.push_back(static_cast<char>(*status.break_octet));
  return out;
}

std::optional<ModemStatus> decode_msc(std::string_view value) {
  if (value.size() != 2 && value.size() != 3) return std::nullopt;
  const auto address = static_cast<std::uint8_t>(value[0]);
  if ((address & 0x01) == 0) return std::nullopt;
  ModemStatus s;
  s.dlci = static_cast<std::uint8_t>(address >> 2);
  s.signals = decode_signals(static_cast<std::uint8_t>(value[1]));
  if (value.size() == 3) s.break_octet = static_cast<std::uint8_t>(value[2]);
  return s;
}

}  // namespace bg95::cmux
