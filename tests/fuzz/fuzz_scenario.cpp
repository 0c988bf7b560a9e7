// The scenario parser (scenarios/engine: parse_scenario_text, yaml-cpp) on any text, and the
// package server's part of what it accepts (parse_server_config, parse_fault_rule) parsed as
// the runner parses it: the `server:` mapping without its `packages:` key, and the faults of
// every `server` action. Nothing is run and no server is started.
//
// Only ScenarioError (naming the file) may leave the scenario parser and only ConfigError the
// server's; an accepted scenario's pieces are sane: every trigger, action and step describes
// itself, patterns are there where they are needed and literal ones match their own text,
// counts are 1 or more, values are within the ranges docs/scenarios.md gives, and the images
// the run would build have headers the module reads back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

#include "scenarios/engine/packages.hpp"
#include "scenarios/engine/scenario.hpp"
#include "scenarios/package_server/config_yaml.hpp"
#include "sim/firmware/image.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace sc = bg95::scenario;
namespace ps = bg95::pkgserver;
namespace fw = bg95::firmware;

constexpr std::string_view kFileName = "fuzz.yaml";
// The files `server.files` names are taken from here: a folder that does not exist.
constexpr std::string_view kBaseDir = "/nonexistent/bg95-fuzz";

[[noreturn]] void unexpected(const char* where, const std::exception& e) {
  std::fprintf(stderr, "fuzz property failed: %s threw %s: %s\n", where, typeid(e).name(),
               e.what());
  std::abort();
}

bool in_day(sc::Duration d) {
  return d.count() >= 0 && d <= std::chrono::hours(24);
}

// An image header the module reads back (the run builds the image with it).
void check_image(const fw::ImageHeader& h) {
  BG95_FUZZ_CHECK(fw::decode_image_header(fw::encode_image_header(h)).ok());
}

bool rssi(int csq) {
  return (csq >= 0 && csq <= 31) || csq == 99;
}

void check_pattern(const sc::Pattern& p, bool literal) {
  (void)p.regex.mark_count();
  if (literal) BG95_FUZZ_CHECK(p.matches(p.text));
}

void check_fault_rule(const ps::FaultRule& rule) {
  BG95_FUZZ_CHECK(ps::validate(rule).empty());
  BG95_FUZZ_CHECK(rule.requests.kind == ps::RequestSelector::Kind::All || rule.requests.n >= 1);
  (void)rule.describe_effects();
  (void)rule.requests.describe();
}

// A `server` action's faults, as ScenarioSetup::set_server_faults reads them.
void parse_faults(const YAML::Node& faults) {
  BG95_FUZZ_CHECK(faults.IsSequence());
  for (std::size_t i = 0; i < faults.size(); ++i) {
    try {
      check_fault_rule(ps::parse_fault_rule(faults[i], "faults[" + std::to_string(i) + "]"));
    } catch (const ps::ConfigError&) {
    } catch (const std::exception& e) {
      unexpected("parse_fault_rule", e);
    }
  }
}

// The `server:` mapping, as ScenarioSetup::start_package_server reads it.
void parse_server(const YAML::Node& server) {
  BG95_FUZZ_CHECK(server.IsMap());
  try {
    YAML::Node node = YAML::Clone(server);
    node.remove("packages");
    const ps::PackageServerConfig config = ps::parse_server_config(node, std::string(kBaseDir));
    BG95_FUZZ_CHECK(config.max_connections >= 1 && config.max_header_bytes >= 256);
    BG95_FUZZ_CHECK(config.request_timeout.count() > 0 && config.max_block_szx <= 6);
    for (const auto& [path, bytes] : config.files)
      BG95_FUZZ_CHECK(path.starts_with('/'));
    for (const auto& rule : config.faults)
      check_fault_rule(rule);
  } catch (const ps::ConfigError&) {
  } catch (const std::exception& e) {
    unexpected("parse_server_config", e);
  }
}

