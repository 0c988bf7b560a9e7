#include "scenarios/engine/host_port.hpp"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "pty/line_speed.hpp"

namespace bg95::scenario {
namespace {

speed_t to_speed(std::uint32_t baud) {
  if (const auto speed = pty::speed_of(baud)) return *speed;
  throw std::runtime_error("no such line speed: " + std::to_string(baud));
}

int millis_until(HostPort::Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - HostPort::Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

}  // namespace

HostPort::~HostPort() {
  close();
}

void HostPort::open(const std::string& path, std::uint32_t baud) {
  close();
  fd_ = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  set_baud(baud);
}

void HostPort::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void HostPort::set_baud(std::uint32_t baud) {
  termios t{};
  if (::tcgetattr(fd_, &t) != 0)
    throw std::runtime_error(std::string("tcgetattr: ") + std::strerror(errno));
  ::cfmakeraw(&t);
  t.c_cflag |= CLOCAL | CREAD;
  ::cfsetispeed(&t, to_speed(baud));
  ::cfsetospeed(&t, to_speed(baud));
  if (::tcsetattr(fd_, TCSANOW, &t) != 0)
    throw std::runtime_error(std::string("tcsetattr: ") + std::strerror(errno));
}

HostPort::Wait HostPort::write(std::string_view bytes, Clock::time_point deadline, int wake_fd) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      close();
      return Wait::Gone;
    }
    pollfd p[2] = {{fd_, POLLOUT, 0}, {wake_fd, POLLIN, 0}};
    const int r = ::poll(p, wake_fd >= 0 ? 2 : 1, millis_until(deadline));
    if (r == 0) return Wait::Deadline;
    if (wake_fd >= 0 && (p[1].revents & POLLIN)) return Wait::Woken;
    if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      close();
      return Wait::Gone;
    }
  }
  return Wait::Data;
}

HostPort::Wait HostPort::read(std::string& into, Clock::time_point deadline, int wake_fd) {
  while (true) {
    pollfd p[2] = {{fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    const int r = ::poll(p, wake_fd >= 0 ? 2 : 1, millis_until(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Wait::Deadline;
    if (wake_fd >= 0 && (p[1].revents & POLLIN)) return Wait::Woken;
    if (p[0].revents & POLLIN) {
      char buf[65536];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<std::size_t>(n));
        return Wait::Data;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    }
    if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL) || r > 0) {
      close();
      return Wait::Gone;
    }
  }
}

}  // namespace bg95::scenario
