#include "sim/dfota/dfota_service.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/post.hpp>

#include "protocol/at/data_session.hpp"
#include "protocol/at/result_codes.hpp"
#include "protocol/coap/coap_download.hpp"
#include "protocol/http/http_download.hpp"
#include "protocol/net/url.hpp"
#include "sim/fs/checksum.hpp"
#include "sim/module.hpp"
#include "sim/urc.hpp"

namespace bg95::dfota {
namespace {

constexpr const char* kCaFile = "/datatx/fota_cacert.pem";
constexpr const char* kClientCertFile = "/datatx/fota_client_cert.pem";
constexpr const char* kClientKeyFile = "/datatx/fota_client_key.pem";
constexpr const char* kPskFile = "/datatx/fota_coap_psk";

// Whether a PEM file holds at least one certificate OpenSSL can load, as the downloaders will
// load it: the log must not say "verified against" a file that then fails to load.
bool ca_certificates_load(const std::string& file) {
  X509_STORE* store = X509_STORE_new();
  const bool ok = store != nullptr && X509_STORE_load_file(store, file.c_str()) == 1;
  X509_STORE_free(store);
  ERR_clear_error();
  return ok;
}

}  // namespace

// AT+QFOTADL="COM:",<file_size>[,<timeout>]: the package arrives through the port in data
// mode and goes straight into the package area.
class DfotaService::ComUpload : public at::DataSession {
 public:
  ComUpload(DfotaService& service, std::uint64_t size, double timeout)
      : service_(service), size_(size), timeout_(timeout) {}

  std::size_t on_data(std::string_view bytes) override {
    const std::size_t take =
        static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), size_ - checksum_.size()));
    const std::string_view data = bytes.substr(0, take);
    checksum_.update(data);
    if (error_ == 0) {
      const AreaStatus s = service_.area_->append(
          std::span(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
      if (s == AreaStatus::PowerLost) {
        service_.handle_area_status(s);
        return take;
      }
      if (s != AreaStatus::Ok) error_ = download_error(s);
    }
    return take;
  }
  bool complete() const override { return checksum_.size() == size_; }
  double idle_timeout_seconds() const override { return timeout_; }

  at::Reply finish(at::DataEnd why) override {
    service_.activity_ = Activity::Idle;
    if (why == at::DataEnd::Reset) return {};
    if (why == at::DataEnd::DtrHangup) {
      // AT&D2: the transfer is dropped, not kept.
      service_.area_->remove();
      return {{}, {at::Outcome::Kind::NoCarrier, 0}, nullptr};
    }
    // Size reached, timeout, +++ or DTR under AT&D1: what arrived is kept (the note, 2.2.1.3).
    if (error_ == 0) error_ = download_error(service_.area_->finish());
    if (error_ != 0) {
      service_.area_->remove();
      return {{}, at::Outcome::cme_error(error_), nullptr};
    }
    return {
        {fmt::format("+QFOTADL: {},{}", checksum_.size(), fs::format_checksum(checksum_.value()))},
        at::Outcome::ok(),
        nullptr};
  }

 private:
  DfotaService& service_;
  std::uint64_t size_;
  double timeout_;
  fs::XorChecksum checksum_;
  int error_ = 0;
};

DfotaService::DfotaService(Module& module, DfotaOptions options)
    : m_(module),
      options_(options),
      fs_(module.config().state_dir / "fs"),
      timer_(module.executor()),
      urc_timer_(module.executor()) {
  on_power_on();
}

DfotaService::~DfotaService() {
  on_power_lost();
}

const char* DfotaService::activity_name() const {
  switch (activity_) {
    case Activity::Idle:
      return "idle";
    case Activity::Downloading:
      return "downloading";
    case Activity::Uploading:
      return "uploading";
    case Activity::Updating:
      return "updating";
  }
  return "idle";
}

void DfotaService::on_power_on() {
  area_ = std::make_unique<PackageArea>(m_.flash(), m_.layout());
  engine_.reset();
  activity_ = Activity::Idle;
  // AT+QFOTADL=3 is "invalid after powering down".
  trigger_mode_ = 1;
}

void DfotaService::on_power_lost() {
  life_.end();
  urc_timer_.cancel();
  update_urcs_.clear();
  after_urcs_ = nullptr;
  urc_pumping_ = false;
  close_on_restart_ = false;  // a cut after END: the next power-on finds the request open
  timer_.cancel();
  http_.reset();  // destroying a downloader cancels it
  coap_.reset();
  download_link_.reset();
  engine_.reset();
  lwm2m_download_done_ = nullptr;
  activity_ = Activity::Idle;
  progress_ = 0;  // what was in flight is gone; a resumed update reports its own
}

