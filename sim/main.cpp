// bg95sim: a virtual Quectel BG95/BG77 on a pseudo-terminal.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include "protocol/coap/coap_context.hpp"
#include "protocol/http/worker_pool.hpp"
#include "pty/open_watcher.hpp"
#include "pty/pty_port.hpp"
#include "scenarios/engine/live.hpp"
#include "sim/control/control_server.hpp"
#include "sim/control/module_control.hpp"
#include "sim/dfota/dfota_service.hpp"
#include "sim/dfota/update_memory.hpp"
#include "sim/faults.hpp"
#include "sim/firmware/firmware_store.hpp"
#include "sim/firmware/image.hpp"
#include "sim/flash/layout.hpp"
#include "sim/flash/nand_flash.hpp"
#include "sim/fleet/fleet_file.hpp"
#include "sim/fleet/fleet_plan.hpp"
#include "sim/fleet/shard_plan.hpp"
#include "sim/module.hpp"
#include "sim/module_host.hpp"
#include "sim/options.hpp"
#include "sim/transcript.hpp"

namespace {

struct Options {
  std::string state_dir;
  std::string link;
  std::string model;
  bool recreate_state = false;
  std::string timing = "fast";
  double time_scale = 1.0;
  std::string rat = "emtc";
  int csq = 26;
  bool unregistered = false;
  std::string operator_name = "Telstra Mobile Telstra";
  std::string plmn = "50501";
  std::string accepted_apn;
  std::uint64_t firmware_size = 4 * 1024 * 1024;
  bool verbose = false;
  std::string usb_link;
  std::string control;
  int count = 1;
  std::string ports{bg95::options::ports_option().fallback()};
  std::string fleet_file;
  int download_threads = 0;  // 0: 16, or one per module in the realistic profile
  int guard_ms = 1000;
  double download_timeout_s = 60;
  // Faults set at start (sim/faults.hpp), by their option: the values given.
  std::map<std::string_view, std::vector<std::int64_t>> start_faults;
  bg95::ModuleConfig::Lwm2mOptions lwm2m;  // --lwm2m-*
  std::string scenario;
  std::string transcript;
  // The dialect (sim/options.hpp); a Switch option is read as a number, then set here.
  bg95::Dialect dialect;
  std::map<std::string_view, int> switches;
  bg95::options::ShardArgs shard;  // --shard-index, --shard-count (docs/scale-out.md)
};

bg95::ModuleConfig make_config(const Options& o) {
  bg95::ModuleConfig c;
  c.state_dir = o.state_dir.empty() ? bg95::state::StateDir::default_dir()
                                    : std::filesystem::path(o.state_dir);
  c.model = o.model;
  c.recreate_state = o.recreate_state;
  c.timing.profile =
      o.timing == "realistic" ? bg95::Timing::Profile::Realistic : bg95::Timing::Profile::Fast;
  c.timing.scale = o.time_scale;
  c.network.rat = o.rat == "nbiot" ? bg95::Rat::NbIot : bg95::Rat::EMtc;
  c.network.csq_rssi = o.csq;
  c.network.status = o.unregistered ? bg95::RegStatus::Searching : bg95::RegStatus::Home;
  c.network.operator_name = o.operator_name;
  c.network.plmn = o.plmn;
  c.network.accepted_apn = o.accepted_apn;
  c.default_image_size = o.firmware_size;
  c.guard_time = std::chrono::milliseconds(o.guard_ms);
  c.dialect = o.dialect;
  for (const auto& opt : bg95::options::dialect_options())
    if (opt.kind == bg95::options::Kind::Switch) c.dialect.*opt.flag = o.switches.at(opt.cli) != 0;
  c.download_idle_timeout =
      std::chrono::milliseconds(static_cast<long>(o.download_timeout_s * 1000));
  for (const auto& [option, values] : o.start_faults)
    for (const std::int64_t v : values)
      bg95::faults::by_option(option)->configure(c, {v, {}, true});
  c.lwm2m = o.lwm2m;
  return c;
}

// The dialect's options, from the option table (sim/options.hpp).
void add_dialect_options(CLI::App& app, Options& o) {
  using bg95::options::Kind;
  for (const auto& opt : bg95::options::dialect_options()) {
    const std::string name(opt.cli), help(opt.help);
    switch (opt.kind) {
      case Kind::Flag:
        app.add_flag(name, o.dialect.*opt.flag, help);
        break;
      case Kind::Number:
        app.add_option(name, o.dialect.*opt.number, help)->check(CLI::Range(opt.min, opt.max));
        break;
      case Kind::Switch:
        o.switches[opt.cli] = o.dialect.*opt.flag ? 1 : 0;
        app.add_option(name, o.switches[opt.cli], help)->check(CLI::Range(0, 1));
        break;
    }
  }
}

// A transcript of this module from now on; the state folder as it is now is kept beside it,
// so that a replay starts from the same state.
std::unique_ptr<bg95::Transcript> open_transcript(bg95::ModuleHost& host, const std::string& base,
                                                  bg95::scenario::LiveScenario* scenario,
                                                  const std::filesystem::path& usb_link) {
  bg95::Module& m = host.module();
  const std::filesystem::path snapshot = base + ".state";
  std::filesystem::remove_all(snapshot);
  if (std::filesystem::path(base).has_parent_path())
    std::filesystem::create_directories(std::filesystem::path(base).parent_path());
  m.snapshot_state(snapshot);
  nlohmann::json header;
  if (scenario) {
    const auto& s = scenario->scenario();
    header["scenario"] = {{"name", s.name}, {"file", s.file.string()}, {"source", s.source}};
    header["vars"] = scenario->setup().vars();
  } else {
    header["scenario"] = {
        {"name", "session"},
        {"file", "session.yaml"},
        {"source", bg95::scenario::session_scenario(m.config(), !usb_link.empty())}};
  }
  header["state_snapshot"] = std::filesystem::absolute(snapshot).string();
  header["module"] = {{"model", m.settings().model}, {"imei", m.settings().identity.imei}};
  auto t = std::make_unique<bg95::Transcript>(base, header);
  m.add_observer(t.get());
  host.add_tap(t.get());
  return t;
}

// False, having said why, when a port's symlink cannot be made at one of `links` (empty
// ones are none).
bool links_usable(const std::vector<std::string>& links) {
  for (const std::string& link : links) {
    const auto problem = link.empty() ? std::nullopt : bg95::pty::PtyPort::link_problem(link);
    if (problem) {
      std::cerr << "bg95sim: " << *problem << "\n";
      return false;
    }
  }
  return true;
}

// ---- parse: the command line

// Reads the command line into `o`. The exit status when the program ends here: --help, a wrong
// option, links that cannot be made.
// Every option of the command line, bound to `o`.
void declare_options(CLI::App& app, Options& o) {
  app.add_option("--state", o.state_dir,
                 "State folder (flash image, settings, file system). Default: "
                 "$XDG_STATE_HOME/bg95sim/default or ~/.local/state/bg95sim/default");
  app.add_option("--link", o.link,
                 "Keep a symlink to the port here (replaced atomically, removed at exit)");
  app.add_option("--model", o.model, "Module model for a new state folder")
      ->check(CLI::IsMember({"BG95-M1", "BG95-M2", "BG95-M3", "BG95-M4", "BG95-M5", "BG77"}));
  app.add_option("--firmware-size", o.firmware_size,
                 "Size in bytes of the default firmware image written into a new state's flash "
                 "(the same image as `dfota-pack firmware --size`); default 4 MiB")
      ->check(CLI::Range(std::uint64_t{4096}, std::uint64_t{32} * 1024 * 1024));
  app.add_flag("--recreate-state", o.recreate_state,
               "Replace a corrupt or foreign flash/settings file with new defaults");
  app.add_option("--timing", o.timing, "Timing profile: fast (no delays) or realistic")
      ->check(CLI::IsMember({"fast", "realistic"}));
  app.add_option("--time-scale", o.time_scale, "Multiply every realistic delay by this factor")
      ->check(CLI::PositiveNumber);
  app.add_option("--rat", o.rat, "Access technology of the cell: emtc or nbiot")
      ->check(CLI::IsMember({"emtc", "nbiot"}));
  app.add_option("--csq", o.csq, "Signal as AT+CSQ <rssi> (0-31)")->check(CLI::Range(0, 31));
  app.add_flag("--unregistered", o.unregistered, "Start without network registration (searching)");
  app.add_option("--operator", o.operator_name, "Operator name shown by AT+COPS?");
  app.add_option("--plmn", o.plmn, "MCC+MNC of the cell");
  app.add_option("--accepted-apn", o.accepted_apn,
                 "The only APN the network accepts for data (default: any); a FOTA APN set "
                 "with AT+QCFGEXT that differs makes downloads fail with 702");
  app.add_option("--count", o.count,
                 "Run a fleet of N modules in this process, each with its own pty, state "
                 "(<state>/0001 ...), identity and flash; links: --link with {} replaced by the "
                 "module number (e.g. /tmp/bg95-{:04}), else \"-<n>\" appended")
      ->check(CLI::Range(1, 10000));
  const auto& ports = bg95::options::ports_option();
  app.add_option(std::string(ports.cli), o.ports, std::string(ports.help))
      ->check(CLI::IsMember(std::vector<std::string>(ports.values.begin(), ports.values.end())));
  app.add_option("--fleet", o.fleet_file,
                 "Run the fleet a YAML file describes: count, and per module or range of "
                 "modules model, firmware, IMEI/IMSI/ICCID range, link, state folder, "
                 "LwM2M endpoint patterns and dialect (docs/fleet.md); the command line's "
                 "options are the defaults")
      ->check(CLI::ExistingFile);
  app.add_option("--download-threads", o.download_threads,
                 "Threads for HTTP(S) downloads, shared by all modules; more downloads at once "
                 "wait in a queue for a free thread. Default 16, and in the realistic profile "
                 "one per module (a paced download holds its thread)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--control", o.control,
                 "Serve the control interface (power, DTR, network, status; see bg95ctl and "
                 "docs/control.md) on a Unix socket here, mode 0600; its folder must be yours and "
                 "not writable by others (created 0700 when missing)");
  app.add_option("--usb-port", o.usb_link,
                 "Also model the USB AT port, as a second pty with a symlink here; it vanishes "
                 "in DFOTA mode and comes back after the reboot");
  app.add_option("--guard-time", o.guard_ms,
                 "Guard time of the +++ escape in milliseconds (the note's 2.1.6: 1000)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--download-timeout", o.download_timeout_s,
                 "Seconds without data before a DFOTA download fails with 704")
      ->check(CLI::Range(0.05, 3600.0));
  for (const auto& f : bg95::faults::table())
    if (!f.cli.empty())
      app.add_option(std::string(f.cli), o.start_faults[f.cli], std::string(f.description))
          ->check(CLI::Range(f.param.min, f.param.max));
  // LwM2M (docs/lwm2m.md): what AT+QLWCFG / AT+QLWSVC="reg" set, for a fleet without a host.
  app.add_option("--lwm2m-server", o.lwm2m.server,
                 "LwM2M server URI (coap://host:port or coaps://host:port); saved as "
                 "AT+QLWCFG=\"security\" does");
  app.add_option("--lwm2m-endpoint", o.lwm2m.endpoint,
                 "LwM2M endpoint name (default urn:imei:<IMEI>)");
  app.add_option("--lwm2m-psk-id", o.lwm2m.psk_id, "LwM2M DTLS-PSK identity (coaps://)");
  app.add_option("--lwm2m-psk", o.lwm2m.psk, "LwM2M DTLS-PSK key in hex digits (coaps://)");
  app.add_option("--lwm2m-lifetime", o.lwm2m.lifetime, "LwM2M registration lifetime in seconds")
      ->check(CLI::Range(1u, 0xffffffffu));
  app.add_flag("--lwm2m-autoreg", o.lwm2m.autoreg,
               "Register with the LwM2M server at every boot (as after AT+QLWSVC=\"reg\")");
  // Dialects: the variations host drivers meet in the field (docs/scenarios.md).
  add_dialect_options(app, o);
  bg95::options::add_shard_options(app, o.shard);
  // Scenarios and transcripts (docs/scenarios.md).
  app.add_option("--scenario", o.scenario,
                 "Set the module up and run the rules of this scenario file (its host script is "
                 "for bg95-scenario); its module section replaces the module options")
      ->check(CLI::ExistingFile);
  app.add_option("--transcript", o.transcript,
                 "Record every byte and event to BASE.txt and BASE.jsonl (replay with "
                 "bg95-scenario replay BASE.jsonl); default with --scenario: "
                 "<state>/transcripts/<scenario>-<time>");
  app.add_flag("-v,--verbose", o.verbose, "Log module events to stderr");
}

std::optional<int> parse(int argc, char** argv, Options& o) {
  CLI::App app{
      "bg95sim: a virtual Quectel BG95/BG77 LTE-M/NB-IoT module on a pseudo-terminal.\n"
      "Prints one line naming the port when ready; open it like a serial port at 115200 baud."};
  app.set_version_flag("--version", std::string("bg95sim ") + BG95SIM_VERSION);
  declare_options(app, o);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  // The links are checked before any state folder or port is made: a wrong one stops the
  // program with nothing created (a fleet's, once its plan is known).
  if (o.count <= 1 && o.fleet_file.empty() && !links_usable({o.link, o.usb_link})) return 2;
  if (!o.fleet_file.empty() && app.count("--count") > 0) {
    std::cerr << "bg95sim: --fleet and --count: the fleet file says how many modules\n";
    return 2;
  }
  // With a fleet file the link patterns are for the modules that it gives a pty.
  if (o.ports == bg95::options::kPortsNone && o.fleet_file.empty() &&
      !(o.link.empty() && o.usb_link.empty())) {
    std::cerr << "bg95sim: --ports none: a headless module has no port to link (--link, "
                 "--usb-port)\n";
    return 2;
  }
  return std::nullopt;
}

// ---- plan: the modules, their transcripts, the scenario and the control socket

struct Program {
  explicit Program(boost::asio::io_context& context)
      : io(context), watcher(bg95::pty::OpenWatcher::create(io.get_executor())) {}

