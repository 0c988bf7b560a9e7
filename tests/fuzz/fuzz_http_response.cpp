// A server's response as the module's HTTP(S) application reads it for AT+QHTTPGET/POST
// (sim/http_app/response_parser.*): the status line and fields, interim 1xx heads, then a body
// by Content-Length, chunked coding or the end of the connection. The first input byte
// chooses the largest body the module holds (0-8160 octets), the second how the rest arrives:
// in reads of 1-256 bytes. The server then closes the connection.
// Properties: the outcome does not depend on how the bytes were cut into reads (the same as
// one read of everything): done or failed and the failure, and for a response that is done its
// status, length, head and body; a body never exceeds the limit, a head never exceeds
// kMaxHead; a response that is done has a final status (200 and up) and its head ends with the
// empty line.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/http_app/response_parser.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using bg95::http_app::ResponseParser;

void check_limits(const ResponseParser& p, std::uint64_t max_body) {
  BG95_FUZZ_CHECK(p.body().size() <= max_body);
  BG95_FUZZ_CHECK(p.head().size() <= ResponseParser::kMaxHead);
  BG95_FUZZ_CHECK(!(p.done() && p.failed()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint64_t max_body = static_cast<std::uint64_t>(data[0]) * 32;
  const std::size_t read_size = static_cast<std::size_t>(data[1]) + 1;
  const std::string_view response(reinterpret_cast<const char*>(data + 2), size - 2);

  ResponseParser whole(max_body);
  whole.feed(response);
  check_limits(whole, max_body);
  whole.end_of_stream();
  check_limits(whole, max_body);

  ResponseParser pieces(max_body);
  for (std::size_t at = 0; at < response.size(); at += read_size) {
    pieces.feed(response.substr(at, read_size));
    check_limits(pieces, max_body);
  }
  pieces.end_of_stream();
  check_limits(pieces, max_body);

  BG95_FUZZ_CHECK(whole.done() || whole.failed());
  BG95_FUZZ_CHECK(pieces.done() == whole.done() && pieces.failed() == whole.failed());
  BG95_FUZZ_CHECK(pieces.failure() == whole.failure());
  // What a failed exchange held is dropped (HttpExchange::conclude gives the host the error
  // alone), so only a response that is done must match field for field.
  if (whole.done()) {
    BG95_FUZZ_CHECK(pieces.status() == whole.status());
    BG95_FUZZ_CHECK(pieces.content_length() == whole.content_length());
    BG95_FUZZ_CHECK(pieces.head() == whole.head() && pieces.body() == whole.body());
    BG95_FUZZ_CHECK(whole.status() >= 200 && whole.status() <= 999);
    BG95_FUZZ_CHECK(whole.head().ends_with("\r\n\r\n"));
  }
  return 0;
}
