#include "sim/module_host.hpp"

#include <iostream>

#include <fmt/format.h>

namespace bg95 {

ModuleHost::ModuleHost(boost::asio::any_io_executor executor, ModuleConfig config,
                       PortOptions ports, std::shared_ptr<pty::OpenWatcher> watcher)
    : executor_(executor), options_(std::move(ports)), watcher_(std::move(watcher)) {
  module_ = std::make_unique<Module>(executor_, std::move(config));
  if (options_.verbose)
    module_->set_logger([prefix = options_.log_prefix](std::string_view e) {
      std::cerr << prefix << ": " << e << "\n";
    });
  if (options_.pty) {
    open_ports();
  } else {
    // Headless: what the module says is heard by its taps only (transcripts, scenario rules).
    module_->set_port_writer([this](std::string bytes) {
      for (PortTap* t : taps_)
        t->module_bytes("uart", bytes, false);
    });
  }
}

void ModuleHost::open_ports() {
  uart_ = std::make_unique<pty::PtyPort>(executor_, options_.link, watcher_);
  module_->set_port_writer(
      [this](std::string bytes) { write_to(uart_.get(), "uart", std::move(bytes)); });
  if (options_.pacing) {
    uart_->set_pacing(true, options_.time_scale);
    module_->set_baud_observer([this](std::uint32_t baud) { uart_->set_module_baud(baud); });
  }
  uart_->start(callbacks("uart"));
  if (!options_.usb_link.empty()) {
    open_usb();
    usb_index_ = module_->add_usb_port(
        [this](std::string bytes) {
          if (usb_) write_to(usb_.get(), "usb", std::move(bytes));
        },
        [this](bool present) {
          if (present) {
            open_usb();
          } else {
            usb_.reset();  // closed, symlink removed: the USB device is gone
          }
        });
  }
}

ModuleHost::~ModuleHost() {
  // Ports first: their handlers call into the module.
  usb_.reset();
  uart_.reset();
}

void ModuleHost::open_usb() {
  usb_ = std::make_unique<pty::PtyPort>(executor_, options_.usb_link, watcher_);
  usb_->start(callbacks("usb"));
}

pty::PtyPort::Callbacks ModuleHost::callbacks(std::string port) {
  return {.on_data =
              [this, port](std::string_view bytes) {
                const bool heard = module_->power_state() == PowerState::Normal;
                for (PortTap* t : taps_)
                  t->host_bytes(port, bytes, heard);
                // The USB port's index is known only once the module has added it.
                module_->host_input(port == "usb" ? usb_index_ : 0, bytes);
              },
          .on_host_open =
              [this, port] {
                for (PortTap* t : taps_)
                  t->host_opened(port);
              },
          .on_host_close =
              [this, port] {
                for (PortTap* t : taps_)
                  t->host_closed(port);
              }};
}

void ModuleHost::write_to(pty::PtyPort* port, const char* name, std::string bytes) {
  if (taps_.empty()) {
    port->write(std::move(bytes));
    return;
  }
  const std::string copy = bytes;
  const bool delivered = port->write(std::move(bytes));
  for (PortTap* t : taps_)
    t->module_bytes(name, copy, delivered);
}

std::string ModuleHost::where() const {
  if (headless()) return {};
  return options_.link.empty() ? uart_->path() : options_.link.string();
}

std::string ModuleHost::describe() const {
  if (headless())
    return fmt::format("{} ready, headless (no host port)", module_->settings().model);
  std::string s = fmt::format("{} ready on {}", module_->settings().model, uart_->path());
  if (!options_.link.empty()) s += " -> link " + options_.link.string();
  if (usb_) s += ", USB AT port " + usb_->path() + " -> link " + options_.usb_link.string();
  return s;
}

}  // namespace bg95
