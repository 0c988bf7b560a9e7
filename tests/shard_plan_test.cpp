// The shard plan (sim/fleet/shard_plan.hpp, docs/scale-out.md): shards of a fleet are
// disjoint, complete and stable, and each module keeps the identities, endpoint name, links
// and state folder it has in the whole fleet.

#include <fstream>
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "sim/fleet/fleet_file.hpp"
#include "sim/fleet/shard_plan.hpp"
#include "sim/state/settings.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::fleet {
namespace {

// The blocks of `count` shards of `total` items, as "first-last" of 1-based numbers.
std::vector<std::string> blocks(std::size_t total, int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) {
    const auto s = shard_slice(total, {i, count});
    EXPECT_TRUE(s) << s.error();
    out.push_back(std::to_string(s->first + 1) + "-" + std::to_string(s->last));
  }
  return out;
}

TEST(ShardPlan, ContiguousBlocksInIndexOrderDifferingByAtMostOne) {
  EXPECT_EQ(blocks(10, 4), (std::vector<std::string>{"1-2", "3-5", "6-7", "8-10"}));
  EXPECT_EQ(blocks(10, 1), (std::vector<std::string>{"1-10"}));
  EXPECT_EQ(blocks(3, 3), (std::vector<std::string>{"1-1", "2-2", "3-3"}));
  EXPECT_EQ(blocks(10000, 3), (std::vector<std::string>{"1-3333", "3334-6666", "6667-10000"}));
}

// Every module in exactly one shard, for every fleet size up to 60 and every shard count.
TEST(ShardPlan, DisjointAndCompleteForEveryCount) {
  for (std::size_t total = 1; total <= 60; ++total) {
    for (int count = 1; count <= static_cast<int>(total); ++count) {
      std::vector<int> owner(total, -1);
      std::size_t next = 0, smallest = total, largest = 0;
      for (int i = 0; i < count; ++i) {
        const auto s = shard_slice(total, {i, count});
        ASSERT_TRUE(s) << s.error();
        ASSERT_EQ(s->first, next) << total << " " << count << " " << i;  // in order, no gap
        ASSERT_LT(s->first, s->last);                                    // none empty
        for (std::size_t k = s->first; k < s->last; ++k) {
          ASSERT_EQ(owner[k], -1);
          owner[k] = i;
        }
        next = s->last;
        smallest = std::min(smallest, s->last - s->first);
        largest = std::max(largest, s->last - s->first);
      }
      ASSERT_EQ(next, total);
      ASSERT_LE(largest - smallest, 1u) << total << " " << count;
    }
  }
}

// The same (module, count) always gives the same shard: the plan depends on nothing else.
TEST(ShardPlan, StableAcrossCallsAndCounts) {
  for (int count = 1; count <= 7; ++count) {
    std::map<std::size_t, int> first_time;
    for (int round = 0; round < 2; ++round)
      for (int i = 0; i < count; ++i) {
        const auto s = shard_slice(29, {i, count});
        ASSERT_TRUE(s);
        for (std::size_t k = s->first; k < s->last; ++k) {
          const auto [it, fresh] = first_time.emplace(k, i);
          EXPECT_EQ(it->second, i) << "module " << k + 1 << " moved between calls";
        }
      }
    EXPECT_EQ(first_time.size(), 29u);
  }
}

ModuleConfig configured(const ModulePlan& m, DefaultImages& images) {
  ModuleConfig config;
  config.default_image_size = 4096;
  PortOptions ports;
  configure(m, config, ports, images);
  return config;
}

