#pragma once
// libcoap on the emulator's boost::asio event loop: the one adapter that the CoAP downloader,
// the LwM2M client, the package server's CoAP listener and the LwM2M test server share. It
// starts libcoap (once per process), makes a coap_context_t, watches its epoll descriptor on
// the executor and runs libcoap's I/O step when it is ready, makes client sessions (UDP or DTLS)
// and server endpoints, and keeps the DTLS key material that libcoap points to. What is said to
// libcoap inside a session (requests, responses, resources) stays with its user.
//
// Everything runs on the executor given at construction: the owner calls the adapter from there
// and libcoap's callbacks run there, inside process(). An owner finds itself from a callback with
// CoapContext::owner<T>(session); after close() that is nullptr.
//
// Many UDP client sessions may share one libcoap context (SharedContext, one per event loop):
// each CoapContext opened on it then holds only its session and that session's UDP socket, and
// the context's epoll and timerfd (and the loop's copy of the epoll) are the process's, not each
// owner's (issue 20: four open files per LwM2M client kept 10,000 of them from fitting a
// process). Owners of a shared context must register the same callbacks and may share
// resources (the LwM2M client's, found by path); a callback finds its owner by the session.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include <coap3/coap.h>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "protocol/coap/coap_security.hpp"

namespace bg95::coap {

// libcoap's process-wide state (clock, PRNG, the TLS library), once per process. coap_cleanup()
// is never called: another user may start at any time, and the OS reclaims the rest at exit.
// libcoap logs at its default level (warnings) to stderr.
void ensure_libcoap_started();

// A boost::asio endpoint as libcoap's address.
coap_address_t coap_address(const boost::asio::ip::udp::endpoint& endpoint);

// RFC 7252 transmission parameters of a client session.
struct Transmission {
  // The first retransmission after this (times a random factor 1..1.5), doubling. libcoap 4.3.1
  // takes nothing under 1 s: smaller values are raised.
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(2)};
  // At most this many retransmissions; 0 is raised to 1, more than 20 lowered to 20.
  unsigned max_retransmit = 4;

  // For a user that retransmits confirmable messages of its own (RFC 7252 4.2, 4.8): the timeout
  // before the first retransmission, ack_timeout times ACK_RANDOM_FACTOR's 1..1.5 (`draw` in
  // [0, 1) picks where; no 1 s floor here), and the number of retransmissions, bounded as above.
  std::chrono::milliseconds first_timeout(double draw) const;
  unsigned retransmissions() const;
};

class CoapContext;

// One libcoap context for many client sessions on one executor (above). Made empty (and held by
// a shared_ptr: make_shared); the context is made when the first CoapContext opens on it and
// lives as long as this.
class SharedContext : public std::enable_shared_from_this<SharedContext> {
 public:
  explicit SharedContext(boost::asio::any_io_executor executor);
  ~SharedContext();
  SharedContext(const SharedContext&) = delete;
  SharedContext& operator=(const SharedContext&) = delete;

  std::size_t members() const { return members_.size(); }

 private:
  friend class CoapContext;
  struct ContextFree {
    void operator()(coap_context_t* context) const { coap_free_context(context); }
  };
  bool start(std::string& error);
  void release_doomed();
  void process();
  void process_soon();
  void wait_for_io();
  // A member a callback reached (or that deferred work to the end of the step): its after_io
  // runs when the step returns.
  void touch(CoapContext* member);

  boost::asio::any_io_executor executor_;
  boost::asio::posix::stream_descriptor descriptor_;  // a dup() of the context's epoll
  std::unique_ptr<coap_context_t, ContextFree> context_;
  std::unordered_set<CoapContext*> members_;  // open on this
  std::vector<CoapContext*> touched_;         // in this step
  std::vector<CoapContext*> takers_;          // with take_empty() set
  // Sessions closed inside a step, freed when it returns.
  std::vector<coap_session_t*> doomed_;
  bool waiting_ = false;
  bool posted_ = false;
  bool in_io_ = false;
};

class CoapContext {
 public:
  explicit CoapContext(boost::asio::any_io_executor executor);
  ~CoapContext();  // = close()
  CoapContext(const CoapContext&) = delete;
  CoapContext& operator=(const CoapContext&) = delete;

  // Makes the libcoap context (libcoap's block-wise layer off: every user does its own) and
  // starts watching its epoll descriptor at once (see coap_context.cpp); closes the one open
  // before. `owner` is what owner<T>() returns, and it is kept alive while an I/O step runs (its
  // handlers may drop the last other reference). `after_io` runs after each I/O step, outside
  // libcoap, unless closed meanwhile; it may close this or drop the owner. False, with `error`,
  // when it failed.
  // With `shared`, the session of connect() goes into that context instead (UDP only): after_io
  // then runs after the I/O steps in which one of libcoap's callbacks reached this owner.
  template <typename Owner>
  bool open(const std::shared_ptr<Owner>& owner, std::string& error,
            std::function<void()> after_io = {}, std::shared_ptr<SharedContext> shared = {}) {
    return open_for(owner, owner.get(), error, std::move(after_io), std::move(shared));
  }

  // A client session to `server` (UDP, or DTLS with `dtls`), held until close(). nullptr when
  // libcoap refused it.
  coap_session_t* connect(const boost::asio::ip::udp::endpoint& server, const ClientDtls* dtls,
                          const Transmission& transmission);
  coap_session_t* session() const { return session_.get(); }

