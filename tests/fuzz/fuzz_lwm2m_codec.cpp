// The LwM2M content formats (protocol/lwm2m/codec.*) on hostile bytes: TLV, text/plain, TLV
// values, CoRE link format, SenML JSON, base64 and paths. The first byte picks the codec and
// (where there is one) the value type; the rest is the payload as a server would send it.
// Whatever a decoder accepts must survive encode -> decode unchanged.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocol/lwm2m/codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace bg95::lwm2m;

constexpr Type kTypes[] = {Type::String, Type::Integer, Type::Float, Type::Boolean,
                           Type::Opaque, Type::Time,    Type::None};

bool is_nan(const Value& v) {
  return v.type == Type::Float && std::isnan(v.real);
}

// decode(encode(decode(payload))) == decode(payload) for a text format.
template <typename Decode, typename Encode>
void round_trip(std::string_view payload, Decode decode, Encode encode) {
  const auto decoded = decode(payload);
  if (!decoded) return;
  const auto again = decode(encode(*decoded));
  BG95_FUZZ_CHECK(again && *again == *decoded);
}

void tlv(std::span<const std::uint8_t> bytes) {
  const auto decoded = decode_tlv(bytes);
  if (!decoded) return;
  const Bytes encoded = encode_tlv(*decoded);
  const auto again = decode_tlv(encoded);
  BG95_FUZZ_CHECK(again && *again == *decoded);
  BG95_FUZZ_CHECK(encode_tlv(*again) == encoded);
}

void text(std::string_view payload, Type type) {
  const auto value = from_text(payload, type);
  if (!value || is_nan(*value)) return;
  BG95_FUZZ_CHECK(value->type == type);
  const auto written = to_text(*value);
  if (!written) return;  // opaque has no text form
  const auto again = from_text(*written, type);
  BG95_FUZZ_CHECK(again && *again == *value);
}

void tlv_value_of(std::span<const std::uint8_t> bytes, Type type) {
  const auto value = from_tlv_value(bytes, type);
  if (!value || is_nan(*value)) return;
  const Bytes written = tlv_value(*value);
  const auto again = from_tlv_value(written, type);
  BG95_FUZZ_CHECK(again && *again == *value);
}

void senml(std::span<const std::uint8_t> bytes) {
  const auto records = decode_senml(bytes);
  if (!records) return;
  for (const auto& r : *records) {
    for (const Type t : kTypes)
      (void)senml_as(r.value, t);
  }
  const std::string written = encode_senml("", *records);
  const auto again = decode_senml(
      std::span(reinterpret_cast<const std::uint8_t*>(written.data()), written.size()));
  BG95_FUZZ_CHECK(again.has_value());
  BG95_FUZZ_CHECK(again->size() == records->size());
  for (std::size_t i = 0; i < records->size(); ++i) {
    if (is_nan((*records)[i].value)) continue;
    BG95_FUZZ_CHECK((*again)[i] == (*records)[i]);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::span<const std::uint8_t> bytes(data + 1, size - 1);
  const std::string_view payload(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const Type type = kTypes[(selector >> 3) % std::size(kTypes)];
  switch (selector % 7) {
    case 0:
      tlv(bytes);
      break;
    case 1:
      text(payload, type);
      break;
    case 2:
      tlv_value_of(bytes, type);
      break;
    case 3:
      round_trip(payload, parse_links, [](const auto& links) { return format_links(links); });
      break;
    case 4:
      senml(bytes);
      break;
    case 5:
      round_trip(payload, base64_decode, base64url_encode);
      break;
    default:
      round_trip(payload, parse_path, [](const auto& ids) { return format_path(ids); });
      break;
  }
  return 0;
}