  boost::asio::io_context& io;
  std::shared_ptr<bg95::pty::OpenWatcher> watcher;
  bool fleet = false;
  std::vector<std::unique_ptr<bg95::Transcript>> transcripts;  // outlived by the modules
  std::vector<std::unique_ptr<bg95::ModuleHost>> hosts;
  // A scenario sets the module up (its module section) and brings its servers and rules.
  std::unique_ptr<bg95::scenario::LiveScenario> scenario;
  // Declared after the modules, so it is destroyed (and its socket file removed) first.
  std::unique_ptr<bg95::control::ControlServer> control;
};

// The image an existing state folder's flash runs, or nullopt when the folder has no flash yet.
std::optional<bg95::firmware::ImageHeader> image_in(const std::filesystem::path& state) {
  const auto file = state / "flash.bin";
  if (!std::filesystem::is_regular_file(file)) return std::nullopt;
  const auto layout = bg95::flash::Layout::standard();
  bg95::flash::NandFlash flash(file, layout.geometry);
  const bg95::flash::PartitionView active(flash, layout.active);
  auto header = bg95::firmware::read_image_header(active);
  if (!header) return bg95::firmware::ImageHeader{};  // unreadable: not the scenario's either
  return *header;
}

// A scenario's module section sets up a new module; an existing state folder keeps its own
// image, so the scenario's firmware would be silently ignored (issue 19). A state (or a fleet
// module's state below it) whose image is not the scenario's is refused, with what to do.
bool state_fits_scenario(const bg95::ModuleConfig& base) {
  const auto wanted = bg95::firmware::decode_image_header(*base.default_image);
  std::vector<std::filesystem::path> states{base.state_dir};
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base.state_dir, ec))
    if (e.is_directory(ec)) states.push_back(e.path());
  for (const auto& state : states) {
    std::optional<bg95::firmware::ImageHeader> held;
    try {
      held = image_in(state);
    } catch (const std::exception&) {
      continue;  // not a flash the module could run either: the module says so at start
    }
    if (!held || (wanted && held->full_version == wanted->full_version &&
                  held->image_size() == wanted->image_size()))
      continue;
    std::cerr << fmt::format(
        "bg95sim: {} holds firmware {} ({} bytes), not the scenario's {} ({} bytes): a "
        "scenario's module section sets up a new state folder. Give --state a folder that "
        "does not exist yet, or remove this one.\n",
        state.string(), held->full_version.empty() ? "(unreadable)" : held->full_version,
        held->image_size(), wanted ? wanted->full_version : "?", wanted ? wanted->image_size() : 0);
    return false;
  }
  return true;
}

