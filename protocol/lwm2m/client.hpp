#pragma once
// An LwM2M 1.0 client (1.1 selectable for the Register "lwm2m=" parameter) on libcoap, UDP or
// DTLS-PSK, running on the executor it is given (the emulator's one io_context) through the
// libcoap adapter protocol/coap/coap_context.hpp.
//
// Registration interface: Register (POST /rd?ep=&lt=&lwm2m=&b= with the CoRE link list of the
// object model), Update (POST to the location the server returned, at 3/4 of the lifetime, and
// on update()), De-register (DELETE of that location). A failed Register is retried after
// retry_delay; an Update refused with 4.04 (the server forgot us) registers again.
//
// Device management and information reporting, served on the same session: Read (GET), Write
// (PUT replace, POST partial update), Execute (POST on a resource), Discover (GET, Accept 40),
// Write-Attributes (PUT with pmin/pmax/gt/lt/st in the query and no payload: pmin and pmax are
// honoured), Observe (GET Observe=0; notifications are confirmable, and a retransmission
// carries the current value, RFC 7641 4.5.2) and Cancel (GET Observe=1 or a
// Reset to a notification). Create and Delete answer 4.05.
//
// Block-wise transfer is done here (libcoap's block mode off): a write carrying Block1 reaches
// Resource::write_stream block by block (2.31 Continue between blocks, a repeated block is
// answered again without being applied, a block out of order is 4.08); a read whose payload is
// larger than the block size asked for (Block2 in the request, else 1024) is served in Block2
// slices.
//
// Model handlers run inside libcoap's processing: they must not stop or destroy the client
// synchronously (stop() from inside is deferred to after the processing, see stop()).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "protocol/lwm2m/object_model.hpp"

struct coap_pdu_t;
struct coap_string_t;

namespace bg95::coap {
class SharedContext;
}

namespace bg95::lwm2m {

struct ClientConfig {
  std::string server_uri;          // coap://host[:port] or coaps://host[:port]
  std::string endpoint;            // ep=
  std::uint32_t lifetime = 86400;  // lt= in seconds
  std::string binding = "U";       // b=
  std::string version = "1.0";     // lwm2m=
  // CoAPS: DTLS with a pre-shared key (raw bytes).
  std::optional<std::string> psk_identity;
  std::optional<std::string> psk_key;
  // Default notification periods (the Server object's 2 and 3), 0 = none.
  std::uint32_t default_pmin = 0;
  std::uint32_t default_pmax = 0;
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(2)};
  unsigned max_retransmit = 4;
  std::chrono::milliseconds retry_delay{std::chrono::seconds(5)};
  // Over UDP, the session goes into this libcoap context shared by the process's clients
  // (protocol/coap/coap_context.hpp) rather than one of its own; null: its own. DTLS always
  // has its own.
  std::shared_ptr<coap::SharedContext> shared_context;
};

enum class ClientState { Stopped, Registering, Registered, Deregistering };
const char* client_state_name(ClientState s);

struct ClientEvents {
  std::function<void(ClientState)> on_state;     // every change
  std::function<void(std::string_view)> on_log;  // human-readable events
};

class Client {
 public:
  Client(boost::asio::any_io_executor executor, ObjectModel& model);
  ~Client();  // = stop()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Opens the session and registers (stopping a session still open).
  void start(ClientConfig config, ClientEvents events);
  // A Registration Update now (when registered).
  void update();
  // De-registers (DELETE), then closes; `done` runs when closed (answer, failure or timeout).
  void deregister(std::function<void()> done = {});
  // Closes at once, nothing sent (power loss). From inside a model handler, the close happens
  // right after libcoap's processing returns; no event is reported after stop().
  void stop();

  // A value under `path` ("/5/0/3") changed: observers of it (and of its object or instance)
  // are notified, honouring pmin / pmax.
  void changed(const std::string& path);

  // Answers one request of the server exactly as the session's request handlers do, without a
  // session: for tests and fuzzing (tests/fuzz/fuzz_coap_message.cpp). `path` is the
  // resource's ("/3/0/1"), `query` its Uri-Query (may be null), `response` is filled in. Before
  // start(), it makes the state of a client that was never started (observations, attributes,
  // a Block1 write in progress); state() stays Stopped.
  void handle_request(const std::string& path, const coap_pdu_t* request,
                      const coap_string_t* query, coap_pdu_t* response);

  ClientState state() const;
  // "/rd/xyz" once registered.
  std::string location() const;

  struct Impl;

 private:
  boost::asio::any_io_executor executor_;
  ObjectModel& model_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace bg95::lwm2m
