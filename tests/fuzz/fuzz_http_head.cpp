// The response of an HTTP server as the module reads it (protocol/http/http_download.*): the
// input is what a server on 127.0.0.1 sends after the request, then it closes the connection.
// So the ResponseGuard and cpp-httplib's parser behind it (status line, header lines,
// interim 1xx heads, Content-Length and chunked bodies) take every input, through the real
// downloader on its worker thread. A status line of 30 KB crashed the process here (issue 18).
// Properties: every download ends, once, with a code of the note's table; a refused head is
// 703 and a refused chunked body 701; a success is status 200 or 206 and never more than the
// package area.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "protocol/http/http_download.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace std::chrono_literals;

// Answers one connection per input: reads the request head, sends the input, closes.
class OneShotServer {
 public:
  OneShotServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    BG95_FUZZ_CHECK(fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
                    ::listen(fd_, 4) == 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  int port() const { return port_; }

  // Serves `response` to the next connection, on a thread that run_one() joins.
  void serve(std::string response) {
    thread_ = std::thread([this, r = std::move(response)] { answer(r); });
  }
  void join() { thread_.join(); }

 private:
  void answer(const std::string& response) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) return;
    const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      head.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t sent = 0;
    while (sent < response.size()) {
      const ssize_t n = ::send(c, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the client stopped reading and closed
      sent += static_cast<std::size_t>(n);
    }
    ::close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static OneShotServer server;
  static const auto pool = std::make_shared<bg95::http::WorkerPool>(1);
  static const std::set<int> codes{0, 701, 702, 703, 704, 706, 707, 708};
  // One io_context for every input, as the module has one for its life: the pool thread may
  // drop a download's last reference (and its timer) after on_done.
  static boost::asio::io_context io;
  io.restart();
  bg95::http::HttpDownloadOptions options;
  options.idle_timeout = 2s;  // the server always closes: only a stuck parser would wait
  options.max_size = 64 * 1024;
  std::optional<bg95::http::HttpDownloadResult> result;
  int done_calls = 0;
  std::uint64_t taken = 0;
  bg95::http::HttpDownloadHandlers handlers;
  handlers.on_chunk = [&taken](std::span<const std::uint8_t> chunk) {
    taken += chunk.size();
    return true;
  };
  handlers.on_done = [&](const bg95::http::HttpDownloadResult& r) {
    ++done_calls;
    result = r;
  };
  server.serve(std::string(reinterpret_cast<const char*>(data), size));
  {
    bg95::http::HttpDownload download(io.get_executor(), pool);
    download.start("http://127.0.0.1:" + std::to_string(server.port()) + "/p.bin", options,
                   std::move(handlers));
    io.run_for(10s);
  }
  server.join();
  BG95_FUZZ_CHECK(done_calls == 1 && result.has_value());
  BG95_FUZZ_CHECK(codes.count(result->http_err) == 1);
  BG95_FUZZ_CHECK(result->received == taken && taken <= options.max_size);
  if (result->detail.starts_with("the response head was refused"))
    BG95_FUZZ_CHECK(result->http_err == 703);
  if (result->detail.starts_with("the chunked body was refused"))
    BG95_FUZZ_CHECK(result->http_err == 701);
  if (result->http_err == 0) BG95_FUZZ_CHECK(result->status == 200 || result->status == 206);
  return 0;
}
