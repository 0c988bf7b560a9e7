#pragma once
// The URL of AT+QFOTADL (the DFOTA application note, 2.2.1.1 and 2.2.1.2):
//
//   scheme://host[:port][/path][?query][#fragment]
//
// - scheme: http, https, coap or coaps in any case (the note writes "HTTP://" and "CoAP://");
// - host: a DNS name, a dotted IPv4 address, or an IPv6 address in brackets;
// - port: 1..65535; when absent the scheme's default: 80 http, 443 https, 5683 coap,
//   5684 coaps (the note says "80" for every scheme; we read that as a typo);
// - path: "/" when absent; query: the text after '?'; a fragment is dropped;
// - at most 700 bytes in all; user information ("user:pass@") is rejected.
//
// parse_url() is a pure function: no name resolution, no I/O.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bg95::net {

inline constexpr std::size_t kMaxUrlLength = 700;

enum class Scheme { Http, Https, Coap, Coaps };
enum class HostKind { Name, Ipv4, Ipv6 };

// "http", "https", "coap" or "coaps".
std::string_view scheme_name(Scheme scheme);
std::uint16_t default_port(Scheme scheme);
inline bool is_secure(Scheme scheme) {
  return scheme == Scheme::Https || scheme == Scheme::Coaps;
}
inline bool is_http(Scheme scheme) {
  return scheme == Scheme::Http || scheme == Scheme::Https;
}

struct Url {
  Scheme scheme = Scheme::Http;
  std::string host;  // a name folded to lower case, or an address literal without brackets
  HostKind host_kind = HostKind::Name;
  std::uint16_t port = 0;   // the port given, else the scheme's default
  bool port_given = false;  // the URL named a port
  std::string path = "/";   // always starts with '/'; percent escapes kept as written
  std::string query;        // without the '?'; empty when there is none
  std::string error;        // empty when the URL is valid, else why not (for logs and tests)

  bool ok() const { return error.empty(); }
  // The host as it appears in a URL or a Host header: IPv6 addresses in brackets.
  std::string host_literal() const;
  // host_literal(), with ":port" when the port is not the scheme's default.
  std::string authority() const;
  // What a request line asks for: path, plus "?query" when there is a query.
  std::string target() const;
  // scheme://authority/target, normalised (lower-case scheme and host).
  std::string to_string() const;
};

// Parses `text`. On failure, Url::error says why and the other fields are unspecified.
Url parse_url(std::string_view text);

// True when `text` has the form of a URL ("scheme://…"), as opposed to a file name such as
// "/data/ufs/dfota_update.bin" or "COM:". Says nothing about whether the URL is valid.
bool looks_like_url(std::string_view text);

}  // namespace bg95::net
