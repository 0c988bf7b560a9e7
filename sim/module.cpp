#include "sim/module.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/post.hpp>

#include "sim/dfota/dfota_service.hpp"
#include "sim/firmware/firmware_store.hpp"
#include "sim/lwm2m/lwm2m_service.hpp"
#include "sim/packet/packet_data.hpp"
#include "sim/power_saving.hpp"
#include "sim/services/services.hpp"
#include "sim/urc.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"

namespace bg95 {
namespace {

// The flash signature in the first page of the header partition: says the file is a
// bg95sim flash of this layout, so a foreign or older file is refused with a clear message.
constexpr char kFlashMagic[8] = {'B', 'G', '9', '5', 'F', 'L', 'S', 'H'};
constexpr std::uint16_t kLayoutVersion = 1;

std::vector<std::uint8_t> flash_signature(const flash::Layout& layout) {
  std::vector<std::uint8_t> page(64, 0);
  std::memcpy(page.data(), kFlashMagic, sizeof kFlashMagic);
  util::put_le<std::uint16_t>(page, 8, kLayoutVersion);
  util::put_le<std::uint32_t>(page, 12, layout.geometry.page_size);
  util::put_le<std::uint32_t>(page, 16, layout.geometry.pages_per_block);
  util::put_le<std::uint32_t>(page, 20, layout.geometry.block_count);
  util::put_le<std::uint32_t>(page, 60, util::crc32(std::span<const std::uint8_t>(page).first(60)));
  return page;
}

// Removes the files of a state being made unless it was made whole: a start that fails
// half-way (a full disk) must leave no settings and no half-written flash that the next start
// would take for a module (one that then stays dark).
class NewStateGuard {
 public:
  NewStateGuard(std::filesystem::path settings, std::filesystem::path flash)
      : settings_(std::move(settings)), flash_(std::move(flash)) {
    std::error_code ec;
    fresh_ = !std::filesystem::exists(settings_, ec) && !std::filesystem::exists(flash_, ec);
  }
  ~NewStateGuard() {
    if (!fresh_) return;
    std::error_code ec;
    for (const char* suffix : {"", ".blocks", ".tmp"}) {
      std::filesystem::remove(std::filesystem::path(settings_) += suffix, ec);
      std::filesystem::remove(std::filesystem::path(flash_) += suffix, ec);
    }
  }
  NewStateGuard(const NewStateGuard&) = delete;
  NewStateGuard& operator=(const NewStateGuard&) = delete;
  void made() { fresh_ = false; }

