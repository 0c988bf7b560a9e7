#include "protocol/coap/coap_download.hpp"

// libcoap runs on the event loop through CoapContext (coap_context.*: the epoll descriptor, the
// I/O step, DTLS set-up). libcoap's callbacks (response, NACK, event) run inside its I/O step;
// they only note what happened. The owner's handlers run in after_io(), after the step has
// returned, so a handler may cancel the download (which frees the libcoap context) or destroy
// the object safely.
//
// Block-wise transfer is done here, not by libcoap's block layer: COAP_BLOCK_USE_LIBCOAP with
// COAP_BLOCK_SINGLE_BODY would buffer the whole body, and without SINGLE_BODY it still runs
// ahead of the consumer. Asking for each block ourselves keeps one request in flight, delivers
// each block as it arrives, lets the consumer refuse a block before the next is requested, and
// puts the ETag/Size2/offset checks in one place.
//
// Everything of a transfer belongs to one Transfer: its libcoap context and session, its timers,
// freed when it ends.

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <coap3/coap.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/coap/block2_receiver.hpp"
#include "protocol/coap/coap_context.hpp"
#include "protocol/net/url.hpp"

namespace bg95::coap {
namespace {

using Clock = std::chrono::steady_clock;

std::string millis(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

// Percent-decodes one URI component (parse_url() checked the escapes are well formed).
std::string percent_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

struct Option {
  std::uint16_t number;
  std::string value;
};

// RFC 7252 6.4: the request options that name the resource. Uri-Host only for a host name (an
// address literal is the destination already); Uri-Port never (the destination port is the
// URL's); Uri-Path per segment after dot-segment removal, none for "/"; Uri-Query per "&" term.
// Returns false (with `error`) when a component does not fit an option (255 bytes).
bool resource_options(const net::Url& url, std::vector<Option>& out, std::string& error) {
  if (url.host_kind == net::HostKind::Name) {
    if (url.host.size() > 255) {
      error = "host name longer than 255 bytes";
      return false;
    }
    out.push_back({COAP_OPTION_URI_HOST, url.host});
  }
  std::vector<std::string> segments;
  std::string_view path = url.path;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty()) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t slash = path.find('/', start);
      const std::string segment = percent_decode(path.substr(start, slash - start));
      if (segment == "..") {
        if (!segments.empty()) segments.pop_back();
      } else if (segment != ".") {
        segments.push_back(segment);
      }
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }
  for (auto& segment : segments) {
    if (segment.size() > 255) {
      error = "path segment longer than 255 bytes";
      return false;
    }
    out.push_back({COAP_OPTION_URI_PATH, std::move(segment)});
  }
  std::string_view query = url.query;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string term = percent_decode(query.substr(0, amp));
    if (term.size() > 255) {
      error = "query term longer than 255 bytes";
      return false;
    }
    if (!term.empty()) out.push_back({COAP_OPTION_URI_QUERY, term});
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return true;
}

std::string nack_text(coap_nack_reason_t reason) {
  switch (reason) {
    case COAP_NACK_TOO_MANY_RETRIES:
      return "no acknowledgement after all retransmissions";
    case COAP_NACK_NOT_DELIVERABLE:
      return "not deliverable (ICMP unreachable?)";
    case COAP_NACK_RST:
      return "the server answered with a Reset";
    case COAP_NACK_TLS_FAILED:
      return "the DTLS session failed";
    case COAP_NACK_ICMP_ISSUE:
      return "ICMP unreachable";
  }
  return "unknown NACK reason " + std::to_string(static_cast<int>(reason));
}

}  // namespace

struct CoapDownload::Transfer : std::enable_shared_from_this<CoapDownload::Transfer> {
  Transfer(boost::asio::any_io_executor ex, net::Url u, CoapDownloadOptions o,
           CoapDownloadHandlers h)
      : executor(std::move(ex)),
        url(std::move(u)),
        options(std::move(o)),
        handlers(std::move(h)),
        resolver(executor),
        coap(executor),
        idle_timer(executor),
        handshake_timer(executor),
        pace_timer(executor),
        receiver(options.block_szx, options.max_size) {}
  ~Transfer() { teardown(); }
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;

