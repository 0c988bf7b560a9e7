#pragma once
// One report per request the package server handled, for transcripts and logs; also one per
// connection that ended without a request (refused, TLS handshake failed, closed unused). An
// HTTP request reports when its response is over (a stall for good: when the stall begins); a
// CoAP block request when it was answered (or not: dropped, stalled). Requests the server
// refuses (400, 404, 431, ...) are Complete: their answer went out whole.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenarios/package_server/protocol.hpp"

namespace bg95::pkgserver {

enum class Outcome {
  Complete,         // the whole response went out
  Truncated,        // truncate_at: closed (HTTP) / ended (CoAP) before the end of the body
  Stalled,          // stall_after: the server stopped sending (the connection stays open)
  Closed,           // the peer closed (or the server stopped) before the response was out
  NoResponse,       // close_without_response: closed (HTTP) / Reset (CoAP) without answer
  Dropped,          // drop: the CoAP request got no answer
  Refused,          // the connection was refused: too many, or a malformed or too long request
  HandshakeFailed,  // the TLS/DTLS handshake failed
};

std::string_view to_string(Outcome outcome);

struct ServerEvent {
  Protocol protocol = Protocol::Http;
  std::string peer;    // "127.0.0.1:40312"
  std::string method;  // "GET", "HEAD"; empty when no request was read
  std::string path;    // the decoded URL path, "/update.bin"
  // HTTP: the Range asked for, first and last byte (inclusive) as served.
  std::optional<std::uint64_t> range_first;
  std::optional<std::uint64_t> range_last;
  // CoAP: the block asked for (Block2 number) and its size in bytes.
  std::optional<std::uint32_t> block;
  std::uint32_t block_size = 0;
  // HTTP status, or CoAP code as class * 100 + detail (205 = 2.05); 0 when none was sent.
  int status = 0;
  std::uint64_t bytes_sent = 0;     // body bytes (HTTP) / payload bytes (CoAP)
  std::vector<std::string> faults;  // the effects in force ("truncate_at=300000", ...)
  Outcome outcome = Outcome::Complete;
  std::string detail;  // why, for logs (an OpenSSL error, "range not satisfiable", ...)
};

// One line: "https 127.0.0.1:40312 GET /update.bin range=0-99 -> 206 100 bytes complete
// [truncate_at=300000]".
std::string to_string(const ServerEvent& event);

}  // namespace bg95::pkgserver
