#pragma once
// The HTTPS listener's two TLS identities: the server certificate signed by the CA, and the
// same names signed by the wrong CA (tls_wrong_ca), with the same settings otherwise.

#include <boost/asio/ssl/context.hpp>

#include "scenarios/package_server/pki.hpp"

namespace bg95::pkgserver {

struct TlsContexts {
  // `client_cert`: demand a client certificate signed by the CA. `allow_tls13`: else TLS 1.2 is
  // the highest version, as on the module. Throws boost::system::system_error.
  TlsContexts(const Pki& pki, bool client_cert, bool allow_tls13);

  boost::asio::ssl::context right;
  boost::asio::ssl::context wrong_ca;
};

}  // namespace bg95::pkgserver
