// MQTT: AT+QMTCFG, AT+QMTOPEN, AT+QMTCLOSE, AT+QMTCONN, AT+QMTDISC, AT+QMTSUB, AT+QMTUNS,
// AT+QMTPUB, AT+QMTPUBEX and AT+QMTRECV (Quectel BG95&BG77&BG600L Series MQTT Application
// Note; docs/mqtt.md has every format with its source). A command answers OK when it could
// start and ERROR when not (the note lists no error codes for these commands); what happens
// on the network comes later as a URC from the MQTT service (sim/mqtt/).

#include <fmt/format.h>

#include <memory>
#include <optional>

#include "protocol/at/data_session.hpp"
#include "sim/module.hpp"
#include "sim/mqtt/mqtt_service.hpp"
#include "sim/services/services.hpp"
#include "sim/util/text.hpp"

namespace bg95::services {
namespace {

using at::Call;
using at::Form;
using mqtt::ClientConfig;

// The limits a host meets, in one place (docs/mqtt.md says which come from the note).
constexpr std::size_t kHostMax = 255;       // <host_name>
constexpr std::size_t kClientIdMax = 256;   // <clientID>
constexpr std::size_t kUserMax = 256;       // <username>, <password>
constexpr std::size_t kTopicMax = 256;      // <topic> of SUB, UNS, PUB and the will
constexpr std::size_t kWillMsgMax = 256;    // <will_msg>
constexpr std::size_t kAliMax = 64;         // the three "aliauth" strings
constexpr int kMaxTopicsPerCommand = 5;     // topics in one AT+QMTSUB / AT+QMTUNS
constexpr std::int64_t kMsgLenMax = 4096;   // <msglen> of AT+QMTPUB, and a Ctrl-Z message
constexpr std::size_t kPubexMsgMax = 1024;  // the quoted <msg> of AT+QMTPUBEX
constexpr char kCtrlZ = 0x1a;
constexpr char kEsc = 0x1b;

const at::Outcome kError = at::Outcome::error();

// An argument as an integer in [min, max], or nullopt when absent or not such a number.
std::optional<int> number(const at::Args& a, std::size_t i, int min, int max) {
  if (!a.has(i)) return std::nullopt;
  const std::optional<std::int64_t> v =
      a.is_integer(i) ? a.integer(i) : at::parse_integer(a.str(i));
  if (!v || *v < min || *v > max) return std::nullopt;
  return static_cast<int>(*v);
}

// How many arguments the host wrote (the table fills the optional positions it left out).
std::size_t given(const at::Args& a) {
  std::size_t n = a.size();
  while (n > 0 && !a.has(n - 1))
    --n;
  return n;
}

// A string argument no longer than `max`, or nullopt.
std::optional<std::string> text(const at::Args& a, std::size_t i, std::size_t max) {
  if (!a.has(i) || a.is_integer(i)) return std::nullopt;
  std::string s = a.str(i);
  if (s.size() > max) return std::nullopt;
  return s;
}

// ---- AT+QMTCFG ------------------------------------------------------------------------------

// One parameter of AT+QMTCFG: its name, its read line, its test line and how it is written
// (arguments from position 2 on; false: ERROR).
struct CfgItem {
  const char* name;
  std::string (*show)(const ClientConfig&);
  const char* ranges;
  bool (*set)(ClientConfig&, const at::Args&);
};

// The one value of a parameter that takes one (<vsn>, <cid>, <keep_alive_time>, ...).
std::optional<int> only(const at::Args& a, int min, int max) {
  return given(a) == 3 ? number(a, 2, min, max) : std::nullopt;
}

// A parameter of one integer value in [Min, Max] (<vsn>, <cid>, <keep_alive_time>).
template <int ClientConfig::*Field, int Min, int Max>
bool set_int(ClientConfig& c, const at::Args& a) {
  const auto v = only(a, Min, Max);
  if (v) c.*Field = *v;
  return v.has_value();
}
bool set_ssl(ClientConfig& c, const at::Args& a) {
  const auto on = number(a, 2, 0, 1);
  const auto ctx = a.has(3) ? number(a, 3, 0, 5) : std::optional<int>(c.ssl_ctx);
  if (!on || !ctx || given(a) > 4) return false;
  c.ssl = *on == 1;
  c.ssl_ctx = *ctx;
  return true;
}
bool set_session(ClientConfig& c, const at::Args& a) {
  const auto v = only(a, 0, 1);
  if (v) c.clean_session = *v == 1;
  return v.has_value();
}
bool set_timeout(ClientConfig& c, const at::Args& a) {
  const auto t = number(a, 2, 1, 60);
  const auto r = a.has(3) ? number(a, 3, 0, 10) : std::optional<int>(c.retry_times);
  const auto n = a.has(4) ? number(a, 4, 0, 1) : std::optional<int>(c.timeout_notice ? 1 : 0);
  if (!t || !r || !n || given(a) > 5) return false;
  c.pkt_timeout = *t;
  c.retry_times = *r;
  c.timeout_notice = *n == 1;
  return true;
}
bool set_will(ClientConfig& c, const at::Args& a) {
  const auto flag = number(a, 2, 0, 1);
  if (!flag || given(a) > 7) return false;
  if (*flag == 0 && !a.has(3)) {
    c.will_enabled = false;
    return true;
  }
  const auto qos = number(a, 3, 0, 2);
  const auto retain = number(a, 4, 0, 1);
  const auto topic = text(a, 5, kTopicMax);
  const auto msg = text(a, 6, kWillMsgMax);
  if (!qos || !retain || !topic || !msg || topic->empty()) return false;
  c.will_enabled = *flag == 1;
  c.will = mqtt::Will{*qos, *retain == 1, *topic, *msg};
  return true;
}
bool set_recv_mode(ClientConfig& c, const at::Args& a) {
  const auto mode = number(a, 2, 0, 1);
  const auto len = a.has(3) ? number(a, 3, 0, 1) : std::optional<int>(c.recv_len ? 1 : 0);
  if (!mode || !len || given(a) > 4) return false;
  c.recv_mode = *mode;
  c.recv_len = *len == 1;
  return true;
}
bool set_aliauth(ClientConfig& c, const at::Args& a) {
  const auto pk = text(a, 2, kAliMax);
  const auto dn = text(a, 3, kAliMax);
  const auto ds = text(a, 4, kAliMax);
  if (!pk || !dn || !ds || given(a) > 5) return false;
  c.ali_product_key = *pk;
  c.ali_device_name = *dn;
  c.ali_device_secret = *ds;
  return true;
}

// In the order of the note's AT+QMTCFG=? answer.
const CfgItem kCfgItems[] = {
    {"version", [](const ClientConfig& c) { return fmt::format("{}", c.version); }, "(3,4)",
     set_int<&ClientConfig::version, 3, 4>},
    {"pdpcid", [](const ClientConfig& c) { return fmt::format("{}", c.pdp_cid); }, "(1-15)",
     set_int<&ClientConfig::pdp_cid, 1, 15>},
    {"ssl", [](const ClientConfig& c) { return fmt::format("{},{}", c.ssl ? 1 : 0, c.ssl_ctx); },
     "(0,1),(0-5)", set_ssl},
    {"keepalive", [](const ClientConfig& c) { return fmt::format("{}", c.keepalive); }, "(0-3600)",
     set_int<&ClientConfig::keepalive, 0, 3600>},
    {"session", [](const ClientConfig& c) { return fmt::format("{}", c.clean_session ? 1 : 0); },
     "(0,1)", set_session},
    {"timeout",
     [](const ClientConfig& c) {
       return fmt::format("{},{},{}", c.pkt_timeout, c.retry_times, c.timeout_notice ? 1 : 0);
     },
     "(1-60),(0-10),(0,1)", set_timeout},
    {"will",
     [](const ClientConfig& c) {
       return fmt::format("{},{},{},\"{}\",\"{}\"", c.will_enabled ? 1 : 0, c.will.qos,
                          c.will.retain ? 1 : 0, c.will.topic, c.will.message);
     },
     "(0,1),(0-2),(0,1),\"<will_topic>\",\"<will_msg>\"", set_will},
    {"recv/mode",
     [](const ClientConfig& c) { return fmt::format("{},{}", c.recv_mode, c.recv_len ? 1 : 0); },
     "(0,1),(0,1)", set_recv_mode},
    {"aliauth",
     [](const ClientConfig& c) {
       return fmt::format("\"{}\",\"{}\",\"{}\"", c.ali_product_key, c.ali_device_name,
                          c.ali_device_secret);
     },
     "\"<product_key>\",\"<device_name>\",\"<device_secret>\"", set_aliauth},
};

void qmtcfg_test(Call& c) {
  for (const CfgItem& item : kCfgItems)
    c.line(fmt::format("+QMTCFG: \"{}\",(0-5),{}", item.name, item.ranges));
  c.ok();
}

void qmtcfg(Call& c, mqtt::MqttService& mqtt) {
  const auto& a = c.args();
  const CfgItem* item = nullptr;
  for (const CfgItem& i : kCfgItems) {
    if (util::iequals(a.str(0), i.name)) item = &i;
  }
  if (!item) return c.error();
  ClientConfig& config = mqtt.config(static_cast<int>(a.integer(1)));
  if (given(a) == 2) {
    c.line(fmt::format("+QMTCFG: \"{}\",{}", item->name, item->show(config)));
    return c.ok();
  }
  ClientConfig changed = config;
  if (!item->set(changed, a)) return c.error();
  config = changed;
  c.ok();
}

// ---- AT+QMTPUB: the message after the prompt ----------------------------------------------

// <client_idx>,<msgID>,<qos>,<retain>,"<topic>" of AT+QMTPUB and AT+QMTPUBEX.
struct PublishHeader {
  int idx, msg_id, qos;
  bool retain;
  std::string topic;
};

// The header, when a publish may start now (before any prompt).
std::optional<PublishHeader> publish_header(const at::Args& a, const mqtt::MqttService& mqtt) {
  PublishHeader h{static_cast<int>(a.integer(0)), static_cast<int>(a.integer(1)),
                  static_cast<int>(a.integer(2)), a.integer(3) == 1, a.str(4)};
  if (h.topic.empty() || !mqtt.can_publish(h.idx, h.msg_id, h.qos)) return std::nullopt;
  return h;
}

// The message of AT+QMTPUB: <msglen> bytes, or (without it) up to Ctrl-Z; ESC cancels.
class PublishSession : public at::DataSession {
 public:
  PublishSession(mqtt::MqttService& mqtt, PublishHeader header, std::optional<std::size_t> length)
      : mqtt_(mqtt), h_(std::move(header)), length_(length) {}

