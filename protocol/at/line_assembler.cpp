#include "protocol/at/line_assembler.hpp"

namespace bg95::at {

void LineAssembler::reset() {
  state_ = State::WaitA;
  buffer_.clear();
  overflow_ = false;
  just_ended_ = false;
  swallowed_lf_ = false;
}

std::optional<LineAssembler::Event> LineAssembler::feed(char c, std::uint8_t s3, std::uint8_t s5) {
  const bool after_end = just_ended_;
  just_ended_ = false;
  swallowed_lf_ = false;
  const auto byte = static_cast<std::uint8_t>(c);
  switch (state_) {
    case State::WaitA:
      if (c == '\n' && after_end) swallowed_lf_ = true;
      if (c == 'A' || c == 'a') state_ = State::WaitT;
      return std::nullopt;
    case State::WaitT:
      if (c == 'T' || c == 't') {
        state_ = State::InLine;
        buffer_.clear();
        overflow_ = false;
      } else if (c == '/') {
        state_ = State::WaitA;
        return Event{Event::Kind::Repeat, {}};
      } else if (c != 'A' && c != 'a') {
        state_ = State::WaitA;
      }
      return std::nullopt;
    case State::InLine:
      if (byte == s3) {
        state_ = State::WaitA;
        just_ended_ = true;
        if (overflow_) return Event{Event::Kind::Overflow, {}};
        return Event{Event::Kind::Line, std::move(buffer_)};
      }
      if (byte == s5) {
        if (!buffer_.empty()) buffer_.pop_back();
        return std::nullopt;
      }
      if (byte < 0x20 && c != '\t') return std::nullopt;  // other controls are ignored
      if (buffer_.size() >= kMaxLine) {
        overflow_ = true;
        return std::nullopt;
      }
      buffer_.push_back(c);
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace bg95::at
