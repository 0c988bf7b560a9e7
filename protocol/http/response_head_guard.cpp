#include "protocol/http/response_head_guard.hpp"

namespace bg95::http {
namespace {

// "HTTP/1.x 1": an interim response (100 Continue, 103 Early Hints), after which cpp-httplib
// reads another status line.
constexpr std::size_t kInterimPrefix = 10;
bool is_interim(std::string_view start) {
  return start.size() >= kInterimPrefix && start.starts_with("HTTP/1.") && start[8] == ' ' &&
         start[9] == '1';
}

}  // namespace

bool ResponseHeadGuard::take(std::string_view bytes) {
  for (const char c : bytes) {
    if (state_ == State::Body || state_ == State::Refused) break;
    ++line_length_;
    if (line_start_.size() < kInterimPrefix) line_start_ += c;
    const std::size_t limit = state_ == State::StatusLine ? kMaxStatusLine : kMaxHeaderLine;
    if (line_length_ > limit) {
      why_ = std::string(state_ == State::StatusLine ? "the status line" : "a header line") +
             " is longer than " + std::to_string(limit) + " bytes";
      state_ = State::Refused;
      break;
    }
    if (c == '\n' && !end_line()) break;
  }
  return state_ != State::Refused;
}

// At a '\n': the line is complete. Returns false when the head has ended.
bool ResponseHeadGuard::end_line() {
  const bool empty = line_length_ == 1 || (line_length_ == 2 && line_start_[0] == '\r');
  if (state_ == State::StatusLine) {
    interim_ = is_interim(line_start_);
    state_ = State::HeaderLine;
  } else if (empty) {
    state_ = interim_ ? State::StatusLine : State::Body;
  }
  line_length_ = 0;
  line_start_.clear();
  return state_ != State::Body;
}

}  // namespace bg95::http