 private:
  std::filesystem::path settings_;
  std::filesystem::path flash_;
  bool fresh_ = false;
};

std::string recreate_hint() {
  return " (start with --recreate-state to replace it)";
}

// Why the last write to the flash file failed (e.g. no space left), for a message; "" if none.
std::string host_error_of(const flash::NandFlash& flash) {
  return flash.last_host_error().empty() ? "" : ": " + flash.last_host_error();
}

}  // namespace

Module::Module(boost::asio::any_io_executor executor, ModuleConfig config)
    : executor_(executor),
      config_(std::move(config)),
      state_dir_(config_.state_dir, config_.fleet_lock.get()),
      layout_(flash::Layout::standard()),
      network_(config_.network),
      timer_(executor),
      supervisor_timer_(executor) {
  open_state();
  jitter_.reseed(Jitter::seed_of(settings_.identity.imei));
  dfota_ = std::make_unique<dfota::DfotaService>(
      *this, dfota::DfotaOptions{.download_idle_timeout = config_.download_idle_timeout});
  lwm2m_ = std::make_unique<lwm2m::Lwm2mService>(*this);
  packet_ = std::make_unique<packet::PacketData>(
      settings_, config_.index,
      packet::PacketData::Hooks{.urc = [this](const std::string& text) { emit_urc(text); },
                                .save = [this] { return try_save_settings(); }});
  power_saving_ = std::make_unique<PowerSaving>(*this);
  link_ = std::make_unique<net::Link>(executor);
  link_->set_shapes(config_.timing);  // docs/network.md: per RAT in the realistic profile
  link_->set_nbiot(network_.view().rat == Rat::NbIot);
  link_->seed(Jitter::seed_of(settings_.identity.imei + "/link"));  // its own draws
  make_port("uart");
  services::add_all(commands_, *this);
  network_.set_observer([this](const NetworkState& before, const NetworkState& after) {
    on_network_change(before, after);
  });
}

Module::~Module() {
  timer_.cancel();
}

Module::AtPort& Module::make_port(std::string name) {
  auto port = std::make_unique<AtPort>();
  AtPort& p = *port;
  p.name = std::move(name);
  p.profile = settings_.saved_profile;
  p.engine =
      std::make_unique<at::AtEngine>(executor_, commands_, p.profile, [&p](std::string bytes) {
        if (p.writer && p.present) p.writer(std::move(bytes));
      });
  p.engine->set_accepting(power_ == PowerState::Normal);
  p.engine->set_guard_time(config_.guard_time);
  p.engine->set_connect_latency(config_.timing.connect_latency());
  p.engine->set_processing_time([this](std::string_view line) -> at::AtEngine::Clock::duration {
    return config_.timing.processing(line, &jitter_);
  });
  p.engine->set_urc_gap(config_.timing.urc_gap());
  p.engine->set_coalesce_urcs(config_.dialect.coalesce_urcs);
  p.engine->set_observer(
      {.on_command_line = {},
       .on_command =
           [this, &p](std::string_view command) {
             notify([&](ModuleObserver& o) { o.on_command(p.name, command); });
           },
       .intercept = [this, &p](std::string_view command) -> std::optional<at::Interception> {
         for (ModuleObserver* o : observers_)
           if (auto i = o->intercept(p.name, command)) return i;
         return std::nullopt;
       }});
  ports_.push_back(std::move(port));
  return p;
}

std::size_t Module::add_usb_port(Writer writer, std::function<void(bool)> on_presence) {
  AtPort& p = make_port("usb");
  p.writer = std::move(writer);
  p.on_presence = std::move(on_presence);
  p.present = power_ != PowerState::Dfota;
  return ports_.size() - 1;
}

void Module::reset_ports(bool accepting) {
  for (auto& p : ports_) {
    p->engine->reset();
    p->engine->set_accepting(accepting);
  }
}

void Module::set_usb_present(bool present) {
  for (auto& p : ports_) {
    if (p->name != "usb" || p->present == present) continue;
    p->present = present;
    if (p->on_presence) p->on_presence(present);
  }
}

void Module::open_state() {
  const auto settings_file = state_dir_.settings_file();
  const auto flash_file = state_dir_.flash_file();
  if (config_.recreate_state) {
    std::filesystem::remove(settings_file);
    std::filesystem::remove(flash_file);
  }
  NewStateGuard new_state(settings_file, flash_file);
  // Settings.
  if (std::filesystem::exists(settings_file)) {
    auto loaded = state::load_settings(settings_file);
    if (!loaded) throw state::StateError(loaded.error() + recreate_hint());
    settings_ = std::move(*loaded);
    if (!config_.model.empty() && settings_.model != config_.model)
      throw state::StateError(fmt::format("{}: the state belongs to a {}, not a {}{}",
                                          settings_file.string(), settings_.model, config_.model,
                                          recreate_hint()));
  } else {
    settings_.model = config_.model.empty() ? "BG95-M3" : config_.model;
    settings_.identity = config_.identity.value_or(state::default_identity(config_.index));
    settings_.saved_profile = factory_profile();
    state::save_settings(settings_file, settings_);
  }
  if (!firmware::known_model(settings_.model))
    throw state::StateError(
        fmt::format("{}: unknown model \"{}\"", settings_file.string(), settings_.model));
  // Flash.
  try {
    // A fleet's factory flash holds its default image: used only if that is this module's.
    flash_ = std::make_unique<flash::NandFlash>(
        flash_file, layout_.geometry,
        shared_image_fits() ? config_.factory_flash : std::filesystem::path{}, config_.flash_files);
  } catch (const flash::FlashError& e) {
    throw state::StateError(e.what() + recreate_hint());
  }
  // Every program and erase passes here: the control interface's fault, then the observers'.
  flash_->set_fault_hook(
      [this](const flash::FlashOp& op, std::uint64_t index) { return flash_fault(op, index); });
  flash_->set_host_error_log([this](const std::string& why) { log("flash write failed: " + why); });
  flash::PartitionView header(*flash_, layout_.header);
  const auto signature = flash_signature(layout_);
  std::vector<std::uint8_t> first(signature.size());
  header.read(0, first);
  if (header.page_erased(0)) {  // a new flash (a factory flash is formatted already)
    if (header.program_page(0, signature) != flash::FlashStatus::Ok)
      throw state::StateError(flash_file.string() + ": cannot format flash" +
                              host_error_of(*flash_));
  } else if (first != signature) {
    throw state::StateError(fmt::format("{}: not a bg95sim flash of layout {}{}",
                                        flash_file.string(), kLayoutVersion, recreate_hint()));
  }
  flash::PartitionView active(*flash_, layout_.active);
  if (active.page_erased(0)) create_default_image();
  flash_baseline_ = flash_->op_count();
  new_state.made();
}

std::vector<std::uint8_t> make_default_image(const std::string& model, std::uint64_t size,
                                             const std::string& revision,
                                             const std::string& full_version) {
  firmware::ImageHeader h;
  h.model = model;
  h.revision = revision.empty() ? firmware::default_revision(model) : revision;
  h.full_version = full_version.empty() ? firmware::default_full_version(h.revision) : full_version;
  return firmware::make_image(
      h, firmware::synthetic_body(size - firmware::kImageHeaderSize, /*seed=*/0xB695));
}

void make_factory_flash(const std::filesystem::path& file, std::span<const std::uint8_t> image) {
  const auto layout = flash::Layout::standard();
  flash::NandFlash flash(file, layout.geometry);
  flash::PartitionView header(flash, layout.header);
  flash::PartitionView active(flash, layout.active);
  if (!flash.created() ||
      header.program_page(0, flash_signature(layout)) != flash::FlashStatus::Ok ||
      firmware::write_image(active, image) != flash::FlashStatus::Ok)
    throw state::StateError(file.string() + ": cannot make the factory flash");
}

std::pair<std::string, std::string> Module::default_versions() const {
  const std::string revision = config_.firmware_revision.empty()
                                   ? firmware::default_revision(settings_.model)
                                   : config_.firmware_revision;
  return {revision, config_.firmware_full_version.empty() ? firmware::default_full_version(revision)
                                                          : config_.firmware_full_version};
}

bool Module::shared_image_fits() const {
  if (!config_.default_image) return false;
  const auto made = firmware::decode_image_header(*config_.default_image);
  const auto [revision, full_version] = default_versions();
  return made && made->model == settings_.model && made->revision == revision &&
         made->full_version == full_version;
}

void Module::create_default_image() {
  // A fleet makes the image once and hands it to every module.
  const bool usable = shared_image_fits();
  const auto [revision, full_version] = default_versions();
  const std::vector<std::uint8_t> own =
      usable
          ? std::vector<std::uint8_t>{}
          : make_default_image(settings_.model, config_.default_image_size, revision, full_version);
  const std::vector<std::uint8_t>& image = usable ? *config_.default_image : own;
  flash::PartitionView active(*flash_, layout_.active);
  if (firmware::write_image(active, image) != flash::FlashStatus::Ok)
    throw state::StateError(state_dir_.flash_file().string() + ": cannot write the default image" +
                            host_error_of(*flash_));
  log(fmt::format("created default firmware ({} bytes)", image.size()));
}

void Module::save_settings() {
  state::save_settings(state_dir_.settings_file(), settings_);
}

bool Module::try_save_settings() {
  try {
    save_settings();
    return true;
  } catch (const std::exception& e) {
    save_error_ = e.what();
    log(fmt::format("settings not saved: {}", e.what()));
    return false;
  }
}

void Module::host_input(std::size_t port, std::string_view bytes) {
  if (power_ == PowerState::Normal && port < ports_.size() && ports_[port]->present) {
    power_saving_->on_host_activity();
    ports_[port]->engine->receive(bytes);
  }
}

void Module::enter_psm() {
  enter(PowerState::Off, PowerEvent::Psm);
}

void Module::log(std::string_view event) {
  if (logger_) logger_(event);
  notify([&](ModuleObserver& o) { o.on_log(event); });
}

void Module::announce(PowerEvent event) {
  if (const char* line = power_event_info(event).log; *line) log(line);
  notify([&](ModuleObserver& o) { o.on_power(event); });
}

void Module::add_observer(ModuleObserver* observer) {
  observers_.push_back(observer);
}

void Module::remove_observer(ModuleObserver* observer) {
  std::erase(observers_, observer);
}

at::DteProfile Module::factory_profile() const {
  at::DteProfile p;
  p.echo = config_.dialect.echo;
  return p;
}

void Module::emit_urc(std::string_view text) {
  // URCs go to every port that is there; in DFOTA mode only the UART is (the note, 2.2.1.1).
  if (power_ != PowerState::Normal && power_ != PowerState::Dfota) return;
  // DFOTA mode runs the updater, not the modem: only its FOTA URCs come out (the note,
  // 2.2.1.1 note 1), never +CREG/+CGREG/+CEREG of the radio going down or coming back.
  if (power_ == PowerState::Dfota && !text.starts_with("+QIND: \"FOTA\"")) return;
  // Power is going (power_cut_soon): the module says nothing more, though the work under way
  // may still report progress before it reaches its next flash write.
  if (cut_at_next_write_) return;
  notify([&](ModuleObserver& o) { o.on_urc(text); });
  for (auto& p : ports_)
    if (p->present) p->engine->emit_urc(text);
}

// ---- the state machine -------------------------------------------------------------------

bool Module::enter(PowerState to, PowerEvent event) {
  const PowerTransition* t = find_transition(power_, event);
  if (!t || t->to != to) return false;
  leave(event);
  const bool through_off = passes_through_off(*t);
  power_ = through_off ? PowerState::Off : to;
  switch (power_) {
    case PowerState::Off:
      on_off_enter(event);
      break;
    case PowerState::Booting:
      on_booting_enter();
      break;
    case PowerState::Normal:
      on_normal_enter();
      break;
    case PowerState::Dfota:
      on_dfota_enter();
      break;
  }
  // A reset or a restart: off for an instant, then on again without a power loss in between.
  if (through_off) enter(PowerState::Booting, PowerEvent::On);
  return true;
}

void Module::leave(PowerEvent event) {
  const PowerEventInfo& how = power_event_info(event);
  // The three powered states stop the same way; how depends on the event. Off has nothing
  // running, and a boot that ends by itself (booted, or failed) nothing yet.
  const bool stops = power_ != PowerState::Off && how.stops;
  if (stops) {
    // A reset or a restart, not a sudden loss: what the module said before it is on the wire.
    if (how.says_first)
      for (auto& p : ports_)
        p->engine->flush_held_urcs();
    if (how.power_lost) {
      cut_at_next_write_ = false;
      // PSM is power saving's own doing: it keeps its timers (T3412 wakes the module).
      if (event != PowerEvent::Psm) power_saving_->on_power_lost();
    }
    lwm2m_->on_power_lost();
    // A restart keeps the update's state (the request it closes at the next boot).
    if (how.power_lost) dfota_->on_power_lost();
    // What was in flight on the radio link is lost.
    link_->reset();
    // The SSL contexts are not saved (docs/ssl.md).
    if (how.power_lost) ssl_contexts_.reset();
  }
  // Whatever was scheduled in the old state is stale now.
  life_.end();
  timer_.cancel();
  if (stops) reset_ports(false);
}

void Module::on_off_enter(PowerEvent event) {
  network_.set_radio(false);
  announce(event);
}

void Module::on_booting_enter() {
  flash_->restore_power();
  reset_ports(false);
  dfota_->on_power_on();
  announce(PowerEvent::On);
  timer_.expires_after(config_.timing.boot(&jitter_));
  timer_.async_wait(life_.on_expiry([this] { finish_boot(); }));
}

void Module::on_normal_enter() {
  ++boot_count_;
  reset_ports(true);
  set_usb_present(true);
  if (baud_observer_) baud_observer_(settings_.ipr);
  log(fmt::format("booted {}", running_image_.full_version));
  announce(PowerEvent::Booted);
  power_saving_->on_booted();
  print_banner(0);
  lwm2m_->on_boot();
}

void Module::on_dfota_enter() {
  // No AT commands, nothing echoed (the ports were reset on the way); URCs still go out, on
  // the UART only: the USB port goes away.
  set_usb_present(false);
  // "can only report URCs at fixed baud rate of 115200 bps" (the note, 2.2.1.1 note 1).
  if (baud_observer_) baud_observer_(115200);
  network_.set_radio(false);  // "the modem is not loaded"
  announce(PowerEvent::DfotaMode);
}

// ---- what makes it move ----------------------------------------------------------------------

void Module::power_on() {
  enter(PowerState::Booting, PowerEvent::On);
}

void Module::finish_boot() {
  // The note's 2.2.1.1 note 3: power lost during UPDATING, the module goes back into DFOTA
  // mode at the next power-up and updates again (the active image may be half written).
  if (dfota_->update_pending()) {
    log("unfinished update: resuming in DFOTA mode");
    enter_dfota_mode();
    dfota_->resume_update();
    return;
  }
  flash::PartitionView active(*flash_, layout_.active);
  auto image = firmware::verify_partition_image(active);
  if (!image) {
    // A real module with a broken image prints nothing at all.
    log("firmware does not boot: " + image.error());
    enter(PowerState::Off, PowerEvent::BootFailed);
    return;
  }
  running_image_ = std::move(*image);
  for (auto& p : ports_)
    p->profile = settings_.saved_profile;
  volatile_ = {};
  // The RTC starts at the GPS epoch (1980-01-06) until the network or AT+CCLK sets it.
  set_rtc(std::chrono::sys_days{std::chrono::year{1980} / 1 / 6}, 0);
  packet_->on_boot();
  cfun_ = 1;
  enter(PowerState::Normal, PowerEvent::Booted);
}

void Module::print_banner(std::size_t line) {
  if (line >= urc::kBootBanner.size()) {
    // Once the engines have written the last lines (each URC waits for the URC gap, and a
    // coalescing engine writes from a posted flush). A power event before then ends the life:
    // no announcement.
    after_urcs_written(
        life_.guard([this] { notify([](ModuleObserver& o) { o.on_banner_written(); }); }));
    // Without a delay the module is registered as soon as the banner is out, so that a host
    // that waited for its last line always finds it registered.
    const auto attach = config_.timing.network_attach(&jitter_);
    if (attach.count() == 0) {
      if (cfun_ == 1) network_.set_radio(true);
      return;
    }
    timer_.expires_after(attach);
    timer_.async_wait(life_.on_expiry([this] {
      if (cfun_ == 1) network_.set_radio(true);
    }));
    return;
  }
  emit_urc(urc::kBootBanner[line]);
  const auto gap = config_.timing.banner_gap(line + 1, &jitter_);
  if (gap.count() == 0) return print_banner(line + 1);
  timer_.expires_after(gap);
  timer_.async_wait(life_.on_expiry([this, line] { print_banner(line + 1); }));
}

void Module::power_cut() {
  if (power_ == PowerState::Off) return;
  enter(PowerState::Off, PowerEvent::Cut);
}

void Module::power_off() {
  if (power_ == PowerState::Off) return;
  try_save_settings();  // a settings file that cannot be written does not keep power on
  enter(PowerState::Off, PowerEvent::Off);
}

void Module::reset() {
  // A module that is off (the control socket's reset) just powers on.
  if (power_ == PowerState::Off) return power_on();
  enter(PowerState::Booting, PowerEvent::Reset);
}

void Module::reboot() {
  enter(PowerState::Booting, PowerEvent::Restart);
}

void Module::enter_dfota_mode() {
  enter(PowerState::Dfota, PowerEvent::DfotaMode);
}

bool Module::shutdown() {
  const bool saved = try_save_settings();
  // The process ends: all stops as at a power-off, but nobody is told (there is no after).
  leave(PowerEvent::Off);
  power_ = PowerState::Off;
  return saved;
}

void Module::set_flash_fault(FlashFault fault, std::uint64_t nth) {
  flash_fault_ = fault;
  flash_fault_at_ = flash_->op_count() + std::max<std::uint64_t>(nth, 1);
}

void Module::power_cut_soon() {
  if (power_ == PowerState::Off) return;
  cut_at_next_write_ = true;
  // Unless the cut came at a flash write first.
  boost::asio::post(executor_, life_.guard([this] {
    cut_at_next_write_ = false;
    power_cut();
  }));
}

flash::Fault Module::flash_fault(const flash::FlashOp& op, std::uint64_t index) {
  flash::Fault fault = flash::Fault::None;
  if (std::exchange(cut_at_next_write_, false)) {
    log(fmt::format("fault: power cut before flash operation {}", index - flash_baseline_));
    fault = flash::Fault::PowerCut;
  }
  switch (fault == flash::Fault::None ? flash_fault_ : FlashFault::Off) {
    case FlashFault::FailOnce:
      if (index == flash_fault_at_) {
        log(fmt::format("fault: flash operation {} fails", index));
        fault = flash::Fault::Fail;
      }
      break;
    case FlashFault::FailAlways:
      if (index >= flash_fault_at_) fault = flash::Fault::Fail;
      break;
    case FlashFault::CutAt:
      if (index == flash_fault_at_) {
        log(fmt::format("fault: power cut at flash operation {}", index));
        fault = flash::Fault::PowerCut;
      }
      break;
    case FlashFault::Off:
      break;
  }
  // Observers count from the first operation after a new state was formatted.
  const std::uint64_t n = index - flash_baseline_;
  if (fault == flash::Fault::None)
    for (ModuleObserver* o : observers_)
      if ((fault = o->flash_fault(op, n)) != flash::Fault::None) break;
  notify([&](ModuleObserver& o) { o.on_flash_op(op, n, fault); });
  // The whole module goes dark, not only the chip; after the operation returns.
  if (fault == flash::Fault::PowerCut || fault == flash::Fault::TornWrite)
    boost::asio::post(executor_, [this] { power_cut(); });
  return fault;
}

void Module::on_update_progress(std::string_view phase, int percent) {
  notify([&](ModuleObserver& o) { o.on_update_progress(phase, percent); });
  const auto& cuts = config_.power_cut_at_update_percent;
  if (phase != "UPDATING" || next_cut_ >= cuts.size() || percent < cuts[next_cut_]) return;
  ++next_cut_;
  log(fmt::format("fault: power cut at UPDATING {}%", percent));
  // Before the update's next flash write; power comes back after the restore delay.
  power_cut_soon();
  supervisor_timer_.expires_after(config_.power_restore_delay);
  supervisor_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) power_on();
  });
}

