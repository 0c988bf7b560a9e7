#pragma once
// One virtual module with its pseudo-terminals: the main UART (with its stable symlink) and,
// optionally, the USB AT port that vanishes in DFOTA mode. The bg95sim program runs one of
// these, or a fleet of them on one event loop; nothing mutable is shared between them but the
// watcher that tells ports when a host opens them.

#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "pty/open_watcher.hpp"
#include "pty/pty_port.hpp"
#include "sim/module.hpp"

namespace bg95 {

struct PortOptions {
  std::filesystem::path link;      // symlink to the main UART; empty: none
  std::filesystem::path usb_link;  // the USB AT port; empty: not modelled
  bool pacing = false;             // realistic profile: pace at the host's baud rate
  bool verbose = false;            // module events to stderr
  std::string log_prefix = "bg95sim";
};

class ModuleHost {
 public:
  // Throws state::StateError (bad state) or std::system_error (no pty) with a clear message.
  ModuleHost(boost::asio::any_io_executor executor, ModuleConfig config, PortOptions ports,
             std::shared_ptr<pty::OpenWatcher> watcher);
  ~ModuleHost();
  ModuleHost(const ModuleHost&) = delete;
  ModuleHost& operator=(const ModuleHost&) = delete;

  Module& module() { return *module_; }
  const pty::PtyPort& uart() const { return *uart_; }
  // "BG95-M3 ready on /dev/pts/3 -> link /tmp/bg95" (and the USB port when there is one).
  std::string describe() const;
  std::string where() const;  // what a host opens: the link, else the pty

 private:
  void open_usb();

  boost::asio::any_io_executor executor_;
  PortOptions options_;
  std::shared_ptr<pty::OpenWatcher> watcher_;
  std::unique_ptr<Module> module_;
  std::unique_ptr<pty::PtyPort> uart_;
  std::unique_ptr<pty::PtyPort> usb_;
  std::size_t usb_index_ = 0;
};

}  // namespace bg95
