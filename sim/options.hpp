#pragma once
// Module options declared once: one row an option, with its bg95sim flag, its key in a
// scenario's `module.dialect` (docs/scenarios.md, "Dialects"), its help text and the member of
// bg95::Dialect it sets. bg95sim's command line, the scenario parser and the scenario a plain
// session's transcript records (scenarios/engine/live.cpp) all read this table: a new option
// is one row here plus its use in the module.

#include <span>
#include <string_view>

#include "sim/module.hpp"

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

}  // namespace bg95::options
