#pragma once
// The module's SSL contexts (AT+QSSLCFG, <SSL_ctxID> 0-5) and the OpenSSL client context each
// one makes. Every TLS user of the module takes its settings from here: the SSL sockets
// (AT+QSSLOPEN), the HTTP(S) application (AT+QHTTPCFG="sslctxid") and MQTT
// (AT+QMTCFG="ssl"). Certificates and keys are PEM files of the module's file system, uploaded
// by the host with AT+QFUPL (BG95&BG77 SSL application note, AT+QSSLCFG; docs/ssl.md gives
// every parameter with its source).
//
// A TLS user does, per connection:
//   auto built = make_client_context(config, fs, module.rtc_now());   // once per context
//   SSL* ssl = SSL_new(built.ctx.get());
//   prepare_session(ssl, config, host);   // SNI and host name check, as the context says
//   ... handshake, given up after negotiate_timeout(config) ...

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

namespace bg95::fs {
class ModuleFs;
}

namespace bg95::net {

// The defaults are the note's (docs/ssl.md).
struct SslContextConfig {
  int ssl_version = 4;  // 0 SSL 3.0, 1 TLS 1.0, 2 TLS 1.1, 3 TLS 1.2, 4 all of them
  std::vector<std::uint16_t> cipher_suites{0xFFFF};  // 0xFFFF: all the note lists
  int sec_level = 0;    // 0 no authentication, 1 the server's, 2 the server's and the client's
  std::string ca_cert;  // file names in the module's file system ("UFS:cacert.pem" or "cacert.pem")
  std::string client_cert;
  std::string client_key;
  bool sni = false;               // send the host name in the ClientHello
  bool check_host = false;        // the server's certificate must name the host
  bool ignore_local_time = true;  // validity dates not checked against the module's clock
  int negotiate_time = 300;       // seconds the handshake may take
};

class SslContexts {
 public:
  static constexpr int kCount = 6;  // <SSL_ctxID> 0-5
  static bool valid(int id) { return id >= 0 && id < kCount; }
  SslContextConfig& at(int id) { return configs_.at(static_cast<std::size_t>(id)); }
  const SslContextConfig& at(int id) const { return configs_.at(static_cast<std::size_t>(id)); }
  // Power loss or reset: the settings are not saved (docs/ssl.md).
  void reset() { configs_ = {}; }

 private:
  std::array<SslContextConfig, kCount> configs_{};
};

// ---- the note's cipher suites
constexpr std::uint16_t kAllCipherSuites = 0xFFFF;
struct CipherSuite {
  std::uint16_t code;   // the IANA number the note writes as <cipher_suites> (0X0035)
  const char* name;     // the IANA name, as the note gives it
  const char* openssl;  // OpenSSL's name for it
};
// Every suite AT+QSSLCFG="ciphersuite" takes, in the note's order (0xFFFF, all, not included).
std::span<const CipherSuite> cipher_suites();
const CipherSuite* cipher_suite(std::uint16_t code);
// The OpenSSL cipher list of a context: the suites it names, or every suite of the note.
std::string openssl_cipher_list(const SslContextConfig& config);

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
// Certificate validity dates are checked against `module_time` (the module's clock,
// AT+CCLK) unless the context ignores the local time.
BuiltSslContext make_client_context(const SslContextConfig& config, const fs::ModuleFs& fs,
                                    std::chrono::system_clock::time_point module_time);
// The same with the host's clock as the module's.
BuiltSslContext make_client_context(const SslContextConfig& config, const fs::ModuleFs& fs);

// What one connection to `host` (a name or an address literal) needs beyond its context: the
// SNI extension when "sni" is on (never for an address: RFC 6066 3), and the check that the
// server's certificate names the host when "checkhost" is on and the server is authenticated.
// False when OpenSSL refuses.
bool prepare_session(SSL* ssl, const SslContextConfig& config, std::string_view host);

// How long the handshake may take ("negotiatetime").
inline std::chrono::seconds negotiate_timeout(const SslContextConfig& config) {
  return std::chrono::seconds(config.negotiate_time);
}

}  // namespace bg95::net
