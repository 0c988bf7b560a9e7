#pragma once
// The module's power and mode states, the events that move it between them, and the table of
// its transitions. Module::enter() takes a transition only if the table has it, and
// docs/architecture.md draws its diagram from the same table (power_state_diagram(); the test
// in tests/power_state_test.cpp keeps the two equal), so the picture cannot drift from the code.

#include <span>
#include <string>

namespace bg95 {

enum class PowerState {
  Off,      // no power, or the firmware does not boot
  Booting,  // powered, banner not yet printed: input is ignored
  Normal,   // AT commands
  Dfota,    // DFOTA mode: no AT commands, URCs only
};
const char* power_state_name(PowerState s);

// What observers hear (ModuleObserver::on_power) when the module changes state.
enum class PowerEvent {
  On,          // power applied: the module starts booting
  Booted,      // banner printed, AT commands accepted
  BootFailed,  // the image in flash does not verify: the module stays dark
  DfotaMode,   // restarted into DFOTA mode
  Restart,     // the restart that ends DFOTA mode, or an LwM2M reboot (no power loss)
  Reset,       // AT+CFUN=1,1, or the control socket's and scenarios' reset
  Off,         // orderly power-down
  Cut,         // power lost without a clean shutdown
  Psm,         // asleep in power saving mode (PSM) until T3412 or a power-on wakes it
};
const char* power_event_name(PowerEvent e);

// How an event ends the state the module leaves: the differences between a cut, a reset and
// a restart are data here, not separate teardown code.
struct PowerEventInfo {
  PowerEvent event;
  const char* name;  // what observers and transcripts print
  const char* log;   // the module's log line; empty: the state's enter step logs with details
  bool stops;        // what ran in the old state stops: ports reset, timers, LwM2M client
  bool says_first;   // what the module had said (held URCs) goes out before it stops
  bool power_lost;   // power goes: a download, an unflagged update, PSM timers end with it
};
const PowerEventInfo& power_event_info(PowerEvent e);

struct PowerTransition {
  PowerState from;
  PowerEvent event;
  PowerState to;
  const char* cause;  // what makes it happen, for the diagram
};
std::span<const PowerTransition> power_transitions();
// The transition the event takes from this state; null when the table has none.
const PowerTransition* find_transition(PowerState from, PowerEvent event);
// A powered state that goes to Booting (a reset, a restart) passes through Off: observers hear
// the event with the module off, then "power on" as from Off.
bool passes_through_off(const PowerTransition& t);

// The diagram of docs/architecture.md's "Module states": a Mermaid state diagram and the same
// as a text table, both from power_transitions().
std::string power_state_diagram();

}  // namespace bg95
