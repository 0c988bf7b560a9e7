#include "sim/lwm2m/lwm2m_service.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "protocol/net/download_error.hpp"
#include "protocol/net/url.hpp"
#include "sim/dfota/dfota_service.hpp"
#include "sim/module.hpp"

namespace bg95::lwm2m {
namespace {

using nlohmann::json;
namespace err = net::download_err;

std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// After the answer to the Execute (and the State notification) went out.
constexpr std::chrono::milliseconds kActionDelay{300};

}  // namespace

int update_result_for_download_error(int e) {
  switch (e) {
    case 0:
      return fw_result::kInitial;
    case err::kUrlError:  // 705
    case err::kNotFound:  // 706
      return fw_result::kInvalidUri;
    case err::kTooLarge:     // 708
    case err::kWriteFailed:  // 707
      return fw_result::kNoFlash;
    case err::kPackageCheck:  // 710
      return fw_result::kIntegrity;
    default:  // 701 unknown, 702 connect, 703 request failed, 704 timeout
      return fw_result::kConnectionLost;
  }
}

Lwm2mService::Lwm2mService(Module& module)
    : m_(module),
      client_(module.executor(), model_),
      fw_file_(module.config().state_dir / "lwm2m.json"),
      register_timer_(module.executor()),
      action_timer_(module.executor()) {
  // The --lwm2m-* options of a host-less start become the saved configuration, so that the
  // AT read forms show what is used.
  const auto& o = module.config().lwm2m;
  auto& s = module.settings().lwm2m;
  bool changed = false;
  if (!o.server.empty() && s.server_uri != o.server) s.server_uri = o.server, changed = true;
  if (!o.psk_id.empty() && (s.psk_id != o.psk_id || s.psk != o.psk || s.security_mode != 0)) {
    s.security_mode = 0, s.psk_id = o.psk_id, s.psk = o.psk, changed = true;
  }
  if (!o.endpoint.empty() && (s.epns_mode != 1 || s.reg_epname != o.endpoint))
    s.epns_mode = 1, s.reg_epname = o.endpoint, changed = true;
  if (o.lifetime != 0 && s.lifetime != o.lifetime) s.lifetime = o.lifetime, changed = true;
  if (changed) module.try_save_settings();  // a failure is logged
  load_fw();
  build_model();
}

Lwm2mService::~Lwm2mService() {
  client_.stop();
}

void Lwm2mService::urc(const std::string& text) {
  m_.emit_urc(text);
}

// ---- firmware state, persisted ------------------------------------------------------------

void Lwm2mService::load_fw() {
  std::ifstream in(fw_file_);
  if (!in) return;
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json j = json::parse(text.str());
    state_ = static_cast<FwState>(j.value("state", 0));
    result_ = j.value("result", 0);
    package_uri_ = j.value("package_uri", "");
    pkg_name_ = j.value("pkg_name", "");
    pkg_version_ = j.value("pkg_version", "");
  } catch (const std::exception&) {
    state_ = FwState::Idle;  // a damaged file: start over
    result_ = fw_result::kInitial;
  }
}

void Lwm2mService::save_fw() const {
  const json j = {{"state", static_cast<int>(state_)},
                  {"result", result_},
                  {"package_uri", package_uri_},
                  {"pkg_name", pkg_name_},
                  {"pkg_version", pkg_version_}};
  const std::string text = j.dump(2) + "\n";
  auto tmp = fw_file_;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return;
  std::error_code ec;
  std::filesystem::rename(tmp, fw_file_, ec);
}

namespace {

// The Update Result's meaning (OMA LwM2M 1.0, object 5, resource 5).
const char* update_result_name(int result) {
  static constexpr const char* kNames[] = {"initial",          "success",
                                           "not enough flash", "out of RAM",
                                           "connection lost",  "integrity failure",
                                           "unsupported type", "invalid URI",
                                           "update failed",    "unsupported protocol"};
  return result >= 0 && result < 10 ? kNames[result] : "unknown";
}

}  // namespace