bool DfotaService::update_pending() {
  UpdateEngine probe(m_.flash(), m_.layout(), *area_);
  // The update of this DFOTA mode ended with an error that left the old image whole, and its
  // request could not be closed then (a failing flash): the updater closes it on its way out,
  // and the old firmware boots, as after any such END.
  if (std::exchange(close_on_restart_, false) && probe.pending()) {
    if (probe.close_unstarted() == flash::FlashStatus::Ok) return probe.pending();
  }
  return probe.pending();
}

void DfotaService::urc(const std::string& text) {
  m_.emit_urc(text);
}

void DfotaService::handle_area_status(AreaStatus status) {
  // The flash went dark under us (a power cut at a flash write): the whole module goes dark.
  if (status == AreaStatus::PowerLost)
    boost::asio::post(m_.executor(), life_.guard([this] { m_.power_cut(); }));
}

// ---- AT+QFOTADL=<url> / =<local file> -----------------------------------------------------

void DfotaService::start_download(at::Call& c, const std::string& target) {
  if (activity_ != Activity::Idle) return c.cme(at::cme::kDfotaOngoing);
  if (target.empty() || target.size() > net::kMaxUrlLength)
    return c.cme(at::cme::kDfotaInvalidParameter);
  if (!net::looks_like_url(target)) {
    // A package already in the module's file system, as a widely used host updater does it
    // (AT+QFUPL="dfota_update.bin" then AT+QFOTADL="/data/ufs/dfota_update.bin").
    auto data = fs_.read(target);
    if (!data) return c.cme(at::cme::kDfotaInvalidParameter);
    if (data->size() > area_->capacity()) return c.cme(at::cme::kDfotaInvalidParameter);
    c.ok();
    activity_ = Activity::Updating;
    // The work starts once OK is on the wire, as on the module (the answer comes first).
    c.after_answer(life_.guard([this, bytes = std::move(*data)] {
      AreaStatus s = area_->begin(bytes.size());
      if (s == AreaStatus::Ok)
        s = area_->append(
            std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      if (s == AreaStatus::Ok) s = area_->finish();
      if (s == AreaStatus::PowerLost) return handle_area_status(s);
      // The updater that uses this path accepts only START / UPDATING / END: no RESETTING.
      begin_update(/*announce_reset=*/false);
    }));
    return;
  }
  // A scheme the module does not speak is a bad parameter; a URL of a known scheme that
  // cannot be used (no host, port 0...) is accepted and fails as a download with 705.
  const std::string scheme = [&] {
    std::string s = target.substr(0, target.find("://"));
    for (auto& ch : s)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
  }();
  const bool coap = scheme == "coap" || scheme == "coaps";
  if (scheme != "http" && scheme != "https" && !coap) return c.cme(at::cme::kDfotaInvalidParameter);
  c.ok();
  activity_ = Activity::Downloading;
  progress_ = 0;
  c.after_answer(life_.guard(
      [this, target, coap] { download(target, coap ? Protocol::Coap : Protocol::Http); }));
}

std::optional<std::string> DfotaService::existing_file(const char* name) const {
  auto p = fs_.resolve(name);
  if (p && std::filesystem::is_regular_file(*p)) return p->string();
  return std::nullopt;
}

void DfotaService::download(const std::string& url, Protocol protocol) {
  protocol_ = protocol;
  urc(urc::fota(protocol == Protocol::Http ? "HTTPSTART" : "COAPSTART"));
  last_percent_ = -1;
  area_error_ = 0;
  download_start_ = std::chrono::steady_clock::now();
  download_why_.clear();
  // The module says HTTPSTART, then connects: the transfer (and a power cut at one of its
  // flash writes) comes after the URC is on the wire.
  m_.after_urcs_written(life_.guard([this, url, protocol] { connect(url, protocol); }));
}

void DfotaService::connect(const std::string& url, Protocol protocol) {
  // No data bearer without registration; a FOTA APN the network refuses fails the same way.
  const NetworkState net = m_.network().view();
  const auto& apn = m_.settings().fota_apn.apn;
  if (!net.registered()) {
    download_why_ = "not registered on the network: no data bearer";
    return end_download(http::http_err::kConnectFailed);
  }
  if (!net.accepted_apn.empty() && !apn.empty() && apn != net.accepted_apn) {
    download_why_ = fmt::format("the network refuses the FOTA APN \"{}\" (it takes \"{}\")", apn,
                                net.accepted_apn);
    return end_download(http::http_err::kConnectFailed);
  }
  if (const AreaStatus s = area_->begin(); s != AreaStatus::Ok) {
    if (s == AreaStatus::PowerLost) return handle_area_status(s);
    download_why_ = "the package area cannot be written";
    return end_download(download_error(s));
  }
  // Note 4 of 2.2.1.1: the certificates in /datatx, when they are there (HTTPS and CoAPS).
  const auto ca = existing_file(kCaFile);
  auto cert = existing_file(kClientCertFile);
  auto key = existing_file(kClientKeyFile);
  if (!cert || !key) cert.reset(), key.reset();
  const auto psk = protocol == Protocol::Coap ? read_psk() : std::nullopt;
  log_peer_check(url, ca, psk.has_value());

  // Chunks cross the radio link (where scenario faults act) on their way to the package area.
  download_total_.reset();
  download_written_ = 0;
  download_link_ = std::make_unique<DownloadLink>(
      m_.executor(), link_, options_.download_idle_timeout,
      DownloadLink::Sink{
          [this](std::span<const std::uint8_t> bytes) { return write_package_bytes(bytes); },
          [this](int err) { downloaded(err); }});
  auto on_chunk = [this](std::span<const std::uint8_t> chunk) {
    return download_link_->chunk(chunk);
  };
  if (protocol == Protocol::Http) {
    http::HttpDownloadOptions o;
    o.connect_timeout = options_.connect_timeout;
    o.idle_timeout = options_.download_idle_timeout;
    o.max_size = area_->capacity();
    o.rate_limit_bytes_per_s = m_.config().timing.download_rate(net.rat == Rat::NbIot);
    o.ca_file = ca;
    o.client_cert_file = cert;
    o.client_key_file = key;
    http_ = std::make_unique<http::HttpDownload>(m_.executor(), m_.config().download_pool);
    http_->start(
        url, o,
        {on_chunk,
         [this](const http::HttpProgress& p) {
           download_total_ = p.total;
           report_download(download_written_, p.total);
         },
         [this](const http::HttpDownloadResult& r) {
           m_.log_event(fmt::format("HTTP download ended with {}: {}", r.http_err, r.detail));
           download_why_ = r.detail;
           download_link_->done(r.http_err);
         }});
    return;
  }
  coap::CoapDownloadOptions o;
  o.idle_timeout = options_.download_idle_timeout;
  // A DTLS handshake that gets no answer (a wrong PSK is only noticed by silence) fails
  // within the download timeout, as a stalled transfer does.
  o.handshake_timeout =
      std::min<std::chrono::milliseconds>(options_.download_idle_timeout, std::chrono::seconds(20));
  o.max_size = area_->capacity();
  o.rate_limit_bytes_per_s = m_.config().timing.download_rate(net.rat == Rat::NbIot);
  o.ca_file = ca;
  o.client_cert_file = cert;
  o.client_key_file = key;
  if (psk) {
    o.psk_identity = psk->first;
    o.psk_key = psk->second;
  }
  coap_ = std::make_unique<coap::CoapDownload>(m_.executor());
  coap_->start(
      url, o,
      {on_chunk, [this](const coap::CoapProgress& p) { download_total_ = p.total; },
       [this](const coap::CoapDownloadResult& r) {
         m_.log_event(fmt::format("CoAP download ended with {}: {}", r.coap_err, r.detail));
         download_why_ = r.detail;
         download_link_->done(r.coap_err);
       }});
}

// The real module prints nothing about it, so the emulator says in its log (--verbose)
// whether the server of a secure download is verified: with no CA file it is not, silently.
void DfotaService::log_peer_check(const std::string& url, const std::optional<std::string>& ca,
                                  bool have_psk) const {
  const auto scheme = net::parse_url(url).scheme;
  if (scheme != net::Scheme::Https && scheme != net::Scheme::Coaps) return;
  const char* name = scheme == net::Scheme::Https ? "HTTPS" : "CoAPS";
  if (have_psk)
    m_.log_event(fmt::format("{} download: the server is authenticated by the pre-shared key of {}",
                             name, kPskFile));
  else if (ca && !ca_certificates_load(*ca))
    m_.log_event(
        fmt::format("{} download: {} holds no certificate that can be loaded, so the "
                    "server cannot be verified (the download ends with 702)",
                    name, kCaFile));
  else if (ca)
    m_.log_event(
        fmt::format("{} download: the server's certificate is verified against {}", name, kCaFile));
  else
    m_.log_event(
        fmt::format("{} download: no {}, the server's certificate is NOT verified", name, kCaFile));
}

// /datatx/fota_coap_psk: the PSK identity on the first line, the key on the second (text, or
// "hex:" followed by hex digits for a binary key).
std::optional<std::pair<std::string, std::string>> DfotaService::read_psk() const {
  auto text = fs_.read(kPskFile);
  if (!text) return std::nullopt;
  std::istringstream in(*text);
  std::string identity, key;
  if (!std::getline(in, identity) || !std::getline(in, key)) return std::nullopt;
  auto trim = [](std::string& v) {
    while (!v.empty() && (v.back() == '\r' || v.back() == ' '))
      v.pop_back();
  };
  trim(identity);
  trim(key);
  if (key.starts_with("hex:")) {
    std::string bytes;
    for (std::size_t i = 4; i + 1 < key.size(); i += 2)
      bytes.push_back(static_cast<char>(std::stoi(key.substr(i, 2), nullptr, 16)));
    key = bytes;
  }
  if (identity.empty() || key.empty()) return std::nullopt;
  return std::make_pair(identity, key);
}

bool DfotaService::write_package_bytes(std::span<const std::uint8_t> bytes) {
  const AreaStatus s = area_->append(bytes);
  if (s != AreaStatus::Ok) {
    if (s == AreaStatus::PowerLost) {
      handle_area_status(s);
    } else {
      area_error_ = download_error(s);
    }
    return false;
  }
  download_written_ += bytes.size();
  // The note prints no download progress for CoAP; the dialect option adds it. The progress
  // lines go out before observers hear of the bytes (a rule that cuts power here comes after
  // what the module had to say about them).
  if (protocol_ == Protocol::Http || m_.config().dialect.coap_progress)
    report_download(download_written_, download_total_);
  m_.on_download_progress(download_written_, download_total_);
  return true;
}

// ---- the radio link ---------------------------------------------------------------------

void DfotaService::link_drop() {
  if (!download_link_) return;
  if (protocol_ == Protocol::Coap) return link_stall(true);
  m_.log_event("link: the download connection drops");
  // The downloader goes (its socket is closed: the server sees the connection end) and the
  // module reports what a connection lost in the middle of the body gives.
  http_.reset();
  download_link_->done(net::download_err::kUnknown);
}

void DfotaService::link_stall(bool stalled) {
  link_.stalled = stalled;
  if (download_link_) download_link_->conditions_changed();
}

void DfotaService::link_throttle(std::uint64_t bytes_per_s) {
  link_.throttle_bps = bytes_per_s;
  if (download_link_) download_link_->conditions_changed();
}

void DfotaService::link_corrupt(std::uint64_t bytes) {
  link_.corrupt_next = bytes;
}

void DfotaService::on_network_change(const NetworkState& now) {
  const bool no_service = !now.registered();
  if (no_service == link_.no_service) return;
  link_.no_service = no_service;
  if (download_link_) download_link_->conditions_changed();
}

void DfotaService::downloaded(int transfer_err) {
  if (m_.flash().power_lost()) return;
  int err = area_error_ != 0 ? area_error_ : transfer_err;
  if (err == 0) {
    const AreaStatus s = area_->finish();
    if (s == AreaStatus::PowerLost) return handle_area_status(s);
    err = download_error(s);
  }
  if (err == 0 && !area_->verify_package()) err = net::download_err::kPackageCheck;
  if (err == 0 && (protocol_ == Protocol::Http || m_.config().dialect.coap_progress))
    report_download(1, 1);  // progress always ends at 100
  end_download(err);
}

void DfotaService::report_download(std::uint64_t received, std::optional<std::uint64_t> total) {
  if (!total || *total == 0) return;
  const int percent = static_cast<int>(std::min<std::uint64_t>(100, received * 100 / *total));
  // A line for every multiple of the dialect's step that was reached, rising, each once, and
  // always one for 100: the same lines whatever sizes the chunks came in.
  const int step = std::max(1, m_.config().dialect.downloading_step);
  for (int next = (std::max(last_percent_, 0) / step + 1) * step; next <= percent; next += step)
    announce_download(next);
  if (percent == 100 && last_percent_ < 100) announce_download(100);
}

void DfotaService::announce_download(int percent) {
  last_percent_ = percent;
  progress_ = percent;
  urc(urc::fota_percent("DOWNLOADING", percent, m_.config().dialect.percent_sign));
}

void DfotaService::end_download(int err) {
  // Destroying a downloader from its own handler is allowed (both say so); the link's end()
  // touches nothing after calling here.
  http_.reset();
  coap_.reset();
  download_link_.reset();
  // A failed download leaves no package behind: AT+QFOTADL=4 then reports 0.
  if (err != 0) {
    area_->remove();
    download_failed(err);
  }
  if (lwm2m_download_done_) {
    // LwM2M out-of-band (note 3.2.1.2 / 3.2.1.3): its own result URC, and no update.
    auto done = std::move(lwm2m_download_done_);
    lwm2m_download_done_ = nullptr;
    urc(fmt::format("+LWM2M: \"FOTA\",\"DOWNLOADED\",{}", err));
    activity_ = Activity::Idle;
    done(err);
    return;
  }
  urc(urc::fota(protocol_ == Protocol::Http ? "HTTPEND" : "COAPEND", err));
  activity_ = Activity::Idle;
  if (err == 0 && trigger_mode_ == 1) begin_update(/*announce_reset=*/true);
}

// ---- AT+QFOTADL="COM:" --------------------------------------------------------------------

void DfotaService::start_com_upload(at::Call& c, std::int64_t size, std::int64_t timeout_s) {
  if (activity_ != Activity::Idle) return c.cme(at::cme::kDfotaOngoing);
  if (size <= 0 || static_cast<std::uint64_t>(size) > area_->capacity() || timeout_s <= 0)
    return c.cme(at::cme::kDfotaInvalidParameter);
  // A new upload overwrites the package in the area.
  if (const AreaStatus s = area_->begin(static_cast<std::uint64_t>(size)); s != AreaStatus::Ok) {
    handle_area_status(s);
    return c.cme(download_error(s));
  }
  activity_ = Activity::Uploading;
  c.connect(std::make_shared<ComUpload>(*this, static_cast<std::uint64_t>(size),
                                        static_cast<double>(timeout_s)));
}

// ---- AT+QFOTADL=<para1>[,<para2>] ---------------------------------------------------------

void DfotaService::extended(at::Call& c, std::int64_t function, std::optional<std::int64_t> value) {
  // A <para1> that names no function is "any other error" (2 is reserved), whatever the
  // module is doing.
  if (function != 1 && function != 3 && function != 4 && function != 5) return c.error();
  if (activity_ != Activity::Idle) return c.cme(at::cme::kDfotaOngoing);
  switch (function) {
    case 1:  // start the update from the local package
      if (value) return c.error();
      c.ok();
      boost::asio::post(m_.executor(),
                        life_.guard([this] { begin_update(/*announce_reset=*/true); }));
      return;
    case 3:  // trigger mode
      if (!value) {
        c.line(fmt::format("+QFOTADL: 3,{}", trigger_mode_));
        return c.ok();
      }
      if (*value != 0 && *value != 1) return c.cme(at::cme::kDfotaInvalidParameter);
      trigger_mode_ = static_cast<int>(*value);
      return c.ok();
    case 4:  // size of the local package
      if (value) return c.error();
      c.line(fmt::format("+QFOTADL: 4,{}", area_->size()));
      return c.ok();
    case 5:  // delete the local package
      if (value) return c.error();
      if (const AreaStatus s = area_->remove(); s != AreaStatus::Ok) {
        handle_area_status(s);
        return c.cme(download_error(s));
      }
      return c.ok();
    default:  // 2 is reserved; anything else is not a function ("any other error: ERROR")
      return c.error();
  }
}

// ---- the update -----------------------------------------------------------------------------

void DfotaService::begin_update(bool announce_reset) {
  if (!area_->present()) {
    // Nothing to apply: the module says so and does not reset. The log first, as for every
    // END: a host that reads END finds the reason already written.
    update_start_ = std::chrono::steady_clock::now();
    update_from_ = m_.running_image().full_version;
    update_ended(kUpdateNoPackage, "no package in the package area", "");
    urc(urc::fota("END", kUpdateNoPackage));
    activity_ = Activity::Idle;
    return;
  }
  activity_ = Activity::Updating;
  progress_ = 0;
  // The FOTA flag goes into flash before the reset: a power loss from here on brings the
  // module back into DFOTA mode (the note, 2.2.1.1 note 3). A flag that cannot be written
  // leaves the update to run in this power cycle only.
  switch (UpdateEngine(m_.flash(), m_.layout(), *area_).request()) {
    case flash::FlashStatus::Ok:
      break;
    case flash::FlashStatus::PowerLost:
      return handle_area_status(AreaStatus::PowerLost);
    case flash::FlashStatus::Failed:
      m_.log_event("DFOTA: the update flag could not be written to flash");
      break;
  }
  if (announce_reset) urc(urc::fota("RESETTING"));
  m_.enter_dfota_mode();
  // START no sooner than the URC gap after RESETTING.
  timer_.expires_after(
      std::max(m_.config().timing.dfota_reset(&m_.jitter()), m_.config().timing.urc_gap()));
  timer_.async_wait(life_.on_expiry([this] { start_engine(/*resumed=*/false); }));
}

void DfotaService::resume_update() {
  activity_ = Activity::Updating;
  start_engine(/*resumed=*/true);
}

void DfotaService::start_engine(bool resumed) {
  const Dialect& dialect = m_.config().dialect;
  // The BG96 tells the host that it picks up an interrupted update (its DFOTA guide); the
  // BG95 says START again.
  if (resumed && dialect.resume_notice) {
    announce(urc::fota("Last upgrade was not finished,continue upgrade"));
  } else {
    announce(urc::fota("START"));
  }
  if (resumed) {
    ++resumes_;
  } else {
    resumes_ = 0;
  }
  // A process started on a state with an update under way has no start time: from now.
  if (!resumed || update_start_ == std::chrono::steady_clock::time_point{}) {
    update_start_ = std::chrono::steady_clock::now();
    update_from_ = m_.running_image().full_version;
  }
  engine_ = std::make_unique<UpdateEngine>(m_.flash(), m_.layout(), *area_);
  phase_percent_ = {-1, -1};
  engine_->set_progress([this](int percent) { report_update(percent); });
  // Only this engine's next step: a wake that comes after a power cycle made another does nothing.
  engine_->set_memory(m_.config().update_memory, [this, engine = engine_.get()] {
    boost::asio::post(m_.executor(), life_.guard([this, engine] {
      if (engine_.get() == engine) step();
    }));
  });
  engine_->start();
  schedule_step();
}

void DfotaService::report_update(int percent) {
  progress_ = percent;
  const Dialect& dialect = m_.config().dialect;
  // Each percentage once, rising; one that the engine's steps jumped over is said too.
  auto say = [&](std::size_t phase, int value) {
    const char* name = phase == 0 ? "UPDATING" : "RESTORE";
    for (int v = std::max(phase_percent_[phase] + 1, dialect.restore_phase ? 1 : value); v <= value;
         ++v) {
      phase_percent_[phase] = v;
      announce(v > 0 ? urc::fota_percent(name, v, dialect.percent_sign) : std::string(), name, v);
    }
  };
  if (!dialect.restore_phase) return say(0, percent);
  // The BG96 dialect: UPDATING while the new image is made (the decode into staging), then
  // RESTORE while it is copied into place; the engine's percentage covers both halves.
  const auto phase = engine_ ? engine_->phase() : UpdateEngine::Phase::Finished;
  const bool copying =
      phase == UpdateEngine::Phase::Copy || phase == UpdateEngine::Phase::VerifyActive ||
      phase == UpdateEngine::Phase::Cleanup || phase == UpdateEngine::Phase::Finished;
  if (!copying) return say(0, std::min(100, percent * 2));
  say(0, 100);
  say(1, percent >= 100 ? 100 : std::max(0, std::min(99, (percent - 50) * 2)));
}

void DfotaService::schedule_step() {
  // The update waits for its own URCs to be on the wire (announce()): a compressed update
  // still says each step in a write of its own.
  if (!update_urcs_.empty()) return when_urcs_out([this] { schedule_step(); });
  // The next step reads (the checks of the package, the source and the results) or writes
  // (the decode into staging, the copy into place, the cleanup): reading is far quicker.
  const std::size_t bytes =
      m_.config().timing.update_pages_per_step(options_.update_pages_per_step) *
      m_.layout().geometry.page_size;
  using Phase = UpdateEngine::Phase;
  const Phase phase = engine_ ? engine_->phase() : Phase::Idle;
  const bool reads = phase == Phase::Idle || phase == Phase::CheckPackage ||
                     phase == Phase::CheckSource || phase == Phase::VerifyStaging ||
                     phase == Phase::VerifyActive;
  const auto gap = m_.config().timing.update_work(reads ? 0 : bytes, reads ? bytes : 0,
                                                  &m_.jitter()) +
                   m_.flash().busy_for();  // a slow flash (a fault) holds the update up
  if (gap.count() == 0) {
    boost::asio::post(m_.executor(), life_.guard([this] { step(); }));
    return;
  }
  timer_.expires_after(gap);
  timer_.async_wait(life_.on_expiry([this] { step(); }));
}

void DfotaService::step() {
  if (!engine_) return;
  switch (engine_->step(m_.config().timing.update_pages_per_step(options_.update_pages_per_step))) {
    case UpdateEngine::Status::Running:
      return schedule_step();
    case UpdateEngine::Status::Done:
      return finish_update(0);
    case UpdateEngine::Status::Error:
      return finish_update(engine_->result());
    case UpdateEngine::Status::PowerLost:
      return handle_area_status(AreaStatus::PowerLost);
    case UpdateEngine::Status::Waiting:
      return;  // the decode budget's release posts the next step
  }
}

void DfotaService::finish_update(int code) {
  close_on_restart_ = code != 0;
  update_ended(code, engine_->message(), code == 0 ? engine_->header().target_version : "");
  engine_.reset();
  // The last UPDATING is out, then a pause, then END, then the restart: a host reading END
  // must find it alone (fwupd takes the first +QIND: "FOTA" of a read after waiting 100 ms).
  when_urcs_out([this, code] {
    timer_.expires_after(m_.config().timing.update_end_pause() + m_.flash().busy_for());
    timer_.async_wait(life_.on_expiry([this, code] {
      announce(urc::fota("END", code));
      when_urcs_out([this, code] { end_update(code); });
    }));
  });
}

void DfotaService::download_failed(int err) {
  const char* end = protocol_ == Protocol::Http ? "HTTPEND" : "COAPEND";
  const std::string why = download_why_.empty() ? "no reason given" : download_why_;
  last_error_ = fmt::format("{} {}", err, why);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - download_start_).count();
  // An LwM2M download reports +LWM2M: "FOTA","DOWNLOADED",<err> instead of HTTPEND/COAPEND.
  const std::string result =
      lwm2m_download_done_ ? fmt::format("DOWNLOADED,{}", err) : fmt::format("{},{}", end, err);
  m_.log_event(fmt::format("DFOTA summary: {} download failed, {} after {:.3f} s: {}; {} stays",
                           protocol_ == Protocol::Http ? "HTTP" : "CoAP", result, seconds, why,
                           m_.running_image().full_version));
}

