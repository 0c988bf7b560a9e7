#pragma once
// The data sessions of the socket commands: the "> " prompt of AT+QISEND / AT+QSSLSEND and
// transparent mode (AT+QIOPEN/AT+QSSLOPEN access mode 2, AT+QISWTMD=<id>,2, ATO).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/udp.hpp>

#include "protocol/at/data_session.hpp"

namespace bg95 {
class Module;
}
namespace bg95::at {
class Call;
}

namespace bg95::sockets {

class SocketService;
class Socket;
struct OpenRequest;

// After "> ": a fixed length, or up to Ctrl-Z (ESC cancels); then SEND OK, SEND FAIL (the send
// buffer is full) or ERROR (the connection is gone) (the TCP/IP note, AT+QISEND).
class SendSession : public at::DataSession {
 public:
  struct Options {
    int id = 0;
    std::optional<std::size_t> length;                 // none: variable length, up to Ctrl-Z
    std::optional<boost::asio::ip::udp::endpoint> to;  // UDP SERVICE
    bool hex = false;  // AT+QICFG="dataformat",1: the host types hex digits
  };
  SendSession(SocketService& service, Options options)
      : service_(service), options_(std::move(options)) {}

  std::size_t on_data(std::string_view bytes) override;
  bool complete() const override { return done_; }
  double idle_timeout_seconds() const override { return 0; }
  at::Reply finish(at::DataEnd why) override;
  bool echoes_input() const override { return !options_.length; }

 private:
  SocketService& service_;
  Options options_;
  std::string data_;
  bool done_ = false;
  bool cancelled_ = false;
};

// Transparent mode: the host's bytes go to the socket as they come; what the socket receives
// goes to the host. "+++" (or DTR under AT&D1) leaves with OK and the socket stays; the far
// end closing ends it with NO CARRIER (the TCP/IP note, 2.1.x "transparent transmission
// mode" and AT+QISWTMD).
class TransparentSession : public at::DataSession {
 public:
  TransparentSession(SocketService& service, int id) : service_(service), id_(id) {}

  std::size_t on_data(std::string_view bytes) override;
  bool complete() const override { return false; }
  double idle_timeout_seconds() const override { return 0; }
  at::Reply finish(at::DataEnd why) override;
  void attach(at::DataLink link) override;

 private:
  SocketService& service_;
  int id_;
};

// "SEND OK", "SEND FAIL" or ERROR for bytes given to socket `id` (AT+QISEND, AT+QISENDEX,
// AT+QSSLSEND); records the TCP/IP error for AT+QIGETERROR.
at::Reply send_reply(SocketService& service, int id, std::string bytes,
                     const std::optional<boost::asio::ip::udp::endpoint>& to);

// AT+QIOPEN / AT+QSSLOPEN once the request is checked: buffer and push mode answer OK and
// then "<urc>: <id>,<err>" (an id in use or a context down too, with their codes); transparent
// mode answers CONNECT once connected, or ERROR (the TCP/IP note, AT+QIOPEN).
void answer_open(Module& m, at::Call& c, const OpenRequest& r, const std::string& urc);
// "<prefix>: <total_send_length>,<ackedbytes>,<unackedbytes>" (AT+QISEND=<id>,0,
// AT+QSSLSEND=<id>,0).
std::string send_totals(std::string_view prefix, const Socket& s);

// Hex digits to bytes (AT+QISENDEX, "dataformat" 1); none when not an even run of hex digits.
std::optional<std::string> from_hex(std::string_view hex);
std::string to_hex(std::string_view bytes);

}  // namespace bg95::sockets
