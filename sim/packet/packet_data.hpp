#pragma once
// Packet data as a host sees it: the PDP contexts (AT+CGDCONT, AT+QICSGP), PS attach
// (AT+CGATT), context activation (AT+CGACT, AT+QIACT, AT+QIDEACT), addresses (AT+CGPADDR),
// DNS servers (AT+QIDNSCFG) and the events of AT+CGEREP. docs/at-commands.md has the formats
// and their sources.
//
// The model:
//   - Context definitions are non-volatile (settings.json `pdp`); AT+CGDCONT and AT+QICSGP
//     write the same definition, as on the module (one profile per <cid>).
//   - PS attach follows registration: registered and not detached by the host (AT+CGATT=0)
//     and not refused by the network (a fault) means attached. LTE attaches with a default
//     bearer: context 1 is active once attached (AT+CGACT? shows 1,1).
//   - A context activated by the host with AT+QIACT or AT+CGACT stays active until the host
//     deactivates it, the module detaches (radio off, AT+CGATT=0) or the network deactivates
//     it (a fault: `+QIURC: "pdpdeact",<cid>` and, under AT+CGEREP=1, `+CGEV: NW PDN DEACT`).
//   - Addresses are made up per module and context (10.<64+cid>.<n>.<m>); they are what
//     AT+QIACT? and AT+CGPADDR print. DNS servers are the context's or the defaults.
//   - Activating a context whose APN the network does not accept fails (the fault that
//     `--accepted-apn` and the control socket set).
// Volatile state starts over at every boot.

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim/network.hpp"
#include "sim/state/settings.hpp"

namespace bg95::packet {

inline constexpr int kMinCid = 1;
inline constexpr int kMaxCid = 15;  // AT+CGDCONT=? on BG95: (1-15)

// PDP types as AT+CGDCONT writes them.
bool known_pdp_type(const std::string& type);
// "IP" / "IPV6" / "IPV4V6" for AT+QICSGP's <context_type> 1/2/3, and back (0 for others).
std::string pdp_type_of_context_type(int context_type);
int context_type_of_pdp_type(const std::string& type);

class PacketData {
 public:
  // Where the model reports what a host sees unasked (URCs) and what it keeps in NV.
  struct Hooks {
    std::function<void(const std::string&)> urc;
    std::function<bool()> save;  // settings written? false: the write failed
    // A context went down, whoever ended it (a PPP link on it ends).
    std::function<void(int cid)> deactivated;
  };

  PacketData(state::Settings& settings, std::uint32_t module_index, Hooks hooks);

  // ---- module life
  void on_boot();  // volatile state starts over
  // Registration or the radio changed: attach or detach follows. The network's accepted APN
  // (NetworkState::accepted_apn) decides which APNs can be activated.
  void on_network(const NetworkState& now);

  // ---- definitions (AT+CGDCONT, AT+QICSGP)
  const state::PdpProfile* profile(int cid) const;
  std::vector<int> defined_cids() const;
  // False when the settings could not be saved (the caller answers an error).
  bool define(int cid, state::PdpProfile profile);
  bool undefine(int cid);

  // ---- attach (AT+CGATT)
  bool attached() const { return attached_; }
  // The host's AT+CGATT=<0|1>. False: attach is not possible now (not registered or refused).
  bool set_attach(bool attach);

  // ---- activation (AT+CGACT, AT+QIACT, AT+QIDEACT)
  bool active(int cid) const;
  // Why an activation failed; Ok when the context is (now) active.
  enum class ActivateResult { Ok, NotAttached, Undefined, ApnRefused };
  ActivateResult activate(int cid);
  void deactivate(int cid);  // by the host: +CGEV: ME PDN DEACT under AT+CGEREP=1
  std::vector<int> active_cids() const;

  // ---- addresses and DNS
  std::string ipv4_address(int cid) const;  // "0.0.0.0" when not active
  std::string ipv6_address(int cid) const;
  struct Dns {
    std::string primary, secondary;
  };
  Dns dns(int cid) const;
  void set_dns(int cid, Dns dns);

  // ---- AT+CGEREP
  int cgerep_mode() const { return cgerep_mode_; }
  void set_cgerep_mode(int mode) { cgerep_mode_ = mode; }

  // ---- AT+QIGETERROR: the result of the last TCP/IP command (0 or a 55x/56x code)
  int last_error() const { return last_error_; }
  void set_last_error(int code) { last_error_ = code; }

  // ---- faults (control socket, scenarios)
  // The network deactivates the context: +QIURC: "pdpdeact",<cid> (and +CGEV). False when it
  // was not active.
  bool network_deactivate(int cid);
  // The network refuses PS attach (registration may still succeed): detached until allowed.
  void set_attach_refused(bool refused);
  bool attach_refused() const { return attach_refused_; }

 private:
  void attach();
  void detach(bool by_network);
  void cgev(const std::string& event);

  state::Settings& settings_;
  std::uint32_t index_;
  Hooks hooks_;
  bool registered_ = false;
  bool host_detached_ = false;
  bool attach_refused_ = false;
  bool attached_ = false;
  std::array<bool, kMaxCid + 1> active_{};
  std::array<std::optional<Dns>, kMaxCid + 1> dns_{};
  int cgerep_mode_ = 0;
  int last_error_ = 0;
  std::string accepted_apn_;
};

}  // namespace bg95::packet
