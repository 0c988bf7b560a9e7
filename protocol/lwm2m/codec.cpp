#include "protocol/lwm2m/codec.hpp"

#include <charconv>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

namespace bg95::lwm2m {
namespace {

void put_be(Bytes& out, std::uint64_t v, std::size_t n) {
  for (std::size_t i = n; i > 0; --i)
    out.push_back(static_cast<std::uint8_t>(v >> (8 * (i - 1))));
}

std::uint64_t get_be(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (const auto x : b)
    v = (v << 8) | x;
  return v;
}

void encode_one(Bytes& out, const Tlv& t) {
  Bytes body;
  if (t.kind == Tlv::Kind::ObjectInstance || t.kind == Tlv::Kind::MultipleResource) {
    body = encode_tlv(t.children);
  } else {
    body = t.value;
  }
  std::uint8_t type = static_cast<std::uint8_t>(static_cast<unsigned>(t.kind) << 6);
  if (t.id > 0xff) type = static_cast<std::uint8_t>(type | 0x20u);
  const std::size_t n = body.size();
  std::size_t length_bytes = 0;
  if (n < 8) {
    type = static_cast<std::uint8_t>(type | n);
  } else if (n <= 0xff) {
    length_bytes = 1;
  } else if (n <= 0xffff) {
    length_bytes = 2;
  } else {
    length_bytes = 3;
  }
  type = static_cast<std::uint8_t>(type | (length_bytes << 3));
  out.push_back(type);
  put_be(out, t.id, t.id > 0xff ? 2 : 1);
  if (length_bytes > 0) put_be(out, n, length_bytes);
  out.insert(out.end(), body.begin(), body.end());
}

}  // namespace

// ---- text ------------------------------------------------------------------------------------

std::optional<std::string> to_text(const Value& v) {
  switch (v.type) {
    case Type::String:
      return v.bytes;
    case Type::Integer:
    case Type::Time:
      return std::to_string(v.integer);
    case Type::Boolean:
      return v.integer != 0 ? std::string("1") : std::string("0");
    case Type::Float: {
      char buf[64];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.real);
      return std::string(buf, r.ptr);
    }
    case Type::Opaque:
    case Type::None:
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Value> from_text(std::string_view text, Type type) {
  switch (type) {
    case Type::String:
      return Value::string(std::string(text));
    case Type::Opaque:
      return Value::opaque(std::string(text));
    case Type::Integer:
    case Type::Time:
    case Type::Boolean: {
      std::int64_t i = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), i);
      if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
        return std::nullopt;
      if (type == Type::Boolean) {
        if (i != 0 && i != 1) return std::nullopt;
        return Value::boolean(i == 1);
      }
      return type == Type::Time ? Value::time(i) : Value::number(i);
    }
    case Type::Float: {
      double d = 0;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), d);
      if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size())
        return std::nullopt;
      return Value::real_number(d);
    }
    case Type::None:
      return std::nullopt;
  }
  return std::nullopt;
}

// ---- TLV -------------------------------------------------------------------------------------

Bytes encode_tlv(std::span<const Tlv> entries) {
  Bytes out;
  for (const auto& t : entries)
    encode_one(out, t);
  return out;
}

std::optional<TlvHeader> decode_tlv_header(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return std::nullopt;
  const std::uint8_t type = bytes[0];
  const std::size_t id_bytes = (type & 0x20u) != 0 ? 2 : 1;
  const std::size_t length_bytes = (type >> 3) & 0x03u;
  TlvHeader h;
  h.kind = static_cast<Tlv::Kind>(type >> 6);
  h.size = 1 + id_bytes + length_bytes;
  if (h.size > bytes.size()) return std::nullopt;
  h.id = static_cast<std::uint16_t>(get_be(bytes.subspan(1, id_bytes)));
  h.length = length_bytes > 0 ? get_be(bytes.subspan(1 + id_bytes, length_bytes)) : type & 0x07u;
  return h;
}

std::optional<std::vector<Tlv>> decode_tlv(std::span<const std::uint8_t> bytes) {
  std::vector<Tlv> out;
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto h = decode_tlv_header(bytes.subspan(i));
    if (!h) return std::nullopt;
    Tlv t;
    t.kind = h->kind;
    t.id = h->id;
    i += h->size;
    if (h->length > bytes.size() - i) return std::nullopt;
    const auto n = static_cast<std::size_t>(h->length);
    const auto body = bytes.subspan(i, n);
    i += n;
    if (t.kind == Tlv::Kind::ObjectInstance || t.kind == Tlv::Kind::MultipleResource) {
      auto children = decode_tlv(body);
      if (!children) return std::nullopt;
      const auto want =
          t.kind == Tlv::Kind::ObjectInstance ? Tlv::Kind::Resource : Tlv::Kind::ResourceInstance;
      for (const auto& c : *children) {
        const bool ok = c.kind == want || (t.kind == Tlv::Kind::ObjectInstance &&
                                           c.kind == Tlv::Kind::MultipleResource);
        if (!ok) return std::nullopt;
      }
      t.children = std::move(*children);
    } else {
      t.value.assign(body.begin(), body.end());
    }
    out.push_back(std::move(t));
  }
  return out;
}

