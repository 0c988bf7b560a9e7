// CoAP messages handled without a socket: the seams the fuzz target fuzz_coap_message drives.
// PDUs are real datagram bytes parsed by libcoap's coap_pdu_parse, as a session would.
//  - read_block2_response + Block2Receiver: what CoapDownload makes of a server's responses
//    (end-to-end behaviour over real sockets is in coap_download_test);
//  - lwm2m::Client::handle_request: the LwM2M client's answer to a server's request
//    (end to end with a real server in lwm2m_test).

#include <coap3/coap.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "protocol/coap/block2_receiver.hpp"
#include "protocol/coap/coap_context.hpp"
#include "protocol/lwm2m/client.hpp"
#include "protocol/lwm2m/object_model.hpp"

namespace bg95 {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct PduFree {
  void operator()(coap_pdu_t* pdu) const { coap_delete_pdu(pdu); }
};
using Pdu = std::unique_ptr<coap_pdu_t, PduFree>;

Pdu parse(const Bytes& datagram) {
  static const bool started = [] {
    coap::ensure_libcoap_started();
    return true;
  }();
  (void)started;
  Pdu pdu(coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, 0, datagram.size()));
  EXPECT_EQ(coap_pdu_parse(COAP_PROTO_UDP, datagram.data(), datagram.size(), pdu.get()), 1);
  return pdu;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// ACK 2.05, message ID 0x1234, token 0xAB; then options and payload as given.
Bytes content(const Bytes& options, const Bytes& payload) {
  Bytes head = {0x61, 0x45, 0x12, 0x34, 0xAB};
  head = cat(head, options);
  if (!payload.empty()) head = cat(cat(head, {0xFF}), payload);
  return head;
}

TEST(Block2Response, ReadsCodeEtagBlock2Size2AndPayload) {
  // ETag (4) 0xE7; Block2 (23, delta 19 = 13+6) num 0, M, SZX 2; Size2 (28, delta 5) 100.
  const auto pdu = parse(content({0x41, 0xE7, 0xD1, 0x06, 0x0A, 0x51, 0x64}, Bytes(64, 'x')));
  const coap::Block2Response r = coap::read_block2_response(pdu.get());
  EXPECT_EQ(r.code, 205);
  EXPECT_EQ(r.etag, Bytes{0xE7});
  EXPECT_EQ(r.block2, 0x0Au);
  EXPECT_EQ(r.size2, 100u);
  EXPECT_EQ(r.payload, Bytes(64, 'x'));
}

TEST(Block2Receiver, FollowsBlocksAndRefusesAChangedEtag) {
  coap::Block2Receiver receiver(6, 4096);
  coap::Block2Response first{205, Bytes{0xE7}, 0x0Au, 100, Bytes(64, 'x')};  // block 0, M, 64 B
  auto v = receiver.check(first);
  ASSERT_FALSE(v.failure);
  EXPECT_TRUE(v.first);
  EXPECT_TRUE(v.more);
  EXPECT_EQ(receiver.total(), 100u);
  EXPECT_FALSE(receiver.check_size(first.payload.size()));
  receiver.took(first.payload.size());
  receiver.next(v.szx);  // late negotiation: the server's 64-byte blocks
  EXPECT_EQ(receiver.szx(), 2u);
  EXPECT_EQ(receiver.block_num(), 1u);

  coap::Block2Response changed{205, Bytes{0x01}, 0x12u, std::nullopt, Bytes(36, 'y')};
  v = receiver.check(changed);
  ASSERT_TRUE(v.failure);
  EXPECT_EQ(v.failure->coap_err, 701);
  EXPECT_EQ(v.failure->detail,
            "the resource changed during the transfer (ETag 0xe7 then 0x01 at block 1)");
}

TEST(Block2Receiver, WrongBlockAndOversizeAndErrors) {
  coap::Block2Receiver receiver(6, 100);
  auto v = receiver.check({205, std::nullopt, 0x1Au, std::nullopt, Bytes(64, 'x')});  // block 1
  ASSERT_TRUE(v.failure);
  EXPECT_EQ(v.failure->detail, "block 1 of 64 bytes (offset 64) when 0 bytes were expected");

  coap::Block2Receiver small(6, 100);
  v = small.check({205, std::nullopt, std::nullopt, 101, Bytes(10, 'x')});
  ASSERT_TRUE(v.failure);
  EXPECT_EQ(v.failure->coap_err, 708);

  coap::Block2Receiver any(6, 100);
  EXPECT_EQ(any.check({404, {}, {}, {}, {}}).failure->coap_err, 706);
  EXPECT_EQ(any.check({500, {}, {}, {}, {}}).failure->detail, "the server answered 5.00");
}

// ---- the LwM2M client's request handling

class ClientRequestTest : public ::testing::Test {
 protected:
  ClientRequestTest() : client(io.get_executor(), model) {
    model.add(3, 0, lwm2m::readable(0, lwm2m::Type::String, [] {
                return lwm2m::Value::string("Quectel");
              }));
    lwm2m::Resource package = lwm2m::readable(0, lwm2m::Type::Opaque, {}, lwm2m::kWrite);
    package.write_stream = [this](std::uint64_t offset, std::span<const std::uint8_t> bytes,
                                  bool last) {
      if (offset != received.size()) return lwm2m::code::kInternal;
      received.insert(received.end(), bytes.begin(), bytes.end());
      return last ? lwm2m::code::kChanged : lwm2m::code::kContinue;
    };
    model.add(5, 0, std::move(package));
  }

