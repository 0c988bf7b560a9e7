#include "protocol/net/socket_stats.hpp"

// <linux/tcp.h> rather than <netinet/tcp.h>: glibc's struct tcp_info stops before
// tcpi_bytes_received. The two headers clash, so this file includes only the kernel's.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

namespace bg95::net {

std::optional<std::uint64_t> tcp_bytes_received(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return std::nullopt;
  // Older kernels fill less of the structure.
  if (len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return std::nullopt;
  return info.tcpi_bytes_received;
}

}  // namespace bg95::net
