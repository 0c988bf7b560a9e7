#pragma once
// One virtual BG95/BG77: power and mode state machine, identity, settings, flash with its
// firmware image, network, and the AT engine with the command services. It knows nothing of
// pseudo-terminals: bytes come in through host_input() and go out through the port writer.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/at/command_table.hpp"
#include "protocol/at/dte_profile.hpp"
#include "protocol/at/engine.hpp"
#include "sim/firmware/image.hpp"
#include "sim/flash/layout.hpp"
#include "sim/flash/nand_flash.hpp"
#include "sim/life_guard.hpp"
#include "sim/module_observer.hpp"
#include "sim/net/link.hpp"
#include "sim/net/socket_ids.hpp"
#include "sim/net/ssl_context.hpp"
#include "sim/network.hpp"
#include "sim/power_state.hpp"
#include "sim/state/settings.hpp"
#include "sim/state/state_dir.hpp"
#include "sim/timing.hpp"

namespace bg95::dfota {
class DfotaService;
struct DfotaOptions;
struct UpdateMemory;
}  // namespace bg95::dfota
namespace bg95::lwm2m {
class Lwm2mService;
}
namespace bg95::ppp {
class PppService;
}
namespace bg95::coap {
class SharedContext;
}

namespace bg95::http {
class WorkerPool;
}
namespace bg95::sockets {
class SocketService;
}
namespace bg95::packet {
class PacketData;
}
namespace bg95::mqtt {
class MqttService;
}
namespace bg95 {
class PowerSaving;
}
namespace bg95::cmux {
class Multiplexer;
}

namespace bg95 {

// The firmware image a new module of this model writes into its flash (the same as
// `dfota-pack firmware --model M --size S [--revision R --full-version V]`); empty revision
// and version: the model's defaults.
std::vector<std::uint8_t> make_default_image(const std::string& model, std::uint64_t size,
                                             const std::string& revision = {},
                                             const std::string& full_version = {});
// Writes the flash a new module with this default image starts with (the flash signature and
// the image, through a NandFlash of its own) into `file`, which must not exist: the factory
// contents a fleet's modules share (flash/factory_base.hpp).
void make_factory_flash(const std::filesystem::path& file, std::span<const std::uint8_t> image);

// The variations host drivers meet in the field (docs/scenarios.md, "Dialects"), so that a
// driver can be tested against each.
struct Dialect {
  bool percent_sign = false;   // DFOTA progress printed "5%" (the note's example) instead of "5"
  int downloading_step = 1;    // a DOWNLOADING line at every multiple of this percentage
  bool echo = true;            // ATE of a new state and of AT&F
  bool coalesce_urcs = false;  // URCs of one moment in one write instead of one write each
  bool coap_progress = false;  // DOWNLOADING URCs for CoAP downloads too
  // The sibling BG96: a RESTORE,<percent> phase after UPDATING (copying the new firmware
  // into place), and after a power loss during the update
  // +QIND: "FOTA","Last upgrade was not finished,continue upgrade" before it goes on.
  bool restore_phase = false;
  bool resume_notice = false;
};

struct ModuleConfig {
  std::filesystem::path state_dir;
  std::string model;            // empty: the state's model, BG95-M3 for a new state
  std::uint32_t index = 0;      // position in a fleet: makes identities unique
  bool recreate_state = false;  // replace corrupt or foreign state instead of failing
  std::uint64_t default_image_size = 4 * 1024 * 1024;
  // Revision and full version of the default image (a fleet file's `firmware`); empty: the
  // model's defaults.
  std::string firmware_revision;
  std::string firmware_full_version;
  // The identity of a new state; absent: the default one of `index`.
  std::optional<state::Identity> identity;
  // The default image, made once for a fleet (make_default_image); made per module when empty
  // or for another model.
  std::shared_ptr<const std::vector<std::uint8_t>> default_image;
  // A new state's flash reads from this factory flash (make_factory_flash) until it changes a
  // block, instead of writing the default image itself; empty: a flash of its own.
  std::filesystem::path factory_flash;
  // The process's cache of open flash files (sim/flash/open_files.hpp), shared by a fleet;
  // empty: the flash keeps its own.
  std::shared_ptr<flash::OpenFiles> flash_files;
  // The fleet's lock of its state root: a state folder below it takes no lock of its own
  // (sim/state/state_dir.hpp); empty: it does.
  std::shared_ptr<const state::FleetLock> fleet_lock;
  // The libcoap context the LwM2M client's UDP session goes into, one per process shared by a
  // fleet (protocol/coap/coap_context.hpp); empty: a context of its own.
  std::shared_ptr<coap::SharedContext> lwm2m_context;
  // The threads HTTP(S) downloads run on (bg95sim --download-threads), one pool per process
  // shared by a fleet; empty: each download gets a thread of its own.
  std::shared_ptr<http::WorkerPool> download_pool;
  // The firmware updates' shared source images and decode budget, one per process shared by a
  // fleet (sim/dfota/update_memory.hpp); empty: each update's memory is its own.
  std::shared_ptr<dfota::UpdateMemory> update_memory;
  Timing timing;
  NetworkState network;
  Dialect dialect;
  std::chrono::milliseconds download_idle_timeout{std::chrono::seconds(60)};
  // Test faults until scenarios take over: cut power when UPDATING reaches each of these
  // percentages (once each), and power on again after power_restore_delay.
  std::vector<int> power_cut_at_update_percent;
  std::chrono::milliseconds power_restore_delay{100};
  // The "+++" guard time (the note's 2.1.6 says 1 s); tests shorten it.
  std::chrono::milliseconds guard_time{1000};
  // ---- LwM2M (sim/lwm2m, docs/lwm2m.md): the bg95sim --lwm2m-* options of a host-less
  // start. Non-empty values replace the saved AT+QLWCFG configuration at start-up.
  struct Lwm2mOptions {
    std::string server;          // --lwm2m-server coap://127.0.0.1:5683
    std::string endpoint;        // --lwm2m-endpoint NAME
    std::string psk_id;          // --lwm2m-psk-id ID (with psk: DTLS-PSK)
    std::string psk;             // --lwm2m-psk KEY (hex digits)
    std::uint32_t lifetime = 0;  // --lwm2m-lifetime SECONDS (0: the saved one)
    bool autoreg = false;        // --lwm2m-autoreg: register at every boot
  } lwm2m;
};

class Module {
 public:
  using Writer = std::function<void(std::string bytes)>;
  using Logger = std::function<void(std::string_view event)>;

