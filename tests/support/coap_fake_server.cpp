#include "tests/support/coap_fake_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>

namespace bg95::test {
namespace {

void add_option(std::vector<std::uint8_t>& out, unsigned& last, unsigned number,
                const std::vector<std::uint8_t>& value) {
  const unsigned delta = number - last;
  last = number;
  auto nibble = [](unsigned v) { return v < 13 ? v : 13u; };
  out.push_back(static_cast<std::uint8_t>((nibble(delta) << 4) |
                                          nibble(static_cast<unsigned>(value.size()))));
  if (delta >= 13) out.push_back(static_cast<std::uint8_t>(delta - 13));
  if (value.size() >= 13) out.push_back(static_cast<std::uint8_t>(value.size() - 13));
  out.insert(out.end(), value.begin(), value.end());
}

std::vector<std::uint8_t> uint_bytes(std::uint64_t v) {
  std::vector<std::uint8_t> out;
  for (; v != 0; v >>= 8)
    out.insert(out.begin(), static_cast<std::uint8_t>(v & 0xff));
  return out;
}

}  // namespace

FakeCoapServer::FakeCoapServer(Mode mode, std::vector<std::uint8_t> body)
    : mode_(mode), body_(std::move(body)) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("bind");
  }
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

FakeCoapServer::~FakeCoapServer() {
  stop_ = true;
  thread_.join();
  ::close(fd_);
}

void FakeCoapServer::serve() {
  std::vector<std::uint8_t> in(2048);
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    sockaddr_in peer{};
    socklen_t peer_len = sizeof peer;
    const auto got =
        ::recvfrom(fd_, in.data(), in.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (got < 4) continue;
    const auto size = static_cast<std::size_t>(got);
    ++requests_;
    if (mode_ == Mode::kSilent) continue;
    const std::size_t tkl = in[0] & 0x0f;
    if ((in[0] >> 4 & 0x03) != 0 || in[1] != 1) continue;  // a CON GET only
    // Find Block2 in the request.
    std::size_t pos = 4 + tkl;
    unsigned number = 0;
    std::uint32_t num = 0;
    unsigned szx = 6;
    while (pos < size && in[pos] != 0xff) {
      unsigned delta = in[pos] >> 4;
      unsigned length = in[pos] & 0x0f;
      ++pos;
      if (delta == 13) delta = 13u + in[pos++];
      if (length == 13) length = 13u + in[pos++];
      number += delta;
      if (number == 23) {
        std::uint32_t v = 0;
        for (unsigned i = 0; i < length; ++i)
          v = (v << 8) | in[pos + i];
        num = v >> 4;
        szx = v & 7u;
      }
      pos += length;
    }
    const std::size_t block = std::size_t{1} << (szx + 4);
    std::uint32_t send_num = num;
    if (mode_ == Mode::kWrongBlock && num == 2) send_num = 3;
    const std::size_t offset = send_num * block;
    const std::size_t n = offset < body_.size() ? std::min(block, body_.size() - offset) : 0;
    const bool more = offset + n < body_.size();

    std::vector<std::uint8_t> out = {static_cast<std::uint8_t>(0x60 | tkl), 0x45, in[2], in[3]};
    out.insert(out.end(), in.begin() + 4, in.begin() + 4 + static_cast<std::ptrdiff_t>(tkl));
    unsigned last = 0;
    const std::uint8_t etag = (mode_ == Mode::kEtagChanges && num >= 3) ? 0x22 : 0x11;
    add_option(out, last, 4, {etag});
    add_option(out, last, 23, uint_bytes((send_num << 4) | (more ? 8u : 0u) | szx));
    if (mode_ != Mode::kNoSize2) add_option(out, last, 28, uint_bytes(body_.size()));
    if (n > 0) {
      out.push_back(0xff);
      out.insert(out.end(), body_.begin() + static_cast<std::ptrdiff_t>(offset),
                 body_.begin() + static_cast<std::ptrdiff_t>(offset + n));
    }
    ::sendto(fd_, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_len);
  }
}

}  // namespace bg95::test
