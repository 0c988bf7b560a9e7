#include "scenarios/package_server/config_yaml.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <string_view>

namespace bg95::pkgserver {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& what) {
  const YAML::Mark mark = node.Mark();
  std::string where;
  if (!mark.is_null()) {
    where = "line " + std::to_string(mark.line + 1) + ", column " +
            std::to_string(mark.column + 1) + ": ";
  }
  throw ConfigError(where + (key.empty() ? "" : key + ": ") + what);
}

std::string describe(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

// A mapping's key as text. A key that is a list or a mapping is a ConfigError here: yaml-cpp's
// as<std::string>() would throw its own exception past the callers.
std::string key_text(const YAML::Node& key, const std::string& where) {
  if (!key.IsScalar()) fail(key, where, "a key must be a plain value, got " + describe(key));
  return key.Scalar();
}

std::string child(const std::string& where, const std::string& key) {
  return where.empty() ? key : where + "." + key;
}

// Every key of `node` is one of `known`.
void check_keys(const YAML::Node& node, const std::string& where,
                std::initializer_list<std::string_view> known) {
  if (!node.IsMap()) fail(node, where, "expected a mapping, got " + describe(node));
  for (const auto& entry : node) {
    const std::string key = key_text(entry.first, where);
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string list;
    for (const std::string_view k : known) {
      list += list.empty() ? "" : ", ";
      list += k;
    }
    fail(entry.first, where.empty() ? key : where + "." + key, "unknown key (known: " + list + ")");
  }
}

std::string as_string(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(node, key, "expected a text, got " + describe(node));
  return node.Scalar();
}

bool as_bool(const YAML::Node& node, const std::string& key) {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    fail(node, key, "expected true or false, got " + describe(node));
  }
  return value;
}

bool parse_uint(std::string_view text, std::uint64_t& value) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

std::uint64_t as_uint(const YAML::Node& node, const std::string& key,
                      std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
  std::uint64_t value = 0;
  if (!node.IsScalar() || !parse_uint(node.Scalar(), value) || value > max) {
    fail(node, key,
         "expected a whole number 0.." + std::to_string(max) + ", got " + describe(node));
  }
  return value;
}

// 12345, "300K", "300KiB", "2M", "2MiB" (K and M are binary: 1024 and 1048576); "300KB" and
// "2MB" are decimal (1000, 1000000), as everywhere else in a scenario file.
std::uint64_t as_bytes(const YAML::Node& node, const std::string& key, bool per_second = false) {
  const std::string unit_help = per_second ? " (12345, 10KiB/s, 1MiB/s)" : " (12345, 300KiB, 2MiB)";
  if (!node.IsScalar()) fail(node, key, "expected a byte count" + unit_help);
  std::string_view text = node.Scalar();
  if (per_second && text.ends_with("/s")) text.remove_suffix(2);
  std::uint64_t factor = 1;
  for (const auto& [suffix, f] : {std::pair<std::string_view, std::uint64_t>{"KiB", 1024},
                                  {"MiB", 1024 * 1024},
                                  {"KB", 1000},
                                  {"MB", 1000 * 1000},
                                  {"K", 1024},
                                  {"M", 1024 * 1024}}) {
    if (text.ends_with(suffix)) {
      text.remove_suffix(suffix.size());
      factor = f;
      break;
    }
  }
  std::uint64_t value = 0;
  if (!parse_uint(text, value) || value > std::numeric_limits<std::uint64_t>::max() / factor) {
    fail(node, key, "expected a byte count" + unit_help + ", got " + describe(node));
  }
  return value * factor;
}