  // Datagrams of the owner's own on the client session's UDP socket, beside libcoap's: for
  // confirmable messages that libcoap must not retransmit (the LwM2M client's notifications,
  // protocol/lwm2m/client.cpp). libcoap 4.3.1 can neither take a message back from its
  // retransmission queue nor tell of an empty ACK or Reset that answers nothing it sent, so
  // the owner sends such messages here and takes their ACKs and Resets with take_empty().
  // Over DTLS they are records of the session's own OpenSSL object (dtls_send, dtls_peek in
  // coap_security.hpp). False when the socket was not found.
  bool has_datagram_socket() const { return socket_ >= 0; }
  // Sends `datagram` as it is to the session's peer; false when it did not go.
  bool send_datagram(std::span<const std::uint8_t> datagram);
  // While set, each I/O step first offers every empty ACK and Reset at the head of the socket's
  // queue to `take` (its type, COAP_MESSAGE_ACK or _RST, and Message ID): what it takes is read
  // off, the first it leaves and all after it are libcoap's. Set it only while an answer is
  // awaited: looking at the socket consumes an ICMP error that libcoap would have seen.
  using EmptyTaker = std::function<bool(coap_pdu_type_t type, coap_mid_t mid)>;
  void take_empty(EmptyTaker take);

  // Server side: the DTLS set-up of the context (before listen() on a DTLS endpoint), and an
  // endpoint; listen() returns the port it is bound to (useful for port 0), nullopt when libcoap
  // could not bind it.
  bool serve_psk(ServerPsk psk);
  bool serve_certificates(ServerCertificates certificates);
  std::optional<std::uint16_t> listen(const boost::asio::ip::udp::endpoint& local, bool dtls);

  // One I/O step now: coap_io_process(COAP_IO_NO_WAIT) does what is ready or due, then after_io,
  // then the descriptor is watched again.
  void process();
  // An I/O step soon (posted), e.g. after a request was queued or an observer was told of a
  // change: libcoap sends notifications inside its I/O step. Nothing inside an I/O step.
  void process_soon();
  // True inside an I/O step (of the shared context, for an owner on one: work it defers to the
  // end of the step is done by its after_io, which then runs).
  bool in_io() const;

  // Frees the session, the context and the descriptor; callbacks find no owner any more. From
  // inside an I/O step libcoap's objects are freed when it returns. Idempotent.
  void close();
  bool is_open() const { return get() != nullptr; }
  coap_context_t* get() const { return shared_ ? shared_->context_.get() : context_.get(); }

  // The owner given to open(), from inside one of libcoap's callbacks; nullptr once closed.
  template <typename Owner>
  static Owner* owner(const coap_session_t* session) {
    const CoapContext* self = of(session);
    return self == nullptr ? nullptr : static_cast<Owner*>(self->owner_);
  }
  static CoapContext* of(const coap_session_t* session);

 private:
  struct ContextFree {
    void operator()(coap_context_t* context) const { coap_free_context(context); }
  };
  struct SessionRelease {
    void operator()(coap_session_t* session) const { coap_session_release(session); }
  };
  // What libcoap keeps pointers to (its set-up structures are copied shallowly).
  struct ServerSecrets {
    ServerPsk psk;
    coap_bin_const_t psk_key{};
    ServerCertificates certificates;
  };

  bool dtls() const {
    return session_ && coap_session_get_proto(session_.get()) == COAP_PROTO_DTLS;
  }
  friend class SharedContext;
  bool open_for(std::weak_ptr<void> alive, void* owner, std::string& error,
                std::function<void()> after_io, std::shared_ptr<SharedContext> shared);
  void after_shared_step();
  void leave_shared();
  void wait_for_io();
  void take_empty_messages();
  void free_libcoap();
  static const coap_bin_const_t* on_psk_identity(coap_bin_const_t* identity,
                                                 coap_session_t* session, void* arg);
  static int on_tls_setup(void* tls, coap_dtls_pki_t* setup);

  boost::asio::any_io_executor executor_;
  boost::asio::posix::stream_descriptor descriptor_;  // a dup() of libcoap's epoll descriptor
  // The session is declared after the context so that it goes first.
  std::unique_ptr<coap_context_t, ContextFree> context_;
  std::unique_ptr<coap_session_t, SessionRelease> session_;
  std::unique_ptr<ServerSecrets> secrets_;
  std::weak_ptr<void> alive_;
  void* owner_ = nullptr;
  std::function<void()> after_io_;
  int socket_ = -1;  // the client session's UDP socket (libcoap's), or -1
  EmptyTaker take_;
  unsigned generation_ = 0;  // of the current open(): a wait of an earlier one does nothing
  bool waiting_ = false;     // an async_wait on the descriptor is outstanding
  bool in_io_ = false;
  // Closed inside an I/O step: libcoap's objects wait here until it returns.
  std::unique_ptr<coap_context_t, ContextFree> doomed_context_;
  std::unique_ptr<coap_session_t, SessionRelease> doomed_session_;
  std::unique_ptr<ServerSecrets> doomed_secrets_;
  std::shared_ptr<SharedContext> shared_;  // the context this is open on, if shared
  bool touched_ = false;                   // in shared_->touched_
};

}  // namespace bg95::coap