  std::size_t on_data(std::string_view bytes) override {
    std::size_t used = 0;
    while (used < bytes.size() && !done_) {
      const char b = bytes[used++];
      if (length_) {
        message_.push_back(b);
        done_ = message_.size() == *length_;
      } else if (b == kCtrlZ || b == kEsc) {
        cancelled_ = b == kEsc;
        done_ = true;
      } else if (message_.size() == static_cast<std::size_t>(kMsgLenMax)) {
        too_long_ = true;  // more than the module takes: nothing is sent
      } else {
        message_.push_back(b);
      }
    }
    return used;
  }
  bool complete() const override { return done_; }
  double idle_timeout_seconds() const override { return 0; }
  bool echoes_input() const override { return !length_; }  // typed text, as AT+QISEND's

  at::Reply finish(at::DataEnd why) override {
    if (why == at::DataEnd::Reset) return {};
    if (why != at::DataEnd::Complete || too_long_) return {{}, kError, nullptr};
    if (!cancelled_) mqtt_.publish(h_.idx, h_.msg_id, h_.qos, h_.retain, h_.topic, message_);
    return {{}, at::Outcome::ok(), nullptr};
  }

 private:
  mqtt::MqttService& mqtt_;
  PublishHeader h_;
  std::optional<std::size_t> length_;
  std::string message_;
  bool done_ = false;
  bool cancelled_ = false;
  bool too_long_ = false;
};

// ---- the other commands ---------------------------------------------------------------------

void qmtsub(Call& c, mqtt::MqttService& mqtt) {
  const auto& a = c.args();
  std::vector<std::pair<std::string, int>> topics;
  for (std::size_t i = 2; i < given(a); i += 2) {
    const auto topic = text(a, i, kTopicMax);
    const auto qos = number(a, i + 1, 0, 2);
    if (!topic || !qos || topic->empty()) return c.error();
    topics.emplace_back(*topic, *qos);
  }
  if (!mqtt.subscribe(static_cast<int>(a.integer(0)), static_cast<int>(a.integer(1)), topics))
    return c.error();
  c.ok();
}

void qmtuns(Call& c, mqtt::MqttService& mqtt) {
  const auto& a = c.args();
  std::vector<std::string> topics;
  for (std::size_t i = 2; i < given(a); ++i) {
    const auto topic = text(a, i, kTopicMax);
    if (!topic || topic->empty()) return c.error();
    topics.push_back(*topic);
  }
  if (!mqtt.unsubscribe(static_cast<int>(a.integer(0)), static_cast<int>(a.integer(1)), topics))
    return c.error();
  c.ok();
}

void qmtpub(Call& c, mqtt::MqttService& mqtt) {
  const auto h = publish_header(c.args(), mqtt);
  if (!h) return c.error();
  std::optional<std::size_t> length;
  if (c.args().has(5)) length = static_cast<std::size_t>(c.args().integer(5));
  c.prompt(std::make_shared<PublishSession>(mqtt, *h, length));
}

void qmtpubex(Call& c, mqtt::MqttService& mqtt) {
  const auto h = publish_header(c.args(), mqtt);
  if (!h) return c.error();
  c.ok();
  mqtt.publish(h->idx, h->msg_id, h->qos, h->retain, h->topic, c.args().str(5));
}

void qmtconn(Call& c, mqtt::MqttService& mqtt) {
  const auto& a = c.args();
  mqtt::ConnectOptions o;
  o.client_id = a.str(1);
  if (a.has(2)) o.username = a.str(2);
  if (a.has(3)) o.password = a.str(3);
  if (o.password && !o.username) return c.error();
  if (!mqtt.connect(static_cast<int>(a.integer(0)), std::move(o))) return c.error();
  c.ok();
}

void qmtrecv(Call& c, mqtt::MqttService& mqtt) {
  const auto& a = c.args();
  const int idx = static_cast<int>(a.integer(0));
  if (!mqtt.connected(idx)) return c.error();
  std::optional<int> recv_id;
  if (a.has(1)) recv_id = static_cast<int>(a.integer(1));
  for (auto& line : mqtt.read_buffered(idx, recv_id))
    c.line(std::move(line));
  c.ok();
}

void lines_ok(Call& c, std::vector<std::string> lines) {
  for (auto& l : lines)
    c.line(std::move(l));
  c.ok();
}

at::Command command(std::string name, Form form, std::vector<at::ArgSpec> params,
                    at::Handler handler) {
  return at::Command{std::move(name), form, std::move(params), std::move(handler), kError};
}

// The test form of a command: one line of its ranges.
void add_test_form(at::CommandTable& table, std::string line) {
  const std::string name = line.substr(0, line.find(':'));
  table.add(command(name, Form::Test, {}, [line = std::move(line)](Call& c) {
    c.line(line);
    c.ok();
  }));
}

void ok_if(Call& c, bool ok) {
  if (ok) return c.ok();
  c.error();
}

}  // namespace

void add_mqtt_commands(at::CommandTable& table, Module& module) {
  using at::any;
  using at::integer;
  using at::optional;
  using at::quoted;
  auto& mqtt = module.mqtt();
  const auto idx = integer(0, mqtt::kClients - 1);

  table.add(command("+QMTCFG", Form::Test, {}, qmtcfg_test));
  table.add(command("+QMTCFG", Form::Write,
                    {quoted(16), idx, optional(any()), optional(any()), optional(any()),
                     optional(any()), optional(any())},
                    [&mqtt](Call& c) { qmtcfg(c, mqtt); }));

  add_test_form(table, "+QMTOPEN: (0-5),\"<host_name>\",(0-65535)");
  table.add(
      command("+QMTOPEN", Form::Read, {}, [&mqtt](Call& c) { lines_ok(c, mqtt.open_lines()); }));
  table.add(command(
      "+QMTOPEN", Form::Write, {idx, quoted(kHostMax), integer(0, 65535)}, [&mqtt](Call& c) {
        const auto& a = c.args();
        if (a.str(1).empty()) return c.error();
        mqtt.open(static_cast<int>(a.integer(0)), a.str(1), static_cast<int>(a.integer(2)));
        c.ok();
      }));

  add_test_form(table, "+QMTCLOSE: (0-5)");
  table.add(command("+QMTCLOSE", Form::Write, {idx}, [&mqtt](Call& c) {
    ok_if(c, mqtt.close(static_cast<int>(c.args().integer(0))));
  }));

  add_test_form(table, "+QMTCONN: (0-5),\"<clientID>\",\"<username>\",\"<password>\"");
  table.add(
      command("+QMTCONN", Form::Read, {}, [&mqtt](Call& c) { lines_ok(c, mqtt.conn_lines()); }));
  table.add(
      command("+QMTCONN", Form::Write,
              {idx, quoted(kClientIdMax), optional(quoted(kUserMax)), optional(quoted(kUserMax))},
              [&mqtt](Call& c) { qmtconn(c, mqtt); }));

  add_test_form(table, "+QMTDISC: (0-5)");
  table.add(command("+QMTDISC", Form::Write, {idx}, [&mqtt](Call& c) {
    ok_if(c, mqtt.disconnect(static_cast<int>(c.args().integer(0))));
  }));

  const auto msg_id = integer(1, 65535);
  std::vector<at::ArgSpec> sub{idx, msg_id, quoted(kTopicMax), integer(0, 2)};
  std::vector<at::ArgSpec> uns{idx, msg_id, quoted(kTopicMax)};
  for (int i = 1; i < kMaxTopicsPerCommand; ++i) {
    sub.push_back(optional(quoted(kTopicMax)));
    sub.push_back(optional(integer(0, 2)));
    uns.push_back(optional(quoted(kTopicMax)));
  }
  add_test_form(table, "+QMTSUB: (0-5),(1-65535),\"<topic>\",(0-2)");
  table.add(command("+QMTSUB", Form::Write, sub, [&mqtt](Call& c) { qmtsub(c, mqtt); }));
  add_test_form(table, "+QMTUNS: (0-5),(1-65535),\"<topic>\"");
  table.add(command("+QMTUNS", Form::Write, uns, [&mqtt](Call& c) { qmtuns(c, mqtt); }));

  add_test_form(table,
                fmt::format("+QMTPUB: (0-5),(0-65535),(0-2),(0,1),\"<topic>\",(1-{})", kMsgLenMax));
  table.add(command("+QMTPUB", Form::Write,
                    {idx, integer(0, 65535), integer(0, 2), integer(0, 1), quoted(kTopicMax),
                     optional(integer(1, kMsgLenMax))},
                    [&mqtt](Call& c) { qmtpub(c, mqtt); }));
  add_test_form(table, "+QMTPUBEX: (0-5),(0-65535),(0-2),(0,1),\"<topic>\",\"<msg>\"");
  table.add(command("+QMTPUBEX", Form::Write,
                    {idx, integer(0, 65535), integer(0, 2), integer(0, 1), quoted(kTopicMax),
                     quoted(kPubexMsgMax)},
                    [&mqtt](Call& c) { qmtpubex(c, mqtt); }));

  add_test_form(table, "+QMTRECV: (0-5),(0-4)");
  table.add(command("+QMTRECV", Form::Read, {},
                    [&mqtt](Call& c) { lines_ok(c, mqtt.recv_status_lines()); }));
  table.add(command("+QMTRECV", Form::Write, {idx, optional(integer(0, mqtt::kRecvBuffers - 1))},
                    [&mqtt](Call& c) { qmtrecv(c, mqtt); }));
}

}  // namespace bg95::services
