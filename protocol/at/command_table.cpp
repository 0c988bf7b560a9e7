#include "protocol/at/command_table.hpp"

#include <algorithm>

#include "protocol/at/result_codes.hpp"

namespace bg95::at {

void CommandTable::add(Command command) {
  auto name = command.name;
  by_name_[name].push_back(std::make_unique<Command>(std::move(command)));
}

std::variant<CommandTable::Match, Outcome> CommandTable::resolve(
    const ParsedCommand& parsed) const {
  const auto it = by_name_.find(parsed.name);
  if (it == by_name_.end()) return Outcome::error();
  const bool basic = !parsed.name.empty() && parsed.name.front() != '+';
  const Command* first_of_form = nullptr;
  for (const auto& entry : it->second) {
    if (entry->form != parsed.form) continue;
    if (!first_of_form) first_of_form = entry.get();
    if (auto args = bind_arguments(parsed.args, entry->params))
      return Match{entry.get(), std::move(*args)};
  }
  if (!first_of_form)  // a form the command does not have, e.g. AT+CSQ?
    return basic ? Outcome::error() : Outcome::cme_error(cme::kOperationNotAllowed);
  return first_of_form->on_bad_arguments;
}

std::vector<std::string> CommandTable::names() const {
  std::vector<std::string> out;
  for (const auto& [name, entries] : by_name_)
    out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace bg95::at