void check_trigger(const sc::Trigger& t) {
  using K = sc::Trigger::Kind;
  const bool has_pattern = t.kind == K::Command || t.kind == K::Urc;
  BG95_FUZZ_CHECK(t.pattern.has_value() == has_pattern);
  if (t.pattern) check_pattern(*t.pattern, false);
  BG95_FUZZ_CHECK((t.kind == K::Power) == t.power.has_value());
  if (t.kind == K::DownloadPercent || t.kind == K::UpdatePercent) BG95_FUZZ_CHECK(t.value <= 100);
  if (t.kind == K::FlashWrite) BG95_FUZZ_CHECK(t.value >= 1);
  BG95_FUZZ_CHECK(t.phase == "UPDATING" || t.phase == "RESTORE");
  BG95_FUZZ_CHECK(t.port.empty() || t.port == "uart" || t.port == "usb");
  BG95_FUZZ_CHECK(in_day(t.at));
  (void)t.describe();
}

void check_action(const sc::Action& a) {
  using K = sc::Action::Kind;
  BG95_FUZZ_CHECK(in_day(a.after));
  if (a.duration) BG95_FUZZ_CHECK(in_day(*a.duration));
  if (a.kind == K::Delay) BG95_FUZZ_CHECK(a.duration.has_value());
  if (a.kind == K::Fault) BG95_FUZZ_CHECK(!a.faults.empty());
  if (a.kind == K::Server) parse_faults(a.server);
  (void)a.describe();
}

void check_step(const sc::HostStep& s) {
  using K = sc::HostStep::Kind;
  BG95_FUZZ_CHECK(s.port == "uart" || s.port == "usb");
  BG95_FUZZ_CHECK(s.line >= 1);
  if (s.kind == K::Expect || s.kind == K::ExpectNot) {
    BG95_FUZZ_CHECK(s.pattern.has_value());
    check_pattern(*s.pattern, s.literal);
  }
  if (s.kind == K::ExpectNot) BG95_FUZZ_CHECK(s.timeout.has_value());
  if (s.timeout) BG95_FUZZ_CHECK(in_day(*s.timeout));
  BG95_FUZZ_CHECK(in_day(s.duration));
  BG95_FUZZ_CHECK(s.chunk >= 1 && s.chunk <= (1u << 20));
  BG95_FUZZ_CHECK(s.baud >= 300 && s.baud <= 4000000);
  if (s.kind == K::Lwm2m) BG95_FUZZ_CHECK(!s.op.empty() && s.count >= 1);
  for (const auto& a : s.actions) {
    BG95_FUZZ_CHECK(a.kind != sc::Action::Kind::Respond && a.kind != sc::Action::Kind::Delay);
    check_action(a);
  }
  (void)s.describe();
}

void check_scenario(const sc::Scenario& s) {
  BG95_FUZZ_CHECK(in_day(s.timeout) && in_day(s.host.timeout));
  const auto& m = s.module;
  BG95_FUZZ_CHECK(m.firmware.size >= 4096);
  BG95_FUZZ_CHECK(m.config.timing.scale > 0);
  BG95_FUZZ_CHECK(rssi(m.config.network.csq_rssi));
  // As ScenarioSetup builds the images: the module's, and each delta's source and target.
  const std::string model = m.config.model.empty() ? "BG95-M3" : m.config.model;
  const fw::ImageHeader module_image = sc::image_header(m.firmware, model);
  check_image(module_image);
  for (const auto& p : s.packages) {
    BG95_FUZZ_CHECK(!p.name.empty());
    BG95_FUZZ_CHECK(p.change >= 0 && p.change <= 1);
    BG95_FUZZ_CHECK(p.level >= 1 && p.level <= 22);
    if (p.kind != sc::PackageSpec::Kind::Delta) continue;
    if (p.source) BG95_FUZZ_CHECK(p.source->size >= 4096);
    const fw::ImageHeader source = p.source ? sc::image_header(*p.source, model) : module_image;
    check_image(source);
    check_image(sc::target_header(source, p));
  }
  for (const auto& r : s.rules) {
    BG95_FUZZ_CHECK(r.line >= 1);
    BG95_FUZZ_CHECK(r.count.n >= 1);
    check_trigger(r.when);
    for (const auto& a : r.actions)
      check_action(a);
  }
  for (const auto& step : s.host.steps)
    check_step(step);
  if (s.server) parse_server(*s.server);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  sc::Scenario scenario;
  try {
    scenario = sc::parse_scenario_text(text, std::string(kFileName));
  } catch (const sc::ScenarioError& e) {
    BG95_FUZZ_CHECK(std::string_view(e.what()).starts_with(kFileName));
    return 0;
  } catch (const std::exception& e) {
    unexpected("parse_scenario_text", e);
  }
  check_scenario(scenario);
  return 0;
}
