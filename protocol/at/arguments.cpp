#include "protocol/at/arguments.hpp"

#include <charconv>

namespace bg95::at {

std::optional<std::int64_t> parse_integer(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::int64_t value = 0;
  const char* first = text.data();
  if (*first == '+') ++first;
  const char* last = text.data() + text.size();
  if (first == last) return std::nullopt;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || ptr != last) return std::nullopt;
  return value;
}

std::int64_t Args::integer(std::size_t i, std::int64_t fallback) const {
  if (i >= values_.size()) return fallback;
  if (auto* v = std::get_if<std::int64_t>(&values_[i])) return *v;
  return fallback;
}

std::string Args::str(std::size_t i, std::string fallback) const {
  if (i >= values_.size()) return fallback;
  if (auto* v = std::get_if<std::string>(&values_[i])) return *v;
  if (auto* n = std::get_if<std::int64_t>(&values_[i])) return std::to_string(*n);
  return fallback;
}

std::optional<Args> bind_arguments(const std::vector<RawArgument>& raw,
                                   const std::vector<ArgSpec>& params) {
  if (raw.size() > params.size()) return std::nullopt;
  std::vector<Value> values;
  values.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ArgSpec& spec = params[i];
    if (i >= raw.size() || !raw[i].present) {
      if (!spec.optional) return std::nullopt;
      values.emplace_back(std::monostate{});
      continue;
    }
    const RawArgument& arg = raw[i];
    const auto number = arg.quoted ? std::nullopt : parse_integer(arg.text);
    switch (spec.type) {
      case ArgType::Integer:
        if (!number || *number < spec.min || *number > spec.max) return std::nullopt;
        values.emplace_back(*number);
        break;
      case ArgType::String:
        if (spec.quoted_only && !arg.quoted) return std::nullopt;
        if (arg.text.size() > spec.max_length) return std::nullopt;
        values.emplace_back(arg.text);
        break;
      case ArgType::Any:
        if (number) {
          values.emplace_back(*number);
        } else {
          if (arg.text.size() > spec.max_length) return std::nullopt;
          values.emplace_back(arg.text);
        }
        break;
    }
  }
  return Args(std::move(values));
}

}  // namespace bg95::at