void Module::on_download_progress(std::uint64_t received, std::optional<std::uint64_t> total) {
  notify([&](ModuleObserver& o) { o.on_download_progress(received, total); });
}

void Module::set_uart_baud(std::uint32_t baud) {
  settings_.ipr = baud;  // AT+IPR saved it before its OK
  if (baud_observer_) baud_observer_(baud);
}

std::chrono::system_clock::time_point Module::rtc_now() const {
  return volatile_.rtc_value + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   std::chrono::steady_clock::now() - volatile_.rtc_set);
}

void Module::set_rtc(std::chrono::system_clock::time_point t, int tz_quarters) {
  volatile_.rtc_value = t;
  volatile_.rtc_set = std::chrono::steady_clock::now();
  volatile_.rtc_tz = tz_quarters;
}

void Module::power_down_by_command() {
  log("AT+QPOWD: powering down");
  for (auto& p : ports_)
    p->engine->flush_held_urcs();  // OK first
  emit_urc("POWERED DOWN");
  // Off once POWERED DOWN is on the wire (after the URC gap behind the OK).
  after_urcs_written(life_.guard([this] { power_off(); }));
}

void Module::after_urcs_written(std::function<void()> f) {
  auto left = std::make_shared<std::size_t>(ports_.size());
  auto then = std::make_shared<std::function<void()>>(std::move(f));
  for (auto& p : ports_)
    p->engine->when_urcs_written([left, then] {
      if (--*left == 0) (*then)();
    });
}

