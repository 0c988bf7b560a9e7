#include "sim/state/settings.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sim/firmware/image.hpp"

namespace bg95::state {
namespace {

using nlohmann::json;

// A settings file is a few KiB; anything much larger is not one.
constexpr std::int64_t kMaxSettingsFile = 1 << 20;

// Reading one field: a value of the wrong type or out of range is an error naming the field
// (nlohmann's own get<> would say neither, and would store 1000 in a byte as 232).
// `section` is the object's name in the file ("profile", "pdp.1"); empty at the top level.
std::string field_name(std::string_view section, const std::string& key) {
  return section.empty() ? key : fmt::format("{}.{}", section, key);
}
std::int64_t integer(const json& j, std::string_view section, const std::string& key,
                     std::int64_t lo, std::int64_t hi) {
  const json& v = j.at(key);
  const std::string name = field_name(section, key);
  bool fits = false;
  std::int64_t x = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    fits = u <= static_cast<std::uint64_t>(hi) && static_cast<std::int64_t>(u) >= lo;
    x = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<std::int64_t>();
    fits = x >= lo && x <= hi;
  }
  if (!fits)
    throw std::out_of_range(
        fmt::format("{} is {}, not an integer in {}..{}", name, v.dump(), lo, hi));
  return x;
}
bool boolean(const json& j, std::string_view section, const std::string& key) {
  const json& v = j.at(key);
  const std::string name = field_name(section, key);
  if (!v.is_boolean())
    throw std::out_of_range(fmt::format("{} is {}, not true or false", name, v.dump()));
  return v.get<bool>();
}
std::string text(const json& j, std::string_view section, const std::string& key, std::size_t max) {
  const json& v = j.at(key);
  const std::string name = field_name(section, key);
  if (!v.is_string())
    throw std::out_of_range(fmt::format("{} is {}, not a string", name, v.dump()));
  std::string t = v.get<std::string>();
  if (t.size() > max) throw std::out_of_range(fmt::format("{} is longer than {} bytes", name, max));
  return t;
}
template <class T>
T narrow(const json& j, std::string_view section, const std::string& key, std::int64_t lo,
         std::int64_t hi) {
  return static_cast<T>(integer(j, section, key, lo, hi));
}

json profile_to_json(const at::DteProfile& p) {
  return {{"echo", p.echo},
          {"verbose", p.verbose},
          {"quiet", p.quiet},
          {"cmee", static_cast<int>(p.cmee)},
          {"s3", p.s3},
          {"s4", p.s4},
          {"s5", p.s5},
          {"dtr_mode", p.dtr_mode},
          {"dcd_mode", p.dcd_mode}};
}

at::DteProfile profile_from_json(const json& j) {
  at::DteProfile p;
  p.echo = boolean(j, "profile", "echo");
  p.verbose = boolean(j, "profile", "verbose");
  p.quiet = boolean(j, "profile", "quiet");
  p.cmee = narrow<at::CmeMode>(j, "profile", "cmee", 0, 2);
  // S3, S4 and S5 take 0..127 (V.250 6.2.1 to 6.2.3), &D 0..2, &C 0..1.
  p.s3 = narrow<std::uint8_t>(j, "profile", "s3", 0, 127);
  p.s4 = narrow<std::uint8_t>(j, "profile", "s4", 0, 127);
  p.s5 = narrow<std::uint8_t>(j, "profile", "s5", 0, 127);
  p.dtr_mode = narrow<std::uint8_t>(j, "profile", "dtr_mode", 0, 2);
  p.dcd_mode = narrow<std::uint8_t>(j, "profile", "dcd_mode", 0, 1);
  return p;
}

json lwm2m_to_json(const Lwm2mSettings& l) {
  return {{"ssid", l.ssid},
          {"short_server_id", l.short_server_id},
          {"server_uri", l.server_uri},
          {"bootstrap", l.bootstrap},
          {"security_mode", l.security_mode},
          {"psk_id", l.psk_id},
          {"psk", l.psk},
          {"epns_mode", l.epns_mode},
          {"bs_epname", l.bs_epname},
          {"reg_epname", l.reg_epname},
          {"lifetime", l.lifetime},
          {"default_pmin", l.default_pmin},
          {"default_pmax", l.default_pmax},
          {"binding", l.binding},
          {"version", l.version},
          {"registered", l.registered}};
}

// Every field optional: a missing one keeps its default. The ranges are AT+QLWCFG's; its
// texts are bounded only by the command line.
constexpr std::size_t kMaxLwm2mText = 4096;
Lwm2mSettings lwm2m_from_json(const json& j) {
  Lwm2mSettings l;
  auto get_int = [&j](const std::string& key, auto& field, std::int64_t lo, std::int64_t hi) {
    using T = std::remove_reference_t<decltype(field)>;
    if (j.contains(key)) field = narrow<T>(j, "lwm2m", key, lo, hi);
  };
  auto get_text = [&j](const std::string& key, std::string& field, std::size_t max) {
    if (j.contains(key)) field = text(j, "lwm2m", key, max);
  };
  auto get_bool = [&j](const std::string& key, bool& field) {
    if (j.contains(key)) field = boolean(j, "lwm2m", key);
  };
  get_int("ssid", l.ssid, 0, 65534);
  get_int("short_server_id", l.short_server_id, 1, 65534);
  get_text("server_uri", l.server_uri, kMaxLwm2mText);
  get_bool("bootstrap", l.bootstrap);
  get_int("security_mode", l.security_mode, 0, 3);
  if (l.security_mode != 0 && l.security_mode != 3)
    throw std::out_of_range("lwm2m.security_mode must be 0 (PSK) or 3 (NoSec)");
  get_text("psk_id", l.psk_id, kMaxLwm2mText);
  get_text("psk", l.psk, kMaxLwm2mText);
  get_int("epns_mode", l.epns_mode, 0, 1);
  get_text("bs_epname", l.bs_epname, kMaxLwm2mText);
  get_text("reg_epname", l.reg_epname, kMaxLwm2mText);
  get_int("lifetime", l.lifetime, 1, 0xffffffffLL);
  get_int("default_pmin", l.default_pmin, 0, 0xffffffffLL);
  get_int("default_pmax", l.default_pmax, 0, 0xffffffffLL);
  get_text("binding", l.binding, 3);
  if (l.binding != "U") throw std::out_of_range("lwm2m.binding must be \"U\"");
  get_int("version", l.version, 0, 1);
  get_bool("registered", l.registered);
  return l;
}

json pdp_to_json(const std::map<int, PdpProfile>& pdp) {
  json j = json::object();
  for (const auto& [cid, p] : pdp)
    j[std::to_string(cid)] = {{"type", p.type},
                              {"apn", p.apn},
                              {"username", p.username},
                              {"password", p.password},
                              {"auth", p.auth}};
  return j;
}

std::map<int, PdpProfile> pdp_from_json(const json& j) {
  std::map<int, PdpProfile> pdp;
  for (const auto& [key, v] : j.items()) {
    int cid = 0;
    try {
      cid = std::stoi(key);
    } catch (const std::exception&) {
      throw std::out_of_range("pdp: context \"" + key + "\" is not a number");
    }
    if (cid < 1 || cid > 15 || std::to_string(cid) != key)
      throw std::out_of_range("pdp: context " + key + " is not 1..15");
    PdpProfile p;
    const std::string section = "pdp." + key;
    p.type = text(v, section, "type", 6);
    if (p.type != "IP" && p.type != "IPV6" && p.type != "IPV4V6" && p.type != "Non-IP")
      throw std::out_of_range(section + ".type must be IP, IPV6, IPV4V6 or Non-IP");
    p.apn = text(v, section, "apn", 99);
    p.username = text(v, section, "username", 127);
    p.password = text(v, section, "password", 127);
    p.auth = narrow<int>(v, section, "auth", 0, 3);
    pdp[cid] = std::move(p);
  }
  return pdp;
}

std::map<std::string, std::string> strings_from_json(const json& j, const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& [key, v] : j.items()) {
    if (key.empty() || key.size() > 64) throw std::out_of_range(std::string(what) + ": bad name");
    out[key] = text(j, what, key, 256);
  }
  return out;
}

