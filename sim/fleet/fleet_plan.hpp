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
  bool pty = true;              // --ports: pty, or none (headless)
};

struct ModulePlan {
  int number = 0;     // from 1
  std::string model;  // empty: the state's, BG95-M3 for a new one
  // The default image of a new state: empty = the model's default revision and version.
  std::string firmware_revision;
  std::string firmware_full_version;
  // The identity of a new state, per field; absent: the fleet position's default.
  std::optional<std::string> imei, imsi, iccid;
  // `ports`: false for a headless module, which has neither link nor USB port.
  bool pty = true;
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

// The open files an idle module holds (docs/fleet.md, "Resources"; counted in /proc/<pid>/fd
// by tests/fleet_test.cpp), and what the process holds besides.
struct DescriptorCosts {
  // The state folder's own lock (flock'ed for the module's life), when the fleet's lock of its
  // state root does not cover the folder (sim/state/state_dir.hpp: a folder elsewhere, a shard).
  int state = 1;
  int pty = 2;  // a port: its master and the slave it keeps open (pty/pty_port.hpp)
  // An LwM2M client's UDP socket; the libcoap context it is in (epoll, timerfd, the event
  // loop's dup of the epoll) is the process's (coap::SharedContext). Over DTLS a client has a
  // context of its own: 3 more.
  int lwm2m = 1;
  // stdio, the event loop, inotify, the control socket, the fleet's lock, the shared libcoap
  // context, a margin for downloads
  int process = 64;
  // The process's cache of open flash files (flash.bin, factory flashes, block maps; none held
  // per idle module): sim/flash/open_files.hpp, flash::OpenFiles's default capacity.
  int flash_files = 256;
};

// What a fleet needs of the system, and what it has.
struct Budget {
  std::uint64_t descriptors = 0;       // needed
  std::uint64_t ptys = 0;              // needed (main UART and USB ports)
  std::uint64_t descriptor_limit = 0;  // RLIMIT_NOFILE now (soft; the process raised it to hard)
  std::optional<std::uint64_t> ptys_free;  // kernel.pty.max - kernel.pty.nr, when readable
  std::size_t fitting = 0;                 // modules of the plan, in order, that fit both
  std::size_t count = 0;
  bool fits() const { return fitting == count; }
  // "5000 modules need about 30320 open files and 5000 ptys (per module: ...), but ..."
  std::string refusal(const DescriptorCosts& costs) const;
};

// The budget of `plan` with these costs; `locked_root`: the state root the fleet locks once
// (empty: every module locks its own folder); `lwm2m`: each module runs an LwM2M client
// (--lwm2m-autoreg). `ptys_free` is read from /proc/sys/kernel/pty by the caller (nullopt: not
// known).
Budget budget(const FleetPlan& plan, const DescriptorCosts& costs,
              const std::filesystem::path& locked_root, bool lwm2m, std::uint64_t descriptor_limit,
              std::optional<std::uint64_t> ptys_free);
// How many flash files the process's cache may hold open (flash::OpenFiles): at least
// costs.flash_files, and up to a quarter of what the limit leaves beyond the budget, so that a
// fleet's busy modules (1,000 concurrent updates) keep theirs open rather than reopening them at
// every flash operation; never more than the fleet's flash files.
std::size_t flash_file_capacity(const Budget& budget, const DescriptorCosts& costs);
// kernel.pty.max - kernel.pty.nr, or nullopt when /proc does not say.
std::optional<std::uint64_t> free_ptys();

// Sets what the plan says in the module's configuration and ports (index = number - 1).
void configure(const ModulePlan& plan, ModuleConfig& config, PortOptions& ports,
               DefaultImages& images);

}  // namespace bg95::fleet
