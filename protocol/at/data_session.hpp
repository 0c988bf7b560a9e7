#pragma once
// A transfer in data mode (AT+QFUPL, AT+QFOTADL="COM:"): the engine hands it every byte the
// host sends until the session has what it wants or data mode is left another way.

#include <cstddef>
#include <string_view>

#include "protocol/at/reply.hpp"

namespace bg95::at {

enum class DataEnd {
  Complete,   // the session received all it asked for
  Timeout,    // no byte for the session's timeout
  Escape,     // "+++" framed by the guard times
  DtrDrop,    // DTR on->off under AT&D1
  DtrHangup,  // DTR on->off under AT&D2: the transfer is dropped
  Reset,      // the module lost power or reset: no answer is written
};

class DataSession {
 public:
  virtual ~DataSession() = default;
  // Takes bytes of the transfer; returns how many it accepted (fewer once it is complete).
  virtual std::size_t on_data(std::string_view bytes) = 0;
  virtual bool complete() const = 0;
  // Seconds without a byte after which data mode ends by itself; 0 = never.
  virtual double idle_timeout_seconds() const = 0;
  // Data mode is over; the session answers (e.g. "+QFUPL: 10,1a2b" and OK).
  virtual Reply finish(DataEnd why) = 0;
};

}  // namespace bg95::at