void DfotaService::update_ended(int code, const std::string& why, const std::string& target) {
  if (update_from_.empty()) update_from_ = "the running image";  // resumed in a new process
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - update_start_).count();
  const std::string resumed = resumes_ == 0
                                  ? ""
                                  : fmt::format(", picked up again {} time{} after a power loss",
                                                resumes_, resumes_ == 1 ? "" : "s");
  if (code == 0) {
    last_error_.clear();
    m_.log_event(fmt::format("DFOTA summary: {} -> {}, END,0 after {:.3f} s of update{}",
                             update_from_, target, seconds, resumed));
    return;
  }
  last_error_ = fmt::format("{} {}", code, why);
  m_.log_event(fmt::format("update ended with {}: {}", code, why));
  m_.log_event(fmt::format("DFOTA summary: {} stays, END,{} after {:.3f} s of update{}: {}",
                           update_from_, code, seconds, resumed, why));
}

void DfotaService::when_urcs_out(std::function<void()> then) {
  if (update_urcs_.empty() && !urc_pumping_) return then();
  after_urcs_ = std::move(then);
}

void DfotaService::announce(std::string text, const char* phase, int percent) {
  const auto gap = m_.config().timing.urc_gap();
  if (gap.count() == 0 && update_urcs_.empty()) {
    if (!text.empty()) urc(text);
    if (phase) m_.on_update_progress(phase, percent);
    return;
  }
  update_urcs_.push_back({std::move(text), phase, percent});
  if (update_urcs_.size() == 1 && !urc_pumping_) pump_urcs();
}

