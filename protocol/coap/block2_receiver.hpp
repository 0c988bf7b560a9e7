#pragma once
// The receiving side of a block-wise CoAP GET (RFC 7959 Block2, with the ETag and Size2 checks
// of docs/coap.md), without sockets: CoapDownload feeds it the response to each request it
// sends and does what it says. Apart from the download so that what a server may send can be
// tested and fuzzed with parsed PDUs alone (tests/fuzz/fuzz_coap_message.cpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/net/download_error.hpp"

struct coap_pdu_t;

namespace bg95::coap {

inline constexpr unsigned kMaxSzx = 6;  // 1024 bytes; 7 is BERT, for CoAP over TCP only

// What the download reads from one response.
struct Block2Response {
  int code = 0;  // class * 100 + detail: 205 for 2.05 Content
  std::optional<std::vector<std::uint8_t>> etag;
  std::optional<std::uint32_t> block2;  // the raw option value
  std::optional<std::uint64_t> size2;
  std::vector<std::uint8_t> payload;
};
Block2Response read_block2_response(const coap_pdu_t* pdu);

// "2.05" for 205.
std::string code_text(int code);

class Block2Receiver {
 public:
  // preferred_szx: the block size to ask for (2^(szx+4) bytes, at most kMaxSzx); max_size: the
  // largest acceptable body (708 beyond it).
  Block2Receiver(unsigned preferred_szx, std::uint64_t max_size);

  struct Failure {
    int coap_err;  // net::download_err
    std::string detail;
  };
  struct Verdict {
    std::optional<Failure> failure;  // set: the transfer ends with it
    bool first = false;              // the first response accepted: total() is known now
    bool more = false;               // another block follows this one
    unsigned szx = 0;                // the block size of this response
  };
  // Checks the response to the request for block_num(): its code, the ETag against the first
  // response's, the Block2 number, size and SZX, Size2 against max_size.
  Verdict check(const Block2Response& r);
  // After check() passed (and the progress of a first response was reported): would the
  // payload take the body past max_size?
  std::optional<Failure> check_size(std::size_t payload_size) const;
  // The consumer took the payload of the response just checked.
  void took(std::size_t payload_size) { taken_ += payload_size; }
  // Asks for the block after the bytes taken so far, following a server that chose smaller
  // blocks (late negotiation; never bigger ones than we preferred).
  void next(unsigned response_szx);

  std::uint32_t block_num() const { return block_num_; }  // the block to ask for
  unsigned szx() const { return szx_; }                   // the block size to ask for
  bool first_response() const { return first_; }          // no response accepted yet
  std::uint64_t taken() const { return taken_; }
  std::optional<std::uint64_t> total() const { return total_; }  // Size2 of the first response

 private:
  std::uint64_t max_size_;
  std::uint32_t block_num_ = 0;
  unsigned szx_;
  bool first_ = true;
  std::optional<std::vector<std::uint8_t>> etag_;
  std::optional<std::uint64_t> total_;
  std::uint64_t taken_ = 0;
};

}  // namespace bg95::coap
