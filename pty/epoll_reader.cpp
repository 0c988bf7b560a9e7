#include "pty/epoll_reader.hpp"

#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <type_traits>
#include <utility>

#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/query.hpp>

namespace bg95::pty {
namespace {

namespace detail = boost::asio::detail;
static_assert(std::is_same_v<detail::reactor, detail::epoll_reactor>,
              "EpollReader relies on the epoll reactor's speculative-read rule");

class ReadOp : public detail::reactor_op {
 public:
  ReadOp(int fd, std::span<char> buffer, EpollReader::Handler handler)
      : reactor_op(boost::system::error_code(), &ReadOp::perform, &ReadOp::complete),
        fd_(fd),
        buffer_(buffer),
        handler_(std::move(handler)) {}

 private:
  static status perform(reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    while (true) {
      const ssize_t n = ::read(op->fd_, op->buffer_.data(), op->buffer_.size());
      if (n > 0) {
        op->bytes_transferred_ = static_cast<std::size_t>(n);
        // Short: the descriptor is drained, the next read waits for epoll. Full: there may be
        // more, and the reactor tries the next read at once.
        return op->bytes_transferred_ < op->buffer_.size() ? done_and_exhausted : done;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return not_done;
      op->ec_ = n == 0 ? boost::system::error_code(boost::asio::error::eof)
                       : boost::system::error_code(errno, boost::system::system_category());
      // An error waits for the next readiness event too, rather than spin.
      return done_and_exhausted;
    }
  }

  // Runs the handler (owner set), or only frees the operation when the io_context destroys it
  // unrun (owner null).
  static void complete(void* owner, detail::scheduler_operation* base,
                       const boost::system::error_code& /*ignored*/, std::size_t /*ignored*/) {
    std::unique_ptr<ReadOp> op(static_cast<ReadOp*>(base));
    if (owner == nullptr) return;
    EpollReader::Handler handler = std::move(op->handler_);
    const boost::system::error_code ec = op->ec_;
    const std::size_t n = op->bytes_transferred_;
    op.reset();
    handler(ec, n);
  }

  int fd_;
  std::span<char> buffer_;
  EpollReader::Handler handler_;
};

}  // namespace

EpollReader::EpollReader(const boost::asio::any_io_executor& executor, int fd)
    : reactor_(boost::asio::use_service<detail::reactor>(
          boost::asio::query(executor, boost::asio::execution::context))),
      fd_(fd) {
  reactor_.init_task();
  if (const int err = reactor_.register_descriptor(fd_, data_))
    throw std::system_error(err, std::generic_category(), "epoll_ctl");
}

EpollReader::~EpollReader() {
  reactor_.deregister_descriptor(fd_, data_, /*closing=*/false);
  reactor_.cleanup_descriptor_data(data_);
}

void EpollReader::async_read_some(std::span<char> buffer, Handler handler) {
  auto* op = new ReadOp(fd_, buffer, std::move(handler));
  // A continuation of the port's read loop: a read that succeeds at once completes from this
  // thread's queue. The reactor owns the operation from here on.
  reactor_.start_op(detail::reactor::read_op, fd_, data_, op, /*is_continuation=*/true,
                    /*allow_speculative=*/true);
}

}  // namespace bg95::pty
