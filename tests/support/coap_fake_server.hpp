#pragma once
// Test support: a fake CoAP server on 127.0.0.1:<ephemeral> that answers GETs with Block2
// blocks of a body, misbehaving as told, for protocol violations Debian's real libcoap server
// never commits (a changed ETag, a block other than the one asked for, no Size2, silence).
// Just enough CoAP (RFC 7252 message format, RFC 7959 Block2); runs on a thread of its own.

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace bg95::test {

class FakeCoapServer {
 public:
  enum class Mode {
    kEtagChanges,  // the ETag changes from block 3 on
    kWrongBlock,   // answers the request for block 2 with block 3 (out of order)
    kNoSize2,      // never sends Size2
    kSilent,       // never answers
  };

  FakeCoapServer(Mode mode, std::vector<std::uint8_t> body);
  ~FakeCoapServer();
  FakeCoapServer(const FakeCoapServer&) = delete;
  FakeCoapServer& operator=(const FakeCoapServer&) = delete;

  std::string url(const std::string& path) const {
    return "coap://127.0.0.1:" + std::to_string(port_) + path;
  }
  int requests() const { return requests_; }

 private:
  void serve();

  Mode mode_;
  std::vector<std::uint8_t> body_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace bg95::test
