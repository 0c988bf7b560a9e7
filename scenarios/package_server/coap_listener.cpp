#include "scenarios/package_server/coap_listener.hpp"

// libcoap inside the caller's event loop through CoapContext (protocol/coap/coap_context.*).
// libcoap's callbacks (the GET handler, events, the TLS set-up hook) run inside its I/O step;
// events for the owner are posted (ServerState::emit), never delivered there.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <coap3/coap.h>
#include <openssl/ssl.h>

#include "protocol/coap/coap_context.hpp"
#include "scenarios/package_server/content_store.hpp"
#include "scenarios/package_server/openssl_handles.hpp"

namespace bg95::pkgserver {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kContentFormatOctetStream = 42;
constexpr unsigned kMaxSzx = 6;  // 1024 bytes; 7 is BERT, for CoAP over TCP only

std::string address_text(const coap_address_t* address) {
  std::array<unsigned char, 64> text{};
  const std::size_t n = coap_print_addr(address, text.data(), text.size());
  return std::string(reinterpret_cast<const char*>(text.data()), n);
}

std::optional<std::uint32_t> uint_option(const coap_pdu_t* pdu, coap_option_num_t number) {
  coap_opt_iterator_t it;
  const coap_opt_t* option = coap_check_option(pdu, number, &it);
  if (option == nullptr) return std::nullopt;
  return coap_decode_var_bytes(coap_opt_value(option), coap_opt_length(option));
}

std::vector<std::string> uri_path(const coap_pdu_t* request) {
  std::vector<std::string> segments;
  coap_opt_filter_t filter;
  coap_option_filter_clear(&filter);
  coap_option_filter_set(&filter, COAP_OPTION_URI_PATH);
  coap_opt_iterator_t it;
  coap_option_iterator_init(request, &it, &filter);
  while (const coap_opt_t* option = coap_option_next(&it)) {
    segments.emplace_back(reinterpret_cast<const char*>(coap_opt_value(option)),
                          coap_opt_length(option));
  }
  return segments;
}

void add_uint_option(coap_pdu_t* pdu, coap_option_num_t number, std::uint64_t value) {
  std::array<std::uint8_t, 8> buffer{};
  const unsigned length = coap_encode_var_safe8(buffer.data(), buffer.size(), value);
  coap_add_option(pdu, number, length, buffer.data());
}

}  // namespace

struct CoapListener::Engine : std::enable_shared_from_this<CoapListener::Engine> {
  explicit Engine(std::shared_ptr<ServerState> s) : state(std::move(s)), coap(state->executor) {}

  // One block-wise download: what the fault rules count, and where pacing and stalls stand.
  struct Transfer {
    TransferTicket ticket;
    std::optional<coap_mid_t> first_mid;  // of its block-0 request: retransmissions share it
    std::uint64_t datagrams = 0;          // request datagrams seen (for drop)
    Clock::time_point started = Clock::now();
    std::uint64_t paced_bytes = 0;  // payload answered so far (for rate_limit)
    std::optional<Clock::time_point> stall_started;
    std::optional<Effects> delayed;  // the effects of a request whose answer is delayed
  };
  struct Session {
    std::vector<std::string> faults;            // tls_wrong_ca
    bool connected = false;                     // DTLS handshake done
    bool reported = false;                      // a handshake failure was reported
    std::map<std::string, Transfer> transfers;  // by path
  };

  std::shared_ptr<ServerState> state;
  coap::CoapContext coap;
  bool stopped = false;
  std::uint16_t coap_port = 0;
  std::uint16_t coaps_port = 0;
  std::map<coap_session_t*, Session> sessions;

  // The wrong CA's identity (tls_wrong_ca), put on a handshake at its ClientHello.
  Cert wrong_cert;
  Key wrong_key;

  static Engine* of(const coap_session_t* session) {
    return coap::CoapContext::owner<Engine>(session);
  }

  // ---------------------------------------------------------------- set-up

