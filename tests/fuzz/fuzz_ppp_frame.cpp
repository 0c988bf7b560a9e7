// The host's bytes on a PPP link as the module reads them (protocol/ppp/): HDLC-like frames cut
// by ppp::Deframer (RFC 1662), then what the module's end of the link reads from each: the
// LCP/IPCP/PAP/CHAP packet and its options, a PAP request, a CHAP value, and an IPv4 packet,
// answered by the local DNS when it is a query. The first input byte chooses the longest frame
// (64-4159 octets); the rest is the byte stream.
// Properties: no frame longer than that comes out, and each one's encoding (RFC 1662, all
// control characters escaped) deframes to the same protocol and information; options that
// parse encode to options that parse the same; a DNS answer is a whole IPv4 packet.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ppp/hdlc.hpp"
#include "protocol/ppp/ipv4.hpp"
#include "protocol/ppp/packets.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace bg95::ppp;

// The module's resolver: one address for any name, a failure for "fail." names.
std::optional<std::vector<std::uint32_t>> resolve(const std::string& name) {
  if (name.rfind("fail", 0) == 0) return std::nullopt;
  return std::vector<std::uint32_t>{0x7f000001};
}

void check_round_trip(const Frame& frame) {
  Deframer fresh(frame.information.size() + 16);
  std::vector<Frame> out;
  fresh.feed(encode_frame(frame.protocol, frame.information, kDefaultAccm),
             [&out](Frame f) { out.push_back(std::move(f)); });
  BG95_FUZZ_CHECK(out.size() == 1 && out[0].protocol == frame.protocol &&
                  out[0].information == frame.information);
}

void read_control(const Frame& frame) {
  const auto packet = parse_control(frame.information);
  if (!packet) return;
  BG95_FUZZ_CHECK(packet->data.size() + 4 <= frame.information.size());
  if (const auto options = parse_options(packet->data)) {
    const auto again = parse_options(encode_options(*options));
    BG95_FUZZ_CHECK(again && *again == *options);
  }
  if (frame.protocol == kPap) (void)parse_pap_request(packet->data);
  if (frame.protocol == kChap) {
    if (const auto v = parse_chap_value(packet->data)) {
      const auto again = parse_chap_value(encode_chap_value(*v));
      BG95_FUZZ_CHECK(again && again->value == v->value && again->name == v->name);
    }
  }
}

void read_ipv4(const Frame& frame) {
  const auto header = parse_ipv4(frame.information);
  if (!header) return;
  BG95_FUZZ_CHECK(header->header_length <= header->total_length &&
                  header->total_length <= frame.information.size());
  if (header->protocol != kUdp) return;
  if (const auto answer = answer_dns(frame.information, resolve)) {
    const auto reply = parse_ipv4(*answer);
    BG95_FUZZ_CHECK(reply && reply->total_length == answer->size() && reply->protocol == kUdp);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t max_frame = 64 + static_cast<std::size_t>(data[0]) * 16;
  Deframer deframer(max_frame);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  // In two writes, split in the middle: a frame across two reads of the port.
  const auto on_frame = [max_frame](Frame frame) {
    BG95_FUZZ_CHECK(frame.information.size() + 3 <= max_frame);
    check_round_trip(frame);
    if (frame.protocol == kIpv4) return read_ipv4(frame);
    if (frame.protocol == kLcp || frame.protocol == kIpcp || frame.protocol == kPap ||
        frame.protocol == kChap)
      read_control(frame);
  };
  deframer.feed(bytes.substr(0, bytes.size() / 2), on_frame);
  deframer.feed(bytes.substr(bytes.size() / 2), on_frame);
  return 0;
}