bool all_digits(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789") == std::string::npos;
}

// The file's text; only a regular file is read, and opening it never blocks (a FIFO there
// would wait for a writer for ever).
util::Expected<std::string> read_settings_file(const std::filesystem::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return util::Error{fmt::format("{}: cannot read: {}", file.string(), std::strerror(errno))};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxSettingsFile) {
    ::close(fd);
    return util::Error{
        fmt::format("{}: not a regular file of at most {} bytes", file.string(), kMaxSettingsFile)};
  }
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  const ssize_t n = ::pread(fd, text.data(), text.size(), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    return util::Error{fmt::format("{}: cannot read", file.string())};
  return text;
}

Settings settings_from_json(const json& j) {
  Settings s;
  s.model = text(j, "", "model", 32);
  if (!firmware::known_model(s.model))
    throw std::out_of_range(fmt::format("model \"{}\" is not a model bg95sim knows", s.model));
  const json& id = j.at("identity");
  s.identity.imei = text(id, "identity", "imei", 15);
  s.identity.imsi = text(id, "identity", "imsi", 15);
  s.identity.iccid = text(id, "identity", "iccid", 20);
  if (!all_digits(s.identity.imei, 15) || !luhn_valid(s.identity.imei))
    throw std::out_of_range("identity.imei is not a valid 15-digit IMEI");
  if (!all_digits(s.identity.imsi, 15)) throw std::out_of_range("identity.imsi is not 15 digits");
  if (!all_digits(s.identity.iccid.substr(0, 19), 19) ||
      (s.identity.iccid.size() == 20 && s.identity.iccid.back() != 'F'))
    throw std::out_of_range("identity.iccid is not 19 digits and an F");
  s.saved_profile = profile_from_json(j.at("profile"));
  s.ipr = narrow<std::uint32_t>(j, "", "ipr", 0, kIprRates.back());
  if (s.ipr != 0 && std::find(kIprRates.begin(), kIprRates.end(), s.ipr) == kIprRates.end())
    throw std::out_of_range(fmt::format("ipr is {}, not a rate AT+IPR takes", s.ipr));
  const json& apn = j.at("fota_apn");
  s.fota_apn.ip_type = narrow<int>(apn, "fota_apn", "ip_type", 0, 2);
  s.fota_apn.apn = text(apn, "fota_apn", "apn", 99);
  s.fota_apn.username = text(apn, "fota_apn", "username", 127);
  s.fota_apn.password = text(apn, "fota_apn", "password", 127);
  if (j.contains("lwm2m")) s.lwm2m = lwm2m_from_json(j.at("lwm2m"));
  if (j.contains("pdp")) s.pdp = pdp_from_json(j.at("pdp"));
  if (j.contains("qcfg")) s.qcfg = strings_from_json(j.at("qcfg"), "qcfg");
  if (j.contains("at_nv")) s.at_nv = strings_from_json(j.at("at_nv"), "at_nv");
  return s;
}

}  // namespace

