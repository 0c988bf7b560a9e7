#pragma once
// Reads an HTTP/1.x response as its bytes arrive (RFC 9112): the status line and header
// fields, then the body delimited by Content-Length, by chunked transfer coding, or by the
// end of the connection. Socket-free and pure, so every malformed response a server may send
// is tested without one.
//
// The head is kept as the server sent it (AT+QHTTPCFG="responseheader",1 gives it to the
// host before the body); the body is kept decoded (chunk framing removed), as the module
// hands it to AT+QHTTPREAD.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sim/http_app/http_error.hpp"

namespace bg95::http_app {

class ResponseParser {
 public:
  // A head longer than this fails the response (a server that never ends its head must not
  // fill the module's memory).
  static constexpr std::size_t kMaxHead = 16 * 1024;

  // `max_body`: the largest body the module holds; more fails with MemoryAllocFailed.
  explicit ResponseParser(std::uint64_t max_body) : max_body_(max_body) {}

  // Takes bytes that arrived; nothing after the end of the response is kept.
  void feed(std::string_view bytes);
  // The server closed the connection: ends a body delimited by the close, fails otherwise.
  void end_of_stream();

  bool done() const { return state_ == State::Done; }
  // The failure, once the response cannot end well (Ok while it still can).
  HttpError failure() const { return failure_; }
  bool failed() const { return state_ == State::Failed; }

  int status() const { return status_; }
  std::optional<std::uint64_t> content_length() const { return content_length_; }
  const std::string& head() const { return head_; }  // status line to the empty line, CR LFs kept
  const std::string& body() const { return body_; }
  std::string take_body() { return std::move(body_); }

 private:
  enum class State {
    Head,
    Body,
    ChunkSize,
    ChunkData,
    ChunkEnd,
    Trailer,
    UntilClose,
    Done,
    Failed
  };
  void fail(HttpError e);
  void parse_head();
  bool append_body(std::string_view bytes);
  // Moves what is pending of a counted run (a Content-Length body, a chunk) into the body:
  // true once the run is complete.
  bool take_counted();
  // The next line of pending_ (without CR LF), or nullopt when it has not ended yet.
  std::optional<std::string> take_line(std::size_t limit);
  void step();

  std::uint64_t max_body_;
  State state_ = State::Head;
  HttpError failure_ = HttpError::Ok;
  int status_ = 0;
  bool chunked_ = false;
  std::optional<std::uint64_t> content_length_;
  std::uint64_t left_ = 0;  // of the body (Content-Length) or of the chunk
  std::string head_;
  std::string body_;
  std::string pending_;  // bytes not yet parsed
};

}  // namespace bg95::http_app
