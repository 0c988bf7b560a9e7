#include "pty/pty_port.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "pty/line_speed.hpp"

namespace bg95::pty {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

int open_master() {
  const int fd = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw_errno("posix_openpt");
  if (::grantpt(fd) != 0 || ::unlockpt(fd) != 0) {
    const int saved = errno;
    ::close(fd);
    throw std::system_error(saved, std::generic_category(), "grantpt/unlockpt");
  }
  return fd;
}

void make_raw(int fd) {
  termios t{};
  if (::tcgetattr(fd, &t) != 0) throw_errno("tcgetattr");
  ::cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  ::cfsetispeed(&t, B115200);
  ::cfsetospeed(&t, B115200);
  if (::tcsetattr(fd, TCSANOW, &t) != 0) throw_errno("tcsetattr");
}

}  // namespace

PtyPort::PtyPort(boost::asio::any_io_executor executor, std::filesystem::path link,
                 std::shared_ptr<OpenWatcher> watcher)
    : executor_(executor),
      watcher_(watcher ? std::move(watcher) : OpenWatcher::create(executor)),
      link_(std::move(link)),
      pace_timer_(executor) {
  if (!link_.empty()) {
    if (const auto problem = link_problem(link_)) throw std::runtime_error(*problem);
  }
  master_.fd = open_master();
  reader_.emplace(executor_, master_.fd);
  char name[128];
  if (::ptsname_r(master_.fd, name, sizeof name) != 0) throw_errno("ptsname_r");
  path_ = name;
  slave_fd_ = ::open(name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (slave_fd_ < 0) throw_errno("open pty slave");
  make_raw(slave_fd_);
  if (!link_.empty()) make_link();
}

PtyPort::~PtyPort() {
  watcher_->remove(watch_id_);
  remove_link();
  if (slave_fd_ >= 0) ::close(slave_fd_);
  // Out of epoll before the master closes: the duplicate, then the master's own entry.
  writable_.reset();
  reader_.reset();
}

PtyPort::UniqueFd::~UniqueFd() {
  if (fd >= 0) ::close(fd);
}

std::optional<std::string> PtyPort::link_problem(const std::filesystem::path& link) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path folder = link.parent_path().empty() ? fs::path(".") : link.parent_path();
  if (!fs::is_directory(folder, ec))
    return "the folder of the link " + link.string() + " (" + folder.string() + ") does not exist";
  const fs::file_status status = fs::symlink_status(link, ec);
  if (status.type() == fs::file_type::not_found) return std::nullopt;
  if (ec) return "cannot look at " + link.string() + ": " + ec.message();
  const std::string target = fs::is_symlink(status) ? fs::read_symlink(link, ec).string() : "";
  const bool pty_link = target.starts_with("/dev/pts/") && target.size() > 9 &&
                        target.find_first_not_of("0123456789", 9) == std::string::npos;
  if (!pty_link)
    return link.string() +
           " exists and is not a link to a pty: it is left alone (remove it, "
           "or choose another --link)";
  return std::nullopt;
}

void PtyPort::make_link() {
  // Replace the stale link of a killed run atomically: it must not keep the host from
  // finding the port.
  std::filesystem::path tmp = link_;
  tmp += ".tmp" + std::to_string(::getpid());
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_symlink(path_, tmp);
  std::filesystem::rename(tmp, link_);
}

void PtyPort::remove_link() {
  if (link_.empty()) return;
  std::error_code ec;
  // Only remove the link if it still points at this port (another run may have taken it).
  if (std::filesystem::is_symlink(link_, ec) &&
      std::filesystem::read_symlink(link_, ec) == std::filesystem::path(path_))
    std::filesystem::remove(link_, ec);
}

void PtyPort::start(Callbacks callbacks) {
  callbacks_ = std::move(callbacks);
  watch_id_ = watcher_->add(path_, [this](OpenWatcher::Event e) { on_watch(e); });
  read_loop();
}

