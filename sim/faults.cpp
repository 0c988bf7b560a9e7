#include "sim/faults.hpp"

#include <algorithm>

#include "sim/dfota/dfota_service.hpp"
#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"

namespace bg95::faults {
namespace {

using FF = Module::FlashFault;

// Each row names only the members it uses; the others keep their defaults. (GCC warns of the
// members a designated initializer leaves out, which is the point of designating them.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
const Fault kTable[] = {
    // ---- power
    {.name = "power_on",
     .control = "power on",
     .description = "press the power key: boots (banner on the port)",
     .perform = [](Module& m, const Value&) { m.power_on(); },
     .scenario_rank = 3},
    {.name = "power_off",
     .control = "power off",
     .description = "orderly power-down: settings saved",
     .perform = [](Module& m, const Value&) { m.power_off(); },
     .scenario_rank = 2},
    {.name = "power_cut",
     .control = "power cut",
     .description = "supply removed: no clean shutdown; an update in flight resumes at the next "
                    "power on",
     .perform = [](Module& m, const Value&) { m.power_cut(); },
     .in_rule = InRule::AtOnce,
     // Between two flash writes of whatever the module is doing: before the next one, or
     // right after the handler under way.
     .perform_in_rule = [](Module& m, const Value&) { m.power_cut_soon(); },
     .on_flash_write = flash::Fault::PowerCut,
     .scenario_rank = 1},
    {.name = "reset",
     .control = "reset",
     .description = "power cut followed by power on (the RESET_N pin)",
     .perform = [](Module& m, const Value&) { m.reset(); },
     .scenario_rank = 4},
    {.name = "dtr",
     .control = "dtr",
     .param = {Type::Choice, "level", "low|high"},
     .description = "the host's DTR line; high -> low leaves data mode under AT&D1, drops the "
                    "transfer under AT&D2",
     .perform = [](Module& m, const Value& v) { m.set_dtr(v.number == 1); },
     .scenario_rank = 15},
    // ---- the cell and packet data
    {.name = "network.reg",
     .control = "net reg",
     .param = {Type::Reg, "reg", "", 0, 5, "<stat>",
               "<0-5|none|home|searching|denied|unknown|roaming>"},
     .description = "registration the cell grants",
     .in_rule = InRule::AtOnceState,
     .edit_cell = [](NetworkState& c,
                     const Value& v) { c.status = static_cast<RegStatus>(v.number); },
     .scenario_rank = 9},
    {.name = "network.csq",
     .control = "net csq",
     .param = {Type::Csq, "csq", "", 0, 99, "<0-31|99>"},
     .description = "signal as AT+CSQ reports it",
     .in_rule = InRule::AtOnceState,
     .edit_cell = [](NetworkState& c, const Value& v) { c.csq_rssi = static_cast<int>(v.number); },
     .scenario_rank = 9},
    {.name = "network.rat",
     .control = "net rat",
     .param = {Type::Rat, "rat", "emtc|nbiot"},
     .description = "the cell's access technology",
     .in_rule = InRule::AtOnceState,
     .edit_cell = [](NetworkState& c, const Value& v) { c.rat = static_cast<Rat>(v.number); },
     .scenario_rank = 9},
    {.name = "network.pdp_deact",
     .control = "net pdpdeact",
     .param = {Type::Integer, "pdp_deact", "", 1, 15, "<cid>", "<1-15>"},
     .description = "the network deactivates a PDP context",
     .perform =
         [](Module& m, const Value& v) {
           if (!m.packet_data().network_deactivate(static_cast<int>(v.number)))
             throw Refused("context is not active");
         },
     .in_rule = InRule::AtOnceState,
     .scenario_rank = 9},
    {.name = "network.attach",
     .control = "net attach",
     .param = {Type::Choice, "attach", "refuse|allow"},
     .description = "the network refuses PS attach, or allows it again",
     .perform = [](Module& m,
                   const Value& v) { m.packet_data().set_attach_refused(v.number == 0); },
     .in_rule = InRule::AtOnceState,
     .scenario_rank = 9},
    {.name = "network.accepted_apn",
     .control = "net apn",
     .param = {Type::Apn, "accepted_apn", "", 0, 0, "<APN>|any"},
     .description = "the only APN the network accepts for data",
     .in_rule = InRule::AtOnceState,
     .edit_cell = [](NetworkState& c, const Value& v) { c.accepted_apn = v.text; },
     .scenario_rank = 9},
    // ---- the radio link under the data services (sim/net/link.hpp, docs/network.md)
    {.name = "network.stall",
     .control = "net stall",
     .param = {Type::Choice, "stall", "on|off"},
     .description = "the data link stalls: no byte of a socket, HTTP or MQTT crosses until off",
     .perform = [](Module& m, const Value& v) { m.link().set_stalled(v.number == 0); },
     .in_rule = InRule::AtOnceState,
     .scenario_rank = 16},
    {.name = "network.latency",
     .control = "net latency",
     .param = {Type::Duration, "latency", "", 0, 60000, "<ms>"},
     .description = "every data byte arrives this much later, each way (0: as the RAT gives)",
     .perform =
         [](Module& m, const Value& v) {
           m.link().set_added_latency(std::chrono::milliseconds(v.number));
         },
     .in_rule = InRule::AtOnceState,
     .shown = "{} ms",
     .scenario_rank = 16},
    {.name = "network.loss",
     .control = "net loss",
     .param = {Type::Integer, "loss", "", 0, 100, "<percent>", "<0-100>"},
     .description = "this percentage of datagrams is lost, and of TCP segments sent again "
                    "after a retransmission timeout",
     .perform = [](Module& m, const Value& v) { m.link().set_loss(static_cast<int>(v.number)); },
     .in_rule = InRule::AtOnceState,
     .shown = "{} %",
     .scenario_rank = 16},
    {.name = "network.connect",
     .control = "net connect",
     .param = {Type::Choice, "connect", "ok|refuse|reset|timeout"},
     .description = "what new connections meet: their server, a refusal, a reset, or silence",
     .perform =
         [](Module& m, const Value& v) {
           m.link().set_connect_fault(static_cast<net::Link::ConnectFault>(v.number));
         },
     .in_rule = InRule::AtOnceState,
     .scenario_rank = 16},
    {.name = "network.dns",
     .control = "net dns",
     .param = {Type::Choice, "dns", "ok|fail"},
     .description = "name lookups of the data services fail (a DNS failure), or work again",
     .perform = [](Module& m, const Value& v) { m.link().set_dns_fails(v.number == 1); },
     .in_rule = InRule::AtOnceState,
     .scenario_rank = 16},
    // ---- the flash chip
    {.name = "flash_fail",
     .control = "flash fail once",
     .description = "the next flash program/erase fails (the chip reports an error)",
     .perform = [](Module& m, const Value&) { m.set_flash_fault(FF::FailOnce, 1); },
     .on_flash_write = flash::Fault::Fail,
     .scenario_rank = 6},
    {.name = "flash_fail_always",
     .control = "flash fail always",
     .description = "every flash program/erase from now on fails",
     .perform = [](Module& m, const Value&) { m.set_flash_fault(FF::FailAlways, 1); },
     .scenario_rank = 7},
    {.control = "flash cut",
     .param = {Type::Integer, "", "", 1, 100000000, "<n>", "<n>", " (n >= 1)"},
     .description = "power is cut at the n-th flash program/erase from now",
     .perform = [](Module& m, const Value& v) { m.set_flash_fault(FF::CutAt, v.amount()); }},
    {.name = "flash_off",
     .control = "flash off",
     .description = "no more flash faults",
     .perform = [](Module& m, const Value&) { m.set_flash_fault(FF::Off, 1); },
     .scenario_rank = 8},
    {.name = "flash_slow",
     .control = "flash slow",
     .param = {Type::Duration, "by", "", 0, 60000, "<ms>"},
     .description = "every flash program takes this much longer (0: as normal)",
     .perform =
         [](Module& m, const Value& v) {
           m.flash().set_program_delay(std::chrono::milliseconds(v.number));
         },
     .shown = "{} ms"},
    {.name = "torn_write",
     .description = "power is lost half-way through that flash write",
     // Not decided on a flash write's own trigger: the next write fails.
     .perform = [](Module& m, const Value&) { m.set_flash_fault(FF::FailOnce, 1); },
     .on_flash_write = flash::Fault::TornWrite,
     .rules_only = true,
     .scenario_rank = 5},
    // ---- the radio link of a download
    {.name = "link_drop",
     .description = "the download's connection drops",
     .perform = [](Module& m, const Value&) { m.dfota().link_drop(); },
     .scenario_rank = 10},
    {.name = "link_stall",
     .param = {.type = Type::Duration, .key = "for", .placeholder = "<duration>", .optional = true},
     .description = "no byte reaches the module until link_resume (or the duration)",
     .perform = [](Module& m, const Value&) { m.dfota().link_stall(true); },
     .in_rule = InRule::AtOnceState,
     .undo = [](Module& m) { m.dfota().link_stall(false); },
     .shown = "for {} ms",
     .scenario_rank = 11},
    {.name = "link_resume",
     .description = "a stalled link goes on",
     .perform = [](Module& m, const Value&) { m.dfota().link_stall(false); },
     .scenario_rank = 12},
    {.name = "link_throttle",
     .param = {Type::Size, "rate"},
     .description = "the link carries at most this many bytes a second",
     .perform = [](Module& m, const Value& v) { m.dfota().link_throttle(v.amount()); },
     .in_rule = InRule::AtOnceState,
     .shown = "{} B/s",
     .scenario_rank = 13},
    {.name = "link_corrupt",
     .param = {Type::Size, "bytes"},
     .description = "the next this many bytes are flipped on the way",
     .perform = [](Module& m, const Value& v) { m.dfota().link_corrupt(v.amount()); },
     .in_rule = InRule::AtOnceState,
     .shown = "{} bytes",
     .scenario_rank = 14},
    // ---- at start
    {.cli = "--cut-power-at-update",
     .param = {Type::Integer, "", "", 1, 100},
     .description = "Cut power when UPDATING reaches each of these percentages, then power on "
                    "again (the update resumes)",
     .configure =
         [](ModuleConfig& c, const Value& v) {
           auto& cuts = c.power_cut_at_update_percent;
           cuts.insert(std::upper_bound(cuts.begin(), cuts.end(), v.number),
                       static_cast<int>(v.number));
         }},
};
#pragma GCC diagnostic pop

}  // namespace

std::string_view Fault::group() const {
  const auto dot = name.find('.');
  return dot == std::string_view::npos ? std::string_view() : name.substr(0, dot);
}

std::string_view Fault::key() const {
  const auto dot = name.find('.');
  return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

std::span<const Fault> table() {
  return kTable;
}

const Fault* by_name(std::string_view name) {
  for (const Fault& f : kTable)
    if (!f.name.empty() && f.name == name) return &f;
  return nullptr;
}

const Fault* by_option(std::string_view option) {
  for (const Fault& f : kTable)
    if (!f.cli.empty() && f.cli == option) return &f;
  return nullptr;
}

void perform(Module& module, std::span<const Call> calls) {
  if (std::any_of(calls.begin(), calls.end(), [](const Call& c) { return c.fault->edit_cell; })) {
    NetworkState cell = module.network().cell();
    for (const Call& c : calls)
      if (c.fault->edit_cell) c.fault->edit_cell(cell, c.value);
    module.network().set_cell(std::move(cell));
  }
  for (const Call& c : calls)
    if (c.fault->perform) c.fault->perform(module, c.value);
}

std::vector<std::string_view> words(const Param& param) {
  std::vector<std::string_view> out;
  std::string_view s = param.words;
  while (!s.empty()) {
    const auto bar = s.find('|');
    out.push_back(s.substr(0, bar));
    if (bar == std::string_view::npos) break;
    s.remove_prefix(bar + 1);
  }
  return out;
}

std::string show(const Fault& fault, const Value& value) {
  switch (fault.param.type) {
    case Type::Choice:
      return std::string(words(fault.param).at(static_cast<std::size_t>(value.number)));
    case Type::Rat:
      return rat_name(static_cast<Rat>(value.number));
    case Type::Apn:
      return "\"" + value.text + "\"";
    default:
      return std::to_string(value.number);
  }
}

}  // namespace bg95::faults
