#pragma once
// The V.250 settings that shape how the module talks to the host (the "DTE profile").
// They live in the module (saved by AT&W, restored by ATZ) and the engine reads them.

#include <cstdint>

namespace bg95::at {

enum class CmeMode : std::uint8_t { Disabled = 0, Numeric = 1, Verbose = 2 };

struct DteProfile {
  bool echo = true;     // ATE1 after boot
  bool verbose = true;  // ATV1: text result codes framed by CR LF
  bool quiet = false;   // ATQ1 suppresses result codes
  CmeMode cmee = CmeMode::Numeric;
  std::uint8_t s3 = 13;       // command line terminator
  std::uint8_t s4 = 10;       // response formatting character
  std::uint8_t s5 = 8;        // backspace
  std::uint8_t dtr_mode = 1;  // AT&D: 0 ignore, 1 leave data mode, 2 drop the transfer
  std::uint8_t dcd_mode = 1;  // AT&C

  friend bool operator==(const DteProfile&, const DteProfile&) = default;
};

}  // namespace bg95::at