void DfotaService::pump_urcs() {
  if (update_urcs_.empty()) {
    urc_pumping_ = false;
    if (auto then = std::exchange(after_urcs_, nullptr)) then();
    return;
  }
  urc_pumping_ = true;
  const PendingUrc next = std::move(update_urcs_.front());
  update_urcs_.pop_front();
  // Each of the update's URCs in a read of its own for a host that reads as soon as data is
  // there (fwupd matches the first +QIND: "FOTA" of each read only); made before the URC goes
  // out, so that it does nothing if power went meanwhile.
  auto next_after_gap = life_.guard([this, gap = !next.text.empty()] {
    urc_timer_.expires_after(gap ? m_.config().timing.urc_gap() : std::chrono::milliseconds(0));
    urc_timer_.async_wait(life_.on_expiry([this] { pump_urcs(); }));
  });
  if (!next.text.empty()) urc(next.text);
  // Observers hear of the progress as the host sees it (a rule may cut power here).
  if (next.phase) m_.on_update_progress(next.phase, next.percent);
  next_after_gap();
}

void DfotaService::end_update(int code) {
  activity_ = Activity::Idle;
  if (lwm2m_update_ended_) {
    auto ended = std::move(lwm2m_update_ended_);
    lwm2m_update_ended_ = nullptr;
    ended(code);
  }
  // Success or not, the module restarts in normal mode, on the new image or the old one.
  boost::asio::post(m_.executor(), life_.guard([this] { m_.reboot(); }));
}

