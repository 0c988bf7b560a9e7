#include "protocol/http/response_guard.hpp"

#include <algorithm>

namespace bg95::http {
namespace {

// "HTTP/1.x 1": an interim response (100 Continue, 103 Early Hints), after which cpp-httplib
// reads another status line.
constexpr std::size_t kInterimPrefix = 10;
bool is_interim(std::string_view start) {
  return start.size() >= kInterimPrefix && start.starts_with("HTTP/1.") && start[8] == ' ' &&
         start[9] == '1';
}

// Enough of a line to read a Transfer-Encoding header or a chunk size; a longer value cannot
// be the bare "chunked" cpp-httplib compares with.
constexpr std::size_t kKeptPrefix = 256;

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// ASCII only, as HTTP field names and the "chunked" token are (RFC 9110 §5.1).
bool same_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool ResponseGuard::take(std::string_view bytes) {
  while (!bytes.empty() && watching()) {
    if (state_ == State::ChunkData) {
      // Data is not looked at, only counted.
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk_left_, bytes.size()));
      chunk_left_ -= n;
      bytes.remove_prefix(n);
      if (chunk_left_ == 0) state_ = State::ChunkDataEnd;
      continue;
    }
    take_char(bytes.front());
    bytes.remove_prefix(1);
  }
  return !refused();
}

void ResponseGuard::take_char(char c) {
  ++line_length_;
  if (line_.size() < kKeptPrefix) line_ += c;
  if (line_length_ > limit()) {
    const char* what = state_ == State::StatusLine      ? "the status line"
                       : state_ == State::HeaderLine    ? "a header line"
                       : state_ == State::ChunkSizeLine ? "a chunk-size line"
                       : state_ == State::LastLine      ? "the line after the last chunk"
                                                        : "the line after a chunk";
    refuse(std::string(what) + " is longer than " + std::to_string(limit()) + " bytes");
    return;
  }
  if (c == '\n') end_line();
}

std::size_t ResponseGuard::limit() const {
  switch (state_) {
    case State::StatusLine:
      return kMaxStatusLine;
    case State::HeaderLine:
      return kMaxHeaderLine;
    default:
      return kMaxChunkLine;
  }
}

void ResponseGuard::refuse(std::string why) {
  why_ = std::move(why);
  state_ = State::Refused;
}

// At a '\n': the line is complete.
void ResponseGuard::end_line() {
  switch (state_) {
    case State::StatusLine:
    case State::HeaderLine:
      end_head_line();
      break;
    case State::ChunkSizeLine:
      end_chunk_size_line();
      break;
    case State::ChunkDataEnd:
      // cpp-httplib takes the next chunk only after an empty line; after anything else it
      // stops reading the body.
      state_ = line_ == "\r\n" ? State::ChunkSizeLine : State::Unwatched;
      break;
    case State::LastLine:
      state_ = State::Unwatched;
      break;
    default:
      break;
  }
  line_length_ = 0;
  line_.clear();
}

void ResponseGuard::end_head_line() {
  const bool empty = line_ == "\n" || line_ == "\r\n";
  if (state_ == State::StatusLine) {
    interim_ = is_interim(line_);
    chunked_ = false;
    te_seen_ = false;
    state_ = State::HeaderLine;
  } else if (empty) {
    in_body_ = !interim_;
    state_ = interim_ ? State::StatusLine : chunked_ ? State::ChunkSizeLine : State::Unwatched;
  } else if (!te_seen_ &&
             same_ignoring_case(std::string_view(line_).substr(0, 18), "transfer-encoding:")) {
    // cpp-httplib reads the first Transfer-Encoding header only.
    te_seen_ = true;
    chunked_ = same_ignoring_case(trimmed(std::string_view(line_).substr(18)), "chunked");
  }
}

// chunk-size = 1*HEXDIG, then chunk extensions after ';' (RFC 9112 §7.1.1). Stricter than
// cpp-httplib's strtoul (which also takes a sign, spaces and "0x"): such a body is malformed.
void ResponseGuard::end_chunk_size_line() {
  std::uint64_t size = 0;
  std::size_t digits = 0;
  for (; digits < line_.size() && hex_value(line_[digits]) >= 0; ++digits) {
    if (size >> 60 != 0) {
      refuse("a chunk size is larger than 2^64 bytes");
      return;
    }
    size = size << 4 | static_cast<std::uint64_t>(hex_value(line_[digits]));
  }
  const std::string_view rest = trimmed(std::string_view(line_).substr(digits));
  if (digits == 0 || !(rest.empty() || rest.front() == ';')) {
    refuse("a chunk-size line is not a hex number");
    return;
  }
  chunk_left_ = size;
  state_ = size == 0 ? State::LastLine : State::ChunkData;
}

}  // namespace bg95::http
