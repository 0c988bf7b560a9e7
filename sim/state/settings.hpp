#pragma once
// The module's non-volatile settings: what a real module keeps in its NV items across power
// cycles (identity, the AT&W profile, AT+IPR, AT+QCFGEXT="fota_apn"). Stored as JSON in the
// state folder, written atomically (temp file + rename) so a crash never leaves half a file.

#include <cstdint>
#include <filesystem>
#include <string>

#include "protocol/at/dte_profile.hpp"
#include "sim/util/expected.hpp"

namespace bg95::state {

struct Identity {
  std::string imei;   // 15 digits, Luhn check digit last
  std::string imsi;   // 15 digits
  std::string iccid;  // 19 digits + 'F' as AT+QCCID prints it
};

struct FotaApn {
  int ip_type = 0;  // 0 IPv4, 1 IPv6, 2 IPv4v6
  std::string apn;
  std::string username;
  std::string password;
  friend bool operator==(const FotaApn&, const FotaApn&) = default;
};

struct Settings {
  static constexpr int kFormat = 1;
  std::string model = "BG95-M3";
  Identity identity;
  at::DteProfile saved_profile;  // restored by ATZ and at boot
  std::uint32_t ipr = 115200;
  FotaApn fota_apn;
};

util::Expected<Settings> load_settings(const std::filesystem::path& file);
// Throws std::system_error when the file cannot be written.
void save_settings(const std::filesystem::path& file, const Settings& settings);

// An IMEI from an 8-digit TAC and a 6-digit serial, with its Luhn check digit.
std::string make_imei(std::string_view tac, std::uint32_t serial);
bool luhn_valid(std::string_view digits);
char luhn_digit(std::string_view digits_without_check);
Identity default_identity(std::uint32_t index);

}  // namespace bg95::state
