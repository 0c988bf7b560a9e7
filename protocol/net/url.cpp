#include "protocol/net/url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>

namespace bg95::net {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) {
  return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
}

// A byte that may not appear anywhere in the URL: controls, space, DEL.
bool is_forbidden(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

bool valid_percent_escapes(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) return false;
    i += 2;
  }
  return true;
}

bool valid_ipv4(const std::string& text) {
  in_addr addr{};
  return ::inet_pton(AF_INET, text.c_str(), &addr) == 1;
}

bool valid_ipv6(const std::string& text) {
  in6_addr addr{};
  return ::inet_pton(AF_INET6, text.c_str(), &addr) == 1;
}

// RFC 1123 host names; '_' is tolerated as many private networks use it.
bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (const char c : label) {
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_') return false;
    }
    start = end + 1;
  }
  return true;
}

Url fail(Url url, std::string why) {
  url.error = std::move(why);
  return url;
}

}  // namespace

std::string_view scheme_name(Scheme scheme) {
  switch (scheme) {
    case Scheme::Http:
      return "http";
    case Scheme::Https:
      return "https";
    case Scheme::Coap:
      return "coap";
    case Scheme::Coaps:
      return "coaps";
  }
  return "http";
}

std::uint16_t default_port(Scheme scheme) {
  switch (scheme) {
    case Scheme::Http:
      return 80;
    case Scheme::Https:
      return 443;
    case Scheme::Coap:
      return 5683;
    case Scheme::Coaps:
      return 5684;
  }
  return 80;
}

std::string Url::host_literal() const {
  if (host_kind == HostKind::Ipv6) return "[" + host + "]";
  return host;
}

std::string Url::authority() const {
  std::string out = host_literal();
  if (port != default_port(scheme)) out += ":" + std::to_string(port);
  return out;
}

std::string Url::target() const {
  if (query.empty()) return path;
  return path + "?" + query;
}

std::string Url::to_string() const {
  return std::string(scheme_name(scheme)) + "://" + authority() + target();
}

bool looks_like_url(std::string_view text) {
  return text.find("://") != std::string_view::npos;
}

Url parse_url(std::string_view text) {
  Url url;
  if (text.empty()) return fail(std::move(url), "empty URL");
  if (text.size() > kMaxUrlLength) {
    return fail(std::move(url), "URL is " + std::to_string(text.size()) + " bytes long; at most " +
                                    std::to_string(kMaxUrlLength) + " are allowed");
  }
  if (std::any_of(text.begin(), text.end(), is_forbidden)) {
    return fail(std::move(url), "URL contains a space or a control character");
  }

  // Scheme.
  const std::size_t sep = text.find("://");
  if (sep == std::string_view::npos) return fail(std::move(url), "no scheme (\"http://\" etc.)");
  const std::string scheme = to_lower(text.substr(0, sep));
  if (scheme.empty()) return fail(std::move(url), "empty scheme");
  if (scheme == "http") {
    url.scheme = Scheme::Http;
  } else if (scheme == "https") {
    url.scheme = Scheme::Https;
  } else if (scheme == "coap") {
    url.scheme = Scheme::Coap;
  } else if (scheme == "coaps") {
    url.scheme = Scheme::Coaps;
  } else {
    return fail(std::move(url), "unsupported scheme \"" + std::string(text.substr(0, sep)) + "\"");
  }
  std::string_view rest = text.substr(sep + 3);

  // Fragment: never sent to a server.
  if (const std::size_t hash = rest.find('#'); hash != std::string_view::npos) {
    rest = rest.substr(0, hash);
  }

  // Authority.
  const std::size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return fail(std::move(url), "user information (\"user@host\") is not supported");
  }

  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail(std::move(url), "unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail(std::move(url), "junk after the IPv6 address");
      has_port = true;
      port_text = after.substr(1);
    }
    url.host = to_lower(host);
    url.host_kind = HostKind::Ipv6;
    if (url.host.empty()) return fail(std::move(url), "missing host");
    if (!valid_ipv6(url.host)) {
      return fail(std::move(url), "invalid IPv6 address \"" + std::string(host) + "\"");
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
      if (port_text.find(':') != std::string_view::npos) {
        return fail(std::move(url), "an IPv6 address must be written in brackets");
      }
    }
    if (host.empty()) return fail(std::move(url), "missing host");
    url.host = to_lower(host);
    const bool numeric = std::all_of(url.host.begin(), url.host.end(),
                                     [](char c) { return is_digit(c) || c == '.'; });
    if (numeric) {
      if (!valid_ipv4(url.host)) {
        return fail(std::move(url), "invalid IPv4 address \"" + std::string(host) + "\"");
      }
      url.host_kind = HostKind::Ipv4;
    } else {
      if (!valid_host_name(url.host)) {
        return fail(std::move(url), "invalid host name \"" + std::string(host) + "\"");
      }
      url.host_kind = HostKind::Name;
    }
  }

  // Port.
  if (has_port) {
    if (port_text.empty()) return fail(std::move(url), "missing port number after ':'");
    const bool digits = std::all_of(port_text.begin(), port_text.end(), is_digit);
    std::uint32_t value = 0;
    if (digits && port_text.size() <= 5) {
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    }
    if (!digits || port_text.size() > 5 || value < 1 || value > 65535) {
      return fail(std::move(url),
                  "port \"" + std::string(port_text) + "\" is not a number in 1..65535");
    }
    url.port = static_cast<std::uint16_t>(value);
    url.port_given = true;
  } else {
    url.port = default_port(url.scheme);
  }

  // Path and query.
  const std::size_t question = rest.find('?');
  const std::string_view path = rest.substr(0, question);
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : rest.substr(question + 1);
  if (!valid_percent_escapes(path) || !valid_percent_escapes(query)) {
    return fail(std::move(url), "bad percent escape (\"%\" must be followed by two hex digits)");
  }
  url.path = path.empty() ? std::string("/") : std::string(path);
  url.query = std::string(query);
  return url;
}

}  // namespace bg95::net
