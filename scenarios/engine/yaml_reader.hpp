#pragma once
// Reading YAML with errors a person can act on: every failure names the file, the line and
// the key path ("rules[2].do[0].network.reg"), and says what was expected. Unknown keys are
// errors, so a typo never passes silently.

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "scenarios/engine/scenario.hpp"

namespace bg95::scenario {

class YamlReader {
 public:
  YamlReader(std::filesystem::path file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& where,
                         const std::string& what) const;

  // The node must be a mapping whose keys are all among `allowed`.
  void expect_map(const YAML::Node& node, const std::string& where,
                  std::initializer_list<std::string_view> allowed) const;
  void expect_map(const YAML::Node& node, const std::string& where,
                  std::span<const std::string_view> allowed) const;
  void expect_seq(const YAML::Node& node, const std::string& where) const;

  std::string str(const YAML::Node& node, const std::string& where) const;
  bool boolean(const YAML::Node& node, const std::string& where) const;
  std::int64_t integer(const YAML::Node& node, const std::string& where, std::int64_t lo,
                       std::int64_t hi) const;
  double number(const YAML::Node& node, const std::string& where) const;
  Duration duration(const YAML::Node& node, const std::string& where) const;
  std::uint64_t size(const YAML::Node& node, const std::string& where) const;
  // At most kMaxPatternLength characters; compiled, or (literal_text) matching the text as it is.
  Pattern pattern(const YAML::Node& node, const std::string& where) const;
  Pattern literal_text(const YAML::Node& node, const std::string& where) const;
  // One of `choices` (as written in the file).
  std::string choice(const YAML::Node& node, const std::string& where,
                     std::initializer_list<std::string_view> choices) const;
  std::string choice(const YAML::Node& node, const std::string& where,
                     std::span<const std::string_view> choices) const;

  // Optional members of a mapping.
  std::optional<std::string> opt_str(const YAML::Node& map, const std::string& where,
                                     const char* key) const;
  std::optional<Duration> opt_duration(const YAML::Node& map, const std::string& where,
                                       const char* key) const;

  // A path written in the file, relative to the file's folder.
  std::filesystem::path path(const YAML::Node& node, const std::string& where) const;
  const std::filesystem::path& file() const { return file_; }

 private:
  std::string pattern_text(const YAML::Node& node, const std::string& where) const;

  std::filesystem::path file_;
};

}  // namespace bg95::scenario
