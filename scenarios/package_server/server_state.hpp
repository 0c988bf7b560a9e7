#pragma once
// What the listeners of one PackageServer share: the files, the faults, the limits and the
// event sink. Listeners and their connections hold it by shared_ptr, so a completion handler
// that runs after stop() (or after the server object is gone) still finds it and finds the
// server stopped. Files and faults (with their counters) outlive a stop() and start() again.

#include <functional>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include "scenarios/package_server/config.hpp"
#include "scenarios/package_server/content_store.hpp"
#include "scenarios/package_server/fault_rule.hpp"
#include "scenarios/package_server/server_event.hpp"

namespace bg95::pkgserver {

struct ServerState : std::enable_shared_from_this<ServerState> {
  ServerState(boost::asio::any_io_executor ex, const PackageServerConfig& config)
      : executor(std::move(ex)),
        content(config.root, config.files),
        max_connections(config.max_connections),
        max_header_bytes(config.max_header_bytes),
        request_timeout(config.request_timeout),
        max_block_szx(config.max_block_szx) {
    faults.set(config.faults);
  }

  boost::asio::any_io_executor executor;
  ContentStore content;
  FaultBook faults;
  std::size_t max_connections;
  std::size_t max_header_bytes;
  std::chrono::milliseconds request_timeout;
  unsigned max_block_szx;
  std::function<void(const ServerEvent&)> on_event;
  bool running = false;
  std::uint64_t run = 0;  // counts start()s: events of an earlier run are not delivered

  // Reports an event. It is posted, never delivered from inside the server's own code, so the
  // callback may change faults or files, or stop the server; events not yet delivered when the
  // server stops are dropped.
  void emit(ServerEvent event) {
    if (!running || !on_event) return;
    boost::asio::post(executor, [self = shared_from_this(), e = std::move(event), r = run] {
      if (self->running && self->run == r && self->on_event) self->on_event(e);
    });
  }
};

}  // namespace bg95::pkgserver
