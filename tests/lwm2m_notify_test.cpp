// Confirmable notifications of the LwM2M client (protocol/lwm2m/client.cpp) on the wire, issue
// 18: "a retransmitted notification carries the old value (State 1 after State 2)".
//
// The client runs in this process on the test's io_context; the LwM2M server is a raw UDP peer
// on 127.0.0.1 (an ephemeral port) on the same io_context, which reads and writes the CoAP bytes
// itself (RFC 7252 section 3), so that it can withhold an ACK and check every byte. Nothing
// sleeps: the peer runs the event loop until a datagram comes.
//
// RFC 7641 4.5.2: when the state changes while a confirmable notification is still being
// retransmitted, the retransmission carries the current state; the new notification keeps the
// retransmission counter and timeout of the old one. It goes with a new Message ID: RFC 7252 4.5
// lets the recipient take a message with a Message ID it has seen as a duplicate and not process
// it again (libcoap does so), so new content under the old ID could be acknowledged and lost.
//
// Every check runs twice: over coap:// and over coaps:// with a pre-shared key. The DTLS peer is
// OpenSSL's DTLS 1.2 server on memory BIOs (DtlsServer below) between the same UDP socket and the
// same CoAP bytes: it can withhold an ACK too, which libcoap's server side cannot (it acknowledges
// every confirmable response it takes).

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>

#include "protocol/coap/coap_context.hpp"
#include "protocol/lwm2m/client.hpp"
#include "protocol/lwm2m/object_model.hpp"

namespace bg95::lwm2m {
namespace {

using namespace std::chrono_literals;
using boost::asio::ip::udp;
using Clock = std::chrono::steady_clock;

constexpr std::uint8_t kCon = 0, kAck = 2, kRst = 3;
constexpr std::uint8_t kGet = 0x01, kCreated = 0x41, kContent = 0x45;  // 0.01, 2.01, 2.05
constexpr std::uint16_t kObserve = 6, kLocationPath = 8, kUriPath = 11, kContentFormat = 12;

// One CoAP message (RFC 7252 3), options in the order they are on the wire.
struct Message {
  std::uint8_t type = kCon;
  std::uint8_t code = 0;
  std::uint16_t mid = 0;
  Bytes token;
  std::vector<std::pair<std::uint16_t, Bytes>> options;
  Bytes payload;
  Bytes raw;  // the datagram as received

