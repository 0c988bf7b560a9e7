#include "sim/sockets/socket_sessions.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "protocol/at/command_table.hpp"
#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/sockets/socket_service.hpp"

namespace bg95::sockets {

namespace {

constexpr char kCtrlZ = 0x1a;
constexpr char kEsc = 0x1b;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void set_error(SocketService& service, Error e) {
  service.module().packet_data().set_last_error(code(e));
}

}  // namespace

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

at::Reply send_reply(SocketService& service, int id, std::string bytes,
                     const std::optional<boost::asio::ip::udp::endpoint>& to) {
  Socket* socket = service.find(id);
  const auto result =
      socket ? socket->send(std::move(bytes), to) : Socket::SendResult::NotConnected;
  switch (result) {
    case Socket::SendResult::Ok:
      set_error(service, Error::Ok);
      return {{"SEND OK"}, {at::Outcome::Kind::Final, 0}, nullptr};
    case Socket::SendResult::Full:
      set_error(service, Error::OperationBusy);
      return {{"SEND FAIL"}, {at::Outcome::Kind::Final, 0}, nullptr};
    case Socket::SendResult::NotConnected:
      break;
  }
  set_error(service, Error::SocketClosed);
  return {{}, at::Outcome::error(), nullptr};
}

void answer_open(Module& m, at::Call& c, const OpenRequest& r, const std::string& urc) {
  const int id = r.id;
  if (r.access == Access::Transparent) {
    // CONNECT once connected, ERROR if not: the command answers later (`done` always comes
    // from the event loop, after defer() below).
    auto completer = std::make_shared<at::Completer>();
    const Error e = m.sockets().open(r, [&m, completer, id](int err) {
      m.packet_data().set_last_error(err);
      if (err != 0) return (*completer)({{}, at::Outcome::error(), nullptr});
      (*completer)({{},
                    {at::Outcome::Kind::Connect, 0},
                    std::make_shared<TransparentSession>(m.sockets(), id)});
    });
    m.packet_data().set_last_error(code(e));
    if (e != Error::Ok) return c.error();
    *completer = c.defer();
    return;
  }
  const Error e = m.sockets().open(r, [&m, id, urc](int err) {
    m.packet_data().set_last_error(err);
    m.emit_urc(fmt::format("{}: {},{}", urc, id, err));
  });
  m.packet_data().set_last_error(code(e));
  c.ok();
  if (e != Error::Ok)
    boost::asio::post(m.executor(),
                      [&m, id, e, urc] { m.emit_urc(fmt::format("{}: {},{}", urc, id, code(e))); });
}

std::string send_totals(std::string_view prefix, const Socket& s) {
  const auto unacked = s.unacked();
  return fmt::format("{}: {},{},{}", prefix, s.total_sent(), s.total_sent() - unacked, unacked);
}

// ---- SendSession ---------------------------------------------------------------------------

std::size_t SendSession::on_data(std::string_view bytes) {
  if (done_) return 0;
  if (options_.length) {
    const std::size_t take = std::min(bytes.size(), *options_.length - data_.size());
    data_.append(bytes.substr(0, take));
    done_ = data_.size() == *options_.length;
    return take;
  }
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == kCtrlZ || bytes[i] == kEsc) {
      cancelled_ = bytes[i] == kEsc;
      done_ = true;
      return i + 1;
    }
    // Beyond the maximum the bytes are only counted: the send fails at Ctrl-Z anyway, and a
    // host that never ends its data does not grow the module's memory.
    if (data_.size() <= 2 * kMaxSendLength) data_.push_back(bytes[i]);
  }
  return bytes.size();
}

at::Reply SendSession::finish(at::DataEnd why) {
  if (why == at::DataEnd::Reset) return {};
  // ESC: nothing is sent. The note says only "tap Esc to cancel the operation"; the module
  // answers OK as V.250 does for an aborted command (docs/data-services.md).
  if (cancelled_) return {{}, at::Outcome::ok(), nullptr};
  // The prompt ended another way (DTR): nothing is sent.
  if (why != at::DataEnd::Complete) return {{}, at::Outcome::error(), nullptr};
  std::string bytes = std::move(data_);
  if (options_.hex) {
    auto decoded = from_hex(bytes);
    if (!decoded) {
      set_error(service_, Error::InvalidParameters);
      return {{}, at::Outcome::error(), nullptr};
    }
    bytes = std::move(*decoded);
  }
  // Variable length: at most the fixed form's maximum (the note, <send_length> 0-1460).
  if (bytes.size() > kMaxSendLength) {
    set_error(service_, Error::InvalidParameters);
    return {{}, at::Outcome::error(), nullptr};
  }
  return send_reply(service_, options_.id, std::move(bytes), options_.to);
}

// ---- TransparentSession --------------------------------------------------------------------

void TransparentSession::attach(at::DataLink link) {
  service_.set_last_transparent(id_);
  if (Socket* s = service_.find(id_)) s->attach(std::move(link));
}

std::size_t TransparentSession::on_data(std::string_view bytes) {
  // Transparent bytes cannot be refused (there is no prompt to answer SEND FAIL to): the
  // send buffer grows.
  if (Socket* s = service_.find(id_)) s->send(std::string(bytes), std::nullopt, false);
  return bytes.size();
}

at::Reply TransparentSession::finish(at::DataEnd why) {
  Socket* s = service_.find(id_);
  if (s) s->detach();
  switch (why) {
    case at::DataEnd::Reset:
      return {};
    case at::DataEnd::Closed:  // the far end closed, or the network took the context
      return {{}, {at::Outcome::Kind::NoCarrier, 0}, nullptr};
    case at::DataEnd::DtrHangup:  // AT&D2: the connection is dropped
      service_.close(id_);
      return {{}, {at::Outcome::Kind::NoCarrier, 0}, nullptr};
    case at::DataEnd::Escape:   // "+++": command mode, the socket stays (ATO goes back)
    case at::DataEnd::DtrDrop:  // AT&D1 leaves data mode like "+++"
    case at::DataEnd::Complete:
    case at::DataEnd::Timeout:
      break;
  }
  return {{}, at::Outcome::ok(), nullptr};
}

}  // namespace bg95::sockets
