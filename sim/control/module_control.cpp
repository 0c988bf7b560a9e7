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

void ModuleControl::apply(const faults::Call& call) {
  faults::perform(module_, std::span(&call, 1));
}

std::map<std::string, std::string> ModuleControl::status() {
  std::map<std::string, std::string> s;
  const PowerState power = module_.power_state();
  s["power"] = power_state_name(power);
  if (power == PowerState::Normal) {
    const auto& port = module_.at(0);
    s["mode"] = port.multiplexing() ? "cmux" : port.in_data_mode() ? "data" : "command";
  } else
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
  for (auto& [key, value] : module_.link().status())
    s[key] = std::move(value);  // the data link's faults (sim/net/link.hpp)

  for (const auto& [key, provider] : providers_)
    if (provider) s[key] = provider();
  return s;
}

}  // namespace bg95::control
