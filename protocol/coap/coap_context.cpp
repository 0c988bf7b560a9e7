#include "protocol/coap/coap_context.hpp"

// How libcoap's I/O lives inside the emulator's one event loop
// ------------------------------------------------------------
// Debian's libcoap 4.3.1 is built with epoll support: every coap_context_t owns an epoll
// instance holding its sockets and a timerfd that libcoap arms for its next timeout
// (retransmissions, DTLS timers, delayed responses). coap_context_get_coap_fd() returns that
// epoll descriptor, and an epoll descriptor is itself pollable: it reads as ready whenever one of
// the descriptors in it is ready, the timerfd included. So a single asio
// posix::stream_descriptor (on a dup() of it) tells the event loop when libcoap has something to
// do, for I/O and timers alike; the handler then calls coap_io_process(ctx, COAP_IO_NO_WAIT),
// which handles what is ready, re-arms the timerfd and returns at once. No thread, no blocking
// call, no polling timer.
//
// One subtlety: asio registers descriptors edge-triggered, while libcoap's inner epoll is
// level-triggered. An inner event that is still ready after coap_io_process (it reads a bounded
// number of events per call) would not produce a new edge, so before waiting again we ask
// poll() whether the epoll descriptor still reads as ready, and if so process again first. For
// the same reason the wait starts as soon as the context exists, before any socket is in it.
//
// libcoap's callbacks (response, NACK, event, request handlers) run inside coap_io_process. The
// owner's after_io runs after it has returned, so it may close the context or drop the owner.
// Freeing the context inside coap_io_process would crash: close() from there leaves libcoap's
// objects for the end of the step.
//
// A user may send datagrams of its own on a UDP client session's socket (send_datagram) and take
// the empty ACKs and Resets that answer them (take_empty): libcoap 4.3.1 has no call that returns
// the socket, so connect() finds it by its addresses; before each I/O step the head of its queue
// is looked at with MSG_PEEK, and what the user takes is read off before libcoap reads. A
// datagram that comes between that look and libcoap's read goes to libcoap, which drops an ACK
// of a message it did not send: the user then retransmits, and the peer acknowledges again.

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>

#include <boost/asio/post.hpp>

namespace bg95::coap {

void ensure_libcoap_started() {
  static std::once_flag once;
  std::call_once(once, [] { coap_startup(); });
}

std::chrono::milliseconds Transmission::first_timeout(double draw) const {
  const double factor = 1.0 + 0.5 * std::clamp(draw, 0.0, 1.0);  // ACK_RANDOM_FACTOR 1.5
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(ack_timeout.count()) * factor));
}

unsigned Transmission::retransmissions() const {
  return std::clamp(max_retransmit, 1u, 20u);
}

coap_address_t coap_address(const boost::asio::ip::udp::endpoint& endpoint) {
  coap_address_t address;
  coap_address_init(&address);
  std::memcpy(&address.addr, endpoint.data(), endpoint.size());
  address.size = static_cast<socklen_t>(endpoint.size());
  return address;
}

namespace {

// The port at the end of coap_endpoint_str(): "127.0.0.1:5683 UDP", "[::1]:5684 DTLS".
std::uint16_t endpoint_port(const coap_endpoint_t* endpoint) {
  const std::string text = coap_endpoint_str(endpoint);
  const std::size_t space = text.rfind(' ');
  const std::size_t colon = text.rfind(':', space);
  if (colon == std::string::npos) return 0;
  return static_cast<std::uint16_t>(std::stoul(text.substr(colon + 1, space - colon - 1)));
}

// A socket address as an endpoint, to compare (nullopt when it is not IPv4 or IPv6).
std::optional<boost::asio::ip::udp::endpoint> endpoint_of(const sockaddr* address, socklen_t size) {
  boost::asio::ip::udp::endpoint e;
  if (size > e.capacity() || (address->sa_family != AF_INET && address->sa_family != AF_INET6))
    return std::nullopt;
  std::memcpy(e.data(), address, size);
  e.resize(size);
  return e;
}

// True when `fd` is a socket with these local and peer addresses.
bool is_socket_of(int fd, const boost::asio::ip::udp::endpoint& local,
                  const boost::asio::ip::udp::endpoint& remote) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0 ||
      endpoint_of(reinterpret_cast<sockaddr*>(&address), size) != local)
    return false;
  size = sizeof address;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0 &&
         endpoint_of(reinterpret_cast<sockaddr*>(&address), size) == remote;
}

