#pragma once
// What happens in a module, for whoever watches it: the transcript records these events and a
// scenario's rules fire on them. An observer may also decide faults at the two places where a
// fault must be decided synchronously — a flash operation and a command about to run — by
// overriding flash_fault() and intercept(). Everything else it does to the module (power,
// network, DTR, download link) goes through the module's ordinary inputs.
//
// Observers are called on the module's executor, in the order they were added. They must not
// remove themselves from inside a callback.

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/at/engine.hpp"
#include "sim/flash/nand_flash.hpp"
#include "sim/network.hpp"
#include "sim/power_state.hpp"  // PowerEvent

namespace bg95 {

class ModuleObserver {
 public:
  virtual ~ModuleObserver() = default;

  virtual void on_power(PowerEvent) {}
  // The boot banner (RDY ... +QIND: SMS DONE) has been handed to the ports in full: from now on
  // the module answers AT, and a host that opens a port finds no banner bytes still to come.
  // PowerEvent::Booted comes earlier, with RDY (the state changes before the banner is printed;
  // in the realistic profile the banner takes a second). bg95sim prints its ready line on this.
  virtual void on_banner_written() {}
  // One command of a command line, as the host typed it but with "AT" before every command of
  // a ';' chain: AT+CSQ, AT+QFOTADL="http://...", ATE0. `port` is "uart" or "usb".
  virtual void on_command(std::string_view /*port*/, std::string_view /*command*/) {}
  virtual void on_urc(std::string_view /*text*/) {}
  // Bytes of the package that reached the package area so far, and the total when known.
  virtual void on_download_progress(std::uint64_t /*received*/,
                                    std::optional<std::uint64_t> /*total*/) {}
  // "UPDATING" (or "RESTORE" in the BG96 dialect) at this percentage.
  virtual void on_update_progress(std::string_view /*phase*/, int /*percent*/) {}
  // Called before each flash program or erase; `index` counts them from 1 over the module
  // object's life, not counting the formatting of a new state (so the first write of a
  // scenario is 1). The first observer that answers something other than None decides.
  virtual flash::Fault flash_fault(const flash::FlashOp& /*op*/, std::uint64_t /*index*/) {
    return flash::Fault::None;
  }
  // After the decision: what happened to the operation.
  virtual void on_flash_op(const flash::FlashOp& /*op*/, std::uint64_t /*index*/,
                           flash::Fault /*fault*/) {}
  virtual void on_network(const NetworkState& /*now*/) {}
  virtual void on_dtr(bool /*high*/) {}
  // A module event in words (what --verbose prints).
  virtual void on_log(std::string_view /*event*/) {}
  // A command about to run; the first observer that answers decides what happens instead.
  virtual std::optional<at::Interception> intercept(std::string_view /*port*/,
                                                    std::string_view /*command*/) {
    return std::nullopt;
  }
};

}  // namespace bg95
