#include "sim/util/sha256.hpp"

// OpenSSL's own SHA-256 functions, not EVP: the first EVP digest in a process loads
// openssl.cnf and the default provider, 0.7 ms measured here (issue 20: `dfota-pack apply`
// hashes a 16 MiB target on a thread whose first call that was, on the apply's critical path).
// SHA256_Update is the same assembly EVP's provider calls (SHA-NI where the CPU has it). The
// functions are marked deprecated in OpenSSL 3.0 but kept there (openssl/sha.h,
// OSSL_DEPRECATEDIN_3_0).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <stdexcept>

namespace bg95::util {

struct Sha256::Ctx {
  SHA256_CTX sha{};
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  if (SHA256_Init(&ctx_->sha) != 1) throw std::runtime_error("SHA-256 init failed");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::uint8_t> bytes) {
  SHA256_Update(&ctx_->sha, bytes.data(), bytes.size());
}

Digest Sha256::finish() {
  Digest d{};
  SHA256_Final(d.data(), &ctx_->sha);
  return d;
}

Digest sha256(std::span<const std::uint8_t> bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace bg95::util