void Lwm2mService::set_fw(FwState state, int result) {
  const bool state_changed = state != state_;
  const bool result_changed = result != result_;
  // A failed result says why in the log (issue 19): the DFOTA's own reason where it has one.
  if (result_changed && result >= fw_result::kNoFlash) {
    const std::string& why = m_.dfota().last_error();
    m_.log_event(fmt::format("lwm2m: Update Result {} ({}){}", result, update_result_name(result),
                             why.empty() ? "" : ": DFOTA " + why));
  }
  state_ = state;
  result_ = result;
  save_fw();
  if (state_changed) client_.changed("/5/0/3");
  if (result_changed) client_.changed("/5/0/5");
}

void Lwm2mService::reset_to_idle() {
  download_.end();
  if (inband_) m_.dfota().lwm2m_package_abort();
  inband_ = false;
  package_uri_.clear();
  pkg_name_.clear();
  pkg_version_.clear();
  set_fw(FwState::Idle, fw_result::kInitial);
  client_.changed("/5/0/6");
  client_.changed("/5/0/7");
}

// ---- the object model -----------------------------------------------------------------------

void Lwm2mService::build_model() {
  auto& st = m_.settings().lwm2m;
  auto str = [](std::function<std::string()> f) { return [f] { return Value::string(f()); }; };
  auto num = [](std::function<std::int64_t()> f) { return [f] { return Value::number(f()); }; };

  // Security /0 (not reported at registration, not readable by the server).
  model_.object(0).reported = false;
  model_.add(0, 0, readable(0, Type::String, str([&st] { return st.server_uri; }), 0));
  model_.add(0, 0,
             readable(
                 1, Type::Boolean, [&st] { return Value::boolean(st.bootstrap); }, 0));
  model_.add(0, 0, readable(2, Type::Integer, num([&st] { return st.security_mode; }), 0));
  model_.add(0, 0,
             readable(
                 3, Type::Opaque, [&st] { return Value::opaque(st.psk_id); }, 0));
  model_.add(0, 0, readable(10, Type::Integer, num([&st] { return st.short_server_id; }), 0));

  // Server /1.
  auto save = [this] { m_.try_save_settings(); };  // a failure is logged
  auto uint_write = [save](std::uint32_t& field) {
    return [&field, save](const Value& v) {
      if (v.integer < 0 || v.integer > 0xffffffffLL) return code::kBadRequest;
      field = static_cast<std::uint32_t>(v.integer);
      save();
      return code::kChanged;
    };
  };
  model_.add(1, 0, readable(0, Type::Integer, num([&st] { return st.short_server_id; }), kRead));
  Resource lifetime =
      readable(1, Type::Integer, num([&st] { return st.lifetime; }), kRead | kWrite);
  lifetime.write = [this, &st](const Value& v) {
    if (v.integer <= 0 || v.integer > 0xffffffffLL) return code::kBadRequest;
    st.lifetime = static_cast<std::uint32_t>(v.integer);
    m_.try_save_settings();  // a failure is logged
    return code::kChanged;
  };
  model_.add(1, 0, std::move(lifetime));
  Resource pmin =
      readable(2, Type::Integer, num([&st] { return st.default_pmin; }), kRead | kWrite);
  pmin.write = uint_write(st.default_pmin);
  model_.add(1, 0, std::move(pmin));
  Resource pmax =
      readable(3, Type::Integer, num([&st] { return st.default_pmax; }), kRead | kWrite);
  pmax.write = uint_write(st.default_pmax);
  model_.add(1, 0, std::move(pmax));
  model_.add(1, 0,
             readable(
                 6, Type::Boolean, [] { return Value::boolean(false); }, kRead));
  Resource binding = readable(7, Type::String, str([&st] { return st.binding; }), kRead | kWrite);
  binding.write = [save, &st](const Value& v) {
    if (v.bytes != "U") return code::kBadRequest;  // UDP only
    st.binding = v.bytes;
    save();
    return code::kChanged;
  };
  model_.add(1, 0, std::move(binding));
  Resource trigger = executable(8);
  trigger.execute = [this](std::string_view) {
    client_.update();
    return code::kChanged;
  };
  model_.add(1, 0, std::move(trigger));

  // Device /3.
  model_.add(3, 0, readable(0, Type::String, str([] { return std::string("Quectel"); }), kRead));
  model_.add(3, 0, readable(1, Type::String, str([this] { return m_.settings().model; }), kRead));
  model_.add(3, 0,
             readable(2, Type::String, str([this] { return m_.settings().identity.imei; }), kRead));
  model_.add(3, 0,
             readable(3, Type::String, str([this] { return m_.running_image().full_version; })));
  Resource reboot = executable(4);
  reboot.execute = [this](std::string_view) {
    // After the answer went out; the reboot stops the client.
    action_timer_.expires_after(kActionDelay);
    action_timer_.async_wait(life_.on_expiry([this] { m_.reboot(); }));
    return code::kChanged;
  };
  model_.add(3, 0, std::move(reboot));
  Resource errors = multiple(11, Type::Integer);
  errors.read_instances = [] {
    return std::vector<std::pair<std::uint16_t, Value>>{{0, Value::number(0)}};
  };
  model_.add(3, 0, std::move(errors));
  model_.add(3, 0, readable(16, Type::String, str([] { return std::string("U"); }), kRead));

  // Firmware Update /5.
  Resource package = readable(0, Type::Opaque, {}, kWrite);
  package.write_stream = [this](std::uint64_t offset, std::span<const std::uint8_t> bytes,
                                bool last) { return write_package(offset, bytes, last); };
  model_.add(5, 0, std::move(package));
  Resource uri = readable(1, Type::String, str([this] { return package_uri_; }), kRead | kWrite);
  uri.write = [this](const Value& v) { return write_package_uri(v.bytes); };
  model_.add(5, 0, std::move(uri));
  Resource update = executable(2);
  update.execute = [this](std::string_view) { return execute_update(); };
  model_.add(5, 0, std::move(update));
  model_.add(5, 0,
             readable(3, Type::Integer, num([this] { return static_cast<int>(state_); }), kRead));
  model_.add(5, 0, readable(5, Type::Integer, num([this] { return result_; }), kRead));
  model_.add(5, 0, readable(6, Type::String, str([this] { return pkg_name_; }), kRead));
  model_.add(5, 0, readable(7, Type::String, str([this] { return pkg_version_; }), kRead));
  Resource protocols = multiple(8, Type::Integer);
  protocols.read_instances = [] {
    // 0 CoAP, 1 CoAPS, 2 HTTP 1.1, 3 HTTPS 1.1
    return std::vector<std::pair<std::uint16_t, Value>>{
        {0, Value::number(0)}, {1, Value::number(1)}, {2, Value::number(2)}, {3, Value::number(3)}};
  };
  model_.add(5, 0, std::move(protocols));
  model_.add(5, 0, readable(9, Type::Integer, num([] { return 2; }), kRead));  // pull and push
}