void Module::set_dtr(bool on) {
  const bool falling = dtr_ && !on;
  const bool changed = dtr_ != on;
  dtr_ = on;
  if (changed) notify([&](ModuleObserver& o) { o.on_dtr(on); });
  if (!falling || power_ != PowerState::Normal) return;
  // DTR is a line of the main UART.
  AtPort& uart = *ports_[0];
  if (uart.profile.dtr_mode == 1) uart.engine->end_data_mode(at::DataEnd::DtrDrop);
  if (uart.profile.dtr_mode == 2) uart.engine->end_data_mode(at::DataEnd::DtrHangup);
}

void Module::set_cfun(int fun) {
  cfun_ = fun;
  network_.set_radio(fun == 1);
}

void Module::on_network_time() {
  // The network sends its time (NITZ) at registration: the modelled network's time is this
  // machine's UTC clock, in the time zone of UTC (docs/at-commands.md).
  const auto now = std::chrono::system_clock::now();
  volatile_.nitz = now;
  const auto ctzu = settings_.at_nv.find("+CTZU");
  if (ctzu == settings_.at_nv.end() || ctzu->second == "1") set_rtc(now, 0);
  if (volatile_.ctzr == 1) emit_urc(urc::ctzv(0));
  if (volatile_.ctzr == 2) emit_urc(urc::ctze(0, 0, now));
}

