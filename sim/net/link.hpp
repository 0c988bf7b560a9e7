#pragma once
// The radio link under the module's data services: every byte a socket, the HTTP(S)
// application, MQTT or PPP sends or receives crosses it. It shapes time (throughput and
// latency per RAT in the realistic profile; nothing in the fast one), and it is where the
// network's faults on data live: a stalled link, latency and loss, connections refused or
// reset, DNS failures (the control socket and scenarios set them, sim/faults.cpp).
// docs/network.md, "The network under the sockets", gives the figures and their sources.
//
// Each direction is a queue paced by a token bucket (Pacer): a chunk's last byte leaves when
// the bucket has paid for it, and it arrives half a round trip later. One timer a direction
// delivers what has arrived, in order; nothing is timed per byte. Each module has its own
// Link; a fleet's links share the event loop.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "sim/timing.hpp"

namespace bg95::net {

// One direction's token bucket, pure arithmetic on the times it is given (the tests step it).
// Tokens (bytes) accrue at `rate` up to `burst`; a chunk offered at `now` starts when the
// chunks before it have left, and its last byte leaves once the bucket has paid for all of it.
class Pacer {
 public:
  using Clock = std::chrono::steady_clock;
  // 0 bytes a second: unlimited (every chunk leaves at once).
  void set_rate(std::uint64_t bytes_per_second, std::uint64_t burst);
  std::uint64_t rate() const { return rate_; }
  // When the last of `bytes` offered at `now` has left.
  Clock::time_point depart(std::size_t bytes, Clock::time_point now);
  // The link stood still for `d`: what was under way leaves that much later.
  void shift(Clock::duration d) { busy_until_ += d; }
  void reset();

 private:
  std::uint64_t rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;  // at busy_until_
  Clock::time_point busy_until_{};
};

// The shape of the link in one access technology (Timing::link_rates).
struct LinkShape {
  std::uint64_t up_bytes_per_second = 0;  // 0: unlimited
  std::uint64_t down_bytes_per_second = 0;
  std::chrono::microseconds round_trip{0};
};

class Link {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Direction { Up, Down };  // module -> network, network -> module
  // What a new connection meets instead of its server.
  enum class ConnectFault { None, Refused, Reset, Timeout };
  // A stream's lost segment is sent again (a retransmission delay); a lost datagram is gone
  // (drop_datagram() decides it before carry()).
  enum class Traffic { Stream, Datagram };

  explicit Link(boost::asio::any_io_executor executor);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // ---- set-up (the module: its timing profile, its RAT, its seed)
  // The shapes of LTE-M and NB-IoT, and which one is in use.
  void set_shapes(LinkShape emtc, LinkShape nbiot);
  void set_shapes(const Timing& timing);
  void set_nbiot(bool nbiot);
  // The loss draws: the same seed gives the same losses.
  void seed(std::uint64_t seed) { draws_.reseed(seed); }
  const LinkShape& shape() const { return nbiot_ ? nbiot_shape_ : emtc_shape_; }

  // ---- the services
  // `bytes` cross the link in `direction`: `arrived` runs on the executor once they would
  // have arrived at the other end, never inside this call. Within a direction the order is
  // kept. (A user sends or hands on its data when `arrived` runs.)
  void carry(Direction direction, std::size_t bytes, std::function<void()> arrived,
             Traffic traffic = Traffic::Stream);
  // Asked before each connection or datagram service opens.
  ConnectFault connect_fault() const { return connect_fault_; }
  // Asked before each name lookup: true, and the lookup fails as a DNS failure.
  bool dns_fails() const { return dns_fails_; }
  // Asked for each datagram: true, and it is lost.
  bool drop_datagram() { return lost(); }
  // Power loss or reset: nothing in flight arrives. (The faults stay: they are the network's.)
  void reset();

  // ---- the network's faults (sim/faults.cpp)
  // Nothing crosses until the stall ends; then what waited goes on, in order.
  void set_stalled(bool stalled);
  bool stalled() const { return stalled_; }
  // Added to each direction's one-way delay.
  void set_added_latency(std::chrono::milliseconds latency) { added_latency_ = latency; }
  std::chrono::milliseconds added_latency() const { return added_latency_; }
  // Percent of datagrams lost, and of a stream's chunks that wait for a retransmission.
  void set_loss(int percent) { loss_percent_ = percent; }
  int loss() const { return loss_percent_; }
  void set_connect_fault(ConnectFault fault) { connect_fault_ = fault; }
  void set_dns_fails(bool fails) { dns_fails_ = fails; }
  // A lost segment of a stream arrives this much later: the sender's retransmission timeout,
  // Linux's 200 ms minimum (TCP_RTO_MIN) plus a round trip (RFC 6298 2.4, 5.5).
  std::chrono::microseconds retransmission_delay() const;
  // The faults as the control socket's status shows them.
  std::vector<std::pair<std::string, std::string>> status() const;

 private:
  struct InFlight {
    Clock::time_point offered;
    Clock::time_point at;  // when it arrives
    std::function<void()> arrived;
  };
  struct Lane {
    explicit Lane(const boost::asio::any_io_executor& executor) : timer(executor) {}
    Pacer pacer;
    std::deque<InFlight> queue;
    boost::asio::steady_timer timer;
    Clock::time_point last_arrival{};
    bool armed = false;
  };
  Lane& lane(Direction d) { return d == Direction::Up ? up_ : down_; }
  void apply_shape();
  bool lost();
  void arm(Lane& lane);
  void deliver(Lane& lane);
  void release_after_stall(Lane& lane, Clock::time_point now);

  boost::asio::any_io_executor executor_;
  LinkShape emtc_shape_, nbiot_shape_;
  bool nbiot_ = false;
  Lane up_, down_;
  bool stalled_ = false;
  Clock::time_point stalled_since_{};
  std::chrono::milliseconds added_latency_{0};
  int loss_percent_ = 0;
  ConnectFault connect_fault_ = ConnectFault::None;
  bool dns_fails_ = false;
  Jitter draws_{0x4C494E4BULL};
  // Handlers hold a weak reference: after reset() or destruction they do nothing.
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace bg95::net