  // Opens (or creates) the state folder. Throws state::StateError with a message naming the
  // file when the state is corrupt or belongs to another model.
  Module(boost::asio::any_io_executor executor, ModuleConfig config);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Port 0 is the main UART, there from the start; set where its output goes.
  void set_port_writer(Writer writer) { ports_[0]->writer = std::move(writer); }
  // The USB AT port (optional). It vanishes in DFOTA mode and comes back after the reboot,
  // as a USB port re-enumerates; `on_presence` tells the owner of the pty to follow.
  std::size_t add_usb_port(Writer writer, std::function<void(bool present)> on_presence);
  void set_logger(Logger logger) { logger_ = std::move(logger); }
  // Watchers of the module's events (transcripts, scenario rules); not owned. An observer
  // must outlive the module or be removed first.
  void add_observer(ModuleObserver* observer);
  void remove_observer(ModuleObserver* observer);
  // Calls f(observer) for each observer (for the services that raise events).
  template <typename F>
  void notify(F&& f) {
    for (ModuleObserver* o : observers_)
      f(*o);
  }
  // The DTE profile of AT&F and of a new state (the dialect decides the echo).
  at::DteProfile factory_profile() const;
  // Told the UART's rate at boot and after AT+IPR, so a paced port can garble on a mismatch.
  void set_baud_observer(std::function<void(std::uint32_t)> observer) {
    baud_observer_ = std::move(observer);
  }
  void set_uart_baud(std::uint32_t baud);
  // Faults of the flash chip, for tests and the control interface: the next program/erase
  // fails (once), every one fails (always), power is cut at the n-th from now (cut), or none.
  enum class FlashFault { Off, FailOnce, FailAlways, CutAt };
  void set_flash_fault(FlashFault fault, std::uint64_t nth = 1);
  // Power is lost at the next flash program or erase (before it happens), or, when none comes
  // before the current handler returns, right after it: a cut that lands between two flash
  // writes of whatever the module is doing.
  void power_cut_soon();
  // Called by the DFOTA service as the update progresses ("UPDATING", or "RESTORE") and as
  // package bytes arrive: the fault plan and the observers hear of it.
  void on_update_progress(std::string_view phase, int percent);
  void on_download_progress(std::uint64_t received, std::optional<std::uint64_t> total);

  // ---- what the outside world does to the module
  void host_input(std::string_view bytes) { host_input(0, bytes); }
  void host_input(std::size_t port, std::string_view bytes);
  void power_on();
  void power_off();  // orderly: settings saved
  void power_cut();  // no clean shutdown
  void reset();      // AT+CFUN=1,1 and the like
  void reboot();     // the restart that ends DFOTA mode (no power loss)
  // "+QIND: "FOTA","RESETTING"": the module restarts into DFOTA mode, where it takes no AT
  // commands and only prints URCs; the USB port goes away.
  void enter_dfota_mode();
  // Process exit: state saved, timers stopped. False when the settings could not be saved
  // (save_error() says why).
  bool shutdown();
  // The host's DTR line (a pty has none: the control interface sets it). An on->off edge
  // leaves data mode under AT&D1 and drops the transfer under AT&D2.
  void set_dtr(bool on);
  bool dtr() const { return dtr_; }

