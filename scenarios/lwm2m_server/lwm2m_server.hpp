#pragma once
// A minimal LwM2M server (the module's peer in tests and scenarios) on libcoap, on 127.0.0.1 at an
// ephemeral port, in a thread of its own. It accepts registrations (POST /rd, Update POST /rd/<n>,
// De-register DELETE /rd/<n>) and lets a test send Device Management requests (Read, Write,
// Execute, Discover, Write-Attributes, Observe, Block1 writes) to the last registered client and
// wait for the answers and notifications, each with a deadline. Nothing sleeps: waits are on a
// condition variable. The thread runs an io_context of its own, on which libcoap runs through
// protocol/coap/coap_context.hpp; a test's requests are posted to it.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bg95::peer {

class Lwm2mServer {
 public:
  struct Options {
    // DTLS-PSK (coaps://): identity and key (raw bytes).
    std::optional<std::pair<std::string, std::string>> psk;
    // Registrations it takes (/rd/1 ... /rd/<n>); more are answered 5.00. A fleet wants more.
    int max_registrations = 32;
  };
  Lwm2mServer() : Lwm2mServer(Options{}) {}
  explicit Lwm2mServer(Options options);
  ~Lwm2mServer();
  Lwm2mServer(const Lwm2mServer&) = delete;
  Lwm2mServer& operator=(const Lwm2mServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string uri() const;

  struct Registration {
    int number = 0;  // 1, 2, ...: the location is /rd/<number>
    std::string endpoint, lifetime, version, binding;
    std::string links;  // the payload
    int updates = 0;
    bool deregistered = false;
  };
  // Waits until at least `count` registrations arrived; returns the count-th. Throws
  // std::runtime_error on timeout.
  Registration wait_registration(std::size_t count,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::size_t registration_count() const;
  Registration registration(std::size_t index) const;  // 1-based
  // Waits for an Update (POST /rd/<n>) beyond `seen` for the latest registration.
  int wait_update(int seen, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool wait_deregistered(std::size_t number,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

  struct Request {
    int method = 1;  // 1 GET, 2 POST, 3 PUT, 4 DELETE
    std::string path;
    std::string query;  // "pmin=1&pmax=5"
    std::optional<std::uint16_t> content_format;
    std::optional<std::uint16_t> accept;
    std::optional<std::uint32_t> observe;
    std::optional<std::uint32_t> block1;
    std::optional<std::uint32_t> block2;
    std::string payload;
    std::vector<std::uint8_t> token;  // empty: a new one
  };
  struct Response {
    int code = 0;  // class * 100 + detail; 0: none
    std::optional<std::uint16_t> content_format;
    std::optional<std::uint32_t> observe;
    std::optional<std::uint32_t> block1;
    std::optional<std::uint32_t> block2;
    std::optional<std::uint32_t> size2;
    std::string payload;
    std::vector<std::uint8_t> token;
  };
  // Sends to the client of the latest registration and waits for the answer (throws on
  // timeout).
  Response request(Request r, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Response read(const std::string& path, std::optional<std::uint16_t> accept = std::nullopt);
  // A read that follows Block2 to the end; the payload is the whole value.
  Response read_all(const std::string& path, unsigned szx,
                    std::optional<std::uint16_t> accept = std::nullopt);
  Response write(const std::string& path, const std::string& payload, std::uint16_t format = 0,
                 bool replace = true);
  Response execute(const std::string& path, const std::string& args = {});
  Response discover(const std::string& path);
  Response write_attributes(const std::string& path, const std::string& query);
  // Observe: the first answer carries the token that notifications come with.
  Response observe(const std::string& path);
  Response cancel_observe(const std::string& path, const std::vector<std::uint8_t>& token);
  // Notifications of one observation, in arrival order (the first answer not included).
  std::vector<Response> notifications(const std::vector<std::uint8_t>& token) const;
  // Waits until a notification with this payload arrived (among all of that token so far).
  Response wait_notification(const std::vector<std::uint8_t>& token, const std::string& payload,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // A Block1 write (PUT, opaque unless `format` says otherwise, e.g. 11542 for data that is a
  // TLV) of `data` in blocks of 2^(szx+4) bytes, each block waiting for its answer; returns the
  // last answer (the first non-2.31 one).
  Response push(const std::string& path, const std::string& data, unsigned szx = 6,
                std::chrono::milliseconds per_block = std::chrono::seconds(10),
                std::uint16_t format = 42);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;  // shared: CoapContext keeps it alive during an I/O step
  std::uint16_t port_ = 0;
  bool psk_ = false;
};

}  // namespace bg95::peer