// The scenario of --scenario, whose module section replaces the module options in `base`.
bool load_scenario(const Options& o, Program& p, bg95::ModuleConfig& base) {
  try {
    p.scenario = std::make_unique<bg95::scenario::LiveScenario>(
        bg95::scenario::parse_scenario(o.scenario), p.io.get_executor(),
        base.state_dir.parent_path() / (base.state_dir.filename().string() + ".scenario"));
    bg95::ModuleConfig from = p.scenario->setup().module_config(base.state_dir);
    base = std::move(from);
  } catch (const std::exception& e) {
    std::cerr << "bg95sim: " << e.what() << "\n";
    return false;
  }
  if (!state_fits_scenario(base)) return false;
  if (p.scenario->scenario().host.present)
    std::cerr << "bg95sim: the scenario's host script is not run here (bg95-scenario run "
              << o.scenario << " runs it); you are the host\n";
  for (const auto& line : p.scenario->addresses())
    std::cerr << "bg95sim: scenario " << p.scenario->scenario().name << ": " << line << "\n";
  return true;
}

// A fleet's plan of every module, from --count or the fleet file. Module n (from 1) keeps its
// state in <state>/<nnnn> and its links at the --link pattern with {} replaced by n (or "-<n>"
// appended when there is no {}), unless the fleet file says otherwise.
std::optional<bg95::fleet::FleetPlan> fleet_plan(const Options& o, const bg95::ModuleConfig& base) {
  // The dialect: the command line's, or the scenario's module section (which replaced it).
  const bg95::fleet::FleetDefaults defaults{o.model,
                                            o.link,
                                            o.usb_link,
                                            base.state_dir,
                                            o.lwm2m.endpoint,
                                            base.dialect,
                                            o.ports == bg95::options::kPortsPty};
  bg95::fleet::FleetPlan plan;
  if (o.fleet_file.empty()) {
    plan = bg95::fleet::plan_from_options(o.count, defaults);
  } else {
    auto loaded = bg95::fleet::load_fleet_file(o.fleet_file, defaults);
    if (!loaded) {
      std::cerr << "bg95sim: " << loaded.error() << "\n";
      return std::nullopt;
    }
    plan = std::move(*loaded);
  }
  // A shard keeps its modules' numbers, identities and endpoints (sim/fleet/shard_plan.hpp).
  auto part = bg95::fleet::take_shard(std::move(plan), o.shard.index, o.shard.count,
                                      bg95::fleet::process_environment());
  if (!part) {
    std::cerr << "bg95sim: " << part.error() << "\n";
    return std::nullopt;
  }
  plan = std::move(*part);
  std::vector<std::string> links;
  for (const auto& m : plan.modules)
    links.insert(links.end(), {m.link, m.usb_link});
  if (!links_usable(links)) return std::nullopt;
  return plan;
}

