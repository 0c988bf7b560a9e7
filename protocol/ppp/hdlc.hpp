#pragma once
// PPP in HDLC-like framing (RFC 1662): flag 0x7E between frames, 0x7D escapes (the byte XOR
// 0x20), the Async-Control-Character-Map (which of 0x00-0x1F are escaped) and the 16-bit FCS
// (RFC 1662 section C.2). Socket-free: bytes in, frames out.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace bg95::ppp {

inline constexpr std::uint8_t kFlag = 0x7e;
inline constexpr std::uint8_t kEscape = 0x7d;
inline constexpr std::uint16_t kInitialFcs = 0xffff;
inline constexpr std::uint16_t kGoodFcs = 0xf0b8;  // the FCS over a frame and its own FCS
// Until LCP is Opened every control character is escaped (RFC 1662 section 7.1).
inline constexpr std::uint32_t kDefaultAccm = 0xffffffff;

std::uint16_t fcs16(std::uint16_t fcs, std::string_view bytes);

// One frame on the wire: flag, address 0xFF, control 0x03, the 16-bit protocol, `information`,
// the FCS (least significant byte first), flag; escaped as `accm` says. `corrupt_fcs` sends the
// FCS inverted (a fault: the host must drop the frame).
std::string encode_frame(std::uint16_t protocol, std::string_view information, std::uint32_t accm,
                         bool corrupt_fcs = false);

// A frame as received: protocol and information, address/control and protocol fields
// decompressed (ACFC and PFC, RFC 1661 sections 6.5 and 6.6).
struct Frame {
  std::uint16_t protocol = 0;
  std::string information;
};

// Assembles frames from the host's bytes. Frames with a bad FCS, too short, with an address
// other than 0xFF, or longer than `max_frame` are counted and dropped (RFC 1662 section 4.3:
// silently discarded).
class Deframer {
 public:
  explicit Deframer(std::size_t max_frame = 4096) : max_frame_(max_frame) {}
  void feed(std::string_view bytes, const std::function<void(Frame)>& on_frame);
  std::uint64_t dropped() const { return dropped_; }

 private:
  void end_frame(const std::function<void(Frame)>& on_frame);

  std::size_t max_frame_;
  std::string buffer_;
  bool escaped_ = false;
  bool overflow_ = false;
  std::uint64_t dropped_ = 0;
};

// Address/control/protocol from an unescaped frame without its FCS; nullopt when malformed.
std::optional<Frame> parse_frame(std::string_view unescaped);

}  // namespace bg95::ppp
