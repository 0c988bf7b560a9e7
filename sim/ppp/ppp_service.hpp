#pragma once
// PPP on a module: the dial (ATD*99#, ATD*99***<cid>#, AT+CGDATA="PPP",<cid>) makes a data
// session that runs a PPP link (ppp_link.*) over whichever port or multiplexer channel the
// command came from, with the network behind it in libslirp (slirp_network.*). "+++" or DTR
// under AT&D1 leave the link up in command mode until ATO resumes it or ATH ends it; LCP
// Terminate from the host, DTR under AT&D2 and the network dropping the context end it with
// NO CARRIER. docs/ppp.md.

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "protocol/at/command_table.hpp"

namespace bg95 {
class Module;
}

namespace bg95::ppp {

class PppSession;

// The gateway address of context <cid> (10.<64+cid>.255.254): the host reaches 127.0.0.1
// there. No context address the module hands out ends in 255.254 (packet_data.cpp).
std::uint32_t gateway_address(int cid);

class PppService {
 public:
  explicit PppService(Module& module) : module_(module) {}
  PppService(const PppService&) = delete;
  PppService& operator=(const PppService&) = delete;

  // Answers CONNECT and runs PPP on the context, or NO CARRIER when it cannot be activated.
  void dial(at::Call& call, int cid);
  // ATO: the link this port left with "+++" goes on (CONNECT); false: none.
  bool resume(at::Call& call);
  // ATH: the link this port left is ended; false: none.
  bool hang_up(at::Call& call);
  // The context went down (the network, the host on another channel, a detach).
  void on_context_down(int cid);
  void on_power_loss();  // links end without a word

  // Faults on the links up now: the next n frames the module sends are lost / have a bad FCS.
  bool lose_frames(int n);
  bool corrupt_fcs(int n);

  // A link that left data mode waits here for ATO or ATH (keyed by the port's profile, which
  // the handler sees without knowing the port).
  void suspend(const at::DteProfile* port, std::shared_ptr<PppSession> session);
  void forget(const PppSession* session);

 private:
  std::vector<std::shared_ptr<PppSession>> live() const;

  Module& module_;
  std::uint32_t dials_ = 0;
  std::vector<std::weak_ptr<PppSession>> sessions_;
  std::map<const at::DteProfile*, std::shared_ptr<PppSession>> suspended_;
};

}  // namespace bg95::ppp
