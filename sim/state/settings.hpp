#pragma once
// The module's non-volatile settings: what a real module keeps in its NV items across power
// cycles (identity, the AT&W profile, AT+IPR, AT+QCFGEXT="fota_apn"). Stored as JSON in the
// state folder, written atomically (temp file + rename) so a crash never leaves half a file.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

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

// LwM2M client (AT+QLWCFG / AT+QLWSVC, docs/lwm2m.md). A settings file without this section
// (written before LwM2M existed) loads with these defaults.
struct Lwm2mSettings {
  // AT+QLWCFG="security": the one Security (/0/0) and Server (/1/0) instance.
  int ssid = 0;               // Security object instance
  int short_server_id = 123;  // /0/0/10 and /1/0/0
  std::string server_uri;     // /0/0/0, empty: not configured
  bool bootstrap = false;     // /0/0/1 (bootstrap servers are not supported)
  int security_mode = 3;      // /0/0/2: 0 PSK, 3 NoSec
  std::string psk_id;         // /0/0/3
  std::string psk;            // /0/0/5 as hex digits
  // AT+QLWCFG="epns": 0 the endpoint name is derived from the IMEI, 1 the names given here.
  int epns_mode = 0;
  std::string bs_epname;
  std::string reg_epname;
  // AT+QLWCFG="server": /1/0/1 lifetime, /1/0/2 default pmin, /1/0/3 default pmax, /1/0/7.
  std::uint32_t lifetime = 86400;
  std::uint32_t default_pmin = 0;
  std::uint32_t default_pmax = 0;
  std::string binding = "U";
  int version = 0;          // AT+QLWCFG="version": 0 LwM2M 1.0, 1 LwM2M 1.1
  bool registered = false;  // AT+QLWSVC="reg" until "dereg": registers again after a boot
  friend bool operator==(const Lwm2mSettings&, const Lwm2mSettings&) = default;
};

// One PDP context definition (AT+CGDCONT, AT+QICSGP): kept across power cycles.
struct PdpProfile {
  std::string type = "IP";  // IP, IPV6, IPV4V6, Non-IP (as AT+CGDCONT writes it)
  std::string apn;
  std::string username;
  std::string password;
  int auth = 0;  // AT+QICSGP <authentication>: 0 none, 1 PAP, 2 CHAP, 3 PAP or CHAP
  friend bool operator==(const PdpProfile&, const PdpProfile&) = default;
};

struct Settings {
  static constexpr int kFormat = 1;
  std::string model = "BG95-M3";
  Identity identity;
  at::DteProfile saved_profile;  // restored by ATZ and at boot
  std::uint32_t ipr = 115200;
  FotaApn fota_apn;
  Lwm2mSettings lwm2m;
  // Defined PDP contexts by <cid> (1-15). A new module has context 1, IPv4v6 with an empty
  // APN (the network's default APN). A file without this section loads with that default.
  std::map<int, PdpProfile> pdp{{1, PdpProfile{"IPV4V6", "", "", "", 0}}};
  // AT+QCFG settings the module keeps across power cycles, by name, as the values the read
  // form prints after the name (e.g. "nwscanseq" -> "020301"); absent: the default.
  std::map<std::string, std::string> qcfg;
  // Other stored AT settings by command (e.g. "+CTZU" -> "1", "+CPSMS" -> "1,,,\"00000100\",...").
  std::map<std::string, std::string> at_nv;
};

// The rates AT+IPR takes besides 0 (autobauding), in ascending order.
inline constexpr std::array<std::uint32_t, 10> kIprRates{4800,   9600,   19200,  38400,  57600,
                                                         115200, 230400, 460800, 921600, 3000000};

// Every field is checked: a value of the wrong type or outside what the commands that set it
// take is an error naming the field. Only a regular file is read (a FIFO is an error at once).
util::Expected<Settings> load_settings(const std::filesystem::path& file);
// Throws std::system_error when the file cannot be written.
void save_settings(const std::filesystem::path& file, const Settings& settings);

// True when `text` can be kept in the settings file: its strings are JSON, hence UTF-8. A
// command refuses other bytes with its error rather than take a value it could not save.
bool storable_text(std::string_view text);

// An IMEI from an 8-digit TAC and a 6-digit serial, with its Luhn check digit.
std::string make_imei(std::string_view tac, std::uint32_t serial);
bool luhn_valid(std::string_view digits);
char luhn_digit(std::string_view digits_without_check);
Identity default_identity(std::uint32_t index);

}  // namespace bg95::state