  // --- What libcoap's callbacks note, for after_io() to act on.
  using Response = Block2Response;
  struct Failure {
    int err;
    std::string detail;
  };
  struct Pending {
    std::optional<Response> response;
    std::optional<Failure> failure;
    bool connected = false;  // COAP_EVENT_DTLS_CONNECTED
  };

  boost::asio::any_io_executor executor;
  const net::Url url;
  const CoapDownloadOptions options;
  CoapDownloadHandlers handlers;
  bool closed = false;     // no handler runs any more; libcoap is (being) torn down
  bool torn_down = false;  // teardown() ran
  int depth = 0;           // handlers running right now (one may cancel from inside)

  boost::asio::ip::udp::resolver resolver;
  CoapContext coap;  // libcoap's context and the one session to the server
  boost::asio::steady_timer idle_timer;
  boost::asio::steady_timer handshake_timer;
  boost::asio::steady_timer pace_timer;
  Clock::time_point started = Clock::now();
  bool secure = false;
  bool handshake_done = false;
  Pending pending;

  // --- Transfer state.
  std::vector<Option> resource;     // Uri-Host/Path/Query options, every request
  std::vector<std::uint8_t> token;  // of the request in flight
  Block2Receiver receiver;          // which block to ask for, and the checks on each answer
  int last_code = 0;
  Clock::time_point last_activity = Clock::now();

  // ---------------------------------------------------------------- ending

  // Frees everything libcoap and asio hold for this transfer.
  void teardown() {
    if (torn_down) return;
    torn_down = true;
    resolver.cancel();
    idle_timer.cancel();
    handshake_timer.cancel();
    pace_timer.cancel();
    coap.close();
  }

  void close() {
    closed = true;
    if (depth == 0) handlers = CoapDownloadHandlers{};  // else when the running one returns
    teardown();
  }

  // Runs one of the owner's handlers; false when the transfer was closed meanwhile.
  template <typename Call>
  bool call_handler(Call&& call) {
    ++depth;
    std::forward<Call>(call)();
    --depth;
    if (!closed) return true;
    if (depth == 0) handlers = CoapDownloadHandlers{};
    return false;
  }

  void finish(int err, std::string detail) {
    if (closed) return;
    CoapDownloadResult result;
    result.coap_err = err;
    result.response_code = last_code;
    result.received = receiver.taken();
    result.detail = std::move(detail);
    auto on_done = std::move(handlers.on_done);
    close();
    if (on_done) on_done(result);
  }

  // 702 before any block arrived, 704 after: "no answer" versus "timeout mid-transfer".
  int silence_error() const {
    return receiver.first_response() ? coap_err::kConnectFailed : coap_err::kTimeout;
  }

  // ---------------------------------------------------------------- setting up

