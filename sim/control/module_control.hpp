#pragma once
// The control interface's view of one bg95::Module: faults are made on it as the fault table
// says (sim/faults.hpp); status() reads its state.

#include <functional>
#include <map>
#include <string>

#include "sim/control/control_server.hpp"
#include "sim/module.hpp"

namespace bg95::control {

class ModuleControl : public ControlTarget {
 public:
  // A status field computed by another part of the program, called at each status request.
  using StatusProvider = std::function<std::string()>;
  using Providers = std::map<std::string, StatusProvider>;

  // `providers` add status fields or replace the module's own ones by key. The package area
  // and the DFOTA engine are not the module's to report: until their owner plugs in
  // "package" (bytes of the local package, or "none"), "dfota" (state) and "progress"
  // (percent), they read "none", "idle" and "0".
  explicit ModuleControl(Module& module, Providers providers = {});

  // Plugs in (or replaces) one status field later, e.g. when the DFOTA service is created.
  void set_status_provider(std::string key, StatusProvider provider);

  // The fault's call on the module (sim/faults.hpp).
  void apply(const faults::Call& call) override;
  // power (off|booting|normal|dfota), mode (command|data on the main UART; none when it takes
  // no AT commands), firmware and revision (of the image last booted; before the first boot,
  // of the image in flash; "none" when there is none), package, dfota, progress, dtr (low|high),
  // boots; and cfun, csq, model, rat (emtc|nbiot|gsm), reg (the <stat> AT+CEREG? reports now).
  std::map<std::string, std::string> status() override;

 private:
  Module& module_;
  Providers providers_;
};

}  // namespace bg95::control
