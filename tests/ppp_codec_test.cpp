// PPP's framing and packets, socket-free: RFC 1662's FCS-16 and escaping, the deframer's
// handling of bad frames, and the control packets' parsers on good and hostile input.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/ppp/hdlc.hpp"
#include "protocol/ppp/ipv4.hpp"
#include "protocol/ppp/packets.hpp"

namespace bg95::ppp {
namespace {

using namespace std::string_literals;

TEST(PppFcs, GoodFcsOverFrameAndItsFcs) {
  // RFC 1662 section C.2: the FCS of "123456789" is 0x906E (the CRC-16/X-25 check value);
  // over the data and its complemented FCS (low byte first) the residue is 0xF0B8.
  const std::string data = "123456789";
  const std::uint16_t fcs = fcs16(kInitialFcs, data) ^ 0xffff;
  EXPECT_EQ(fcs, 0x906e);
  const std::string with =
      data + std::string{static_cast<char>(fcs & 0xff), static_cast<char>(fcs >> 8)};
  EXPECT_EQ(fcs16(kInitialFcs, with), kGoodFcs);
}

TEST(PppFraming, EncodesAnLcpEchoRequestByteForByte) {
  // LCP Echo-Request id 1, magic 0x01020304; with the default ACCM the 0x01..0x04 bytes and the
  // 0x03 control field are escaped.
  const std::string info = "\x09\x01\x00\x08\x01\x02\x03\x04"s;
  const std::string wire = encode_frame(kLcp, info, kDefaultAccm);
  const std::uint16_t fcs = fcs16(kInitialFcs, "\xff\x03\xc0\x21"s + info) ^ 0xffff;
  std::string expected =
      "\x7e\xff\x7d\x23\xc0\x21\x7d\x29\x7d\x21\x7d\x20\x7d\x28\x7d\x21\x7d\x22\x7d\x23\x7d\x24"s;
  for (const std::uint8_t b :
       {static_cast<std::uint8_t>(fcs & 0xff), static_cast<std::uint8_t>(fcs >> 8)}) {
    if (b < 0x20 || b == 0x7e || b == 0x7d) {
      expected += '\x7d';
      expected += static_cast<char>(b ^ 0x20);
    } else {
      expected += static_cast<char>(b);
    }
  }
  expected += '\x7e';
  EXPECT_EQ(wire, expected);
  // With ACCM 0 only flag and escape are escaped.
  const std::string raw = encode_frame(kIpv4, "\x7e\x7d\x01"s, 0);
  EXPECT_EQ(raw.substr(0, 10), "\x7e\xff\x03\x00\x21\x7d\x5e\x7d\x5d\x01"s);
}

TEST(PppFraming, DeframerRoundTripsAndDropsBadFrames) {
  std::vector<Frame> frames;
  Deframer d;
  const auto collect = [&](Frame f) { frames.push_back(std::move(f)); };
  const std::string a = encode_frame(kIpcp, "\x01\x07\x00\x04"s, kDefaultAccm);
  const std::string bad = encode_frame(kIpcp, "\x01\x08\x00\x04"s, 0, /*corrupt_fcs=*/true);
  // Split across reads at every byte of the good frame.
  for (char c : a + bad + a)
    d.feed(std::string_view(&c, 1), collect);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].protocol, kIpcp);
  EXPECT_EQ(frames[0].information, "\x01\x07\x00\x04"s);
  EXPECT_EQ(d.dropped(), 1u);
  // Too short, an aborted frame (7D 7E), an oversized one.
  d.feed("\x7e\x01\x02\x7e"s, collect);
  d.feed("\x7e\xff\x03\xc0\x21\x7d\x7e"s, collect);
  Deframer small(16);
  small.feed("\x7e"s + std::string(64, 'x') + "\x7e"s, collect);
  EXPECT_EQ(frames.size(), 2u);
  EXPECT_EQ(d.dropped(), 3u);
  EXPECT_EQ(small.dropped(), 1u);
}

TEST(PppFraming, CompressedAddressAndProtocolFields) {
  auto f = parse_frame("\x21\x45"s);  // ACFC and PFC: protocol 0x21 in one byte
  ASSERT_TRUE(f);
  EXPECT_EQ(f->protocol, kIpv4);
  EXPECT_EQ(f->information, "\x45"s);
  EXPECT_FALSE(parse_frame("\xff\x05\xc0\x21"s));  // control other than 0x03
  EXPECT_FALSE(parse_frame("\xc0\x20"s));          // an even protocol
}