  void begin() {
    if (closed) return;
    std::string error;
    if (!resource_options(url, resource, error)) {
      finish(coap_err::kUrlError, "bad URL for CoAP: " + error);
      return;
    }
    last_activity = Clock::now();
    arm_idle_timer();
    if (url.host_kind != net::HostKind::Name) {
      boost::system::error_code ec;
      const auto address = boost::asio::ip::make_address(url.host, ec);
      if (ec) {
        finish(coap_err::kUrlError, "bad address \"" + url.host + "\"");
        return;
      }
      connect(boost::asio::ip::udp::endpoint(address, url.port));
      return;
    }
    // Name resolution: asio runs getaddrinfo on its own internal thread and completes here.
    resolver.async_resolve(
        url.host, std::to_string(url.port),
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    const boost::asio::ip::udp::resolver::results_type& found) {
          if (self->closed || ec == boost::asio::error::operation_aborted) return;
          if (ec || found.empty()) {
            self->finish(coap_err::kConnectFailed,
                         "cannot resolve host name \"" + self->url.host + "\": " + ec.message());
            return;
          }
          // The first IPv4 address if there is one (LTE-M networks are mostly IPv4), else the
          // first address.
          auto chosen = found.begin()->endpoint();
          for (const auto& entry : found) {
            if (entry.endpoint().address().is_v4()) {
              chosen = entry.endpoint();
              break;
            }
          }
          self->connect(chosen);
        });
  }

  void connect(const boost::asio::ip::udp::endpoint& endpoint) {
    std::string error;
    if (!coap.open(shared_from_this(), error, [this] { after_io(); })) {
      finish(coap_err::kUnknown, error);
      return;
    }
    coap_register_response_handler(coap.get(), &Transfer::on_response);
    coap_register_nack_handler(coap.get(), &Transfer::on_nack);
    coap_register_event_handler(coap.get(), &Transfer::on_event);

    secure = url.scheme == net::Scheme::Coaps;
    ClientDtls dtls;
    std::string why = "cannot create the UDP session";
    if (secure && !dtls_setup(dtls, why)) return;
    if (coap.connect(endpoint, secure ? &dtls : nullptr,
                     Transmission{options.ack_timeout, options.max_retransmit}) == nullptr) {
      finish(coap_err::kConnectFailed, why);
      return;
    }
    if (secure) {
      // The request below waits in libcoap until the handshake is over.
      handshake_timer.expires_after(options.handshake_timeout);
      handshake_timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (e || self->closed || self->handshake_done) return;
        self->finish(coap_err::kConnectFailed, "DTLS handshake did not finish within " +
                                                   millis(self->options.handshake_timeout) +
                                                   " (wrong PSK, or no DTLS server there?)");
      });
    }
    if (!send_request()) return;
    coap.process();
  }

  // CoAPS: PSK when an identity or a key is set (they win over certificates), else certificates.
  // False when the transfer was finished; `why` is what to say if libcoap refuses the session.
  bool dtls_setup(ClientDtls& dtls, std::string& why) {
    const bool named = url.host_kind == net::HostKind::Name;
    dtls.sni = named ? url.host : std::string();
    dtls.host = url.host;
    dtls.host_is_name = named;
    if (options.psk_identity || options.psk_key) {
      if (!options.psk_identity || !options.psk_key || options.psk_key->empty()) {
        finish(coap_err::kConnectFailed, "CoAPS with PSK needs both an identity and a key");
        return false;
      }
      dtls.credentials = Psk{*options.psk_identity, *options.psk_key};
      why = "cannot set up the DTLS session with PSK";
      return true;
    }
    dtls.credentials =
        ClientCertificates{options.ca_file, options.client_cert_file, options.client_key_file};
    why = "cannot set up the DTLS session with certificates (CA \"" + options.ca_file.value_or("") +
          "\", certificate \"" + options.client_cert_file.value_or("") + "\", key \"" +
          options.client_key_file.value_or("") + "\")";
    return true;
  }

  // ---------------------------------------------------------------- requests

  // Sends the GET for block_num at szx. False when it failed (the transfer is then finished).
  bool send_request() {
    coap_session_t* s = coap.session();
    coap_pdu_t* pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET, coap_new_message_id(s),
                                    coap_session_max_pdu_size(s));
    if (pdu == nullptr) {
      finish(coap_err::kUnknown, "cannot make a CoAP request");
      return false;
    }
    std::array<std::uint8_t, 8> token_bytes{};
    std::size_t token_length = 0;
    coap_session_new_token(s, &token_length, token_bytes.data());
    token.assign(token_bytes.begin(),
                 token_bytes.begin() + static_cast<std::ptrdiff_t>(token_length));
    coap_add_token(pdu, token_length, token_bytes.data());

    coap_optlist_t* list = nullptr;
    auto add = [&list](std::uint16_t number, std::size_t length, const std::uint8_t* value) {
      coap_insert_optlist(&list, coap_new_optlist(number, length, value));
    };
    for (const auto& option : resource) {
      add(option.number, option.value.size(),
          reinterpret_cast<const std::uint8_t*>(option.value.data()));
    }
    std::array<std::uint8_t, 4> buf{};
    const unsigned block = (receiver.block_num() << 4) | receiver.szx();  // M = 0 in a request
    add(COAP_OPTION_BLOCK2, coap_encode_var_safe(buf.data(), buf.size(), block), buf.data());
    if (receiver.first_response()) {
      // Size2 = 0 asks the server for the size of the whole representation (RFC 7959 4).
      add(COAP_OPTION_SIZE2, 0, buf.data());
    }
    const int added = coap_add_optlist_pdu(pdu, &list);  // sorts the list: free it after
    coap_delete_optlist(list);
    if (added != 1) {
      coap_delete_pdu(pdu);
      finish(coap_err::kUnknown, "cannot add the request options");
      return false;
    }
    if (coap_send(s, pdu) == COAP_INVALID_MID) {  // coap_send owns the PDU either way
      finish(silence_error(),
             "cannot send the request for block " + std::to_string(receiver.block_num()));
      return false;
    }
    return true;
  }

  // One timer for silence: before the first block (no answer: 702; name resolution included)
  // and between blocks (704). It does not run during a DTLS handshake, which has a limit of its
  // own; the silence is counted from the handshake's end.
  void arm_idle_timer() {
    idle_timer.expires_at(last_activity + options.idle_timeout);
    idle_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed) return;
      if (self->secure && self->coap.session() && !self->handshake_done) {
        self->last_activity = Clock::now();
      }
      if (Clock::now() < self->last_activity + self->options.idle_timeout) {
        self->arm_idle_timer();  // a block came meanwhile, or the handshake runs
        return;
      }
      const std::string limit = millis(self->options.idle_timeout);
      std::string detail;
      if (!self->coap.session()) {
        detail = "name resolution of \"" + self->url.host + "\" did not finish within " + limit;
      } else if (self->receiver.first_response()) {
        detail = "no answer from the server within " + limit;
      } else {
        detail =
            "no block for " + limit + " after " + std::to_string(self->receiver.taken()) + " bytes";
      }
      self->finish(self->silence_error(), detail);
    });
  }

  // Acts on what libcoap's callbacks noted during its I/O step.
  void after_io() {
    auto self = shared_from_this();  // a handler may drop the owner's reference
    if (pending.connected) {
      pending.connected = false;
      handshake_done = true;
      handshake_timer.cancel();
      last_activity = Clock::now();
    }
    if (pending.response) {
      Response response = std::move(*pending.response);
      pending.response.reset();
      handle_response(response);
      if (closed) return;
    }
    if (pending.failure) {
      Failure failure = std::move(*pending.failure);
      pending.failure.reset();
      finish(failure.err, std::move(failure.detail));
    }
  }

  void handle_response(const Response& r) {
    last_code = r.code;
    const Block2Receiver::Verdict verdict = receiver.check(r);
    if (verdict.failure) {
      finish(verdict.failure->coap_err, verdict.failure->detail);
      return;
    }
    if (verdict.first && handlers.on_progress && !call_handler([&] {
          handlers.on_progress(CoapProgress{receiver.total(), receiver.taken()});
        })) {
      return;
    }
    if (auto too_large = receiver.check_size(r.payload.size())) {
      finish(too_large->coap_err, too_large->detail);
      return;
    }
    last_activity = Clock::now();

    if (!r.payload.empty()) {
      bool ok = true;
      if (handlers.on_chunk &&
          !call_handler([&] { ok = handlers.on_chunk(std::span(r.payload)); })) {
        return;
      }
      if (!ok) {
        finish(coap_err::kWriteFailed,
               "the consumer refused a block (write to flash failed) after " +
                   std::to_string(receiver.taken()) + " bytes");
        return;
      }
      receiver.took(r.payload.size());
      if (handlers.on_progress && !call_handler([&] {
            handlers.on_progress(CoapProgress{receiver.total(), receiver.taken()});
          })) {
        return;
      }
    }

    if (!verdict.more) {
      finish(coap_err::kOk, "downloaded " + std::to_string(receiver.taken()) + " bytes");
      return;
    }
    receiver.next(verdict.szx);
    if (options.rate_limit_bytes_per_s == 0) {
      send_request();
      return;
    }
    // A rate cap (an LTE-M-like link): the next block is asked for when the bytes so far
    // would have taken that long to arrive. The idle timer counts from this moment on.
    const auto due =
        started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                      static_cast<double>(receiver.taken()) /
                      static_cast<double>(options.rate_limit_bytes_per_s)));
    pace_timer.expires_at(due);
    pace_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed) return;
      self->last_activity = Clock::now();
      self->send_request();
    });
  }

  // ---------------------------------------------------------------- libcoap's callbacks
  // These run inside libcoap's I/O step: they only take notes.

  static Transfer* owner(const coap_session_t* s) { return CoapContext::owner<Transfer>(s); }

  static coap_response_t on_response(coap_session_t* s, const coap_pdu_t* /*sent*/,
                                     const coap_pdu_t* received, const coap_mid_t /*mid*/) {
    Transfer* t = owner(s);
    if (t == nullptr || t->closed || t->pending.response) return COAP_RESPONSE_OK;
    const coap_bin_const_t tok = coap_pdu_get_token(received);
    if (tok.length != t->token.size() ||
        (tok.length != 0 && std::memcmp(tok.s, t->token.data(), tok.length) != 0)) {
      return COAP_RESPONSE_OK;  // a late duplicate of an earlier answer: ignore it
    }
    t->pending.response = read_block2_response(received);
    return COAP_RESPONSE_OK;
  }

  static void on_nack(coap_session_t* s, const coap_pdu_t* /*sent*/, coap_nack_reason_t reason,
                      const coap_mid_t /*mid*/) {
    Transfer* t = owner(s);
    if (t == nullptr || t->closed || t->pending.failure) return;
    int err = coap_err::kConnectFailed;
    if (reason == COAP_NACK_TOO_MANY_RETRIES) err = t->silence_error();
    std::string where = t->receiver.first_response()
                            ? "the first request"
                            : "block " + std::to_string(t->receiver.block_num());
    t->pending.failure = Failure{err, where + ": " + nack_text(reason)};
  }

  static int on_event(coap_session_t* s, const coap_event_t event) {
    Transfer* t = owner(s);
    if (t == nullptr || t->closed) return 0;
    switch (event) {
      case COAP_EVENT_DTLS_CONNECTED:
        t->pending.connected = true;
        break;
      case COAP_EVENT_DTLS_ERROR:
      case COAP_EVENT_DTLS_CLOSED:
        if (!t->pending.failure) {
          t->pending.failure =
              Failure{coap_err::kConnectFailed,
                      t->handshake_done || t->pending.connected
                          ? "the DTLS session was closed"
                          : "DTLS handshake failed (PSK or certificate refused, or no DTLS "
                            "server at that address)"};
        }
        break;
      default:
        break;
    }
    return 0;
  }
};

// ------------------------------------------------------------------ CoapDownload

CoapDownload::CoapDownload(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)) {}

CoapDownload::~CoapDownload() {
  cancel();
}

void CoapDownload::start(std::string_view url_text, CoapDownloadOptions options,
                         CoapDownloadHandlers handlers) {
  cancel();
  net::Url url = net::parse_url(url_text);
  const bool usable =
      url.ok() && (url.scheme == net::Scheme::Coap || url.scheme == net::Scheme::Coaps);
  auto transfer =
      std::make_shared<Transfer>(executor_, url, std::move(options), std::move(handlers));
  transfer_ = transfer;
  if (!usable) {
    std::string detail =
        url.ok() ? "not a CoAP(S) URL: " + std::string(url_text) : "bad URL: " + url.error;
    boost::asio::post(executor_, [transfer, detail = std::move(detail)]() mutable {
      transfer->finish(coap_err::kUrlError, std::move(detail));
    });
    return;
  }
  boost::asio::post(executor_, [transfer] { transfer->begin(); });
}

void CoapDownload::cancel() {
  if (!transfer_) return;
  transfer_->close();
  transfer_.reset();
}

bool CoapDownload::running() const {
  return transfer_ && !transfer_->closed;
}

}  // namespace bg95::coap