  std::optional<Bytes> option(std::uint16_t number) const {
    for (const auto& [n, v] : options)
      if (n == number) return v;
    return std::nullopt;
  }
};

Bytes bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// An unsigned option value (RFC 7252 3.2): big-endian, no leading zero bytes.
std::uint32_t uint_of(const Bytes& b) {
  std::uint32_t v = 0;
  for (const auto x : b)
    v = (v << 8) | x;
  return v;
}

// An option's delta or length nibble with its extended bytes (RFC 7252 3.1).
void put_extended(Bytes& out, std::size_t nibble_at, unsigned shift, std::size_t value) {
  if (value < 13) {
    out[nibble_at] |= static_cast<std::uint8_t>(value << shift);
  } else if (value < 269) {
    out[nibble_at] |= static_cast<std::uint8_t>(13u << shift);
    out.push_back(static_cast<std::uint8_t>(value - 13));
  } else {
    out[nibble_at] |= static_cast<std::uint8_t>(14u << shift);
    out.push_back(static_cast<std::uint8_t>((value - 269) >> 8));
    out.push_back(static_cast<std::uint8_t>((value - 269) & 0xFF));
  }
}

Bytes encode(const Message& m) {
  Bytes out{static_cast<std::uint8_t>(0x40 | (m.type << 4) | m.token.size()), m.code,
            static_cast<std::uint8_t>(m.mid >> 8), static_cast<std::uint8_t>(m.mid & 0xFF)};
  out.insert(out.end(), m.token.begin(), m.token.end());
  std::uint16_t last = 0;
  for (const auto& [number, value] : m.options) {
    const std::size_t head = out.size();
    out.push_back(0);
    put_extended(out, head, 4, number - last);
    put_extended(out, head, 0, value.size());
    out.insert(out.end(), value.begin(), value.end());
    last = number;
  }
  if (!m.payload.empty()) {
    out.push_back(0xFF);
    out.insert(out.end(), m.payload.begin(), m.payload.end());
  }
  return out;
}

// Reads a nibble's value with its extended bytes; nullopt at 15 or past the end.
std::optional<std::size_t> get_extended(std::span<const std::uint8_t> d, std::size_t& at,
                                        unsigned nibble) {
  if (nibble < 13) return nibble;
  if (nibble == 13 && at < d.size()) return 13 + d[at++];
  if (nibble == 14 && at + 1 < d.size()) {
    const std::size_t v = 269 + (std::size_t{d[at]} << 8) + d[at + 1];
    at += 2;
    return v;
  }
  return std::nullopt;
}

std::optional<Message> parse(std::span<const std::uint8_t> d) {
  if (d.size() < 4 || (d[0] >> 6) != 1 || (d[0] & 0x0F) > 8) return std::nullopt;
  Message m;
  m.raw.assign(d.begin(), d.end());
  m.type = (d[0] >> 4) & 0x03;
  m.code = d[1];
  m.mid = static_cast<std::uint16_t>((d[2] << 8) | d[3]);
  std::size_t at = 4 + (d[0] & 0x0F);
  if (at > d.size()) return std::nullopt;
  m.token.assign(d.begin() + 4, d.begin() + static_cast<long>(at));
  std::size_t number = 0;
  while (at < d.size() && d[at] != 0xFF) {
    const std::uint8_t head = d[at++];
    const auto delta = get_extended(d, at, head >> 4);
    const auto length = get_extended(d, at, head & 0x0F);
    if (!delta || !length || at + *length > d.size()) return std::nullopt;
    number += *delta;
    m.options.emplace_back(
        static_cast<std::uint16_t>(number),
        Bytes(d.begin() + static_cast<long>(at), d.begin() + static_cast<long>(at + *length)));
    at += *length;
  }
  if (at < d.size()) m.payload.assign(d.begin() + static_cast<long>(at + 1), d.end());
  return m;
}

// The LwM2M server's end of a DTLS 1.2 session with a pre-shared key: datagrams from the client
// go in, CoAP messages come out, and the other way round (RFC 6347). No cookie exchange, as with
// libcoap's server.
class DtlsServer {
 public:
  static constexpr const char* kIdentity = "notify-id";
  static constexpr const char* kKey = "notify-key";

  DtlsServer() : ctx_(SSL_CTX_new(DTLS_server_method())) {
    if (!ctx_) throw std::runtime_error("SSL_CTX_new failed");
    SSL_CTX_set_cipher_list(ctx_.get(), "PSK");
    SSL_CTX_set_psk_server_callback(ctx_.get(), &DtlsServer::psk);
    ssl_.reset(SSL_new(ctx_.get()));
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    BIO_set_mem_eof_return(in, -1);  // nothing more yet: try again later
    SSL_set_bio(ssl_.get(), in, out);
    SSL_set_options(ssl_.get(), SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl_.get(), 1400);
    SSL_set_accept_state(ssl_.get());
  }

