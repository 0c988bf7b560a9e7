#pragma once
// The module's unsolicited result codes, in one place (framing is the AT engine's job).

#include <array>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "sim/network.hpp"

namespace bg95::urc {

// The boot banner. BG95 logs show RDY first and APP RDY a few seconds later (Zephyr PRs
// #57110, #93052); no public BG95 log shows the lines between, so the order is a real BG96's
// (RDY, +CFUN: 1, APP RDY, +CPIN: READY, +QUSIM: 1, +QIND: SMS DONE; docs/at-commands.md).
inline constexpr std::array<std::string_view, 6> kBootBanner{
    "RDY", "+CFUN: 1", "APP RDY", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE"};

inline constexpr std::string_view kCpinReady = "+CPIN: READY";

// +QIND: "FOTA","<stage>" and +QIND: "FOTA","<stage>",<value> (the note's 2.2.1).
std::string fota(std::string_view stage);
std::string fota(std::string_view stage, int value);
// Progress: a bare integer (the note's parameter definition) or with a '%' sign (the note's
// example in 4.1), so host drivers can be tested against both.
std::string fota_percent(std::string_view stage, int percent, bool percent_sign);

// AT+CTZR=1: "+CTZV: <tz>"; =2: "+CTZE: <tz>,<dst>,\"yy/MM/dd,hh:mm:ss\"" (27.007 10.1.30;
// tz in quarter hours with its sign).
std::string ctzv(int tz_quarters);
std::string ctze(int tz_quarters, int dst, std::chrono::system_clock::time_point utc);
// "yy/MM/dd,hh:mm:ss±zz" (AT+CCLK) and "yyyy/MM/dd,hh:mm:ss±zz,<dst>" (AT+QLTS) of a UTC time
// shown in the zone tz_quarters.
std::string cclk_time(std::chrono::system_clock::time_point utc, int tz_quarters);
std::string qlts_time(std::chrono::system_clock::time_point utc, int tz_quarters, int dst);

// A registration line of 27.007 (+CREG/+CGREG/+CEREG 10.1.22) for <n> = mode, without <n>
// (the URC; the read form puts "<n>," in front):
//   n=1  <stat>
//   n=2  <stat>[,"<tac>","<ci>",<AcT>]                       (location while registered)
//   n=3  n=2 and, when registration was denied, ,,,,<cause_type>,<reject_cause>
//   n=4  n=2 and, with PSM granted, ,,,"<Active-Time>","<Periodic-TAU>"
//   n=5  n=3 and n=4 together
// `psm`: the granted Active-Time and Periodic-TAU as 8-bit strings, when PSM is in use.
std::string registration(std::string_view prefix, int mode, int stat, const NetworkState& net,
                         const std::optional<std::pair<std::string, std::string>>& psm = {});

}  // namespace bg95::urc
