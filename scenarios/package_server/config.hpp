#pragma once
// What a PackageServer serves, where it listens and which faults it starts with.
// parse_server_config() (config_yaml.hpp) builds one from YAML; docs/package-server.md has the
// schema.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/package_server/fault_rule.hpp"

namespace bg95::pkgserver {

struct PskCredentials {
  std::string identity;
  std::string key;  // raw bytes
};

struct PackageServerConfig {
  // A folder served read-only: URL path /a/b.bin is <root>/a/b.bin. Nothing outside it is ever
  // served (no "." or ".." segments, no symbolic link that leads out). Empty: no folder.
  std::filesystem::path root;
  // Files held in memory by URL path ("/update.bin"); they win over the folder.
  std::map<std::string, std::vector<std::uint8_t>> files;

  // Listeners: a port (0 = ephemeral) opens one, nullopt leaves it off.
  std::optional<std::uint16_t> http;
  std::optional<std::uint16_t> https;
  std::optional<std::uint16_t> coap;
  std::optional<std::uint16_t> coaps;

  // Every listener binds this address. Only loopback addresses (127.0.0.0/8, ::1) unless
  // allow_non_loopback is set: this project talks to loopback only.
  std::string bind_address = "127.0.0.1";
  bool allow_non_loopback = false;

  // Where the generated certificates go (ca.pem, wrong-ca.pem, client.pem, ... see pki.hpp).
  // Empty: a fresh folder under the system's temporary folder, removed when the server goes.
  std::filesystem::path pki_dir;

  // HTTPS: demand a client certificate signed by the CA (client.pem / client.key pass).
  bool https_client_cert = false;
  // HTTPS: TLS 1.2 at most, like the module, unless TLS 1.3 is allowed.
  bool allow_tls13 = false;
  // CoAPS: DTLS with this pre-shared key as well as with certificates.
  std::optional<PskCredentials> coaps_psk;
  // CoAPS with certificates: demand a client certificate signed by the CA.
  bool coaps_client_cert = false;

  // HTTP limits: open connections (more are closed at once), the request head's size (431
  // beyond), and how long a connection may take for the TLS handshake or a request head.
  std::size_t max_connections = 256;
  std::size_t max_header_bytes = 8192;
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  // CoAP: the largest block the server sends, as SZX (2^(szx+4) bytes: 0 = 16 .. 6 = 1024).
  unsigned max_block_szx = 6;

  std::vector<FaultRule> faults;
};

}  // namespace bg95::pkgserver
