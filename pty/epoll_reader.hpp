#pragma once
// A descriptor read through the io_context's own epoll reactor at one system call per
// readiness event: a read that comes back short tells the reactor that the descriptor is
// drained, so the next read waits for epoll instead of trying first.
//
// Why not posix::stream_descriptor (issue 20, item 5: the AT round trip at the floor's system
// calls): in Boost.Asio 1.74 a descriptor read never reports "exhausted" (descriptor_read_op
// returns done, never done_and_exhausted), so every async_read_some after a readiness event
// first tries a read of its own (epoll_reactor::start_op, the speculative read), which in a
// request/answer loop on a pty comes back EAGAIN every time; async_wait instead re-arms with an
// epoll_ctl each time. Either is a fourth system call per round trip beside epoll_wait, read
// and write. After an operation returns done_and_exhausted the reactor skips the speculative
// read until the next readiness event (epoll_reactor::descriptor_state::perform_io).
//
// This uses Asio's detail layer (reactor, reactor_op) of the Boost 1.74 that Debian 12 ships;
// the build stops where the reactor is not epoll.

#include <cstddef>
#include <functional>
#include <span>

// The io_context first: the reactor's header needs its scheduler complete.
#include <boost/asio/io_context.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/system/error_code.hpp>

namespace bg95::pty {

class EpollReader {
 public:
  using Handler = std::function<void(boost::system::error_code, std::size_t)>;

  // Registers `fd` (not owned, non-blocking) with the executor's reactor; throws
  // std::system_error when epoll refuses it.
  EpollReader(const boost::asio::any_io_executor& executor, int fd);
  // Removes the registration (EPOLL_CTL_DEL: the file may have other descriptors, which keep it
  // in the epoll set past a close). A pending read completes with operation_aborted.
  ~EpollReader();
  EpollReader(const EpollReader&) = delete;
  EpollReader& operator=(const EpollReader&) = delete;

  // One read into `buffer` once the descriptor has bytes; `handler` runs on the event loop
  // with what it read, eof, or the error. One read at a time.
  void async_read_some(std::span<char> buffer, Handler handler);

 private:
  boost::asio::detail::reactor& reactor_;
  int fd_;
  boost::asio::detail::reactor::per_descriptor_data data_{};
};

}  // namespace bg95::pty
