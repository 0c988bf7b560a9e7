#pragma once
// What the kernel counts on a TCP socket, for limits a library does not enforce itself.

#include <cstdint>
#include <optional>

namespace bg95::net {

// Bytes read from the connected TCP socket `fd` so far, by whoever reads it: received
// (TCP_INFO tcpi_bytes_received) minus still queued (SIOCINQ). Nothing when the kernel does
// not tell.
std::optional<std::uint64_t> tcp_bytes_read(int fd);

}  // namespace bg95::net
