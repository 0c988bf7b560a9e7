#pragma once
// Just enough of IPv4 (RFC 791), UDP (RFC 768) and DNS (RFC 1035) for the module's end of a PPP
// link: which packets may go to the network, and the answer to a DNS query for the servers
// IPCP handed out, from the module's local resolver (no query leaves the machine).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bg95::ppp {

inline constexpr std::uint8_t kUdp = 17;

struct Ipv4Header {
  std::uint8_t protocol = 0;
  std::uint32_t source = 0, destination = 0;
  std::size_t header_length = 0, total_length = 0;
};
// Nullopt unless `packet` is an IPv4 packet with a sane header and total length.
std::optional<Ipv4Header> parse_ipv4(std::string_view packet);
std::uint16_t ip_checksum(std::string_view bytes);
std::string dotted(std::uint32_t address);
std::optional<std::uint32_t> parse_dotted(std::string_view text);

// The addresses of a name, or nullopt when the lookup fails (SERVFAIL: the DNS fault).
using Resolve = std::function<std::optional<std::vector<std::uint32_t>>(const std::string&)>;
// `packet` is a UDP datagram to port 53: the IPv4 packet that answers it (A records from
// `resolve`; NXDOMAIN for an unknown name; no records for other types), or nullopt when it is
// no DNS query this can read (it is dropped).
std::optional<std::string> answer_dns(std::string_view packet, const Resolve& resolve);

}  // namespace bg95::ppp
