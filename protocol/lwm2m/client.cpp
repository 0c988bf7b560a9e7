#include "protocol/lwm2m/client.hpp"

// libcoap inside the event loop through CoapContext (protocol/coap/coap_context.*). One libcoap
// context per started client (over UDP, one shared by the process's clients) holds the session
// to the LwM2M server and a coap_resource_t per object, instance and resource path of the model.
// Responses to our own requests (Register, Update, De-register) are only noted by libcoap's
// callbacks and acted on after its I/O step returns (after_io); requests from the server are
// answered inside the resource handlers.
//
// Notifications over UDP and DTLS are the client's own (see "notifications" below): libcoap's
// observe machinery retransmits the PDU it stored, so a notification of State 1 went out again
// after the State had become 2 (issue 18), where RFC 7641 4.5.2 wants the current state.

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <vector>

#include <coap3/coap.h>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/coap/coap_context.hpp"
#include "protocol/net/url.hpp"

namespace bg95::lwm2m {
namespace {

using Clock = std::chrono::steady_clock;

int code_of(coap_pdu_code_t c) {
  const auto v = static_cast<unsigned>(c);
  return static_cast<int>((v >> 5) * 100 + (v & 0x1fu));
}

// Why a Register failed, in words a user can act on (issue 19: "registration failed (405)"
// said nothing). `code` as code_of() makes it; 0 is no answer at all. The codes are CoAP's
// (RFC 7252 12.1.2); what they mean for a Register is LwM2M 1.0's (OMA-TS-LightweightM2M-V1_0
// 8.2.3: 4.00 Bad Request, 4.03 Forbidden, 4.12 Precondition Failed).
std::string registration_problem(int code, const std::string& server) {
  const std::string coap =
      std::to_string(code / 100) + "." + (code % 100 < 10 ? "0" : "") + std::to_string(code % 100);
  switch (code) {
    case 0:
      return "no answer from " + server +
             " (is an LwM2M server running there? for coaps, do the PSK identity and key match?)";
    case 400:
      return "the server refused the request (4.00 Bad Request: a parameter it does not take)";
    case 403:
      return "the server does not accept this endpoint or its credentials (4.03 Forbidden)";
    case 404:
    case 405:
      return server + " takes no registration (" + coap +
             "): is it an LwM2M server? (a plain CoAP server, such as bg95-pkgserver, answers "
             "so)";
    case 412:
      return "the server wants another LwM2M version or binding (4.12 Precondition Failed)";
    default:
      return "the server answered " + coap;
  }
}

coap_pdu_code_t pdu_code(int code) {
  return static_cast<coap_pdu_code_t>(((code / 100) << 5) | (code % 100));
}

void add_uint_option(coap_pdu_t* pdu, std::uint16_t number, std::uint32_t value) {
  std::array<std::uint8_t, 4> buf{};
  coap_add_option(pdu, number, coap_encode_var_safe(buf.data(), buf.size(), value), buf.data());
}

// The datagram of a PDU built here (RFC 7252 3). libcoap 4.3.1 writes a PDU's header only as it
// sends it, and the client sends its notifications itself.
Bytes datagram_of(const coap_pdu_t* pdu) {
  const coap_bin_const_t token = coap_pdu_get_token(pdu);
  const auto mid = static_cast<std::uint16_t>(coap_pdu_get_mid(pdu));
  const auto type = static_cast<unsigned>(coap_pdu_get_type(pdu));
  Bytes out{static_cast<std::uint8_t>(0x40u | (type << 4) | token.length),
            static_cast<std::uint8_t>(coap_pdu_get_code(pdu)), static_cast<std::uint8_t>(mid >> 8),
            static_cast<std::uint8_t>(mid & 0xFF)};
  out.insert(out.end(), token.s, token.s + token.length);
  coap_opt_iterator_t it;
  coap_option_iterator_init(pdu, &it, COAP_OPT_ALL);
  std::uint16_t last = 0;
  while (coap_opt_t* o = coap_option_next(&it)) {
    const std::size_t at = out.size();
    out.resize(at + 5 + coap_opt_length(o));  // head, extended delta and length, value
    out.resize(at + coap_opt_encode(out.data() + at, out.size() - at,
                                    static_cast<std::uint16_t>(it.number - last), coap_opt_value(o),
                                    coap_opt_length(o)));
    last = it.number;
  }
  std::size_t length = 0;
  const std::uint8_t* data = nullptr;
  if (coap_get_data(pdu, &length, &data) && length > 0) {
    out.push_back(0xFF);
    out.insert(out.end(), data, data + length);
  }
  return out;
}

std::optional<std::uint32_t> uint_option(const coap_pdu_t* pdu, std::uint16_t number) {
  coap_opt_iterator_t it;
  const coap_opt_t* o = coap_check_option(pdu, number, &it);
  if (o == nullptr) return std::nullopt;
  return coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
}

// Attributes of Write-Attributes that we honour.
struct Attributes {
  std::optional<std::uint32_t> pmin;
  std::optional<std::uint32_t> pmax;
};

}  // namespace

const char* client_state_name(ClientState s) {
  switch (s) {
    case ClientState::Stopped:
      return "stopped";
    case ClientState::Registering:
      return "registering";
    case ClientState::Registered:
      return "registered";
    case ClientState::Deregistering:
      return "deregistering";
  }
  return "stopped";
}

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(boost::asio::any_io_executor ex, ObjectModel& m, ClientConfig c, ClientEvents e)
      : executor(std::move(ex)),
        model(m),
        config(std::move(c)),
        events(std::move(e)),
        resolver(executor),
        coap(executor),
        lifetime_timer(executor),
        retry_timer(executor),
        retransmit_timer(executor) {}
  ~Impl() { teardown(); }