// ---- LwM2M ---------------------------------------------------------------------------------

bool DfotaService::start_lwm2m_download(const std::string& uri, std::function<void(int)> done) {
  if (activity_ != Activity::Idle) return false;
  const net::Url url = net::parse_url(uri);
  if (!url.ok()) return false;
  const bool coap = url.scheme == net::Scheme::Coap || url.scheme == net::Scheme::Coaps;
  activity_ = Activity::Downloading;
  progress_ = 0;
  lwm2m_download_done_ = std::move(done);
  boost::asio::post(m_.executor(), life_.guard([this, uri, coap] {
    download(uri, coap ? Protocol::Coap : Protocol::Http);
  }));
  return true;
}

int DfotaService::lwm2m_package_begin() {
  if (activity_ != Activity::Idle) return net::download_err::kUnknown;
  const AreaStatus s = area_->begin();
  if (s != AreaStatus::Ok) {
    handle_area_status(s);
    return download_error(s);
  }
  activity_ = Activity::Downloading;
  progress_ = 0;
  return 0;
}

int DfotaService::lwm2m_package_append(std::span<const std::uint8_t> bytes) {
  const AreaStatus s = area_->append(bytes);
  if (s != AreaStatus::Ok) handle_area_status(s);
  return s == AreaStatus::Ok ? 0 : download_error(s);
}