  // A datagram from the client: the plaintext of its application data, if it held any. What
  // the server answers (handshake flights) waits in take_output().
  std::optional<Bytes> input(std::span<const std::uint8_t> datagram) {
    BIO_write(SSL_get_rbio(ssl_.get()), datagram.data(), static_cast<int>(datagram.size()));
    if (!SSL_is_init_finished(ssl_.get())) {
      SSL_do_handshake(ssl_.get());
      return std::nullopt;
    }
    std::array<std::uint8_t, 2048> plain{};
    const int n = SSL_read(ssl_.get(), plain.data(), static_cast<int>(plain.size()));
    if (n <= 0) return std::nullopt;
    return Bytes(plain.begin(), plain.begin() + n);
  }
  // A CoAP message to the client, as one record.
  void write(const Bytes& message) {
    if (SSL_write(ssl_.get(), message.data(), static_cast<int>(message.size())) <= 0)
      throw std::runtime_error("SSL_write failed");
  }
  // The records to send, as one datagram; empty when there are none.
  Bytes take_output() {
    BIO* out = SSL_get_wbio(ssl_.get());
    Bytes datagram(BIO_ctrl_pending(out));
    if (!datagram.empty()) BIO_read(out, datagram.data(), static_cast<int>(datagram.size()));
    return datagram;
  }

 private:
  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  static unsigned psk(SSL*, const char* identity, unsigned char* key, unsigned max) {
    const std::string k = kKey;
    if (identity == nullptr || std::string(identity) != kIdentity || k.size() > max) return 0;
    std::copy(k.begin(), k.end(), key);
    return static_cast<unsigned>(k.size());
  }
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

// The parameter: over DTLS (coaps://) rather than UDP (coap://).
class NotifyTest : public ::testing::TestWithParam<bool> {
 protected:
  static constexpr std::uint16_t kStateId = 3;
  const Bytes token_{0x4F, 0x42};  // of the observation

  NotifyTest() {
    model_.add(5, 0, readable(kStateId, Type::Integer, [this] { return Value::number(state_); }));
    // The Package URI: a Write starts a download at once, as the FOTA service does.
    Resource uri = readable(
        1, Type::String, [] { return Value::string(""); }, kRead | kWrite);
    uri.write = [this](const Value&) {
      set_state(1);
      return code::kChanged;
    };
    model_.add(5, 0, std::move(uri));
  }
  ~NotifyTest() override { client_.stop(); }

  // Runs the event loop (the client's and the peer's) until `done` or `limit` has passed.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      io_.restart();
      io_.run_one_until(deadline);
    }
    return true;
  }

  bool dtls() const { return GetParam(); }

  // The next datagram from the client, within `limit`; nullopt when none came.
  std::optional<Bytes> datagram(Clock::time_point deadline) {
    std::optional<std::size_t> got;
    bool done = false;
    peer_.async_receive_from(boost::asio::buffer(buffer_), client_at_,
                             [&](const boost::system::error_code& ec, std::size_t n) {
                               if (!ec) got = n;
                               done = true;
                             });
    if (!run_until([&] { return done; }, std::chrono::duration_cast<std::chrono::milliseconds>(
                                             deadline - Clock::now()))) {
      peer_.cancel();
      run_until([&] { return done; }, 1s);
    }
    if (!got) return std::nullopt;
    return Bytes(buffer_.begin(), buffer_.begin() + static_cast<long>(*got));
  }

  // The next message from the client, within `limit` (over DTLS: the next record of application
  // data; the handshake is answered on the way).
  Message receive(std::chrono::milliseconds limit = 5s) {
    const auto deadline = Clock::now() + limit;
    for (;;) {
      auto d = datagram(deadline);
      if (!d) throw std::runtime_error("no datagram from the client");
      if (dtls()) {
        d = dtls_.input(*d);
        flush();
        if (!d) continue;
      }
      auto m = parse(*d);
      if (!m) throw std::runtime_error("the client sent something that is not CoAP");
      return *m;
    }
  }
  void send(const Message& m) {
    if (!dtls()) {
      peer_.send_to(boost::asio::buffer(encode(m)), client_at_);
      return;
    }
    dtls_.write(encode(m));
    flush();
  }
  // Sends what the DTLS server has to say.
  void flush() {
    const Bytes out = dtls_.take_output();
    if (!out.empty()) peer_.send_to(boost::asio::buffer(out), client_at_);
  }
  void ack(const Message& m) { send({kAck, 0, m.mid, {}, {}, {}, {}}); }