Bytes tlv_value(const Value& v) {
  Bytes out;
  switch (v.type) {
    case Type::String:
    case Type::Opaque:
      out.assign(v.bytes.begin(), v.bytes.end());
      break;
    case Type::Boolean:
      out.push_back(v.integer != 0 ? 1 : 0);
      break;
    case Type::Integer:
    case Type::Time: {
      const std::int64_t i = v.integer;
      std::size_t n = 8;
      if (i >= INT8_MIN && i <= INT8_MAX) {
        n = 1;
      } else if (i >= INT16_MIN && i <= INT16_MAX) {
        n = 2;
      } else if (i >= INT32_MIN && i <= INT32_MAX) {
        n = 4;
      }
      put_be(out, static_cast<std::uint64_t>(i), n);
      break;
    }
    case Type::Float: {
      std::uint64_t bits = 0;
      std::memcpy(&bits, &v.real, sizeof bits);
      put_be(out, bits, 8);
      break;
    }
    case Type::None:
      break;
  }
  return out;
}

std::optional<Value> from_tlv_value(std::span<const std::uint8_t> b, Type type) {
  switch (type) {
    case Type::String:
      return Value::string(std::string(b.begin(), b.end()));
    case Type::Opaque:
      return Value::opaque(std::string(b.begin(), b.end()));
    case Type::Boolean:
      if (b.size() != 1 || b[0] > 1) return std::nullopt;
      return Value::boolean(b[0] == 1);
    case Type::Integer:
    case Type::Time: {
      if (b.size() != 1 && b.size() != 2 && b.size() != 4 && b.size() != 8) return std::nullopt;
      std::uint64_t raw = get_be(b);
      const unsigned bits = static_cast<unsigned>(b.size() * 8);
      if (bits < 64 && (raw >> (bits - 1)) != 0) raw |= ~std::uint64_t{0} << bits;  // sign
      const auto i = static_cast<std::int64_t>(raw);
      return type == Type::Time ? Value::time(i) : Value::number(i);
    }
    case Type::Float: {
      if (b.size() == 4) {
        const auto raw = static_cast<std::uint32_t>(get_be(b));
        float f = 0;
        std::memcpy(&f, &raw, sizeof f);
        return Value::real_number(static_cast<double>(f));
      }
      if (b.size() == 8) {
        const std::uint64_t raw = get_be(b);
        double d = 0;
        std::memcpy(&d, &raw, sizeof d);
        return Value::real_number(d);
      }
      return std::nullopt;
    }
    case Type::None:
      return std::nullopt;
  }
  return std::nullopt;
}

// ---- link format -----------------------------------------------------------------------------

std::string format_links(std::span<const Link> links) {
  std::string out;
  for (const auto& l : links) {
    if (!out.empty()) out += ',';
    out += '<';
    out += l.target;
    out += '>';
    for (const auto& [name, value] : l.attributes) {
      out += ';';
      out += name;
      if (!value.empty()) {
        out += '=';
        out += value;
      }
    }
  }
  return out;
}

std::optional<std::vector<Link>> parse_links(std::string_view text) {
  std::vector<Link> out;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r'))
      ++i;
  };
  skip_space();
  while (i < text.size()) {
    if (text[i] != '<') return std::nullopt;
    const std::size_t close = text.find('>', i);
    if (close == std::string_view::npos) return std::nullopt;
    Link link;
    link.target = std::string(text.substr(i + 1, close - i - 1));
    i = close + 1;
    while (i < text.size() && text[i] == ';') {
      ++i;
      std::size_t end = i;
      bool quoted = false;
      while (end < text.size() && (quoted || (text[end] != ';' && text[end] != ','))) {
        if (text[end] == '"') quoted = !quoted;
        ++end;
      }
      if (quoted) return std::nullopt;
      const std::string_view attr = text.substr(i, end - i);
      const std::size_t eq = attr.find('=');
      if (eq == std::string_view::npos) {
        link.attributes.emplace_back(std::string(attr), "");
      } else {
        link.attributes.emplace_back(std::string(attr.substr(0, eq)),
                                     std::string(attr.substr(eq + 1)));
      }
      i = end;
    }
    out.push_back(std::move(link));
    skip_space();
    if (i < text.size()) {
      if (text[i] != ',') return std::nullopt;
      ++i;
      skip_space();
    }
  }
  return out;
}

// ---- paths -----------------------------------------------------------------------------------

std::optional<std::vector<std::uint16_t>> parse_path(std::string_view path) {
  std::vector<std::uint16_t> ids;
  while (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view seg = path.substr(0, slash);
    unsigned v = 0;
    const auto r = std::from_chars(seg.data(), seg.data() + seg.size(), v);
    if (seg.empty() || r.ec != std::errc() || r.ptr != seg.data() + seg.size() || v > 65534)
      return std::nullopt;
    ids.push_back(static_cast<std::uint16_t>(v));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return ids;
}

std::string format_path(std::span<const std::uint16_t> ids) {
  std::string out;
  for (const auto id : ids)
    out += "/" + std::to_string(id);
  return out.empty() ? "/" : out;
}

}  // namespace bg95::lwm2m