// Refuses, naming the numbers, a fleet that would run out of open files or ptys part-way
// (issue 20: "Too many open files" at module 3333 of 5000); main() raised the soft limit of
// open files to the hard one already.
// `flash_files`: how many flash files the fleet's cache may then hold open.
bool fits(const Options& o, const bg95::fleet::FleetPlan& plan, const std::filesystem::path& root,
          std::size_t& flash_files) {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return true;
  const bg95::fleet::DescriptorCosts costs;
  const bool lwm2m = o.lwm2m.autoreg || !o.lwm2m.server.empty();
  const bool sharded = !o.shard.index.empty() || !o.shard.count.empty();  // no root lock (plan())
  const auto b = bg95::fleet::budget(plan, costs, sharded ? "" : root, lwm2m, files.rlim_cur,
                                     bg95::fleet::free_ptys());
  if (!b.fits()) {
    std::cerr << "bg95sim: " << b.refusal(costs) << "\n";
    return false;
  }
  flash_files = bg95::fleet::flash_file_capacity(b, costs);
  if (o.verbose)
    std::cerr << fmt::format("bg95sim: {} modules need about {} open files of {} and {} ptys\n",
                             b.count, b.descriptors, b.descriptor_limit, b.ptys);
  return true;
}

// Module i (from 0) with its ports, its transcript and the scenario's rules. Throws what
// stops the program.
void add_module(const Options& o, Program& p, std::size_t i, bg95::ModuleConfig config,
                bg95::PortOptions ports) {
  const std::filesystem::path usb_link = ports.usb_link;
  p.hosts.push_back(std::make_unique<bg95::ModuleHost>(p.io.get_executor(), std::move(config),
                                                       std::move(ports), p.watcher));
  bg95::ModuleHost& host = *p.hosts.back();
  auto* scenario = p.scenario.get();
  if (scenario) scenario->prepare(host);
  const std::string name = p.fleet ? fmt::format("[{}]", i + 1) : "";
  std::string base_name = o.transcript;
  if (base_name.empty() && scenario)
    base_name = (host.module().config().state_dir / "transcripts" /
                 fmt::format("{}-{:%Y%m%d-%H%M%S}", scenario->scenario().name,
                             fmt::localtime(std::time(nullptr))))
                    .string();
  if (!base_name.empty()) {
    if (p.fleet) base_name += fmt::format("-{:04}", i + 1);
    p.transcripts.push_back(open_transcript(host, base_name, scenario, usb_link));
    std::cerr << fmt::format("bg95sim{}: transcript {}\n", name,
                             p.transcripts.back()->text_file().string());
  }
  if (scenario)
    scenario->attach(host, p.transcripts.empty() ? nullptr : p.transcripts.back().get(), name,
                     static_cast<unsigned>(i + 1), [name](const std::string& line) {
                       std::cout << "bg95sim" << name << ": " << line << std::endl;
                     });
}

