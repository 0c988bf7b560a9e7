#include "scenarios/engine/yaml_reader.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

namespace bg95::scenario {

void YamlReader::fail(const YAML::Node& node, const std::string& where,
                      const std::string& what) const {
  const YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  if (mark.is_null()) throw ScenarioError(fmt::format("{}: {}: {}", file_.string(), where, what));
  throw ScenarioError(fmt::format("{}:{}: {}: {}", file_.string(), mark.line + 1, where, what));
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& where,
                            std::initializer_list<std::string_view> allowed) const {
  expect_map(node, where, std::span(allowed.begin(), allowed.size()));
}

void YamlReader::expect_map(const YAML::Node& node, const std::string& where,
                            std::span<const std::string_view> allowed) const {
  if (!node.IsMap()) fail(node, where, "expected a mapping (key: value lines)");
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string known;
    for (auto k : allowed)
      known += (known.empty() ? "" : ", ") + std::string(k);
    fail(kv.first, where.empty() ? key : where + "." + key,
         fmt::format("unknown key (known here: {})", known));
  }
}

void YamlReader::expect_seq(const YAML::Node& node, const std::string& where) const {
  if (!node.IsSequence()) fail(node, where, "expected a list (lines starting with '- ')");
}

std::string YamlReader::str(const YAML::Node& node, const std::string& where) const {
  if (!node.IsScalar()) fail(node, where, "expected a single value (text or number)");
  return node.Scalar();
}

bool YamlReader::boolean(const YAML::Node& node, const std::string& where) const {
  const std::string s = str(node, where);
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  fail(node, where, fmt::format("expected true or false, not \"{}\"", s));
}

std::int64_t YamlReader::integer(const YAML::Node& node, const std::string& where, std::int64_t lo,
                                 std::int64_t hi) const {
  const std::string s = str(node, where);
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used, 0);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty())
    fail(node, where, fmt::format("expected a whole number, not \"{}\"", s));
  if (v < lo || v > hi) fail(node, where, fmt::format("{} is out of range ({}..{})", v, lo, hi));
  return v;
}

double YamlReader::number(const YAML::Node& node, const std::string& where) const {
  const std::string s = str(node, where);
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || s.empty() || !std::isfinite(v))
    fail(node, where, fmt::format("expected a number, not \"{}\"", s));
  return v;
}

Duration YamlReader::duration(const YAML::Node& node, const std::string& where) const {
  const std::string s = str(node, where);
  try {
    return parse_duration(s);
  } catch (const std::invalid_argument& e) {
    fail(node, where, e.what());
  }
}

std::uint64_t YamlReader::size(const YAML::Node& node, const std::string& where) const {
  const std::string s = str(node, where);
  try {
    return parse_size(s);
  } catch (const std::invalid_argument& e) {
    fail(node, where, e.what());
  }
}

namespace {

// libstdc++'s regex compiler multiplies a brace count or a back-reference number into a long
// without a check: 19 digits are signed overflow, undefined behaviour (fuzz_scenario found
// "\5555555555555555555555555555"), and a large count builds an automaton with that many
// states. Numbers over kMaxRepeat are refused before the compiler sees them. A literal brace is
// written "\{".
constexpr std::uint64_t kMaxRepeat = 1000;

std::optional<std::string> repeat_too_large(std::string_view p) {
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      // A back-reference ("\12") goes through the same unchecked multiplication.
      std::size_t j = i + 1;
      std::uint64_t value = 0;
      for (; j < p.size() && p[j] >= '0' && p[j] <= '9'; ++j)
        if (value <= kMaxRepeat) value = value * 10 + static_cast<std::uint64_t>(p[j] - '0');
      if (value > kMaxRepeat)
        return fmt::format("a back-reference number over {}: {}", kMaxRepeat,
                           p.substr(i, std::min<std::size_t>(j - i, 32)));
      i = std::max(i + 1, j - 1);
      continue;
    }
    if (p[i] != '{') continue;
    std::size_t j = i + 1;
    for (int bound = 0; bound < 2; ++bound) {  // {n}, {n,} or {n,m}
      const std::size_t first = j;
      std::uint64_t value = 0;
      for (; j < p.size() && p[j] >= '0' && p[j] <= '9'; ++j)
        if (value <= kMaxRepeat) value = value * 10 + static_cast<std::uint64_t>(p[j] - '0');
      if (j > first && value > kMaxRepeat)
        return fmt::format("a repetition count over {}: {}", kMaxRepeat,
                           p.substr(i, std::min<std::size_t>(j - i + 1, 32)));
      if (j >= p.size() || p[j] != ',') break;
      ++j;
    }
  }
  return std::nullopt;
}

}  // namespace

