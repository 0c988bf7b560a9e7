#include "scenarios/package_server/http_connection.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <type_traits>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "scenarios/package_server/http_request.hpp"
#include "scenarios/package_server/http_response.hpp"

namespace bg95::pkgserver {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = asio::ssl::stream<tcp::socket>;

constexpr std::size_t kChunk = 16 * 1024;  // body bytes per write
constexpr int kRateSlicesPerSecond = 20;   // a rate-limited body goes out in 20 writes a second

std::string millis(std::chrono::milliseconds ms) {
  return std::to_string(ms.count()) + " ms";
}

template <class Stream>
class HttpConnection final : public HttpConnectionBase,
                             public std::enable_shared_from_this<HttpConnection<Stream>> {
 public:
  HttpConnection(Stream stream, ConnectionSetup setup)
      : stream_(std::move(stream)),
        setup_(std::move(setup)),
        state_(*setup_.state),
        deadline_(socket().get_executor()),
        pacer_(socket().get_executor()) {}

  void start() override {
    if constexpr (kTls) {
      phase_ = Phase::Handshake;
      arm_deadline();
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](
                                  const boost::system::error_code& ec) { self->on_handshake(ec); });
    } else {
      read_head();
    }
  }

  void abort() override {
    setup_.on_finished = nullptr;
    close_socket();
  }

 private:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  enum class Phase { Handshake, Head, Sending, Stalled, Done };

  // The response on the wire: the plan, and where sending stands.
  struct Sending {
    ResponsePlan plan;
    Effects effects;
    ServerEvent event;
    std::uint64_t pos = 0;      // next body offset to send
    std::uint64_t stop_at = 0;  // end of what is sent (truncate_at may bring it forward)
    bool truncated = false;
    std::optional<std::uint64_t> stall_at;  // the body offset to stall at, until done
    bool head_sent = false;
    Clock::time_point pace_start;  // the rate limit counts from here ...
    std::uint64_t pace_pos = 0;    // ... and from this offset
  };

  tcp::socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  ServerEvent base_event() const {
    ServerEvent event;
    event.protocol = setup_.protocol;
    event.peer = setup_.peer;
    event.faults = setup_.connection_faults;
    return event;
  }

  // ------------------------------------------------------------------ ending

  void close_socket() {
    if (phase_ == Phase::Done) return;
    phase_ = Phase::Done;
    deadline_.cancel();
    pacer_.cancel();
    boost::system::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
  }

  void finish() {
    close_socket();
    if (auto done = std::move(setup_.on_finished)) done();
  }

  // ------------------------------------------------------------------ reading

  // A deadline for the handshake or the next request head. The generation tells an expiry
  // already queued when the deadline was moved from the current one.
  void arm_deadline() {
    const std::uint64_t generation = ++deadline_generation_;
    deadline_.expires_after(state_.request_timeout);
    deadline_.async_wait(
        [self = this->shared_from_this(), generation](const boost::system::error_code& ec) {
          if (ec || self->phase_ == Phase::Done || generation != self->deadline_generation_) {
            return;
          }
          self->on_deadline();
        });
  }

  void on_deadline() {
    if (phase_ == Phase::Handshake) {
      ServerEvent event = base_event();
      event.outcome = Outcome::HandshakeFailed;
      event.detail = "no TLS handshake within " + millis(state_.request_timeout);
      state_.emit(std::move(event));
    } else if (phase_ == Phase::Head && !in_.empty()) {
      ServerEvent event = base_event();
      event.outcome = Outcome::Refused;
      event.detail = "request head not complete within " + millis(state_.request_timeout);
      state_.emit(std::move(event));
    } else if (phase_ == Phase::Head) {
      report_unused("no request within " + millis(state_.request_timeout));
    } else {
      return;  // sending: no deadline
    }
    finish();
  }

  // A connection that ends before its first request is reported once: after a TLS handshake
  // with the wrong CA's certificate, a client that checks the certificate only once the
  // handshake is over (cpp-httplib does) just closes.
  void report_unused(std::string why) {
    if (requests_ > 0) return;
    ServerEvent event = base_event();
    event.outcome = Outcome::Closed;
    event.detail = std::move(why);
    state_.emit(std::move(event));
  }

  void on_handshake(const boost::system::error_code& ec) {
    if (phase_ == Phase::Done) return;
    ++deadline_generation_;
    deadline_.cancel();
    if (ec) {
      ServerEvent event = base_event();
      event.outcome = Outcome::HandshakeFailed;
      event.detail = ec.message();
      state_.emit(std::move(event));
      finish();
      return;
    }
    read_head();
  }

  void read_head() {
    phase_ = Phase::Head;
    if (take_head()) return;
    arm_deadline();
    keep_reading();
  }

  // A complete head in the input: handles it and returns true. Also true when the head is
  // too long (answered 431).
  bool take_head() {
    const std::size_t crlf = in_.find("\r\n\r\n");
    const std::size_t lf = in_.find("\n\n");
    const std::size_t end = std::min(crlf, lf);
    if (end == std::string::npos) {
      if (in_.size() <= state_.max_header_bytes) return false;
      ++deadline_generation_;
      deadline_.cancel();
      respond(
          plan_text(
              431, "request head longer than " + std::to_string(state_.max_header_bytes) + " bytes",
              false),
          Effects{}, base_event());
      return true;
    }
    const std::size_t terminator = end == crlf ? 4 : 2;
    const std::string head = in_.substr(0, end);
    in_.erase(0, end + terminator);
    ++deadline_generation_;
    deadline_.cancel();
    if (head.size() > state_.max_header_bytes) {
      respond(plan_text(431, "request head longer than the limit", false), Effects{}, base_event());
      return true;
    }
    handle(head);
    return true;
  }

  // One read outstanding whenever the input may grow: for the next head, and while a response
  // goes out, to notice that the peer went away.
  void keep_reading() {
    if (reading_ || peer_gone_ || phase_ == Phase::Done) return;
    if (phase_ != Phase::Head && in_.size() > state_.max_header_bytes) return;  // enough queued
    reading_ = true;
    stream_.async_read_some(
        asio::buffer(read_buffer_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
          self->on_read(ec, n);
        });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (phase_ == Phase::Done) return;
    if (ec) {
      peer_gone_ = true;
      // Waiting for a request or stalled for good: nothing more will happen. While sending,
      // the next write tells whether the peer is really gone or only half-closed.
      if (phase_ == Phase::Head && in_.empty()) report_unused("closed before a request");
      if (phase_ == Phase::Head && !in_.empty()) {
        ServerEvent event = base_event();
        event.outcome = Outcome::Refused;
        event.detail = "closed in the middle of a request head";
        state_.emit(std::move(event));
      }
      if (phase_ == Phase::Head || phase_ == Phase::Stalled) finish();
      return;
    }
    in_.append(read_buffer_.data(), n);
    if (phase_ == Phase::Head) {
      if (take_head()) return;
    }
    keep_reading();
  }

  // ------------------------------------------------------------------ answering

  void handle(const std::string& head) {
    ++requests_;
    ServerEvent event = base_event();
    HeadParse parsed = parse_request_head(head);
    if (parsed.request) {
      event.method = parsed.request->method;
      event.path = join_path(parsed.request->segments);
    }
    if (parsed.status != 0) {
      respond(plan_text(parsed.status, parsed.why, false, event.method == "HEAD"), Effects{},
              std::move(event));
      return;
    }
    const HttpRequest& request = *parsed.request;
    const Lookup found = state_.content.find(request.segments);
    TransferTicket ticket;
    Effects effects = state_.faults.select(setup_.protocol, event.path, ticket);
    event.faults.insert(event.faults.end(), effects.applied.begin(), effects.applied.end());
    if (effects.close_without_response) {
      event.outcome = Outcome::NoResponse;
      state_.emit(std::move(event));
      finish();
      return;
    }
    respond(plan_response(request, found, effects), std::move(effects), std::move(event));
  }

  void respond(ResponsePlan plan, Effects effects, ServerEvent event) {
    phase_ = Phase::Sending;
    event.status = plan.status;
    event.range_first = plan.range_first;
    event.range_last = plan.range_last;
    event.detail = plan.detail;
    if (!plan.file_body) effects = Effects{};  // byte faults concern the file only
    Sending s;
    s.pos = plan.begin;
    s.stop_at = plan.head_only ? plan.begin : plan.end;
    if (!plan.head_only && effects.truncate_at && *effects.truncate_at < s.stop_at) {
      s.stop_at = std::max(plan.begin, *effects.truncate_at);
      s.truncated = true;
    }
    if (!plan.head_only && effects.stall_after && *effects.stall_after < s.stop_at) {
      s.stall_at = std::max(plan.begin, *effects.stall_after);
    }
    s.pace_start = Clock::now();
    s.pace_pos = s.pos;
    s.plan = std::move(plan);
    s.effects = std::move(effects);
    s.event = std::move(event);
    sending_ = std::move(s);
    keep_reading();
    write_next();
  }

  void write_next() {
    if (phase_ != Phase::Sending) return;
    Sending& s = *sending_;
    std::uint64_t limit = s.stop_at;
    if (s.stall_at) limit = std::min(limit, *s.stall_at);
    if (s.pos == limit && s.head_sent) {
      if (s.stall_at && s.pos == *s.stall_at) {
        stall();
      } else {
        end_response(s.truncated ? Outcome::Truncated : Outcome::Complete);
      }
      return;
    }
    std::uint64_t chunk = kChunk;
    if (s.effects.rate_limit) {
      const std::uint64_t rate = *s.effects.rate_limit;
      chunk = std::clamp<std::uint64_t>(rate / kRateSlicesPerSecond, 1, kChunk);
      // Byte `pos` is due when the bytes before it would have taken that long at the rate.
      const auto due =
          s.pace_start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                             static_cast<double>(s.pos - s.pace_pos) / static_cast<double>(rate)));
      if (s.head_sent && Clock::now() < due) {
        pacer_.expires_at(due);
        pacer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
          if (!ec) self->write_next();
        });
        return;
      }
    }
    const std::uint64_t end = std::min(limit, s.pos + chunk);
    out_.clear();
    if (!s.head_sent) out_.assign(s.plan.head.begin(), s.plan.head.end());
    const std::size_t head_bytes = out_.size();
    const auto* body = s.plan.body->data();
    out_.insert(out_.end(), body + s.pos, body + end);
    s.effects.corrupt_chunk(s.pos, out_.data() + head_bytes, out_.size() - head_bytes);
    asio::async_write(
        stream_, asio::buffer(out_),
        [self = this->shared_from_this(), end](const boost::system::error_code& ec, std::size_t) {
          self->on_written(ec, end);
        });
  }

  void on_written(const boost::system::error_code& ec, std::uint64_t end) {
    if (phase_ != Phase::Sending) return;
    Sending& s = *sending_;
    if (ec) {
      s.event.detail = "the peer went away: " + ec.message();
      end_response(Outcome::Closed);
      return;
    }
    s.head_sent = true;
    s.event.bytes_sent += end - s.pos;
    s.pos = end;
    write_next();
  }

  void stall() {
    Sending& s = *sending_;
    s.stall_at.reset();
    if (s.effects.stall_for) {
      pacer_.expires_after(*s.effects.stall_for);
      pacer_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
        if (ec || self->phase_ != Phase::Sending) return;
        self->sending_->pace_start = Clock::now();
        self->sending_->pace_pos = self->sending_->pos;
        self->sending_->event.detail = "stalled for " + millis(*self->sending_->effects.stall_for);
        self->write_next();
      });
      return;
    }
    // For good: the request is over as far as the server goes; the connection stays open and
    // silent until the peer closes it (or the server stops).
    phase_ = Phase::Stalled;
    s.event.outcome = Outcome::Stalled;
    s.event.detail = "stalled after byte offset " + std::to_string(s.pos);
    state_.emit(std::move(s.event));
    keep_reading();
  }

  void end_response(Outcome outcome) {
    Sending& s = *sending_;
    s.event.outcome = outcome;
    const bool keep = outcome == Outcome::Complete && s.plan.keep_alive && !peer_gone_;
    state_.emit(std::move(s.event));
    sending_.reset();
    if (keep) {
      read_head();
    } else {
      finish();
    }
  }

  Stream stream_;
  ConnectionSetup setup_;
  ServerState& state_;  // kept alive by setup_.state
  asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  asio::steady_timer pacer_;
  Phase phase_ = Phase::Head;
  std::string in_;  // received, not yet parsed
  std::array<char, 4096> read_buffer_{};
  bool reading_ = false;
  bool peer_gone_ = false;
  std::uint64_t requests_ = 0;  // request heads taken
  std::optional<Sending> sending_;
  std::vector<std::uint8_t> out_;  // the write in flight
};

}  // namespace

std::shared_ptr<HttpConnectionBase> make_http_connection(tcp::socket socket,
                                                         asio::ssl::context* tls,
                                                         ConnectionSetup setup) {
  if (tls == nullptr) {
    return std::make_shared<HttpConnection<tcp::socket>>(std::move(socket), std::move(setup));
  }
  return std::make_shared<HttpConnection<TlsStream>>(TlsStream(std::move(socket), *tls),
                                                     std::move(setup));
}

}  // namespace bg95::pkgserver
