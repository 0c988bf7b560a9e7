#pragma once
// The module's side of a PPP link (RFC 1661): LCP, then PAP or CHAP-MD5 as AT+QICSGP
// configured the context (RFC 1334, RFC 1994), then IPCP with the context's address and DNS
// servers (RFC 1332, RFC 1877); then IPv4 packets both ways. Small explicit state machines, one
// per control protocol (why not a library: docs/ppp.md). Bytes in and out are RFC 1662 frames;
// the only clock is the restart timer, on the module's executor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/ppp/hdlc.hpp"
#include "protocol/ppp/packets.hpp"

namespace bg95::ppp {

struct LinkConfig {
  std::uint32_t local_address = 0;  // the module's end (the gateway address, docs/ppp.md)
  std::uint32_t peer_address = 0;   // the context's address, handed to the host
  std::uint32_t primary_dns = 0, secondary_dns = 0;
  int auth = 0;  // AT+QICSGP <authentication>: 0 none, 1 PAP, 2 CHAP, 3 PAP or CHAP
  std::string username, password;
  std::uint32_t magic = 0;  // LCP magic number (RFC 1661 section 6.4)
  // RFC 1661 section 4.6: Restart timer 3 s, Max-Configure 10, Max-Terminate 2.
  std::chrono::milliseconds restart{3000};
  int max_configure = 10;
  int max_terminate = 2;
};

class PppLink {
 public:
  struct Hooks {
    std::function<void(std::string wire)> to_host;       // framed bytes for the host
    std::function<void()> network_up;                    // IPCP opened
    std::function<void(std::string packet)> to_network;  // an IPv4 packet from the host
    std::function<void(std::string why)> ended;          // the link is down (once)
  };
  enum class Phase { Establish, Authenticate, Network, Terminate, Dead };

  PppLink(boost::asio::any_io_executor executor, LinkConfig config, Hooks hooks);

  void start();  // sends the module's LCP Configure-Request
  void receive(std::string_view bytes);
  void send_ip(std::string_view packet);  // dropped unless IPCP is open
  // The module ends the link (the network dropped the context): LCP Terminate-Request, then
  // `ended` after the host's Terminate-Ack or Max-Terminate restarts.
  void terminate(std::string why);
  Phase phase() const { return phase_; }
  bool network_open() const { return phase_ == Phase::Network && ipcp_.opened(); }

  // Faults: the next `n` frames the module sends are lost, or go with a bad FCS.
  void lose_frames(int n) { lose_ = n; }
  void corrupt_fcs(int n) { corrupt_ = n; }
  std::uint64_t frames_dropped() const { return deframer_.dropped(); }

 private:
  // One control protocol's negotiation (LCP or IPCP), RFC 1661 section 4 reduced to what a
  // module that always accepts the link needs: our request acked, the peer's acked.
  struct Negotiation {
    std::uint16_t protocol;
    std::vector<Option> request;  // what we ask for
    std::uint8_t id = 0;
    int tries = 0;
    bool ours_acked = false, theirs_acked = false;
    bool opened() const { return ours_acked && theirs_acked; }
  };

  void on_frame(Frame frame);
  void on_lcp(const ControlPacket& p);
  void on_ipcp(const ControlPacket& p);
  void on_pap(const ControlPacket& p);
  void on_chap(const ControlPacket& p);
  // The answer to a peer's Configure-Request: Ack, Nak or Reject, as `check` says of each.
  enum class Verdict { Accept, Nak, Reject };
  using Check = std::function<Verdict(Option&)>;
  bool answer_request(Negotiation& n, const ControlPacket& p, const Check& check);
  void on_reply(Negotiation& n, const ControlPacket& p);
  void send_request(Negotiation& n);
  void send(std::uint16_t protocol, const ControlPacket& p);
  void send_frame(std::uint16_t protocol, std::string_view information);
  void lcp_opened();
  void auth_done(bool ok);
  void arm_restart();
  void on_restart();
  void end(std::string why);

  boost::asio::any_io_executor executor_;
  LinkConfig config_;
  Hooks hooks_;
  Deframer deframer_;
  boost::asio::steady_timer restart_;
  Phase phase_ = Phase::Establish;
  Negotiation lcp_{kLcp, {}};
  Negotiation ipcp_{kIpcp, {}};
  std::uint32_t peer_accm_ = kDefaultAccm;
  std::uint16_t auth_protocol_ = 0;  // what our LCP request asks for (0: none)
  std::uint8_t chap_id_ = 0;
  std::string challenge_;
  int terminate_tries_ = 0;
  std::string terminate_why_;  // sent in the Terminate-Request, given to `ended`
  std::uint8_t next_id_ = 1;
  int lose_ = 0, corrupt_ = 0;
  std::uint64_t generation_ = 0;  // bumped when the link ends: its timers do nothing
};

}  // namespace bg95::ppp