  void start(const boost::asio::ip::address& address, const PackageServerConfig& config,
             const Pki* pki) {
    std::string error;
    if (!coap.open(shared_from_this(), error)) throw std::runtime_error("coap: " + error);
    coap_register_event_handler(coap.get(), &Engine::on_event);

    // Every path is the unknown resource's; other methods than GET get 4.05 (libcoap itself
    // would answer 4.04, and 2.02 to a DELETE).
    coap_resource_t* any = coap_resource_unknown_init(&Engine::on_other_method);
    coap_register_request_handler(any, COAP_REQUEST_GET, &Engine::on_get);
    for (const coap_request_t method : {COAP_REQUEST_POST, COAP_REQUEST_DELETE, COAP_REQUEST_FETCH,
                                        COAP_REQUEST_PATCH, COAP_REQUEST_IPATCH}) {
      coap_register_request_handler(any, method, &Engine::on_other_method);
    }
    coap_add_resource(coap.get(), any);

    if (config.coaps) set_up_dtls(config, *pki);
    if (config.coap) coap_port = open_endpoint(address, *config.coap, false, "coap");
    if (config.coaps) coaps_port = open_endpoint(address, *config.coaps, true, "coaps");
  }

  void set_up_dtls(const PackageServerConfig& config, const Pki& pki) {
    if (config.coaps_psk &&
        !coap.serve_psk({"bg95-pkgserver", config.coaps_psk->key, config.coaps_psk->identity})) {
      throw std::runtime_error("coaps: cannot set up DTLS with PSK");
    }
    wrong_cert = cert_from_pem(pki.other_ca_server.cert_pem);
    wrong_key = key_from_pem(pki.other_ca_server.key_pem);
    if (!wrong_cert || !wrong_key)
      throw std::runtime_error("coaps: cannot read the wrong CA's pair");
    if (!coap.serve_certificates({pki.ca.cert_file.string(), pki.server.cert_file.string(),
                                  pki.server.key_file.string(), config.coaps_client_cert,
                                  [this](void* tls, coap_session_t* session) {
                                    return on_client_hello(static_cast<SSL*>(tls), session);
                                  }})) {
      throw std::runtime_error("coaps: cannot set up DTLS with certificates");
    }
  }