// ---- Firmware Update ------------------------------------------------------------------------

int Lwm2mService::write_package_uri(const std::string& uri) {
  if (state_ == FwState::Downloading || state_ == FwState::Updating)
    return uri.empty() && state_ == FwState::Downloading
               ? (reset_to_idle(), code::kChanged)  // cancels: the late result is ignored
               : code::kMethodNotAllowed;
  if (uri.empty()) {
    reset_to_idle();
    return code::kChanged;
  }
  package_uri_ = uri;
  pkg_name_.clear();
  pkg_version_.clear();
  client_.changed("/5/0/1");
  // The write itself succeeds; the Update Result tells what became of it.
  if (!net::looks_like_url(uri)) {
    set_fw(FwState::Idle, fw_result::kInvalidUri);
    return code::kChanged;
  }
  const std::string scheme = lower(uri.substr(0, uri.find("://")));
  if (scheme != "http" && scheme != "https" && scheme != "coap" && scheme != "coaps") {
    set_fw(FwState::Idle, fw_result::kUnsupportedProtocol);
    return code::kChanged;
  }
  if (!net::parse_url(uri).ok()) {
    set_fw(FwState::Idle, fw_result::kInvalidUri);
    return code::kChanged;
  }
  // The result of a download that was reset meanwhile is ignored.
  download_.end();
  const bool started = m_.dfota().start_lwm2m_download(uri, download_.guard([this](int e) {
    if (e != 0) return set_fw(FwState::Idle, update_result_for_download_error(e));
    if (auto h = m_.dfota().package_header()) pkg_version_ = h->target_version;
    const auto slash = package_uri_.find_last_of('/');
    pkg_name_ = slash == std::string::npos ? package_uri_ : package_uri_.substr(slash + 1);
    set_fw(FwState::Downloaded, fw_result::kInitial);
    client_.changed("/5/0/6");
    client_.changed("/5/0/7");
  }));
  if (!started) return code::kUnavailable;  // AT+QFOTADL is busy
  set_fw(FwState::Downloading, fw_result::kInitial);
  return code::kChanged;
}

