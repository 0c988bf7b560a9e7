#include "pty/line_speed.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace bg95::pty {
namespace {

constexpr std::array<std::pair<std::uint32_t, speed_t>, 16> kSpeeds{{
    {300, B300},
    {1200, B1200},
    {2400, B2400},
    {4800, B4800},
    {9600, B9600},
    {19200, B19200},
    {38400, B38400},
    {57600, B57600},
    {115200, B115200},
    {230400, B230400},
    {460800, B460800},
    {921600, B921600},
    {1000000, B1000000},
    {2000000, B2000000},
    {3000000, B3000000},
    {4000000, B4000000},
}};

}  // namespace

std::optional<speed_t> speed_of(std::uint32_t baud) {
  const auto it = std::find_if(kSpeeds.begin(), kSpeeds.end(),
                               [baud](const auto& entry) { return entry.first == baud; });
  if (it == kSpeeds.end()) return std::nullopt;
  return it->second;
}

std::uint32_t baud_of(speed_t speed) {
  const auto it = std::find_if(kSpeeds.begin(), kSpeeds.end(),
                               [speed](const auto& entry) { return entry.second == speed; });
  return it == kSpeeds.end() ? 0 : it->first;
}

}  // namespace bg95::pty