// The descriptor the next socket() of this process gets: the lowest free one (POSIX), unless
// another thread takes it first (session_socket() checks). -1 when none is free.
int next_descriptor() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  return fd;
}

// The descriptor of a connected UDP client session's socket: the one of this process whose
// local and peer addresses are the session's (libcoap connects it, coap_socket_connect_udp). -1
// when there is none. `guess` (next_descriptor() before the session was made) is tried first:
// looking through every descriptor of a process for each of its 10,000 sessions is 10^8 pairs
// of system calls.
int session_socket(const coap_session_t* session, int guess) {
  const coap_address_t* local = coap_session_get_addr_local(session);
  const coap_address_t* remote = coap_session_get_addr_remote(session);
  const auto want_local = endpoint_of(&local->addr.sa, local->size);
  const auto want_remote = endpoint_of(&remote->addr.sa, remote->size);
  if (!want_local || !want_remote) return -1;
  if (guess >= 0 && is_socket_of(guess, *want_local, *want_remote)) return guess;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    const std::string name = entry.path().filename().string();
    int fd = -1;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) continue;
    if (is_socket_of(fd, *want_local, *want_remote)) return fd;
  }
  return -1;
}

// A shared context's app data (CoapContext::of): its sessions' app data is their CoapContext.
const char kShared = 0;

// Starts watching `context`'s epoll descriptor through a dup() of it in `descriptor`.
bool watch_epoll(coap_context_t* context, boost::asio::posix::stream_descriptor& descriptor,
                 std::string& error) {
  const int coap_fd = coap_context_get_coap_fd(context);
  if (coap_fd < 0) {
    error = "libcoap was built without epoll support";
    return false;
  }
  const int copy = ::fcntl(coap_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) {
    error = std::string("dup of libcoap's descriptor failed: ") + std::strerror(errno);
    return false;
  }
  boost::system::error_code ec;
  descriptor.assign(copy, ec);
  if (ec) {
    ::close(copy);
    error = "cannot watch libcoap's descriptor: " + ec.message();
    return false;
  }
  return true;
}

}  // namespace

CoapContext::CoapContext(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), descriptor_(executor_) {}

CoapContext::~CoapContext() {
  close();
}

CoapContext* CoapContext::of(const coap_session_t* session) {
  void* data = coap_get_app_data(coap_session_get_context(session));
  if (data != &kShared) return static_cast<CoapContext*>(data);
  auto* self = static_cast<CoapContext*>(coap_session_get_app_data(session));
  if (self != nullptr) self->shared_->touch(self);
  return self;
}

bool CoapContext::open_for(std::weak_ptr<void> alive, void* owner, std::string& error,
                           std::function<void()> after_io, std::shared_ptr<SharedContext> shared) {
  close();
  if (shared) {
    if (!shared->start(error)) return false;
    shared_ = std::move(shared);
    shared_->members_.insert(this);
  } else {
    ensure_libcoap_started();
    context_.reset(coap_new_context(nullptr));
    if (!context_) {
      error = "coap_new_context failed";
      return false;
    }
    coap_set_app_data(context_.get(), this);
    coap_context_set_block_mode(context_.get(), 0);
    if (!watch_epoll(context_.get(), descriptor_, error)) {
      close();
      return false;
    }
  }
  alive_ = std::move(alive);
  owner_ = owner;
  after_io_ = std::move(after_io);
  if (!shared_) wait_for_io();
  return true;
}

coap_session_t* CoapContext::connect(const boost::asio::ip::udp::endpoint& server,
                                     const ClientDtls* dtls, const Transmission& transmission) {
  coap_context_t* context = get();
  if (context == nullptr) return nullptr;
  socket_ = -1;
  const int guess = next_descriptor();
  session_.reset(new_client_session(context, coap_address(server), dtls));
  if (!session_) return nullptr;
  if (shared_) coap_session_set_app_data(session_.get(), this);
  const auto ack_ms = std::clamp<std::int64_t>(transmission.ack_timeout.count(), 1000, 65535999);
  coap_fixed_point_t ack{};
  ack.integer_part = static_cast<std::uint16_t>(ack_ms / 1000);
  ack.fractional_part = static_cast<std::uint16_t>(ack_ms % 1000);
  coap_session_set_ack_timeout(session_.get(), ack);
  coap_session_set_max_retransmit(session_.get(),
                                  static_cast<std::uint16_t>(transmission.retransmissions()));
  socket_ = session_socket(session_.get(), guess);
  return session_.get();
}