  // Starts the client and answers its Register with 2.01 Created at /rd/5a.
  void register_client(ClientConfig config) {
    config.server_uri = std::string(dtls() ? "coaps" : "coap") +
                        "://127.0.0.1:" + std::to_string(peer_.local_endpoint().port());
    if (dtls()) {
      config.psk_identity = DtlsServer::kIdentity;
      config.psk_key = DtlsServer::kKey;
    }
    config.endpoint = "notify-test";
    config.shared_context = shared_;
    client_.start(std::move(config),
                  {{}, [this](std::string_view line) { log_.emplace_back(line); }});
    const Message reg = receive();
    ASSERT_EQ(reg.code, 0x02);  // POST
    ASSERT_EQ(reg.option(kUriPath), bytes("rd"));
    send({kAck,
          kCreated,
          reg.mid,
          reg.token,
          {{kLocationPath, bytes("rd")}, {kLocationPath, bytes("5a")}},
          {},
          {}});
    ASSERT_TRUE(run_until([this] { return client_.state() == ClientState::Registered; }, 5s));
  }

  // Registers with these transmission parameters, then observes /5/0/3 (GET with Observe 0).
  void observe_state(std::chrono::milliseconds ack_timeout, unsigned max_retransmit = 4) {
    ClientConfig config;
    config.ack_timeout = ack_timeout;
    config.max_retransmit = max_retransmit;
    ASSERT_NO_FATAL_FAILURE(register_client(config));
    send({kCon,
          kGet,
          0x7001,
          token_,
          {{kObserve, {}}, {kUriPath, bytes("5")}, {kUriPath, bytes("0")}, {kUriPath, bytes("3")}},
          {},
          {}});
    const Message first = receive();
    EXPECT_EQ(first.type, kAck);
    EXPECT_EQ(first.code, kContent);
    EXPECT_EQ(first.token, token_);
    ASSERT_TRUE(first.option(kObserve).has_value());
    EXPECT_EQ(first.payload, bytes("0"));
  }
  // A plain GET /5/0/3 (no Observe): the client's answer.
  Message read_state(std::uint16_t mid) {
    send({kCon,
          kGet,
          mid,
          {0x52},
          {{kUriPath, bytes("5")}, {kUriPath, bytes("0")}, {kUriPath, bytes("3")}},
          {},
          {}});
    return receive();
  }

  // The State resource changes, and the client is told, as the FOTA service does.
  void set_state(std::int64_t s) {
    state_ = s;
    client_.changed("/5/0/3");
  }

  bool logged(const std::string& part) const {
    for (const auto& l : log_)
      if (l.find(part) != std::string::npos) return true;
    return false;
  }

  // A notification of State `value`: CON 2.05 with the observation's token, Observe and
  // Content-Format text/plain (0, an empty option) and nothing else, the value as text.
  void expect_notification(const Message& n, const std::string& value) {
    EXPECT_EQ(n.type, kCon);
    EXPECT_EQ(n.code, kContent);
    EXPECT_EQ(n.token, token_);
    ASSERT_EQ(n.options.size(), 2u);
    EXPECT_EQ(n.options[0].first, kObserve);
    EXPECT_EQ(n.options[1], (std::pair<std::uint16_t, Bytes>{kContentFormat, {}}));
    EXPECT_EQ(n.payload, bytes(value));
  }

  boost::asio::io_context io_;
  std::shared_ptr<coap::SharedContext> shared_;  // set: the client's session goes there
  ObjectModel model_;
  std::int64_t state_ = 0;
  udp::socket peer_{io_, udp::endpoint(boost::asio::ip::address_v4::loopback(), 0)};
  udp::endpoint client_at_;
  std::array<std::uint8_t, 2048> buffer_{};
  std::vector<std::string> log_;
  DtlsServer dtls_;
  Client client_{io_.get_executor(), model_};
};

INSTANTIATE_TEST_SUITE_P(Transport, NotifyTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? "Dtls" : "Udp";
                         });

