#pragma once
// The packets of PPP's control protocols, as bytes: the code/identifier/length header that LCP
// (RFC 1661 section 5), IPCP (RFC 1332), PAP and CHAP (RFC 1334, RFC 1994) share, the
// type/length/value options of Configure packets (RFC 1661 section 6), and PAP's and CHAP's
// bodies. Socket-free; every parser checks lengths and says nullopt to what does not fit.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bg95::ppp {

// Protocol field values (RFC 1661 section 2; the IANA PPP DLL protocol numbers).
inline constexpr std::uint16_t kIpv4 = 0x0021;
inline constexpr std::uint16_t kIpcp = 0x8021;
inline constexpr std::uint16_t kLcp = 0xc021;
inline constexpr std::uint16_t kPap = 0xc023;
inline constexpr std::uint16_t kChap = 0xc223;

// Codes of LCP and the NCPs (RFC 1661 section 5).
enum Code : std::uint8_t {
  kConfigureRequest = 1,
  kConfigureAck = 2,
  kConfigureNak = 3,
  kConfigureReject = 4,
  kTerminateRequest = 5,
  kTerminateAck = 6,
  kCodeReject = 7,
  kProtocolReject = 8,  // LCP only, as are the three below
  kEchoRequest = 9,
  kEchoReply = 10,
  kDiscardRequest = 11,
};

// LCP options (RFC 1661 section 6; ACCM: RFC 1662 section 7.1).
enum LcpOption : std::uint8_t {
  kMru = 1,
  kAccm = 2,
  kAuthProtocol = 3,
  kQualityProtocol = 4,
  kMagicNumber = 5,
  kPfc = 7,
  kAcfc = 8,
};
// IPCP options (RFC 1332 section 3; DNS and NBNS: RFC 1877).
enum IpcpOption : std::uint8_t {
  kIpCompression = 2,
  kIpAddress = 3,
  kPrimaryDns = 129,
  kPrimaryNbns = 130,
  kSecondaryDns = 131,
  kSecondaryNbns = 132,
};
inline constexpr std::uint8_t kChapMd5 = 5;  // CHAP's algorithm byte (RFC 1994 section 3)

struct ControlPacket {
  std::uint8_t code = 0;
  std::uint8_t id = 0;
  std::string data;  // after the 4-byte header, cut to the header's length
};
// Octets past the Length field are padding and ignored (RFC 1661 section 5).
std::optional<ControlPacket> parse_control(std::string_view information);
std::string encode_control(const ControlPacket& packet);

struct Option {
  std::uint8_t type = 0;
  std::string value;  // without type and length
  friend bool operator==(const Option&, const Option&) = default;
};
std::optional<std::vector<Option>> parse_options(std::string_view data);
std::string encode_options(const std::vector<Option>& options);

// Big-endian fields of options.
std::string be16(std::uint16_t v);
std::string be32(std::uint32_t v);
std::optional<std::uint32_t> read_be32(std::string_view value);
std::optional<std::uint16_t> read_be16(std::string_view value);

// PAP Authenticate-Request (RFC 1334 section 2.2.1): Peer-ID and Password.
struct PapRequest {
  std::string peer_id, password;
};
std::optional<PapRequest> parse_pap_request(std::string_view data);
// PAP Ack/Nak: a message (section 2.2.2).
std::string pap_message(std::string_view message);

// CHAP Challenge and Response (RFC 1994 section 4.1): Value-Size, Value, Name.
struct ChapValue {
  std::string value, name;
};
std::optional<ChapValue> parse_chap_value(std::string_view data);
std::string encode_chap_value(const ChapValue& v);
// The expected Response value for CHAP with MD5: MD5(identifier | secret | challenge).
std::string chap_md5_response(std::uint8_t id, std::string_view secret, std::string_view challenge);

}  // namespace bg95::ppp