// 1500 (milliseconds), "1500ms", "2s", "1min".
std::chrono::milliseconds as_duration(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) fail(node, key, "expected a duration (1500, 1500ms, 2s, 1min)");
  std::string_view text = node.Scalar();
  std::uint64_t factor = 1;
  if (text.ends_with("ms")) {
    text.remove_suffix(2);
  } else if (text.ends_with("min")) {
    text.remove_suffix(3);
    factor = 60'000;
  } else if (text.ends_with("s")) {
    text.remove_suffix(1);
    factor = 1000;
  }
  std::uint64_t value = 0;
  if (!parse_uint(text, value) || value > 1'000'000'000ull / factor) {
    fail(node, key, "expected a duration (1500, 1500ms, 2s, 1min), got " + describe(node));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

// HTTP status 503, or CoAP code 4.04 / "5.00" (stored as class * 100 + detail).
int as_status(const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) {
    const std::string& text = node.Scalar();
    std::uint64_t value = 0;
    if (parse_uint(text, value) && value <= 999) return static_cast<int>(value);
    const std::size_t dot = text.find('.');
    std::uint64_t code_class = 0;
    std::uint64_t detail = 0;
    if (dot == 1 && text.size() == 4 && parse_uint(text.substr(0, 1), code_class) &&
        parse_uint(text.substr(2), detail)) {
      return static_cast<int>(code_class * 100 + detail);
    }
  }
  fail(node, key, "expected an HTTP status (503) or a CoAP code (4.04), got " + describe(node));
}

std::uint16_t as_port(const YAML::Node& node, const std::string& key) {
  return static_cast<std::uint16_t>(as_uint(node, key, 65535));
}

RequestSelector as_selector(const YAML::Node& node, const std::string& key) {
  RequestSelector selector;
  const std::string help =
      "expected all, first, {first: N}, {every: K} or {nth: N}, got " + describe(node);
  if (node.IsScalar()) {
    if (node.Scalar() == "all") return selector;
    if (node.Scalar() == "first") {
      selector.kind = RequestSelector::Kind::First;
      selector.n = 1;
      return selector;
    }
    fail(node, key, help);
  }
  if (!node.IsMap() || node.size() != 1) fail(node, key, help);
  const auto entry = *node.begin();
  const std::string kind = key_text(entry.first, key);
  if (kind == "first") {
    selector.kind = RequestSelector::Kind::First;
  } else if (kind == "every") {
    selector.kind = RequestSelector::Kind::Every;
  } else if (kind == "nth") {
    selector.kind = RequestSelector::Kind::Nth;
  } else {
    fail(entry.first, key, help);
  }
  selector.n = as_uint(entry.second, key + "." + kind);
  if (selector.n == 0) fail(entry.second, key + "." + kind, "must be 1 or more");
  return selector;
}

std::vector<Protocol> as_protocols(const YAML::Node& node, const std::string& key) {
  std::vector<Protocol> out;
  auto one = [&](const YAML::Node& item) {
    const auto p = item.IsScalar() ? protocol_from_string(item.Scalar()) : std::nullopt;
    if (!p) fail(item, key, "expected http, https, coap or coaps, got " + describe(item));
    out.push_back(*p);
  };
  if (node.IsSequence()) {
    for (const auto& item : node)
      one(item);
  } else {
    one(node);
  }
  if (out.empty()) fail(node, key, "an empty list would match nothing; leave the key out");
  return out;
}

ByteSpan as_span(const YAML::Node& node, const std::string& key) {
  check_keys(node, key, {"offset", "count"});
  if (!node["offset"] || !node["count"]) fail(node, key, "needs offset and count");
  return ByteSpan{as_bytes(node["offset"], key + ".offset"),
                  as_bytes(node["count"], key + ".count")};
}

// A listener: `http: 8080` or `https: {port: 8443, ...}`; `extra` reads the other keys.
template <typename Extra>
std::uint16_t as_listener(const YAML::Node& node, const std::string& key,
                          std::initializer_list<std::string_view> known, Extra&& extra) {
  if (node.IsScalar()) return as_port(node, key);
  check_keys(node, key, known);
  extra(node);
  return node["port"] ? as_port(node["port"], key + ".port") : 0;
}

std::vector<std::uint8_t> read_bytes(const fs::path& path, const YAML::Node& node,
                                     const std::string& key) {
  // Only a regular file: /dev/zero would fill the memory, a FIFO or /dev/stdin would never end
  // (and opening a FIFO waits for a writer).
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_regular_file(path, ec))
    fail(node, key, "\"" + path.string() + "\" is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(node, key, "cannot read \"" + path.string() + "\"");
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string hex_to_bytes(const YAML::Node& node, const std::string& key) {
  const std::string hex = as_string(node, key);
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) break;
    out += static_cast<char>(hi * 16 + lo);
  }
  if (hex.empty() || hex.size() % 2 != 0 || out.size() * 2 != hex.size()) {
    fail(node, key, "expected an even number of hex digits");
  }
  return out;
}

