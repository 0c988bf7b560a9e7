#pragma once
// The CoAP and CoAPS listeners on libcoap (libcoap3, Debian 12): one libcoap context with a UDP
// and a DTLS endpoint, in the caller's event loop through protocol/coap/coap_context.hpp (no
// thread, no polling timer).
//
// GET of any path answers the file with Block2 (RFC 7959: the client's block size, at most
// max_block_szx), Size2 and an ETag (a hash of the bytes: replacing a file changes it), content
// format application/octet-stream. Block-wise transfer is done here, not by libcoap's block
// layer, because the faults work per block:
//   status                 that response code for every block request, no payload
//   truncate_at N          the body ends at byte N (Size2 still announces the file's size)
//   stall_after N          block requests whose block ends beyond byte N get no answer (no
//                          ACK either; the client retransmits); with stall_for, answers again
//                          once that long has passed since the first unanswered one
//   rate_limit             answers are delayed (empty ACK, then a separate response) so that
//                          the payload averages that many bytes per second
//   content_length         Size2 announces this
//   corrupt                payload bytes flipped at those file offsets
//   close_without_response a Reset instead of an answer
//   etag_change_after N    blocks after block N carry another ETag
//   out_of_order N         block N is answered with block N + 1 (N - 1 if N is the last)
//   drop K                 every K-th request datagram of a transfer gets no answer
// CoAPS: DTLS with certificates (the CA's server certificate, or the wrong CA's for a
// tls_wrong_ca connection, i.e. a DTLS handshake; optionally demanding a client certificate),
// and with a pre-shared key when one is configured.

#include <cstdint>
#include <memory>
#include <optional>

#include <boost/asio/ip/address.hpp>

#include "scenarios/package_server/config.hpp"
#include "scenarios/package_server/pki.hpp"
#include "scenarios/package_server/server_state.hpp"

namespace bg95::pkgserver {

class CoapListener {
 public:
  explicit CoapListener(std::shared_ptr<ServerState> state);
  ~CoapListener();  // = stop()
  CoapListener(const CoapListener&) = delete;
  CoapListener& operator=(const CoapListener&) = delete;

  // Opens the endpoints the config asks for (coap, coaps); `pki` is needed for coaps and must
  // outlive the listener. Throws std::runtime_error naming the address and the reason.
  void start(const boost::asio::ip::address& address, const PackageServerConfig& config,
             const Pki* pki);
  void stop();
  std::uint16_t port(Protocol protocol) const;

  struct Engine;

 private:
  std::shared_ptr<Engine> engine_;
};

}  // namespace bg95::pkgserver