TEST_P(NotifyTest, ARetransmittedNotificationCarriesTheCurrentState) {
  ASSERT_NO_FATAL_FAILURE(observe_state(500ms));

  const auto before = Clock::now();  // the notification goes after this
  set_state(1);                      // Downloading
  const Message downloading = receive();
  expect_notification(downloading, "1");
  // Its ACK is withheld, and the state moves on before the retransmission is due.
  set_state(2);  // Downloaded
  const Message retransmission = receive();
  expect_notification(retransmission, "2");
  // At the old notification's retransmission time (1 to 1.5 times ack_timeout after it was
  // sent), not at once, and not twice: a new Message ID and a newer Observe number.
  EXPECT_GE(Clock::now() - before, 500ms);
  EXPECT_NE(retransmission.mid, downloading.mid);
  EXPECT_GT(uint_of(*retransmission.option(kObserve)), uint_of(*downloading.option(kObserve)));
  ack(retransmission);

  // Acknowledged: the next datagram is the next change, so neither State 1 nor State 2 came
  // again in between.
  set_state(3);  // Updating
  const Message updating = receive();
  expect_notification(updating, "3");
  EXPECT_NE(updating.mid, retransmission.mid);
  EXPECT_GT(uint_of(*updating.option(kObserve)), uint_of(*retransmission.option(kObserve)));
  ack(updating);
}

TEST_P(NotifyTest, AChangeWhoseOldValueIsAcknowledgedGoesOutAtOnce) {
  // The ACK of State 1 comes after the State became 2 and before any retransmission is due
  // (10 s or more): State 2 goes out at once, as a notification of its own.
  ASSERT_NO_FATAL_FAILURE(observe_state(10s));
  set_state(1);
  const Message downloading = receive();
  expect_notification(downloading, "1");
  set_state(2);
  ack(downloading);
  const Message downloaded = receive(5s);
  expect_notification(downloaded, "2");
  EXPECT_NE(downloaded.mid, downloading.mid);
  ack(downloaded);
}

TEST_P(NotifyTest, AChangeMadeByARequestIsNotifiedAfterItsAnswer) {
  ASSERT_NO_FATAL_FAILURE(observe_state(10s));
  send({kCon,
        0x03,  // PUT
        0x7004,
        {0x57},
        {{kUriPath, bytes("5")}, {kUriPath, bytes("0")}, {kUriPath, bytes("1")}},
        bytes("http://127.0.0.1/update.bin"),
        {}});
  const Message answer = receive();
  EXPECT_EQ(answer.type, kAck);
  EXPECT_EQ(answer.mid, 0x7004);
  EXPECT_EQ(answer.code, 0x44);  // 2.04
  expect_notification(receive(), "1");
}

TEST_P(NotifyTest, AnUnchangedNotificationIsRetransmittedAsItWas) {
  ASSERT_NO_FATAL_FAILURE(observe_state(100ms));
  set_state(1);
  const Message sent = receive();
  expect_notification(sent, "1");
  // RFC 7252 4.2: a retransmission is the same message, Message ID and all.
  const Message again = receive();
  EXPECT_EQ(again.raw, sent.raw);
  ack(again);
  set_state(2);
  expect_notification(receive(), "2");
}

TEST_P(NotifyTest, AResetEndsTheObservation) {
  ASSERT_NO_FATAL_FAILURE(observe_state(100ms));
  set_state(1);
  const Message sent = receive();
  // RFC 7641 3.6: the server rejects the notification with a Reset; the client forgets it.
  send({kRst, 0, sent.mid, {}, {}, {}, {}});
  ASSERT_TRUE(run_until([this] { return logged("observation of /5/0/3 ended"); }, 5s))
      << testing::PrintToString(log_);
  set_state(2);  // no notification: the next datagram is the answer to a read
  const Message read = read_state(0x7002);
  EXPECT_EQ(read.type, kAck);
  EXPECT_EQ(read.mid, 0x7002);
  EXPECT_EQ(read.payload, bytes("2"));
}

