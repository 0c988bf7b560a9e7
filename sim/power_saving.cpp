#include "sim/power_saving.hpp"

#include <fmt/format.h>

#include <array>

#include "protocol/at/command_line.hpp"
#include "sim/module.hpp"

namespace bg95 {
namespace psm {
namespace {

using std::chrono::seconds;

// Units of the 3-bit field (bits 8-6) of each timer coding; 0: deactivated.
constexpr std::array<std::int64_t, 8> kTimer3Units{600, 3600, 36000, 2, 30, 60, 1152000, 0};
constexpr std::array<std::int64_t, 8> kTimer2Units{2, 60, 360, 0, 0, 0, 0, 0};

std::optional<seconds> decode(const std::string& bits, const std::array<std::int64_t, 8>& units) {
  if (!valid_bits(bits, 8)) return std::nullopt;
  const int unit = std::stoi(bits.substr(0, 3), nullptr, 2);
  const int value = std::stoi(bits.substr(3), nullptr, 2);
  if (units[static_cast<std::size_t>(unit)] == 0) return std::nullopt;
  return seconds(units[static_cast<std::size_t>(unit)] * value);
}

std::string encode(seconds s, const std::array<std::int64_t, 8>& units) {
  // The coding whose value comes nearest from above, preferring the finer unit.
  std::string best;
  std::int64_t best_len = -1;
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (units[u] == 0) continue;
    const std::int64_t n = (s.count() + units[u] - 1) / units[u];
    if (n > 31) continue;
    const std::int64_t len = n * units[u];
    if (best_len < 0 || len < best_len) {
      best_len = len;
      best = fmt::format("{:03b}{:05b}", u, n);
    }
  }
  return best.empty() ? fmt::format("{:03b}{:05b}", 1, 31) : best;
}

}  // namespace

bool valid_bits(const std::string& bits, std::size_t n) {
  return bits.size() == n && bits.find_first_not_of("01") == std::string::npos;
}

std::optional<seconds> decode_timer3(const std::string& bits) {
  return decode(bits, kTimer3Units);
}
std::optional<seconds> decode_timer2(const std::string& bits) {
  return decode(bits, kTimer2Units);
}
std::string encode_timer3(seconds s) {
  return encode(s, kTimer3Units);
}
std::string encode_timer2(seconds s) {
  return encode(s, kTimer2Units);
}

}  // namespace psm

PowerSaving::PowerSaving(Module& module)
    : m_(module), active_timer_(module.executor()), wake_timer_(module.executor()) {
  request_ = load_request();
}

psm::Request PowerSaving::load_request() const {
  psm::Request r;
  const auto it = m_.settings().at_nv.find("+CPSMS");
  if (it == m_.settings().at_nv.end()) return r;
  // Kept as the read form prints it: <mode>,,,"<Periodic-TAU>","<Active-Time>"
  const at::CommandLine parsed = at::parse_command_line("+X=" + it->second);
  if (parsed.syntax_error || parsed.commands.empty()) return r;
  const auto& a = parsed.commands.front().args;
  if (a.size() >= 1) r.mode = a[0].text == "1" ? 1 : 0;
  if (a.size() >= 4 && psm::valid_bits(a[3].text, 8)) r.periodic_tau = a[3].text;
  if (a.size() >= 5 && psm::valid_bits(a[4].text, 8)) r.active_time = a[4].text;
  return r;
}

bool PowerSaving::set_request(const psm::Request& r) {
  auto& nv = m_.settings().at_nv;
  const auto before = nv;
  nv["+CPSMS"] = fmt::format("{},,,\"{}\",\"{}\"", r.mode, r.periodic_tau, r.active_time);
  if (!m_.try_save_settings()) {
    nv = before;
    return false;
  }
  request_ = r;
  if (r.mode == 1 && registered_) {
    report_timers();  // a new request is negotiated with a tracking area update
    arm_active_timer();
  } else if (r.mode == 0) {
    active_timer_.cancel();
  }
  return true;
}

std::optional<std::pair<std::string, std::string>> PowerSaving::granted() const {
  const psm::Request r = request();
  if (r.mode != 1 || !m_.network().view().registered()) return std::nullopt;
  return std::make_pair(r.active_time, r.periodic_tau);
}

std::chrono::milliseconds PowerSaving::scaled(std::chrono::seconds s) const {
  const Timing& t = m_.config().timing;
  const double factor = t.profile == Timing::Profile::Realistic ? t.scale : 1.0;
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(static_cast<double>(s.count()) * 1000 * factor));
}

void PowerSaving::on_booted() {
  asleep_ = false;
  wake_timer_.cancel();
}

void PowerSaving::on_network(const NetworkState& now) {
  const bool was = registered_;
  registered_ = now.registered();
  const psm::Request r = request();
  if (!registered_ || r.mode != 1) {
    active_timer_.cancel();
    return;
  }
  // PSM is negotiated at attach: the granted timers, when the host asked for the URC.
  if (!was) report_timers();
  arm_active_timer();
}

void PowerSaving::report_timers() {
  const psm::Request r = request();
  const auto q = m_.settings().qcfg.find("psm/urc");
  const auto tau = psm::decode_timer3(r.periodic_tau);
  const auto act = psm::decode_timer2(r.active_time);
  if (q != m_.settings().qcfg.end() && q->second == "1" && tau && act)
    m_.emit_urc(fmt::format("+QPSMTIMER: {},{}", tau->count(), act->count()));
}

void PowerSaving::on_host_activity() {
  if (registered_ && !asleep_ && request().mode == 1) arm_active_timer();
}

void PowerSaving::on_power_lost() {
  active_timer_.cancel();
  wake_timer_.cancel();
  registered_ = false;
  asleep_ = false;
}

void PowerSaving::arm_active_timer() {
  const auto act = psm::decode_timer2(request().active_time);
  active_timer_.cancel();
  if (!act) return;  // Active-Time deactivated: the module never sleeps
  active_timer_.expires_after(scaled(*act));
  active_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) enter_psm();
  });
}

void PowerSaving::enter_psm() {
  if (m_.power_state() != PowerState::Normal || !registered_) return;
  const auto tau = psm::decode_timer3(request().periodic_tau);
  m_.emit_urc("PSM POWER DOWN");
  m_.enter_psm();
  asleep_ = true;
  if (!tau) return;  // no periodic TAU: it sleeps until powered on
  wake_timer_.expires_after(scaled(*tau));
  wake_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && asleep_) m_.power_on();
  });
}

}  // namespace bg95
