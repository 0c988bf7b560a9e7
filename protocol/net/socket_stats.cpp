#include "protocol/net/socket_stats.hpp"

// <linux/tcp.h> rather than <netinet/tcp.h>: glibc's struct tcp_info stops before
// tcpi_bytes_received. The two headers clash, so this file includes only the kernel's.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace bg95::net {

std::optional<std::uint64_t> tcp_bytes_read(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  // Older kernels fill less of the structure.
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return std::nullopt;
  int queued = 0;
  if (::ioctl(fd, SIOCINQ, &queued) != 0 || queued < 0) return std::nullopt;
  const auto unread = static_cast<std::uint64_t>(queued);
  return info.tcpi_bytes_received > unread ? info.tcpi_bytes_received - unread : 0;
}

}  // namespace bg95::net
