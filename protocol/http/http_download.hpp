#pragma once
// Downloads a DFOTA package over HTTP or HTTPS (the note's 2.2.1.1) without blocking the
// emulator's event loop. cpp-httplib is a blocking library, so the transfer runs as a job of a
// WorkerPool (worker_pool.hpp: bounded, shared by the modules of a process; a transfer waits
// in its FIFO queue while every thread is busy); everything the owner sees (chunks, progress,
// the end) is posted back to the executor given at construction, in order, through a strand.
//
// Outcome codes (<http_err>, the note's chapter 5):
//   0    the whole body arrived (status 200, or 206) and the consumer took every byte;
//   701  anything else, e.g. the server closed the connection in the middle of the body;
//   702  server connection failed: name not resolved, connection refused, connect timeout,
//        TLS handshake failed (the server did not verify against ca_file, its name or address
//        does not match its certificate, or it demanded a client certificate we lack, also
//        when TLS 1.3 reports that as an alert after the handshake), CA or client
//        certificate files that cannot be loaded;
//   703  request failed: a status other than 200, 206 and 404 (redirects are not followed),
//        the server closed the connection without a valid response, or the response head
//        did not end within 256 KiB read (cpp-httplib would keep header lines without
//        limit);
//   704  download timeout: no byte for idle_timeout, before the response or within the body;
//   705  URL error (parse_url() refused it, or the scheme is not http/https);
//   706  file does not exist: status 404;
//   707  write to flash failed: on_chunk returned false;
//   708  file too large: Content-Length, or the body received so far, exceeds max_size.
//
// TLS: at most TLS 1.2 by default, like the real module. Without ca_file the server is not
// verified (the result's detail says so); with it, the chain must lead to that CA and the
// certificate must name the URL's host (DNS name or IP address). The client certificate is
// presented only when both client_cert_file and client_key_file are set.
//
// Cancellation: cancel() (or the destructor) withdraws a transfer still queued in the pool (it
// never runs), or interrupts a running one by shutting its socket down and waits until its job
// has returned. That is prompt at every step except name resolution of a host name
// (getaddrinfo cannot be interrupted; IP literals are not resolved).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "protocol/http/worker_pool.hpp"
#include "protocol/net/download_error.hpp"

namespace bg95::http {

// <http_err> values of the note's chapter 5 (Table 1).
namespace http_err = net::download_err;

struct HttpDownloadOptions {
  // TCP connect, and separately the TLS handshake, must each finish within this (-> 702).
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  // No byte from the server for this long, while waiting for the response or within the
  // body (-> 704).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // PEM files: the CA to verify the server against, and the client certificate and key.
  std::optional<std::string> ca_file;
  std::optional<std::string> client_cert_file;
  std::optional<std::string> client_key_file;
  // Largest acceptable package: the 6 MiB DFOTA package area (-> 708).
  std::uint64_t max_size = 6u * 1024u * 1024u;
  // Average download rate cap (e.g. an LTE-M-like profile); 0 = as fast as the server sends.
  std::uint64_t rate_limit_bytes_per_s = 0;
  // Bytes received but not yet taken by on_chunk; the worker stops reading the socket
  // while this many are queued (TCP flow control then holds the server back).
  std::size_t max_queued_bytes = 256u * 1024u;
  // The real module speaks TLS up to 1.2; allow 1.3 only when asked.
  bool allow_tls13 = false;
  std::string user_agent = "QUECTEL_MODULE";
};

struct HttpProgress {
  std::optional<std::uint64_t> total;  // Content-Length, when the server sent one
  std::uint64_t received = 0;          // bytes taken by on_chunk so far
};

struct HttpDownloadResult {
  int http_err = http_err::kUnknown;  // 0 or 70x, see above
  int status = 0;                     // HTTP status of the response, 0 if none arrived
  std::uint64_t received = 0;         // bytes taken by on_chunk
  std::string detail;                 // human-readable cause, for logs
};

struct HttpDownloadHandlers {
  // A piece of the body, in order. Return false to refuse it (e.g. a flash write failed): the
  // transfer stops, no further chunk is delivered, and it ends with 707.
  std::function<bool(std::span<const std::uint8_t> chunk)> on_chunk;
  // After the response headers were accepted (received = 0) and after each chunk taken.
  // May be empty.
  std::function<void(const HttpProgress& progress)> on_progress;
  // Exactly once per start() unless cancel() came first; the last callback of a download.
  std::function<void(const HttpDownloadResult& result)> on_done;
};

// One download at a time. start(), cancel() and the destructor are meant to be called from
// the thread that runs the executor (the emulator's io_context); the handlers run there too,
// never inside start() and never on the worker thread. A handler may call cancel() or
// start() on this object, or destroy it.
//
// The object must be destroyed (or cancelled) before the executor's io_context.
class HttpDownload {
 public:
  // Transfers run on `pool` (kept alive by this object); without one, on a pool of its own
  // with one thread.
  explicit HttpDownload(boost::asio::any_io_executor executor,
                        std::shared_ptr<WorkerPool> pool = nullptr);
  ~HttpDownload();  // = cancel()
  HttpDownload(const HttpDownload&) = delete;
  HttpDownload& operator=(const HttpDownload&) = delete;

  // Starts fetching `url` (cancelling a download still running). A URL that parse_url()
  // refuses, or a scheme other than http/https, ends with on_done(705), posted.
  void start(std::string_view url, HttpDownloadOptions options, HttpDownloadHandlers handlers);

  // Stops the download: when it returns, its job is out of the pool's queue or has returned,
  // and no handler of this download runs any more (pending ones are dropped, on_done
  // included). Idempotent.
  void cancel();

  // True from start() until on_done is called or cancel() was called (also while the
  // transfer waits in the pool's queue).
  bool running() const;

 private:
  struct Shared;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<WorkerPool> pool_;
  std::shared_ptr<Shared> shared_;
  WorkerPool::Ticket ticket_ = 0;  // of shared_'s job; 0: none
};

}  // namespace bg95::http