// The control socket (docs/control.md): power, DTR, network, faults and status for tests and
// bg95ctl. Module n of a fleet is @n-1 on it.
bool open_control(const Options& o, Program& p) {
  try {
    p.control = std::make_unique<bg95::control::ControlServer>(p.io.get_executor(), o.control);
  } catch (const std::exception& e) {
    std::cerr << "bg95sim: " << e.what() << "\n";
    return false;
  }
  for (auto& host : p.hosts) {
    bg95::Module& m = host->module();
    p.control->add_target(std::make_unique<bg95::control::ModuleControl>(
        m, bg95::control::ModuleControl::Providers{
               {"package",
                [&m] {
                  const auto size = m.dfota().package_size();
                  return size ? std::to_string(size) : std::string("none");
                }},
               {"dfota", [&m] { return std::string(m.dfota().activity_name()); }},
               {"progress", [&m] { return std::to_string(m.dfota().progress()); }},
               // Why the last DFOTA failed (docs/dfota.md); "none" after a success.
               {"last_error",
                [&m] {
                  const auto& e = m.dfota().last_error();
                  return e.empty() ? std::string("none") : e;
                }},
           }));
  }
  return true;
}

// Makes everything the program runs; false (having said why) when it cannot.
bool plan(const Options& o, Program& p) {
  bg95::ModuleConfig base = make_config(o);
  if (!o.scenario.empty() && !load_scenario(o, p, base)) return false;
  p.fleet =
      o.count > 1 || !o.fleet_file.empty() || !o.shard.index.empty() || !o.shard.count.empty();
  std::optional<bg95::fleet::FleetPlan> fleet;
  std::size_t flash_files = 256;
  if (p.fleet && (!(fleet = fleet_plan(o, base)) || !fits(o, *fleet, base.state_dir, flash_files)))
    return false;
  // Each distinct default image made once, and its factory flash (<state>/.factory/) that new
  // state folders read from instead of each writing the image.
  bg95::fleet::DefaultImages images(base.state_dir / ".factory");
  // One lock of the fleet's state root for its modules' folders (a shard, which may share its
  // root with others, locks each), one cache of open flash files (docs/fleet.md, "Resources").
  try {
    if (p.fleet && o.shard.index.empty() && o.shard.count.empty())
      base.fleet_lock = std::make_shared<const bg95::state::FleetLock>(base.state_dir);
  } catch (const std::exception& e) {
    std::cerr << "bg95sim: " << e.what() << "\n";
    return false;
  }
  base.flash_files = std::make_shared<bg95::flash::OpenFiles>(flash_files);
  if (p.fleet)
    base.lwm2m_context = std::make_shared<bg95::coap::SharedContext>(p.io.get_executor());
  const std::size_t count = p.fleet ? fleet->modules.size() : 1;

  // One pool of download threads for the process, joined before the io_context goes. 16 keep
  // a fast-profile fleet of 1000 as busy as 1000 threads do (docs/performance.md); in the
  // realistic profile a download holds its thread while it is paced, so each module gets one.
  const std::size_t threads = o.download_threads > 0 ? static_cast<std::size_t>(o.download_threads)
                              : o.timing == "realistic" ? std::max<std::size_t>(16, count)
                                                        : 16;
  base.download_pool = std::make_shared<bg95::http::WorkerPool>(threads);
  base.update_memory = std::make_shared<bg95::dfota::UpdateMemory>();
  for (std::size_t i = 0; i < count; ++i) {
    bg95::ModuleConfig config = base;
    bg95::PortOptions ports;
    ports.pacing = base.timing.profile == bg95::Timing::Profile::Realistic;
    ports.time_scale = base.timing.scale;
    ports.verbose = o.verbose;
    try {
      if (!p.fleet) {
        ports.pty = o.ports == bg95::options::kPortsPty;
        ports.link = o.link;
        ports.usb_link = o.usb_link;
      } else {
        bg95::fleet::configure(fleet->modules[i], config, ports, images);
      }
      const std::size_t number = config.index;  // from 0; in a shard, its place in the whole fleet
      add_module(o, p, number, std::move(config), std::move(ports));
    } catch (const std::exception& e) {
      std::cerr << "bg95sim: "
                << (p.fleet ? fmt::format("module {}: ", fleet->modules[i].number) : "") << e.what()
                << "\n";
      return false;
    }
  }
  return o.control.empty() || open_control(o, p);
}