void Module::on_network_change(const NetworkState& before, const NetworkState& after) {
  notify([&](ModuleObserver& o) { o.on_network(after); });
  link_->set_nbiot(after.rat == Rat::NbIot);
  auto report = [&](std::string_view prefix, int mode, int stat_before, int stat_after) {
    if (mode == 0) return;
    const bool cell_changed =
        before.tac != after.tac || before.cell_id != after.cell_id || before.rat != after.rat;
    if (stat_before != stat_after || (mode >= 2 && cell_changed))
      emit_urc(urc::registration(prefix, mode, stat_after, after, power_saving_->granted()));
  };
  const int eps_before = static_cast<int>(before.status),
            eps_after = static_cast<int>(after.status);
  report("+CREG", volatile_.creg_mode, eps_before, eps_after);
  report("+CGREG", volatile_.cgreg_mode, gprs_status(before), gprs_status(after));
  report("+CEREG", volatile_.cereg_mode, eps_before, eps_after);
  packet_->on_network(after);
  power_saving_->on_network(after);
  if (!before.registered() && after.registered()) on_network_time();
  // Last: a download that resumes here may run to its end and reset the module into DFOTA
  // mode, which changes the network again; the URCs of this change must be out first.
  dfota_->on_network_change(after);
}

}  // namespace bg95
