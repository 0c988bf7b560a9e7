#include "sim/ppp/ppp_service.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "protocol/at/data_session.hpp"
#include "protocol/ppp/ipv4.hpp"
#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/ppp/ppp_link.hpp"
#include "sim/ppp/slirp_network.hpp"

namespace bg95::ppp {

std::uint32_t gateway_address(int cid) {
  return 10u << 24 | static_cast<std::uint32_t>(64 + cid) << 16 | 0xfffe;
}

// One PPP link in data mode, or waiting in command mode for ATO.
class PppSession : public at::DataSession, public std::enable_shared_from_this<PppSession> {
 public:
  PppSession(Module& m, PppService& service, const at::DteProfile* port, int cid, LinkConfig link,
             NetworkConfig network)
      : module_(m),
        service_(service),
        port_(port),
        cid_(cid),
        network_config_(std::move(network)),
        link_(m.executor(), std::move(link),
              PppLink::Hooks{
                  .to_host = [this](std::string wire) { to_host(std::move(wire)); },
                  .network_up = [this] { network_up(); },
                  .to_network =
                      [this](std::string p) {
                        if (network_) network_->from_guest(std::move(p));
                      },
                  .ended = [this](std::string) { link_ended(); },
              }) {}

  int cid() const { return cid_; }
  PppLink& link() { return link_; }

  std::size_t on_data(std::string_view bytes) override {
    link_.receive(bytes);
    return bytes.size();
  }
  bool complete() const override { return false; }
  double idle_timeout_seconds() const override { return 0; }  // PPP has LCP Echo for that

  void attach(at::DataLink data_link) override {
    data_link_ = std::move(data_link);
    in_data_mode_ = true;
    if (!started_) {
      started_ = true;
      link_.start();
    }
  }

  at::Reply finish(at::DataEnd why) override {
    in_data_mode_ = false;
    data_link_ = {};
    switch (why) {
      case at::DataEnd::Escape:
      case at::DataEnd::DtrDrop:
        // The link stays up in command mode (V.250 +++ and AT&D1): ATO returns to it.
        if (link_.phase() != PppLink::Phase::Dead) {
          service_.suspend(port_, shared_from_this());
          return {{}, at::Outcome::ok(), nullptr};
        }
        break;
      case at::DataEnd::Reset:
        stop();
        return {};
      default:
        break;
    }
    stop();
    return {{}, {at::Outcome::Kind::NoCarrier, 0}, nullptr};
  }

  // The network or ATH ends the link: LCP Terminate-Request first while the host can hear it.
  void end_link(const std::string& why) {
    if (in_data_mode_) return link_.terminate(why);
    stop();
  }

  void stop() {
    network_.reset();
    ended_ = true;
    service_.forget(this);
  }

 private:
  void to_host(std::string wire) {
    // Frames the module sends while in command mode are lost (the host reads AT answers).
    if (in_data_mode_ && data_link_.to_host) data_link_.to_host(std::move(wire));
  }

  void network_up() {
    if (network_) return;
    network_ =
        std::make_unique<SlirpNetwork>(module_.executor(), module_.link(), network_config_,
                                       [this](std::string packet) { link_.send_ip(packet); });
  }

  void link_ended() {
    // Data mode may end in this call and the engine drop the session: it lives until this
    // turn of the event loop is over (the link that called is a member).
    boost::asio::post(module_.executor(), [keep = shared_from_this()] {});
    network_.reset();
    if (in_data_mode_ && data_link_.end) return data_link_.end(at::DataEnd::Closed);
    stop();
  }

  Module& module_;
  PppService& service_;
  const at::DteProfile* port_;
  int cid_;
  NetworkConfig network_config_;
  PppLink link_;
  std::unique_ptr<SlirpNetwork> network_;
  at::DataLink data_link_;
  bool started_ = false;
  bool in_data_mode_ = false;
  bool ended_ = false;
};

void PppService::dial(at::Call& call, int cid) {
  packet::PacketData& pd = module_.packet_data();
  // The context is activated for the link (3GPP 27.007 section 10.1.12: the dial activates
  // what it needs); when that fails the dial fails as a call does, with NO CARRIER.
  const auto* profile = pd.profile(cid);
  if (!profile || pd.activate(cid) != packet::PacketData::ActivateResult::Ok)
    return call.finish({at::Outcome::Kind::NoCarrier, 0});
  const auto address = parse_dotted(pd.ipv4_address(cid));
  if (!address || *address == 0) return call.finish({at::Outcome::Kind::NoCarrier, 0});
  const auto dns = pd.dns(cid);
  LinkConfig link{
      .local_address = gateway_address(cid),
      .peer_address = *address,
      .primary_dns = parse_dotted(dns.primary).value_or(0),
      .secondary_dns = parse_dotted(dns.secondary).value_or(0),
      .auth = profile->auth,
      .username = profile->username,
      .password = profile->password,
      // A different magic number per dial, the same in every run (tests read it).
      .magic = 0x42473935u + dials_++,
  };
  NetworkConfig network{
      .guest = *address,
      .gateway = gateway_address(cid),
      .network = gateway_address(cid) & 0xffff0000u,
      .netmask = 0xffff0000u,
      .dns = {link.primary_dns, link.secondary_dns},
  };
  auto session = std::make_shared<PppSession>(module_, *this, &call.profile(), cid, std::move(link),
                                              std::move(network));
  sessions_.push_back(session);
  call.connect(std::move(session));
}

bool PppService::resume(at::Call& call) {
  const auto it = suspended_.find(&call.profile());
  if (it == suspended_.end()) return false;
  auto session = std::move(it->second);
  suspended_.erase(it);
  call.connect(std::move(session));
  return true;
}

bool PppService::hang_up(at::Call& call) {
  const auto it = suspended_.find(&call.profile());
  if (it == suspended_.end()) return false;
  auto session = std::move(it->second);
  suspended_.erase(it);
  session->stop();
  return true;
}

void PppService::on_context_down(int cid) {
  for (const auto& s : live())
    if (s->cid() == cid) s->end_link("PDP context deactivated");
}

void PppService::on_power_loss() {
  for (const auto& s : live())
    s->stop();
  suspended_.clear();
  sessions_.clear();
}

bool PppService::lose_frames(int n) {
  const auto sessions = live();
  for (const auto& s : sessions)
    s->link().lose_frames(n);
  return !sessions.empty();
}

bool PppService::corrupt_fcs(int n) {
  const auto sessions = live();
  for (const auto& s : sessions)
    s->link().corrupt_fcs(n);
  return !sessions.empty();
}

void PppService::suspend(const at::DteProfile* port, std::shared_ptr<PppSession> session) {
  suspended_[port] = std::move(session);
}

void PppService::forget(const PppSession* session) {
  std::erase_if(suspended_, [session](const auto& kv) { return kv.second.get() == session; });
  std::erase_if(sessions_, [session](const std::weak_ptr<PppSession>& w) {
    const auto s = w.lock();
    return !s || s.get() == session;
  });
}

std::vector<std::shared_ptr<PppSession>> PppService::live() const {
  std::vector<std::shared_ptr<PppSession>> out;
  for (const auto& w : sessions_)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

}  // namespace bg95::ppp
