#include "sim/http_app/response_parser.hpp"

#include <charconv>

#include "sim/util/text.hpp"

namespace bg95::http_app {
namespace {

constexpr std::size_t kMaxLine = 1024;  // a chunk-size or trailer line

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// A whole decimal or hexadecimal number, or nullopt (empty, a sign, overflow, other bytes).
std::optional<std::uint64_t> whole_number(std::string_view s, int base) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

void ResponseParser::fail(HttpError e) {
  state_ = State::Failed;
  failure_ = e;
  pending_.clear();
}

void ResponseParser::feed(std::string_view bytes) {
  if (state_ == State::Done || state_ == State::Failed) return;
  pending_.append(bytes);
  step();
}

void ResponseParser::end_of_stream() {
  if (state_ == State::UntilClose) {
    state_ = State::Done;
    return;
  }
  if (state_ != State::Done && state_ != State::Failed) fail(HttpError::SocketClosed);
}

std::optional<std::string> ResponseParser::take_line(std::size_t limit) {
  const auto end = pending_.find("\r\n");
  if (end == std::string::npos) {
    if (pending_.size() > limit) fail(HttpError::ResponseFailed);
    return std::nullopt;
  }
  if (end > limit) {
    fail(HttpError::ResponseFailed);
    return std::nullopt;
  }
  std::string line = pending_.substr(0, end);
  pending_.erase(0, end + 2);
  return line;
}

bool ResponseParser::append_body(std::string_view bytes) {
  if (body_.size() + bytes.size() > max_body_) {
    fail(HttpError::MemoryAllocFailed);
    return false;
  }
  body_.append(bytes);
  return true;
}

bool ResponseParser::take_counted() {
  const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left_, pending_.size()));
  if (take > 0 && !append_body(std::string_view(pending_).substr(0, take))) return false;
  pending_.erase(0, take);
  left_ -= take;
  return left_ == 0;
}

// The status line and the fields decide how the body ends (RFC 9112 section 6.3).
void ResponseParser::parse_head() {
  std::string_view head(head_);
  const auto first_end = head.find("\r\n");
  const std::string_view status_line = head.substr(0, first_end);
  // "HTTP/1.x SSS[ reason]"
  if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' '))
    return fail(HttpError::ResponseFailed);
  const auto status = whole_number(status_line.substr(9, 3), 10);
  if (!status || *status < 100) return fail(HttpError::ResponseFailed);
  status_ = static_cast<int>(*status);

  std::string_view fields = head.substr(first_end + 2);
  while (!fields.empty()) {
    const auto end = fields.find("\r\n");
    const std::string_view line = fields.substr(0, end);
    fields.remove_prefix(end + 2);
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(HttpError::ResponseFailed);
    const std::string name = util::ascii_lower(std::string(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-length") {
      const auto n = whole_number(value, 10);
      if (!n || (content_length_ && *content_length_ != *n)) return fail(HttpError::ResponseFailed);
      content_length_ = n;
    } else if (name == "transfer-encoding") {
      chunked_ = util::ascii_lower(std::string(value)).ends_with("chunked");
    }
  }

  if (status_ < 200) {  // an interim response (100 Continue): the real one follows
    head_.clear();
    content_length_.reset();
    chunked_ = false;
    state_ = State::Head;
    return;
  }
  if (status_ == 204 || status_ == 304) {
    state_ = State::Done;
    return;
  }
  if (chunked_) {
    content_length_.reset();  // chunked framing wins over a Content-Length (RFC 9112 6.3)
    state_ = State::ChunkSize;
  } else if (content_length_) {
    if (*content_length_ > max_body_) return fail(HttpError::MemoryAllocFailed);
    left_ = *content_length_;
    state_ = left_ == 0 ? State::Done : State::Body;
  } else {
    state_ = State::UntilClose;
  }
}

void ResponseParser::step() {
  for (;;) {
    switch (state_) {
      case State::Head: {
        const auto end = pending_.find("\r\n\r\n");
        if (end == std::string::npos) {
          if (pending_.size() > kMaxHead) fail(HttpError::ResponseFailed);
          return;
        }
        if (end + 4 > kMaxHead) return fail(HttpError::ResponseFailed);
        head_ = pending_.substr(0, end + 4);
        pending_.erase(0, end + 4);
        parse_head();
        break;
      }
      case State::Body:
        if (!take_counted()) return;
        state_ = State::Done;
        pending_.clear();
        break;
      case State::UntilClose:
        if (pending_.empty()) return;
        if (!append_body(pending_)) return;
        pending_.clear();
        return;
      case State::ChunkSize: {
        auto line = take_line(kMaxLine);
        if (!line) return;
        const std::string_view size_text = trim(std::string_view(*line).substr(0, line->find(';')));
        const auto size = whole_number(size_text, 16);
        if (!size) return fail(HttpError::ResponseFailed);
        left_ = *size;
        state_ = left_ == 0 ? State::Trailer : State::ChunkData;
        break;
      }
      case State::ChunkData:
        if (!take_counted()) return;
        state_ = State::ChunkEnd;
        break;
      case State::ChunkEnd:  // the CR LF after a chunk's data, and nothing else
        if (pending_.size() < 2) return;
        if (!pending_.starts_with("\r\n")) return fail(HttpError::ResponseFailed);
        pending_.erase(0, 2);
        state_ = State::ChunkSize;
        break;
      case State::Trailer: {
        auto line = take_line(kMaxLine);
        if (!line) return;
        if (line->empty()) {
          state_ = State::Done;
          pending_.clear();
        }
        break;
      }
      case State::Done:
      case State::Failed:
        return;
    }
  }
}

}  // namespace bg95::http_app
