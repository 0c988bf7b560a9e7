// The host's bytes on a multiplexed port as the module reads them (protocol/cmux/): cut into
// 27.010 basic option frames by cmux::Decoder, and each UIH frame on DLCI 0 read as a control
// channel message, an MSC's value among them. The first two input bytes choose N1 (AT+CMUX's
// longest information field, 1-1600 here); the rest is the byte stream.
// Properties: a frame the decoder gives has at most N1 octets of information, and its encoding
// decodes to the same frame; a control message and an MSC value that decode encode to octets
// that decode to them again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/cmux/control.hpp"
#include "protocol/cmux/frame.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace bg95::cmux;

// What a fresh decoder with the same N1 makes of `bytes`: the one frame it gives, if any.
std::optional<Frame> decode_alone(const std::string& bytes, std::size_t n1) {
  Decoder decoder(n1);
  std::optional<Frame> out;
  for (const char c : bytes) {
    auto r = decoder.feed(static_cast<std::uint8_t>(c));
    if (r.frame) {
      BG95_FUZZ_CHECK(!out);
      out = std::move(r.frame);
    }
  }
  return out;
}

void check_control(const Frame& frame) {
  const auto message = decode_message(frame.info);
  if (!message) return;
  const auto again = decode_message(encode(*message));
  BG95_FUZZ_CHECK(again && *again == *message);
  if (message->type != static_cast<std::uint8_t>(MessageType::Msc)) return;
  if (const auto msc = decode_msc(message->value)) {
    const auto round = decode_msc(encode_msc(*msc));
    BG95_FUZZ_CHECK(round && *round == *msc);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t n1 = (static_cast<std::size_t>(data[0]) << 8 | data[1]) % 1600 + 1;
  Decoder decoder(n1);
  for (std::size_t i = 2; i < size; ++i) {
    auto result = decoder.feed(data[i]);
    if (!result.frame) continue;
    const Frame& frame = *result.frame;
    BG95_FUZZ_CHECK(result.dropped == Decoder::Dropped::None);
    BG95_FUZZ_CHECK(frame.info.size() <= n1 && frame.dlci < 64);
    const auto again = decode_alone(encode(frame), n1);
    BG95_FUZZ_CHECK(again && *again == frame);
    if (frame.dlci == 0 && frame.type() == FrameType::Uih) check_control(frame);
  }
  return 0;
}
