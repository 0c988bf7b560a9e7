#include "protocol/ppp/packets.hpp"

#include <openssl/evp.h>

namespace bg95::ppp {

std::optional<ControlPacket> parse_control(std::string_view in) {
  if (in.size() < 4) return std::nullopt;
  const auto length = static_cast<std::size_t>(static_cast<std::uint8_t>(in[2]) << 8 |
                                               static_cast<std::uint8_t>(in[3]));
  if (length < 4 || length > in.size()) return std::nullopt;
  return ControlPacket{static_cast<std::uint8_t>(in[0]), static_cast<std::uint8_t>(in[1]),
                       std::string(in.substr(4, length - 4))};
}

std::string encode_control(const ControlPacket& p) {
  std::string out;
  out.push_back(static_cast<char>(p.code));
  out.push_back(static_cast<char>(p.id));
  out += be16(static_cast<std::uint16_t>(p.data.size() + 4));
  out += p.data;
  return out;
}

std::optional<std::vector<Option>> parse_options(std::string_view data) {
  std::vector<Option> options;
  while (!data.empty()) {
    if (data.size() < 2) return std::nullopt;
    const auto length = static_cast<std::uint8_t>(data[1]);
    if (length < 2 || length > data.size()) return std::nullopt;
    options.push_back(
        {static_cast<std::uint8_t>(data[0]), std::string(data.substr(2, length - 2))});
    data.remove_prefix(length);
  }
  return options;
}

std::string encode_options(const std::vector<Option>& options) {
  std::string out;
  for (const Option& o : options) {
    out.push_back(static_cast<char>(o.type));
    out.push_back(static_cast<char>(o.value.size() + 2));
    out += o.value;
  }
  return out;
}

std::string be16(std::uint16_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v & 0xff)};
}

std::string be32(std::uint32_t v) {
  return be16(static_cast<std::uint16_t>(v >> 16)) + be16(static_cast<std::uint16_t>(v & 0xffff));
}

std::optional<std::uint16_t> read_be16(std::string_view v) {
  if (v.size() != 2) return std::nullopt;
  return static_cast<std::uint16_t>(static_cast<std::uint8_t>(v[0]) << 8 |
                                    static_cast<std::uint8_t>(v[1]));
}

std::optional<std::uint32_t> read_be32(std::string_view v) {
  if (v.size() != 4) return std::nullopt;
  std::uint32_t out = 0;
  for (const char c : v)
    out = out << 8 | static_cast<std::uint8_t>(c);
  return out;
}

std::optional<PapRequest> parse_pap_request(std::string_view d) {
  if (d.empty()) return std::nullopt;
  const std::size_t id_length = static_cast<std::uint8_t>(d[0]);
  if (d.size() < 1 + id_length + 1) return std::nullopt;
  const std::size_t pw_length = static_cast<std::uint8_t>(d[1 + id_length]);
  if (d.size() < 2 + id_length + pw_length) return std::nullopt;
  return PapRequest{std::string(d.substr(1, id_length)),
                    std::string(d.substr(2 + id_length, pw_length))};
}

std::string pap_message(std::string_view message) {
  const std::string_view m = message.substr(0, 255);
  return std::string(1, static_cast<char>(m.size())) + std::string(m);
}

std::optional<ChapValue> parse_chap_value(std::string_view d) {
  if (d.empty()) return std::nullopt;
  const std::size_t size = static_cast<std::uint8_t>(d[0]);
  if (size == 0 || d.size() < 1 + size) return std::nullopt;
  return ChapValue{std::string(d.substr(1, size)), std::string(d.substr(1 + size))};
}

std::string encode_chap_value(const ChapValue& v) {
  return std::string(1, static_cast<char>(v.value.size())) + v.value + v.name;
}

std::string chap_md5_response(std::uint8_t id, std::string_view secret,
                              std::string_view challenge) {
  std::string input(1, static_cast<char>(id));
  input += secret;
  input += challenge;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest, &size, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace bg95::ppp
