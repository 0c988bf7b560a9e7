#pragma once
// The four ways the package server serves a file, and their names as URL schemes.

#include <optional>
#include <string_view>

namespace bg95::pkgserver {

enum class Protocol { Http, Https, Coap, Coaps };

inline constexpr Protocol kAllProtocols[] = {Protocol::Http, Protocol::Https, Protocol::Coap,
                                             Protocol::Coaps};

// "http", "https", "coap", "coaps": the URL scheme and the configuration key.
constexpr std::string_view to_string(Protocol protocol) {
  switch (protocol) {
    case Protocol::Http:
      return "http";
    case Protocol::Https:
      return "https";
    case Protocol::Coap:
      return "coap";
    case Protocol::Coaps:
      return "coaps";
  }
  return "?";
}

constexpr std::optional<Protocol> protocol_from_string(std::string_view name) {
  for (const Protocol p : kAllProtocols) {
    if (to_string(p) == name) return p;
  }
  return std::nullopt;
}

constexpr bool is_coap(Protocol protocol) {
  return protocol == Protocol::Coap || protocol == Protocol::Coaps;
}

constexpr bool is_secure(Protocol protocol) {
  return protocol == Protocol::Https || protocol == Protocol::Coaps;
}

}  // namespace bg95::pkgserver
