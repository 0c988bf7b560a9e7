#pragma once
// Tells pseudo-terminal ports when a host opens or closes their slave side, through inotify.
// One watcher serves many ports: a fleet of a thousand modules needs one inotify instance,
// not a thousand (the kernel allows 128 per user by default).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace bg95::pty {

class OpenWatcher : public std::enable_shared_from_this<OpenWatcher> {
 public:
  enum class Event { Open, Close };
  using Handler = std::function<void(Event)>;

  // An inactive watcher (no inotify) when the kernel refuses one: ports then cannot tell
  // whether a host listens, and keep their output.
  static std::shared_ptr<OpenWatcher> create(boost::asio::any_io_executor executor);
  ~OpenWatcher();
  OpenWatcher(const OpenWatcher&) = delete;
  OpenWatcher& operator=(const OpenWatcher&) = delete;

  bool active() const { return descriptor_.is_open(); }
  // Watches `path`; returns a watch id, or -1 when it cannot be watched.
  int add(const std::string& path, Handler handler);
  void remove(int id);
  // Reads and dispatches every pending event now. Called when the descriptor is readable,
  // and by a port that is about to drop output, or deliver a host's bytes, while it knows of
  // no host, so that a host that has just opened the port is not missed. (With a host known,
  // epoll hands the port a close and a new open before the new host's bytes: PtyPort::deliver.)
  void drain();

 private:
  explicit OpenWatcher(boost::asio::any_io_executor executor);
  void wait();

  boost::asio::posix::stream_descriptor descriptor_;
  std::unordered_map<int, Handler> handlers_;
  std::array<char, 4096> buffer_{};
  bool waiting_ = false;
};

}  // namespace bg95::pty
