#pragma once
// The control interface (docs/control.md): a Unix-domain stream socket on the module's
// io_context through which tests, scenarios and the bg95ctl client do to a module what a
// pseudo-terminal cannot: power it off, on or cut it, pull DTR, change the network, and ask for
// its state. One request line gives one response line: "OK [key=value ...]" or "ERR <reason>".
//
// Security (issue 9): the socket is created with mode 0600 in a folder that belongs to the user
// and that neither group nor others can write; peers whose SO_PEERCRED uid is not ours are
// refused (root included, unless we are root ourselves).

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "sim/faults.hpp"

namespace bg95::control {

// Something the control interface drives: one module. Actions that cannot be done throw an
// exception whose message becomes the "ERR" reason.
class ControlTarget {
 public:
  virtual ~ControlTarget() = default;

  // Does one fault of the table (sim/faults.hpp): power, DTR, the cell, packet data, the
  // flash chip.
  virtual void apply(const faults::Call& call) = 0;
  // Keys and values without line breaks. The server prints power, mode, firmware, revision,
  // package, dfota, progress, dtr and boots first, in that order, then the others by name.
  virtual std::map<std::string, std::string> status() = 0;
};

// The socket cannot be created: unsafe folder, a path that is not a stale socket, another
// program listening there, or a system error. The message names the path and the cause.
class ControlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ControlServer {
 public:
  static constexpr std::size_t kMaxLine = 4096;       // bytes of a request, newline excluded
  static constexpr std::size_t kMaxConnections = 64;  // at once; more are told so and closed
  // Answers waiting for a client that does not read: beyond this, it is not read either.
  static constexpr std::size_t kMaxPendingOutput = 64 * 1024;

  // Creates the socket at `path` and starts accepting at once. The parent folder is created
  // with mode 0700 when missing; throws ControlError when it is not safe or the path is taken.
  ControlServer(boost::asio::any_io_executor executor, const std::filesystem::path& path);
  // Closes every connection and removes the socket file (if it is still ours).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Adds a module; its index (for "@<index>") is its position. Targets are destroyed with the
  // server, before the server returns from its destructor.
  std::size_t add_target(std::unique_ptr<ControlTarget> target);
  std::size_t target_count() const;

  // The socket file as created (its folder resolved to a real path).
  const std::filesystem::path& path() const;
  std::size_t connection_count() const;

  // One request line (no newline) to its response line (no newline); what a connection does
  // with each line it receives.
  std::string handle_line(std::string_view line);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Formats one "key=value" pair as the protocol does: bare when the value is printable ASCII
// without spaces, quotes or backslashes, else in double quotes with \" \\ and \xNN escapes.
std::string format_pair(std::string_view key, std::string_view value);

}  // namespace bg95::control
