#include "sim/http_app/http_app.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>

#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"

namespace bg95::http_app {

std::string_view content_type_name(int content_type) {
  static constexpr std::string_view kNames[] = {"application/x-www-form-urlencoded", "text/plain",
                                                "application/octet-stream", "multipart/form-data"};
  const bool known = content_type >= 0 && content_type < 4;
  return kNames[known ? static_cast<std::size_t>(content_type) : 0];
}

std::string build_request(std::string_view method, const net::Url& url,
                          std::optional<std::string_view> body, int content_type) {
  std::string out = fmt::format(
      "{} {} HTTP/1.1\r\nHost: {}\r\nAccept: */*\r\nUser-Agent: QUECTEL_MODULE\r\n"
      "Connection: Keep-Alive\r\n",
      method, url.target(), url.authority());
  if (body)
    out += fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n",
                       content_type_name(content_type), body->size());
  out += "\r\n";
  if (body) out.append(*body);
  return out;
}

HttpApp::HttpApp(Module& module) : m_(module), fs_(module.config().state_dir / "fs") {
  m_.add_observer(this);
}

HttpError HttpApp::can_start() const {
  if (busy()) return HttpError::Busy;
  if (url_.empty()) return HttpError::EmptyUrl;
  const net::Url url = net::parse_url(url_);
  if (!url.ok() || !net::is_http(url.scheme)) return HttpError::UrlError;
  if (!m_.packet_data().active(config_.context_id)) return HttpError::NetworkDeactivated;
  return HttpError::Ok;
}

void HttpApp::start(std::string urc, std::string_view method, std::optional<std::string> body,
                    bool raw, std::chrono::seconds response_time) {
  ExchangeRequest request;
  request.url = net::parse_url(url_);
  request.bytes = raw ? body.value_or(std::string{})
                      : build_request(method, request.url, body, config_.content_type);
  request.response_time = response_time;
  request.max_body = kMaxResponseBody;
  response_.reset();
  if (net::is_secure(request.url.scheme)) {
    const net::SslContextConfig& ssl = m_.ssl_contexts().at(config_.ssl_context_id);
    auto built = net::make_client_context(ssl, fs_, m_.rtc_now());
    if (!built.ctx) {
      m_.log_event("HTTP(S) application: SSL context " + std::to_string(config_.ssl_context_id) +
                   ": " + built.error);
      // Reported like a failed handshake, once the command's OK is out.
      boost::asio::post(m_.executor(), [this, urc = std::move(urc), g = generation_] {
        if (g != generation_) return;
        ExchangeResult r;
        r.err = HttpError::SocketConnectError;
        finish(urc, std::move(r));
      });
      return;
    }
    request.tls = std::move(built.ctx);
    request.ssl = ssl;
  }
  exchange_cid_ = config_.context_id;
  exchange_urc_ = urc;
  exchange_ = start_exchange(m_.executor(), m_.link(), std::move(request),
                             [this, urc = std::move(urc)](ExchangeResult r) {
                               exchange_.reset();
                               finish(urc, std::move(r));
                             });
}

void HttpApp::finish(const std::string& urc, ExchangeResult r) {
  if (r.err != HttpError::Ok) {
    if (!r.detail.empty()) m_.log_event("HTTP(S) application: " + r.detail);
    m_.emit_urc(fmt::format("{} {}", urc, code(r.err)));
    return;
  }
  // <content_length> only when the server sent one (a chunked body has none).
  std::string text = fmt::format("{} 0,{}", urc, r.status);
  if (r.content_length) text += fmt::format(",{}", *r.content_length);
  response_ = Response{std::move(r.head), std::move(r.body)};
  m_.emit_urc(text);
}

void HttpApp::stop() {
  if (exchange_) exchange_->cancel();
  exchange_.reset();
}

void HttpApp::on_power(PowerEvent) {
  ++generation_;
  stop();
  config_ = {};
  url_.clear();
  response_.reset();
}

// The network took the context the request runs on away: it fails as the note's "network
// deactivated".
void HttpApp::on_urc(std::string_view text) {
  if (!exchange_) return;
  if (text != fmt::format("+QIURC: \"pdpdeact\",{}", exchange_cid_)) return;
  stop();
  ExchangeResult r;
  r.err = HttpError::NetworkDeactivated;
  r.detail = "the network deactivated the context";
  // Not from inside the URC's own emission.
  boost::asio::post(m_.executor(),
                    [this, urc = exchange_urc_, r = std::move(r), g = generation_]() mutable {
                      if (g == generation_) finish(urc, std::move(r));
                    });
}

}  // namespace bg95::http_app
