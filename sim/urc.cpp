#include "sim/urc.hpp"

#include <fmt/format.h>

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

std::string registration(std::string_view prefix, int mode, int stat, const NetworkState& net) {
  if (mode == 2 && (stat == 1 || stat == 5))
    return fmt::format("{}: {},\"{}\",\"{}\",{}", prefix, stat, net.tac, net.cell_id,
                       rat_act(net.rat));
  return fmt::format("{}: {}", prefix, stat);
}

}  // namespace bg95::urc