// ---- run: power on and serve until SIGINT or SIGTERM

// Tells when each module has settled after its first power-on (issues 16 and 20: the ready
// line came before the boot, 2.5 s before the module answered AT in the realistic profile, and
// a fleet's some 4 s before its modules did): it answers AT once its whole boot banner is
// written (on_banner_written, not Booted, which comes with RDY: a host that opened the port
// then got the rest of the banner); one that cannot answer says why: its image does not boot,
// it resumes an update in DFOTA mode, or it lost power during the boot (a scenario's rule).
class ReadyWatch : public bg95::ModuleObserver {
 public:
  // `settled(why)`: why is empty when the module answers.
  ReadyWatch(bg95::Module& module, std::function<void(const char* why)> settled)
      : module_(module), settled_(std::move(settled)) {
    module_.add_observer(this);
  }
  ~ReadyWatch() override { module_.remove_observer(this); }
  ReadyWatch(const ReadyWatch&) = delete;
  ReadyWatch& operator=(const ReadyWatch&) = delete;

  void on_banner_written() override { settle(""); }
  void on_power(bg95::PowerEvent e) override {
    using E = bg95::PowerEvent;
    if (e == E::BootFailed) settle("its firmware does not boot");
    if (e == E::DfotaMode) settle("in DFOTA mode");
    if (e == E::Off || e == E::Cut || e == E::Psm) settle("powered off");
  }

