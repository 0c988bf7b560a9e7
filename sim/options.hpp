#pragma once
// Module options declared once: one row an option, with its bg95sim flag, its key in a
// scenario's `module.dialect` (docs/scenarios.md, "Dialects"), its help text and the member of
// bg95::Dialect it sets. bg95sim's command line, the scenario parser, the fleet file's
// `dialect` (docs/fleet.md) and the scenario a plain session's transcript records
// (scenarios/engine/live.cpp) all read this table: a new option is one row here plus its use
// in the module.

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sim/module.hpp"

namespace YAML {
class Node;
}
namespace CLI {
class App;
}

namespace bg95::options {

enum class Kind {
  Flag,    // a bool: a flag on the command line, true/false in a scenario
  Number,  // an int in min..max
  Switch,  // a bool written 0 or 1 on the command line, true/false in a scenario
};

struct DialectOption {
  std::string_view cli;  // "--percent-sign"
  std::string_view key;  // "percent_sign"
  std::string_view help;
  Kind kind = Kind::Flag;
  bool Dialect::*flag = nullptr;   // Flag, Switch
  int Dialect::*number = nullptr;  // Number
  int min = 0, max = 0;            // Number
};

// In the order the scenario parser lists the keys and a session's scenario writes them.
std::span<const DialectOption> dialect_options();

// An option with a few named values: its bg95sim flag, its key (in a fleet file's `defaults` and
// `modules` entries), its help, its values and the default (the first value).
struct ChoiceOption {
  std::string_view cli;  // "--ports"
  std::string_view key;  // "ports"
  std::string_view help;
  std::span<const std::string_view> values;
  std::string_view fallback() const { return values.front(); }
  bool allows(std::string_view v) const;
  std::string listed() const;  // "pty or none"
};

// How a module meets its host (issue 20): `pty`, a pseudo-terminal with its link, or `none`,
// no host port at all (no pty, no link, no open watch), for a module that LwM2M, scenario
// rules and the control socket drive. A headless module costs no pty and two descriptors less.
const ChoiceOption& ports_option();
inline constexpr std::string_view kPortsPty = "pty";
inline constexpr std::string_view kPortsNone = "none";

// A `dialect` mapping (a scenario's module.dialect, a fleet file's defaults.dialect and
// modules[i].dialect) has these keys, in the table's order: its reader's list of known keys.
std::vector<std::string_view> dialect_keys();

// How the reader of a `dialect` mapping reads one value, failing (by throwing) in its own
// words with the file, line and key: a Number's an int in o.min..o.max, the others' a bool.
struct ValueReader {
  std::function<int(const YAML::Node& value, const DialectOption& o)> number;
  std::function<bool(const YAML::Node& value, const DialectOption& o)> boolean;
};

// Sets in `d` each option that the mapping `map` gives, and leaves the others: what the scenario
// parser and the fleet file share. The reader checks the keys (dialect_keys()) first.
void read_dialect(const YAML::Node& map, Dialect& d, const ValueReader& read);

// --shard-index and --shard-count of bg95sim and `bg95-scenario run` (docs/scale-out.md):
// which part of a fleet or of a scenario library this process runs, each a number or "env"
// (read by fleet::resolve_shard, sim/fleet/shard_plan.hpp).
struct ShardArgs {
  std::string index, count;
};
void add_shard_options(CLI::App& app, ShardArgs& args);

}  // namespace bg95::options
