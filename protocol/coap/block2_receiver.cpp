#include "protocol/coap/block2_receiver.hpp"

#include <algorithm>

#include <coap3/coap.h>

namespace bg95::coap {
namespace {

namespace coap_err = net::download_err;

std::string hex_bytes(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "0x";
  for (const auto b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0x0f];
  }
  return out;
}

}  // namespace

Block2Response read_block2_response(const coap_pdu_t* pdu) {
  Block2Response r;
  const auto code = static_cast<unsigned>(coap_pdu_get_code(pdu));
  r.code = static_cast<int>(COAP_RESPONSE_CLASS(code) * 100 + (code & 0x1fu));
  coap_opt_iterator_t it;
  if (const coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_ETAG, &it)) {
    const std::uint8_t* v = coap_opt_value(o);
    r.etag.emplace(v, v + coap_opt_length(o));
  }
  if (const coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_BLOCK2, &it)) {
    r.block2 = coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o));
  }
  if (const coap_opt_t* o = coap_check_option(pdu, COAP_OPTION_SIZE2, &it)) {
    r.size2 = coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
  }
  std::size_t length = 0;
  const std::uint8_t* data = nullptr;
  if (coap_get_data(pdu, &length, &data) && length > 0) r.payload.assign(data, data + length);
  return r;
}

std::string code_text(int code) {
  std::string text = std::to_string(code / 100) + ".";
  if (code % 100 < 10) text += '0';
  return text + std::to_string(code % 100);
}

Block2Receiver::Block2Receiver(unsigned preferred_szx, std::uint64_t max_size)
    : max_size_(max_size), szx_(std::min(preferred_szx, kMaxSzx)) {}

Block2Receiver::Verdict Block2Receiver::check(const Block2Response& r) {
  Verdict v;
  auto fail = [&v](int err, std::string detail) {
    v.failure = Failure{err, std::move(detail)};
    return v;
  };
  if (r.code == 404) return fail(coap_err::kNotFound, "4.04 Not Found");
  if (r.code != 205)
    return fail(coap_err::kRequestFailed, "the server answered " + code_text(r.code));
  // The ETag identifies the representation: a different one means the resource was replaced
  // between two blocks, and the blocks already delivered belong to another version.
  if (first_) {
    etag_ = r.etag;
  } else if (r.etag != etag_) {
    return fail(coap_err::kUnknown, "the resource changed during the transfer (ETag " +
                                        (etag_ ? hex_bytes(*etag_) : std::string("none")) +
                                        " then " +
                                        (r.etag ? hex_bytes(*r.etag) : std::string("none")) +
                                        " at block " + std::to_string(block_num_) + ")");
  }

  v.szx = szx_;
  if (r.block2) {
    const std::uint32_t num = *r.block2 >> 4;
    v.more = (*r.block2 & 0x08u) != 0;
    v.szx = *r.block2 & 0x07u;
    if (v.szx > kMaxSzx)
      return fail(coap_err::kUnknown, "BERT block size (SZX 7) is not allowed over UDP");
    const std::uint64_t offset = static_cast<std::uint64_t>(num) << (v.szx + 4);
    const std::uint64_t size = std::uint64_t{1} << (v.szx + 4);
    if (offset != taken_) {
      return fail(coap_err::kUnknown, "block " + std::to_string(num) + " of " +
                                          std::to_string(size) + " bytes (offset " +
                                          std::to_string(offset) + ") when " +
                                          std::to_string(taken_) + " bytes were expected");
    }
    if ((v.more && r.payload.size() != size) || r.payload.size() > size) {
      return fail(coap_err::kUnknown, "block " + std::to_string(num) + " carries " +
                                          std::to_string(r.payload.size()) + " bytes instead of " +
                                          std::to_string(size));
    }
  } else if (block_num_ != 0) {
    return fail(coap_err::kUnknown, "the answer to the request for block " +
                                        std::to_string(block_num_) + " has no Block2 option");
  }

  if (first_) {
    first_ = false;
    v.first = true;
    total_ = r.size2;
    if (total_ && *total_ > max_size_) {
      return fail(coap_err::kTooLarge, "Size2 announces " + std::to_string(*total_) +
                                           " bytes, more than the " + std::to_string(max_size_) +
                                           " allowed");
    }
  }
  return v;
}

std::optional<Block2Receiver::Failure> Block2Receiver::check_size(std::size_t payload_size) const {
  if (taken_ + payload_size <= max_size_) return std::nullopt;
  return Failure{coap_err::kTooLarge,
                 "the body exceeds the " + std::to_string(max_size_) + " bytes allowed"};
}

void Block2Receiver::next(unsigned response_szx) {
  // taken_ is a multiple of the block size just received, hence of any smaller one.
  szx_ = std::min(szx_, response_szx);
  block_num_ = static_cast<std::uint32_t>(taken_ >> (szx_ + 4));
}

}  // namespace bg95::coap