 private:
  void settle(const char* why) {
    if (done_) return;
    done_ = true;
    settled_(why);
  }
  bg95::Module& module_;
  std::function<void(const char*)> settled_;
  bool done_ = false;
};

// " not answering AT: 3 (in DFOTA mode), 7 (its firmware does not boot)"; the first 20.
std::string not_answering(const std::vector<std::pair<std::size_t, std::string>>& modules,
                          bool fleet) {
  if (modules.empty()) return {};
  if (!fleet) return "; not answering AT: " + modules[0].second;
  std::string out = "; not answering AT:";
  for (std::size_t i = 0; i < modules.size() && i < 20; ++i)
    out += fmt::format("{} {} ({})", i == 0 ? "" : ",", modules[i].first, modules[i].second);
  if (modules.size() > 20) out += fmt::format(" and {} more", modules.size() - 20);
  return out;
}

// The ready line(s): each module's port (a fleet's), then the line hosts wait for.
void print_ready(const Options& o, const Program& p, const std::string& silent) {
  if (!p.fleet) {
    const std::string where = p.hosts[0]->where();
    const std::string how =
        where.empty()
            ? fmt::format("control: {}", o.control.empty() ? "none" : o.control)
            : fmt::format("open with: picocom -b 115200 {}  or  screen {} 115200", where, where);
    std::cout << fmt::format("bg95sim: {} ({}){}", p.hosts[0]->describe(), how, silent)
              << std::endl;
    return;
  }
  std::string lines;
  for (std::size_t i = 0; i < p.hosts.size(); ++i)
    lines += fmt::format("bg95sim[{}]: {}\n", p.hosts[i]->module().config().index + 1,
                         p.hosts[i]->describe());
  std::cout << lines
            << fmt::format("bg95sim: fleet of {} modules ready (control: {}){}", p.hosts.size(),
                           o.control.empty() ? "none" : o.control, silent)
            << std::endl;
}

