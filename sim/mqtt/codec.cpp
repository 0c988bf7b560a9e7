#include "sim/mqtt/codec.hpp"

namespace bg95::mqtt {

namespace {

void put_u16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

// A UTF-8 string or binary field: two length bytes, then the bytes (3.1.1, 1.5.3).
void put_string(std::string& out, std::string_view s) {
  put_u16(out, static_cast<std::uint16_t>(s.size()));
  out.append(s);
}

// The fixed header: type and flags, then the remaining length in 7-bit groups (2.2.3).
std::string frame(PacketType type, std::uint8_t flags, std::string_view body) {
  std::string out;
  out.push_back(static_cast<char>((static_cast<std::uint8_t>(type) << 4) | (flags & 0x0f)));
  std::size_t left = body.size();
  do {
    std::uint8_t digit = left % 128;
    left /= 128;
    if (left > 0) digit |= 0x80;
    out.push_back(static_cast<char>(digit));
  } while (left > 0);
  out.append(body);
  return out;
}

std::uint16_t get_u16(std::string_view s, std::size_t at) {
  return static_cast<std::uint16_t>((static_cast<std::uint8_t>(s[at]) << 8) |
                                    static_cast<std::uint8_t>(s[at + 1]));
}

}  // namespace

std::string encode_connect(const ConnectOptions& o) {
  std::string body;
  // 3.1 says "MQIsdp" level 3; 3.1.1 "MQTT" level 4 (3.1.1, 3.1.2.1 and 3.1.2.2).
  put_string(body, o.version == 3 ? "MQIsdp" : "MQTT");
  body.push_back(static_cast<char>(o.version == 3 ? 3 : 4));
  std::uint8_t flags = 0;
  if (o.clean_session) flags |= 0x02;
  if (o.will) {
    flags |= 0x04;
    flags |= static_cast<std::uint8_t>((o.will->qos & 3) << 3);
    if (o.will->retain) flags |= 0x20;
  }
  if (o.password) flags |= 0x40;
  if (o.username) flags |= 0x80;
  body.push_back(static_cast<char>(flags));
  put_u16(body, o.keepalive);
  put_string(body, o.client_id);
  if (o.will) {
    put_string(body, o.will->topic);
    put_string(body, o.will->message);
  }
  if (o.username) put_string(body, *o.username);
  if (o.password) put_string(body, *o.password);
  return frame(PacketType::Connect, 0, body);
}

std::string encode_publish(std::string_view topic, std::string_view payload, int qos, bool retain,
                           std::uint16_t packet_id, bool dup) {
  std::string body;
  put_string(body, topic);
  if (qos > 0) put_u16(body, packet_id);
  body.append(payload);
  const auto flags =
      static_cast<std::uint8_t>((dup ? 0x08 : 0) | ((qos & 3) << 1) | (retain ? 0x01 : 0));
  return frame(PacketType::Publish, flags, body);
}

std::string encode_ack(PacketType type, std::uint16_t packet_id) {
  std::string body;
  put_u16(body, packet_id);
  return frame(type, type == PacketType::Pubrel ? 0x02 : 0, body);
}

std::string encode_subscribe(std::uint16_t packet_id,
                             const std::vector<std::pair<std::string, int>>& topics) {
  std::string body;
  put_u16(body, packet_id);
  for (const auto& [topic, qos] : topics) {
    put_string(body, topic);
    body.push_back(static_cast<char>(qos & 3));
  }
  return frame(PacketType::Subscribe, 0x02, body);  // flags 0010 (3.8.1)
}

std::string encode_unsubscribe(std::uint16_t packet_id, const std::vector<std::string>& topics) {
  std::string body;
  put_u16(body, packet_id);
  for (const auto& topic : topics)
    put_string(body, topic);
  return frame(PacketType::Unsubscribe, 0x02, body);  // flags 0010 (3.10.1)
}

std::string encode_pingreq() {
  return frame(PacketType::Pingreq, 0, {});
}

std::string encode_disconnect() {
  return frame(PacketType::Disconnect, 0, {});
}

std::optional<Packet> Reader::next() {
  if (broken_ || buffer_.empty()) return std::nullopt;
  const auto first = static_cast<std::uint8_t>(buffer_[0]);
  const int type = first >> 4;
  if (type < 1 || type > 14) {  // 0 and 15 are reserved (2.2.1)
    broken_ = true;
    return std::nullopt;
  }
  std::size_t length = 0;
  std::size_t multiplier = 1;
  std::size_t i = 1;
  for (;; ++i) {
    if (i > 4) {  // at most four length bytes (2.2.3)
      broken_ = true;
      return std::nullopt;
    }
    if (i >= buffer_.size()) return std::nullopt;
    const auto digit = static_cast<std::uint8_t>(buffer_[i]);
    length += (digit & 0x7f) * multiplier;
    multiplier *= 128;
    if ((digit & 0x80) == 0) break;
  }
  if (length > max_packet_) {
    broken_ = true;
    return std::nullopt;
  }
  const std::size_t header = i + 1;
  if (buffer_.size() < header + length) return std::nullopt;
  Packet p{static_cast<PacketType>(type), static_cast<std::uint8_t>(first & 0x0f),
           buffer_.substr(header, length)};
  buffer_.erase(0, header + length);
  return p;
}

std::optional<Connack> parse_connack(const Packet& p) {
  if (p.type != PacketType::Connack || p.body.size() != 2) return std::nullopt;
  return Connack{(p.body[0] & 0x01) != 0, static_cast<std::uint8_t>(p.body[1])};
}

std::optional<Publish> parse_publish(const Packet& p) {
  if (p.type != PacketType::Publish || p.body.size() < 2) return std::nullopt;
  Publish m;
  m.qos = (p.flags >> 1) & 3;
  m.retain = (p.flags & 0x01) != 0;
  m.dup = (p.flags & 0x08) != 0;
  if (m.qos == 3) return std::nullopt;
  const std::size_t topic_len = get_u16(p.body, 0);
  std::size_t at = 2 + topic_len;
  if (p.body.size() < at) return std::nullopt;
  m.topic = p.body.substr(2, topic_len);
  if (m.qos > 0) {
    if (p.body.size() < at + 2) return std::nullopt;
    m.packet_id = get_u16(p.body, at);
    at += 2;
  }
  m.payload = p.body.substr(at);
  return m;
}

std::optional<std::uint16_t> parse_packet_id(const Packet& p) {
  if (p.body.size() != 2) return std::nullopt;
  return get_u16(p.body, 0);
}

std::optional<Suback> parse_suback(const Packet& p) {
  if (p.type != PacketType::Suback || p.body.size() < 3) return std::nullopt;
  Suback s;
  s.packet_id = get_u16(p.body, 0);
  for (std::size_t i = 2; i < p.body.size(); ++i)
    s.granted.push_back(static_cast<std::uint8_t>(p.body[i]));
  return s;
}

}  // namespace bg95::mqtt
