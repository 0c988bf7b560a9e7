#include "scenarios/package_server/tls_contexts.hpp"

#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>

namespace bg95::pkgserver {
namespace {

namespace ssl = boost::asio::ssl;

void configure(ssl::context& context, const Pki::Pair& identity, const Pki& pki, bool client_cert,
               bool allow_tls13) {
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::single_dh_use);
  if (!allow_tls13) SSL_CTX_set_max_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.use_certificate_chain(boost::asio::buffer(identity.cert_pem));
  context.use_private_key(boost::asio::buffer(identity.key_pem), ssl::context::pem);
  // Clients may offer session resumption; OpenSSL refuses it (and the handshake) when client
  // certificates are verified without a session id context.
  static constexpr unsigned char kSessionContext[] = "bg95-pkgserver";
  SSL_CTX_set_session_id_context(context.native_handle(), kSessionContext,
                                 sizeof kSessionContext - 1);
  if (client_cert) {
    context.add_certificate_authority(boost::asio::buffer(pki.ca.cert_pem));
    // Also named in the CertificateRequest, so that a client with several certificates knows
    // which one to present.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(pki.ca.cert_file.c_str())) {
      SSL_CTX_set_client_CA_list(context.native_handle(), names);
    }
    context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else {
    context.set_verify_mode(ssl::verify_none);
  }
}

}  // namespace

TlsContexts::TlsContexts(const Pki& pki, bool client_cert, bool allow_tls13)
    : right(ssl::context::tls_server), wrong_ca(ssl::context::tls_server) {
  configure(right, pki.server, pki, client_cert, allow_tls13);
  configure(wrong_ca, pki.other_ca_server, pki, client_cert, allow_tls13);
}

}  // namespace bg95::pkgserver
