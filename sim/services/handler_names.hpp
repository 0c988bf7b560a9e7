#pragma once
// The AT engine's names every command handler file uses (protocol/at/): a call to answer, the
// command's form, and the argument specs. One include instead of the same block of
// using-declarations at the top of each handler file.

#include "protocol/at/arguments.hpp"
#include "protocol/at/command_line.hpp"
#include "protocol/at/command_table.hpp"

namespace bg95::services {

using at::Call;
using at::Form;
using at::integer;
using at::optional;

}  // namespace bg95::services
