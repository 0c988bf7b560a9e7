#include "sim/net/link.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

namespace bg95::net {

// ---- Pacer --------------------------------------------------------------------------------

void Pacer::set_rate(std::uint64_t bytes_per_second, std::uint64_t burst) {
  rate_ = bytes_per_second;
  burst_ = static_cast<double>(burst);
  tokens_ = std::min(tokens_, burst_);
}

Pacer::Clock::time_point Pacer::depart(std::size_t bytes, Clock::time_point now) {
  if (rate_ == 0) return now;
  const double rate = static_cast<double>(rate_);
  // The bucket refills while the link is idle, up to its depth.
  const Clock::time_point start = std::max(now, busy_until_);
  const double idle = std::chrono::duration<double>(start - busy_until_).count();
  const double tokens = std::min(burst_, tokens_ + idle * rate);
  const double owed = static_cast<double>(bytes) - tokens;
  const auto sending = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(0.0, owed) / rate));
  busy_until_ = start + sending;
  tokens_ = std::max(0.0, -owed);
  return busy_until_;
}

void Pacer::reset() {
  tokens_ = burst_;
  busy_until_ = {};
}

// ---- Link ---------------------------------------------------------------------------------

namespace {

// The bucket's depth: one IP packet of an LTE bearer (1500 bytes) passes an idle link at once.
constexpr std::uint64_t kBurst = 1500;

// The control socket's words for Link::ConnectFault, in its order.
constexpr const char* kConnectWords[] = {"ok", "refuse", "reset", "timeout"};

}  // namespace

Link::Link(boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), up_(executor_), down_(executor_) {}

Link::~Link() = default;

void Link::set_shapes(LinkShape emtc, LinkShape nbiot) {
  emtc_shape_ = emtc;
  nbiot_shape_ = nbiot;
  apply_shape();
}

void Link::set_shapes(const Timing& timing) {
  auto shape = [&timing](bool nbiot) {
    const Timing::LinkRates r = timing.link_rates(nbiot);
    return LinkShape{r.up, r.down, r.round_trip};
  };
  set_shapes(shape(false), shape(true));
}

void Link::set_nbiot(bool nbiot) {
  nbiot_ = nbiot;
  apply_shape();
}

void Link::apply_shape() {
  up_.pacer.set_rate(shape().up_bytes_per_second, kBurst);
  down_.pacer.set_rate(shape().down_bytes_per_second, kBurst);
}

bool Link::lost() {
  return loss_percent_ > 0 && draws_.uniform() * 100.0 < loss_percent_;
}

std::chrono::microseconds Link::retransmission_delay() const {
  return std::chrono::milliseconds(200) + shape().round_trip + 2 * added_latency_;
}

void Link::carry(Direction direction, std::size_t bytes, std::function<void()> arrived,
                 Traffic traffic) {
  Lane& l = lane(direction);
  const Clock::time_point now = Clock::now();
  Clock::time_point at = l.pacer.depart(bytes, now) + shape().round_trip / 2 + added_latency_;
  if (traffic == Traffic::Stream && lost()) at += retransmission_delay();
  // Order within a direction: nothing overtakes what went before it.
  at = std::max(at, l.last_arrival);
  l.last_arrival = at;
  const bool was_empty = l.queue.empty();
  l.queue.push_back({now, at, std::move(arrived)});
  if (was_empty) arm(l);
}

void Link::arm(Lane& l) {
  if (l.armed || l.queue.empty() || stalled_) return;
  l.armed = true;
  std::weak_ptr<int> life = life_;
  auto go = [this, &l, life](boost::system::error_code ec = {}) {
    if (ec || life.expired()) return;
    l.armed = false;
    deliver(l);
  };
  if (l.queue.front().at <= Clock::now()) {
    boost::asio::post(executor_, [go]() mutable { go(); });
  } else {
    l.timer.expires_at(l.queue.front().at);
    l.timer.async_wait(go);
  }
}

void Link::deliver(Lane& l) {
  const std::weak_ptr<int> life = life_;
  while (!l.queue.empty() && !stalled_ && l.queue.front().at <= Clock::now()) {
    auto arrived = std::move(l.queue.front().arrived);
    l.queue.pop_front();
    if (arrived) arrived();
    if (life.expired()) return;  // the callback reset or destroyed the link
  }
  arm(l);
}

void Link::set_stalled(bool stalled) {
  if (stalled == stalled_) return;
  const Clock::time_point now = Clock::now();
  if (stalled) {
    stalled_ = true;
    stalled_since_ = now;
    return;  // an armed timer finds the link stalled and delivers nothing
  }
  stalled_ = false;
  release_after_stall(up_, now);
  release_after_stall(down_, now);
}

// What waited goes on: each chunk as much later as the stall held it (from when it was
// offered, or from the stall's start), and never before the one ahead of it.
void Link::release_after_stall(Lane& l, Clock::time_point now) {
  l.pacer.shift(now - stalled_since_);
  Clock::time_point previous{};
  for (InFlight& f : l.queue) {
    const Clock::time_point held_from = std::max(f.offered, stalled_since_);
    f.at = std::max({f.at + (now - held_from), now, previous});
    previous = f.at;
  }
  if (!l.queue.empty()) l.last_arrival = std::max(l.last_arrival, previous);
  if (l.armed) {
    l.timer.cancel();  // its handler sees the cancellation; arm again for the new time
    l.armed = false;
  }
  arm(l);
}

void Link::reset() {
  life_ = std::make_shared<int>(0);
  for (Lane* l : {&up_, &down_}) {
    l->timer.cancel();
    l->armed = false;
    l->queue.clear();
    l->pacer.reset();
    l->last_arrival = {};
  }
  if (stalled_) stalled_since_ = Clock::now();
}

std::vector<std::pair<std::string, std::string>> Link::status() const {
  return {{"net_stall", stalled_ ? "on" : "off"},
          {"net_latency", std::to_string(added_latency_.count())},
          {"net_loss", std::to_string(loss_percent_)},
          {"net_connect", kConnectWords[static_cast<int>(connect_fault_)]},
          {"net_dns", dns_fails_ ? "fail" : "ok"}};
}

}  // namespace bg95::net
