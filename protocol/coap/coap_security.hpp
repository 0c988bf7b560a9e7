#pragma once
// What secures a libcoap session with DTLS 1.2, for the clients (the CoAP downloader, the LwM2M
// client) and the servers (the package server's CoAPS listener, the LwM2M test server). The
// libcoap set-up structures (coap_dtls_cpsk_t, coap_dtls_pki_t, coap_dtls_spsk_t) are filled in
// one place, coap_security.cpp; CoapContext (coap_context.hpp) applies them.

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include <coap3/coap.h>

namespace bg95::coap {

// A pre-shared key: identity and key, raw bytes (not hex).
struct Psk {
  std::string identity;
  std::string key;
};

// A client's certificates: PEM files, as for HTTPS (/datatx/fota_cacert.pem, ...).
struct ClientCertificates {
  // The server is verified when this is set (its chain ends at this CA, and its certificate names
  // ClientDtls::host); not verified otherwise.
  std::optional<std::string> ca_file;
  // The client certificate is presented when both are set.
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
};

// A DTLS client session: PSK or certificates.
struct ClientDtls {
  std::variant<Psk, ClientCertificates> credentials;
  // Server Name Indication in the ClientHello; empty: none.
  std::string sni;
  // With ClientCertificates::ca_file: what the server's certificate must name, a DNS name when
  // host_is_name, else an IP address.
  std::string host;
  bool host_is_name = false;
};

// A DTLS server with a pre-shared key.
struct ServerPsk {
  std::string hint;  // the identity hint the server sends
  std::string key;
  // Only this identity is accepted (another one fails the handshake); none: any identity.
  std::optional<std::string> identity;
};

// A DTLS server with certificates: PEM files.
struct ServerCertificates {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // A client certificate signed by the CA is demanded.
  bool verify_client = false;
  // Called per handshake at the ClientHello with the OpenSSL SSL object, the moment to pick
  // another certificate (SSL_use_certificate); false fails the handshake. May be empty.
  std::function<bool(void* ssl, coap_session_t* session)> on_client_hello;
};

// A client session to `server` on `context`: plain UDP without `dtls`, else DTLS with its PSK or
// certificates. nullptr when libcoap refused (or the certificate's name check could not be set).
coap_session_t* new_client_session(coap_context_t* context, const coap_address_t& server,
                                   const ClientDtls* dtls);

// Messages of a user's own beside libcoap's on an established DTLS client session, for what
// CoapContext::send_datagram and take_empty do on UDP (the LwM2M client's notifications). Both
// work on the session's OpenSSL object (coap_session_get_tls(), which libcoap documents as the TLS
// library's session for use with its API), never on libcoap's structures.
//
// Sends `plaintext` as one DTLS record through the session, as libcoap's own coap_dtls_send()
// does (SSL_write; the record leaves through libcoap's BIO and socket). False when it did not go
// or the handshake is not done.
bool dtls_send(coap_session_t* session, std::span<const std::uint8_t> plaintext);
// Decrypts `datagram`, the next one on the session's socket, without taking its record: up to
// out.size() bytes of the plaintext go to `out`, and the record stays in OpenSSL's buffer, where
// libcoap's next SSL_read finds it when it reads the same datagram (the copy it reads is then
// left unused; DTLS would drop it as a replay anyway). The number of bytes, or nullopt when it
// held no application data (a handshake or alert record, a bad record) or the handshake is not
// done.
std::optional<std::size_t> dtls_peek(coap_session_t* session,
                                     std::span<const std::uint8_t> datagram,
                                     std::span<std::uint8_t> out);
// Takes the record dtls_peek() left in OpenSSL's buffer, so that libcoap never sees it.
void dtls_take_peeked(coap_session_t* session);

}  // namespace bg95::coap
