#pragma once
// What the kernel counts on a TCP socket, for limits a library does not enforce itself.

#include <cstdint>
#include <optional>

namespace bg95::net {

// Bytes received on the connected TCP socket `fd` so far (TCP_INFO tcpi_bytes_received), or
// nothing when the kernel does not tell.
std::optional<std::uint64_t> tcp_bytes_received(int fd);

}  // namespace bg95::net
