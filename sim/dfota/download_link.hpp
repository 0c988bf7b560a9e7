#pragma once
// The radio link between the module's network stack and its package area, as faults shape
// it: a scenario (or a lost registration) can stall it, throttle it or corrupt the bytes that
// cross it. The downloader (HTTP or CoAP) hands every chunk to the link; the link passes it on
// at once when nothing is wrong, else holds it and lets it through later (throttle), or not
// at all until the link comes back (stall). A stall that lasts the download timeout ends the
// download with 704, as silence from the server would.
//
// The link is the module's side: the server sees its transfer go at its own pace. Faults that
// the server must see (a stalled TCP window, a reset connection) are the package server's.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace bg95::dfota {

// What is wrong with the link now; kept by the DFOTA service across downloads.
struct LinkConditions {
  bool stalled = false;            // a scenario stalled it
  bool no_service = false;         // the module lost its registration
  std::uint64_t throttle_bps = 0;  // bytes per second; 0 = as fast as they come
  std::uint64_t corrupt_next = 0;  // the next this many bytes arrive flipped
  bool blocked() const { return stalled || no_service; }
};

class DownloadLink {
 public:
  struct Sink {
    // Bytes that crossed the link, in order. False: the package area refused them.
    std::function<bool(std::span<const std::uint8_t>)> write;
    // The download is over: the downloader's code, 704 for a stall that lasted too long, or
    // 707 when write() refused held bytes.
    std::function<void(int err)> end;
  };

  DownloadLink(boost::asio::any_io_executor executor, LinkConditions& conditions,
               std::chrono::milliseconds idle_timeout, Sink sink);
  DownloadLink(const DownloadLink&) = delete;
  DownloadLink& operator=(const DownloadLink&) = delete;

  // From the downloader: a chunk (false when the area refused it) and the end.
  bool chunk(std::span<const std::uint8_t> bytes);
  void done(int err);
  // The conditions changed (stall, resume, throttle): held bytes move again or stop.
  void conditions_changed();

  std::uint64_t held_bytes() const { return held_bytes_; }

 private:
  bool pass(std::span<const std::uint8_t> bytes);
  void release();
  void end(int err);
  void arm_stall_timer();

  LinkConditions& conditions_;
  std::chrono::milliseconds idle_timeout_;
  Sink sink_;
  std::deque<std::vector<std::uint8_t>> held_;
  std::uint64_t held_bytes_ = 0;
  std::optional<int> done_;  // the downloader finished while bytes were held
  bool ended_ = false;
  bool releasing_ = false;  // a throttle timer is running
  boost::asio::steady_timer throttle_timer_;
  boost::asio::steady_timer stall_timer_;
  bool stall_timer_armed_ = false;
  // Handlers of timers that expired just before the link was destroyed see this gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace bg95::dfota
