#pragma once
// The line speeds termios knows, in both directions: the host side of a port sets one
// (tests, bg95-scenario), the module reads the host's back for pacing (PtyPort::host_baud).

#include <termios.h>

#include <cstdint>
#include <optional>

namespace bg95::pty {

// B115200 for 115200; nothing for a rate termios has no constant for.
std::optional<speed_t> speed_of(std::uint32_t baud);
// 115200 for B115200; 0 for a constant not in the table.
std::uint32_t baud_of(speed_t speed);

}  // namespace bg95::pty
