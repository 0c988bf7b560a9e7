#pragma once
// The DFOTA feature of the module (the note's chapter 2): AT+QFOTADL downloads over HTTP(S),
// uploads over the port (COM:), local files, the extended functions, and the update in DFOTA
// mode with its URCs. It owns the package area and drives the power-safe UpdateEngine from
// posted handlers, so the event loop never waits on flash or network.

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include <boost/asio/steady_timer.hpp>

#include "protocol/at/command_table.hpp"
#include "sim/dfota/download_link.hpp"
#include "sim/dfota/package_area.hpp"
#include "sim/dfota/update_engine.hpp"
#include "sim/fs/module_fs.hpp"
#include "sim/life_guard.hpp"
#include "sim/network.hpp"

namespace bg95::http {
class HttpDownload;
}
namespace bg95::coap {
class CoapDownload;
}

namespace bg95 {
class Module;
}

namespace bg95::dfota {

// The dialect (percent sign, DOWNLOADING step, CoAP progress, BG96 phases) comes from the
// module's configuration.
struct DfotaOptions {
  std::chrono::milliseconds download_idle_timeout{std::chrono::seconds(60)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::size_t update_pages_per_step = 64;  // work per posted step of the update
};

class DfotaService {
 public:
  enum class Activity { Idle, Downloading, Uploading, Updating };

  DfotaService(Module& module, DfotaOptions options);
  ~DfotaService();
  DfotaService(const DfotaService&) = delete;
  DfotaService& operator=(const DfotaService&) = delete;

  // ---- AT+QFOTADL
  void start_download(at::Call& call, const std::string& target);  // URL or local file path
  void start_com_upload(at::Call& call, std::int64_t size, std::int64_t timeout_s);
  void extended(at::Call& call, std::int64_t function, std::optional<std::int64_t> value);

  // ---- module life
  // At power-on: re-read the package area and the journal from flash.
  void on_power_on();
  // The journal holds an update that power loss interrupted: the module boots into DFOTA mode.
  bool update_pending();
  // In DFOTA mode after such a boot: "START" again, and the update goes on.
  void resume_update();
  // Power is gone: stop every transfer and step at once (nothing more is written).
  void on_power_lost();

  // ---- LwM2M Firmware Update object (sim/lwm2m): the same machinery, other URCs (note 3.2).
  // Out-of-band download of an http(s):// or coap(s):// URI into the package area: HTTPSTART /
  // COAPSTART and the DOWNLOADING progress as for AT+QFOTADL, then
  // +LWM2M: "FOTA","DOWNLOADED",<err> instead of HTTPEND / COAPEND, and no update: `done(err)`
  // runs right after that URC (0: the package is in the area and passed its check; else the
  // note's chapter 5 code, 710 for a package that fails its check). False, nothing started,
  // when DFOTA is busy or the scheme is not one of those four. A power loss drops `done`.
  bool start_lwm2m_download(const std::string& uri, std::function<void(int err)> done);
  // In-band delivery: the LwM2M server writes the package (Block1) and these put it into the
  // package area. begin: 0, or 701 when DFOTA is busy (or the area's error); append: 0 or the
  // area's error (707 / 708); finish: 0, the area's error, or 710 when the package check fails.
  // abort: drops what arrived. No URC here: the LwM2M side prints +LWM2M: ... DOWNLOADING.
  int lwm2m_package_begin();
  int lwm2m_package_append(std::span<const std::uint8_t> bytes);
  int lwm2m_package_finish();
  void lwm2m_package_abort();
  // The header of the package in the area, when one is there and its header decodes.
  std::optional<firmware::PackageHeader> package_header() const;
  // Update from the package in the area as the note's 3.2.2 shows it: DFOTA mode, START,
  // UPDATING,<percent>, END,<err> (no RESETTING), then the reboot. `ended(err)` runs with END's
  // code just before the reboot is posted (also when the update resumed after a power cut in
  // the same process). False when DFOTA is busy or no package is in the area.
  bool start_lwm2m_update(std::function<void(int err)> ended);

  // ---- the radio link between the server and the package area (scenarios, docs/scenarios.md)
  // The connection breaks: an HTTP download ends with 701 (the server's connection is closed);
  // CoAP has no connection, so its packets are lost instead: a stall.
  void link_drop();
  // No byte crosses until the link is released; a stall as long as the download timeout
  // ends the download with 704.
  void link_stall(bool stalled);
  void link_throttle(std::uint64_t bytes_per_s);  // 0: no limit
  void link_corrupt(std::uint64_t bytes);         // flip the next this many bytes
  const LinkConditions& link_conditions() const { return link_; }
  // Registration lost or back: a download in flight waits for the bearer (a stall).
  void on_network_change(const NetworkState& now);

