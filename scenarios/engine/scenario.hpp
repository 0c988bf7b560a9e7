#pragma once
// A fault scenario (docs/scenarios.md): how the module is set up, the packages and servers it
// meets, rules "when -> do" that make faults at the right moment, an optional host script
// (send / expect) that drives the module as a host driver would, and what the run must end
// with. parse_scenario() reads one from YAML; nothing here runs anything.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "sim/faults.hpp"
#include "sim/module.hpp"

namespace bg95::scenario {

using Duration = std::chrono::milliseconds;

// A scenario file that cannot be used: the message names the file, line and key.
class ScenarioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The longest pattern (or text to expect) a scenario may hold. std::regex compiles and matches
// by recursion, a few stack frames per character: a pattern of 20 000 characters overflowed an
// 8 MiB stack.
inline constexpr std::size_t kMaxPatternLength = 4096;
// The most modules one bg95sim runs (--count), so the highest number `modules:` can name.
inline constexpr unsigned kMaxFleetModules = 10000;

// A pattern as written and compiled (ECMAScript regular expression, searched, not anchored).
struct Pattern {
  std::string text;
  std::regex regex;
  bool matches(std::string_view s) const;
};
// A pattern that matches `text` literally.
Pattern literal(const std::string& text);

// ---- the module ---------------------------------------------------------------------------

// A scenario's words for the <stat> the cell grants (`reg: searching`), in the order its errors
// list them.
inline constexpr std::pair<std::string_view, bg95::RegStatus> kRegNames[] = {
    {"home", bg95::RegStatus::Home},
    {"roaming", bg95::RegStatus::Roaming},
    {"searching", bg95::RegStatus::Searching},
    {"denied", bg95::RegStatus::Denied},
    {"unregistered", bg95::RegStatus::NotRegistered},
    {"unknown", bg95::RegStatus::Unknown},
};

struct FirmwareSpec {
  std::string revision;      // empty: the model's default
  std::string full_version;  // empty: <revision>_01.011.01.011
  std::uint64_t size = 256 * 1024;
  std::uint64_t seed = 0xB695;
};

// A file put into the module's file system before it powers on.
struct FileSpec {
  std::string name;  // as AT+QFUPL takes it: "/datatx/fota_cacert.pem", "UFS:dfota_update.bin"
  enum class Source { Text, HostFile, Package, ServerCa, WrongCa } source = Source::Text;
  std::string value;  // the text, the host path (resolved), or the package name
};

struct ModuleSetup {
  bg95::ModuleConfig config;  // model, timing, network, dialect, guard time, LwM2M, ...
  FirmwareSpec firmware;
  std::optional<state::FotaApn> fota_apn;
  std::optional<std::uint32_t> ipr;
  std::optional<int> cmee;
  std::vector<FileSpec> files;
  std::optional<std::filesystem::path> state;  // start from a copy of this state folder
  bool usb_port = false;
};

// ---- packages ----------------------------------------------------------------------------

// A package (or any file) the run builds before it starts: a delta from an image to its next
// version, damaged on purpose if asked, or plain random bytes.
struct PackageSpec {
  std::string name;
  enum class Kind { Delta, Random } kind = Kind::Delta;
  // Delta: from the module's own firmware (empty source) or another image; to its next
  // version with `change` of the body edited.
  std::optional<FirmwareSpec> source;
  double change = 0.03;
  std::uint64_t seed = 7;
  std::string target_revision;  // empty: the next revision
  int level = 3;
  // Random: this many bytes.
  std::uint64_t size = 0;
  // Damage after building: flip `corrupt_count` bytes at `corrupt_offset`; cut to `truncate`.
  std::uint64_t corrupt_offset = 0, corrupt_count = 0;
  std::optional<std::uint64_t> truncate;
};

// ---- rules -------------------------------------------------------------------------------

struct Trigger {
  enum class Kind {
    Time,             // at: 2s after the start
    Command,          // command: a pattern over "AT+QFOTADL=..." (each command of a chain)
    Urc,              // urc: a pattern over the URC text
    DownloadPercent,  // download: {percent: N}
    DownloadBytes,    // download: {bytes: N}
    UpdatePercent,    // update: {percent: N, phase: UPDATING|RESTORE}
    FlashWrite,       // flash_write: N (the N-th program or erase from the start)
    HostOpen,         // host_open (port)
    HostClose,        // host_close (port)
    Power,            // power: booted | cut | dfota | ... (PowerEvent names)
  };
  Kind kind = Kind::Time;
  Duration at{0};
  std::optional<Pattern> pattern;
  std::string port;  // empty: any port
  std::uint64_t value = 0;
  std::string phase = "UPDATING";
  std::optional<bg95::PowerEvent> power;
  std::string describe() const;  // for transcripts: "update 43 %"
};

// Which occurrences of the trigger fire the rule.
struct Count {
  enum class Kind { First, Every, Nth, Times } kind = Kind::First;
  std::uint64_t n = 1;
  // occurrence: 1 for the first time the trigger matched.
  bool fires(std::uint64_t occurrence) const;
  bool done_after(std::uint64_t occurrence) const;  // no later occurrence can fire
};

struct Action {
  enum class Kind {
    Fault,       // faults of the table (sim/faults.hpp): one, or the keys of a group (network)
    Respond,     // with a command trigger: answer this instead
    RespondRaw,  // with a command trigger: write exactly these bytes instead
    Delay,       // with a command trigger: the answer comes this much later
    Urc,
    Server,  // change the package server's faults
    Log,
    Verdict,
  };
  Kind kind = Kind::Log;
  Duration after{0};  // do it this long after the trigger
  // Parameters (by kind).
  std::vector<faults::Call> faults;  // Fault
  std::optional<Duration> duration;  // Delay by
  std::string text;                  // Urc, RespondRaw, Log, Verdict reason
  at::Reply reply;                   // Respond
  bool pass = true;                  // Verdict
  YAML::Node server;                 // Server: the faults (package server schema)
  std::string describe() const;
};

// The modules of a fleet a rule watches (`modules: 3`, `"2-5"`, `[1, "4-6"]`): module numbers
// from 1, as in the fleet file. Empty: every module (and the one module of a plain run).
struct ModuleRange {
  unsigned first = 1;
  unsigned last = 1;
};

struct Rule {
  std::string name;
  Trigger when;
  Count count;
  std::vector<Action> actions;
  std::vector<ModuleRange> modules;
  int line = 0;  // in the scenario file
  bool applies_to(unsigned module_number) const;
};

// The rules of `rules` that watch module `module_number`.
std::vector<Rule> rules_for(const std::vector<Rule>& rules, unsigned module_number);

// ---- the host ----------------------------------------------------------------------------

struct HostStep {
  enum class Kind {
    Send,       // bytes, with ${...} substituted
    Expect,     // a literal or pattern in what arrives
    ExpectNot,  // a pattern must not arrive within `timeout`
    Pause,      // wait (guard times of "+++" need real silence)
    Open,       // the host opens the port
    Close,      // ... and closes it
    Baud,       // the host's line speed (realistic timing paces and garbles by it)
    Do,         // module-side actions, as a rule's `do`
    Lwm2m,      // a request of the scenario's LwM2M server to the module
  };
  Kind kind = Kind::Send;
  int line = 0;
  std::string port = "uart";
  // Send: text (substituted), or a package's bytes in chunks, padded.
  std::string text;
  std::optional<std::string> package;
  std::size_t chunk = 2048;
  std::optional<std::uint8_t> pad;  // pad the last chunk to `chunk` with this byte
  // Expect / ExpectNot: ${...} in the pattern is resolved when the step runs.
  std::optional<Pattern> pattern;
  bool literal = false;  // the pattern is literal text
  std::optional<Duration> timeout;
  // Pause.
  Duration duration{0};
  std::uint32_t baud = 115200;
  std::vector<Action> actions;
  // Lwm2m: operation and its arguments.
  std::string op;  // write | execute | read | observe | wait_registration | wait_notification
  std::string path, value;
  std::uint64_t count = 1;
  std::string describe() const;
};

struct HostScript {
  bool present = false;
  Duration timeout{std::chrono::seconds(10)};  // of each expect without its own
  std::vector<HostStep> steps;
};

// ---- the end -----------------------------------------------------------------------------

struct Expectation {
  bool pass = true;  // the verdict the run must reach
  std::optional<std::string> revision;
  std::optional<std::string> full_version;
  std::optional<std::string> firmware_of;         // the active image is this package's target ...
  std::optional<std::string> firmware_source_of;  // ... or still its source
  std::optional<std::uint64_t> package_size;      // AT+QFOTADL=4 would report this
  std::optional<std::string> power;               // normal | off | dfota | booting
  std::optional<std::uint64_t> boots;
};

struct Scenario {
  std::string name;
  std::string description;
  std::filesystem::path file;
  std::string source;  // the file's text, for transcripts and replay
  ModuleSetup module;
  std::vector<PackageSpec> packages;
  std::optional<YAML::Node> server;  // the package server (docs/package-server.md)
  bool lwm2m_server = false;         // the runner starts an LwM2M server
  std::optional<std::pair<std::string, std::string>> lwm2m_psk;
  std::vector<Rule> rules;
  HostScript host;
  Expectation expect;
  Duration timeout{std::chrono::seconds(60)};  // the whole run
};

// Reads a scenario; throws ScenarioError naming the file, line and key of the first problem,
// an unknown ${...} name included (check_variable_names).
Scenario parse_scenario(const std::filesystem::path& file);
Scenario parse_scenario_text(const std::string& text, const std::filesystem::path& name);

// The ${...} names a run of the scenario defines (docs/scenarios.md, "Variables"): what its
// packages, server listeners and LwM2M server make, and the module's own.
std::set<std::string> variable_names(const Scenario& s);
// Every ${...} of the texts a run substitutes names one of variable_names(s); else
// ScenarioError naming the file, the line, the name and the known ones. Done when the file is
// read, so before any power-on, and by `bg95-scenario check`.
void check_variable_names(const Scenario& s);

// "250ms", "2s", "1.5s", "2min"; bare numbers are seconds. Throws std::invalid_argument.
Duration parse_duration(const std::string& text);
// "300000", "300KB" (1000), "300KiB" (1024), "6MiB". Throws std::invalid_argument.
std::uint64_t parse_size(const std::string& text);

}  // namespace bg95::scenario
