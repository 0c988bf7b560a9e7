#pragma once
// 3GPP TS 27.010 basic option frames (the multiplexer AT+CMUX=0 starts), socket-free:
//   F9 | address | control | length (1 or 2 octets) | information | FCS | F9
// address: EA (bit 1) = 1, C/R (bit 2), DLCI (bits 3-8); control: the frame type with the P/F
// bit (0x10); length: EA in bit 1, 7 bits, or 15 bits over two octets when EA is 0 (27.010
// 5.2.1). The FCS is the one's complement of a reflected CRC-8 (x^8 + x^2 + x + 1, initial
// 0xFF) over address, control and length, and over the information too for frames other
// than UIH (27.010 5.2.1.6 and annex B).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bg95::cmux {

inline constexpr std::uint8_t kFlag = 0xF9;

// The control field without the P/F bit (27.010 5.2.1.3, table 2).
enum class FrameType : std::uint8_t {
  Sabm = 0x2F,  // set asynchronous balanced mode: open a DLC
  Ua = 0x63,    // unnumbered acknowledgement
  Dm = 0x0F,    // disconnected mode
  Disc = 0x43,  // disconnect
  Uih = 0xEF,   // unnumbered information with header check (FCS over the header only)
  Ui = 0x03,    // unnumbered information (FCS over the information too)
};
inline constexpr std::uint8_t kPollFinal = 0x10;

struct Frame {
  std::uint8_t dlci = 0;                                             // 0..63
  bool cr = false;                                                   // the address field's C/R bit
  bool pf = false;                                                   // poll/final
  std::uint8_t control = static_cast<std::uint8_t>(FrameType::Uih);  // without P/F
  std::string info;

  FrameType type() const { return static_cast<FrameType>(control); }
  friend bool operator==(const Frame&, const Frame&) = default;
};

// The FCS octet sent for these octets (27.010 annex B: 0xFF minus the CRC).
std::uint8_t fcs(std::string_view octets);
// Whether `fcs` is right for these octets (the receiver's check: the CRC over the octets and
// the FCS comes out at 0xCF).
bool fcs_ok(std::string_view octets, std::uint8_t fcs);

// The frame's bytes, flags included. `corrupt_fcs`: the FCS octet is inverted (a fault).
std::string encode(const Frame& frame, bool corrupt_fcs = false);

// Takes the bytes of the physical port and gives whole frames. Invalid frames are discarded
// without notice, as 27.010's frame validity rules say: a bad FCS, too few octets between flags, an
// information field longer than N1, a length field that disagrees with the octets that came.
class Decoder {
 public:
  // `max_info`: N1 of AT+CMUX, the longest information field taken.
  explicit Decoder(std::size_t max_info) : max_info_(max_info) {}

  enum class Dropped { None, BadFcs, TooLong, Malformed };
  struct Result {
    std::optional<Frame> frame;  // a whole, valid frame
    Dropped dropped = Dropped::None;
  };
  // Feeds one byte; a frame (or the reason one was dropped) when it ends with this byte.
  Result feed(std::uint8_t byte);
  void reset();

 private:
  enum class State { Hunt, Address, Control, Length, Length2, Info, Fcs, Close };
  Result drop(Dropped why);
  std::size_t max_info_;
  State state_ = State::Hunt;
  std::string header_;  // address, control, length octets (for the FCS)
  Frame frame_;
  std::size_t length_ = 0;
  std::uint8_t fcs_ = 0;
};

}  // namespace bg95::cmux
