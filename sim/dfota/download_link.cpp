#include "sim/dfota/download_link.hpp"

#include <algorithm>

#include "protocol/net/download_error.hpp"

namespace bg95::dfota {

DownloadLink::DownloadLink(boost::asio::any_io_executor executor, LinkConditions& conditions,
                           std::chrono::milliseconds idle_timeout, Sink sink)
    : conditions_(conditions),
      idle_timeout_(idle_timeout),
      sink_(std::move(sink)),
      throttle_timer_(executor),
      stall_timer_(executor) {
  if (conditions_.blocked()) arm_stall_timer();
}

bool DownloadLink::chunk(std::span<const std::uint8_t> bytes) {
  if (ended_) return false;
  std::vector<std::uint8_t> copy;
  if (conditions_.corrupt_next > 0) {
    // Bit errors the radio's checks missed: every bit of these bytes flipped.
    copy.assign(bytes.begin(), bytes.end());
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(copy.size(), conditions_.corrupt_next));
    for (std::size_t i = 0; i < n; ++i)
      copy[i] = static_cast<std::uint8_t>(~copy[i]);
    conditions_.corrupt_next -= n;
    bytes = copy;
  }
  if (held_.empty() && !conditions_.blocked() && conditions_.throttle_bps == 0)
    return sink_.write(bytes);
  held_.emplace_back(bytes.begin(), bytes.end());
  held_bytes_ += bytes.size();
  if (conditions_.blocked()) {
    arm_stall_timer();
  } else {
    release();
  }
  return true;
}

void DownloadLink::done(int err) {
  if (ended_) return;
  // A failed transfer ends now (what is held is of no use); a complete one once its bytes
  // have crossed the link.
  if (err != 0 || held_.empty()) return end(err);
  done_ = err;
}

void DownloadLink::conditions_changed() {
  if (ended_) return;
  if (conditions_.blocked()) return arm_stall_timer();
  stall_timer_.cancel();
  stall_timer_armed_ = false;
  release();
}

void DownloadLink::release() {
  while (!held_.empty() && !conditions_.blocked() && !releasing_) {
    std::vector<std::uint8_t> bytes = std::move(held_.front());
    held_.pop_front();
    held_bytes_ -= bytes.size();
    if (!sink_.write(bytes)) return end(net::download_err::kWriteFailed);
    if (conditions_.throttle_bps > 0) {
      // The next bytes may cross once these have, at the throttled rate.
      releasing_ = true;
      throttle_timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(static_cast<double>(bytes.size()) /
                                        static_cast<double>(conditions_.throttle_bps))));
      throttle_timer_.async_wait(
          [this, alive = std::weak_ptr(alive_)](boost::system::error_code ec) {
            if (ec || alive.expired() || ended_) return;
            releasing_ = false;
            release();
          });
    }
  }
  if (held_.empty() && !releasing_ && done_) end(*done_);
}

void DownloadLink::arm_stall_timer() {
  if (stall_timer_armed_) return;
  stall_timer_armed_ = true;
  stall_timer_.expires_after(idle_timeout_);
  stall_timer_.async_wait([this, alive = std::weak_ptr(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired() || ended_ || !conditions_.blocked()) return;
    end(net::download_err::kTimeout);
  });
}

void DownloadLink::end(int err) {
  ended_ = true;
  throttle_timer_.cancel();
  stall_timer_.cancel();
  held_.clear();
  held_bytes_ = 0;
  // The owner usually destroys this link from end(): nothing may touch members after it.
  auto end = std::move(sink_.end);
  if (end) end(err);
}

}  // namespace bg95::dfota
