#pragma once
// One virtual module with its pseudo-terminals: the main UART (with its stable symlink) and,
// optionally, the USB AT port that vanishes in DFOTA mode. The bg95sim program runs one of
// these, or a fleet of them on one event loop; nothing mutable is shared between them but the
// watcher that tells ports when a host opens them.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "pty/open_watcher.hpp"
#include "pty/pty_port.hpp"
#include "sim/module.hpp"

namespace bg95 {

// Sees what crosses a module's ports: every byte in both directions and the host opening and
// closing them (transcripts, scenario triggers). `port` is "uart" or "usb".
class PortTap {
 public:
  virtual ~PortTap() = default;
  // `heard` is false when the module takes no input (off, booting, DFOTA mode): the bytes
  // are gone unseen.
  virtual void host_bytes(std::string_view /*port*/, std::string_view /*bytes*/, bool /*heard*/) {}
  // `delivered` is false when no host had the port open: the bytes are lost, as on a UART.
  virtual void module_bytes(std::string_view /*port*/, std::string_view /*bytes*/,
                            bool /*delivered*/) {}
  virtual void host_opened(std::string_view /*port*/) {}
  virtual void host_closed(std::string_view /*port*/) {}
};

struct PortOptions {
  // False: headless (bg95sim --ports none): no pty, no link, no USB port, no open watch. The
  // module runs as usual; what it writes reaches no host (taps see it, not delivered).
  bool pty = true;
  std::filesystem::path link;      // symlink to the main UART; empty: none
  std::filesystem::path usb_link;  // the USB AT port; empty: not modelled
  bool pacing = false;             // realistic profile: pace at the host's baud rate
  double time_scale = 1.0;         // ... with the profile's time scale
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
  // Taps are not owned; remove one before it goes.
  void add_tap(PortTap* tap) { taps_.push_back(tap); }
  void remove_tap(PortTap* tap) { std::erase(taps_, tap); }
  bool headless() const { return uart_ == nullptr; }
  const pty::PtyPort& uart() const { return *uart_; }  // not headless()
  // "BG95-M3 ready on /dev/pts/3 -> link /tmp/bg95" (and the USB port when there is one);
  // "BG95-M3 ready, headless (no host port)".
  std::string describe() const;
  std::string where() const;  // what a host opens: the link, else the pty; headless: empty

 private:
  void open_ports();
  void open_usb();
  pty::PtyPort::Callbacks callbacks(std::string port);
  void write_to(pty::PtyPort* port, const char* name, std::string bytes);

  boost::asio::any_io_executor executor_;
  PortOptions options_;
  std::shared_ptr<pty::OpenWatcher> watcher_;
  std::unique_ptr<Module> module_;
  std::unique_ptr<pty::PtyPort> uart_;
  std::unique_ptr<pty::PtyPort> usb_;
  std::size_t usb_index_ = 0;
  std::vector<PortTap*> taps_;
};

}  // namespace bg95