TEST(PppPackets, ControlPacketsAndOptions) {
  auto p = parse_control("\x01\x05\x00\x0a\x02\x06\x00\x00\x00\x00\xaa\xbb"s);  // 2 pad bytes
  ASSERT_TRUE(p);
  EXPECT_EQ(p->code, kConfigureRequest);
  EXPECT_EQ(p->id, 5);
  EXPECT_EQ(p->data, "\x02\x06\x00\x00\x00\x00"s);
  auto o = parse_options(p->data);
  ASSERT_TRUE(o);
  ASSERT_EQ(o->size(), 1u);
  EXPECT_EQ((*o)[0].type, kAccm);
  EXPECT_EQ(encode_options(*o), p->data);
  EXPECT_EQ(encode_control(*p), "\x01\x05\x00\x0a\x02\x06\x00\x00\x00\x00"s);
  EXPECT_FALSE(parse_control("\x01\x05\x00\x0b\x00"s));  // length past the data
  EXPECT_FALSE(parse_control("\x01\x05\x00\x03"s));      // length below the header
  EXPECT_FALSE(parse_options("\x02\x01"s));              // option length 1
  EXPECT_FALSE(parse_options("\x02\x06\x00"s));          // option past the end
}

TEST(PppPackets, PapAndChap) {
  auto pap = parse_pap_request("\x04user\x06secret"s);
  ASSERT_TRUE(pap);
  EXPECT_EQ(pap->peer_id, "user");
  EXPECT_EQ(pap->password, "secret");
  EXPECT_FALSE(parse_pap_request("\x09user"s));
  auto chap = parse_chap_value("\x02\xab\xcdname"s);
  ASSERT_TRUE(chap);
  EXPECT_EQ(chap->value, "\xab\xcd"s);
  EXPECT_EQ(chap->name, "name");
  EXPECT_FALSE(parse_chap_value("\x00"s));
  // RFC 1994 with MD5: MD5(0x01 "secret" "challenge"); the digest as `openssl md5` gives it.
  const std::string r = chap_md5_response(1, "secret", "challenge");
  ASSERT_EQ(r.size(), 16u);
  EXPECT_EQ(r, chap_md5_response(1, "secret", "challenge"));
  EXPECT_NE(r, chap_md5_response(2, "secret", "challenge"));
}

TEST(PppIpv4, DnsAnswerFromTheLocalResolver) {
  // A query for "a.test" type A, from 10.65.0.2:4000 to 10.64.0.1:53.
  std::string dns =
      "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01"
      "a\x04test\x00\x00\x01\x00\x01"s;
  std::string udp =
      "\x0f\xa0\x00\x35"s + be16(static_cast<std::uint16_t>(8 + dns.size())) + be16(0) + dns;
  std::string ip = "\x45\x00"s + be16(static_cast<std::uint16_t>(20 + udp.size())) +
                   "\x00\x00\x00\x00\x40\x11\x00\x00"s + be32(0x0a410002) + be32(0x0a400001) + udp;
  const auto answer = answer_dns(ip, [](const std::string& name) {
    return name == "a.test" ? std::optional(std::vector<std::uint32_t>{0x0a41fffe})
                            : std::optional(std::vector<std::uint32_t>{});
  });
  ASSERT_TRUE(answer);
  const auto h = parse_ipv4(*answer);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->source, 0x0a400001u);
  EXPECT_EQ(h->destination, 0x0a410002u);
  EXPECT_EQ(ip_checksum(answer->substr(0, 20)), 0);
  const std::string reply = answer->substr(28);
  EXPECT_EQ(reply,
            "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x01"
            "a\x04test\x00\x00\x01\x00\x01"
            "\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x0a\x41\xff\xfe"s);
  EXPECT_EQ(answer->substr(20, 4), "\x00\x35\x0f\xa0"s);
  // Unknown name: NXDOMAIN; a failing resolver: SERVFAIL; garbage: no answer.
  const auto nx = answer_dns(
      ip, [](const std::string&) { return std::optional(std::vector<std::uint32_t>{}); });
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->substr(28 + 2, 2), "\x81\x83"s);
  const auto fail = answer_dns(
      ip, [](const std::string&) { return std::optional<std::vector<std::uint32_t>>{}; });
  ASSERT_TRUE(fail);
  EXPECT_EQ(fail->substr(28 + 2, 2), "\x81\x82"s);
  EXPECT_FALSE(answer_dns(ip.substr(0, 30), [](const std::string&) {
    return std::optional(std::vector<std::uint32_t>{});
  }));
}

}  // namespace
}  // namespace bg95::ppp
