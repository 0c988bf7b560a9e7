#include "sim/control/module_control.hpp"

#include <utility>

#include "sim/firmware/firmware_store.hpp"
#include "sim/packet/packet_data.hpp"

namespace bg95::control {
namespace {

const char* rat_word(Rat rat) {
  switch (rat) {
    case Rat::EMtc:
      return "emtc";
    case Rat::NbIot:
      return "nbiot";
    case Rat::Gsm:
      return "gsm";
  }
  return "emtc";
}

}  // namespace

ModuleControl::ModuleControl(Module& module, Providers providers)
    : module_(module), providers_(std::move(providers)) {}

void ModuleControl::set_status_provider(std::string key, StatusProvider provider) {
  providers_[std::move(key)] = std::move(provider);
}

void ModuleControl::power_on() {
  module_.power_on();
}

void ModuleControl::power_off() {
  module_.power_off();
}

void ModuleControl::power_cut() {
  module_.power_cut();
}

void ModuleControl::reset() {
  module_.reset();
}

void ModuleControl::set_dtr(bool high) {
  module_.set_dtr(high);
}

void ModuleControl::set_registration(RegStatus status) {
  NetworkState cell = module_.network().cell();
  cell.status = status;
  module_.network().set_cell(std::move(cell));
}

void ModuleControl::set_signal(int csq) {
  NetworkState cell = module_.network().cell();
  cell.csq_rssi = csq;
  module_.network().set_cell(std::move(cell));
}

void ModuleControl::set_rat(Rat rat) {
  NetworkState cell = module_.network().cell();
  cell.rat = rat;
  module_.network().set_cell(std::move(cell));
}

bool ModuleControl::deactivate_pdp(int cid) {
  return module_.packet_data().network_deactivate(cid);
}

void ModuleControl::set_attach_refused(bool refused) {
  module_.packet_data().set_attach_refused(refused);
}

void ModuleControl::set_accepted_apn(const std::string& apn) {
  NetworkState cell = module_.network().cell();
  cell.accepted_apn = apn;
  module_.network().set_cell(std::move(cell));
}

std::map<std::string, std::string> ModuleControl::status() {
  std::map<std::string, std::string> s;
  const PowerState power = module_.power_state();
  s["power"] = power_state_name(power);
  if (power == PowerState::Normal)
    s["mode"] = module_.at(0).in_data_mode() ? "data" : "command";
  else
    s["mode"] = "none";

  std::string firmware = "none", revision = "none";
  if (module_.boot_count() > 0) {
    firmware = module_.running_image().full_version;
    revision = module_.running_image().revision;
  } else {
    const flash::PartitionView active(module_.flash(), module_.layout().active);
    if (const auto header = firmware::read_image_header(active)) {
      firmware = header->full_version;
      revision = header->revision;
    }
  }
  s["firmware"] = firmware.empty() ? "none" : firmware;
  s["revision"] = revision.empty() ? "none" : revision;
  s["package"] = "none";
  s["dfota"] = "idle";
  s["progress"] = "0";
  s["dtr"] = module_.dtr() ? "high" : "low";
  s["boots"] = std::to_string(module_.boot_count());
  s["cfun"] = std::to_string(module_.cfun());
  const NetworkState net = module_.network().view();
  s["reg"] = std::to_string(static_cast<int>(net.status));
  // Packet data: PS attach and the active contexts (AT+CGATT?, AT+CGACT?).
  const auto& pd = module_.packet_data();
  s["attached"] = pd.attached() ? "1" : "0";
  std::string active;
  for (int cid : pd.active_cids())
    active += (active.empty() ? "" : ",") + std::to_string(cid);
  s["pdp"] = active.empty() ? "none" : active;
  s["csq"] = std::to_string(net.csq_rssi);
  s["rat"] = rat_word(net.rat);
  s["model"] = module_.settings().model;

  for (const auto& [key, provider] : providers_)
    if (provider) s[key] = provider();
  return s;
}

void ModuleControl::set_flash_fault(const std::string& mode, std::uint64_t nth) {
  using F = Module::FlashFault;
  const F fault = mode == "fail-once"     ? F::FailOnce
                  : mode == "fail-always" ? F::FailAlways
                  : mode == "cut"         ? F::CutAt
                                          : F::Off;
  module_.set_flash_fault(fault, nth);
}

}  // namespace bg95::control
