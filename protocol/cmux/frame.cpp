#include "protocol/cmux/frame.hpp"

#include <array>

namespace bg95::cmux {
namespace {

// The reflected CRC-8 of 27.010 annex B (generator x^8 + x^2 + x + 1, 0xE0 reflected), made
// once at compile time instead of the annex's printed table.
constexpr std::array<std::uint8_t, 256> make_crc_table() {
  std::array<std::uint8_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    auto crc = static_cast<std::uint8_t>(i);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint8_t>((crc & 1) ? (crc >> 1) ^ 0xE0 : crc >> 1);
    table[static_cast<std::size_t>(i)] = crc;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

std::uint8_t crc(std::string_view octets, std::uint8_t start = 0xFF) {
  std::uint8_t c = start;
  for (const char ch : octets)
    c = kCrcTable[c ^ static_cast<std::uint8_t>(ch)];
  return c;
}

// The FCS covers the information field of every frame but UIH (27.010 5.2.1.6).
bool fcs_covers_info(std::uint8_t control) {
  return control != static_cast<std::uint8_t>(FrameType::Uih);
}

}  // namespace

std::uint8_t fcs(std::string_view octets) {
  return static_cast<std::uint8_t>(0xFF - crc(octets));
}

bool fcs_ok(std::string_view octets, std::uint8_t fcs) {
  const char f = static_cast<char>(fcs);
  return crc(std::string_view(&f, 1), crc(octets)) == 0xCF;
}

std::string encode(const Frame& frame, bool corrupt_fcs) {
  std::string header;
  header.push_back(static_cast<char>(0x01 | (frame.cr ? 0x02 : 0) | (frame.dlci << 2)));
  header.push_back(static_cast<char>(frame.control | (frame.pf ? kPollFinal : 0)));
  const std::size_t n = frame.info.size();
  if (n <= 0x7F) {
    header.push_back(static_cast<char>((n << 1) | 0x01));
  } else {
    header.push_back(static_cast<char>((n & 0x7F) << 1));
    header.push_back(static_cast<char>((n >> 7) & 0xFF));
  }
  std::uint8_t f = fcs(fcs_covers_info(frame.control) ? header + frame.info : header);
  if (corrupt_fcs) f = static_cast<std::uint8_t>(~f);
  std::string out;
  out.reserve(header.size() + n + 3);
  out.push_back(static_cast<char>(kFlag));
  out += header;
  out += frame.info;
  out.push_back(static_cast<char>(f));
  out.push_back(static_cast<char>(kFlag));
  return out;
}

void Decoder::reset() {
  state_ = State::Hunt;
  header_.clear();
  frame_ = {};
  length_ = 0;
}

Decoder::Result Decoder::drop(Dropped why) {
  // Hunt for the next flag; a flag that closes the bad frame may open the next.
  reset();
  return {std::nullopt, why};
}

Decoder::Result Decoder::feed(std::uint8_t byte) {
  switch (state_) {
    case State::Hunt:
      if (byte == kFlag) state_ = State::Address;
      return {};
    case State::Address:
      if (byte == kFlag) return {};  // back-to-back flags: closing and opening
      header_.assign(1, static_cast<char>(byte));
      frame_ = {};
      if ((byte & 0x01) == 0) return drop(Dropped::Malformed);  // one-octet address only
      frame_.cr = (byte & 0x02) != 0;
      frame_.dlci = static_cast<std::uint8_t>(byte >> 2);
      state_ = State::Control;
      return {};
    case State::Control:
      if (byte == kFlag) return drop(Dropped::Malformed);
      header_.push_back(static_cast<char>(byte));
      frame_.pf = (byte & kPollFinal) != 0;
      frame_.control = static_cast<std::uint8_t>(byte & ~kPollFinal);
      state_ = State::Length;
      return {};
    case State::Length:
      header_.push_back(static_cast<char>(byte));
      length_ = byte >> 1;
      if ((byte & 0x01) == 0) {
        state_ = State::Length2;
        return {};
      }
      break;
    case State::Length2:
      header_.push_back(static_cast<char>(byte));
      length_ |= static_cast<std::size_t>(byte) << 7;
      break;
    case State::Info:
      frame_.info.push_back(static_cast<char>(byte));
      if (frame_.info.size() == length_) state_ = State::Fcs;
      return {};
    case State::Fcs:
      fcs_ = byte;
      state_ = State::Close;
      return {};
    case State::Close: {
      if (byte != kFlag) return drop(Dropped::Malformed);
      const bool good =
          fcs_ok(fcs_covers_info(frame_.control) ? header_ + frame_.info : header_, fcs_);
      Frame done = std::move(frame_);
      reset();
      state_ = State::Address;  // the closing flag may open the next frame
      if (!good) return {std::nullopt, Dropped::BadFcs};
      return {std::move(done), Dropped::None};
    }
  }
  // The length is known.
  if (length_ > max_info_) return drop(Dropped::TooLong);
  state_ = length_ == 0 ? State::Fcs : State::Info;
  return {};
}

}  // namespace bg95::cmux
