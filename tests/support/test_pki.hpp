#pragma once
// Test support: a small public-key infrastructure made at test time with OpenSSL's C API
// (EC P-256 keys, SHA-256 signatures), for HTTPS/DTLS servers and clients in tests.
//
//   ca          self-signed root ("bg95sim test CA") that signs the three below
//   server      CN "bg95sim test server"; SAN DNS:localhost, IP:127.0.0.1, IP:::1; serverAuth
//   client      CN "bg95sim test client"; clientAuth
//   wrong_host  signed by ca, but names only DNS:wrong-host.invalid (a hostname mismatch)
//   other_ca    an unrelated self-signed root (verifying the server against it fails)
//   other_client  a client certificate signed by other_ca (a server trusting ca refuses it)
//
// Every certificate is valid from an hour ago for 30 days. make() writes each PEM to a file
// in `dir` (names below) and returns both the texts and the paths.

#include <filesystem>
#include <string>

namespace bg95::test {

struct TestPki {
  struct Pair {
    std::string cert_pem;
    std::string key_pem;
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
  };

  Pair ca;            // ca_cert.pem, ca_key.pem
  Pair server;        // server_cert.pem, server_key.pem
  Pair client;        // client_cert.pem, client_key.pem
  Pair wrong_host;    // wrong_host_cert.pem, wrong_host_key.pem
  Pair other_ca;      // other_ca_cert.pem, other_ca_key.pem
  Pair other_client;  // other_client_cert.pem, other_client_key.pem

  // Throws std::runtime_error when OpenSSL or the file system fails.
  static TestPki make(const std::filesystem::path& dir);
};

}  // namespace bg95::test
