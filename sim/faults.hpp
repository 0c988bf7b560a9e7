#pragma once
// The one vocabulary of faults: what can be done to a running module from outside (power,
// DTR, the cell, packet data, the flash chip, the download link). One row a fault: its names
// in each front end, its typed parameter, what it does, and how a scenario rule applies it.
// The control socket (its parser, usage errors and help: docs/control.md), the scenario
// parser and rule engine (docs/scenarios.md) and bg95sim's command line all read this table;
// a new fault is one row here plus the call on the module it makes.

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "sim/flash/nand_flash.hpp"

namespace bg95 {

class Module;
struct ModuleConfig;
struct NetworkState;

namespace faults {

// What a fault's parameter holds and how it is written. The control socket takes one word, a
// scenario a YAML value (its own spellings where they differ: a <stat> is "searching" there,
// "2" or "searching" on the socket).
enum class Type {
  None,      // no parameter
  Choice,    // one of `words` ("low|high"); the value is the word's index
  Integer,   // min..max
  Csq,       // AT+CSQ <rssi>: 0..31, or 99 (not known)
  Reg,       // the 3GPP <stat> the cell grants
  Rat,       // emtc | nbiot
  Apn,       // an APN, or "any" (held as "": any APN)
  Size,      // bytes; a scenario writes "128KiB"
  Duration,  // milliseconds; a scenario writes "250ms", the control socket a number
};

struct Param {
  Type type = Type::None;
  // The key of a scenario's mapping form ({dtr: {level: low}}; in a group, {network: {reg: ...}}).
  std::string_view key;
  std::string_view words;  // Choice: the words, '|' between them
  std::int64_t min = 0, max = 0;
  // The control socket's spellings: in the list of a command's forms ("net reg <stat>"), and
  // in help and the usage of a bad value ("net reg <0-5|none|...>"), followed by `note`.
  std::string_view placeholder;
  std::string_view values;
  std::string_view note;
  bool optional = false;  // may be left out (a scenario's mapping form only)
};

// A parameter once read.
struct Value {
  std::int64_t number = 0;  // Choice: the word's index; Reg, Rat: the enum; else the number
  std::string text;         // Apn: the APN ("" any)
  bool given = false;       // an optional parameter was given
  std::uint64_t amount() const { return static_cast<std::uint64_t>(number); }
};

// How a scenario rule applies a fault when it fires with no delay.
enum class InRule {
  Posted,       // posted to the module's executor: never inside the module's own call
  AtOnce,       // at once, whatever the trigger
  AtOnceState,  // a state change (the cell's, the link's): at once, so that the very next byte
                // sees it; posted on a URC trigger (the URCs it raises come after that one)
};

struct Fault {
  // The scenario action ("power_cut"), or "group.key" for one key of a group action
  // ({network: {reg: ...}}); empty: not a scenario action.
  std::string_view name;
  // The control socket's words ("power cut", "net reg"); empty: not on the socket.
  std::string_view control;
  // bg95sim's command-line option ("--cut-power-at-update"); empty: none. Each value given
  // goes through `configure` before the module exists.
  std::string_view cli;
  Param param;
  std::string_view description;
  void (*perform)(Module&, const Value&) = nullptr;
  // ---- how scenario rules use it (scenarios/engine/rule_engine.cpp)
  InRule in_rule = InRule::Posted;
  // In a rule: this instead of `perform` (a power cut lands between two flash writes).
  void (*perform_in_rule)(Module&, const Value&) = nullptr;
  // Fired by a flash write with no delay: that write's own fault instead of `perform`.
  flash::Fault on_flash_write = flash::Fault::None;
  // Only in a rule with a flash_write trigger (not in a host script's `do:`).
  bool rules_only = false;
  // Done again when an optional duration parameter has passed ({link_stall: {for: 2s}}).
  void (*undo)(Module&) = nullptr;
  // A scenario's description of the value: "{}" the value, as in "link_throttle {} B/s".
  std::string_view shown = "{}";
  // A change of the cell: faults of one action that change it are made in one change, so the
  // module sees (and reports) them together.
  void (*edit_cell)(NetworkState&, const Value&) = nullptr;
  void (*configure)(ModuleConfig&, const Value&) = nullptr;
  // Where the scenario parser's list of known actions names it: that list kept its order when
  // the table came; new faults come after.
  int scenario_rank = 100;

  std::string_view group() const;  // "network" of "network.reg"; "" outside a group
  std::string_view key() const;    // "reg" of "network.reg"; the name outside a group
};

// Every fault, in the order the control socket lists them.
std::span<const Fault> table();
// The fault of a scenario action (or group key), or null.
const Fault* by_name(std::string_view name);
// The fault of a command-line option ("--cut-power-at-update"), or null.
const Fault* by_option(std::string_view option);

// A fault with its parameter: what a scenario action or a control request holds.
struct Call {
  const Fault* fault = nullptr;
  Value value;
};

// Does the calls to the module: the changes of the cell together, then the others in order.
// A fault the module refuses throws Refused.
void perform(Module& module, std::span<const Call> calls);

// The module cannot do this fault now (the network deactivates a context that is not active).
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The value in words: the Choice's word, the technology's name, the APN in quotes, or the number.
std::string show(const Fault& fault, const Value& value);
// Words of a Choice, in order.
std::vector<std::string_view> words(const Param& param);

}  // namespace faults
}  // namespace bg95
