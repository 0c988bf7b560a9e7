#pragma once
// The module's HTTP(S) application (Quectel BG95&BG77 HTTP(S) Application Note V1.0; BG96
// HTTP(S) AT Commands Manual V1.0 where the BG95 note is silent; docs/http-app.md): its
// configuration (AT+QHTTPCFG), the URL (AT+QHTTPURL), one request at a time (AT+QHTTPGET,
// AT+QHTTPPOST, AT+QHTTPPOSTFILE) and the response the module holds until the host reads it
// (AT+QHTTPREAD, AT+QHTTPREADFILE). The AT side is sim/services/http_commands.cpp.
//
// Nothing of it is kept across a power cycle or a reset: it watches the module's power
// events and starts over. A request in flight is failed with 709 when the network deactivates
// the context it uses (+QIURC: "pdpdeact",<cid>).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sim/fs/module_fs.hpp"
#include "sim/http_app/http_error.hpp"
#include "sim/http_app/http_exchange.hpp"
#include "sim/module_observer.hpp"

namespace bg95 {
class Module;
}

namespace bg95::http_app {

// AT+QHTTPCFG, with the note's defaults.
struct HttpConfig {
  int context_id = 1;            // "contextid": 1-16
  bool request_header = false;   // "requestheader": the host writes the whole request
  bool response_header = false;  // "responseheader": AT+QHTTPREAD gives the head too
  int ssl_context_id = 1;        // "sslctxid": 0-5
  int content_type = 0;          // "contenttype": 0-3, see content_type_name()
};

// The Content-Type of a POST body for "contenttype" 0-3 (the note's list).
std::string_view content_type_name(int content_type);

// The largest response body the module holds for AT+QHTTPREAD (no figure in the note; see
// docs/http-app.md).
inline constexpr std::uint64_t kMaxResponseBody = 1024 * 1024;

// What the host's request looks like on the wire when the module writes the head itself
// (requestheader 0): the note's example head, with Content-Type and Content-Length for a body.
std::string build_request(std::string_view method, const net::Url& url,
                          std::optional<std::string_view> body, int content_type);

class HttpApp : public ModuleObserver {
 public:
  explicit HttpApp(Module& module);
  HttpApp(const HttpApp&) = delete;
  HttpApp& operator=(const HttpApp&) = delete;

  HttpConfig& config() { return config_; }
  const std::string& url() const { return url_; }
  void set_url(std::string url) { url_ = std::move(url); }
  const fs::ModuleFs& fs() const { return fs_; }

  bool busy() const { return exchange_ != nullptr; }
  // Why a request cannot start now (Ok when it can): busy, no URL, a URL that is no http(s)
  // URL, the context not active.
  HttpError can_start() const;
  // Sends `body` (requestheader 0: with the module's head; `raw`: the host's whole request)
  // and reports "<urc> <err>[,<httprspcode>[,<content_length>]]" when it ends.
  void start(std::string urc, std::string_view method, std::optional<std::string> body, bool raw,
             std::chrono::seconds response_time);
  // AT+QHTTPSTOP: the request in flight stops, no URC.
  void stop();

  // The response of the last request, until read.
  struct Response {
    std::string head;
    std::string body;
  };
  std::optional<Response>& response() { return response_; }

  void on_power(PowerEvent event) override;
  void on_urc(std::string_view text) override;

 private:
  void finish(const std::string& urc, ExchangeResult result);

  Module& m_;
  fs::ModuleFs fs_;
  HttpConfig config_;
  std::string url_;
  std::shared_ptr<HttpExchange> exchange_;
  int exchange_cid_ = 0;
  std::string exchange_urc_;
  std::optional<Response> response_;
  // Counts power events: a step posted before one does nothing after it.
  std::uint64_t generation_ = 0;
};

}  // namespace bg95::http_app
