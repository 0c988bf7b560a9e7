#pragma once
// What secures a libcoap session with DTLS 1.2, for the clients (the CoAP downloader, the LwM2M
// client) and the servers (the package server's CoAPS listener, the LwM2M test server). The
// libcoap set-up structures (coap_dtls_cpsk_t, coap_dtls_pki_t, coap_dtls_spsk_t) are filled in
// one place, coap_security.cpp; CoapContext (coap_context.hpp) applies them.

#include <functional>
#include <optional>
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

}  // namespace bg95::coap