int Lwm2mService::write_package(std::uint64_t offset, std::span<const std::uint8_t> bytes,
                                bool last) {
  if (offset == 0) {
    if (state_ == FwState::Updating || (state_ == FwState::Downloading && !inband_))
      return code::kMethodNotAllowed;
    if (inband_) m_.dfota().lwm2m_package_abort();  // the server started over
    inband_ = false;
    // A Package of one '\0' (or empty) resets the state machine.
    if (last && (bytes.empty() || (bytes.size() == 1 && bytes[0] == 0))) {
      reset_to_idle();
      return code::kChanged;
    }
    if (const int e = m_.dfota().lwm2m_package_begin(); e != 0) {
      set_fw(FwState::Idle, e == err::kUnknown ? fw_result::kInitial : fw_result::kNoFlash);
      return e == err::kUnknown ? code::kUnavailable : code::kInternal;
    }
    download_.end();
    inband_ = true;
    package_uri_.clear();
    pkg_name_.clear();
    pkg_version_.clear();
    urc("+LWM2M: \"FOTA\",\"DOWNLOADING\",\"START\"");
    set_fw(FwState::Downloading, fw_result::kInitial);
  }
  if (!inband_) return code::kIncomplete;
  if (const int e = m_.dfota().lwm2m_package_append(bytes); e != 0) {
    m_.dfota().lwm2m_package_abort();
    inband_ = false;
    set_fw(FwState::Idle, update_result_for_download_error(e));
    return e == err::kTooLarge ? code::kTooLarge : code::kInternal;
  }
  if (!last) return code::kContinue;
  inband_ = false;
  const int e = m_.dfota().lwm2m_package_finish();
  urc("+LWM2M: \"FOTA\",\"DOWNLOADING\",\"COMPLETED\"");
  const auto header = m_.dfota().package_header();
  if (e != 0) {
    // 710: a header that does not decode is not our package type; one that does but fails
    // its SHA-256 is damaged.
    const int result = e == err::kPackageCheck
                           ? (header ? fw_result::kIntegrity : fw_result::kUnsupportedType)
                           : update_result_for_download_error(e);
    m_.dfota().lwm2m_package_abort();
    set_fw(FwState::Idle, result);
    return code::kChanged;
  }
  if (header) pkg_version_ = header->target_version;
  set_fw(FwState::Downloaded, fw_result::kInitial);
  client_.changed("/5/0/7");
  return code::kChanged;
}