  enum class Kind { Register, Update, Deregister };
  struct Outgoing {
    Kind kind;
    std::vector<std::uint8_t> token;
  };
  struct Answer {
    Kind kind;
    int code = 0;  // 0: no answer (NACK)
    std::vector<std::string> location;
  };
  struct Observation {
    explicit Observation(const boost::asio::any_io_executor& ex) : pmin_timer(ex), pmax_timer(ex) {}
    Clock::time_point last = Clock::now();
    bool pending = false;
    boost::asio::steady_timer pmin_timer;
    boost::asio::steady_timer pmax_timer;
    // Of the server's GET with Observe 0: what its notifications answer to.
    Bytes token;
    std::optional<std::uint16_t> accept;
  };
  // The confirmable notification in flight (own notifications only; one at a time, NSTART 1).
  struct InFlight {
    std::string path;
    Bytes datagram;                   // as last sent
    std::vector<std::uint16_t> mids;  // every Message ID it went under, the current one last
    unsigned retransmits = 0;
    std::chrono::milliseconds timeout{};
    bool stale = false;   // the value changed since it was built
    bool last = false;    // an error code: the observation ends with it
    unsigned serial = 0;  // of its last transmission, for the retransmission timer
  };
  struct Stream {  // a Block1 write in progress
    std::string path;
    std::uint64_t next = 0;
    int last_code = 0;
    std::uint32_t last_block = 0;
    StreamFraming framing;  // from the first block's Content-Format and bytes
  };

  boost::asio::any_io_executor executor;
  ObjectModel& model;
  ClientConfig config;
  ClientEvents events;
  boost::asio::ip::udp::resolver resolver;
  coap::CoapContext coap;
  coap_session_t* session = nullptr;  // coap's
  bool closed = false;
  boost::asio::steady_timer lifetime_timer;
  boost::asio::steady_timer retry_timer;
  ClientState state = ClientState::Stopped;
  std::vector<std::string> location;
  std::vector<Outgoing> outgoing;
  std::vector<Answer> answers;
  std::function<void()> deregistered;
  std::map<std::string, coap_resource_t*> resources;
  std::map<std::string, std::unique_ptr<Observation>> observations;
  std::map<std::string, Attributes> attributes;
  Stream stream;
  // Notifications sent by the client itself, not by libcoap's observe machinery (which does only
  // when the session's socket was not found).
  bool own_notifications = false;
  std::optional<InFlight> in_flight;
  std::deque<std::string> waiting;  // observations with a notification due after in_flight
  boost::asio::steady_timer retransmit_timer;
  std::uint32_t observe_number = 0;  // of the last Observe option sent, any observation
  unsigned transmissions = 0;        // of notifications, for InFlight::serial
  std::minstd_rand random{std::random_device{}()};

  void log(const std::string& text) {
    if (events.on_log) events.on_log(text);
  }
  void set_state(ClientState s) {
    if (state == s) return;
    state = s;
    if (events.on_state && !closed) events.on_state(s);
  }

  // ------------------------------------------------------------ life

  void teardown() {
    resolver.cancel();
    retry_timer.cancel();
    drop_session();
  }

  // From inside libcoap's I/O step too (a model handler stopping the client): CoapContext
  // frees libcoap's objects when the step returns.
  void close() {
    closed = true;
    events = {};
    deregistered = nullptr;
    teardown();
  }

