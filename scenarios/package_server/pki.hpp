#pragma once
// A small public-key infrastructure made at run time with OpenSSL's C API (EC P-256 keys,
// SHA-256 signatures): the package server's certificates, and the tests' (tests/support/
// test_pki.hpp names this type bg95::test::TestPki).
//
//   ca               self-signed root "bg95sim test CA"; signs server, client, wrong_host
//   server           CN "bg95sim test server"; SAN DNS:localhost, IP:127.0.0.1, IP:::1;
//                    serverAuth
//   client           CN "bg95sim test client"; clientAuth
//   wrong_host       signed by ca, but names only DNS:wrong-host.invalid (a hostname mismatch)
//   other_ca         an unrelated self-signed root "bg95sim other CA" (the "wrong CA")
//   other_client     a client certificate signed by other_ca (a server trusting ca refuses it)
//   other_ca_server  the server's names (as `server`) but signed by other_ca: what a server
//                    with a certificate from the wrong CA presents
//
// Every certificate is valid from an hour ago for 30 days. make() writes each certificate and
// key as PEM into `dir` (file names beside each member below) and returns texts and paths.

#include <filesystem>
#include <string>

namespace bg95::pkgserver {

struct Pki {
  struct Pair {
    std::string cert_pem;
    std::string key_pem;
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
  };

  Pair ca;               // ca.pem, ca.key
  Pair server;           // server.pem, server.key
  Pair client;           // client.pem, client.key
  Pair wrong_host;       // wrong-host.pem, wrong-host.key
  Pair other_ca;         // wrong-ca.pem, wrong-ca.key
  Pair other_client;     // wrong-ca-client.pem, wrong-ca-client.key
  Pair other_ca_server;  // wrong-ca-server.pem, wrong-ca-server.key

  // Throws std::runtime_error when OpenSSL or the file system fails.
  static Pki make(const std::filesystem::path& dir);
};

}  // namespace bg95::pkgserver
