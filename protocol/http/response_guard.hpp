#pragma once
// Watches the framing of an HTTP response as the downloader hands it, byte by byte, to
// cpp-httplib, and stops it at a line the library must not see.
// - The head: cpp-httplib 0.11.4 matches the status line with std::regex, which recurses a few
//   frames per character: a status line of some 30 KB overflowed the worker thread's stack and
//   ended the whole process (issue 18). Its header lines are stored without a limit on their
//   length until the line ends.
// - A chunked body (RFC 9112 §7.1): the library reads each chunk-size line, the line after each
//   chunk and the line after the last chunk through the same unbounded line reader, so a server
//   that never ends such a line would grow the module's memory without end.
//
// The limits are far above what a package server sends (a status line is some 20 bytes, a
// header line rarely above 1 KiB, a chunk-size line some 10) and far below what hurts the
// library. The head ends at the first empty line ("\r\n", or "\n"); after an interim "1xx" head
// a status line comes again. A body that is not chunked is not looked at.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bg95::http {

// The longest status line, header line and chunk-size line taken, each with its line end.
inline constexpr std::size_t kMaxStatusLine = 1024;
inline constexpr std::size_t kMaxHeaderLine = 8192;
inline constexpr std::size_t kMaxChunkLine = 1024;

class ResponseGuard {
 public:
  // Takes the next bytes the parser is about to get. False once a line is too long or a chunk
  // size cannot be read, and for ever after.
  bool take(std::string_view bytes);

  // True while the bytes must still pass take(): the head, and a chunked body to its end.
  bool watching() const { return state_ != State::Unwatched && state_ != State::Refused; }
  bool refused() const { return state_ == State::Refused; }
  // The refusal came after the head: in the chunked body's framing.
  bool refused_in_body() const { return refused() && in_body_; }
  // Why it refused, for the download's detail; empty otherwise.
  const std::string& why() const { return why_; }

 private:
  enum class State {
    StatusLine,
    HeaderLine,
    ChunkSizeLine,
    ChunkData,     // `chunk_left_` bytes of data, then the line that ends the chunk
    ChunkDataEnd,  // the (empty) line after a chunk's data
    LastLine,      // the (empty) line after the last chunk; cpp-httplib takes no trailers
    Unwatched,     // a body that is not chunked, or the end of a chunked one
    Refused
  };
  void take_char(char c);
  void end_line();
  void end_head_line();
  void end_chunk_size_line();
  std::size_t limit() const;
  void refuse(std::string why);

  State state_ = State::StatusLine;
  std::string line_;  // the first bytes of the current line (enough to read what it says)
  std::size_t line_length_ = 0;
  bool interim_ = false;  // the status line read was 1xx: another head follows
  bool chunked_ = false;  // the head's first Transfer-Encoding header says chunked
  bool te_seen_ = false;  // the head had a Transfer-Encoding header
  bool in_body_ = false;
  std::uint64_t chunk_left_ = 0;
  std::string why_;
};

}  // namespace bg95::http