void PtyPort::read_loop() {
  reader_->async_read_some(read_buffer_, [this, alive = std::weak_ptr<void>(alive_)](
                                             boost::system::error_code ec, std::size_t n) {
    if (alive.expired() || ec == boost::asio::error::operation_aborted) return;
    // With our own slave descriptor open an error does not happen; if it does, the next read
    // waits for the descriptor's next readiness event rather than spin.
    if (ec) return read_loop();
    deliver(n);
  });
}

void PtyPort::deliver(std::size_t size) {
  // The host opened the port before it wrote: that open must reach the module before these
  // bytes do, and a close and a new open before the new host's bytes (else the close would
  // drop the answer to them).
  // - No host known yet: read the watcher now. The kernel queued the open event in open(),
  //   before the host's write() could make these bytes readable, so it is there to be read.
  //   (One read, only while no host is known.)
  // - A host known: a close and a new open came before these bytes were written, so the
  //   watcher's inotify descriptor entered epoll's ready list before the master's did (the
  //   list is first in, first out: ep_poll_callback in fs/eventpoll.c adds at its tail), and
  //   Asio runs the ready descriptors in the order epoll_wait returns them: the watcher's
  //   handler has run by now. The master enters the list only when the host's bytes arrive
  //   (its registration has no EPOLLOUT: see writable_), so it cannot be there earlier.
  // This keeps the round trip at epoll_wait, read, write: no read of the inotify descriptor
  // per round trip, and no defer that makes the reactor poll again before the delivery.
  if (!host_connected()) watcher_->drain();
  const std::weak_ptr<void> alive = alive_;
  if (callbacks_.on_data) callbacks_.on_data(std::string_view(read_buffer_.data(), size));
  // The module may have closed the port (the USB port vanishes in DFOTA mode); the next read
  // reuses the buffer only now that the module is done with it.
  if (!alive.expired()) read_loop();
}

void PtyPort::on_watch(OpenWatcher::Event event) {
  if (event == OpenWatcher::Event::Open && host_opens_++ == 0) {
    // Whatever was written while nobody listened is gone, as on a real UART.
    drop_output();
    if (callbacks_.on_host_open) callbacks_.on_host_open();
  }
  if (event == OpenWatcher::Event::Close && host_opens_ > 0 && --host_opens_ == 0) {
    // What the host that left did not read goes with it (the rest of a long answer, say):
    // the next host to open the port must not get it.
    drop_output();
    if (callbacks_.on_host_close) callbacks_.on_host_close();
  }
}

void PtyPort::drop_output() {
  ::tcflush(slave_fd_, TCIFLUSH);
  out_.clear();
  out_offset_ = 0;
  queued_bytes_ = 0;
}

bool PtyPort::write(std::string bytes) {
  if (bytes.empty()) return true;
  // Nobody listens, as far as the events handled so far say: read the watcher now, in case a
  // host has just opened the port, before the bytes are declared lost. With a host there is no
  // decision to make, and no read.
  if (!host_connected()) watcher_->drain();
  // Nobody listens: the bytes are lost (only known when the port is watched).
  if (!host_connected() && watch_id_ >= 0) return false;
  if (baud_mismatch()) garble(std::span(bytes.data(), bytes.size()));
  // Output after an idle spell starts the line's schedule now (paced_budget() says why a
  // busy line keeps its own).
  if (pacing_ && out_.empty())
    line_free_at_ = std::max(line_free_at_, std::chrono::steady_clock::now());
  queued_bytes_ += bytes.size();
  out_.push_back(std::move(bytes));
  // A host that stopped reading must not make the module grow without bound.
  while (queued_bytes_ > kMaxQueued && out_.size() > 1) {
    queued_bytes_ -= out_.front().size() - out_offset_;
    out_.pop_front();
    out_offset_ = 0;
  }
  try_write();
  return true;
}

