#include "pty/open_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <climits>
#include <cstring>

namespace bg95::pty {

std::shared_ptr<OpenWatcher> OpenWatcher::create(boost::asio::any_io_executor executor) {
  return std::shared_ptr<OpenWatcher>(new OpenWatcher(std::move(executor)));
}

OpenWatcher::OpenWatcher(boost::asio::any_io_executor executor) : descriptor_(executor) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd >= 0) descriptor_.assign(fd);
}

OpenWatcher::~OpenWatcher() = default;

int OpenWatcher::add(const std::string& path, Handler handler) {
  if (!active()) return -1;
  const int wd = ::inotify_add_watch(descriptor_.native_handle(), path.c_str(), IN_OPEN | IN_CLOSE);
  if (wd < 0) return -1;
  handlers_[wd] = std::move(handler);
  wait();
  return wd;
}

void OpenWatcher::remove(int id) {
  if (id < 0 || !active()) return;
  ::inotify_rm_watch(descriptor_.native_handle(), id);
  handlers_.erase(id);
}

void OpenWatcher::wait() {
  if (waiting_ || !active()) return;
  waiting_ = true;
  // The watcher outlives a wait only as long as somebody holds it; a weak pointer lets the
  // last port drop it without a dangling handler.
  descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                         [weak = weak_from_this()](boost::system::error_code ec) {
                           auto self = weak.lock();
                           if (!self) return;
                           self->waiting_ = false;
                           if (ec) return;
                           self->drain();
                           self->wait();
                         });
}

void OpenWatcher::drain() {
  if (!active()) return;
  while (true) {
    const ssize_t n = ::read(descriptor_.native_handle(), buffer_.data(), buffer_.size());
    if (n <= 0) return;
    // A read that did not fill the buffer took every queued event: no second read to learn
    // that (it would come back empty).
    const bool more =
        static_cast<std::size_t>(n) + sizeof(inotify_event) + NAME_MAX + 1 > buffer_.size();
    std::size_t off = 0;
    while (off + sizeof(inotify_event) <= static_cast<std::size_t>(n)) {
      inotify_event ev{};
      std::memcpy(&ev, buffer_.data() + off, sizeof ev);
      off += sizeof(inotify_event) + ev.len;
      const auto it = handlers_.find(ev.wd);
      if (it == handlers_.end()) continue;
      // Copy: a handler may remove its own watch.
      const Handler handler = it->second;
      if (ev.mask & IN_OPEN) handler(Event::Open);
      if (ev.mask & IN_CLOSE) handler(Event::Close);
    }
    if (!more) return;
  }
}

}  // namespace bg95::pty
