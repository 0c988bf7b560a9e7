#pragma once
// Downloads a DFOTA package over CoAP or CoAPS (the note's 2.2.1.2) with libcoap (libcoap3,
// Debian 12), without blocking the emulator's event loop. The API mirrors HttpDownload so that
// the module drives both the same way; docs/coap.md has the whole story.
//
// The transfer: one confirmable GET per block (RFC 7959 Block2, done here rather than by
// libcoap's block layer so that each block reaches on_chunk as soon as it arrives and the next
// one is asked for only once the consumer took it). The first request carries Block2 (block 0,
// the preferred size: early negotiation) and Size2 = 0 (asking for the total size); a server
// that answers with smaller blocks is followed (late negotiation). The ETag of the first
// response must come back unchanged with every block. Retransmission is libcoap's (ACK_TIMEOUT,
// ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT), with the values of the options.
//
// Outcome codes (<coap_err>, the note's chapter 5):
//   0    the whole body arrived (2.05 Content) and the consumer took every byte;
//   701  a protocol violation: the ETag changed between blocks (the resource was replaced in
//        the middle of the transfer), a block that is not the one asked for, a block of the
//        wrong size, BERT over UDP, a Block2-less answer to a request for block > 0, ...;
//   702  server connection failed: the name does not resolve, no answer to the first request
//        (MAX_RETRANSMIT retransmissions without an ACK, or idle_timeout), ICMP unreachable, a
//        Reset, the DTLS handshake failed or did not finish within handshake_timeout (wrong
//        PSK, server certificate not signed by ca_file or not naming the URL's host, client
//        certificate refused), the DTLS session closed;
//   703  request failed: any other response code than 2.05 and 4.04 (4.xx, 5.xx, 2.xx);
//   704  download timeout: in the middle of the transfer (after the first block), no block for
//        idle_timeout, or a block request unanswered after MAX_RETRANSMIT retransmissions;
//   705  URL error (parse_url() refused it, or the scheme is not coap/coaps);
//   706  file does not exist: 4.04 Not Found;
//   707  write to flash failed: on_chunk returned false;
//   708  file too large: Size2 exceeds max_size (before any byte is delivered), or the body
//        received so far would exceed it.
// 710 (package check failed) is not this class's: the package is checked by its consumer.
//
// CoAPS (DTLS 1.2): with psk_identity and psk_key set, PSK (they win over certificates);
// otherwise certificates: the server is verified when ca_file is given (chain to that CA, and
// the certificate names the URL's host: DNS name or IP address), not verified otherwise; the
// client certificate is presented when both client_cert_file and client_key_file are set.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "protocol/net/download_error.hpp"

namespace bg95::coap {

// <coap_err> values of the note's chapter 5 (Table 1).
namespace coap_err = net::download_err;

struct CoapDownloadOptions {
  // RFC 7252 transmission parameters: the first retransmission after ACK_TIMEOUT (times a
  // random factor 1..1.5), doubling, at most max_retransmit retransmissions. libcoap 4.3.1
  // takes no ACK_TIMEOUT under 1 s and no MAX_RETRANSMIT of 0: smaller values are raised.
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(2)};
  unsigned max_retransmit = 4;
  // Mid-transfer (after the first block): no block for this long -> 704. Before the first
  // block, no answer for this long -> 702 (the retransmissions usually give up first).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
  // CoAPS: the DTLS handshake must finish within this (-> 702). A wrong PSK shows as silence
  // (DTLS drops records it cannot authenticate), so this bounds how long it takes to notice.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(20)};
  // Preferred block size as an SZX: 2^(szx+4) bytes, 0 (16) .. 6 (1024, the default).
  unsigned block_szx = 6;
  // Largest acceptable package: the 6 MiB DFOTA package area (-> 708).
  std::uint64_t max_size = 6u * 1024u * 1024u;
  // CoAPS with a pre-shared key: identity and key, raw bytes (not hex).
  std::optional<std::string> psk_identity;
  std::optional<std::string> psk_key;
  // CoAPS with certificates: PEM files, as for HTTPS (/datatx/fota_cacert.pem, ...).
  std::optional<std::string> ca_file;
  std::optional<std::string> client_cert_file;
  std::optional<std::string> client_key_file;
  // Average download rate cap (the realistic profile's LTE-M rate); 0 = as fast as the server.
  std::uint64_t rate_limit_bytes_per_s = 0;
};

struct CoapProgress {
  std::optional<std::uint64_t> total;  // Size2 of the first response, when the server sent one
  std::uint64_t received = 0;          // bytes taken by on_chunk so far
};

struct CoapDownloadResult {
  int coap_err = coap_err::kUnknown;  // 0 or 70x, see above
  // CoAP response code of the last response as class * 100 + detail (205 for 2.05 Content,
  // 404 for 4.04 Not Found); 0 when no response arrived.
  int response_code = 0;
  std::uint64_t received = 0;  // bytes taken by on_chunk
  std::string detail;          // human-readable cause, for logs
};

struct CoapDownloadHandlers {
  // A block of the body, in order. Return false to refuse it (e.g. a flash write failed): the
  // transfer stops, no further block is requested, and it ends with 707.
  std::function<bool(std::span<const std::uint8_t> chunk)> on_chunk;
  // After the first response was accepted (received = 0) and after each block taken.
  // May be empty.
  std::function<void(const CoapProgress& progress)> on_progress;
  // Exactly once per start() unless cancel() came first; the last callback of a download.
  std::function<void(const CoapDownloadResult& result)> on_done;
};

// One download at a time. Everything runs on the executor given at construction: libcoap's
// I/O (its epoll descriptor is watched by asio, see coap_download.cpp), its timers, and the
// handlers. start(), cancel() and the destructor are meant to be called from the thread that
// runs the executor (the emulator's io_context, run by one thread; or, with several threads,
// from within a strand given as the executor). Handlers never run inside start(); a handler
// may call cancel() or start() on this object, or destroy it.
//
// The object must be destroyed (or cancelled) before the executor's io_context.
class CoapDownload {
 public:
  explicit CoapDownload(boost::asio::any_io_executor executor);
  ~CoapDownload();  // = cancel()
  CoapDownload(const CoapDownload&) = delete;
  CoapDownload& operator=(const CoapDownload&) = delete;

  // Starts fetching `url` (cancelling a download still running). A URL that parse_url()
  // refuses, or a scheme other than coap/coaps, ends with on_done(705), posted.
  void start(std::string_view url, CoapDownloadOptions options, CoapDownloadHandlers handlers);

  // Stops the download: when it returns, libcoap's context and socket are gone and no handler
  // of this download runs any more (on_done included). Idempotent.
  void cancel();

  // True from start() until on_done has run or cancel() was called.
  bool running() const;

 private:
  struct Transfer;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<Transfer> transfer_;
};

}  // namespace bg95::coap