int run(const Options& o, Program& p) {
  boost::asio::signal_set signals(p.io, SIGINT, SIGTERM);
  // A settings file that cannot be written at exit (a full disk) is said, module by module,
  // and the exit status is 1; the other modules are saved all the same.
  int exit_status = 0;
  signals.async_wait([&](boost::system::error_code, int) {
    for (std::size_t i = 0; i < p.hosts.size(); ++i) {
      bg95::Module& m = p.hosts[i]->module();
      if (m.shutdown()) continue;
      std::cerr << fmt::format("bg95sim{}: settings not saved at exit: {}\n",
                               p.fleet ? fmt::format("[{}]", m.config().index + 1) : "",
                               m.save_error());
      exit_status = 1;
    }
    p.io.stop();
  });
  ::signal(SIGPIPE, SIG_IGN);

  // The ready line once every module has settled; the watches go then (not from inside a
  // callback: an observer must not remove itself there).
  std::vector<std::unique_ptr<ReadyWatch>> watches;
  std::vector<std::pair<std::size_t, std::string>> silent;
  std::size_t booting = p.hosts.size();
  for (std::size_t i = 0; i < p.hosts.size(); ++i)
    watches.push_back(std::make_unique<ReadyWatch>(
        p.hosts[i]->module(),
        [&, number = p.hosts[i]->module().config().index + 1](const char* why) {
          if (*why) silent.emplace_back(number, why);
          if (--booting > 0) return;
          std::sort(silent.begin(), silent.end());
          print_ready(o, p, not_answering(silent, p.fleet));
          boost::asio::post(p.io, [&watches] { watches.clear(); });
        }));
  if (p.scenario) p.scenario->start();
  for (auto& host : p.hosts)
    host->module().power_on();
  p.io.run();
  watches.clear();
  return exit_status;
}

// A fleet does not fit in the default limit of open files: each module holds a few.
void raise_file_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (const auto status = parse(argc, argv, o)) return *status;
  raise_file_limit();
  boost::asio::io_context io;
  Program p(io);
  if (!plan(o, p)) return 2;
  return run(o, p);
}
