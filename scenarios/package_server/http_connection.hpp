#pragma once
// One HTTP/1.1 connection of the package server, plain or TLS: reads request heads (bounded,
// with a deadline), answers GET and HEAD from the content store with Range support, and puts
// the faults in force on the wire byte by byte: status, truncation, stalls, rate, a wrong
// Content-Length, corrupted bytes, no response at all. Written by hand on Asio rather than with
// an HTTP library because those faults need control of every byte that goes out.
//
// Keep-alive: requests follow each other on a connection (pipelined ones too) unless the client
// asked to close, the answer was an error of the request itself (400, 405, 431, 505), or a
// fault broke the framing (truncate_at, content_length); then the server closes after the
// response.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "scenarios/package_server/protocol.hpp"
#include "scenarios/package_server/server_state.hpp"

namespace bg95::pkgserver {

class HttpConnectionBase {
 public:
  virtual ~HttpConnectionBase() = default;
  virtual void start() = 0;
  // Closes at once (the server stops); no event, no on_finished.
  virtual void abort() = 0;
};

struct ConnectionSetup {
  std::shared_ptr<ServerState> state;
  Protocol protocol = Protocol::Http;
  std::string peer;
  std::vector<std::string> connection_faults;  // tls_wrong_ca, reported with every request
  std::function<void()> on_finished;           // the connection has closed
};

// `tls` null: plain HTTP; else the context the TLS handshake uses.
std::shared_ptr<HttpConnectionBase> make_http_connection(boost::asio::ip::tcp::socket socket,
                                                         boost::asio::ssl::context* tls,
                                                         ConnectionSetup setup);

}  // namespace bg95::pkgserver
