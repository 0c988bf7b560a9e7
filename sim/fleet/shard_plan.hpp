#pragma once
// Which part of a fleet (or of any list: a scenario library) one process of many runs, so that
// a fleet larger than one machine runs as the pods of a Kubernetes Indexed Job or StatefulSet
// (docs/scale-out.md). Shard i of C takes one contiguous block of the fleet's module numbers,
// the blocks in index order and their sizes differing by at most one:
//
//   modules first(i) + 1 .. first(i + 1), with first(i) = floor(i * N / C)
//
// The plan is only cut, never made again: a module in a shard is the very ModulePlan of the
// whole fleet (its number, IMEI/IMSI/ICCID, endpoint name, links, state folder), so shards
// share no identity and their results join by module number.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sim/fleet/fleet_plan.hpp"
#include "sim/util/expected.hpp"

namespace bg95::fleet {

struct Shard {
  int index = 0;  // 0 .. count - 1
  int count = 1;
};

// Positions [first, last) of `total` items that shard takes. An error when count < 1, index
// is not in 0..count-1, or count > total (a shard would run nothing: a pod with no work is
// a mistake in the manifest's count, not a shard).
struct Slice {
  std::size_t first = 0, last = 0;
};
// `what` names one item in the errors ("module"; an "s" makes it plural).
util::Expected<Slice> shard_slice(std::size_t total, const Shard& shard,
                                  std::string_view what = "item");

// The modules of `whole` that shard runs, unchanged and in order.
util::Expected<FleetPlan> shard_plan(const FleetPlan& whole, const Shard& shard);

// The environment variables the shard options read with the value "env":
// JOB_COMPLETION_INDEX, which Kubernetes sets in each pod of an Indexed Job; HOSTNAME, whose
// "-<n>" suffix is a StatefulSet pod's ordinal; and the count, which Kubernetes does not give
// a pod, from BG95_SHARD_COUNT (set beside `completions` or `replicas` in the manifest).
inline constexpr std::string_view kJobIndexVariable = "JOB_COMPLETION_INDEX";
inline constexpr std::string_view kHostnameVariable = "HOSTNAME";
inline constexpr std::string_view kShardCountVariable = "BG95_SHARD_COUNT";

// Looks a variable up (std::getenv in the programs, a map in tests).
using Environment = std::function<std::optional<std::string>(std::string_view name)>;
Environment process_environment();

// The shard of `--shard-index INDEX --shard-count COUNT` as given (each a number or "env"),
// nullopt when neither is given; an error, naming the option or variable, for one without
// the other, a value that is not a number, or a missing variable.
util::Expected<std::optional<Shard>> resolve_shard(const std::string& index,
                                                   const std::string& count,
                                                   const Environment& env);

// The positions of `total` items (scenario files) that the shard those options give takes:
// all of them when none is given.
util::Expected<Slice> take_slice(std::size_t total, const std::string& index,
                                 const std::string& count, const Environment& env,
                                 std::string_view what = "item");

// `whole` cut to the shard those options give (resolve_shard), or `whole` when none is given.
util::Expected<FleetPlan> take_shard(FleetPlan whole, const std::string& index,
                                     const std::string& count, const Environment& env);

}  // namespace bg95::fleet
