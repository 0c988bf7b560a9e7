#include "protocol/ppp/ipv4.hpp"

#include <charconv>

#include "protocol/ppp/packets.hpp"

namespace bg95::ppp {
namespace {

std::uint8_t u8(std::string_view s, std::size_t i) {
  return static_cast<std::uint8_t>(s[i]);
}
std::uint16_t u16(std::string_view s, std::size_t i) {
  return static_cast<std::uint16_t>(u8(s, i) << 8 | u8(s, i + 1));
}
std::uint32_t u32(std::string_view s, std::size_t i) {
  return static_cast<std::uint32_t>(u16(s, i)) << 16 | u16(s, i + 2);
}

// The query's name in dotted form; `end` is set past the name. Compression pointers are not
// expected in a question (RFC 1035 section 4.1.2) and make it unreadable here.
std::optional<std::string> read_name(std::string_view dns, std::size_t pos, std::size_t& end) {
  std::string name;
  while (pos < dns.size()) {
    const std::size_t length = u8(dns, pos);
    if (length == 0) {
      end = pos + 1;
      return name;
    }
    if (length > 63 || pos + 1 + length > dns.size() || name.size() + length > 253)
      return std::nullopt;
    if (!name.empty()) name.push_back('.');
    name.append(dns.substr(pos + 1, length));
    pos += 1 + length;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Ipv4Header> parse_ipv4(std::string_view p) {
  if (p.size() < 20 || (u8(p, 0) >> 4) != 4) return std::nullopt;
  Ipv4Header h;
  h.header_length = static_cast<std::size_t>(u8(p, 0) & 0x0f) * 4;
  h.total_length = u16(p, 2);
  if (h.header_length < 20 || h.total_length < h.header_length || h.total_length > p.size())
    return std::nullopt;
  h.protocol = u8(p, 9);
  h.source = u32(p, 12);
  h.destination = u32(p, 16);
  return h;
}

std::uint16_t ip_checksum(std::string_view bytes) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < bytes.size(); i += 2)
    sum += u16(bytes, i);
  if (bytes.size() % 2) sum += static_cast<std::uint32_t>(u8(bytes, bytes.size() - 1) << 8);
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::string dotted(std::uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 0xff) + "." +
         std::to_string(a >> 8 & 0xff) + "." + std::to_string(a & 0xff);
}

std::optional<std::uint32_t> parse_dotted(std::string_view text) {
  std::uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    unsigned part = 0;
    const auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), part);
    if (ec != std::errc{} || part > 255 || next == text.data()) return std::nullopt;
    out = out << 8 | part;
    text.remove_prefix(static_cast<std::size_t>(next - text.data()));
    if (i < 3) {
      if (text.empty() || text.front() != '.') return std::nullopt;
      text.remove_prefix(1);
    }
  }
  if (!text.empty()) return std::nullopt;
  return out;
}

std::optional<std::string> answer_dns(std::string_view packet, const Resolve& resolve) {
  const auto ip = parse_ipv4(packet);
  if (!ip || ip->protocol != kUdp || ip->total_length < ip->header_length + 8) return std::nullopt;
  const std::string_view udp =
      packet.substr(ip->header_length, ip->total_length - ip->header_length);
  const std::string_view dns = udp.substr(8);
  // A standard query (QR 0, opcode 0) with one question (RFC 1035 section 4.1.1).
  if (dns.size() < 12 || (u8(dns, 2) & 0xf8) != 0 || u16(dns, 4) != 1) return std::nullopt;
  std::size_t end = 0;
  const auto name = read_name(dns, 12, end);
  if (!name || end + 4 > dns.size()) return std::nullopt;
  const std::uint16_t qtype = u16(dns, end);
  const std::uint16_t qclass = u16(dns, end + 2);
  const std::string_view question = dns.substr(12, end + 4 - 12);

  const auto addresses = resolve(*name);
  int rcode = 0;
  std::vector<std::uint32_t> answers;
  if (!addresses) {
    rcode = 2;  // SERVFAIL
  } else if (addresses->empty()) {
    rcode = 3;  // NXDOMAIN
  } else if (qtype == 1 && qclass == 1) {
    answers = *addresses;
  }
  std::string reply;
  reply += dns.substr(0, 2);                                       // ID
  reply.push_back(static_cast<char>(0x80 | (u8(dns, 2) & 0x01)));  // QR, RD kept
  reply.push_back(static_cast<char>(0x80 | rcode));                // RA, RCODE
  reply += be16(1) + be16(static_cast<std::uint16_t>(answers.size())) + be16(0) + be16(0);
  reply += question;
  for (const std::uint32_t a : answers)  // name: a pointer to the question's (offset 12)
    reply += be16(0xc00c) + be16(1) + be16(1) + be32(60) + be16(4) + be32(a);

  std::string out;
  out += std::string("\x45\x00", 2) + be16(static_cast<std::uint16_t>(20 + 8 + reply.size()));
  out += be16(0) + be16(0x4000);  // ID, don't fragment
  out += std::string("\x40", 1) + std::string(1, static_cast<char>(kUdp)) + be16(0);  // TTL 64
  out += be32(ip->destination) + be32(ip->source);
  const std::uint16_t sum = ip_checksum(out);
  out[10] = static_cast<char>(sum >> 8);
  out[11] = static_cast<char>(sum & 0xff);
  // UDP: ports swapped, checksum 0 (none, allowed over IPv4: RFC 768).
  out += udp.substr(2, 2);
  out += udp.substr(0, 2);
  out += be16(static_cast<std::uint16_t>(8 + reply.size())) + be16(0);
  out += reply;
  return out;
}

}  // namespace bg95::ppp