int DfotaService::lwm2m_package_finish() {
  activity_ = Activity::Idle;
  const AreaStatus s = area_->finish();
  int err = 0;
  if (s != AreaStatus::Ok) {
    handle_area_status(s);
    err = download_error(s);
  } else if (!area_->verify_package()) {
    err = net::download_err::kPackageCheck;
  }
  // A package that fails keeps its bytes until the caller asked for its header (PkgName,
  // unsupported type or damaged); lwm2m_package_abort() removes it.
  return err;
}

void DfotaService::lwm2m_package_abort() {
  if (activity_ == Activity::Downloading && !http_ && !coap_) activity_ = Activity::Idle;
  handle_area_status(area_->remove());
}

std::optional<firmware::PackageHeader> DfotaService::package_header() const {
  if (area_->state() != PackageState::Committed) return std::nullopt;
  std::vector<std::uint8_t> head(firmware::kPackageHeaderSize);
  if (!area_->read(0, head)) return std::nullopt;
  auto h = firmware::decode_package_header(head);
  if (!h) return std::nullopt;
  return *h;
}

bool DfotaService::start_lwm2m_update(std::function<void(int)> ended) {
  if (activity_ != Activity::Idle || !area_->present()) return false;
  lwm2m_update_ended_ = std::move(ended);
  activity_ = Activity::Updating;
  boost::asio::post(m_.executor(), life_.guard([this] { begin_update(/*announce_reset=*/false); }));
  return true;
}

}  // namespace bg95::dfota
