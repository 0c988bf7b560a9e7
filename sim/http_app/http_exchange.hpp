#pragma once
// One HTTP(S) request and its response over the module's network, on the event loop: Asio TCP
// and, for https, Asio's OpenSSL stream with the SSL_CTX of the SSL context the host named.
// No worker thread: unlike the DFOTA downloader (protocol/http/, cpp-httplib), the HTTP(S)
// application sends requests the host wrote byte for byte (AT+QHTTPCFG="requestheader",1) and
// gives the host the response head as the server sent it ("responseheader",1), which a client
// library that builds and parses its own messages cannot do; and every byte must cross the
// module's radio link (net::Link::carry) in step with the socket.
//
// What can go wrong and the HTTP(S) note's code it ends with (docs/http-app.md):
//   the host name unknown to the local resolver, or a DNS fault of the link   714 DNS error
//   an address literal that is not one                                         713
//   connection refused or reset (also the link's connect faults), TLS
//   handshake or verification failed                                          716 socket connect
//   the request could not be written                                           718 socket write
//   a read error                                                               717 socket read
//   the server closed before the response ended                               719 socket closed
//   a malformed response (status line, fields, chunks, a head over 16 KiB)    723 response failed
//   a body larger than the module holds                                        729 memory
//   no complete response within the response time (a stalled server, the
//   link's connect timeout)                                                   702 timeout

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "protocol/net/url.hpp"
#include "sim/http_app/http_error.hpp"
#include "sim/net/ssl_context.hpp"

namespace bg95::net {
class Link;
}

namespace bg95::http_app {

struct ExchangeRequest {
  net::Url url;
  std::string bytes;          // the whole request as it goes on the wire
  net::SslCtxPtr tls;         // set for https: the client context of the SSL context named
  net::SslContextConfig ssl;  // that SSL context: SNI and the host name check per connection
  std::chrono::milliseconds response_time{std::chrono::seconds(60)};
  std::uint64_t max_body = 0;
};

struct ExchangeResult {
  HttpError err = HttpError::Unknown;
  int status = 0;
  std::optional<std::uint64_t> content_length;  // as the server sent it
  std::string head;                             // status line and fields, as sent
  std::string body;                             // decoded
  std::string detail;                           // why it failed, for the log
};

class HttpExchange {
 public:
  using Done = std::function<void(ExchangeResult)>;
  virtual ~HttpExchange() = default;
  // Stops it: the connection is closed and `done` never runs.
  virtual void cancel() = 0;
};

// Starts an exchange; `done` runs once on `executor`, never inside this call, unless cancel()
// comes first. The exchange keeps itself alive while it runs.
std::shared_ptr<HttpExchange> start_exchange(boost::asio::any_io_executor executor, net::Link& link,
                                             ExchangeRequest request, HttpExchange::Done done);

}  // namespace bg95::http_app
