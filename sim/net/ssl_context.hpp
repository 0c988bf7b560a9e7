#pragma once
// The module's SSL contexts (AT+QSSLCFG, <SSL_ctxID> 0-5) and the OpenSSL client context each
// one makes. Every TLS user of the module takes its settings from here: the SSL sockets
// (AT+QSSLOPEN), the HTTP(S) application (AT+QHTTPCFG="sslctxid") and MQTT
// (AT+QMTCFG="ssl"). Certificates and keys are files of the module's file system, uploaded by
// the host with AT+QFUPL (BG95 SSL application note, AT+QSSLCFG).
//
// (A first cut made to let the SSL, HTTP and MQTT services be written side by side; the SSL
// service owns it from here: defaults and ranges are to be checked against the note.)

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

namespace bg95::fs {
class ModuleFs;
}

namespace bg95::net {

struct SslContextConfig {
  int ssl_version = 4;  // 0 SSL 3.0, 1 TLS 1.0, 2 TLS 1.1, 3 TLS 1.2, 4 all
  std::vector<std::uint16_t> cipher_suites{0xFFFF};  // 0xFFFF: all
  int sec_level = 0;    // 0 no authentication, 1 the server's, 2 the server's and the client's
  std::string ca_cert;  // file names in the module's file system ("UFS:cacert.pem" or "cacert.pem")
  std::string client_cert;
  std::string client_key;
  bool sni = false;
  bool ignore_local_time = true;
  int negotiate_time = 300;  // seconds
};

class SslContexts {
 public:
  static constexpr int kCount = 6;  // <SSL_ctxID> 0-5
  static bool valid(int id) { return id >= 0 && id < kCount; }
  SslContextConfig& at(int id) { return configs_.at(static_cast<std::size_t>(id)); }
  const SslContextConfig& at(int id) const { return configs_.at(static_cast<std::size_t>(id)); }
  void reset() { configs_ = {}; }

 private:
  std::array<SslContextConfig, kCount> configs_{};
};

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

// An OpenSSL client context as `config` says, its certificates read from `fs`; null with
// `error` saying which file or setting failed.
struct BuiltSslContext {
  SslCtxPtr ctx;
  std::string error;
};
BuiltSslContext make_client_context(const SslContextConfig& config, const fs::ModuleFs& fs);

}  // namespace bg95::net
