#include "protocol/ppp/hdlc.hpp"

#include <array>
#include <utility>

namespace bg95::ppp {
namespace {

// The table of RFC 1662 section C.2 (polynomial x^16 + x^12 + x^5 + 1, bits reversed).
constexpr std::array<std::uint16_t, 256> make_fcs_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned b = 0; b < 256; ++b) {
    unsigned v = b;
    for (int i = 0; i < 8; ++i)
      v = (v & 1) ? (v >> 1) ^ 0x8408 : v >> 1;
    t[b] = static_cast<std::uint16_t>(v);
  }
  return t;
}
constexpr auto kFcsTable = make_fcs_table();

bool needs_escape(std::uint8_t b, std::uint32_t accm) {
  return b == kFlag || b == kEscape || (b < 0x20 && (accm >> b) & 1);
}

void put_escaped(std::string& out, std::uint8_t b, std::uint32_t accm) {
  if (needs_escape(b, accm)) {
    out.push_back(static_cast<char>(kEscape));
    out.push_back(static_cast<char>(b ^ 0x20));
  } else {
    out.push_back(static_cast<char>(b));
  }
}

}  // namespace

std::uint16_t fcs16(std::uint16_t fcs, std::string_view bytes) {
  for (const char c : bytes)
    fcs = static_cast<std::uint16_t>((fcs >> 8) ^
                                     kFcsTable[(fcs ^ static_cast<std::uint8_t>(c)) & 0xff]);
  return fcs;
}

std::string encode_frame(std::uint16_t protocol, std::string_view information, std::uint32_t accm,
                         bool corrupt_fcs) {
  std::string body;
  body.reserve(information.size() + 6);
  body.push_back(static_cast<char>(0xff));
  body.push_back(0x03);
  body.push_back(static_cast<char>(protocol >> 8));
  body.push_back(static_cast<char>(protocol & 0xff));
  body.append(information);
  std::uint16_t fcs = fcs16(kInitialFcs, body) ^ 0xffff;
  if (corrupt_fcs) fcs ^= 0xffff;
  body.push_back(static_cast<char>(fcs & 0xff));
  body.push_back(static_cast<char>(fcs >> 8));
  std::string out;
  out.reserve(body.size() * 2 + 2);
  out.push_back(static_cast<char>(kFlag));
  for (const char c : body)
    put_escaped(out, static_cast<std::uint8_t>(c), accm);
  out.push_back(static_cast<char>(kFlag));
  return out;
}

std::optional<Frame> parse_frame(std::string_view f) {
  // Address and control may be left out once ACFC is agreed (RFC 1661 section 6.6).
  if (f.size() >= 2 && static_cast<std::uint8_t>(f[0]) == 0xff) {
    if (f[1] != 0x03) return std::nullopt;
    f.remove_prefix(2);
  }
  if (f.empty()) return std::nullopt;
  Frame frame;
  const auto first = static_cast<std::uint8_t>(f[0]);
  if (first & 1) {  // a one-byte protocol field (PFC, section 6.5): its low bit is set
    frame.protocol = first;
    f.remove_prefix(1);
  } else {
    if (f.size() < 2) return std::nullopt;
    frame.protocol = static_cast<std::uint16_t>(first << 8 | static_cast<std::uint8_t>(f[1]));
    // The protocol field's least significant octet is odd (RFC 1661 section 2).
    if (!(frame.protocol & 1)) return std::nullopt;
    f.remove_prefix(2);
  }
  frame.information.assign(f);
  return frame;
}

void Deframer::feed(std::string_view bytes, const std::function<void(Frame)>& on_frame) {
  for (const char c : bytes) {
    const auto b = static_cast<std::uint8_t>(c);
    if (b == kFlag) {
      end_frame(on_frame);
      continue;
    }
    if (b == kEscape) {
      escaped_ = true;
      continue;
    }
    if (buffer_.size() >= max_frame_) {
      overflow_ = true;
      continue;
    }
    buffer_.push_back(static_cast<char>(escaped_ ? b ^ 0x20 : b));
    escaped_ = false;
  }
}

void Deframer::end_frame(const std::function<void(Frame)>& on_frame) {
  const bool was_escaped = std::exchange(escaped_, false);
  const bool overflow = std::exchange(overflow_, false);
  std::string body = std::exchange(buffer_, {});
  if (body.empty()) return;  // back-to-back flags: no frame (RFC 1662 section 4.1)
  // A frame aborted by 0x7D 0x7E, one too long or too short for an FCS, or one whose FCS does
  // not check is discarded (section 4.3).
  if (was_escaped || overflow || body.size() < 4 || fcs16(kInitialFcs, body) != kGoodFcs) {
    ++dropped_;
    return;
  }
  body.resize(body.size() - 2);
  auto frame = parse_frame(body);
  if (!frame) {
    ++dropped_;
    return;
  }
  on_frame(std::move(*frame));
}

}  // namespace bg95::ppp