TEST_P(NotifyTest, RetransmissionsThatRunOutEndTheObservation) {
  ASSERT_NO_FATAL_FAILURE(observe_state(100ms, 1));
  set_state(1);
  const Message sent = receive();
  EXPECT_EQ(receive().raw, sent.raw);  // the one retransmission
  // RFC 7641 4.5: no ACK after the last one's timeout: the client is no longer interested.
  ASSERT_TRUE(run_until([this] { return logged("observation of /5/0/3 ended"); }, 5s))
      << testing::PrintToString(log_);
  set_state(2);
  const Message read = read_state(0x7003);
  EXPECT_EQ(read.mid, 0x7003);
  EXPECT_EQ(read.payload, bytes("2"));
}

// Issue 20: the clients of a process share one libcoap context, each with a session and UDP
// socket of its own (the server tells them apart by their address). A second client registered
// on it first; then the test's client behaves on the wire exactly as with a context of its own
// (its notifications, their retransmission with the current state, a Reset), and each client
// answers reads with its own model's value on its own address.
// Over UDP only: a DTLS client keeps a libcoap context of its own.
class SharedContextTest : public NotifyTest {};

TEST_P(SharedContextTest, ClientsOfASharedContextKeepTheirOwnSessions) {
  shared_ = std::make_shared<coap::SharedContext>(io_.get_executor());
  ObjectModel other_model;
  other_model.add(5, 0, readable(kStateId, Type::Integer, [] { return Value::number(7); }));
  Client other(io_.get_executor(), other_model);
  ClientConfig other_config;
  other_config.server_uri = "coap://127.0.0.1:" + std::to_string(peer_.local_endpoint().port());
  other_config.endpoint = "other";
  other_config.shared_context = shared_;
  other.start(other_config, {});
  const Message other_reg = receive();
  const udp::endpoint other_at = client_at_;
  send({kAck,
        kCreated,
        other_reg.mid,
        other_reg.token,
        {{kLocationPath, bytes("rd")}, {kLocationPath, bytes("6b")}},
        {},
        {}});
  ASSERT_TRUE(run_until([&] { return other.state() == ClientState::Registered; }, 5s));

  ASSERT_NO_FATAL_FAILURE(observe_state(500ms));
  const udp::endpoint own_at = client_at_;
  EXPECT_NE(own_at, other_at);
  EXPECT_EQ(shared_->members(), 2u);
  set_state(1);
  const Message downloading = receive();
  EXPECT_EQ(client_at_, own_at);
  expect_notification(downloading, "1");
  set_state(2);
  const Message retransmission = receive();  // its ACK withheld
  expect_notification(retransmission, "2");
  EXPECT_NE(retransmission.mid, downloading.mid);
  send({kRst, 0, retransmission.mid, {}, {}, {}, {}});
  ASSERT_TRUE(run_until([this] { return logged("observation of /5/0/3 ended"); }, 5s))
      << testing::PrintToString(log_);
  EXPECT_EQ(read_state(0x7005).payload, bytes("2"));
  EXPECT_EQ(client_at_, own_at);
  client_at_ = other_at;
  const Message other_read = read_state(0x7006);
  EXPECT_EQ(client_at_, other_at);
  EXPECT_EQ(other_read.mid, 0x7006);
  EXPECT_EQ(other_read.payload, bytes("7"));
  other.stop();
  EXPECT_EQ(shared_->members(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Udp, SharedContextTest, ::testing::Values(false));

}  // namespace
}  // namespace bg95::lwm2m
