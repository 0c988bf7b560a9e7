// The 27.010 basic-option codec (protocol/cmux/), byte by byte. Reference bytes:
// - SABM and UA on DLCI 0, SABM on DLCI 1 and 2 as a real modem and its host exchanged them
//   (espressif/esp-protocols, the log attached to an issue: files/14648619/cmux_text.txt:
//   "f9 03 73 01 d7 f9", "f9 07 3f 01 de f9", "f9 0b 3f 01 59 f9"), and the SABM on DLCI 0
//   every 27.010 host sends first ("f9 03 3f 01 1c f9");
// - the MSC upstream Zephyr's modem_cmux sends when a DLC opens
//   (zephyrproject-rtos/zephyr subsys/modem/modem_cmux.c, modem_cmux_send_msc: type MSC with
//   C/R, length 2, the DLCI octet with EA and bit 2 set, signals EA|RTC|RTR|DV).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/cmux/control.hpp"
#include "protocol/cmux/frame.hpp"

namespace bg95::cmux {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s.push_back(static_cast<char>(v));
  return s;
}

std::vector<Frame> decode_all(Decoder& d, const std::string& in,
                              std::vector<Decoder::Dropped>* dropped = nullptr) {
  std::vector<Frame> out;
  for (char c : in) {
    auto r = d.feed(static_cast<std::uint8_t>(c));
    if (r.frame) out.push_back(*r.frame);
    if (dropped && r.dropped != Decoder::Dropped::None) dropped->push_back(r.dropped);
  }
  return out;
}

Frame control_frame(std::uint8_t dlci, bool cr, FrameType t, bool pf = true) {
  return Frame{
      .dlci = dlci, .cr = cr, .pf = pf, .control = static_cast<std::uint8_t>(t), .info = {}};
}

TEST(CmuxFrameTest, EncodesTheFramesRealHostsAndModulesExchange) {
  EXPECT_EQ(encode(control_frame(0, true, FrameType::Sabm)),
            bytes({0xF9, 0x03, 0x3F, 0x01, 0x1C, 0xF9}));
  EXPECT_EQ(encode(control_frame(0, true, FrameType::Ua)),
            bytes({0xF9, 0x03, 0x73, 0x01, 0xD7, 0xF9}));
  EXPECT_EQ(encode(control_frame(1, true, FrameType::Sabm)),
            bytes({0xF9, 0x07, 0x3F, 0x01, 0xDE, 0xF9}));
  EXPECT_EQ(encode(control_frame(2, true, FrameType::Sabm)),
            bytes({0xF9, 0x0B, 0x3F, 0x01, 0x59, 0xF9}));
}

TEST(CmuxFrameTest, TheFcsCoversTheInformationOfUiButNotOfUih) {
  Frame uih{.dlci = 1, .cr = true, .pf = false, .control = 0xEF, .info = "AT\r"};
  EXPECT_EQ(encode(uih), bytes({0xF9, 0x07, 0xEF, 0x07, 'A', 'T', '\r', 0xD3, 0xF9}));
  uih.info = "AT\n";  // same header, same FCS
  EXPECT_EQ(encode(uih).at(7), static_cast<char>(0xD3));
  Frame ui{
      .dlci = 0, .cr = true, .pf = false, .control = 0x03, .info = bytes({0x23, 0x05, 'P', 'I'})};
  EXPECT_EQ(encode(ui), bytes({0xF9, 0x03, 0x03, 0x09, 0x23, 0x05, 'P', 'I', 0x21, 0xF9}));
}

TEST(CmuxFrameTest, LongInformationTakesATwoOctetLength) {
  Frame f{.dlci = 2, .cr = false, .pf = false, .control = 0xEF, .info = std::string(300, 'x')};
  const std::string e = encode(f);
  // 300 = 0b10'0101100: first octet (300 & 0x7F) << 1 with EA 0, then 300 >> 7.
  EXPECT_EQ(e.substr(0, 5), bytes({0xF9, 0x09, 0xEF, 0x58, 0x02}));
  EXPECT_EQ(e.size(), 5u + 300u + 2u);
  Decoder d(512);
  const auto frames = decode_all(d, e);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], f);
}

TEST(CmuxFrameTest, DecodesBackToBackFramesAndSharedFlags) {
  Decoder d(127);
  // Garbage before the first flag, a shared flag between two frames, and doubled flags.
  const std::string in = "xyz" + encode(control_frame(0, true, FrameType::Sabm)) +
                         encode(control_frame(1, true, FrameType::Sabm)).substr(1) + bytes({0xF9}) +
                         encode(control_frame(2, true, FrameType::Sabm));
  const auto frames = decode_all(d, in);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0], control_frame(0, true, FrameType::Sabm));
  EXPECT_EQ(frames[1], control_frame(1, true, FrameType::Sabm));
  EXPECT_EQ(frames[2], control_frame(2, true, FrameType::Sabm));
}

