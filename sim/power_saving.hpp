#pragma once
// Power saving mode (PSM) and eDRX as the module models them (docs/at-commands.md, "PSM and
// eDRX"):
//   - AT+CPSMS / AT+QPSMS request PSM with a Periodic-TAU (T3412) and an Active-Time (T3324);
//     kept in NV. The modelled network grants what is asked.
//   - Registered with PSM requested, the module reports the granted timers (+CEREG n=4/5, and
//     +QPSMTIMER: <tau>,<t3324> when AT+QCFG="psm/urc" is 1) and, after T3324 with no byte
//     from the host, prints "PSM POWER DOWN" and sleeps: it answers nothing, prints nothing.
//   - It wakes when T3412 runs out or when it is powered on (the control socket's
//     `power on`, standing for PWRKEY/PSM_EINT), and boots as from power-on: banner, settings
//     from NV, per-boot settings lost.
//   - eDRX (AT+CEDRXS, AT+QEDRXCFG) is stored and reported (AT+CEDRXRDP); paging is not
//     modelled.
// Timer values are real durations in every profile (a test asks for a short Active-Time), and
// the realistic profile's time scale applies to them.

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

namespace bg95 {
class Module;
struct NetworkState;

namespace psm {

// 3GPP 24.008 GPRS Timer 3 (T3412 extended, "Periodic-TAU") and GPRS Timer 2 (T3324,
// "Active-Time") as 8-character binary strings: nullopt for a malformed string or a
// deactivated timer.
std::optional<std::chrono::seconds> decode_timer3(const std::string& bits);
std::optional<std::chrono::seconds> decode_timer2(const std::string& bits);
// The smallest coding at least `s` long (what AT+QPSMS writes in seconds become).
std::string encode_timer3(std::chrono::seconds s);
std::string encode_timer2(std::chrono::seconds s);
bool valid_bits(const std::string& bits, std::size_t n);

struct Request {
  int mode = 0;
  std::string periodic_tau = "00000110";  // 1 h
  std::string active_time = "00000001";   // 2 s
};

}  // namespace psm

class PowerSaving {
 public:
  explicit PowerSaving(Module& module);

  // The request kept in NV, parsed once (at start and when set): the host's every byte asks.
  const psm::Request& request() const { return request_; }
  bool set_request(const psm::Request& r);  // false: NV not written
  // The granted timers while registered with PSM requested (+CEREG n=4/5).
  std::optional<std::pair<std::string, std::string>> granted() const;

  // ---- module life
  void on_booted();
  void on_network(const NetworkState& now);
  void on_host_activity();  // a byte from the host: T3324 starts again
  void on_power_lost();     // a real power loss: no wake-up timer survives
  bool asleep() const { return asleep_; }

 private:
  psm::Request load_request() const;
  void arm_active_timer();
  void report_timers();
  void enter_psm();
  std::chrono::milliseconds scaled(std::chrono::seconds s) const;

  Module& m_;
  bool registered_ = false;
  bool asleep_ = false;
  psm::Request request_;
  boost::asio::steady_timer active_timer_;
  boost::asio::steady_timer wake_timer_;
};

}  // namespace bg95
