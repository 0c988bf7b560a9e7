#include "sim/options.hpp"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>

namespace bg95::options {
namespace {

constexpr DialectOption flag(std::string_view cli, std::string_view key, std::string_view help,
                             bool Dialect::*member, Kind kind = Kind::Flag) {
  return {cli, key, help, kind, member, nullptr, 0, 0};
}
constexpr DialectOption number(std::string_view cli, std::string_view key, std::string_view help,
                               int Dialect::*member, int min, int max) {
  return {cli, key, help, Kind::Number, nullptr, member, min, max};
}

constexpr DialectOption kDialect[] = {
    flag("--percent-sign", "percent_sign",
         "Print DFOTA progress as \"5%\" (the note's example) instead of \"5\"",
         &Dialect::percent_sign),
    number("--downloading-step", "downloading_step",
           "Print DOWNLOADING at every multiple of this percentage (default 1)",
           &Dialect::downloading_step, 1, 100),
    flag("--echo-default", "echo", "ATE of a new state and of AT&F: 1 (echo, default) or 0",
         &Dialect::echo, Kind::Switch),
    flag("--coalesce-urcs", "coalesce_urcs",
         "Write URCs raised at the same moment in one write instead of one write each",
         &Dialect::coalesce_urcs),
    flag("--coap-progress", "coap_progress",
         "Print DOWNLOADING progress for CoAP downloads too (the note prints none)",
         &Dialect::coap_progress),
    flag("--restore-phase", "restore_phase",
         "BG96 dialect: a RESTORE,<percent> phase after UPDATING", &Dialect::restore_phase),
    flag("--resume-notice", "resume_notice",
         "BG96 dialect: after a power loss during the update, print \"Last upgrade was not "
         "finished,continue upgrade\" instead of START",
         &Dialect::resume_notice),
};

constexpr std::string_view kPortsValues[] = {kPortsPty, kPortsNone};

constexpr ChoiceOption kPorts{
    "--ports", "ports",
    "The module's host port: pty (a pseudo-terminal, the default) or none (headless: no pty, "
    "no link; LwM2M, scenario rules and the control socket drive it, docs/fleet.md)",
    kPortsValues};

}  // namespace

bool ChoiceOption::allows(std::string_view v) const {
  for (const std::string_view value : values)
    if (value == v) return true;
  return false;
}

std::string ChoiceOption::listed() const {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i)
    out += (i == 0 ? "" : i + 1 == values.size() ? " or " : ", ") + std::string(values[i]);
  return out;
}

const ChoiceOption& ports_option() {
  return kPorts;
}

std::span<const DialectOption> dialect_options() {
  return kDialect;
}

std::vector<std::string_view> dialect_keys() {
  std::vector<std::string_view> keys;
  for (const DialectOption& o : kDialect)
    keys.push_back(o.key);
  return keys;
}

void read_dialect(const YAML::Node& map, Dialect& d, const ValueReader& read) {
  for (const DialectOption& o : kDialect) {
    const YAML::Node value = map[std::string(o.key)];
    if (!value) continue;
    if (o.kind == Kind::Number)
      d.*o.number = read.number(value, o);
    else
      d.*o.flag = read.boolean(value, o);
  }
}

void add_shard_options(CLI::App& app, ShardArgs& args) {
  app.add_option("--shard-index", args.index,
                 "Run only shard INDEX (from 0) of --shard-count: a contiguous block of the "
                 "modules (or scenarios), each keeping its number, identity and endpoint name; "
                 "\"env\" reads JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or the -<n> "
                 "at the end of HOSTNAME (a StatefulSet pod); docs/scale-out.md");
  app.add_option("--shard-count", args.count,
                 "How many shards the modules (or scenarios) are split into; \"env\" reads "
                 "BG95_SHARD_COUNT");
}

}  // namespace bg95::options