TEST(CmuxFrameTest, ABadFcsIsDroppedAndTheNextFrameStillComes) {
  Decoder d(127);
  const Frame f{.dlci = 1, .cr = true, .pf = false, .control = 0xEF, .info = "AT\r"};
  std::vector<Decoder::Dropped> dropped;
  const auto frames = decode_all(d, encode(f, /*corrupt_fcs=*/true) + encode(f), &dropped);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], f);
  EXPECT_EQ(dropped, std::vector<Decoder::Dropped>{Decoder::Dropped::BadFcs});
  EXPECT_EQ(encode(f, true).at(7), static_cast<char>(~0xD3 & 0xFF));
}

TEST(CmuxFrameTest, AFrameLongerThanN1IsDropped) {
  Decoder d(8);
  const Frame longer{.dlci = 1, .cr = true, .pf = false, .control = 0xEF, .info = "123456789"};
  const Frame fits{.dlci = 1, .cr = true, .pf = false, .control = 0xEF, .info = "12345678"};
  std::vector<Decoder::Dropped> dropped;
  const auto frames = decode_all(d, encode(longer) + encode(fits), &dropped);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], fits);
  EXPECT_EQ(dropped, std::vector<Decoder::Dropped>{Decoder::Dropped::TooLong});
}

TEST(CmuxFrameTest, AFrameCutShortIsNotTaken) {
  Decoder d(127);
  const std::string sabm = encode(control_frame(0, true, FrameType::Sabm));
  // The flag comes where the FCS's closing flag should: malformed, nothing taken.
  std::vector<Decoder::Dropped> dropped;
  const auto frames = decode_all(d, sabm.substr(0, 4) + bytes({0x1C, 0x00}) + sabm, &dropped);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(dropped, std::vector<Decoder::Dropped>{Decoder::Dropped::Malformed});
}

TEST(CmuxControlTest, EncodesZephyrsMscAndItsResponse) {
  const Message msc{static_cast<std::uint8_t>(MessageType::Msc), true,
                    encode_msc({.dlci = 1, .signals = {}, .break_octet = {}})};
  EXPECT_EQ(encode(msc), bytes({0xE3, 0x05, 0x07, 0x8D}));
  const Frame frame{.dlci = 0, .cr = true, .pf = false, .control = 0xEF, .info = encode(msc)};
  EXPECT_EQ(encode(frame), bytes({0xF9, 0x03, 0xEF, 0x09, 0xE3, 0x05, 0x07, 0x8D, 0xFB, 0xF9}));
  Message response = msc;
  response.command = false;
  EXPECT_EQ(encode(response), bytes({0xE1, 0x05, 0x07, 0x8D}));
}

TEST(CmuxControlTest, DecodesMessagesAndTheirSignals) {
  const auto m = decode_message(bytes({0xE3, 0x05, 0x0B, 0x03}));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, static_cast<std::uint8_t>(MessageType::Msc));
  EXPECT_TRUE(m->command);
  const auto s = decode_msc(m->value);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->dlci, 2);
  // 0x03: EA and FC; RTC (DTR) and RTR off, DV off.
  EXPECT_EQ(s->signals,
            (Signals{.fc = true, .rtc = false, .rtr = false, .ic = false, .dv = false}));
  EXPECT_EQ(encode_signals(Signals{}), 0x8D);
  // CLD as a command, length 0.
  const auto cld = decode_message(bytes({0xC3, 0x01}));
  ASSERT_TRUE(cld);
  EXPECT_EQ(cld->type, static_cast<std::uint8_t>(MessageType::Cld));
  EXPECT_EQ(cld->value, "");
  // A length that disagrees with the octets, a missing EA: not a message.
  EXPECT_FALSE(decode_message(bytes({0xE3, 0x07, 0x07})));
  EXPECT_FALSE(decode_message(bytes({0xE2, 0x01})));
  EXPECT_FALSE(decode_message(bytes({0xE3})));
  EXPECT_FALSE(decode_msc(bytes({0x06, 0x8D})));
}

TEST(CmuxControlTest, LongValuesTakeMoreLengthOctets) {
  const Message test{static_cast<std::uint8_t>(MessageType::Test), true, std::string(200, 'p')};
  const std::string e = encode(test);
  // 200 = 72 + 1 * 128: (72 << 1) with EA 0, then (1 << 1) | EA.
  EXPECT_EQ(e.substr(0, 3), bytes({0x23, 0x90, 0x03}));
  const auto back = decode_message(e);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, test);
  // The NSC of an unknown type carries the type octet as received.
  EXPECT_EQ(type_octet(Message{0x3F, true, {}}), 0xFF);
}

}  // namespace
}  // namespace bg95::cmux
