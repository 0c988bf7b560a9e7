#include "scenarios/lwm2m_server/lwm2m_server.hpp"

#include <array>
#include <cstring>
#include <stdexcept>

#include <coap3/coap.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "protocol/coap/coap_context.hpp"

namespace bg95::peer {
namespace {

using Clock = std::chrono::steady_clock;

std::optional<std::uint32_t> uint_option(const coap_pdu_t* pdu, std::uint16_t number) {
  coap_opt_iterator_t it;
  const coap_opt_t* o = coap_check_option(pdu, number, &it);
  if (o == nullptr) return std::nullopt;
  return coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
}

std::string query_value(const coap_string_t* query, const std::string& name) {
  if (query == nullptr) return {};
  const std::string q(reinterpret_cast<const char*>(query->s), query->length);
  std::size_t i = 0;
  while (i <= q.size()) {
    const std::size_t amp = q.find('&', i);
    const std::string term = q.substr(i, amp == std::string::npos ? std::string::npos : amp - i);
    if (term.starts_with(name + "=")) return term.substr(name.size() + 1);
    if (amp == std::string::npos) break;
    i = amp + 1;
  }
  return {};
}

}  // namespace

// libcoap runs on `io`, on `thread`: its callbacks, and every libcoap call (requests of a test
// are posted there). `mutex` guards what a test reads: registrations, responses, notes.
struct Lwm2mServer::Impl {
  Impl() : coap(io.get_executor()) {}
  mutable std::mutex mutex;
  std::condition_variable cv;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  coap::CoapContext coap;
  coap_session_t* client = nullptr;  // of the latest registration (referenced)
  std::thread thread;
  std::vector<Registration> registrations;
  std::size_t max_registrations = 0;
  std::map<std::vector<std::uint8_t>, Response> responses;  // first answers, by token
  std::map<std::vector<std::uint8_t>, std::vector<Response>> notes;
  std::vector<std::vector<std::uint8_t>> answered;  // tokens whose first answer arrived

  static Impl* of(coap_session_t* s) { return coap::CoapContext::owner<Impl>(s); }

  static void on_register(coap_resource_t*, coap_session_t* s, const coap_pdu_t* request,
                          const coap_string_t* query, coap_pdu_t* response) {
    Impl* self = of(s);
    std::lock_guard lock(self->mutex);
    Registration r;
    r.endpoint = query_value(query, "ep");
    r.lifetime = query_value(query, "lt");
    r.version = query_value(query, "lwm2m");
    r.binding = query_value(query, "b");
    std::size_t length = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data(request, &length, &data)) r.links.assign(data, data + length);
    if (self->registrations.size() >= self->max_registrations) {
      coap_pdu_set_code(response, COAP_RESPONSE_CODE_INTERNAL_ERROR);
      return;
    }
    r.number = static_cast<int>(self->registrations.size()) + 1;
    self->registrations.push_back(r);
    if (self->client != nullptr) coap_session_release(self->client);
    self->client = coap_session_reference(s);
    const std::string number = std::to_string(r.number);
    coap_add_option(response, COAP_OPTION_LOCATION_PATH, 2,
                    reinterpret_cast<const std::uint8_t*>("rd"));
    coap_add_option(response, COAP_OPTION_LOCATION_PATH, number.size(),
                    reinterpret_cast<const std::uint8_t*>(number.data()));
    coap_pdu_set_code(response, COAP_RESPONSE_CODE_CREATED);
    self->cv.notify_all();
  }

  static int number_of(coap_resource_t* resource) {
    const coap_str_const_t* uri = coap_resource_get_uri_path(resource);
    const std::string p(reinterpret_cast<const char*>(uri->s), uri->length);
    return std::stoi(p.substr(3));
  }

  static void on_update(coap_resource_t* resource, coap_session_t* s, const coap_pdu_t*,
                        const coap_string_t*, coap_pdu_t* response) {
    Impl* self = of(s);
    std::lock_guard lock(self->mutex);
    const int n = number_of(resource);
    if (n < 1 || static_cast<std::size_t>(n) > self->registrations.size() ||
        self->registrations[static_cast<std::size_t>(n) - 1].deregistered) {
      coap_pdu_set_code(response, COAP_RESPONSE_CODE_NOT_FOUND);
      return;
    }
    ++self->registrations[static_cast<std::size_t>(n) - 1].updates;
    coap_pdu_set_code(response, COAP_RESPONSE_CODE_CHANGED);
    self->cv.notify_all();
  }

