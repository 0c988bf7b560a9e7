#include "sim/net/ssl_context.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sim/fs/module_fs.hpp"

namespace bg95::net {

namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// The versions AT+QSSLCFG="sslversion" allows: one of them, or all.
bool set_versions(SSL_CTX* ctx, int version) {
  static constexpr int kVersions[] = {SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION};
  if (version >= 0 && version < 4) {
    return SSL_CTX_set_min_proto_version(ctx, kVersions[version]) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, kVersions[version]) == 1;
  }
  return true;  // 4: whatever both ends support
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
  if (!cert) return "no certificate in \"" + c.client_cert + "\"";
  const bool cert_ok = SSL_CTX_use_certificate(ctx, cert) == 1;
  X509_free(cert);
  if (!cert_ok) return openssl_error();
  std::unique_ptr<BIO, BioDeleter> kb(
      BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr);
  if (!key) return "no private key in \"" + c.client_key + "\"";
  const bool key_ok = SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  if (!key_ok || SSL_CTX_check_private_key(ctx) != 1) return "client key does not match";
  return {};
}

}  // namespace

BuiltSslContext make_client_context(const SslContextConfig& config, const fs::ModuleFs& fs) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return {nullptr, openssl_error()};
  if (!set_versions(ctx.get(), config.ssl_version)) return {nullptr, openssl_error()};
  if (config.sec_level >= 1) {
    if (auto e = load_ca(ctx.get(), fs, config.ca_cert); !e.empty()) return {nullptr, e};
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  }
  if (config.sec_level >= 2) {
    if (auto e = load_client(ctx.get(), fs, config); !e.empty()) return {nullptr, e};
  }
  return {std::move(ctx), {}};
}

}  // namespace bg95::net