util::Expected<Settings> load_settings(const std::filesystem::path& file) {
  auto text = read_settings_file(file);
  if (!text) return util::Error{text.error()};
  try {
    const json j = json::parse(*text);
    if (j.at("format").get<int>() != Settings::kFormat)
      return util::Error{
          fmt::format("{}: unsupported settings format {}", file.string(), j.at("format").dump())};
    return settings_from_json(j);
  } catch (const std::exception& e) {
    return util::Error{fmt::format("{}: corrupt settings: {}", file.string(), e.what())};
  }
}

void save_settings(const std::filesystem::path& file, const Settings& s) {
  const json j = {
      {"format", Settings::kFormat},
      {"model", s.model},
      {"identity",
       {{"imei", s.identity.imei}, {"imsi", s.identity.imsi}, {"iccid", s.identity.iccid}}},
      {"profile", profile_to_json(s.saved_profile)},
      {"ipr", s.ipr},
      {"fota_apn",
       {{"ip_type", s.fota_apn.ip_type},
        {"apn", s.fota_apn.apn},
        {"username", s.fota_apn.username},
        {"password", s.fota_apn.password}}},
      {"lwm2m", lwm2m_to_json(s.lwm2m)},
      {"pdp", pdp_to_json(s.pdp)},
      {"qcfg", s.qcfg},
      {"at_nv", s.at_nv},
  };
  const std::string text = j.dump(2) + "\n";
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), tmp.string());
  const ssize_t n = ::write(fd, text.data(), text.size());
  // A short write is a full disk.
  int error = n < 0 ? errno : n != static_cast<ssize_t>(text.size()) ? ENOSPC : 0;
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  ::close(fd);
  if (error != 0) {
    ::unlink(tmp.c_str());  // the old file stays whole; no half-written copy beside it
    throw std::system_error(error, std::generic_category(), tmp.string());
  }
  std::filesystem::rename(tmp, file);
}

bool storable_text(std::string_view text) {
  try {
    (void)json(std::string(text)).dump();  // what save_settings does with it
    return true;
  } catch (const json::type_error&) {
    return false;  // not UTF-8
  }
}

char luhn_digit(std::string_view digits) {
  int sum = 0;
  // Double every second digit counting from the right of the full number (check digit last).
  for (std::size_t i = 0; i < digits.size(); ++i) {
    int d = digits[digits.size() - 1 - i] - '0';
    if (i % 2 == 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool luhn_valid(std::string_view digits) {
  if (digits.size() < 2) return false;
  return luhn_digit(digits.substr(0, digits.size() - 1)) == digits.back();
}

std::string make_imei(std::string_view tac, std::uint32_t serial) {
  std::string body = fmt::format("{}{:06d}", tac, serial % 1000000);
  return body + luhn_digit(body);
}

Identity default_identity(std::uint32_t index) {
  Identity id;
  id.imei = make_imei("86534104", 6281 + index);
  id.imsi = fmt::format("50501{:010d}", 3123456789ull % 10000000000ull + index);
  const std::string iccid = fmt::format("89610180{:010d}", 4154000012ull + index);
  id.iccid = iccid + luhn_digit(iccid) + "F";
  return id;
}

}  // namespace bg95::state