  // ---- status (control interface)
  Activity activity() const { return activity_; }
  const char* activity_name() const;
  int progress() const { return progress_; }
  std::uint64_t package_size() const { return area_ ? area_->size() : 0; }
  int trigger_mode() const { return trigger_mode_; }
  // Why the last DFOTA failed, with its code ("511 package is for BG95M3LAR02A03_01.011.01.011,
  // flash holds ..."); empty when it succeeded or none ran (issue 19: a user cannot act on a
  // bare code). `bg95ctl status` shows it as last_error.
  const std::string& last_error() const { return last_error_; }

 private:
  class ComUpload;
  enum class Protocol { Http, Coap };
  void download(const std::string& url, Protocol protocol);
  void connect(const std::string& url, Protocol protocol);
  void downloaded(int transfer_err);
  void end_download(int err);
  // The module's own account of a DFOTA (issue 19): each failure logs why, with its code, and
  // every DFOTA ends with one summary line in the log.
  void download_failed(int err);
  void update_ended(int code, const std::string& why, const std::string& target);
  std::optional<std::string> existing_file(const char* name) const;
  std::optional<std::pair<std::string, std::string>> read_psk() const;
  void log_peer_check(const std::string& url, const std::optional<std::string>& ca,
                      bool have_psk) const;
  void begin_update(bool announce_reset);
  void start_engine(bool resumed);
  void report_update(int percent);
  void schedule_step();
  void step();
  void finish_update(int code);
  void end_update(int code);
  // The update's URCs (START, UPDATING/RESTORE, END): each written the URC gap after the one
  // before, the observers told of the progress as it goes out; the update's next step waits.
  void announce(std::string text, const char* phase = nullptr, int percent = 0);
  void pump_urcs();
  // Runs `then` once the update's URCs are out (at once when none are waiting).
  void when_urcs_out(std::function<void()> then);
  void report_download(std::uint64_t received, std::optional<std::uint64_t> total);
  void announce_download(int percent);
  bool write_package_bytes(std::span<const std::uint8_t> bytes);
  void urc(const std::string& text);
  void handle_area_status(AreaStatus status);

  Module& m_;
  DfotaOptions options_;
  fs::ModuleFs fs_;
  std::unique_ptr<PackageArea> area_;
  std::unique_ptr<UpdateEngine> engine_;
  std::unique_ptr<http::HttpDownload> http_;
  std::unique_ptr<coap::CoapDownload> coap_;
  LinkConditions link_;
  std::unique_ptr<DownloadLink> download_link_;  // while a download runs
  std::string download_why_;  // the downloader's account of how the download ended
  std::string last_error_;
  // What the summary line tells: when the download and the update started, from which image,
  // and how often the update was picked up again after a power loss.
  std::chrono::steady_clock::time_point download_start_{}, update_start_{};
  std::string update_from_;
  int resumes_ = 0;
  std::optional<std::uint64_t> download_total_;  // the size the server announced
  std::uint64_t download_written_ = 0;           // bytes that reached the package area
  Protocol protocol_ = Protocol::Http;
  Activity activity_ = Activity::Idle;
  int trigger_mode_ = 1;  // AT+QFOTADL=3: 1 update after download, 0 wait for AT+QFOTADL=1
  int progress_ = 0;
  int last_percent_ = -1;
  std::array<int, 2> phase_percent_{-1, -1};  // UPDATING and RESTORE printed so far
  int area_error_ = 0;             // a package-area failure seen during a download (707/708)
  bool close_on_restart_ = false;  // the update ended in error: close its request at restart
  LifeGuard life_;                 // ended at power loss: posted steps of an old life do nothing
  boost::asio::steady_timer timer_;
  struct PendingUrc {
    std::string text;             // empty: progress 0 (no URC, observers only)
    const char* phase = nullptr;  // "UPDATING" / "RESTORE", or none
    int percent = 0;
  };
  std::deque<PendingUrc> update_urcs_;
  std::function<void()> after_urcs_;  // what runs once update_urcs_ is out
  bool urc_pumping_ = false;
  boost::asio::steady_timer urc_timer_;
  std::function<void(int)> lwm2m_download_done_;  // set: the download is LwM2M's
  std::function<void(int)> lwm2m_update_ended_;   // set: the update is LwM2M's
};

}  // namespace bg95::dfota
