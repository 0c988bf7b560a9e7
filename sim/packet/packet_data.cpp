#include "sim/packet/packet_data.hpp"

#include <fmt/format.h>

#include <utility>

#include "sim/util/text.hpp"

namespace bg95::packet {

bool known_pdp_type(const std::string& type) {
  return type == "IP" || type == "IPV6" || type == "IPV4V6" || type == "Non-IP";
}

std::string pdp_type_of_context_type(int context_type) {
  switch (context_type) {
    case 1:
      return "IP";
    case 2:
      return "IPV6";
    case 3:
      return "IPV4V6";
    default:
      return {};
  }
}

int context_type_of_pdp_type(const std::string& type) {
  if (type == "IP") return 1;
  if (type == "IPV6") return 2;
  if (type == "IPV4V6") return 3;
  return 0;
}

PacketData::PacketData(state::Settings& settings, std::uint32_t module_index, Hooks hooks)
    : settings_(settings), index_(module_index), hooks_(std::move(hooks)) {}

void PacketData::on_boot() {
  registered_ = false;
  host_detached_ = false;
  attached_ = false;
  // (What ran on the contexts ended with the power: no hook.)
  active_.fill(false);
  dns_.fill(std::nullopt);
  cgerep_mode_ = 0;
  last_error_ = 0;
}

void PacketData::on_network(const NetworkState& now) {
  registered_ = now.registered();
  accepted_apn_ = now.accepted_apn;
  if (registered_ && !host_detached_ && !attach_refused_) {
    attach();
  } else if (!registered_ && attached_) {
    // Out of coverage or the radio off: the module detaches and its bearers go.
    detach(/*by_network=*/false);
  }
}

void PacketData::attach() {
  if (attached_) return;
  attached_ = true;
  // LTE attach brings up the default bearer on context 1.
  if (settings_.pdp.contains(1)) active_[1] = true;
}

void PacketData::detach(bool by_network) {
  if (!attached_) return;
  attached_ = false;
  const auto was_active = active_cids();
  active_.fill(false);
  if (by_network) cgev("NW DETACH");
  for (int cid : was_active)
    context_down(cid, host_detached_);
}

const state::PdpProfile* PacketData::profile(int cid) const {
  const auto it = settings_.pdp.find(cid);
  return it == settings_.pdp.end() ? nullptr : &it->second;
}

std::vector<int> PacketData::defined_cids() const {
  std::vector<int> cids;
  for (const auto& [cid, p] : settings_.pdp)
    cids.push_back(cid);
  return cids;
}

bool PacketData::define(int cid, state::PdpProfile profile) {
  const auto before = settings_.pdp;
  settings_.pdp[cid] = std::move(profile);
  if (hooks_.save && !hooks_.save()) {
    settings_.pdp = before;
    return false;
  }
  return true;
}

bool PacketData::undefine(int cid) {
  const auto before = settings_.pdp;
  settings_.pdp.erase(cid);
  active_[static_cast<std::size_t>(cid)] = false;
  if (hooks_.save && !hooks_.save()) {
    settings_.pdp = before;
    return false;
  }
  return true;
}

bool PacketData::set_attach(bool attach_now) {
  if (!attach_now) {
    host_detached_ = true;
    detach(/*by_network=*/false);
    return true;
  }
  host_detached_ = false;
  if (!registered_ || attach_refused_) return false;
  attach();
  return true;
}

bool PacketData::active(int cid) const {
  return cid >= kMinCid && cid <= kMaxCid && active_[static_cast<std::size_t>(cid)];
}

PacketData::ActivateResult PacketData::activate(int cid) {
  const state::PdpProfile* p = profile(cid);
  if (!p) return ActivateResult::Undefined;
  if (!attached_) return ActivateResult::NotAttached;
  if (active(cid)) return ActivateResult::Ok;
  // An empty APN asks for the network's default one, which it always gives.
  if (!accepted_apn_.empty() && !p->apn.empty() && !util::iequals(p->apn, accepted_apn_))
    return ActivateResult::ApnRefused;
  active_[static_cast<std::size_t>(cid)] = true;
  cgev(fmt::format("ME PDN ACT {}", cid));
  return ActivateResult::Ok;
}

void PacketData::deactivate(int cid) {
  // The host's deactivation closes the context's sockets even when the network took the
  // context first (the TCP/IP note: the host answers +QIURC: "pdpdeact" with AT+QIDEACT).
  if (!active(cid)) return context_down(cid, /*by_host=*/true);
  active_[static_cast<std::size_t>(cid)] = false;
  cgev(fmt::format("ME PDN DEACT {}", cid));
  context_down(cid, /*by_host=*/true);
}

std::vector<int> PacketData::active_cids() const {
  std::vector<int> cids;
  for (int cid = kMinCid; cid <= kMaxCid; ++cid)
    if (active(cid)) cids.push_back(cid);
  return cids;
}

std::string PacketData::ipv4_address(int cid) const {
  if (!active(cid)) return "0.0.0.0";
  const state::PdpProfile* p = profile(cid);
  if (!p || p->type == "IPV6" || p->type == "Non-IP") return "0.0.0.0";
  // A private address of its own per module and context.
  return fmt::format("10.{}.{}.{}", 64 + cid, (index_ / 250) % 256, index_ % 250 + 2);
}

std::string PacketData::ipv6_address(int cid) const {
  const state::PdpProfile* p = profile(cid);
  if (!active(cid) || !p || (p->type != "IPV6" && p->type != "IPV4V6")) return {};
  return fmt::format("2001:db8:{:x}:{:x}::{:x}", cid, index_ >> 16, (index_ & 0xffff) + 2);
}

PacketData::Dns PacketData::dns(int cid) const {
  if (cid >= kMinCid && cid <= kMaxCid && dns_[static_cast<std::size_t>(cid)])
    return *dns_[static_cast<std::size_t>(cid)];
  // What the network hands out with the bearer (the model's own; see docs/at-commands.md).
  return {"10.64.0.1", "10.64.0.2"};
}

void PacketData::set_dns(int cid, Dns dns) {
  if (cid >= kMinCid && cid <= kMaxCid) dns_[static_cast<std::size_t>(cid)] = std::move(dns);
}

bool PacketData::network_deactivate(int cid) {
  if (!active(cid)) return false;
  active_[static_cast<std::size_t>(cid)] = false;
  if (hooks_.urc) hooks_.urc(fmt::format("+QIURC: \"pdpdeact\",{}", cid));
  cgev(fmt::format("NW PDN DEACT {}", cid));
  context_down(cid, /*by_host=*/false);
  return true;
}

void PacketData::context_down(int cid, bool by_host) {
  if (hooks_.context_down) hooks_.context_down(cid, by_host);
}

void PacketData::set_attach_refused(bool refused) {
  attach_refused_ = refused;
  if (refused) {
    detach(/*by_network=*/true);
  } else if (registered_ && !host_detached_) {
    attach();
  }
}

void PacketData::cgev(const std::string& event) {
  if (cgerep_mode_ != 0 && hooks_.urc) hooks_.urc("+CGEV: " + event);
}

}  // namespace bg95::packet
