#include "sim/power_state.hpp"

#include <fmt/format.h>

#include <array>

namespace bg95 {
namespace {

using S = PowerState;
using E = PowerEvent;

// In the order of the enum.
constexpr std::array<PowerEventInfo, 9> kEvents{{
    {E::On, "power on", "power on", false, false, false},
    {E::Booted, "booted", "", false, false, false},
    {E::BootFailed, "boot failed", "", false, false, false},
    // The restart into the updater: the package and the FOTA flag stay, the update runs next.
    {E::DfotaMode, "DFOTA mode", "DFOTA mode", true, true, false},
    // Not a power loss: the update's end (its request closed at the restart) is kept.
    {E::Restart, "restart", "restart", true, true, false},
    // The answer that asked for it (AT+CFUN=1,1's OK) is out first; then all stops as at a cut.
    {E::Reset, "reset", "reset", true, true, true},
    {E::Off, "power off", "power off", true, false, true},
    {E::Cut, "power cut", "power cut", true, false, true},
    {E::Psm, "PSM", "PSM: asleep until T3412 or a power-on", true, false, true},
}};

constexpr std::array<PowerTransition, 17> kTransitions{{
    {S::Off, E::On, S::Booting, "the power key, or T3412 wakes it from PSM"},
    {S::Booting, E::Booted, S::Normal, "image in flash verified, banner RDY ... SMS DONE"},
    {S::Booting, E::BootFailed, S::Off, "image header or SHA-256 bad: stays dark"},
    {S::Booting, E::DfotaMode, S::Dfota, "FOTA flag set: an update cut short resumes"},
    {S::Booting, E::Reset, S::Booting, ""},
    {S::Booting, E::Off, S::Off, ""},
    {S::Booting, E::Cut, S::Off, ""},
    {S::Normal, E::DfotaMode, S::Dfota, "package ready, +QIND FOTA RESETTING"},
    {S::Normal, E::Reset, S::Booting, "AT+CFUN=1,1"},
    {S::Normal, E::Restart, S::Booting, "LwM2M reboot /3/0/4"},
    {S::Normal, E::Off, S::Off, "AT+QPOWD, or the control socket"},
    {S::Normal, E::Cut, S::Off, ""},
    {S::Normal, E::Psm, S::Off, "T3324 ran out with no byte from the host"},
    {S::Dfota, E::Restart, S::Booting, "update ended, END"},
    {S::Dfota, E::Reset, S::Booting, ""},
    {S::Dfota, E::Off, S::Off, ""},
    {S::Dfota, E::Cut, S::Off, "the update resumes at the next power on"},
}};

// The name status lines and scenarios use, and the one in the diagram; in the order of the enum.
struct StateNames {
  const char* name;
  const char* title;
};
constexpr std::array<StateNames, 4> kStates{{
    {"off", "Off"},
    {"booting", "Booting"},
    {"normal", "Normal"},
    {"dfota", "Dfota"},
}};

const char* mermaid_name(PowerState s) {
  return kStates[static_cast<std::size_t>(s)].title;
}

// "power cut", or "reset (AT+CFUN=1,1)".
std::string label(const PowerTransition& t) {
  const std::string event = power_event_name(t.event);
  return *t.cause ? fmt::format("{} ({})", event, t.cause) : event;
}

}  // namespace

const char* power_state_name(PowerState s) {
  return kStates[static_cast<std::size_t>(s)].name;
}

const PowerEventInfo& power_event_info(PowerEvent e) {
  return kEvents[static_cast<std::size_t>(e)];
}

const char* power_event_name(PowerEvent e) {
  return power_event_info(e).name;
}

std::span<const PowerTransition> power_transitions() {
  return kTransitions;
}

const PowerTransition* find_transition(PowerState from, PowerEvent event) {
  for (const PowerTransition& t : kTransitions)
    if (t.from == from && t.event == event) return &t;
  return nullptr;
}

bool passes_through_off(const PowerTransition& t) {
  return t.from != S::Off && t.to == S::Booting;
}

std::string power_state_diagram() {
  std::string out = "```mermaid\nstateDiagram-v2\n    [*] --> Off\n";
  for (const PowerTransition& t : kTransitions)
    out += fmt::format("    {} --> {}: {}\n", mermaid_name(t.from), mermaid_name(t.to), label(t));
  out += "```\n\nThe same as text, for readers without Mermaid:\n\n";
  out += "| from | event | to | when |\n| --- | --- | --- | --- |\n";
  for (const PowerTransition& t : kTransitions)
    out += fmt::format("| {} | {} | {} | {} |\n", mermaid_name(t.from), power_event_name(t.event),
                       mermaid_name(t.to), t.cause);
  return out;
}

}  // namespace bg95
