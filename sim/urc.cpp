#include "sim/urc.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <ctime>

namespace bg95::urc {

std::string fota(std::string_view stage) {
  return fmt::format("+QIND: \"FOTA\",\"{}\"", stage);
}

std::string fota(std::string_view stage, int value) {
  return fmt::format("+QIND: \"FOTA\",\"{}\",{}", stage, value);
}

std::string fota_percent(std::string_view stage, int percent, bool percent_sign) {
  return fmt::format("+QIND: \"FOTA\",\"{}\",{}{}", stage, percent, percent_sign ? "%" : "");
}

namespace {

std::string zone(int tz_quarters) {
  return fmt::format("{}{:02d}", tz_quarters < 0 ? '-' : '+', std::abs(tz_quarters));
}

// The calendar fields of utc shown in the zone tz_quarters.
std::tm local_fields(std::chrono::system_clock::time_point utc, int tz_quarters) {
  const std::time_t t =
      std::chrono::system_clock::to_time_t(utc + std::chrono::minutes(15 * tz_quarters));
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string ctzv(int tz_quarters) {
  return "+CTZV: " + zone(tz_quarters);
}

std::string ctze(int tz_quarters, int dst, std::chrono::system_clock::time_point utc) {
  const std::tm tm = local_fields(utc, tz_quarters);
  return fmt::format("+CTZE: {},{},\"{:02d}/{:02d}/{:02d},{:02d}:{:02d}:{:02d}\"",
                     zone(tz_quarters), dst, tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string cclk_time(std::chrono::system_clock::time_point utc, int tz_quarters) {
  const std::tm tm = local_fields(utc, tz_quarters);
  return fmt::format("{:02d}/{:02d}/{:02d},{:02d}:{:02d}:{:02d}{}", tm.tm_year % 100, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, zone(tz_quarters));
}

std::string qlts_time(std::chrono::system_clock::time_point utc, int tz_quarters, int dst) {
  const std::tm tm = local_fields(utc, tz_quarters);
  return fmt::format("{:04d}/{:02d}/{:02d},{:02d}:{:02d}:{:02d}{},{}", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, zone(tz_quarters),
                     dst);
}

std::string registration(std::string_view prefix, int mode, int stat, const NetworkState& net,
                         const std::optional<std::pair<std::string, std::string>>& psm) {
  std::string line = fmt::format("{}: {}", prefix, stat);
  if (mode < 2) return line;
  const bool registered = stat == 1 || stat == 5;
  const bool denied = stat == 3 && (mode == 3 || mode == 5);
  const bool with_psm = registered && psm && (mode == 4 || mode == 5);
  if (registered) {
    line += fmt::format(",\"{}\",\"{}\",{}", net.tac, net.cell_id, rat_act(net.rat));
  } else if (denied || with_psm) {
    line += ",,,";
  }
  if (denied) {
    line += fmt::format(",0,{}", net.reject_cause);
  } else if (with_psm) {
    line += ",,";
  }
  if (with_psm) line += fmt::format(",\"{}\",\"{}\"", psm->first, psm->second);
  return line;
}

}  // namespace bg95::urc
