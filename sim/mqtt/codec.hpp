#pragma once
// MQTT 3.1 / 3.1.1 control packets as a client writes and reads them (OASIS MQTT 3.1.1,
// section 2 "MQTT Control Packet format" and section 3 "MQTT Control Packets"; 3.1 differs
// only in the CONNECT protocol name "MQIsdp" and level 3). Socket-free: bytes in, packets
// out, so that the client decides what crosses the module's radio link and when.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bg95::mqtt {

// Control packet types (3.1.1, 2.2.1).
enum class PacketType : std::uint8_t {
  Connect = 1,
  Connack = 2,
  Publish = 3,
  Puback = 4,
  Pubrec = 5,
  Pubrel = 6,
  Pubcomp = 7,
  Subscribe = 8,
  Suback = 9,
  Unsubscribe = 10,
  Unsuback = 11,
  Pingreq = 12,
  Pingresp = 13,
  Disconnect = 14,
};

struct Will {
  int qos = 0;
  bool retain = false;
  std::string topic;
  std::string message;
};

struct ConnectOptions {
  int version = 4;  // 3: MQTT 3.1, 4: MQTT 3.1.1 (AT+QMTCFG="version")
  std::string client_id;
  std::optional<std::string> username;
  std::optional<std::string> password;
  bool clean_session = true;
  std::uint16_t keepalive = 120;  // seconds
  std::optional<Will> will;
};

// ---- what the client writes
std::string encode_connect(const ConnectOptions& o);
std::string encode_publish(std::string_view topic, std::string_view payload, int qos, bool retain,
                           std::uint16_t packet_id, bool dup);
// PUBACK, PUBREC, PUBREL, PUBCOMP: the packet id alone (PUBREL has flags 0010, 3.6.1).
std::string encode_ack(PacketType type, std::uint16_t packet_id);
std::string encode_subscribe(std::uint16_t packet_id,
                             const std::vector<std::pair<std::string, int>>& topics);
std::string encode_unsubscribe(std::uint16_t packet_id, const std::vector<std::string>& topics);
std::string encode_pingreq();
std::string encode_disconnect();

// ---- what the client reads
struct Packet {
  PacketType type{};
  std::uint8_t flags = 0;  // the low nibble of the fixed header
  std::string body;        // the variable header and payload
};

// Cuts a byte stream into packets. Bytes that are no MQTT (a reserved type, a remaining
// length of more than four bytes, a packet larger than the limit) make it fail for good.
class Reader {
 public:
  explicit Reader(std::size_t max_packet = 1 << 20) : max_packet_(max_packet) {}
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole packet, or nullopt when more bytes are needed (or the stream is broken).
  std::optional<Packet> next();
  bool broken() const { return broken_; }

 private:
  std::string buffer_;
  std::size_t max_packet_;
  bool broken_ = false;
};

// The fields of the packets a client receives; nullopt when the body is malformed.
struct Connack {
  bool session_present = false;
  int return_code = 0;  // 0 accepted ... 5 not authorised (3.2.2.3)
};
std::optional<Connack> parse_connack(const Packet& p);
struct Publish {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  bool dup = false;
  std::uint16_t packet_id = 0;  // 0 at QoS 0
};
std::optional<Publish> parse_publish(const Packet& p);
// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: the packet id.
std::optional<std::uint16_t> parse_packet_id(const Packet& p);
struct Suback {
  std::uint16_t packet_id = 0;
  std::vector<int> granted;  // per topic: 0-2, or 0x80 failure
};
std::optional<Suback> parse_suback(const Packet& p);

}  // namespace bg95::mqtt
