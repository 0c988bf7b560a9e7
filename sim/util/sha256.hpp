#pragma once
// SHA-256 through OpenSSL's SHA256_* functions (why not EVP: sha256.cpp), incremental so large
// images stream through it.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bg95::util {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(std::span<const std::uint8_t> bytes);
  Digest finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

Digest sha256(std::span<const std::uint8_t> bytes);
std::string to_hex(std::span<const std::uint8_t> bytes);

}  // namespace bg95::util