// ---- SenML JSON --------------------------------------------------------------------------------

namespace bg95::lwm2m {

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[i])) << 16 |
                   static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[i + 1])) << 8 |
                   static_cast<std::uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6)
      out.push_back(kAlphabet[(n >> s) & 0x3f]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<std::uint8_t>(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[(n >> 18) & 0x3f]);
    out.push_back(kAlphabet[(n >> 12) & 0x3f]);
    if (rest == 2) out.push_back(kAlphabet[(n >> 6) & 0x3f]);
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=')
    text.remove_suffix(1);
  if (text.size() % 4 == 1) return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int d = digit(c);
    if (d < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xffu));
    }
  }
  return out;
}

std::string encode_senml(std::string_view base_name, std::span<const SenmlRecord> records) {
  nlohmann::json array = nlohmann::json::array();
  bool first = true;
  for (const auto& r : records) {
    nlohmann::json j = nlohmann::json::object();
    if (first) j["bn"] = std::string(base_name);
    first = false;
    std::string_view name = r.name;
    if (name.starts_with(base_name)) name.remove_prefix(base_name.size());
    if (!name.empty()) j["n"] = std::string(name);
    switch (r.value.type) {
      case Type::Integer:
      case Type::Time:
        j["v"] = r.value.integer;
        break;
      case Type::Float:
        j["v"] = r.value.real;
        break;
      case Type::Boolean:
        j["vb"] = r.value.integer != 0;
        break;
      case Type::String:
        j["vs"] = r.value.bytes;
        break;
      case Type::Opaque:
        j["vd"] = base64url_encode(r.value.bytes);
        break;
      case Type::None:
        break;
    }
    array.push_back(std::move(j));
  }
  return array.dump();
}

std::optional<std::vector<SenmlRecord>> decode_senml(std::span<const std::uint8_t> bytes) {
  const auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<SenmlRecord> out;
  std::string base_name;
  double base_value = 0;
  for (const auto& rec : j) {
    if (!rec.is_object()) return std::nullopt;
    if (const auto bn = rec.find("bn"); bn != rec.end()) {
      if (!bn->is_string()) return std::nullopt;
      base_name = bn->get<std::string>();
    }
    if (const auto bv = rec.find("bv"); bv != rec.end()) {
      if (!bv->is_number()) return std::nullopt;
      base_value = bv->get<double>();
    }
    SenmlRecord r;
    r.name = base_name;
    if (const auto n = rec.find("n"); n != rec.end()) {
      if (!n->is_string()) return std::nullopt;
      r.name += n->get<std::string>();
    }
    int values = 0;
    if (const auto v = rec.find("v"); v != rec.end()) {
      if (!v->is_number()) return std::nullopt;
      ++values;
      if (v->is_number_integer() && base_value == 0) {
        r.value = Value::number(v->get<std::int64_t>());
      } else {
        r.value = Value::real_number(v->get<double>() + base_value);
      }
    }
    if (const auto v = rec.find("vs"); v != rec.end()) {
      if (!v->is_string()) return std::nullopt;
      ++values;
      r.value = Value::string(v->get<std::string>());
    }
    if (const auto v = rec.find("vb"); v != rec.end()) {
      if (!v->is_boolean()) return std::nullopt;
      ++values;
      r.value = Value::boolean(v->get<bool>());
    }
    if (const auto v = rec.find("vd"); v != rec.end()) {
      if (!v->is_string()) return std::nullopt;
      auto data = base64_decode(v->get<std::string>());
      if (!data) return std::nullopt;
      ++values;
      r.value = Value::opaque(std::move(*data));
    }
    if (values != 1) return std::nullopt;
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<Value> senml_as(const Value& decoded, Type type) {
  switch (type) {
    case Type::Integer:
    case Type::Time:
      if (decoded.type == Type::Integer) return Value{type, decoded.integer, 0, {}};
      if (decoded.type == Type::Float && std::trunc(decoded.real) == decoded.real &&
          std::fabs(decoded.real) < 9.2e18)
        return Value{type, static_cast<std::int64_t>(decoded.real), 0, {}};
      return std::nullopt;
    case Type::Float:
      if (decoded.type == Type::Float) return decoded;
      if (decoded.type == Type::Integer)
        return Value::real_number(static_cast<double>(decoded.integer));
      return std::nullopt;
    case Type::Boolean:
      if (decoded.type == Type::Boolean) return decoded;
      return std::nullopt;
    case Type::String:
      if (decoded.type == Type::String) return decoded;
      return std::nullopt;
    case Type::Opaque:
      if (decoded.type == Type::Opaque || decoded.type == Type::String)
        return Value::opaque(decoded.bytes);
      return std::nullopt;
    case Type::None:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace bg95::lwm2m
