#pragma once
// Typed arguments: a command declares the parameters it takes (integer ranges, strings with
// a maximum length, optional positions), and the table checks them before its handler runs.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "protocol/at/command_line.hpp"

namespace bg95::at {

enum class ArgType { Integer, String, Any };

struct ArgSpec {
  ArgType type = ArgType::Any;
  bool optional = false;
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::size_t max_length = 4096;
  bool quoted_only = false;  // strings that must be written in quotes
};

inline ArgSpec integer(std::int64_t min, std::int64_t max) {
  return {ArgType::Integer, false, min, max};
}
inline ArgSpec string(std::size_t max_length = 4096) {
  ArgSpec s{ArgType::String};
  s.max_length = max_length;
  return s;
}
inline ArgSpec quoted(std::size_t max_length = 4096) {
  ArgSpec s = string(max_length);
  s.quoted_only = true;
  return s;
}
inline ArgSpec any() {
  return {ArgType::Any};
}
inline ArgSpec optional(ArgSpec s) {
  s.optional = true;
  return s;
}

using Value = std::variant<std::monostate, std::int64_t, std::string>;

class Args {
 public:
  Args() = default;
  explicit Args(std::vector<Value> values) : values_(std::move(values)) {}

  std::size_t size() const { return values_.size(); }
  bool has(std::size_t i) const {
    return i < values_.size() && !std::holds_alternative<std::monostate>(values_[i]);
  }
  bool is_integer(std::size_t i) const {
    return i < values_.size() && std::holds_alternative<std::int64_t>(values_[i]);
  }
  std::int64_t integer(std::size_t i, std::int64_t fallback = 0) const;
  std::string str(std::size_t i, std::string fallback = {}) const;

 private:
  std::vector<Value> values_;
};

// Checks raw arguments against a parameter list; nullopt when they do not fit.
std::optional<Args> bind_arguments(const std::vector<RawArgument>& raw,
                                   const std::vector<ArgSpec>& params);

// Parses a decimal integer that fills the whole text (no sign games, no overflow).
std::optional<std::int64_t> parse_integer(std::string_view text);

}  // namespace bg95::at
