#pragma once
// Watches the head of an HTTP response as the downloader hands it, byte by byte, to
// cpp-httplib, and stops it at a line the library must not see. cpp-httplib 0.11.4 matches the
// status line with std::regex, which recurses a few frames per character: a status line of
// some 30 KB overflowed the worker thread's stack and ended the whole process (issue 18). Its
// header lines are stored without a limit on their length until the line ends.
//
// The limits are far above what a package server sends (a status line is some 20 bytes, a
// header line rarely above 1 KiB) and far below what hurts the library. The head ends at the
// first empty line ("\r\n", or "\n"); after an interim "1xx" head a status line comes again.

#include <cstddef>
#include <string>
#include <string_view>

namespace bg95::http {

// The longest status line and header line taken, each with its line end.
inline constexpr std::size_t kMaxStatusLine = 1024;
inline constexpr std::size_t kMaxHeaderLine = 8192;

class ResponseHeadGuard {
 public:
  // Takes the next bytes the parser is about to get (bytes after the head are ignored).
  // False once a line is too long, and for ever after.
  bool take(std::string_view bytes);

  bool head_done() const { return state_ == State::Body; }
  bool refused() const { return state_ == State::Refused; }
  // Why it refused, for the download's detail; empty otherwise.
  const std::string& why() const { return why_; }

 private:
  enum class State { StatusLine, HeaderLine, Body, Refused };
  bool end_line();

  State state_ = State::StatusLine;
  std::string line_start_;  // the first bytes of the current line (enough to see "HTTP/1.1 1")
  std::size_t line_length_ = 0;
  bool interim_ = false;  // the status line read was 1xx: another head follows
  std::string why_;
};

}  // namespace bg95::http