  PowerState power_state() const { return power_; }
  std::uint64_t boot_count() const { return boot_count_; }

  // ---- for the command services
  boost::asio::any_io_executor executor() const { return executor_; }
  at::DteProfile& profile() { return ports_[0]->profile; }
  state::Settings& settings() { return settings_; }
  Jitter& jitter() { return jitter_; }
  void save_settings();
  NetworkModel& network() { return network_; }
  const firmware::ImageHeader& running_image() const { return running_image_; }
  const ModuleConfig& config() const { return config_; }
  void emit_urc(std::string_view text);
  // Runs `f` once the URCs emitted so far are on the wire of every port (each URC waits for
  // the URC gap): what the module does next must not overtake what it said.
  void after_urcs_written(std::function<void()> f);
  at::AtEngine& at(std::size_t port = 0) { return *ports_[port]->engine; }
  std::size_t port_count() const { return ports_.size(); }
  flash::NandFlash& flash() { return *flash_; }
  dfota::DfotaService& dfota() { return *dfota_; }
  lwm2m::Lwm2mService& lwm2m() { return *lwm2m_; }
  ppp::PppService& ppp() { return *ppp_; }
  packet::PacketData& packet_data() { return *packet_; }
  mqtt::MqttService& mqtt() { return *mqtt_; }
  // The socket ids TCP/UDP and SSL share, and the SSL contexts every TLS user reads.
  net::SocketIds& socket_ids() { return socket_ids_; }
  net::SslContexts& ssl_contexts() { return ssl_contexts_; }
  // The radio link every data service's bytes cross (shaping and data faults).
  net::Link& link() { return *link_; }
  // The TCP/UDP and SSL sockets (sim/sockets/).
  sockets::SocketService& sockets() { return *sockets_; }
  PowerSaving& power_saving() { return *power_saving_; }
  // The 27.010 multiplexer AT+CMUX started (sim/cmux/), while it runs; null otherwise.
  cmux::Multiplexer* cmux();
  void set_cmux(std::weak_ptr<cmux::Multiplexer> mux) { cmux_ = std::move(mux); }
  // The AT engine of a multiplexer channel, set up as the ports' engines are (timing,
  // observers under `name`), on the same command table.
  std::unique_ptr<at::AtEngine> make_channel_engine(const std::string& name,
                                                    at::DteProfile& profile, Writer writer);
  // T3324 ran out (PowerSaving): the module sleeps, deaf and silent, until it is powered on.
  void enter_psm();
  // Writes the settings file; false (and logged) when it cannot be written, so that a
  // command answers its error instead of the process aborting.
  bool try_save_settings();
  const std::string& save_error() const { return save_error_; }  // of the last failed save
  void log_event(std::string_view event) { log(event); }
  const flash::Layout& layout() const { return layout_; }
  // A copy of the state folder as it is now (for a transcript's replay); see StateDir.
  void snapshot_state(const std::filesystem::path& to) const { state_dir_.snapshot(to); }

  // CFUN state and per-boot AT settings that are not part of the saved profile.
  int cfun() const { return cfun_; }
  void set_cfun(int fun);
  struct Volatile {
    int creg_mode = 0, cgreg_mode = 0, cereg_mode = 0;
    std::string cscs = "GSM";
    int cops_format = 0;                        // AT+COPS=3,<format>
    int s0 = 0;                                 // ATS0: rings before auto-answer
    int flow_k = 0;                             // AT&K
    int ifc_by_te = 0, ifc_by_ta = 0;           // AT+IFC
    int icf_format = 3, icf_parity = 3;         // AT+ICF: 8N1
    int ctzr = 0;                               // AT+CTZR
    int qsclk = 0;                              // AT+QSCLK
    int cmgf = 0;                               // AT+CMGF
    std::string cnmi = "2,1,0,0,0";             // AT+CNMI
    std::string cpms = "\"ME\",\"ME\",\"ME\"";  // AT+CPMS storages
    int csms = 0;                               // AT+CSMS
    std::string csca = "\"+61418706700\",145";  // AT+CSCA
    // The real-time clock: what it read at rtc_set (steady clock), and its time zone in
    // quarter hours; network time (NITZ) when the network gave it (AT+QLTS).
    std::chrono::system_clock::time_point rtc_value{};
    std::chrono::steady_clock::time_point rtc_set{};
    int rtc_tz = 0;
    std::optional<std::chrono::system_clock::time_point> nitz;
  };
  Volatile& volatile_settings() { return volatile_; }
  // The real-time clock now (AT+CCLK, AT+QLTS=1/2), and setting it.
  std::chrono::system_clock::time_point rtc_now() const;
  void set_rtc(std::chrono::system_clock::time_point t, int tz_quarters);
  // AT+QPOWD: OK is out, then POWERED DOWN, then the module is off until powered on.
  void power_down_by_command();