  static void on_deregister(coap_resource_t* resource, coap_session_t* s, const coap_pdu_t*,
                            const coap_string_t*, coap_pdu_t* response) {
    Impl* self = of(s);
    std::lock_guard lock(self->mutex);
    const int n = number_of(resource);
    if (n < 1 || static_cast<std::size_t>(n) > self->registrations.size()) {
      coap_pdu_set_code(response, COAP_RESPONSE_CODE_NOT_FOUND);
      return;
    }
    self->registrations[static_cast<std::size_t>(n) - 1].deregistered = true;
    coap_pdu_set_code(response, COAP_RESPONSE_CODE_DELETED);
    self->cv.notify_all();
  }

  static coap_response_t on_response(coap_session_t* s, const coap_pdu_t*,
                                     const coap_pdu_t* received, const coap_mid_t) {
    Impl* self = of(s);
    std::lock_guard lock(self->mutex);
    Response r;
    const auto code = static_cast<unsigned>(coap_pdu_get_code(received));
    r.code = static_cast<int>((code >> 5) * 100 + (code & 0x1fu));
    const coap_bin_const_t tok = coap_pdu_get_token(received);
    r.token.assign(tok.s, tok.s + tok.length);
    if (auto v = uint_option(received, COAP_OPTION_CONTENT_FORMAT))
      r.content_format = static_cast<std::uint16_t>(*v);
    r.observe = uint_option(received, COAP_OPTION_OBSERVE);
    r.block1 = uint_option(received, COAP_OPTION_BLOCK1);
    r.block2 = uint_option(received, COAP_OPTION_BLOCK2);
    r.size2 = uint_option(received, COAP_OPTION_SIZE2);
    std::size_t length = 0;
    const std::uint8_t* data = nullptr;
    if (coap_get_data(received, &length, &data)) r.payload.assign(data, data + length);
    if (self->responses.contains(r.token)) {
      self->notes[r.token].push_back(std::move(r));
    } else {
      self->responses[r.token] = std::move(r);
    }
    self->cv.notify_all();
    return COAP_RESPONSE_OK;
  }

  // Sends `r` to the client of the latest registration (on the server's thread, mutex held);
  // returns its token.
  std::vector<std::uint8_t> send(const Request& r) {
    std::vector<std::uint8_t> token;
    const auto method = static_cast<coap_pdu_code_t>(r.method);
    coap_pdu_t* pdu = coap_pdu_init(COAP_MESSAGE_CON, method, coap_new_message_id(client),
                                    coap_session_max_pdu_size(client));
    if (r.token.empty()) {
      std::array<std::uint8_t, 8> tok{};
      std::size_t len = 0;
      coap_session_new_token(client, &len, tok.data());
      token.assign(tok.begin(), tok.begin() + static_cast<long>(len));
    } else {
      token = r.token;
    }
    coap_add_token(pdu, token.size(), token.data());
    coap_optlist_t* list = nullptr;
    auto add_uint = [&list](std::uint16_t number, std::uint32_t v) {
      std::array<std::uint8_t, 4> buf{};
      coap_insert_optlist(
          &list,
          coap_new_optlist(number, coap_encode_var_safe(buf.data(), buf.size(), v), buf.data()));
    };
    if (r.observe) add_uint(COAP_OPTION_OBSERVE, *r.observe);
    std::string path = r.path;
    while (!path.empty()) {
      if (path.front() == '/') path.erase(0, 1);
      const std::size_t slash = path.find('/');
      const std::string seg = path.substr(0, slash);
      if (!seg.empty())
        coap_insert_optlist(&list,
                            coap_new_optlist(COAP_OPTION_URI_PATH, seg.size(),
                                             reinterpret_cast<const std::uint8_t*>(seg.data())));
      path = slash == std::string::npos ? std::string() : path.substr(slash);
    }
    if (r.content_format) add_uint(COAP_OPTION_CONTENT_FORMAT, *r.content_format);
    std::string query = r.query;
    while (!query.empty()) {
      const std::size_t amp = query.find('&');
      const std::string term = query.substr(0, amp);
      coap_insert_optlist(&list,
                          coap_new_optlist(COAP_OPTION_URI_QUERY, term.size(),
                                           reinterpret_cast<const std::uint8_t*>(term.data())));
      query = amp == std::string::npos ? std::string() : query.substr(amp + 1);
    }
    if (r.accept) add_uint(COAP_OPTION_ACCEPT, *r.accept);
    if (r.block2) add_uint(COAP_OPTION_BLOCK2, *r.block2);
    if (r.block1) add_uint(COAP_OPTION_BLOCK1, *r.block1);
    coap_add_optlist_pdu(pdu, &list);
    coap_delete_optlist(list);
    if (!r.payload.empty())
      coap_add_data(pdu, r.payload.size(), reinterpret_cast<const std::uint8_t*>(r.payload.data()));
    responses.erase(token);
    coap_send(client, pdu);
    coap.process_soon();
    return token;
  }
};

