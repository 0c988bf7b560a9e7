#include "sim/fleet/shard_plan.hpp"

#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

namespace bg95::fleet {
namespace {

// More shards than modules would be refused anyway; this only bounds the arithmetic.
constexpr int kMaxShards = 100000;

// A whole number in 0..kMaxShards, all of `text`.
std::optional<int> number(std::string_view text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v < 0 ||
      v > kMaxShards)
    return std::nullopt;
  return v;
}

// A StatefulSet names its pods <set name>-<ordinal> and the pod's hostname is its name
// (kubernetes.io/docs/concepts/workloads/controllers/statefulset/, "Pod Identity").
std::optional<int> ordinal(std::string_view hostname) {
  const auto dash = hostname.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  return number(hostname.substr(dash + 1));
}

util::Expected<int> index_from(const std::string& given, const Environment& env) {
  if (given != "env") {
    if (const auto v = number(given)) return *v;
    return util::Error{fmt::format("--shard-index: \"{}\" is not a number or env", given)};
  }
  // An Indexed Job gives each pod its index
  // (kubernetes.io/docs/concepts/workloads/controllers/job/#completion-mode).
  if (const auto job = env(kJobIndexVariable)) {
    if (const auto v = number(*job)) return *v;
    return util::Error{
        fmt::format("--shard-index env: {}=\"{}\" is not a number", kJobIndexVariable, *job)};
  }
  if (const auto host = env(kHostnameVariable)) {
    if (const auto v = ordinal(*host)) return *v;
    return util::Error{
        fmt::format("--shard-index env: {} is unset and {}=\"{}\" does not end in -<n> (a "
                    "StatefulSet pod's ordinal)",
                    kJobIndexVariable, kHostnameVariable, *host)};
  }
  return util::Error{fmt::format(
      "--shard-index env: neither {} (an Indexed Job's pod) nor {} (a StatefulSet pod's name, "
      "ending in -<n>) is set",
      kJobIndexVariable, kHostnameVariable)};
}

util::Expected<int> count_from(const std::string& given, const Environment& env) {
  std::string text = given;
  std::string from = "--shard-count";
  if (given == "env") {
    const auto v = env(kShardCountVariable);
    if (!v)
      return util::Error{
          fmt::format("--shard-count env: {} is not set (the manifest sets it beside "
                      "completions or replicas)",
                      kShardCountVariable)};
    text = *v;
    from = fmt::format("--shard-count env: {}=", kShardCountVariable);
  }
  const auto v = number(text);
  if (!v || *v < 1)
    return util::Error{fmt::format("{}{}\"{}\" is not a number from 1 to {}", from,
                                   given == "env" ? "" : ": ", text, kMaxShards)};
  return *v;
}

}  // namespace

util::Expected<Slice> shard_slice(std::size_t total, const Shard& shard, std::string_view what) {
  if (shard.count < 1)
    return util::Error{fmt::format("the shard count is {}; it must be at least 1", shard.count)};
  if (shard.index < 0 || shard.index >= shard.count)
    return util::Error{fmt::format("shard index {} is not within 0..{} (shard count {})",
                                   shard.index, shard.count - 1, shard.count)};
  const auto count = static_cast<std::size_t>(shard.count);
  if (count > total)
    return util::Error{fmt::format(
        "{} shards for {} {}{}: {} of them would run nothing (give at most {} shard{})", count,
        total, what, total == 1 ? "" : "s", count - total, total, total == 1 ? "" : "s")};
  const auto i = static_cast<std::size_t>(shard.index);
  return Slice{i * total / count, (i + 1) * total / count};
}

util::Expected<FleetPlan> shard_plan(const FleetPlan& whole, const Shard& shard) {
  const auto slice = shard_slice(whole.modules.size(), shard, "module");
  if (!slice) return util::Error{slice.error()};
  FleetPlan part;
  part.modules.assign(whole.modules.begin() + static_cast<std::ptrdiff_t>(slice->first),
                      whole.modules.begin() + static_cast<std::ptrdiff_t>(slice->last));
  return part;
}

Environment process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

util::Expected<std::optional<Shard>> resolve_shard(const std::string& index,
                                                   const std::string& count,
                                                   const Environment& env) {
  if (index.empty() && count.empty()) return std::optional<Shard>{};
  if (index.empty() || count.empty())
    return util::Error{"--shard-index and --shard-count go together"};
  const auto i = index_from(index, env);
  if (!i) return util::Error{i.error()};
  const auto c = count_from(count, env);
  if (!c) return util::Error{c.error()};
  if (*i >= *c)
    return util::Error{
        fmt::format("shard index {} is not within 0..{} (shard count {})", *i, *c - 1, *c)};
  return std::optional<Shard>{Shard{*i, *c}};
}

util::Expected<Slice> take_slice(std::size_t total, const std::string& index,
                                 const std::string& count, const Environment& env,
                                 std::string_view what) {
  const auto shard = resolve_shard(index, count, env);
  if (!shard) return util::Error{shard.error()};
  if (!*shard) return Slice{0, total};
  return shard_slice(total, **shard, what);
}

util::Expected<FleetPlan> take_shard(FleetPlan whole, const std::string& index,
                                     const std::string& count, const Environment& env) {
  const auto shard = resolve_shard(index, count, env);
  if (!shard) return util::Error{shard.error()};
  if (!*shard) return whole;
  return shard_plan(whole, **shard);
}

}  // namespace bg95::fleet