bool CoapContext::send_datagram(std::span<const std::uint8_t> datagram) {
  if (socket_ < 0) return false;
  if (dtls()) return dtls_send(session_.get(), datagram);  // coap_security.cpp
  const ssize_t sent = ::send(socket_, datagram.data(), datagram.size(), MSG_DONTWAIT);
  return sent == static_cast<ssize_t>(datagram.size());
}

void CoapContext::take_empty_messages() {
  // An empty message is the 4-byte header alone, version 1, no token, code 0.00 (RFC 7252 4.1).
  while (socket_ >= 0 && take_) {
    std::array<std::uint8_t, 5> head{};
    const bool dtls = this->dtls();
    // Over DTLS the datagram is a record: its plaintext is peeked (coap_security.cpp).
    std::array<std::uint8_t, COAP_RXBUFFER_SIZE> record{};
    const ssize_t got = ::recv(socket_, dtls ? record.data() : head.data(),
                               dtls ? record.size() : head.size(), MSG_PEEK | MSG_DONTWAIT);
    if (got <= 0) return;
    std::optional<std::size_t> n = static_cast<std::size_t>(got);
    if (dtls) n = dtls_peek(session_.get(), std::span(record.data(), *n), head);
    if (n != 4u || (head[0] & 0xCF) != 0x40 || head[1] != 0) return;
    const auto type = static_cast<coap_pdu_type_t>((head[0] >> 4) & 0x3);
    if (type != COAP_MESSAGE_ACK && type != COAP_MESSAGE_RST) return;
    const auto take = take_;  // it may clear take_
    if (!take(type, static_cast<coap_mid_t>((head[2] << 8) | head[3]))) return;
    if (dtls) dtls_take_peeked(session_.get());
    ::recv(socket_, record.data(), record.size(), MSG_DONTWAIT);
  }
}

std::optional<std::uint16_t> CoapContext::listen(const boost::asio::ip::udp::endpoint& local,
                                                 bool dtls) {
  if (!context_) return std::nullopt;
  const coap_address_t address = coap_address(local);
  const coap_endpoint_t* endpoint =
      coap_new_endpoint(context_.get(), &address, dtls ? COAP_PROTO_DTLS : COAP_PROTO_UDP);
  if (endpoint == nullptr) return std::nullopt;
  return endpoint_port(endpoint);
}

void CoapContext::take_empty(EmptyTaker take) {
  take_ = std::move(take);
  if (!shared_) return;
  auto& takers = shared_->takers_;
  const auto at = std::find(takers.begin(), takers.end(), this);
  if (take_ && at == takers.end()) takers.push_back(this);
  if (!take_ && at != takers.end()) takers.erase(at);
}

bool CoapContext::in_io() const {
  if (!shared_) return in_io_;
  // Work deferred to the end of the step is done by after_io: it runs for this owner now.
  if (shared_->in_io_) shared_->touch(const_cast<CoapContext*>(this));
  return shared_->in_io_;
}

void CoapContext::process() {
  if (shared_) return shared_->process();
  if (!context_ || in_io_) return;
  const auto owner = alive_.lock();  // a callback may drop the owner's last other reference
  if (!owner) return;
  const unsigned generation = generation_;
  take_empty_messages();
  if (generation != generation_) return;  // closed by the taker
  in_io_ = true;
  coap_io_process(context_.get(), COAP_IO_NO_WAIT);
  in_io_ = false;
  free_libcoap();  // what close() left from inside the step
  if (generation != generation_) return;
  if (after_io_) {
    const auto after_io = after_io_;  // it may close this, which clears after_io_
    after_io();
    if (generation != generation_) return;
  }
  wait_for_io();
}

void CoapContext::process_soon() {
  if (shared_) return shared_->process_soon();
  if (in_io_ || !context_) return;
  boost::asio::post(executor_, [this, alive = alive_, generation = generation_] {
    const auto owner = alive.lock();  // the owner alive: so is this, its member
    if (owner && generation == generation_) process();
  });
}

