#pragma once
// One serial port of the module, as a pseudo-terminal. The host opens the slave side
// (/dev/pts/N, or the stable symlink); the module reads and writes the master side.
//
// The port keeps its own slave descriptor open for its whole life. That is what lets the
// host close and reopen the port any number of times: the master never sees EIO or HUP (no
// busy loop, no re-creation), the host's termios settings survive, and the baud rate the host
// chose can be read for pacing. Host opens and closes are seen through inotify (OpenWatcher).

#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pty/epoll_reader.hpp"
#include "pty/open_watcher.hpp"

namespace bg95::pty {

class PtyPort {
 public:
  struct Callbacks {
    std::function<void(std::string_view bytes)> on_data;  // bytes the host wrote
    std::function<void()> on_host_open;
    std::function<void()> on_host_close;
  };

  // Why a port's symlink cannot be made at `link`, or nothing when it can: the folder must
  // exist, and whatever stands at the path must be a symlink to a pty (/dev/pts/N), which is
  // what this program makes (a stale one of an earlier run is replaced). Anything else (a
  // file, a folder, a symlink elsewhere) is the user's and is left alone.
  static std::optional<std::string> link_problem(const std::filesystem::path& link);

  // Opens a new pseudo-terminal in raw mode at 115200 baud; throws std::system_error, and
  // std::runtime_error when link_problem() names one. Ports of a fleet share one watcher;
  // without one the port makes its own.
  PtyPort(boost::asio::any_io_executor executor, std::filesystem::path link = {},
          std::shared_ptr<OpenWatcher> watcher = {});
  ~PtyPort();
  PtyPort(const PtyPort&) = delete;
  PtyPort& operator=(const PtyPort&) = delete;

  void start(Callbacks callbacks);
  // Queues bytes for the host; each call reaches the pty in a single write() when the host
  // keeps up. While no host has the port open, output is dropped as a UART's would be: then
  // the answer is false.
  bool write(std::string bytes);

  const std::string& path() const { return path_; }
  const std::filesystem::path& link() const { return link_; }
  bool host_connected() const { return host_opens_ > 0; }
  // The output speed the host set on its side (e.g. 115200), for pacing.
  std::uint32_t host_baud() const;
  std::size_t queued_bytes() const { return queued_bytes_; }

  // Realistic timing: output leaves at the speed of the baud rate the host set on its side
  // (10 bits a byte, 8N1), divided by the time scale (0.1: ten times as fast), through a
  // transmit FIFO of kUartFifo bytes; and when the host's rate differs from the module's
  // (AT+IPR) both directions arrive garbled, as on a real UART. Off by default (fast profile:
  // every write goes to the pty at once).
  void set_pacing(bool on, double time_scale = 1.0) {
    pacing_ = on;
    pace_scale_ = time_scale > 0 ? time_scale : 1.0;
  }
  void set_module_baud(std::uint32_t baud) { module_baud_ = baud; }
  // True when pacing is on and the host's rate differs from the module's.
  bool baud_mismatch() const;

  static constexpr std::size_t kMaxQueued = 1 << 20;
  // The paced port's transmit FIFO: what leaves at once after the line has been idle, and the
  // most that one write() hands the pty. No BG95 figure is public; 64 bytes is the UART FIFO
  // of Qualcomm-based modules of the same kind (Sierra Wireless forum, "UART FIFO depth and how
  // to change the size": "The size of Rx FIFO in AirPrime modules is 64 bytes").
  static constexpr std::size_t kUartFifo = 64;

 private:
  // A descriptor closed with its owner.
  struct UniqueFd {
    int fd = -1;
    UniqueFd() = default;
    explicit UniqueFd(int f) : fd(f) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();
  };

  void read_loop();
  void deliver(std::size_t size);
  void on_watch(OpenWatcher::Event event);
  void try_write();
  // The pty is full: try_write() again once the host has read some.
  void wait_writable();
  // Drops the output the module queued and the bytes the pty holds for the host.
  void drop_output();
  // Realistic profile: how many of `wanted` bytes the transmit FIFO takes now. None when it
  // has too little room; then pace_timer_ calls try_write() again once it has.
  std::size_t paced_budget(std::size_t wanted);
  void paced_sent(std::size_t bytes);
  double line_bytes_per_s() const;
  static void garble(std::span<char> bytes);
  void make_link();
  void remove_link();

  boost::asio::any_io_executor executor_;
  UniqueFd master_;
  // Reads of the master, at one system call each (EpollReader says why).
  std::optional<EpollReader> reader_;
  // The wait for room in the pty is on a duplicate of the master, made when a write finds the
  // pty full and closed when the queue is empty: Asio keeps EPOLLOUT in a descriptor's epoll
  // registration once it has waited for it, and then every read of the host wakes the
  // master's entry (n_tty_check_unthrottle calls tty_wakeup on the other side of a pty): an
  // extra epoll_wait per round trip, and the master ahead of the watcher in epoll's ready list
  // (deliver() says why that order matters).
  std::optional<boost::asio::posix::stream_descriptor> writable_;
  int slave_fd_ = -1;
  std::shared_ptr<OpenWatcher> watcher_;
  int watch_id_ = -1;
  std::string path_;
  std::filesystem::path link_;
  Callbacks callbacks_;
  std::array<char, 16384> read_buffer_{};  // per port: a fleet has a thousand
  // Handlers posted by this port hold a weak pointer to it: they do nothing once it is gone.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  std::deque<std::string> out_;
  std::size_t out_offset_ = 0;  // bytes of out_.front() already written
  std::size_t queued_bytes_ = 0;
  bool write_waiting_ = false;
  bool pacing_ = false;
  double pace_scale_ = 1.0;
  std::uint32_t module_baud_ = 115200;
  boost::asio::steady_timer pace_timer_;
  bool pace_waiting_ = false;
  double pace_rate_ = 11520;  // bytes a second, as paced_budget() last read it
  // When the line will have sent the last byte written so far (the FIFO is empty then).
  std::chrono::steady_clock::time_point line_free_at_{};
  int host_opens_ = 0;
};

}  // namespace bg95::pty
