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
  uart_ = std::make_unique<pty::PtyPort>(executor_, options_.link, watcher_);
  module_->set_port_writer([this](std::string bytes) { uart_->write(std::move(bytes)); });
  if (options_.pacing) {
    uart_->set_pacing(true);
    module_->set_baud_observer([this](std::uint32_t baud) { uart_->set_module_baud(baud); });
  }
  uart_->start({.on_data = [this](std::string_view bytes) { module_->host_input(bytes); },
                .on_host_open = {},
                .on_host_close = {}});
  if (!options_.usb_link.empty()) {
    open_usb();
    usb_index_ = module_->add_usb_port(
        [this](std::string bytes) {
          if (usb_) usb_->write(std::move(bytes));
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
  usb_->start(
      {.on_data = [this](std::string_view bytes) { module_->host_input(usb_index_, bytes); },
       .on_host_open = {},
       .on_host_close = {}});
}

std::string ModuleHost::where() const {
  return options_.link.empty() ? uart_->path() : options_.link.string();
}

std::string ModuleHost::describe() const {
  std::string s = fmt::format("{} ready on {}", module_->settings().model, uart_->path());
  if (!options_.link.empty()) s += " -> link " + options_.link.string();
  if (usb_) s += ", USB AT port " + usb_->path() + " -> link " + options_.usb_link.string();
  return s;
}

}  // namespace bg95