Pattern YamlReader::pattern(const YAML::Node& node, const std::string& where) const {
  Pattern p;
  p.text = pattern_text(node, where);
  if (const auto why = repeat_too_large(p.text))
    fail(node, where, fmt::format("not a valid regular expression ({}): {}", *why, p.text));
  try {
    p.regex = std::regex(p.text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(node, where, fmt::format("not a valid regular expression ({}): {}", e.what(), p.text));
  }
  return p;
}

Pattern YamlReader::literal_text(const YAML::Node& node, const std::string& where) const {
  return literal(pattern_text(node, where));
}

std::string YamlReader::pattern_text(const YAML::Node& node, const std::string& where) const {
  std::string s = str(node, where);
  if (s.size() > kMaxPatternLength)
    fail(node, where,
         fmt::format("{} characters; a pattern or text to expect has at most {}", s.size(),
                     kMaxPatternLength));
  return s;
}

std::string YamlReader::choice(const YAML::Node& node, const std::string& where,
                               std::initializer_list<std::string_view> choices) const {
  return choice(node, where, std::span(choices.begin(), choices.size()));
}

std::string YamlReader::choice(const YAML::Node& node, const std::string& where,
                               std::span<const std::string_view> choices) const {
  const std::string s = str(node, where);
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  std::string known;
  for (auto c : choices)
    known += (known.empty() ? "" : ", ") + std::string(c);
  fail(node, where, fmt::format("\"{}\" is not one of: {}", s, known));
}

std::optional<std::string> YamlReader::opt_str(const YAML::Node& map, const std::string& where,
                                               const char* key) const {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  return str(n, where + "." + key);
}

std::optional<Duration> YamlReader::opt_duration(const YAML::Node& map, const std::string& where,
                                                 const char* key) const {
  const YAML::Node n = map[key];
  if (!n) return std::nullopt;
  return duration(n, where + "." + key);
}

std::filesystem::path YamlReader::path(const YAML::Node& node, const std::string& where) const {
  const std::filesystem::path p = str(node, where);
  return p.is_absolute() ? p : file_.parent_path() / p;
}

// ---- units -------------------------------------------------------------------------------

Duration parse_duration(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw std::invalid_argument("expected a duration such as 250ms, 2s or 1.5min, not \"" + text +
                                "\"");
  }
  std::string unit = text.substr(used);
  while (!unit.empty() && unit.front() == ' ')
    unit.erase(0, 1);
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = v * 1000;
  } else if (unit == "ms") {
    ms = v;
  } else if (unit == "min") {
    ms = v * 60000;
  } else if (unit == "us") {
    ms = v / 1000;
  } else {
    throw std::invalid_argument("unknown unit \"" + unit + "\" (use ms, s or min)");
  }
  if (!std::isfinite(ms) || ms < 0 || ms > 86400000.0)
    throw std::invalid_argument("duration out of range (0 to 24 h): " + text);
  return Duration(static_cast<Duration::rep>(std::llround(ms)));
}

std::uint64_t parse_size(const std::string& text) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw std::invalid_argument("expected a size such as 300000, 300KB or 2MiB, not \"" + text +
                                "\"");
  }
  std::string unit = text.substr(used);
  while (!unit.empty() && unit.front() == ' ')
    unit.erase(0, 1);
  double factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  if (unit == "KB" || unit == "kB") factor = 1e3;
  if (unit == "MB") factor = 1e6;
  if (unit == "KiB") factor = 1024;
  if (unit == "MiB") factor = 1024.0 * 1024;
  if (factor == 0)
    throw std::invalid_argument("unknown unit \"" + unit + "\" (use B, KB, KiB, MB, MiB)");
  const double bytes = v * factor;
  if (!std::isfinite(bytes) || bytes < 0 || bytes > 1e12)
    throw std::invalid_argument("size out of range: " + text);
  return static_cast<std::uint64_t>(std::llround(bytes));
}

}  // namespace bg95::scenario
