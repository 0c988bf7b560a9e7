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
inline constexpr std::uint16_t kTlvOld = 1542;    // pre-registration number some servers send
inline constexpr std::uint16_t kSenmlJson = 110;  // application/senml+json (LwM2M 1.1 only)
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
// The header of the TLV that `bytes` start with: what it is, its size (type, identifier and
// length bytes) and the length of its value. nullopt when `bytes` are shorter than the header.
struct TlvHeader {
  Tlv::Kind kind = Tlv::Kind::Resource;
  std::uint16_t id = 0;
  std::size_t size = 0;
  std::uint64_t length = 0;
};
std::optional<TlvHeader> decode_tlv_header(std::span<const std::uint8_t> bytes);
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

// ---- SenML JSON (RFC 8428) as LwM2M 1.1 uses it (OMA-TS-LightweightM2M_Core-V1_1, 7.4.4).
// One record: its full name (base name + name, e.g. "/3/0/0" or "/3/0/11/0") and its value:
// "v" (Integer, Float, Time), "vs" (String), "vb" (Boolean), "vd" (Opaque, base64url).
struct SenmlRecord {
  std::string name;
  Value value;
  friend bool operator==(const SenmlRecord&, const SenmlRecord&) = default;
};
// A JSON array; the first record carries "bn" = base_name and every record "n" = the rest of
// its name (no "n" when the name equals the base name). Every name must start with base_name.
std::string encode_senml(std::string_view base_name, std::span<const SenmlRecord> records);
// Parses a SenML JSON array, resolving bn + n (a "bn" holds for the records that follow it) and
// adding "bv" to numeric "v". Decoded "v" values are Integer when the JSON number is integral,
// else Float; "vd" is decoded from base64 / base64url (padding optional). nullopt on malformed
// JSON, a record without a value or with more than one, a bad base64 string.
std::optional<std::vector<SenmlRecord>> decode_senml(std::span<const std::uint8_t> bytes);
// A decoded value as the resource's type: Integer / Time from an integral number, Float from any
// number, Boolean from "vb", String from "vs", Opaque from "vd" (or "vs"); else nullopt.
std::optional<Value> senml_as(const Value& decoded, Type type);
// RFC 4648 section 5 without padding, as RFC 8428 section 4.3 writes "vd".
std::string base64url_encode(std::string_view bytes);
// Either alphabet, padding optional; nullopt on a bad character or length.
std::optional<std::string> base64_decode(std::string_view text);

// ---- paths
// "/5/0/3" -> {5, 0, 3}; "" or "/" -> {}; nullopt for a non-numeric or > 65534 segment.
std::optional<std::vector<std::uint16_t>> parse_path(std::string_view path);
std::string format_path(std::span<const std::uint16_t> ids);

}  // namespace bg95::lwm2m