Lwm2mServer::Lwm2mServer(Options options) : impl_(std::make_shared<Impl>()) {
  Impl& d = *impl_;
  std::string error;
  if (!d.coap.open(impl_, error)) throw std::runtime_error(error);
  if (options.psk && !d.coap.serve_psk({"bg95", options.psk->second, std::nullopt}))
    throw std::runtime_error("cannot set up DTLS with PSK");
  // An ephemeral port: the one the system picks.
  const auto bound =
      d.coap.listen({boost::asio::ip::address_v4::loopback(), 0}, options.psk.has_value());
  if (!bound || *bound == 0) throw std::runtime_error("cannot bind the LwM2M test server");
  port_ = *bound;
  psk_ = options.psk.has_value();

  coap_resource_t* rd = coap_resource_init(coap_make_str_const("rd"), 0);
  coap_register_request_handler(rd, COAP_REQUEST_POST, &Impl::on_register);
  coap_add_resource(d.coap.get(), rd);
  d.max_registrations = static_cast<std::size_t>(options.max_registrations);
  for (int n = 1; n <= options.max_registrations; ++n) {
    const std::string p = "rd/" + std::to_string(n);
    coap_resource_t* r = coap_resource_init(
        coap_new_str_const(reinterpret_cast<const std::uint8_t*>(p.data()), p.size()),
        COAP_RESOURCE_FLAGS_RELEASE_URI);
    coap_register_request_handler(r, COAP_REQUEST_POST, &Impl::on_update);
    coap_register_request_handler(r, COAP_REQUEST_DELETE, &Impl::on_deregister);
    coap_add_resource(d.coap.get(), r);
  }
  coap_register_response_handler(d.coap.get(), &Impl::on_response);
  d.thread = std::thread([&d] { d.io.run(); });
}

Lwm2mServer::~Lwm2mServer() {
  Impl& d = *impl_;
  d.io.stop();
  d.thread.join();
  if (d.client != nullptr) coap_session_release(d.client);
  d.coap.close();
}

std::string Lwm2mServer::uri() const {
  return std::string(psk_ ? "coaps" : "coap") + "://127.0.0.1:" + std::to_string(port_);
}

Lwm2mServer::Registration Lwm2mServer::wait_registration(std::size_t count,
                                                         std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return impl_->registrations.size() >= count; }))
    throw std::runtime_error("no registration #" + std::to_string(count) + " within " +
                             std::to_string(timeout.count()) + " ms");
  return impl_->registrations[count - 1];
}

std::size_t Lwm2mServer::registration_count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->registrations.size();
}

Lwm2mServer::Registration Lwm2mServer::registration(std::size_t index) const {
  std::lock_guard lock(impl_->mutex);
  return impl_->registrations.at(index - 1);
}

int Lwm2mServer::wait_update(int seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  int got = seen;
  if (!impl_->cv.wait_for(lock, timeout, [&] {
        if (impl_->registrations.empty()) return false;
        got = impl_->registrations.back().updates;
        return got > seen;
      }))
    throw std::runtime_error("no registration update");
  return got;
}

bool Lwm2mServer::wait_deregistered(std::size_t number, std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, timeout, [&] {
    return impl_->registrations.size() >= number && impl_->registrations[number - 1].deregistered;
  });
}

Lwm2mServer::Response Lwm2mServer::request(Request r, std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  struct Sent {
    bool done = false;  // on the server's thread
    bool no_client = false;
    std::vector<std::uint8_t> token;
  };
  auto sent = std::make_shared<Sent>();  // guarded by d.mutex
  const std::string path = r.path;
  boost::asio::post(d.io, [&d, sent, r = std::move(r)] {
    std::lock_guard lock(d.mutex);
    if (d.client == nullptr) {
      sent->no_client = true;
    } else {
      sent->token = d.send(r);
    }
    sent->done = true;
    d.cv.notify_all();
  });
  std::unique_lock lock(d.mutex);
  const bool answered = d.cv.wait_for(lock, timeout, [&] {
    return sent->done && (sent->no_client || d.responses.contains(sent->token));
  });
  if (sent->no_client) throw std::runtime_error("no client registered");
  if (!answered) throw std::runtime_error("no answer to the request for " + path);
  return d.responses.at(sent->token);
}

