#include "protocol/coap/coap_security.hpp"

// libcoap copies the client set-up (identity, key, SNI) into the session, but keeps pointers
// into the server set-up (hint, key, file names): CoapContext keeps those (ServerSecrets).
//
// dtls_peek() lends the session's SSL object a memory BIO for one read: libcoap's own BIO reads
// only what libcoap hands it inside its I/O step (coap_dtls_receive), so the datagram is given to
// OpenSSL this way, and libcoap's BIO is put back before anything else runs.

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <utility>

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "protocol/coap/coap_context.hpp"

namespace bg95::coap {
namespace {

const std::uint8_t* bytes(const std::string& text) {
  return reinterpret_cast<const std::uint8_t*>(text.data());
}

// What clients and servers set alike: a chain of at most 3, no revocation checks.
coap_dtls_pki_t pki_setup(bool verify_peer, bool allow_self_signed, const char* ca_file,
                          const char* cert_file, const char* key_file) {
  coap_dtls_pki_t setup{};
  setup.version = COAP_DTLS_PKI_SETUP_VERSION;
  setup.verify_peer_cert = verify_peer ? 1 : 0;
  setup.check_common_ca = verify_peer ? 1 : 0;  // also what makes libcoap load ca_file
  setup.allow_self_signed = allow_self_signed ? 1 : 0;
  setup.allow_expired_certs = 0;
  setup.cert_chain_validation = 1;
  setup.cert_chain_verify_depth = 3;
  setup.check_cert_revocation = 0;
  setup.allow_no_crl = 1;
  setup.allow_expired_crl = 1;
  setup.pki_key.key_type = COAP_PKI_KEY_PEM;
  setup.pki_key.key.pem.ca_file = ca_file;
  setup.pki_key.key.pem.public_cert = cert_file;
  setup.pki_key.key.pem.private_key = key_file;
  return setup;
}

coap_session_t* new_psk_session(coap_context_t* context, const coap_address_t& server,
                                const Psk& psk, std::string sni) {
  coap_dtls_cpsk_t setup{};
  setup.version = COAP_DTLS_CPSK_SETUP_VERSION;
  setup.client_sni = sni.empty() ? nullptr : sni.data();
  setup.psk_info.identity.s = bytes(psk.identity);
  setup.psk_info.identity.length = psk.identity.size();
  setup.psk_info.key.s = bytes(psk.key);
  setup.psk_info.key.length = psk.key.size();
  return coap_new_client_session_psk2(context, nullptr, &server, COAP_PROTO_DTLS, &setup);
}

// libcoap checks the chain but not that the certificate names the server. The handshake has
// only sent its ClientHello so far: the server's certificate is checked later, against the SSL
// object's parameters, which can still take the expected name or address.
bool expect_server_name(coap_session_t* session, const ClientDtls& dtls) {
  coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
  void* tls = coap_session_get_tls(session, &library);
  if (tls == nullptr || library != COAP_TLS_LIBRARY_OPENSSL) return false;
  X509_VERIFY_PARAM* param = SSL_get0_param(static_cast<SSL*>(tls));
  return (dtls.host_is_name
              ? X509_VERIFY_PARAM_set1_host(param, dtls.host.c_str(), dtls.host.size())
              : X509_VERIFY_PARAM_set1_ip_asc(param, dtls.host.c_str())) == 1;
}

coap_session_t* new_pki_session(coap_context_t* context, const coap_address_t& server,
                                const ClientCertificates& certificates, const ClientDtls& dtls) {
  const bool verify = certificates.ca_file.has_value();
  const bool client_cert = certificates.cert_file && certificates.key_file;
  coap_dtls_pki_t setup =
      pki_setup(verify, !verify, verify ? certificates.ca_file->c_str() : nullptr,
                client_cert ? certificates.cert_file->c_str() : nullptr,
                client_cert ? certificates.key_file->c_str() : nullptr);
  std::string sni = dtls.sni;
  setup.client_sni = sni.empty() ? nullptr : sni.data();
  coap_session_t* made =
      coap_new_client_session_pki(context, nullptr, &server, COAP_PROTO_DTLS, &setup);
  if (made == nullptr || !verify) return made;
  if (!expect_server_name(made, dtls)) {
    coap_session_release(made);
    return nullptr;
  }
  return made;
}

}  // namespace

coap_session_t* new_client_session(coap_context_t* context, const coap_address_t& server,
                                   const ClientDtls* dtls) {
  if (dtls == nullptr) return coap_new_client_session(context, nullptr, &server, COAP_PROTO_UDP);
  if (const Psk* psk = std::get_if<Psk>(&dtls->credentials)) {
    return new_psk_session(context, server, *psk, dtls->sni);
  }
  return new_pki_session(context, server, std::get<ClientCertificates>(dtls->credentials), *dtls);
}

// ------------------------------------------------------------------ own records

namespace {

// The session's SSL object once its handshake is done, else nullptr.
SSL* established_ssl(coap_session_t* session) {
  coap_tls_library_t library = COAP_TLS_LIBRARY_NOTLS;
  void* tls = coap_session_get_tls(session, &library);
  if (tls == nullptr || library != COAP_TLS_LIBRARY_OPENSSL) return nullptr;
  SSL* ssl = static_cast<SSL*>(tls);
  return SSL_is_init_finished(ssl) == 1 ? ssl : nullptr;
}

}  // namespace

bool dtls_send(coap_session_t* session, std::span<const std::uint8_t> plaintext) {
  SSL* ssl = established_ssl(session);
  if (ssl == nullptr || plaintext.empty()) return false;
  return SSL_write(ssl, plaintext.data(), static_cast<int>(plaintext.size())) ==
         static_cast<int>(plaintext.size());
}

std::optional<std::size_t> dtls_peek(coap_session_t* session,
                                     std::span<const std::uint8_t> datagram,
                                     std::span<std::uint8_t> out) {
  SSL* ssl = established_ssl(session);
  if (ssl == nullptr || datagram.empty() || out.empty()) return std::nullopt;
  BIO* lent = BIO_new_mem_buf(datagram.data(), static_cast<int>(datagram.size()));
  if (lent == nullptr) return std::nullopt;
  BIO_set_mem_eof_return(lent, -1);  // no more bytes: "try again", as a datagram BIO says
  BIO* own = SSL_get_rbio(ssl);
  BIO_up_ref(own);           // SSL_set0_rbio() frees the BIO it replaces
  SSL_set0_rbio(ssl, lent);  // takes `lent`
  const int n = SSL_peek(ssl, out.data(), static_cast<int>(out.size()));
  SSL_set0_rbio(ssl, own);  // frees `lent`, takes back our reference to libcoap's BIO
  if (n <= 0) return std::nullopt;
  return static_cast<std::size_t>(n);
}

void dtls_take_peeked(coap_session_t* session) {
  SSL* ssl = established_ssl(session);
  if (ssl == nullptr || SSL_pending(ssl) == 0) return;
  std::array<std::uint8_t, 2048> sink{};
  while (SSL_pending(ssl) > 0)
    if (SSL_read(ssl, sink.data(), static_cast<int>(sink.size())) <= 0) return;
}

// ------------------------------------------------------------------ server side

bool CoapContext::serve_psk(ServerPsk psk) {
  if (!context_) return false;
  if (!secrets_) secrets_ = std::make_unique<ServerSecrets>();
  ServerSecrets& s = *secrets_;
  s.psk = std::move(psk);
  s.psk_key.s = bytes(s.psk.key);
  s.psk_key.length = s.psk.key.size();
  coap_dtls_spsk_t setup{};
  setup.version = COAP_DTLS_SPSK_SETUP_VERSION;
  if (s.psk.identity) {
    setup.validate_id_call_back = &CoapContext::on_psk_identity;
    setup.id_call_back_arg = &s;
  }
  setup.psk_info.hint.s = bytes(s.psk.hint);
  setup.psk_info.hint.length = s.psk.hint.size();
  setup.psk_info.key = s.psk_key;
  return coap_context_set_psk2(context_.get(), &setup) == 1;
}

bool CoapContext::serve_certificates(ServerCertificates certificates) {
  if (!context_) return false;
  if (!secrets_) secrets_ = std::make_unique<ServerSecrets>();
  ServerCertificates& c = secrets_->certificates;
  c = std::move(certificates);
  coap_dtls_pki_t setup =
      pki_setup(c.verify_client, false, c.ca_file.c_str(), c.cert_file.c_str(), c.key_file.c_str());
  if (c.on_client_hello) setup.additional_tls_setup_call_back = &CoapContext::on_tls_setup;
  return coap_context_set_pki(context_.get(), &setup) == 1;
}

const coap_bin_const_t* CoapContext::on_psk_identity(coap_bin_const_t* identity,
                                                     coap_session_t* /*session*/, void* arg) {
  const auto* secrets = static_cast<const ServerSecrets*>(arg);
  const std::string_view given(reinterpret_cast<const char*>(identity->s), identity->length);
  return given == *secrets->psk.identity ? &secrets->psk_key : nullptr;
}

// Called per DTLS handshake, from the ClientHello.
int CoapContext::on_tls_setup(void* tls, coap_dtls_pki_t* /*setup*/) {
  auto* session = static_cast<coap_session_t*>(SSL_get_app_data(static_cast<SSL*>(tls)));
  if (session == nullptr) return 1;
  const CoapContext* self = of(session);
  if (self == nullptr || !self->secrets_ || !self->secrets_->certificates.on_client_hello) {
    return 1;
  }
  return self->secrets_->certificates.on_client_hello(tls, session) ? 1 : 0;
}

}  // namespace bg95::coap
