#pragma once
// The multiplexer control channel's messages (27.010 5.4.6): each is the information field of
// a UIH frame on DLCI 0 — a type octet (EA, C/R, six type bits), a length (EA, seven bits a
// octet) and the value. C/R says command (1) or response (0).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bg95::cmux {

// The six type bits (27.010 5.4.6.3); as octets with EA and C/R they read e.g. 0xE3 (an MSC
// command) and 0xE1 (its response).
enum class MessageType : std::uint8_t {
  Nsc = 0x04,    // non supported command response
  Test = 0x08,   // echoes its value
  Psc = 0x10,    // power saving control
  Rls = 0x14,    // remote line status
  Fcoff = 0x18,  // aggregate flow control: stop
  Pn = 0x20,     // DLC parameter negotiation
  Rpn = 0x24,    // remote port negotiation
  Fcon = 0x28,   // aggregate flow control: go
  Cld = 0x30,    // multiplexer close down
  Snc = 0x34,    // service negotiation
  Msc = 0x38,    // modem status command: a DLC's V.24 signals
};

struct Message {
  std::uint8_t type = 0;  // the six type bits (MessageType, or one this side does not know)
  bool command = true;    // C/R
  std::string value;

  friend bool operator==(const Message&, const Message&) = default;
};

std::string encode(const Message& message);
// A message from a UIH information field; nullopt when its octets do not make one (EA bits,
// a length that disagrees with the field).
std::optional<Message> decode_message(std::string_view info);
// The type octet as sent, with EA and C/R (the value of an NSC response).
std::uint8_t type_octet(const Message& message);

// The V.24 signals octet of an MSC (27.010 5.4.6.3.7, figure 12): bit 1 EA, FC (flow control:
// the sender cannot take frames), RTC (ready to communicate: DTR or DSR), RTR (ready to
// receive: RTS or CTS), IC (ring), DV (data valid: DCD).
struct Signals {
  bool fc = false;
  bool rtc = true;
  bool rtr = true;
  bool ic = false;
  bool dv = true;
  friend bool operator==(const Signals&, const Signals&) = default;
};
std::uint8_t encode_signals(const Signals& s);
Signals decode_signals(std::uint8_t octet);

struct ModemStatus {
  std::uint8_t dlci = 0;
  Signals signals;
  std::optional<std::uint8_t> break_octet;  // the optional third octet
  friend bool operator==(const ModemStatus&, const ModemStatus&) = default;
};
// The value of an MSC (DLCI octet with EA and bit 2 set to 1, the signals, maybe a break).
std::string encode_msc(const ModemStatus& status);
std::optional<ModemStatus> decode_msc(std::string_view value);

}  // namespace bg95::cmux
