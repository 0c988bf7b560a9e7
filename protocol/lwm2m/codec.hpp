#pragma once
// LwM2M 1.0 content formats (OMA-TS-LightweightM2M-V1_0, 6.4): text/plain (0), CoRE link format
// (40, RFC 6690), opaque (42) and OMA TLV (11542); plus the value type of a resource.
// Pure functions, no I/O: what the client and the test server both use.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bg95::lwm2m {

// CoAP Content-Format numbers of LwM2M 1.0.
namespace format {
inline constexpr std::uint16_t kText = 0;
inline constexpr std::uint16_t kLink = 40;
inline constexpr std::uint16_t kOpaque = 42;
inline constexpr std::uint16_t kTlv = 11542;
inline constexpr std::uint16_t kTlvOld = 1542;  // pre-registration number some servers send
}  // namespace format

using Bytes = std::vector<std::uint8_t>;

// Data types of the object model (6.4.4 / Appendix C).
enum class Type { String, Integer, Float, Boolean, Opaque, Time, None };

// One value. Strings and opaque bytes live in `bytes`.
struct Value {
  Type type = Type::None;
  std::int64_t integer = 0;  // Integer, Time, Boolean (0/1)
  double real = 0;           // Float
  std::string bytes;         // String, Opaque

  static Value string(std::string s) { return {Type::String, 0, 0, std::move(s)}; }
  static Value opaque(std::string b) { return {Type::Opaque, 0, 0, std::move(b)}; }
  static Value number(std::int64_t i) { return {Type::Integer, i, 0, {}}; }
  static Value boolean(bool b) { return {Type::Boolean, b ? 1 : 0, 0, {}}; }
  static Value time(std::int64_t t) { return {Type::Time, t, 0, {}}; }
  static Value real_number(double d) { return {Type::Float, 0, d, {}}; }
  friend bool operator==(const Value&, const Value&) = default;
};

// ---- text/plain: integers and time in decimal, booleans "0"/"1", floats in decimal, strings
// as UTF-8. Opaque has no text form (6.4.1): nullopt.
std::optional<std::string> to_text(const Value& v);
// Parses text of the given type; nullopt when it does not fit (e.g. "12x" for an Integer).
std::optional<Value> from_text(std::string_view text, Type type);

// ---- TLV (6.4.3)
struct Tlv {
  enum class Kind : std::uint8_t {
    ObjectInstance = 0,
    ResourceInstance = 1,
    MultipleResource = 2,
    Resource = 3
  };
  Kind kind = Kind::Resource;
  std::uint16_t id = 0;
  Bytes value;                // Resource / ResourceInstance
  std::vector<Tlv> children;  // ObjectInstance / MultipleResource

  friend bool operator==(const Tlv&, const Tlv&) = default;
};

Bytes encode_tlv(std::span<const Tlv> entries);
// nullopt when the bytes are not a well formed sequence of TLVs (lengths past the end...).
std::optional<std::vector<Tlv>> decode_tlv(std::span<const std::uint8_t> bytes);

// The value bytes of one TLV for a value (integers as the shortest of 1, 2, 4, 8 bytes, two's
// complement big-endian; floats as 8 bytes; booleans 1 byte; strings and opaque raw).
Bytes tlv_value(const Value& v);
// Reads TLV value bytes as the given type; nullopt for a bad length (e.g. an Integer of 3).
std::optional<Value> from_tlv_value(std::span<const std::uint8_t> bytes, Type type);

// ---- CoRE link format (RFC 6690), as the Register payload and the Discover answer use it.
struct Link {
  std::string target;                                           // "/1/0"
  std::vector<std::pair<std::string, std::string>> attributes;  // value "" for a bare attribute
  friend bool operator==(const Link&, const Link&) = default;
};
// "</1/0>,</3/0>;ver=1.0" (attribute values written as given: quote strings yourself).
std::string format_links(std::span<const Link> links);
// Lenient parser (for the test server and the codec tests); nullopt on a syntax error.
std::optional<std::vector<Link>> parse_links(std::string_view text);

// ---- paths
// "/5/0/3" -> {5, 0, 3}; "" or "/" -> {}; nullopt for a non-numeric or > 65534 segment.
std::optional<std::vector<std::uint16_t>> parse_path(std::string_view path);
std::string format_path(std::span<const std::uint16_t> ids);

}  // namespace bg95::lwm2m