PskCredentials as_psk(const YAML::Node& node, const std::string& key) {
  check_keys(node, key, {"identity", "key", "key_hex"});
  if (!node["identity"]) fail(node, key, "needs identity");
  PskCredentials psk;
  psk.identity = as_string(node["identity"], key + ".identity");
  if (node["key"] && node["key_hex"]) fail(node, key, "key or key_hex, not both");
  if (node["key"]) {
    psk.key = as_string(node["key"], key + ".key");
  } else if (node["key_hex"]) {
    psk.key = hex_to_bytes(node["key_hex"], key + ".key_hex");
  } else {
    fail(node, key, "needs key (text) or key_hex");
  }
  if (psk.identity.empty() || psk.key.empty())
    fail(node, key, "identity and key must not be empty");
  return psk;
}

fs::path relative_to(const fs::path& base, const std::string& text) {
  const fs::path path(text);
  return path.is_absolute() ? path : base / path;
}

}  // namespace

FaultRule parse_fault_rule(const YAML::Node& node, const std::string& where) {
  check_keys(node, where,
             {"path", "protocol", "requests", "status", "truncate_at", "stall_after", "stall_for",
              "rate_limit", "content_length", "corrupt", "close_without_response", "tls_wrong_ca",
              "etag_change_after", "out_of_order", "drop"});
  FaultRule rule;
  auto key = [&where](const char* name) { return child(where, name); };
  if (const auto n = node["path"]) rule.path = as_string(n, key("path"));
  if (const auto n = node["protocol"]) rule.protocols = as_protocols(n, key("protocol"));
  if (const auto n = node["requests"]) rule.requests = as_selector(n, key("requests"));
  if (const auto n = node["status"]) rule.status = as_status(n, key("status"));
  if (const auto n = node["truncate_at"]) rule.truncate_at = as_bytes(n, key("truncate_at"));
  if (const auto n = node["stall_after"]) rule.stall_after = as_bytes(n, key("stall_after"));
  if (const auto n = node["stall_for"]) rule.stall_for = as_duration(n, key("stall_for"));
  if (const auto n = node["rate_limit"]) rule.rate_limit = as_bytes(n, key("rate_limit"), true);
  if (const auto n = node["content_length"]) {
    rule.content_length = as_bytes(n, key("content_length"));
  }
  if (const auto n = node["corrupt"]) {
    if (n.IsSequence()) {
      for (std::size_t i = 0; i < n.size(); ++i) {
        rule.corrupt.push_back(as_span(n[i], key("corrupt") + "[" + std::to_string(i) + "]"));
      }
    } else {
      rule.corrupt.push_back(as_span(n, key("corrupt")));
    }
  }
  if (const auto n = node["close_without_response"]) {
    rule.close_without_response = as_bool(n, key("close_without_response"));
  }
  if (const auto n = node["tls_wrong_ca"]) rule.tls_wrong_ca = as_bool(n, key("tls_wrong_ca"));
  if (const auto n = node["etag_change_after"]) {
    rule.etag_change_after =
        static_cast<std::uint32_t>(as_uint(n, key("etag_change_after"), 0xfffff));
  }
  if (const auto n = node["out_of_order"]) {
    rule.out_of_order = static_cast<std::uint32_t>(as_uint(n, key("out_of_order"), 0xfffff));
  }
  if (const auto n = node["drop"]) rule.drop = as_uint(n, key("drop"));
  if (const std::string why = validate(rule); !why.empty()) fail(node, where, why);
  return rule;
}