 private:
  void open_state();
  void create_default_image();
  // Revision and full version of this module's default image; whether the fleet's shared
  // default image (and its factory flash) is that image.
  std::pair<std::string, std::string> default_versions() const;
  bool shared_image_fits() const;
  void finish_boot();
  void print_banner(std::size_t line);
  void on_network_change(const NetworkState& before, const NetworkState& after);
  void on_network_time();
  void log(std::string_view event);
  // The state machine (power_state.hpp): takes the table's transition for `event` from the
  // current state, which must lead to `to`; false (nothing happens) when there is none.
  bool enter(PowerState to, PowerEvent event);
  // The leave step of the current state: what ran in it stops, as the event says.
  void leave(PowerEvent event);
  // The enter step of each state: its set-up, the log line, the observers told.
  void on_off_enter(PowerEvent event);
  void on_booting_enter();
  void on_normal_enter();
  void on_dfota_enter();
  void announce(PowerEvent event);  // the event's log line, then the observers
  flash::Fault flash_fault(const flash::FlashOp& op, std::uint64_t index);
  struct AtPort;
  AtPort& make_port(std::string name);
  void configure_engine(at::AtEngine& engine, const std::string& name);
  void reset_ports(bool accepting);
  void set_usb_present(bool present);

  boost::asio::any_io_executor executor_;
  ModuleConfig config_;
  state::StateDir state_dir_;
  flash::Layout layout_;
  std::unique_ptr<flash::NandFlash> flash_;
  std::string save_error_;
  state::Settings settings_;
  at::CommandTable commands_;
  // One AT engine per port, each with its own DTE profile (ATE0 on USB does not silence the
  // UART), all dispatching to the same command table.
  struct AtPort {
    std::string name;
    at::DteProfile profile;
    std::unique_ptr<at::AtEngine> engine;
    Writer writer;
    bool present = true;
    std::function<void(bool)> on_presence;
  };
  std::vector<std::unique_ptr<AtPort>> ports_;
  std::unique_ptr<dfota::DfotaService> dfota_;
  std::unique_ptr<packet::PacketData> packet_;
  net::SocketIds socket_ids_;
  net::SslContexts ssl_contexts_;
  std::unique_ptr<net::Link> link_;
  std::unique_ptr<sockets::SocketService> sockets_;
  std::unique_ptr<PowerSaving> power_saving_;
  std::weak_ptr<cmux::Multiplexer> cmux_;
  NetworkModel network_;
  firmware::ImageHeader running_image_;
  PowerState power_ = PowerState::Off;
  int cfun_ = 1;
  Volatile volatile_;
  std::uint64_t boot_count_ = 0;
  bool dtr_ = true;
  LifeGuard life_;  // ended at every transition: timers of an earlier state do nothing
  boost::asio::steady_timer timer_;
  boost::asio::steady_timer supervisor_timer_;  // powers the module on again after a cut
  // The jitter of this module's realistic durations, seeded from its IMEI: each module of a
  // fleet has its own, and a module's run is the same every time.
  Jitter jitter_;
  std::size_t next_cut_ = 0;
  // The control interface's flash fault (set_flash_fault): what, and from which operation.
  FlashFault flash_fault_ = FlashFault::Off;
  std::uint64_t flash_baseline_ = 0;  // operations of formatting a new state
  bool cut_at_next_write_ = false;    // power_cut_soon()
  std::uint64_t flash_fault_at_ = 0;
  std::vector<ModuleObserver*> observers_;
  Logger logger_;
  std::function<void(std::uint32_t)> baud_observer_;
  // The MQTT clients (sim/mqtt/); an observer of this module, so destroyed before observers_.
  std::unique_ptr<mqtt::MqttService> mqtt_;
  // PPP links (sim/ppp/): their networks use the link and packet data above.
  std::unique_ptr<ppp::PppService> ppp_;
  // Last member: destroyed first (it uses the DFOTA service and the timers above).
  std::unique_ptr<lwm2m::Lwm2mService> lwm2m_;
};

}  // namespace bg95