  void begin() {
    const net::Url url = net::parse_url(config.server_uri);
    if (!url.ok() || (url.scheme != net::Scheme::Coap && url.scheme != net::Scheme::Coaps)) {
      log("bad LwM2M server URI \"" + config.server_uri + "\"");
      set_state(ClientState::Stopped);
      return;
    }
    set_state(ClientState::Registering);
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [self = shared_from_this(), secure = url.scheme == net::Scheme::Coaps](
                               const boost::system::error_code& ec,
                               const boost::asio::ip::udp::resolver::results_type& found) {
                             if (self->closed || ec == boost::asio::error::operation_aborted)
                               return;
                             if (ec || found.empty()) {
                               self->log("cannot resolve the LwM2M server: " + ec.message());
                               self->retry_later();
                               return;
                             }
                             auto chosen = found.begin()->endpoint();
                             for (const auto& e : found)
                               if (e.endpoint().address().is_v4()) {
                                 chosen = e.endpoint();
                                 break;
                               }
                             self->connect(chosen, secure);
                           });
  }

  void retry_later() {
    if (closed) return;
    set_state(ClientState::Registering);
    retry_timer.expires_after(config.retry_delay);
    retry_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed) return;
      self->drop_session();
      self->begin();
    });
  }

  // Frees libcoap (observations die with the session) but keeps the object alive.
  void drop_session() {
    for (auto& [p, o] : observations) {
      o->pmin_timer.cancel();
      o->pmax_timer.cancel();
    }
    observations.clear();
    in_flight.reset();
    waiting.clear();
    retransmit_timer.cancel();
    own_notifications = false;
    lifetime_timer.cancel();
    resources.clear();
    session = nullptr;
    coap.close();
    outgoing.clear();
    location.clear();
  }

  void connect(const boost::asio::ip::udp::endpoint& endpoint, bool secure) {
    std::string error;
    if (!coap.open(
            shared_from_this(), error, [this] { after_io(); },
            secure ? nullptr : config.shared_context))
      return fail_hard(error);
    coap_register_response_handler(coap.get(), &Impl::on_response);
    coap_register_nack_handler(coap.get(), &Impl::on_nack);

    coap::ClientDtls dtls;  // PSK, without SNI
    if (secure) {
      if (!config.psk_identity || !config.psk_key || config.psk_key->empty())
        return fail_hard("coaps:// needs a PSK identity and key");
      dtls.credentials = coap::Psk{*config.psk_identity, *config.psk_key};
    }
    session = coap.connect(endpoint, secure ? &dtls : nullptr,
                           coap::Transmission{config.ack_timeout, config.max_retransmit});
    if (session == nullptr) return fail_hard("cannot create the CoAP session");
    own_notifications = coap.has_datagram_socket();
    make_resources();
    send_register();
    coap.process();
  }

  void fail_hard(const std::string& why) {
    log(why);
    drop_session();
    set_state(ClientState::Stopped);
  }

  // ------------------------------------------------------------ registration

  coap_pdu_t* new_request(coap_pdu_code_t method, Kind kind) {
    coap_pdu_t* pdu = coap_pdu_init(COAP_MESSAGE_CON, method, coap_new_message_id(session),
                                    coap_session_max_pdu_size(session));
    if (pdu == nullptr) return nullptr;
    std::array<std::uint8_t, 8> tok{};
    std::size_t len = 0;
    coap_session_new_token(session, &len, tok.data());
    coap_add_token(pdu, len, tok.data());
    outgoing.push_back(
        {kind, std::vector<std::uint8_t>(tok.begin(), tok.begin() + static_cast<long>(len))});
    return pdu;
  }

  void send(coap_pdu_t* pdu, coap_optlist_t* list, const std::string& payload) {
    coap_add_optlist_pdu(pdu, &list);
    coap_delete_optlist(list);
    if (!payload.empty())
      coap_add_data(pdu, payload.size(), reinterpret_cast<const std::uint8_t*>(payload.data()));
    coap_send(session, pdu);
    coap.process_soon();
  }

  static void add_opt(coap_optlist_t** list, std::uint16_t number, const std::string& value) {
    coap_insert_optlist(list,
                        coap_new_optlist(number, value.size(),
                                         reinterpret_cast<const std::uint8_t*>(value.data())));
  }
  static void add_uint_opt(coap_optlist_t** list, std::uint16_t number, std::uint32_t value) {
    std::array<std::uint8_t, 4> buf{};
    coap_insert_optlist(
        list,
        coap_new_optlist(number, coap_encode_var_safe(buf.data(), buf.size(), value), buf.data()));
  }

  void send_register() {
    set_state(ClientState::Registering);
    coap_pdu_t* pdu = new_request(COAP_REQUEST_CODE_POST, Kind::Register);
    if (pdu == nullptr) return retry_later();
    coap_optlist_t* list = nullptr;
    add_opt(&list, COAP_OPTION_URI_PATH, "rd");
    add_uint_opt(&list, COAP_OPTION_CONTENT_FORMAT, format::kLink);
    add_opt(&list, COAP_OPTION_URI_QUERY, "ep=" + config.endpoint);
    add_opt(&list, COAP_OPTION_URI_QUERY, "lt=" + std::to_string(config.lifetime));
    add_opt(&list, COAP_OPTION_URI_QUERY, "lwm2m=" + config.version);
    add_opt(&list, COAP_OPTION_URI_QUERY, "b=" + config.binding);
    const auto links = model.register_links();
    log("register as \"" + config.endpoint + "\" at " + config.server_uri);
    send(pdu, list, format_links(links));
  }

  void send_update() {
    if (state != ClientState::Registered || session == nullptr) return;
    coap_pdu_t* pdu = new_request(COAP_REQUEST_CODE_POST, Kind::Update);
    if (pdu == nullptr) return;
    coap_optlist_t* list = nullptr;
    for (const auto& seg : location)
      add_opt(&list, COAP_OPTION_URI_PATH, seg);
    send(pdu, list, {});
  }

  void send_deregister() {
    coap_pdu_t* pdu = new_request(COAP_REQUEST_CODE_DELETE, Kind::Deregister);
    if (pdu == nullptr) return finish_deregister();
    set_state(ClientState::Deregistering);
    coap_optlist_t* list = nullptr;
    for (const auto& seg : location)
      add_opt(&list, COAP_OPTION_URI_PATH, seg);
    send(pdu, list, {});
  }

  void finish_deregister() {
    auto done = std::move(deregistered);
    deregistered = nullptr;
    drop_session();
    set_state(ClientState::Stopped);
    if (done) done();
  }

  void schedule_update() {
    const auto seconds = std::max<std::uint32_t>(1, config.lifetime * 3 / 4);
    lifetime_timer.expires_after(std::chrono::seconds(seconds));
    lifetime_timer.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (ec || !self || self->closed) return;
      self->send_update();
    });
  }

  void after_io() {
    auto list = std::move(answers);
    answers.clear();
    for (auto& a : list) {
      if (closed) return;
      switch (a.kind) {
        case Kind::Register:
          if (a.code == 201) {
            location = std::move(a.location);
            std::string where;
            for (const auto& s : location)
              where += "/" + s;
            log("registered at " + where);
            set_state(ClientState::Registered);
            schedule_update();
          } else {
            log("registration failed: " + registration_problem(a.code, config.server_uri));
            retry_later();
          }
          break;
        case Kind::Update:
          if (a.code == 204) {
            schedule_update();
          } else if (a.code == 0) {
            log("registration update got no answer: registering again");
            retry_later();
          } else {
            log("registration update refused (" + std::to_string(a.code) + "): registering again");
            location.clear();
            send_register();
          }
          break;
        case Kind::Deregister:
          log("de-registered (" + std::to_string(a.code) + ")");
          finish_deregister();
          break;
      }
    }
    if (!closed) send_waiting();
  }

  std::optional<Kind> take_outgoing(const coap_bin_const_t& tok) {
    for (auto it = outgoing.begin(); it != outgoing.end(); ++it) {
      if (it->token.size() == tok.length &&
          (tok.length == 0 || std::memcmp(it->token.data(), tok.s, tok.length) == 0)) {
        const Kind k = it->kind;
        outgoing.erase(it);
        return k;
      }
    }
    return std::nullopt;
  }

  static Impl* owner(const coap_session_t* s) { return coap::CoapContext::owner<Impl>(s); }

  static coap_response_t on_response(coap_session_t* s, const coap_pdu_t*,
                                     const coap_pdu_t* received, const coap_mid_t) {
    Impl* self = owner(s);
    if (self == nullptr || self->closed) return COAP_RESPONSE_OK;
    const auto kind = self->take_outgoing(coap_pdu_get_token(received));
    if (!kind) return COAP_RESPONSE_OK;
    Answer a{*kind, code_of(coap_pdu_get_code(received)), {}};
    coap_opt_iterator_t it;
    coap_option_iterator_init(received, &it, COAP_OPT_ALL);
    while (coap_opt_t* o = coap_option_next(&it)) {
      if (it.number == COAP_OPTION_LOCATION_PATH)
        a.location.emplace_back(reinterpret_cast<const char*>(coap_opt_value(o)),
                                coap_opt_length(o));
    }
    self->answers.push_back(std::move(a));
    return COAP_RESPONSE_OK;
  }

  static void on_nack(coap_session_t* s, const coap_pdu_t* sent, coap_nack_reason_t,
                      const coap_mid_t) {
    Impl* self = owner(s);
    if (self == nullptr || self->closed || sent == nullptr) return;
    const auto kind = self->take_outgoing(coap_pdu_get_token(sent));
    if (kind) self->answers.push_back({*kind, 0, {}});
  }

  // ------------------------------------------------------------ resources

  void make_resources() {
    std::vector<std::string> paths;
    for (const auto& [oid, o] : model.objects()) {
      paths.push_back(std::to_string(oid));
      for (const auto& [iid, inst] : o.instances) {
        paths.push_back(std::to_string(oid) + "/" + std::to_string(iid));
        for (const auto& [rid, r] : inst.resources)
          paths.push_back(std::to_string(oid) + "/" + std::to_string(iid) + "/" +
                          std::to_string(rid));
      }
    }
    for (const auto& p : paths) {
      // A context shared with other clients has the resources of the paths they have already
      // (their handlers find the client by the session).
      if (coap_resource_t* r =
              coap_get_resource_from_uri_path(coap.get(), coap_make_str_const(p.c_str()))) {
        resources["/" + p] = r;
        continue;
      }
      coap_str_const_t* uri =
          coap_new_str_const(reinterpret_cast<const std::uint8_t*>(p.data()), p.size());
      coap_resource_t* r =
          coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI | COAP_RESOURCE_FLAGS_NOTIFY_CON);
      coap_register_request_handler(r, COAP_REQUEST_GET, &Impl::on_request);
      coap_register_request_handler(r, COAP_REQUEST_PUT, &Impl::on_request);
      coap_register_request_handler(r, COAP_REQUEST_POST, &Impl::on_request);
      coap_register_request_handler(r, COAP_REQUEST_DELETE, &Impl::on_request);
      // With own notifications libcoap keeps no observers: handle() adds the Observe option.
      coap_resource_set_get_observable(r, own_notifications ? 0 : 1);
      coap_add_resource(coap.get(), r);
      resources["/" + p] = r;
    }
  }

  static std::string path_of(coap_resource_t* r) {
    const coap_str_const_t* uri = coap_resource_get_uri_path(r);
    return "/" + std::string(reinterpret_cast<const char*>(uri->s), uri->length);
  }

  // `block2`: the request's Block2 option, if any.
  static void set_payload(coap_pdu_t* response, std::optional<std::uint32_t> block2, int code,
                          std::uint16_t content_format, const Bytes& payload) {
    coap_pdu_set_code(response, pdu_code(code));
    if (code / 100 != 2) return;
    add_uint_option(response, COAP_OPTION_CONTENT_FORMAT, content_format);
    unsigned szx = 6;
    std::uint32_t num = 0;
    if (auto b2 = block2) {
      szx = std::min(*b2 & 0x07u, 6u);
      num = *b2 >> 4;
    }
    const std::size_t block = std::size_t{1} << (szx + 4);
    if (payload.size() <= block && num == 0) {
      if (!payload.empty()) coap_add_data(response, payload.size(), payload.data());
      return;
    }
    const std::size_t offset = static_cast<std::size_t>(num) * block;
    if (offset >= payload.size() && !(offset == 0 && payload.empty())) {
      coap_pdu_set_code(response, pdu_code(402));  // Bad Option: no such block
      return;
    }
    const std::size_t n = std::min(block, payload.size() - offset);
    const bool more = offset + n < payload.size();
    add_uint_option(response, COAP_OPTION_BLOCK2, (num << 4) | (more ? 0x08u : 0u) | szx);
    if (num == 0)
      add_uint_option(response, COAP_OPTION_SIZE2, static_cast<std::uint32_t>(payload.size()));
    coap_add_data(response, n, payload.data() + offset);
  }

  static void on_request(coap_resource_t* resource, coap_session_t* s, const coap_pdu_t* request,
                         const coap_string_t* query, coap_pdu_t* response) {
    Impl* self = owner(s);
    if (self == nullptr || self->closed) {
      coap_pdu_set_code(response, pdu_code(code::kUnavailable));
      return;
    }
    self->handle(path_of(resource), request, query, response);
  }

  Attributes attributes_for(const std::string& path) const {
    Attributes out{config.default_pmin ? std::optional(config.default_pmin) : std::nullopt,
                   config.default_pmax ? std::optional(config.default_pmax) : std::nullopt};
    // The most specific level that sets an attribute wins (/O, then /O/I, then /O/I/R).
    std::string p;
    const auto ids = parse_path(path).value_or(std::vector<std::uint16_t>{});
    for (const auto id : ids) {
      p += "/" + std::to_string(id);
      const auto a = attributes.find(p);
      if (a == attributes.end()) continue;
      if (a->second.pmin) out.pmin = a->second.pmin;
      if (a->second.pmax) out.pmax = a->second.pmax;
    }
    return out;
  }

  // SenML JSON (110) is a content format of LwM2M 1.1 only.
  bool senml() const { return config.version == "1.1"; }

  void handle(const std::string& path, const coap_pdu_t* request, const coap_string_t* query,
              coap_pdu_t* response) {
    const auto ids = parse_path(path).value_or(std::vector<std::uint16_t>{});
    const auto method = coap_pdu_get_code(request);
    std::size_t length = 0;
    const std::uint8_t* data = nullptr;
    coap_get_data(request, &length, &data);
    const std::span<const std::uint8_t> payload(data, data == nullptr ? 0 : length);
    const auto content_format = uint_option(request, COAP_OPTION_CONTENT_FORMAT);
    const auto accept = uint_option(request, COAP_OPTION_ACCEPT);

    if (method == COAP_REQUEST_CODE_GET) {
      if (accept && *accept == format::kLink) {
        const auto c = model.discover(ids, [this](const std::string& p) {
          std::vector<std::pair<std::string, std::string>> out;
          const auto a = attributes.find(p);
          if (a == attributes.end()) return out;
          if (a->second.pmin) out.emplace_back("pmin", std::to_string(*a->second.pmin));
          if (a->second.pmax) out.emplace_back("pmax", std::to_string(*a->second.pmax));
          return out;
        });
        return set_payload(response, uint_option(request, COAP_OPTION_BLOCK2), c.code, c.format,
                           c.payload);
      }
      const auto observe = uint_option(request, COAP_OPTION_OBSERVE);
      const auto c = model.read(ids, accept, senml());
      if (observe && c.code == code::kContent) {
        if (*observe == 0) {
          start_observation(path, request, accept);
          if (own_notifications) add_uint_option(response, COAP_OPTION_OBSERVE, next_observe());
        } else if (*observe == 1) {
          end_observation(path, "cancelled by the server");
        }
      }
      return set_payload(response, uint_option(request, COAP_OPTION_BLOCK2), c.code, c.format,
                         c.payload);
    }
    if (method == COAP_REQUEST_CODE_PUT && payload.empty() && !content_format && query) {
      return coap_pdu_set_code(response, pdu_code(write_attributes(path, query)));
    }
    if (method == COAP_REQUEST_CODE_PUT || method == COAP_REQUEST_CODE_POST) {
      if (ids.size() == 1) return coap_pdu_set_code(response, pdu_code(code::kMethodNotAllowed));
      const Resource* r = model.find(ids);
      if (method == COAP_REQUEST_CODE_POST && r != nullptr && (r->ops & kExecute) != 0) {
        const std::string args(payload.begin(), payload.end());
        return coap_pdu_set_code(response, pdu_code(model.execute(ids, args)));
      }
      if (auto b1 = uint_option(request, COAP_OPTION_BLOCK1))
        return block_write(*b1, path, ids, r, content_format, payload, response);
      return coap_pdu_set_code(response,
                               pdu_code(model.write(ids, content_format, payload, senml())));
    }
    coap_pdu_set_code(response, pdu_code(code::kMethodNotAllowed));
  }

  int write_attributes(const std::string& path, const coap_string_t* query) {
    Attributes& a = attributes[path];
    std::string_view q(reinterpret_cast<const char*>(query->s), query->length);
    while (!q.empty()) {
      const std::size_t amp = q.find('&');
      const std::string_view term = q.substr(0, amp);
      const std::size_t eq = term.find('=');
      const std::string_view name = term.substr(0, eq);
      const std::string value =
          eq == std::string_view::npos ? "" : std::string(term.substr(eq + 1));
      auto number = [&]() -> std::optional<std::uint32_t> {
        if (value.empty()) return std::nullopt;
        auto v = from_text(value, Type::Integer);
        if (!v || v->integer < 0) return std::nullopt;
        return static_cast<std::uint32_t>(v->integer);
      };
      if (name == "pmin") {
        a.pmin = number();
        if (!value.empty() && !a.pmin) return code::kBadRequest;
      } else if (name == "pmax") {
        a.pmax = number();
        if (!value.empty() && !a.pmax) return code::kBadRequest;
      } else if (name != "gt" && name != "lt" && name != "st" && name != "epmin" &&
                 name != "epmax") {
        return code::kBadRequest;
      }
      if (amp == std::string_view::npos) break;
      q.remove_prefix(amp + 1);
    }
    // Running observations pick the new periods up at their next notification.
    if (auto o = observations.find(path); o != observations.end()) arm_pmax(path, *o->second);
    return code::kChanged;
  }

  void block_write(std::uint32_t b1, const std::string& path, const std::vector<std::uint16_t>& ids,
                   const Resource* r, std::optional<std::uint16_t> content_format,
                   std::span<const std::uint8_t> payload, coap_pdu_t* response) {
    const std::uint32_t num = b1 >> 4;
    const bool more = (b1 & 0x08u) != 0;
    const unsigned szx = std::min(b1 & 0x07u, 6u);
    const std::uint64_t offset = static_cast<std::uint64_t>(num) << (szx + 4);
    auto answer = [&](int code) {
      coap_pdu_set_code(response, pdu_code(code));
      if (code == code::kContinue || code == code::kChanged)
        add_uint_option(response, COAP_OPTION_BLOCK1, (num << 4) | (more ? 0x08u : 0u) | szx);
    };
    if (r == nullptr || !r->write_stream) {
      if (num == 0 && !more) return answer(model.write(ids, std::nullopt, payload));
      return answer(code::kTooLarge);
    }
    if ((r->ops & kWrite) == 0) return answer(code::kMethodNotAllowed);
    if (offset == 0 && !(stream.path == path && stream.next == payload.size() &&
                         num == stream.last_block && stream.last_code == code::kContinue)) {
      // A new write: its format (opaque, or one TLV) is known from its first block.
      const auto framing = stream_framing(*r, content_format, payload);
      if (const int* refused = std::get_if<int>(&framing)) {
        stream = Stream{};
        return answer(*refused);
      }
      stream = Stream{path, 0, 0, 0, std::get<StreamFraming>(framing)};
    }
    if (stream.path != path || offset != stream.next) {
      // A retransmission of the block just applied (our answer was lost): answer it again.
      if (stream.path == path && num == stream.last_block && stream.last_code != 0 &&
          offset + payload.size() == stream.next)
        return answer(stream.last_code);
      return answer(code::kIncomplete);
    }
    if (more && payload.size() != (std::size_t{1} << (szx + 4))) return answer(code::kBadRequest);
    int rc = write_framed(*r, stream.framing, offset, payload, !more);
    if (more && rc == code::kChanged) rc = code::kContinue;
    stream.next = offset + payload.size();
    stream.last_block = num;
    stream.last_code = rc;
    if (rc != code::kContinue && rc != code::kChanged) stream = Stream{};
    answer(rc);
  }

  // ------------------------------------------------------------ observations

  // A GET with Observe 0 on `path`; again: the server renews it, and its answer carries the
  // current value, so what was due for the path is not sent.
  void start_observation(const std::string& path, const coap_pdu_t* request,
                         std::optional<std::uint16_t> accept) {
    auto& o = observations[path];
    if (!o) o = std::make_unique<Observation>(executor);
    const coap_bin_const_t token = coap_pdu_get_token(request);
    o->token.assign(token.s, token.s + token.length);
    o->accept = accept;
    o->last = Clock::now();
    o->pending = false;
    o->pmin_timer.cancel();
    forget_notification(path);
    arm_pmax(path, *o);
  }

  void end_observation(const std::string& path, const std::string& why) {
    if (observations.erase(path) == 0) return;
    log("observation of " + path + " ended: " + why);
    forget_notification(path);
  }

  void arm_pmax(const std::string& path, Observation& o) {
    o.pmax_timer.cancel();
    const auto a = attributes_for(path);
    if (!a.pmax || *a.pmax == 0) return;
    o.pmax_timer.expires_at(o.last + std::chrono::seconds(*a.pmax));
    o.pmax_timer.async_wait([w = weak_from_this(), path](const boost::system::error_code& ec) {
      auto self = w.lock();
      if (ec || !self || self->closed) return;
      self->notify_now(path);
    });
  }

  void changed(const std::string& path) {
    if (closed) return;
    std::vector<std::string> hit;
    for (const auto& [p, o] : observations) {
      // Observers of the path itself, of its instance and of its object.
      if (path == p || (path.starts_with(p) && path.size() > p.size() && path[p.size()] == '/'))
        hit.push_back(p);
    }
    for (const auto& p : hit) {
      auto& o = *observations.at(p);
      const auto a = attributes_for(p);
      const auto earliest = o.last + std::chrono::seconds(a.pmin.value_or(0));
      if (Clock::now() >= earliest) {
        notify_now(p);
      } else if (!o.pending) {
        o.pending = true;
        o.pmin_timer.expires_at(earliest);
        o.pmin_timer.async_wait([w = weak_from_this(), p](const boost::system::error_code& ec) {
          auto self = w.lock();
          if (ec || !self || self->closed) return;
          self->notify_now(p);
        });
      }
    }
  }

  void notify_now(const std::string& path) {
    const auto o = observations.find(path);
    if (o == observations.end()) return;
    o->second->last = Clock::now();
    o->second->pending = false;
    arm_pmax(path, *o->second);
    if (own_notifications) return queue_notification(path);
    const auto r = resources.find(path);
    if (r == resources.end()) return;
    coap_resource_notify_observers(r->second, nullptr);
    coap.process_soon();  // libcoap sends notifications in its I/O step
  }

  // ------------------------------------------------------------ notifications
  //
  // The client sends its confirmable notifications itself (CoapContext::send_datagram: a datagram,
  // or over DTLS a record of the session's own OpenSSL object, coap_security.hpp)
  // and retransmits them on its own timer, as RFC 7252 4.2 says: after ack_timeout times 1 to
  // 1.5, then doubling, at most max_retransmit times. One is in flight at a time (NSTART 1, RFC
  // 7252 4.7), none while a Register, Update or De-register awaits its answer; the others wait in
  // `waiting`, in order. A change of the value in flight queues nothing: its retransmission
  // carries the current value (RFC 7641 4.5.2), as a new notification that keeps the
  // retransmission counter and timeout, under a new Message ID (RFC 7252 4.5: a peer may take a
  // Message ID it has seen as a duplicate and not process it; libcoap does) and a newer Observe
  // number. A Reset to a notification (RFC 7641 3.6), or no ACK after the last retransmission
  // (4.5), ends the observation. libcoap 4.3.1 cannot do this itself: a confirmable message given
  // to coap_send() stays in its retransmission queue until acknowledged or given up, and no public
  // call takes it back (coap_cancel_all_messages is internal).

  coap::Transmission transmission() const { return {config.ack_timeout, config.max_retransmit}; }

  std::uint32_t next_observe() {
    observe_number = (observe_number + 1) & 0xFFFFFFu;  // the option holds 24 bits (RFC 7641 4.4)
    return observe_number;
  }

  void queue_notification(const std::string& path) {
    if (in_flight && in_flight->path == path) {
      in_flight->stale = true;
      return;
    }
    if (std::find(waiting.begin(), waiting.end(), path) == waiting.end()) waiting.push_back(path);
    send_waiting();
  }

  void send_waiting() {
    // A change made by a request of the server goes out after its answer, as libcoap's did:
    // after_io sends it when the I/O step has answered.
    if (coap.in_io()) return;
    while (!in_flight && outgoing.empty() && !waiting.empty() && session != nullptr) {
      const std::string path = waiting.front();
      waiting.pop_front();
      const double draw = std::uniform_real_distribution<double>(0.0, 1.0)(random);
      transmit(path, 0, transmission().first_timeout(draw));
    }
  }

  // The current value of `path` as a new notification: transmission number `retransmits` + 1 of
  // the one in flight, the next after `timeout`.
  void transmit(const std::string& path, unsigned retransmits, std::chrono::milliseconds timeout) {
    const auto o = observations.find(path);
    if (o == observations.end()) return finish_in_flight();
    auto mids = in_flight ? std::move(in_flight->mids) : std::vector<std::uint16_t>{};
    const auto mid = static_cast<std::uint16_t>(coap_new_message_id(session));
    bool last = false;
    Bytes datagram = notification(path, *o->second, mid, last);
    if (datagram.empty()) return end_observation(path, "no memory for a notification");
    mids.push_back(mid);
    in_flight = InFlight{path, std::move(datagram), std::move(mids), retransmits, timeout, false,
                         last, ++transmissions};
    send_in_flight();
  }

  Bytes notification(const std::string& path, const Observation& o, std::uint16_t mid, bool& last) {
    const auto ids = parse_path(path).value_or(std::vector<std::uint16_t>{});
    const auto c = model.read(ids, o.accept, senml());
    coap_pdu_t* pdu =
        coap_pdu_init(COAP_MESSAGE_CON, COAP_EMPTY_CODE, mid, coap_session_max_pdu_size(session));
    if (pdu == nullptr) return {};
    coap_add_token(pdu, o.token.size(), o.token.data());
    // An error code ends the observation, without an Observe option (RFC 7641 4.2).
    last = c.code / 100 != 2;
    if (!last) add_uint_option(pdu, COAP_OPTION_OBSERVE, next_observe());
    set_payload(pdu, std::nullopt, c.code, c.format, c.payload);
    Bytes out = datagram_of(pdu);
    coap_delete_pdu(pdu);
    return out;
  }

  void send_in_flight() {
    if (!coap.send_datagram(in_flight->datagram))
      log("a notification of " + in_flight->path + " could not be sent");  // retransmitted
    coap.take_empty(
        [this](coap_pdu_type_t type, coap_mid_t mid) { return take_answer(type, mid); });
    retransmit_timer.expires_after(in_flight->timeout);
    retransmit_timer.async_wait(
        [w = weak_from_this(), serial = in_flight->serial](const boost::system::error_code& ec) {
          auto self = w.lock();
          // A wait that was already due when it was cancelled comes with no error: the serial
          // tells.
          if (ec || !self || self->closed || !self->in_flight || self->in_flight->serial != serial)
            return;
          self->retransmit();
        });
  }

  void retransmit() {
    InFlight& n = *in_flight;
    const std::string path = n.path;  // in_flight may go
    const unsigned limit = transmission().retransmissions();
    if (n.retransmits >= limit) {
      return end_observation(
          path, "no ACK to a notification after " + std::to_string(limit) + " retransmissions");
    }
    if (n.stale) return transmit(path, n.retransmits + 1, n.timeout * 2);
    ++n.retransmits;
    n.timeout *= 2;
    n.serial = ++transmissions;
    send_in_flight();
  }

  // An empty ACK or Reset that came for the client (CoapContext::take_empty): taken when it
  // answers the notification in flight.
  bool take_answer(coap_pdu_type_t type, coap_mid_t mid) {
    if (!in_flight ||
        std::find(in_flight->mids.begin(), in_flight->mids.end(), mid) == in_flight->mids.end())
      return false;
    const std::string path = in_flight->path;
    if (type == COAP_MESSAGE_RST) {
      end_observation(path, "the server answered a notification with a Reset");
      return true;
    }
    // An older value was acknowledged: the current one stays in flight.
    if (mid != in_flight->mids.back()) return true;
    const bool stale = in_flight->stale;
    const bool last = in_flight->last;
    finish_in_flight();
    if (last) {
      end_observation(path, "its value could not be read");
    } else if (stale) {
      queue_notification(path);
    }
    return true;
  }

  void finish_in_flight() {
    in_flight.reset();
    retransmit_timer.cancel();
    coap.take_empty({});
    send_waiting();
  }

  // Nothing more goes out for `path` (its observation ended or was renewed).
  void forget_notification(const std::string& path) {
    std::erase(waiting, path);
    if (in_flight && in_flight->path == path) finish_in_flight();
  }
};

