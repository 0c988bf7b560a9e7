#include "sim/state/settings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <system_error>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bg95::state {
namespace {

using nlohmann::json;

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
  p.echo = j.at("echo").get<bool>();
  p.verbose = j.at("verbose").get<bool>();
  p.quiet = j.at("quiet").get<bool>();
  const int cmee = j.at("cmee").get<int>();
  if (cmee < 0 || cmee > 2) throw std::out_of_range("cmee must be 0..2");
  p.cmee = static_cast<at::CmeMode>(cmee);
  p.s3 = j.at("s3").get<std::uint8_t>();
  p.s4 = j.at("s4").get<std::uint8_t>();
  p.s5 = j.at("s5").get<std::uint8_t>();
  p.dtr_mode = j.at("dtr_mode").get<std::uint8_t>();
  p.dcd_mode = j.at("dcd_mode").get<std::uint8_t>();
  if (p.dtr_mode > 2 || p.dcd_mode > 1) throw std::out_of_range("&D must be 0..2, &C 0..1");
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

// Every field optional: a missing one keeps its default.
Lwm2mSettings lwm2m_from_json(const json& j) {
  Lwm2mSettings l;
  auto get = [&j](const char* key, auto& field) {
    if (j.contains(key)) field = j.at(key).get<std::remove_reference_t<decltype(field)>>();
  };
  get("ssid", l.ssid);
  get("short_server_id", l.short_server_id);
  get("server_uri", l.server_uri);
  get("bootstrap", l.bootstrap);
  get("security_mode", l.security_mode);
  get("psk_id", l.psk_id);
  get("psk", l.psk);
  get("epns_mode", l.epns_mode);
  get("bs_epname", l.bs_epname);
  get("reg_epname", l.reg_epname);
  get("lifetime", l.lifetime);
  get("default_pmin", l.default_pmin);
  get("default_pmax", l.default_pmax);
  get("binding", l.binding);
  get("version", l.version);
  get("registered", l.registered);
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
    p.type = v.at("type").get<std::string>();
    if (p.type != "IP" && p.type != "IPV6" && p.type != "IPV4V6" && p.type != "Non-IP")
      throw std::out_of_range("pdp." + key + ".type must be IP, IPV6, IPV4V6 or Non-IP");
    p.apn = v.at("apn").get<std::string>();
    p.username = v.at("username").get<std::string>();
    p.password = v.at("password").get<std::string>();
    p.auth = v.at("auth").get<int>();
    if (p.auth < 0 || p.auth > 3) throw std::out_of_range("pdp." + key + ".auth must be 0..3");
    if (p.apn.size() > 99 || p.username.size() > 127 || p.password.size() > 127)
      throw std::out_of_range("pdp." + key + ": APN, username or password too long");
    pdp[cid] = std::move(p);
  }
  return pdp;
}

std::map<std::string, std::string> strings_from_json(const json& j, const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& [key, v] : j.items()) {
    if (key.empty() || key.size() > 64) throw std::out_of_range(std::string(what) + ": bad name");
    std::string value = v.get<std::string>();
    if (value.size() > 256) throw std::out_of_range(std::string(what) + "." + key + " too long");
    out[key] = std::move(value);
  }
  return out;
}

bool all_digits(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

util::Expected<Settings> load_settings(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return util::Error{fmt::format("{}: cannot read", file.string())};
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json j = json::parse(text.str());
    if (j.at("format").get<int>() != Settings::kFormat)
      return util::Error{
          fmt::format("{}: unsupported settings format {}", file.string(), j.at("format").dump())};
    Settings s;
    s.model = j.at("model").get<std::string>();
    const json& id = j.at("identity");
    s.identity.imei = id.at("imei").get<std::string>();
    s.identity.imsi = id.at("imsi").get<std::string>();
    s.identity.iccid = id.at("iccid").get<std::string>();
    if (!all_digits(s.identity.imei, 15) || !luhn_valid(s.identity.imei))
      return util::Error{
          fmt::format("{}: identity.imei is not a valid 15-digit IMEI", file.string())};
    if (!all_digits(s.identity.imsi, 15))
      return util::Error{fmt::format("{}: identity.imsi is not 15 digits", file.string())};
    s.saved_profile = profile_from_json(j.at("profile"));
    s.ipr = j.at("ipr").get<std::uint32_t>();
    const json& apn = j.at("fota_apn");
    s.fota_apn.ip_type = apn.at("ip_type").get<int>();
    if (s.fota_apn.ip_type < 0 || s.fota_apn.ip_type > 2) throw std::out_of_range("ip_type");
    s.fota_apn.apn = apn.at("apn").get<std::string>();
    s.fota_apn.username = apn.at("username").get<std::string>();
    s.fota_apn.password = apn.at("password").get<std::string>();
    if (j.contains("lwm2m")) s.lwm2m = lwm2m_from_json(j.at("lwm2m"));
    if (j.contains("pdp")) s.pdp = pdp_from_json(j.at("pdp"));
    if (j.contains("qcfg")) s.qcfg = strings_from_json(j.at("qcfg"), "qcfg");
    if (j.contains("at_nv")) s.at_nv = strings_from_json(j.at("at_nv"), "at_nv");
    return s;
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
  const bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::system_error(errno, std::generic_category(), tmp.string());
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
