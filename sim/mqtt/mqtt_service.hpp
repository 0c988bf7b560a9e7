#pragma once
// The module's MQTT client (AT+QMT*, docs/mqtt.md): six clients (<client_idx> 0-5), each
// with its configuration (AT+QMTCFG), a network connection to its broker (AT+QMTOPEN, TCP or
// TLS through an SSL context), an MQTT session on it (AT+QMTCONN), subscriptions, publishes
// and what arrives. Its answers to the host are URCs (+QMTOPEN, +QMTCONN, +QMTSUB, +QMTPUB,
// +QMTRECV, +QMTSTAT, ...); the command service (sim/services/mqtt_commands.cpp) answers the
// commands themselves.
//
// The connection is a Boost.Asio socket in the module's one event loop, gated by the client's
// PDP context; every byte crosses the module's radio link (Module::link()). The MQTT packets
// are this module's own codec (codec.hpp), not libmosquitto: docs/mqtt.md says why.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sim/life_guard.hpp"
#include "sim/module_observer.hpp"
#include "sim/mqtt/codec.hpp"

namespace bg95 {
class Module;
}

namespace bg95::mqtt {

inline constexpr int kClients = 6;      // <client_idx> 0-5
inline constexpr int kRecvBuffers = 5;  // <recv_id> 0-4 (buffered receive mode)

// AT+QMTCFG of one client; the defaults are the note's.
struct ClientConfig {
  int version = 3;  // 3: MQTT 3.1, 4: MQTT 3.1.1
  int pdp_cid = 1;
  bool ssl = false;
  int ssl_ctx = 0;
  int keepalive = 120;  // seconds; 0: no keep-alive
  bool clean_session = true;
  int pkt_timeout = 5;  // seconds to wait for an acknowledgement
  int retry_times = 3;
  bool timeout_notice = false;  // report each retransmission
  bool will_enabled = false;
  Will will;
  int recv_mode = 0;      // 0: the URC carries the message; 1: it says which buffer holds it
  bool recv_len = false;  // the message's length in +QMTRECV
  std::string ali_product_key, ali_device_name, ali_device_secret;  // "aliauth" (stored only)
};

// AT+QMTCONN? <state>.
enum class ConnState { Initializing = 1, Connecting = 2, Connected = 3, Disconnecting = 4 };

class Client;

class MqttService : public ModuleObserver {
 public:
  explicit MqttService(Module& module);
  ~MqttService() override;
  MqttService(const MqttService&) = delete;
  MqttService& operator=(const MqttService&) = delete;

  static bool valid(int idx) { return idx >= 0 && idx < kClients; }
  ClientConfig& config(int idx);

  // ---- module life
  void on_boot();        // configurations back to the defaults
  void on_power_lost();  // every connection dropped, nothing said

  // ---- the commands: false means the command answers ERROR; true, OK and a URC follows.
  bool open(int idx, const std::string& host, int port);
  bool close(int idx);
  bool connect(int idx, ConnectOptions options);
  bool disconnect(int idx);
  bool subscribe(int idx, int msg_id, std::vector<std::pair<std::string, int>> topics);
  bool unsubscribe(int idx, int msg_id, std::vector<std::string> topics);
  // Whether a publish may start (before the prompt): connected, and the msgID fits the QoS.
  bool can_publish(int idx, int msg_id, int qos) const;
  void publish(int idx, int msg_id, int qos, bool retain, const std::string& topic,
               const std::string& payload);

  // ---- the read forms
  std::vector<std::string> open_lines() const;  // +QMTOPEN: <idx>,"<host>",<port>
  std::vector<std::string> conn_lines() const;  // +QMTCONN: <idx>,<state>
  // AT+QMTRECV?: +QMTRECV: <idx>,<s0>,...,<s4> of each connected client.
  std::vector<std::string> recv_status_lines() const;
  // AT+QMTRECV=<idx>[,<recv_id>]: the buffered messages (one, or all), taken out.
  std::vector<std::string> read_buffered(int idx, std::optional<int> recv_id);
  bool connected(int idx) const;

  // ---- ModuleObserver: the network deactivating the client's context closes it.
  void on_urc(std::string_view text) override;
  void on_network(const NetworkState& now) override;

 private:
  friend class Client;
  Client& client(int idx) const;

  Module& module_;
  std::array<ClientConfig, kClients> configs_{};
  std::array<std::unique_ptr<Client>, kClients> clients_;
};

}  // namespace bg95::mqtt
