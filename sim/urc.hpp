#pragma once
// The module's unsolicited result codes, in one place (framing is the AT engine's job).

#include <array>
#include <string>
#include <string_view>

#include "sim/network.hpp"

namespace bg95::urc {

// The boot banner, in the order of the reference notes (RDY ... APP RDY, BG96 sibling order
// for the lines between).
inline constexpr std::array<std::string_view, 6> kBootBanner{
    "RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "APP RDY", "+QIND: SMS DONE"};

inline constexpr std::string_view kCpinReady = "+CPIN: READY";

// +QIND: "FOTA","<stage>" and +QIND: "FOTA","<stage>",<value> (the note's 2.2.1).
std::string fota(std::string_view stage);
std::string fota(std::string_view stage, int value);
// Progress: a bare integer (the note's parameter definition) or with a '%' sign (the note's
// example in 4.1), so host drivers can be tested against both.
std::string fota_percent(std::string_view stage, int percent, bool percent_sign);

// "+CEREG: <stat>" (n=1) or "+CEREG: <stat>,\"<tac>\",\"<ci>\",<AcT>" (n=2).
std::string registration(std::string_view prefix, int mode, int stat, const NetworkState& net);

}  // namespace bg95::urc
