#pragma once
// The fleet file of `bg95sim --fleet FILE.yaml` (docs/fleet.md): how many modules, and
// settings for all of them (`defaults`) and for some (`modules`, each entry for a range of
// module numbers), e.g.
//
//   count: 100
//   defaults: {model: BG95-M3, imei_start: "865341040062814", link: "/tmp/bg95-{:04}"}
//   modules:
//     - {range: 1-10, model: BG77, firmware: BG77LAR02A04_01.012.01.012}
//     - {range: 50, firmware: BG95M3LAR02A02_01.010.01.010, dialect: {echo: false}}
//
// A module takes the command line's settings, then `defaults`, then every entry whose range
// holds it, in file order: the last one to set a key wins (a key of `dialect`, the module
// options of sim/options.hpp, counts on its own). Identities count up from where the
// `*_start` key was given: module n of an entry for a-b whose imei_start is S gets S's serial
// number + (n - a).
//
// Every error names the file, line and column, and the key: "fleet.yaml:5:21: modules[0].range:
// 0-10 is not within 1..100"; a file with an error starts nothing.

#include <filesystem>

#include "sim/fleet/fleet_plan.hpp"
#include "sim/util/expected.hpp"

namespace bg95::fleet {

util::Expected<FleetPlan> load_fleet_file(const std::filesystem::path& file,
                                          const FleetDefaults& defaults);

}  // namespace bg95::fleet