PackageServerConfig parse_server_config(const YAML::Node& node, const fs::path& base_dir) {
  check_keys(
      node, "",
      {"root", "files", "bind", "allow_non_loopback", "pki", "http", "https", "coap", "coaps",
       "max_connections", "max_header_bytes", "request_timeout", "max_block_size", "faults"});
  PackageServerConfig config;
  if (const auto n = node["root"]) config.root = relative_to(base_dir, as_string(n, "root"));
  if (const auto n = node["files"]) {
    if (!n.IsMap()) fail(n, "files", "expected a mapping of URL paths, got " + describe(n));
    for (const auto& entry : n) {
      const std::string path = key_text(entry.first, "files");
      const std::string key = "files." + path;
      if (!path.starts_with('/')) fail(entry.first, key, "a URL path starts with /");
      if (entry.second.IsMap()) {
        check_keys(entry.second, key, {"text"});
        if (!entry.second["text"]) fail(entry.second, key, "needs text");
        const std::string text = as_string(entry.second["text"], key + ".text");
        config.files[path] = std::vector<std::uint8_t>(text.begin(), text.end());
      } else {
        config.files[path] =
            read_bytes(relative_to(base_dir, as_string(entry.second, key)), entry.second, key);
      }
    }
  }
  if (const auto n = node["bind"]) config.bind_address = as_string(n, "bind");
  if (const auto n = node["allow_non_loopback"]) {
    config.allow_non_loopback = as_bool(n, "allow_non_loopback");
  }
  if (const auto n = node["pki"]) config.pki_dir = relative_to(base_dir, as_string(n, "pki"));
  if (const auto n = node["http"]) {
    config.http = as_listener(n, "http", {"port"}, [](const YAML::Node&) {});
  }
  if (const auto n = node["https"]) {
    config.https =
        as_listener(n, "https", {"port", "client_cert", "tls13"}, [&config](const YAML::Node& m) {
          if (m["client_cert"]) {
            config.https_client_cert = as_bool(m["client_cert"], "https.client_cert");
          }
          if (m["tls13"]) config.allow_tls13 = as_bool(m["tls13"], "https.tls13");
        });
  }
  if (const auto n = node["coap"]) {
    config.coap = as_listener(n, "coap", {"port"}, [](const YAML::Node&) {});
  }
  if (const auto n = node["coaps"]) {
    config.coaps =
        as_listener(n, "coaps", {"port", "psk", "client_cert"}, [&config](const YAML::Node& m) {
          if (m["psk"]) config.coaps_psk = as_psk(m["psk"], "coaps.psk");
          if (m["client_cert"]) {
            config.coaps_client_cert = as_bool(m["client_cert"], "coaps.client_cert");
          }
        });
  }
  if (const auto n = node["max_connections"]) {
    config.max_connections = as_uint(n, "max_connections", 1'000'000);
    if (config.max_connections == 0) fail(n, "max_connections", "must be 1 or more");
  }
  if (const auto n = node["max_header_bytes"]) {
    config.max_header_bytes = as_bytes(n, "max_header_bytes");
    if (config.max_header_bytes < 256) fail(n, "max_header_bytes", "must be 256 or more");
  }
  if (const auto n = node["request_timeout"]) {
    config.request_timeout = as_duration(n, "request_timeout");
    if (config.request_timeout.count() == 0) fail(n, "request_timeout", "must be positive");
  }
  if (const auto n = node["max_block_size"]) {
    const std::uint64_t size = as_uint(n, "max_block_size", 1024);
    unsigned szx = 0;
    while (szx < 6 && (std::uint64_t{16} << szx) < size)
      ++szx;
    if ((std::uint64_t{16} << szx) != size) {
      fail(n, "max_block_size", "expected 16, 32, 64, 128, 256, 512 or 1024");
    }
    config.max_block_szx = szx;
  }
  if (const auto n = node["faults"]) {
    if (!n.IsSequence()) fail(n, "faults", "expected a list of rules, got " + describe(n));
    for (std::size_t i = 0; i < n.size(); ++i) {
      config.faults.push_back(parse_fault_rule(n[i], "faults[" + std::to_string(i) + "]"));
    }
  }
  return config;
}

PackageServerConfig load_server_config(const fs::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::BadFile&) {
    throw ConfigError(file.string() + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
  try {
    return parse_server_config(root,
                               file.parent_path().empty() ? fs::path(".") : file.parent_path());
  } catch (const ConfigError& e) {
    throw ConfigError(file.string() + ": " + e.what());
  }
}

}  // namespace bg95::pkgserver
