#pragma once
// The HTTP/1.x request head and the Range header, parsed strictly: the package server answers
// what it cannot use with an error status instead of guessing (RFC 9110/9112).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bg95::pkgserver {

struct HttpRequest {
  std::string method;                                        // "GET", "HEAD", ...
  std::string target;                                        // as sent
  int minor_version = 1;                                     // HTTP/1.<minor>
  std::vector<std::string> segments;                         // the path's segments, percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  const std::string* header(std::string_view lower_case_name) const;
  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive() const;
};

struct HeadParse {
  std::optional<HttpRequest> request;  // set when the head is usable
  int status = 0;                      // else the answer: 400, 405, 505
  std::string why;
};

// `head` is everything before the empty line that ends the head. GET and HEAD are served;
// other methods get 405. A request with a body (Content-Length other than 0, or
// Transfer-Encoding) gets 400: nothing here takes one.
HeadParse parse_request_head(std::string_view head);

struct RangeAnswer {
  enum class Kind { Whole, Part, Unsatisfiable };
  Kind kind = Kind::Whole;
  std::uint64_t first = 0;  // Part: first and last byte, inclusive
  std::uint64_t last = 0;
};

// One "bytes=a-b", "bytes=a-" or "bytes=-n" range of a file of `size` bytes. No header, another
// unit, a malformed value or several ranges: the whole file (RFC 9110 14.2 lets a server ignore
// Range). A range that starts at or beyond the end: Unsatisfiable (416).
RangeAnswer parse_range(const std::string* header, std::uint64_t size);

// "Not Found" for 404, ...; "Unknown" for codes without a phrase here.
std::string_view reason_phrase(int status);

}  // namespace bg95::pkgserver