  std::uint16_t open_endpoint(const boost::asio::ip::address& address, std::uint16_t port,
                              bool dtls, const char* name) {
    const auto bound = coap.listen(boost::asio::ip::udp::endpoint(address, port), dtls);
    if (!bound) {
      const std::string where =
          (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
          std::to_string(port);
      throw std::runtime_error("cannot listen on " + where + " for " + name +
                               " (libcoap could not bind the UDP port)");
    }
    return *bound;
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    coap.close();  // its session events find no owner
    sessions.clear();
  }

  // ---------------------------------------------------------------- libcoap's callbacks

  // tls_wrong_ca: the handshake that this ClientHello starts gets the wrong CA's certificate.
  bool on_client_hello(SSL* ssl, coap_session_t* session) {
    if (stopped) return true;
    const auto wrong = state->faults.wrong_ca_for_connection(Protocol::Coaps);
    if (!wrong) return true;
    sessions[session].faults.push_back(*wrong);
    return SSL_use_certificate(ssl, wrong_cert.get()) == 1 &&
           SSL_use_PrivateKey(ssl, wrong_key.get()) == 1;
  }

  static int on_event(coap_session_t* session, const coap_event_t event) {
    Engine* self = of(session);
    if (self == nullptr || self->stopped) return 0;
    switch (event) {
      case COAP_EVENT_DTLS_CONNECTED:
        self->sessions[session].connected = true;
        break;
      case COAP_EVENT_DTLS_ERROR:
      case COAP_EVENT_DTLS_CLOSED: {
        Session& s = self->sessions[session];
        if (s.connected || s.reported) break;
        s.reported = true;
        ServerEvent e;
        e.protocol = Protocol::Coaps;
        e.peer = address_text(coap_session_get_addr_remote(session));
        e.faults = s.faults;
        e.outcome = Outcome::HandshakeFailed;
        e.detail = event == COAP_EVENT_DTLS_ERROR ? "DTLS error" : "DTLS session closed";
        self->state->emit(std::move(e));
        break;
      }
      case COAP_EVENT_SERVER_SESSION_DEL:
        self->sessions.erase(session);
        break;
      default:
        break;
    }
    return 0;
  }

  static void on_get(coap_resource_t* /*resource*/, coap_session_t* session,
                     const coap_pdu_t* request, const coap_string_t* /*query*/,
                     coap_pdu_t* response) {
    Engine* self = of(session);
    if (self == nullptr || self->stopped) return;
    self->answer(session, request, response);
  }

  static void on_other_method(coap_resource_t* /*resource*/, coap_session_t* session,
                              const coap_pdu_t* request, const coap_string_t* /*query*/,
                              coap_pdu_t* response) {
    Engine* self = of(session);
    if (self == nullptr || self->stopped) return;
    ServerEvent event = self->base_event(session, request);
    static constexpr const char* kNames[] = {"?",      "GET",   "POST",  "PUT",
                                             "DELETE", "FETCH", "PATCH", "IPATCH"};
    const auto code = static_cast<unsigned>(coap_pdu_get_code(request));
    event.method = code < std::size(kNames) ? kNames[code] : std::to_string(code);
    self->reply_code(response, 405, event, "only GET is served");
  }

  ServerEvent base_event(coap_session_t* session, const coap_pdu_t* request) {
    ServerEvent event;
    event.protocol =
        coap_session_get_proto(session) == COAP_PROTO_DTLS ? Protocol::Coaps : Protocol::Coap;
    event.peer = address_text(coap_session_get_addr_remote(session));
    event.method = "GET";
    event.path = join_path(uri_path(request));
    event.faults = sessions[session].faults;
    return event;
  }

  // ---------------------------------------------------------------- answering

  // No answer at all: a NON-typed empty response is one libcoap drops (no ACK goes out).
  static void stay_silent(coap_pdu_t* response) {
    coap_pdu_set_type(response, COAP_MESSAGE_NON);
    coap_pdu_set_code(response, COAP_EMPTY_CODE);
  }

  void answer(coap_session_t* session, const coap_pdu_t* request, coap_pdu_t* response) {
    const std::vector<std::string> segments = uri_path(request);
    const std::string path = join_path(segments);
    const auto block2 = uint_option(request, COAP_OPTION_BLOCK2);
    const std::uint32_t asked = block2 ? *block2 >> 4 : 0;
    unsigned szx = block2 ? std::min(*block2 & 0x07u, kMaxSzx) : kMaxSzx;
    szx = std::min(szx, std::min(state->max_block_szx, kMaxSzx));
    const std::uint64_t block_size = std::uint64_t{1} << (szx + 4);

    Session& s = sessions[session];
    ServerEvent event = base_event(session, request);
    event.block = asked;
    event.block_size = static_cast<std::uint32_t>(block_size);

    // A delayed answer coming due (rate_limit): libcoap runs the request again.
    const bool releasing = coap_find_async(session, coap_pdu_get_token(request)) != nullptr;
    Transfer& t = transfer(s, path, asked, coap_pdu_get_mid(request), releasing);
    Effects effects;
    if (releasing && t.delayed) {
      effects = std::move(*t.delayed);
      t.delayed.reset();
    } else {
      effects = state->faults.select(event.protocol, path, t.ticket);
      ++t.datagrams;
    }
    event.faults.insert(event.faults.end(), effects.applied.begin(), effects.applied.end());

    if (!releasing && effects.drop && t.datagrams % *effects.drop == 0) {
      stay_silent(response);
      event.outcome = Outcome::Dropped;
      event.detail = "request datagram " + std::to_string(t.datagrams) + " of the transfer";
      state->emit(std::move(event));
      return;
    }
    if (effects.close_without_response) {
      stay_silent(response);
      coap_send_rst(session, request);
      event.outcome = Outcome::NoResponse;
      event.detail = "answered with a Reset";
      state->emit(std::move(event));
      return;
    }
    if (effects.status) {
      reply_code(response, *effects.status, event, "status fault");
      return;
    }
    const Lookup found = state->content.find(segments);
    if (found.status != Lookup::Status::Found) {
      reply_code(response, found.status == Lookup::Status::Forbidden ? 403 : 404, event,
                 found.detail);
      return;
    }

    const Bytes& bytes = *found.content.bytes;
    const std::uint64_t size = bytes.size();
    const std::uint64_t body_end =
        std::min<std::uint64_t>(size, effects.truncate_at.value_or(size));
    std::uint32_t num = asked;
    if (effects.out_of_order && asked == *effects.out_of_order) {
      const bool has_next = (std::uint64_t{asked} + 1) * block_size < body_end;
      num = has_next || asked == 0 ? asked + 1 : asked - 1;
      event.detail = "answered block " + std::to_string(num) + " instead";
    } else if (std::uint64_t{asked} * block_size >= body_end && asked != 0) {
      reply_code(response, 402, event, "block beyond the end of the body");
      return;
    }
    const std::uint64_t offset = std::min(std::uint64_t{num} * block_size, body_end);
    const std::uint64_t end = std::min(offset + block_size, body_end);
    const bool more = end < body_end;

    if (!releasing && effects.stall_after && end > *effects.stall_after) {
      const auto now = Clock::now();
      if (!t.stall_started) t.stall_started = now;
      if (!effects.stall_for || now - *t.stall_started < *effects.stall_for) {
        stay_silent(response);
        event.outcome = Outcome::Stalled;
        event.detail =
            "no answer to a block ending beyond byte " + std::to_string(*effects.stall_after);
        state->emit(std::move(event));
        return;
      }
    }
    if (!releasing && effects.rate_limit) {
      const auto due =
          t.started +
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
              static_cast<double>(t.paced_bytes) / static_cast<double>(*effects.rate_limit)));
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now());
      if (wait.count() > 0 &&
          coap_register_async(session, request, static_cast<coap_tick_t>(wait.count())) !=
              nullptr) {
        t.delayed = std::move(effects);
        return;  // an empty ACK now, the answer when it is due
      }
    }
    t.paced_bytes += end - offset;

    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(205)));
    std::uint64_t tag = found.content.tag;
    if (effects.etag_change_after && num > *effects.etag_change_after) tag = ~tag;
    std::array<std::uint8_t, 8> etag{};
    for (std::size_t i = 0; i < etag.size(); ++i) {
      etag[i] = static_cast<std::uint8_t>(tag >> (56 - 8 * i));
    }
    coap_add_option(response, COAP_OPTION_ETAG, etag.size(), etag.data());
    add_uint_option(response, COAP_OPTION_CONTENT_FORMAT, kContentFormatOctetStream);
    add_uint_option(response, COAP_OPTION_BLOCK2,
                    (std::uint64_t{num} << 4) | (more ? 0x08u : 0u) | szx);
    add_uint_option(response, COAP_OPTION_SIZE2, effects.content_length.value_or(size));
    std::vector<std::uint8_t> payload(bytes.begin() + static_cast<std::ptrdiff_t>(offset),
                                      bytes.begin() + static_cast<std::ptrdiff_t>(end));
    effects.corrupt_chunk(offset, payload.data(), payload.size());
    if (!payload.empty()) coap_add_data(response, payload.size(), payload.data());

    event.status = 205;
    event.bytes_sent = payload.size();
    event.outcome = !more && body_end < size ? Outcome::Truncated : Outcome::Complete;
    state->emit(std::move(event));
  }

  // The transfer a request belongs to: a request for block 0 (other than a retransmission of
  // the one before) starts a new one, and so does any request of a path not seen before.
  Transfer& transfer(Session& s, const std::string& path, std::uint32_t block, coap_mid_t mid,
                     bool releasing) {
    auto it = s.transfers.find(path);
    const bool fresh =
        it == s.transfers.end() || (!releasing && block == 0 && it->second.first_mid != mid);
    if (fresh) {
      Transfer& t = s.transfers[path];
      t = Transfer{};
      if (block == 0) t.first_mid = mid;
      return t;
    }
    return it->second;
  }

  void reply_code(coap_pdu_t* response, int code, ServerEvent& event, std::string detail) {
    coap_pdu_set_code(response, static_cast<coap_pdu_code_t>(COAP_RESPONSE_CODE(code)));
    event.status = code;
    event.detail = std::move(detail);
    state->emit(std::move(event));
  }
};

CoapListener::CoapListener(std::shared_ptr<ServerState> state)
    : engine_(std::make_shared<Engine>(std::move(state))) {}

CoapListener::~CoapListener() {
  stop();
}

void CoapListener::start(const boost::asio::ip::address& address, const PackageServerConfig& config,
                         const Pki* pki) {
  engine_->start(address, config, pki);
}

void CoapListener::stop() {
  engine_->stop();
}

std::uint16_t CoapListener::port(Protocol protocol) const {
  if (protocol == Protocol::Coap) return engine_->coap_port;
  if (protocol == Protocol::Coaps) return engine_->coaps_port;
  return 0;
}

}  // namespace bg95::pkgserver
