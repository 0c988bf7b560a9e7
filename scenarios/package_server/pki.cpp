#include "scenarios/package_server/pki.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "scenarios/package_server/openssl_handles.hpp"

namespace bg95::pkgserver {
namespace {

[[noreturn]] void fail(std::string_view what) {
  std::string text(what);
  while (const unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    text += std::string("; ") + buf;
  }
  throw std::runtime_error("Pki: " + text);
}

void check(int ok, std::string_view what) {
  if (ok != 1) fail(what);
}

Key make_key() {
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("EC key generation");
  return key;
}

void add_name(X509_NAME* name, const char* field, const std::string& value) {
  check(
      X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0),
      "subject name");
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) fail(std::string("extension ") + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok, "add extension");
}

struct Spec {
  std::string cn;
  bool is_ca = false;
  const char* san = nullptr;  // subjectAltName value, or none
  const char* eku = nullptr;  // extendedKeyUsage value, or none
};

// Issues a certificate for `key`; a null issuer makes it self-signed.
Cert issue(const Spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  Cert cert(X509_new());
  if (!cert) fail("X509_new");
  check(X509_set_version(cert.get(), X509_VERSION_3), "version");
  check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial), "serial");
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr) fail("notBefore");
  if (X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600) == nullptr) {
    fail("notAfter");
  }
  check(X509_set_pubkey(cert.get(), key), "public key");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  add_name(subject, "O", "bg95sim tests");
  add_name(subject, "CN", spec.cn);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)), "issuer");

  add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (spec.is_ca) {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyAgreement");
  }
  if (spec.san != nullptr) add_ext(cert.get(), signer, NID_subject_alt_name, spec.san);
  if (spec.eku != nullptr) add_ext(cert.get(), signer, NID_ext_key_usage, spec.eku);

  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) <= 0) {
    fail("sign " + spec.cn);
  }
  return cert;
}

std::string drain(BIO* bio) {
  const std::size_t size = BIO_ctrl_pending(bio);
  std::string text(size, '\0');
  if (size > 0 && BIO_read(bio, text.data(), static_cast<int>(size)) != static_cast<int>(size)) {
    fail("BIO_read");
  }
  return text;
}

std::string cert_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_X509(bio.get(), cert), "PEM certificate");
  return drain(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) fail("BIO_new");
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr), "PEM key");
  return drain(bio.get());
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("Pki: cannot write " + path.string());
}

Pki::Pair store(const std::filesystem::path& dir, const std::string& stem, X509* cert,
                EVP_PKEY* key) {
  Pki::Pair pair{cert_pem(cert), key_pem(key), dir / (stem + ".pem"), dir / (stem + ".key")};
  write_file(pair.cert_file, pair.cert_pem);
  write_file(pair.key_file, pair.key_pem);
  // Private keys readable by their owner only, as a TLS library expects of a key file.
  std::filesystem::permissions(
      pair.key_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return pair;
}

}  // namespace

Pki Pki::make(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  Pki pki;

  const Key ca_key = make_key();
  const Cert ca = issue({"bg95sim test CA", true}, ca_key.get(), nullptr, nullptr, 1);
  pki.ca = store(dir, "ca", ca.get(), ca_key.get());

  // The right server and the one with a certificate from the wrong CA name the same hosts.
  const Spec server_spec{"bg95sim test server", false, "DNS:localhost,IP:127.0.0.1,IP:::1",
                         "serverAuth"};
  const Key server_key = make_key();
  const Cert server = issue(server_spec, server_key.get(), ca.get(), ca_key.get(), 2);
  pki.server = store(dir, "server", server.get(), server_key.get());

  const Key client_key = make_key();
  const Cert client = issue({"bg95sim test client", false, nullptr, "clientAuth"}, client_key.get(),
                            ca.get(), ca_key.get(), 3);
  pki.client = store(dir, "client", client.get(), client_key.get());

  const Key wrong_key = make_key();
  const Cert wrong = issue({"wrong-host.invalid", false, "DNS:wrong-host.invalid", "serverAuth"},
                           wrong_key.get(), ca.get(), ca_key.get(), 4);
  pki.wrong_host = store(dir, "wrong-host", wrong.get(), wrong_key.get());

  const Key other_key = make_key();
  const Cert other = issue({"bg95sim other CA", true}, other_key.get(), nullptr, nullptr, 5);
  pki.other_ca = store(dir, "wrong-ca", other.get(), other_key.get());

  const Key other_client_key = make_key();
  const Cert other_client = issue({"bg95sim other client", false, nullptr, "clientAuth"},
                                  other_client_key.get(), other.get(), other_key.get(), 6);
  pki.other_client = store(dir, "wrong-ca-client", other_client.get(), other_client_key.get());

  const Key other_server_key = make_key();
  const Cert other_server =
      issue(server_spec, other_server_key.get(), other.get(), other_key.get(), 7);
  pki.other_ca_server = store(dir, "wrong-ca-server", other_server.get(), other_server_key.get());
  return pki;
}

}  // namespace bg95::pkgserver
