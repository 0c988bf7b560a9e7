#pragma once
// What each module of a fleet is: its number, model, firmware of a new state, identity, links,
// state folder, LwM2M endpoint name and dialect. Made from `--count N` and the command line alone,
// or from a fleet file (fleet_file.hpp, docs/fleet.md); bg95sim's main then configures each module
// from its plan.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "sim/module.hpp"
#include "sim/module_host.hpp"

namespace bg95::fleet {

// What the command line gives every module; a fleet file overrides it per key.
struct FleetDefaults {
  std::string model;            // --model (empty: the state's, BG95-M3 for a new one)
  std::string link;             // --link pattern
  std::string usb_link;         // --usb-port pattern
  std::filesystem::path state;  // --state: module n in <state>/<nnnn> unless a pattern says
  std::string lwm2m_endpoint;   // --lwm2m-endpoint pattern
  Dialect dialect;              // --percent-sign etc. (or a --scenario's module.dialect)
};

struct ModulePlan {
  int number = 0;     // from 1
  std::string model;  // empty: the state's, BG95-M3 for a new one
  // The default image of a new state: empty = the model's default revision and version.
  std::string firmware_revision;
  std::string firmware_full_version;
  // The identity of a new state, per field; absent: the fleet position's default.
  std::optional<std::string> imei, imsi, iccid;
  std::string link, usb_link, lwm2m_endpoint;  // empty: none (endpoint: urn:imei:<IMEI>)
  std::filesystem::path state_dir;
  Dialect dialect;  // the module options (sim/options.hpp)
};

struct FleetPlan {
  std::vector<ModulePlan> modules;
};

// Module n of a pattern: every {} (with a format spec or not: "{:04}") is n; a pattern without
// any {} gets "-<n>" appended; an empty pattern stays empty. Throws fmt::format_error for a
// pattern fmt cannot use (fleet_file.cpp checks patterns before expanding them).
std::string expand(const std::string& pattern, int n);

// `count` modules configured by the command line alone (bg95sim --count N).
FleetPlan plan_from_options(int count, const FleetDefaults& defaults);

// Default images made once per (model, revision, full version, size) and shared by the
// modules that need the same one; and for each, the factory flash new states read from
// (flash/factory_base.hpp), in `factory_folder`: <full version>-<SHA-256 prefix>.flash,
// made when missing, checked when there (read-only, mode 0444).
class DefaultImages {
 public:
  explicit DefaultImages(std::filesystem::path factory_folder = {})
      : factory_folder_(std::move(factory_folder)) {}

  std::shared_ptr<const std::vector<std::uint8_t>> get(const std::string& model,
                                                       const std::string& revision,
                                                       const std::string& full_version,
                                                       std::uint64_t size);
  // The factory flash of that image; empty without a factory folder. Throws state::StateError
  // when it cannot be made, or a file of its name holds something else.
  std::filesystem::path factory_flash(const std::string& model, const std::string& revision,
                                      const std::string& full_version, std::uint64_t size);

 private:
  using Key = std::tuple<std::string, std::string, std::string, std::uint64_t>;
  std::filesystem::path factory_folder_;
  std::map<Key, std::shared_ptr<const std::vector<std::uint8_t>>> images_;
  std::map<Key, std::filesystem::path> factories_;
};

// Sets what the plan says in the module's configuration and ports (index = number - 1).
void configure(const ModulePlan& plan, ModuleConfig& config, PortOptions& ports,
               DefaultImages& images);

}  // namespace bg95::fleet
