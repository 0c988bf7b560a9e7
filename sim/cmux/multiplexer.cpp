#include "sim/cmux/multiplexer.hpp"

#include <fmt/format.h>

#include <boost/asio/post.hpp>

namespace bg95::cmux {
namespace {

// The module is the responding station: the host sent the SABM on DLCI 0. Its commands carry
// C/R = 0 in the address field and its responses C/R = 1 (27.010 5.2.1.2, table 1).
constexpr bool kCommandCr = false;
constexpr bool kResponseCr = true;

std::uint8_t type_of(MessageType t) {
  return static_cast<std::uint8_t>(t);
}

}  // namespace

Multiplexer::Multiplexer(boost::asio::any_io_executor executor, Parameters parameters, Hooks hooks,
                         at::DteProfile profile)
    : executor_(executor),
      parameters_(parameters),
      hooks_(std::move(hooks)),
      initial_profile_(profile),
      decoder_(static_cast<std::size_t>(parameters.n1)) {}

Multiplexer::~Multiplexer() = default;

void Multiplexer::log(std::string_view what) {
  if (hooks_.log) hooks_.log(what);
}

std::size_t Multiplexer::on_data(std::string_view bytes) {
  const auto self = shared_from_this();  // a CLD in these bytes ends the session
  for (const char c : bytes) {
    if (closed_) break;
    auto result = decoder_.feed(static_cast<std::uint8_t>(c));
    if (result.dropped == Decoder::Dropped::BadFcs) log("cmux: frame with a bad FCS dropped");
    if (result.dropped == Decoder::Dropped::TooLong)
      log(fmt::format("cmux: frame longer than N1 ({}) dropped", parameters_.n1));
    if (result.frame) on_frame(std::move(*result.frame));
  }
  return bytes.size();
}

void Multiplexer::on_frame(Frame frame) {
  if (frame.dlci == 0) return on_control_frame(frame);
  on_dlc_frame(frame);
}

void Multiplexer::on_control_frame(const Frame& frame) {
  switch (frame.type()) {
    case FrameType::Sabm:
      control_open_ = true;
      return respond(frame, FrameType::Ua);
    case FrameType::Disc:
      // DISC on DLCI 0 closes the multiplexer as a CLD does (27.010 5.3.4, DISC).
      if (!control_open_) return respond(frame, FrameType::Dm);
      respond(frame, FrameType::Ua);
      return end(at::DataEnd::Closed);
    case FrameType::Uih:
    case FrameType::Ui: {
      if (!control_open_) return;  // no control channel yet: nothing to answer on
      const auto message = decode_message(frame.info);
      if (!message) return log("cmux: malformed control message ignored");
      return on_control_message(*message);
    }
    default:
      return;  // UA, DM: the module sends no commands that they would answer
  }
}

void Multiplexer::on_control_message(const Message& message) {
  if (!message.command) return;  // a response to the module's MSC or CLD
  Message response = message;
  response.command = false;
  switch (static_cast<MessageType>(message.type)) {
    case MessageType::Cld:
      send_control(response);
      return end(at::DataEnd::Closed);
    case MessageType::Msc:
      return on_modem_status(message);
    case MessageType::Fcoff:
      aggregate_stop_ = true;
      return send_control(response);
    case MessageType::Fcon:
      aggregate_stop_ = false;
      send_control(response);
      return resume_output();
    case MessageType::Test:  // echoes the test pattern
    case MessageType::Psc:   // power saving is not modelled: acknowledged, nothing changes
    case MessageType::Pn:    // the host's parameters are accepted as proposed
    case MessageType::Rpn:
    case MessageType::Rls:
    case MessageType::Snc:
      return send_control(response);
    case MessageType::Nsc:
      return;
  }
  // A type this side does not know: NSC with the type octet received (27.010 5.4.6.3.8).
  send_control(Message{type_of(MessageType::Nsc), false,
                       std::string(1, static_cast<char>(type_octet(message)))});
}

void Multiplexer::on_modem_status(const Message& message) {
  const auto status = decode_msc(message.value);
  if (!status) return log("cmux: malformed MSC ignored");
  Message response = message;
  response.command = false;
  send_control(response);
  const auto it = channels_.find(status->dlci);
  if (it == channels_.end()) return;
  Channel& ch = *it->second;
  const Signals before = ch.from_host;
  ch.from_host = status->signals;
  // RTC from the host is its DTR (27.010 5.4.6.3.7): an on->off edge acts as the DTR
  // line does on this channel, as its AT&D says.
  if (before.rtc && !status->signals.rtc) {
    log(fmt::format("cmux: DTR off on DLC {}", status->dlci));
    if (ch.profile.dtr_mode == 1) ch.engine->end_data_mode(at::DataEnd::DtrDrop);
    if (ch.profile.dtr_mode == 2) ch.engine->end_data_mode(at::DataEnd::DtrHangup);
  }
  if (!before.fc && status->signals.fc)
    log(fmt::format("cmux: host stops DLC {} (FC)", status->dlci));
  if (before.fc && !status->signals.fc) resume_output();
}

void Multiplexer::on_dlc_frame(const Frame& frame) {
  const auto it = channels_.find(frame.dlci);
  switch (frame.type()) {
    case FrameType::Sabm:
      if (!control_open_ || frame.dlci > kMaxDlci) return respond(frame, FrameType::Dm);
      return open_dlc(frame.dlci, frame);
    case FrameType::Disc:
      if (it == channels_.end()) return respond(frame, FrameType::Dm);
      respond(frame, FrameType::Ua);
      return close_dlc(frame.dlci);
    case FrameType::Uih:
    case FrameType::Ui:
      // Data for a DLC that is not open: DM says so (27.010 5.3.3).
      if (it == channels_.end()) return respond(frame, FrameType::Dm);
      it->second->engine->receive(frame.info);
      return;
    default:
      return;
  }
}

void Multiplexer::open_dlc(std::uint8_t dlci, const Frame& sabm) {
  respond(sabm, FrameType::Ua);
  if (channels_.contains(dlci)) return;  // open already: UA again, nothing else changes
  auto ch = std::make_unique<Channel>();
  // Each DLC starts with the DTE profile of the port that started the multiplexer (ATE0 sent
  // before AT+CMUX still holds on the channels; docs/cmux-ppp.md).
  ch->profile = initial_profile_;
  ch->engine =
      hooks_.make_engine(fmt::format("cmux{}", dlci), ch->profile,
                         [this, dlci](std::string bytes) { send_data(dlci, std::move(bytes)); });
  channels_.emplace(dlci, std::move(ch));
  log(fmt::format("cmux: DLC {} open", dlci));
  // The module's V.24 signals for the new DLC (ready, DCD on, no flow control): each side
  // sends an MSC once a DLC is set up (27.010 5.4.6.3.7). Hosts wait for it: gsm0710muxd lets
  // no data onto a channel until an MSC with FC clear came for it.
  send_control(Message{type_of(MessageType::Msc), true,
                       encode_msc({.dlci = dlci, .signals = {}, .break_octet = {}})});
}

void Multiplexer::close_dlc(std::uint8_t dlci) {
  const auto it = channels_.find(dlci);
  if (it == channels_.end()) return;
  auto ch = std::move(it->second);
  channels_.erase(it);
  retire(std::move(ch));
  log(fmt::format("cmux: DLC {} closed", dlci));
}

void Multiplexer::retire(std::unique_ptr<Channel> channel) {
  // Its command may be on the stack (AT+CFUN=1,1 on the channel resets the module, which ends
  // the multiplexer): the engine stops now and goes once the stack has unwound.
  channel->engine->reset();
  boost::asio::post(executor_, [c = std::shared_ptr<Channel>(std::move(channel))] {});
}

at::AtEngine* Multiplexer::engine(std::uint8_t dlci) {
  const auto it = channels_.find(dlci);
  return it == channels_.end() ? nullptr : it->second->engine.get();
}

void Multiplexer::flush_held_urcs() {
  for (auto& [dlci, ch] : channels_)
    ch->engine->flush_held_urcs();
}

void Multiplexer::when_urcs_written(std::function<void()> f) {
  if (channels_.empty()) return f();
  auto left = std::make_shared<std::size_t>(channels_.size());
  auto then = std::make_shared<std::function<void()>>(std::move(f));
  for (auto& [dlci, ch] : channels_)
    ch->engine->when_urcs_written([left, then] {
      if (--*left == 0) (*then)();
    });
}

bool Multiplexer::on_urc(std::string_view text) {
  if (channels_.empty()) return false;  // held by the port until a channel can take it
  const int wanted = hooks_.urc_port ? hooks_.urc_port() : 0;
  auto it = channels_.find(static_cast<std::uint8_t>(wanted));
  if (it == channels_.end()) it = channels_.begin();
  it->second->engine->emit_urc(text);
  return true;
}

void Multiplexer::respond(const Frame& command, FrameType type) {
  send(Frame{.dlci = command.dlci,
             .cr = kResponseCr,
             .pf = command.pf,
             .control = static_cast<std::uint8_t>(type),
             .info = {}});
}

void Multiplexer::send_control(const Message& message) {
  send(Frame{.dlci = 0,
             .cr = kCommandCr,
             .pf = false,
             .control = static_cast<std::uint8_t>(FrameType::Uih),
             .info = encode(message)});
}

bool Multiplexer::may_send(std::uint8_t dlci) const {
  const auto it = channels_.find(dlci);
  return it != channels_.end() && !aggregate_stop_ && !it->second->from_host.fc;
}

void Multiplexer::send_data(std::uint8_t dlci, std::string bytes) {
  const auto it = channels_.find(dlci);
  if (closed_ || it == channels_.end()) return;
  Channel& ch = *it->second;
  ch.held += bytes;
  if (!may_send(dlci)) return;
  const std::string out = std::exchange(ch.held, {});
  const auto n1 = static_cast<std::size_t>(parameters_.n1);
  for (std::size_t at = 0; at < out.size(); at += n1)
    send(Frame{.dlci = dlci,
               .cr = kCommandCr,
               .pf = false,
               .control = static_cast<std::uint8_t>(FrameType::Uih),
               .info = out.substr(at, n1)});
}

void Multiplexer::resume_output() {
  for (auto& [dlci, ch] : channels_)
    if (!ch->held.empty()) send_data(dlci, {});
}

void Multiplexer::send(const Frame& frame) {
  if (frames_to_lose_ > 0) {
    --frames_to_lose_;
    return log(fmt::format("fault: frame on DLCI {} lost", frame.dlci));
  }
  const bool corrupt = std::exchange(corrupt_next_, false);
  if (corrupt) log(fmt::format("fault: frame on DLCI {} sent with a bad FCS", frame.dlci));
  if (link_.to_host) link_.to_host(encode(frame, corrupt));
}

void Multiplexer::close_by_module() {
  if (closed_) return;
  // CLD as a command from the module; it does not wait for the host's response.
  send_control(Message{type_of(MessageType::Cld), true, {}});
  end(at::DataEnd::Closed);
}

void Multiplexer::end(at::DataEnd why) {
  if (closed_) return;
  closed_ = true;
  log("cmux: multiplexer closed");
  // The port's engine calls finish(), which retires the channels.
  if (link_.end) link_.end(why);
}

at::Reply Multiplexer::finish(at::DataEnd why) {
  (void)why;
  closed_ = true;
  auto channels = std::move(channels_);
  channels_.clear();
  for (auto& [dlci, ch] : channels)
    retire(std::move(ch));
  return {};
}

}  // namespace bg95::cmux