Lwm2mServer::Response Lwm2mServer::read(const std::string& path,
                                        std::optional<std::uint16_t> accept) {
  Request r;
  r.path = path;
  r.accept = accept;
  return request(r);
}

Lwm2mServer::Response Lwm2mServer::read_all(const std::string& path, unsigned szx,
                                            std::optional<std::uint16_t> accept) {
  std::string whole;
  Response last;
  for (std::uint32_t num = 0;; ++num) {
    Request r;
    r.path = path;
    r.accept = accept;
    r.block2 = (num << 4) | szx;
    last = request(r);
    whole += last.payload;
    if (last.code != 205 || !last.block2 || (*last.block2 & 0x08u) == 0) break;
  }
  last.payload = whole;
  return last;
}

Lwm2mServer::Response Lwm2mServer::write(const std::string& path, const std::string& payload,
                                         std::uint16_t format, bool replace) {
  Request r;
  r.method = replace ? 3 : 2;
  r.path = path;
  r.content_format = format;
  r.payload = payload;
  return request(r);
}

Lwm2mServer::Response Lwm2mServer::execute(const std::string& path, const std::string& args) {
  Request r;
  r.method = 2;
  r.path = path;
  r.payload = args;
  return request(r);
}

Lwm2mServer::Response Lwm2mServer::discover(const std::string& path) {
  Request r;
  r.path = path;
  r.accept = 40;
  return request(r);
}

Lwm2mServer::Response Lwm2mServer::write_attributes(const std::string& path,
                                                    const std::string& query) {
  Request r;
  r.method = 3;
  r.path = path;
  r.query = query;
  return request(r);
}

Lwm2mServer::Response Lwm2mServer::observe(const std::string& path) {
  Request r;
  r.path = path;
  r.observe = 0;
  return request(r);
}

Lwm2mServer::Response Lwm2mServer::cancel_observe(const std::string& path,
                                                  const std::vector<std::uint8_t>& token) {
  Request r;
  r.path = path;
  r.observe = 1;
  r.token = token;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->notes.erase(token);
  }
  return request(r);
}

std::vector<Lwm2mServer::Response> Lwm2mServer::notifications(
    const std::vector<std::uint8_t>& token) const {
  std::lock_guard lock(impl_->mutex);
  const auto it = impl_->notes.find(token);
  return it == impl_->notes.end() ? std::vector<Response>{} : it->second;
}

Lwm2mServer::Response Lwm2mServer::wait_notification(const std::vector<std::uint8_t>& token,
                                                     const std::string& payload,
                                                     std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mutex);
  Response found;
  if (!impl_->cv.wait_for(lock, timeout, [&] {
        const auto it = impl_->notes.find(token);
        if (it == impl_->notes.end()) return false;
        for (const auto& n : it->second)
          if (n.payload == payload) {
            found = n;
            return true;
          }
        return false;
      })) {
    std::string seen;
    if (const auto it = impl_->notes.find(token); it != impl_->notes.end())
      for (const auto& n : it->second)
        seen += " \"" + n.payload + "\"";
    throw std::runtime_error("no notification \"" + payload + "\"; seen:" + seen);
  }
  return found;
}

Lwm2mServer::Response Lwm2mServer::push(const std::string& path, const std::string& data,
                                        unsigned szx, std::chrono::milliseconds per_block,
                                        std::uint16_t format) {
  const std::size_t block = std::size_t{1} << (szx + 4);
  Response last;
  for (std::uint32_t num = 0;; ++num) {
    const std::size_t offset = static_cast<std::size_t>(num) * block;
    const bool more = offset + block < data.size();
    Request r;
    r.method = 3;
    r.path = path;
    r.content_format = format;
    r.block1 = (num << 4) | (more ? 0x08u : 0u) | szx;
    r.payload = data.substr(offset, block);
    last = request(r, per_block);
    if (!more || last.code != 231) break;
  }
  return last;
}

}  // namespace bg95::peer