void CoapContext::wait_for_io() {
  if (waiting_ || !context_) return;
  pollfd ready{descriptor_.native_handle(), POLLIN, 0};
  if (::poll(&ready, 1, 0) > 0) {
    // Still ready: asio's edge-triggered registration would not report it again.
    process_soon();
    return;
  }
  waiting_ = true;
  descriptor_.async_wait(
      boost::asio::posix::stream_descriptor::wait_read,
      [this, alive = alive_, generation = generation_](const boost::system::error_code& ec) {
        const auto owner = alive.lock();
        if (!owner || generation != generation_) return;
        waiting_ = false;
        if (!ec) process();
      });
}

void CoapContext::close() {
  ++generation_;
  waiting_ = false;
  owner_ = nullptr;
  after_io_ = nullptr;
  socket_ = -1;
  take_ = nullptr;
  alive_.reset();
  if (shared_) leave_shared();
  boost::system::error_code ignored;
  descriptor_.close(ignored);
  if (context_) {
    coap_set_app_data(context_.get(), nullptr);  // callbacks find no owner now
    doomed_session_ = std::move(session_);
    doomed_context_ = std::move(context_);
    doomed_secrets_ = std::move(secrets_);
  }
  if (!in_io_) free_libcoap();
}

void CoapContext::leave_shared() {
  if (session_) {
    coap_session_set_app_data(session_.get(), nullptr);  // callbacks find no owner now
    if (shared_->in_io_)
      shared_->doomed_.push_back(session_.release());
    else
      session_.reset();
  }
  shared_->members_.erase(this);
  std::erase(shared_->takers_, this);
  touched_ = false;
  shared_.reset();
}

void CoapContext::after_shared_step() {
  touched_ = false;
  const auto owner = alive_.lock();
  if (!owner || !after_io_) return;
  const auto after_io = after_io_;  // it may close this, which clears after_io_
  after_io();
}

// ---- SharedContext

SharedContext::SharedContext(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), descriptor_(executor_) {}

SharedContext::~SharedContext() {
  boost::system::error_code ignored;
  descriptor_.close(ignored);
  release_doomed();
}

void SharedContext::release_doomed() {
  for (coap_session_t* session : doomed_)
    coap_session_release(session);
  doomed_.clear();
}

bool SharedContext::start(std::string& error) {
  if (context_) return true;
  ensure_libcoap_started();
  context_.reset(coap_new_context(nullptr));
  if (!context_) {
    error = "coap_new_context failed";
    return false;
  }
  coap_set_app_data(context_.get(), const_cast<char*>(&kShared));
  coap_context_set_block_mode(context_.get(), 0);
  if (!watch_epoll(context_.get(), descriptor_, error)) {
    context_.reset();
    return false;
  }
  wait_for_io();
  return true;
}

void SharedContext::touch(CoapContext* member) {
  if (member->touched_) return;
  member->touched_ = true;
  touched_.push_back(member);
}

void SharedContext::process() {
  if (!context_ || in_io_) return;
  const auto keep = shared_from_this();  // the last member may leave in an after_io
  for (CoapContext* m : std::vector<CoapContext*>(takers_))
    if (members_.contains(m)) m->take_empty_messages();
  in_io_ = true;
  coap_io_process(context_.get(), COAP_IO_NO_WAIT);
  in_io_ = false;
  release_doomed();
  // After the step, outside libcoap: the owners its callbacks reached (one may close another).
  const auto touched = std::move(touched_);
  touched_.clear();
  for (CoapContext* m : touched)
    if (members_.contains(m) && m->touched_) m->after_shared_step();
  wait_for_io();
}

void SharedContext::process_soon() {
  if (in_io_ || !context_ || posted_) return;
  posted_ = true;
  boost::asio::post(executor_, [this, alive = weak_from_this()] {
    if (!alive.lock()) return;
    posted_ = false;
    process();
  });
}

void SharedContext::wait_for_io() {
  if (waiting_ || !context_) return;
  pollfd ready{descriptor_.native_handle(), POLLIN, 0};
  if (::poll(&ready, 1, 0) > 0) {
    process_soon();  // still ready: see wait_for_io of CoapContext
    return;
  }
  waiting_ = true;
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [this, alive = weak_from_this()](const boost::system::error_code& ec) {
                           if (!alive.lock()) return;
                           waiting_ = false;
                           if (!ec) process();
                         });
}

void CoapContext::free_libcoap() {
  doomed_session_.reset();  // before its context
  doomed_context_.reset();
  doomed_secrets_.reset();  // what libcoap pointed to, after it
}

}  // namespace bg95::coap