// A shard's modules are the whole fleet's, field by field, and what configure() makes of them
// (the identity a new state gets) is the same too.
TEST(ShardPlan, ModulesKeepTheirIdentitiesEndpointsAndFolders) {
  test::TempDir dir;
  const auto file = dir.path() / "fleet.yaml";
  std::ofstream(file) << "count: 12\n"
                         "defaults: {imei_start: \"865341040062814\", lwm2m_endpoint: "
                         "\"bg95-{:05}\", link: \"/tmp/bg95-shard-{:04}\"}\n"
                         "modules:\n"
                         "  - {range: 5-8, imei_start: \"490154203237518\", imsi_start: "
                         "\"505019876543210\", iccid_start: \"8988200000000000014\"}\n";
  FleetDefaults defaults;
  defaults.state = dir.path() / "state";
  const auto whole = load_fleet_file(file, defaults);
  ASSERT_TRUE(whole) << whole.error();
  DefaultImages images;
  for (int count = 1; count <= 12; ++count) {
    std::set<std::string> imeis, endpoints;
    for (int i = 0; i < count; ++i) {
      const auto part = shard_plan(*whole, {i, count});
      ASSERT_TRUE(part) << part.error();
      for (const ModulePlan& m : part->modules) {
        const ModulePlan& w = whole->modules.at(static_cast<std::size_t>(m.number - 1));
        EXPECT_EQ(m.number, w.number);
        EXPECT_EQ(m.imei, w.imei);
        EXPECT_EQ(m.imsi, w.imsi);
        EXPECT_EQ(m.iccid, w.iccid);
        EXPECT_EQ(m.lwm2m_endpoint, w.lwm2m_endpoint);
        EXPECT_EQ(m.link, w.link);
        EXPECT_EQ(m.state_dir, w.state_dir);
        const ModuleConfig a = configured(m, images), b = configured(w, images);
        EXPECT_EQ(a.index, b.index);
        const auto id = a.identity.value_or(state::default_identity(a.index));
        const auto wid = b.identity.value_or(state::default_identity(b.index));
        EXPECT_EQ(id.imei, wid.imei);
        EXPECT_EQ(id.imsi, wid.imsi);
        EXPECT_EQ(id.iccid, wid.iccid);
        EXPECT_TRUE(imeis.insert(id.imei).second) << id.imei << " in two shards";
        EXPECT_TRUE(endpoints.insert(m.lwm2m_endpoint).second);
      }
    }
    EXPECT_EQ(imeis.size(), 12u);
  }
  // Spot checks against the fleet file: module 6 is the second of the 5-8 range, module 12
  // the twelfth of the defaults.
  const auto third = shard_plan(*whole, {1, 3});  // modules 5-8
  ASSERT_TRUE(third);
  ASSERT_EQ(third->modules.size(), 4u);
  EXPECT_EQ(third->modules[1].number, 6);
  EXPECT_EQ(third->modules[1].imei, "490154203237526");
  EXPECT_EQ(third->modules[1].imsi, "505019876543211");
  EXPECT_EQ(third->modules[1].iccid, "8988200000000000022F");
  EXPECT_EQ(third->modules[1].lwm2m_endpoint, "bg95-00006");
  EXPECT_EQ(third->modules[1].link, "/tmp/bg95-shard-0006");
  EXPECT_EQ(third->modules[1].state_dir, dir.path() / "state" / "0006");
}

// --count N: a shard's modules get the identities of their numbers, not of their places.
TEST(ShardPlan, CountFleetKeepsDefaultIdentities) {
  FleetDefaults defaults;
  defaults.state = "/tmp/unused";
  const auto part = shard_plan(plan_from_options(8, defaults), {3, 4});
  ASSERT_TRUE(part);
  ASSERT_EQ(part->modules.size(), 2u);
  EXPECT_EQ(part->modules[0].number, 7);
  EXPECT_EQ(part->modules[1].number, 8);
  DefaultImages images;
  const ModuleConfig c = configured(part->modules[0], images);
  EXPECT_EQ(c.index, 6u);
  EXPECT_FALSE(c.identity);  // the default of index 6
  EXPECT_EQ(state::default_identity(6).imei, "865341040062871");
}

TEST(ShardPlan, MoreShardsThanModulesIsAnError) {
  const auto s = shard_slice(3, {0, 5});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), "5 shards for 3 items: 2 of them would run nothing (give at most 3 shards)");
  FleetDefaults defaults;
  const auto p = shard_plan(plan_from_options(1, defaults), {0, 2});
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error(), "2 shards for 1 module: 1 of them would run nothing (give at most 1 shard)");
}

TEST(ShardPlan, IndexOutOfRangeIsAnError) {
  EXPECT_EQ(shard_slice(10, {4, 4}).error(), "shard index 4 is not within 0..3 (shard count 4)");
  EXPECT_EQ(shard_slice(10, {-1, 4}).error(), "shard index -1 is not within 0..3 (shard count 4)");
  EXPECT_EQ(shard_slice(10, {0, 0}).error(), "the shard count is 0; it must be at least 1");
}

// ---- the options: numbers, or "env" as Kubernetes sets it