int Lwm2mService::execute_update() {
  if (state_ != FwState::Downloaded) return code::kMethodNotAllowed;
  set_fw(FwState::Updating, fw_result::kInitial);
  action_timer_.expires_after(kActionDelay);
  action_timer_.async_wait(life_.on_expiry([this] {
    const bool started = m_.dfota().start_lwm2m_update([this](int code) {
      // END,<code> was printed; the reboot comes next. What the server reads after it.
      set_fw(FwState::Idle, code == 0 ? fw_result::kSuccess : fw_result::kUpdateFailed);
    });
    if (!started) set_fw(FwState::Idle, fw_result::kUpdateFailed);
  }));
  return code::kChanged;
}

// ---- registration ----------------------------------------------------------------------------

ClientConfig Lwm2mService::client_config() const {
  const auto& s = m_.settings().lwm2m;
  ClientConfig c;
  c.server_uri = s.server_uri;
  c.endpoint = s.epns_mode == 1 && !s.reg_epname.empty()
                   ? s.reg_epname
                   : "urn:imei:" + m_.settings().identity.imei;
  c.lifetime = s.lifetime;
  c.binding = s.binding;
  c.version = s.version == 1 ? "1.1" : "1.0";
  c.default_pmin = s.default_pmin;
  c.default_pmax = s.default_pmax;
  c.shared_context = m_.config().lwm2m_context;
  if (s.security_mode == 0) {
    c.psk_identity = s.psk_id;
    c.psk_key = hex_to_bytes(s.psk);
  }
  return c;
}

void Lwm2mService::start_client() {
  client_.start(client_config(),
                {{}, [this](std::string_view e) { m_.log_event("lwm2m: " + std::string(e)); }});
}

void Lwm2mService::try_register() {
  if (!powered_) return;
  if (m_.network().view().registered()) return start_client();
  // No bearer yet (the network attaches after the banner): look again shortly.
  register_timer_.expires_after(std::chrono::milliseconds(200));
  register_timer_.async_wait(life_.on_expiry([this] { try_register(); }));
}

bool Lwm2mService::reg() {
  if (m_.settings().lwm2m.server_uri.empty()) return false;
  if (!m_.settings().lwm2m.registered) {
    m_.settings().lwm2m.registered = true;
    m_.try_save_settings();  // a failure is logged
  }
  register_timer_.cancel();
  try_register();
  return true;
}

void Lwm2mService::dereg(std::function<void()> done) {
  register_timer_.cancel();
  if (m_.settings().lwm2m.registered) {
    m_.settings().lwm2m.registered = false;
    m_.try_save_settings();  // a failure is logged
  }
  client_.deregister(std::move(done));
}

bool Lwm2mService::update() {
  if (client_.state() != ClientState::Registered) return false;
  client_.update();
  return true;
}

void Lwm2mService::on_boot() {
  life_.end();
  powered_ = true;
  // What the previous life left: an update whose END we did not see (the process ended in
  // the middle) is judged by the running firmware; an interrupted download failed.
  if (state_ == FwState::Updating) {
    const bool updated = !pkg_version_.empty() && m_.running_image().full_version == pkg_version_;
    set_fw(FwState::Idle, updated ? fw_result::kSuccess : fw_result::kUpdateFailed);
  } else if (state_ == FwState::Downloading) {
    inband_ = false;
    set_fw(FwState::Idle, fw_result::kConnectionLost);
  } else if (state_ == FwState::Downloaded && m_.dfota().package_size() == 0) {
    set_fw(FwState::Idle, fw_result::kInitial);
  }
  if (m_.config().lwm2m.autoreg || m_.settings().lwm2m.registered) {
    if (!m_.settings().lwm2m.server_uri.empty()) try_register();
  }
}

void Lwm2mService::on_power_lost() {
  life_.end();
  powered_ = false;
  register_timer_.cancel();
  action_timer_.cancel();
  client_.stop();
}

}  // namespace bg95::lwm2m