  // The code of the answer to `request` for `path`, and its payload.
  std::pair<int, std::string> answer(const std::string& path, const Bytes& request) {
    const auto pdu = parse(request);
    Pdu response(coap_pdu_init(COAP_MESSAGE_ACK, COAP_EMPTY_CODE, 1, 1152));
    client.handle_request(path, pdu.get(), nullptr, response.get());
    const auto c = static_cast<unsigned>(coap_pdu_get_code(response.get()));
    std::size_t length = 0;
    const std::uint8_t* data = nullptr;
    coap_get_data(response.get(), &length, &data);
    return {static_cast<int>((c >> 5) * 100 + (c & 0x1f)),
            std::string(reinterpret_cast<const char*>(data), data ? length : 0)};
  }

  boost::asio::io_context io;
  lwm2m::ObjectModel model;
  lwm2m::Client client;
  Bytes received;
};

TEST_F(ClientRequestTest, ReadIsAnsweredWithoutASession) {
  // CON GET, token 0xAB, Uri-Path "3" "0" "0".
  const auto [code, payload] =
      answer("/3/0/0", {0x41, 0x01, 0x00, 0x01, 0xAB, 0xB1, '3', 0x01, '0', 0x01, '0'});
  EXPECT_EQ(code, 205);
  EXPECT_EQ(payload, "Quectel");
  EXPECT_EQ(client.state(), lwm2m::ClientState::Stopped);
}

TEST_F(ClientRequestTest, Block1WriteContinuesAndRefusesABlockOutOfOrder) {
  // CON PUT /5/0/0, Content-Format 42, Block1 (27, delta 15 = 13+2) num 0, M, SZX 0 (16 B).
  const Bytes head = {0x41, 0x03, 0x00, 0x02, 0xAB, 0xB1, '5', 0x01, '0', 0x01, '0', 0x11, 42};
  auto [code, payload] = answer("/5/0/0", cat(cat(head, {0xD1, 0x02, 0x08, 0xFF}), Bytes(16, 'a')));
  EXPECT_EQ(code, 231);
  // Block 2 where block 1 is due: 4.08 Request Entity Incomplete, nothing written.
  std::tie(code, payload) =
      answer("/5/0/0", cat(cat(head, {0xD1, 0x02, 0x20, 0xFF}), Bytes(5, 'c')));
  EXPECT_EQ(code, 408);
  EXPECT_EQ(received, Bytes(16, 'a'));
  std::tie(code, payload) =
      answer("/5/0/0", cat(cat(head, {0xD1, 0x02, 0x10, 0xFF}), Bytes(5, 'b')));
  EXPECT_EQ(code, 204);
  EXPECT_EQ(received, cat(Bytes(16, 'a'), Bytes(5, 'b')));
}

}  // namespace
}  // namespace bg95