Environment env_of(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string resolved(const std::string& index, const std::string& count, const Environment& env) {
  const auto s = resolve_shard(index, count, env);
  if (!s) return "error: " + s.error();
  if (!*s) return "none";
  return std::to_string((*s)->index) + "/" + std::to_string((*s)->count);
}

TEST(ShardOptions, NumbersAsGiven) {
  const auto none = env_of({});
  EXPECT_EQ(resolved("", "", none), "none");
  EXPECT_EQ(resolved("2", "4", none), "2/4");
  EXPECT_EQ(resolved("0", "1", none), "0/1");
  EXPECT_EQ(resolved("4", "4", none), "error: shard index 4 is not within 0..3 (shard count 4)");
  EXPECT_EQ(resolved("2", "", none), "error: --shard-index and --shard-count go together");
  EXPECT_EQ(resolved("", "4", none), "error: --shard-index and --shard-count go together");
  EXPECT_EQ(resolved("two", "4", none), "error: --shard-index: \"two\" is not a number or env");
  EXPECT_EQ(resolved("-1", "4", none), "error: --shard-index: \"-1\" is not a number or env");
  EXPECT_EQ(resolved("0", "0", none),
            "error: --shard-count: \"0\" is not a number from 1 to 100000");
  EXPECT_EQ(resolved("0", "4x", none),
            "error: --shard-count: \"4x\" is not a number from 1 to 100000");
}

TEST(ShardOptions, IndexedJobGivesJobCompletionIndex) {
  EXPECT_EQ(resolved("env", "env",
                     env_of({{"JOB_COMPLETION_INDEX", "3"},
                             {"BG95_SHARD_COUNT", "4"},
                             {"HOSTNAME", "bg95-fleet-1-abcde"}})),
            "3/4");  // the Job's pod name ends in a random suffix: the index wins
  EXPECT_EQ(resolved("env", "8", env_of({{"JOB_COMPLETION_INDEX", "7"}})), "7/8");
  EXPECT_EQ(resolved("env", "4", env_of({{"JOB_COMPLETION_INDEX", "x"}})),
            "error: --shard-index env: JOB_COMPLETION_INDEX=\"x\" is not a number");
}

TEST(ShardOptions, StatefulSetGivesTheOrdinalInTheHostname) {
  EXPECT_EQ(
      resolved("env", "env", env_of({{"HOSTNAME", "bg95-fleet-12"}, {"BG95_SHARD_COUNT", "16"}})),
      "12/16");
  EXPECT_EQ(resolved("env", "4", env_of({{"HOSTNAME", "bg95-fleet-0"}})), "0/4");
  EXPECT_EQ(resolved("env", "4", env_of({{"HOSTNAME", "workstation"}})),
            "error: --shard-index env: JOB_COMPLETION_INDEX is unset and HOSTNAME=\"workstation\" "
            "does not end in -<n> (a StatefulSet pod's ordinal)");
  EXPECT_EQ(resolved("env", "4", env_of({{"HOSTNAME", "bg95-fleet-4"}})),
            "error: shard index 4 is not within 0..3 (shard count 4)");
}

TEST(ShardOptions, MissingVariablesAreNamed) {
  EXPECT_EQ(resolved("env", "4", env_of({})),
            "error: --shard-index env: neither JOB_COMPLETION_INDEX (an Indexed Job's pod) nor "
            "HOSTNAME (a StatefulSet pod's name, ending in -<n>) is set");
  EXPECT_EQ(resolved("1", "env", env_of({})),
            "error: --shard-count env: BG95_SHARD_COUNT is not set (the manifest sets it beside "
            "completions or replicas)");
  EXPECT_EQ(resolved("1", "env", env_of({{"BG95_SHARD_COUNT", "many"}})),
            "error: --shard-count env: BG95_SHARD_COUNT=\"many\" is not a number from 1 to 100000");
}

TEST(ShardOptions, TakeShardLeavesTheWholeFleetWithoutOptions) {
  FleetDefaults defaults;
  const auto all = take_shard(plan_from_options(5, defaults), "", "", env_of({}));
  ASSERT_TRUE(all);
  EXPECT_EQ(all->modules.size(), 5u);
  const auto part = take_shard(plan_from_options(5, defaults), "env", "env",
                               env_of({{"JOB_COMPLETION_INDEX", "1"}, {"BG95_SHARD_COUNT", "2"}}));
  ASSERT_TRUE(part);
  ASSERT_EQ(part->modules.size(), 3u);
  EXPECT_EQ(part->modules.front().number, 3);
}

}  // namespace
}  // namespace bg95::fleet