// ------------------------------------------------------------------ Client

Client::Client(boost::asio::any_io_executor executor, ObjectModel& model)
    : executor_(std::move(executor)), model_(model) {}

Client::~Client() {
  stop();
}

void Client::start(ClientConfig config, ClientEvents events) {
  stop();
  impl_ = std::make_shared<Impl>(executor_, model_, std::move(config), std::move(events));
  boost::asio::post(executor_, [w = std::weak_ptr<Impl>(impl_)] {
    if (auto self = w.lock(); self && !self->closed) self->begin();
  });
}

void Client::update() {
  if (!impl_) return;
  boost::asio::post(executor_, [w = std::weak_ptr<Impl>(impl_)] {
    if (auto self = w.lock(); self && !self->closed) self->send_update();
  });
}

void Client::deregister(std::function<void()> done) {
  if (!impl_ || impl_->state != ClientState::Registered) {
    stop();
    if (done) boost::asio::post(executor_, std::move(done));
    return;
  }
  impl_->deregistered = std::move(done);
  boost::asio::post(executor_, [w = std::weak_ptr<Impl>(impl_)] {
    if (auto self = w.lock(); self && !self->closed) self->send_deregister();
  });
}

void Client::stop() {
  if (!impl_) return;
  // From inside libcoap's I/O step, the step keeps the Impl alive until it returns.
  impl_->close();
  impl_.reset();
}

void Client::handle_request(const std::string& path, const coap_pdu_t* request,
                            const coap_string_t* query, coap_pdu_t* response) {
  if (!impl_) impl_ = std::make_shared<Impl>(executor_, model_, ClientConfig{}, ClientEvents{});
  impl_->handle(path, request, query, response);
}

void Client::changed(const std::string& path) {
  if (impl_) impl_->changed(path);
}

ClientState Client::state() const {
  return impl_ ? impl_->state : ClientState::Stopped;
}

std::string Client::location() const {
  if (!impl_) return {};
  std::string out;
  for (const auto& s : impl_->location)
    out += "/" + s;
  return out;
}

}  // namespace bg95::lwm2m
