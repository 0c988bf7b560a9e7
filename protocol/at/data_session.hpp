#pragma once
// A transfer in data mode (AT+QFUPL, AT+QFOTADL="COM:"): the engine hands it every byte the
// host sends until the session has what it wants or data mode is left another way.

#include <cstddef>
#include <functional>
#include <string>
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
  Closed,     // the session ended it itself (DataLink::end): the far end closed, the network
              // dropped the context; its answer is usually NO CARRIER
};

// What the engine gives a session while data mode lasts. A transparent socket (AT+QIOPEN
// access mode 2) writes what its far end sends through `to_host`, and ends data mode with
// `end` when the connection goes. Both do nothing once data mode is over.
struct DataLink {
  std::function<void(std::string bytes)> to_host;
  std::function<void(DataEnd why)> end;
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
  // Data mode (or the prompt) has started; a session with a far end keeps `link`.
  virtual void attach(DataLink link) { (void)link; }
  // After a prompt, the host's bytes are echoed back while the profile's echo is on (the
  // typed text of a variable-length AT+QISEND); binary transfers are not.
  virtual bool echoes_input() const { return false; }
  // A URC raised while the session holds the port: a session that carries URCs itself (the
  // multiplexer, to one of its channels) takes it and returns true; otherwise the engine holds
  // it until the session ends.
  virtual bool on_urc(std::string_view text) {
    (void)text;
    return false;
  }
};

}  // namespace bg95::at
