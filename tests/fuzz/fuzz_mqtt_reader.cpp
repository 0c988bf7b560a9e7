// The broker's bytes as the module's MQTT client reads them (sim/mqtt/codec.*): cut into
// control packets by mqtt::Reader, each read as the packet its type says. The first input byte
// chooses the largest packet taken (16-4096 octets), the second where the stream is split into
// two reads; the rest is the stream.
// Properties: a packet is never larger than the limit; a broken stream stays broken and gives
// no more packets; a PUBLISH that parses is encoded by the module's own encoder to bytes that
// read back as the same message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/mqtt/codec.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace bg95::mqtt;

void check_publish(const Packet& packet) {
  const auto p = parse_publish(packet);
  if (!p) return;
  BG95_FUZZ_CHECK(p->qos >= 0 && p->qos <= 2);
  BG95_FUZZ_CHECK(p->topic.size() + p->payload.size() <= packet.body.size());
  Reader again;
  again.feed(encode_publish(p->topic, p->payload, p->qos, p->retain, p->packet_id, p->dup));
  const auto next = again.next();
  BG95_FUZZ_CHECK(next && next->type == PacketType::Publish);
  const auto q = parse_publish(*next);
  BG95_FUZZ_CHECK(q && q->topic == p->topic && q->payload == p->payload && q->qos == p->qos &&
                  q->retain == p->retain && q->dup == p->dup && q->packet_id == p->packet_id);
}

void read_all(Reader& reader, std::size_t max_packet) {
  while (const auto packet = reader.next()) {
    BG95_FUZZ_CHECK(!reader.broken());
    BG95_FUZZ_CHECK(packet->body.size() <= max_packet);
    switch (packet->type) {
      case PacketType::Connack:
        (void)parse_connack(*packet);
        break;
      case PacketType::Publish:
        check_publish(*packet);
        break;
      case PacketType::Suback:
        if (const auto s = parse_suback(*packet)) BG95_FUZZ_CHECK(s->granted.size() < max_packet);
        break;
      default:
        (void)parse_packet_id(*packet);
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max_packet = 16 + static_cast<std::size_t>(data[0]) * 16;
  const std::string_view stream(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t split = stream.empty() ? 0 : data[1] % (stream.size() + 1);
  Reader reader(max_packet);
  reader.feed(stream.substr(0, split));
  read_all(reader, max_packet);
  const bool broken = reader.broken();
  reader.feed(stream.substr(split));
  read_all(reader, max_packet);
  if (broken) BG95_FUZZ_CHECK(reader.broken() && !reader.next());
  return 0;
}
