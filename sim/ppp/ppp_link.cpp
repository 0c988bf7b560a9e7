#include "sim/ppp/ppp_link.hpp"

#include <algorithm>

namespace bg95::ppp {
namespace {

std::string addr(std::uint32_t a) {
  return be32(a);
}

// CHAP challenge bytes: made from the magic number and the identifier, so that a test can
// compute them (RFC 1994 asks only that they be unpredictable to an eavesdropper, which a
// module on a pseudo-terminal has none of).
std::string make_challenge(std::uint32_t magic, std::uint8_t id) {
  std::string out;
  std::uint32_t x = magic ^ (0x9e3779b9u * (id + 1u));
  for (int i = 0; i < 16; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    out.push_back(static_cast<char>(x & 0xff));
  }
  return out;
}

}  // namespace

PppLink::PppLink(boost::asio::any_io_executor executor, LinkConfig config, Hooks hooks)
    : executor_(executor),
      config_(std::move(config)),
      hooks_(std::move(hooks)),
      restart_(executor) {
  // The module's LCP request: ACCM 0 (nothing escaped but flag and escape: a UART carries all
  // 256 values), the authentication AT+QICSGP asks for (CHAP when the host may choose, auth 3;
  // PAP if it naks CHAP), the magic number, PFC and ACFC.
  lcp_.request.push_back({kAccm, be32(0)});
  if (config_.auth == 1) auth_protocol_ = kPap;
  if (config_.auth == 2 || config_.auth == 3) auth_protocol_ = kChap;
  if (auth_protocol_ == kPap) lcp_.request.push_back({kAuthProtocol, be16(kPap)});
  if (auth_protocol_ == kChap)
    lcp_.request.push_back({kAuthProtocol, be16(kChap) + std::string(1, char(kChapMd5))});
  lcp_.request.push_back({kMagicNumber, be32(config_.magic)});
  // The host may leave out address, control and the protocol's high byte: a Quectel module asks
  // for both compressions (an EC20's LCP request in a public log, docs/ppp.md).
  lcp_.request.push_back({kPfc, {}});
  lcp_.request.push_back({kAcfc, {}});
  ipcp_.request.push_back({kIpAddress, addr(config_.local_address)});
}

void PppLink::start() {
  lcp_.tries = 0;
  send_request(lcp_);
}

void PppLink::receive(std::string_view bytes) {
  deframer_.feed(bytes, [this](Frame f) {
    if (phase_ != Phase::Dead) on_frame(std::move(f));
  });
}

void PppLink::send_ip(std::string_view packet) {
  if (network_open()) send_frame(kIpv4, packet);
}

void PppLink::terminate(std::string why) {
  if (phase_ == Phase::Dead || phase_ == Phase::Terminate) return;
  phase_ = Phase::Terminate;
  terminate_tries_ = 1;
  send(kLcp, {kTerminateRequest, next_id_++, why});
  arm_restart();
  terminate_why_ = std::move(why);
}

void PppLink::on_frame(Frame f) {
  switch (f.protocol) {
    case kLcp:
      if (auto p = parse_control(f.information)) on_lcp(*p);
      return;
    case kPap:
      if (auto p = parse_control(f.information); p && phase_ == Phase::Authenticate) on_pap(*p);
      return;
    case kChap:
      if (auto p = parse_control(f.information); p && phase_ == Phase::Authenticate) on_chap(*p);
      return;
    default:
      break;
  }
  // NCP and network packets before the network phase are silently discarded (RFC 1661
  // section 3.4).
  if (phase_ != Phase::Network) return;
  if (f.protocol == kIpcp) {
    if (auto p = parse_control(f.information)) on_ipcp(*p);
    return;
  }
  if (f.protocol == kIpv4) {
    if (ipcp_.opened() && hooks_.to_network) hooks_.to_network(std::move(f.information));
    return;
  }
  // Any other protocol (IPv6CP, CCP, ...): Protocol-Reject (section 5.7), the rejected
  // information cut to fit the default MRU.
  std::string data = be16(f.protocol) + f.information.substr(0, 1490);
  send(kLcp, {kProtocolReject, next_id_++, std::move(data)});
}

void PppLink::on_lcp(const ControlPacket& p) {
  switch (p.code) {
    case kConfigureRequest: {
      // A new request from the peer after the link was up restarts negotiation (section 4.3).
      if (phase_ != Phase::Establish && phase_ != Phase::Terminate) {
        phase_ = Phase::Establish;
        lcp_.ours_acked = lcp_.theirs_acked = false;
        ipcp_.ours_acked = ipcp_.theirs_acked = false;
        peer_accm_ = kDefaultAccm;
        send_request(lcp_);
      }
      if (phase_ == Phase::Terminate) return;
      std::uint32_t accm = kDefaultAccm;
      const bool acked = answer_request(lcp_, p, [&](Option& o) {
        switch (o.type) {
          case kMru: {
            const auto mru = read_be16(o.value);
            if (!mru) return Verdict::Reject;
            if (*mru < 128) return o.value = be16(1500), Verdict::Nak;
            return Verdict::Accept;
          }
          case kAccm: {
            const auto v = read_be32(o.value);
            if (!v) return Verdict::Reject;
            accm = *v;
            return Verdict::Accept;
          }
          case kMagicNumber: {
            const auto v = read_be32(o.value);
            if (!v) return Verdict::Reject;
            // Zero or our own number looks like a loop-back (section 6.4): another, please.
            if (*v == 0 || *v == config_.magic) return o.value = be32(~config_.magic), Verdict::Nak;
            return Verdict::Accept;
          }
          case kPfc:
          case kAcfc:
            return o.value.empty() ? Verdict::Accept : Verdict::Reject;
          default:  // the host asking to authenticate the module, quality protocols, ...
            return Verdict::Reject;
        }
      });
      if (acked) {
        peer_accm_ = accm;
        if (lcp_.opened()) lcp_opened();
      }
      return;
    }
    case kConfigureAck:
    case kConfigureNak:
    case kConfigureReject:
      if (phase_ != Phase::Establish || p.id != lcp_.id) return;
      on_reply(lcp_, p);
      if (lcp_.opened()) lcp_opened();
      return;
    case kTerminateRequest:
      send(kLcp, {kTerminateAck, p.id, {}});
      return end("LCP Terminate-Request from the host");
    case kTerminateAck:
      if (phase_ == Phase::Terminate) end(terminate_why_);
      return;
    case kEchoRequest:
      // Answered only while LCP is Opened (section 5.8); our magic number in front.
      if (lcp_.opened() && p.data.size() >= 4)
        send(kLcp, {kEchoReply, p.id, be32(config_.magic) + p.data.substr(4)});
      return;
    case kEchoReply:
    case kDiscardRequest:
    case kCodeReject:
    case kProtocolReject:
      return;
    default:
      send(kLcp, {kCodeReject, next_id_++, encode_control(p).substr(0, 1496)});
  }
}

bool PppLink::answer_request(Negotiation& n, const ControlPacket& p, const Check& check) {
  auto options = parse_options(p.data);
  if (!options) return false;  // a malformed request is discarded
  std::vector<Option> naks, rejects;
  for (Option o : *options) {
    switch (check(o)) {
      case Verdict::Accept:
        break;
      case Verdict::Nak:
        naks.push_back(std::move(o));
        break;
      case Verdict::Reject:
        rejects.push_back(std::move(o));
        break;
    }
  }
  // Rejects first: a Nak lists only options the sender would accept (section 5.3).
  if (!rejects.empty()) {
    send(n.protocol, {kConfigureReject, p.id, encode_options(rejects)});
    return false;
  }
  if (!naks.empty()) {
    send(n.protocol, {kConfigureNak, p.id, encode_options(naks)});
    return false;
  }
  send(n.protocol, {kConfigureAck, p.id, p.data});
  n.theirs_acked = true;
  return true;
}

void PppLink::on_reply(Negotiation& n, const ControlPacket& p) {
  if (p.code == kConfigureAck) {
    n.ours_acked = true;
    restart_.cancel();
    return;
  }
  auto options = parse_options(p.data);
  if (!options) return;
  for (const Option& o : *options) {
    auto mine = std::find_if(n.request.begin(), n.request.end(),
                             [&](const Option& r) { return r.type == o.type; });
    if (mine == n.request.end()) continue;
    if (p.code == kConfigureReject) {
      // The host will not authenticate: the context cannot be checked, the link ends below.
      if (o.type == kAuthProtocol) return terminate("authentication refused by the host");
      n.request.erase(mine);
      continue;
    }
    // Nak: take the value the host suggests, except for the authentication protocol, where
    // only PAP instead of CHAP is acceptable, and only when AT+QICSGP allows either.
    if (o.type == kAuthProtocol) {
      if (config_.auth == 3 && read_be16(o.value.substr(0, 2)) == kPap) {
        auth_protocol_ = kPap;
        mine->value = be16(kPap);
        continue;
      }
      return terminate("no authentication protocol in common");
    }
    if (n.protocol == kIpcp && o.type == kIpAddress) continue;  // our address is ours
    mine->value = o.value;
  }
  send_request(n);
}

void PppLink::send_request(Negotiation& n) {
  n.id = next_id_++;
  n.ours_acked = false;
  ++n.tries;
  send(n.protocol, {kConfigureRequest, n.id, encode_options(n.request)});
  arm_restart();
}

void PppLink::lcp_opened() {
  restart_.cancel();
  if (auth_protocol_ == 0) {
    phase_ = Phase::Network;
    ipcp_.tries = 0;
    return send_request(ipcp_);
  }
  phase_ = Phase::Authenticate;
  if (auth_protocol_ == kChap) {
    chap_id_ = next_id_++;
    challenge_ = make_challenge(config_.magic, chap_id_);
    send(kChap, {1, chap_id_, encode_chap_value({challenge_, "BG95"})});
  }
  // PAP: the host speaks first (RFC 1334 section 2.1).
}

void PppLink::on_pap(const ControlPacket& p) {
  if (p.code != 1) return;  // Authenticate-Request
  const auto request = parse_pap_request(p.data);
  const bool ok =
      request && request->peer_id == config_.username && request->password == config_.password;
  send(kPap, {static_cast<std::uint8_t>(ok ? 2 : 3), p.id, pap_message(ok ? "" : "denied")});
  auth_done(ok);
}

void PppLink::on_chap(const ControlPacket& p) {
  if (p.code != 2 || p.id != chap_id_) return;  // a Response to our Challenge
  const auto response = parse_chap_value(p.data);
  const bool ok = response && response->name == config_.username &&
                  response->value == chap_md5_response(chap_id_, config_.password, challenge_);
  send(kChap, {static_cast<std::uint8_t>(ok ? 3 : 4), p.id, ok ? "" : "denied"});
  auth_done(ok);
}

void PppLink::auth_done(bool ok) {
  // A failed authentication ends the link (RFC 1334 section 2.2.2, RFC 1994 section 4.2):
  // the network would refuse the context with these credentials.
  if (!ok) return terminate("authentication failed");
  phase_ = Phase::Network;
  ipcp_.tries = 0;
  send_request(ipcp_);
}

void PppLink::on_ipcp(const ControlPacket& p) {
  switch (p.code) {
    case kConfigureRequest: {
      const bool acked = answer_request(ipcp_, p, [&](Option& o) {
        auto want = [&](std::uint32_t value) {
          if (read_be32(o.value) == value) return Verdict::Accept;
          o.value = be32(value);
          return Verdict::Nak;
        };
        switch (o.type) {
          case kIpAddress:
            return want(config_.peer_address);
          case kPrimaryDns:
            return want(config_.primary_dns);
          case kSecondaryDns:
            return want(config_.secondary_dns);
          default:  // Van Jacobson compression, NBNS, ...
            return Verdict::Reject;
        }
      });
      if (acked && ipcp_.opened() && hooks_.network_up) hooks_.network_up();
      return;
    }
    case kConfigureAck:
    case kConfigureNak:
    case kConfigureReject: {
      if (p.id != ipcp_.id) return;
      const bool was_open = ipcp_.opened();
      on_reply(ipcp_, p);
      if (!was_open && ipcp_.opened() && hooks_.network_up) hooks_.network_up();
      return;
    }
    case kTerminateRequest:
      send(kIpcp, {kTerminateAck, p.id, {}});
      ipcp_.ours_acked = ipcp_.theirs_acked = false;
      return;
    case kTerminateAck:
      return;
    default:
      send(kIpcp, {kCodeReject, next_id_++, encode_control(p).substr(0, 1496)});
  }
}

void PppLink::send(std::uint16_t protocol, const ControlPacket& p) {
  send_frame(protocol, encode_control(p));
}

void PppLink::send_frame(std::uint16_t protocol, std::string_view information) {
  if (lose_ > 0) {
    --lose_;
    return;
  }
  const bool corrupt = corrupt_ > 0;
  if (corrupt) --corrupt_;
  // The peer's ACCM holds once LCP is Opened; until then every control character is escaped
  // (RFC 1662 section 7.1). LCP packets keep the default, as lwIP's and pppd's do: escaping
  // more than asked is always understood.
  const std::uint32_t accm = lcp_.opened() && protocol != kLcp ? peer_accm_ : kDefaultAccm;
  if (hooks_.to_host) hooks_.to_host(encode_frame(protocol, information, accm, corrupt));
}

void PppLink::arm_restart() {
  restart_.expires_after(config_.restart);
  restart_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_) return;
    on_restart();
  });
}

void PppLink::on_restart() {
  if (phase_ == Phase::Terminate) {
    if (terminate_tries_ >= config_.max_terminate) return end(terminate_why_);
    ++terminate_tries_;
    send(kLcp, {kTerminateRequest, next_id_++, terminate_why_});
    return arm_restart();
  }
  Negotiation& n = phase_ == Phase::Establish ? lcp_ : ipcp_;
  if (phase_ == Phase::Authenticate || n.ours_acked) return;
  if (n.tries >= config_.max_configure) return terminate("no answer to Configure-Request");
  send_request(n);
}

void PppLink::end(std::string why) {
  if (phase_ == Phase::Dead) return;
  phase_ = Phase::Dead;
  ++generation_;
  restart_.cancel();
  if (hooks_.ended) hooks_.ended(std::move(why));
}

}  // namespace bg95::ppp
