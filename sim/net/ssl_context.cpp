#include "sim/net/ssl_context.hpp"

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "sim/fs/module_fs.hpp"

namespace bg95::net {

namespace {

// The suites of AT+QSSLCFG="ciphersuite" (BG96 SSL AT commands manual 2.2.1, the BG95&BG77 SSL
// application note's list; LooUQ LTEmC's ltemc-types.h names the same codes for BGx), with
// OpenSSL's names (openssl-ciphers(1), "TLS v1.0 ... cipher suites"). The static ECDH and the
// RC4 suites are gone from OpenSSL 3: a context that asks only for one of them fails.
constexpr CipherSuite kSuites[] = {
    {0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {0x0005, "TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {0x0004, "TLS_RSA_WITH_RC4_128_MD5", "RC4-MD5"},
    {0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", "AES256-SHA256"},
    {0xC002, "TLS_ECDH_ECDSA_WITH_RC4_128_SHA", "ECDH-ECDSA-RC4-SHA"},
    {0xC003, "TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDH-ECDSA-DES-CBC3-SHA"},
    {0xC004, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA", "ECDH-ECDSA-AES128-SHA"},
    {0xC005, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA", "ECDH-ECDSA-AES256-SHA"},
    {0xC007, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {0xC008, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-ECDSA-DES-CBC3-SHA"},
    {0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {0xC011, "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {0xC012, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {0xC00C, "TLS_ECDH_RSA_WITH_RC4_128_SHA", "ECDH-RSA-RC4-SHA"},
    {0xC00D, "TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA", "ECDH-RSA-DES-CBC3-SHA"},
    {0xC00E, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA", "ECDH-RSA-AES128-SHA"},
    {0xC00F, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA", "ECDH-RSA-AES256-SHA"},
    {0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", "ECDHE-ECDSA-AES256-SHA384"},
    {0xC025, "TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256", "ECDH-ECDSA-AES128-SHA256"},
    {0xC026, "TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384", "ECDH-ECDSA-AES256-SHA384"},
    {0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", "ECDHE-RSA-AES256-SHA384"},
    {0xC029, "TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256", "ECDH-RSA-AES128-SHA256"},
    {0xC02A, "TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384", "ECDH-RSA-AES256-SHA384"},
    {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
};

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The versions AT+QSSLCFG="sslversion" allows: one of them, or all of them (the note lists
// none after TLS 1.2, so "all" is SSL 3.0 to TLS 1.2). Security level 0: the module takes the
// old versions and suites it offers, which OpenSSL 3 refuses at its default level.
bool set_versions(SSL_CTX* ctx, int version) {
  static constexpr int kVersions[] = {SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION};
  SSL_CTX_set_security_level(ctx, 0);
  const bool one = version >= 0 && version < 4;
  const int min = one ? kVersions[version] : SSL3_VERSION;
  const int max = one ? kVersions[version] : TLS1_2_VERSION;
  return SSL_CTX_set_min_proto_version(ctx, min) == 1 &&
         SSL_CTX_set_max_proto_version(ctx, max) == 1;
}

std::string hex_code(std::uint16_t code) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string s = "0X";
  for (int shift = 12; shift >= 0; shift -= 4)
    s += kDigits[(code >> shift) & 0xF];
  return s;
}

std::string set_ciphers(SSL_CTX* ctx, const SslContextConfig& config) {
  const std::string list = openssl_cipher_list(config);
  if (!list.empty() && SSL_CTX_set_cipher_list(ctx, list.c_str()) == 1) return {};
  ERR_clear_error();
  std::string codes;
  for (std::uint16_t c : config.cipher_suites)
    codes += (codes.empty() ? "" : ",") + hex_code(c);
  return "cipher suite " + codes + " is not available in this OpenSSL";
}

// The CA certificates of a PEM file of the module's file system, into the context's store.
std::string load_ca(SSL_CTX* ctx, const fs::ModuleFs& fs, const std::string& name) {
  auto pem = fs.read(name);
  if (!pem) return "CA certificate \"" + name + "\" cannot be read";
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    added += X509_STORE_add_cert(store, cert) == 1;
    X509_free(cert);
  }
  ERR_clear_error();  // the end of the file reads as an error
  return added ? std::string{} : "no certificate in \"" + name + "\"";
}

std::string load_client(SSL_CTX* ctx, const fs::ModuleFs& fs, const SslContextConfig& c) {
  auto cert_pem = fs.read(c.client_cert);
  if (!cert_pem) return "client certificate \"" + c.client_cert + "\" cannot be read";
  auto key_pem = fs.read(c.client_key);
  if (!key_pem) return "client key \"" + c.client_key + "\" cannot be read";
  std::unique_ptr<BIO, BioDeleter> cb(
      BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  X509* cert = PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr);
  if (!cert) {
    ERR_clear_error();
    return "no certificate in \"" + c.client_cert + "\"";
  }
  const bool cert_ok = SSL_CTX_use_certificate(ctx, cert) == 1;
  X509_free(cert);
  if (!cert_ok) return openssl_error();
  std::unique_ptr<BIO, BioDeleter> kb(
      BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr);
  if (!key) {
    ERR_clear_error();
    return "no private key in \"" + c.client_key + "\"";
  }
  const bool key_ok = SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!key_ok || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return "client key does not match";
  }
  return {};
}

// "ignorelocaltime": 1 skips the validity dates, 0 checks them against the module's clock.
void set_time_check(SSL_CTX* ctx, const SslContextConfig& config,
                    std::chrono::system_clock::time_point module_time) {
  X509_VERIFY_PARAM* param = SSL_CTX_get0_param(ctx);
  if (config.ignore_local_time) {
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_NO_CHECK_TIME);
  } else {
    X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(module_time));
  }
}

bool is_address(std::string_view host) {
  const std::string h(host);
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

}  // namespace

std::span<const CipherSuite> cipher_suites() {
  return kSuites;
}

const CipherSuite* cipher_suite(std::uint16_t code) {
  for (const CipherSuite& s : kSuites)
    if (s.code == code) return &s;
  return nullptr;
}

std::string openssl_cipher_list(const SslContextConfig& config) {
  std::string list;
  auto add = [&list](const CipherSuite& s) {
    list += (list.empty() ? "" : ":") + std::string(s.openssl);
  };
  for (std::uint16_t code : config.cipher_suites) {
    if (code == kAllCipherSuites) {
      for (const CipherSuite& s : kSuites)
        add(s);
    } else if (const CipherSuite* s = cipher_suite(code)) {
      add(*s);
    }
  }
  return list;
}

BuiltSslContext make_client_context(const SslContextConfig& config, const fs::ModuleFs& fs,
                                    std::chrono::system_clock::time_point module_time) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return {nullptr, openssl_error()};
  if (!set_versions(ctx.get(), config.ssl_version)) return {nullptr, openssl_error()};
  if (auto e = set_ciphers(ctx.get(), config); !e.empty()) return {nullptr, e};
  if (config.sec_level >= 1) {
    if (auto e = load_ca(ctx.get(), fs, config.ca_cert); !e.empty()) return {nullptr, e};
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    set_time_check(ctx.get(), config, module_time);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (config.sec_level >= 2) {
    if (auto e = load_client(ctx.get(), fs, config); !e.empty()) return {nullptr, e};
  }
  return {std::move(ctx), {}};
}

BuiltSslContext make_client_context(const SslContextConfig& config, const fs::ModuleFs& fs) {
  return make_client_context(config, fs, std::chrono::system_clock::now());
}

bool prepare_session(SSL* ssl, const SslContextConfig& config, std::string_view host) {
  const std::string h(host);
  const bool address = is_address(host);
  // SSL_set_tlsext_host_name() without its macro's C cast.
  if (config.sni && !address &&
      SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(h.c_str())) != 1)
    return false;
  if (config.check_host && config.sec_level >= 1) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    const int ok = address ? X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, h.c_str(), h.size());
    if (ok != 1) return false;
  }
  return true;
}

}  // namespace bg95::net