void PtyPort::try_write() {
  while (!out_.empty() && !write_waiting_ && !pace_waiting_) {
    const std::string& front = out_.front();
    std::size_t size = front.size() - out_offset_;
    if (pacing_ && (size = paced_budget(size)) == 0) return;
    const ssize_t n = ::write(master_.fd, front.data() + out_offset_, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return wait_writable();
      // EIO: no reader can exist while we hold the slave; drop the output.
      out_.clear();
      out_offset_ = 0;
      queued_bytes_ = 0;
      return;
    }
    out_offset_ += static_cast<std::size_t>(n);
    queued_bytes_ -= static_cast<std::size_t>(n);
    if (pacing_) paced_sent(static_cast<std::size_t>(n));
    if (out_offset_ == front.size()) {
      out_.pop_front();
      out_offset_ = 0;
    }
  }
  if (out_.empty() && !write_waiting_) writable_.reset();
}

void PtyPort::wait_writable() {
  if (!writable_) {
    const int fd = ::fcntl(master_.fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0) {
      // No descriptor to spare (a large fleet at its limit): look again in a millisecond.
      pace_waiting_ = true;
      pace_timer_.expires_after(std::chrono::milliseconds(1));
      pace_timer_.async_wait(
          [this, alive = std::weak_ptr<void>(alive_)](boost::system::error_code ec) {
            if (alive.expired()) return;
            pace_waiting_ = false;
            if (!ec) try_write();
          });
      return;
    }
    writable_.emplace(executor_, fd);
  }
  write_waiting_ = true;
  writable_->async_wait(boost::asio::posix::stream_descriptor::wait_write,
                        [this, alive = std::weak_ptr<void>(alive_)](boost::system::error_code ec) {
                          if (alive.expired()) return;
                          write_waiting_ = false;
                          if (!ec) try_write();
                        });
}

bool PtyPort::baud_mismatch() const {
  if (!pacing_) return false;
  const std::uint32_t host = host_baud();
  return host != 0 && host != module_baud_;
}

double PtyPort::line_bytes_per_s() const {
  // 8N1: a start bit, 8 data bits and a stop bit per byte. The time scale of the realistic
  // profile applies here too (0.1: ten times as fast).
  return std::max<std::uint32_t>(host_baud(), 300) / 10.0 / pace_scale_;
}

std::size_t PtyPort::paced_budget(std::size_t wanted) {
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  pace_rate_ = line_bytes_per_s();
  // Bytes still in the FIFO: what the line has not sent yet of the earlier writes. Negative
  // when a timer came late while output waited: the line is behind its schedule, and the FIFO
  // takes that much more now, so that a loaded machine does not stretch the whole transfer;
  // the host still never holds more than the FIFO plus what the line carried since the
  // output began.
  const double in_fifo = std::chrono::duration<double>(line_free_at_ - now).count() * pace_rate_;
  const double fifo = static_cast<double>(kUartFifo);
  const auto room = static_cast<std::size_t>(std::max(0.0, std::floor(fifo - in_fifo + 1e-6)));
  // Refill once half the FIFO is free, or all of a shorter message fits (a URC is not split):
  // the next write is due while the line still has half a FIFO to send, so a timer that fires
  // a little late leaves no gap on the line, and a 20 KB answer takes 600 writes, not 20,000.
  const std::size_t chunk = std::min(wanted, kUartFifo / 2);
  if (room >= chunk) return std::min(room, wanted);
  const double wait_s = (in_fifo - (fifo - static_cast<double>(chunk))) / pace_rate_;
  pace_waiting_ = true;
  pace_timer_.expires_at(
      now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait_s)));
  pace_timer_.async_wait([this, alive = std::weak_ptr<void>(alive_)](boost::system::error_code ec) {
    if (alive.expired()) return;
    pace_waiting_ = false;
    if (!ec) try_write();
  });
  return 0;
}

void PtyPort::paced_sent(std::size_t bytes) {
  const auto on_line = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(static_cast<double>(bytes) / pace_rate_));
  line_free_at_ += on_line;
}

void PtyPort::garble(std::span<char> bytes) {
  // At the wrong rate a receiver samples the wrong bits: same count of bytes, other values.
  for (char& c : bytes)
    c = static_cast<char>(static_cast<unsigned char>(c) * 37u + 0x5Bu);
}

std::uint32_t PtyPort::host_baud() const {
  termios t{};
  if (::tcgetattr(slave_fd_, &t) != 0) return 0;
  return baud_of(::cfgetospeed(&t));
}

}  // namespace bg95::pty
