#pragma once
// Identities of a range of modules, counted up from a first one: the IMEI's serial number
// (with a new Luhn check digit), the IMSI's subscriber number, the ICCID's account number
// (with a new Luhn check digit). A range that would run out of digits is refused rather than
// wrapped into another TAC, network or issuer.

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/util/expected.hpp"

namespace bg95::fleet {

// The checks of a first identity; the error says what is wrong with it.
util::Expected<bool> check_imei(std::string_view imei);    // 15 digits, Luhn
util::Expected<bool> check_imsi(std::string_view imsi);    // 15 digits
util::Expected<bool> check_iccid(std::string_view iccid);  // 19 digits, Luhn, optional F

// The identity `offset` places after `first` (already checked), or an error when the range
// runs out of digits.
util::Expected<std::string> nth_imei(std::string_view first, std::uint64_t offset);
util::Expected<std::string> nth_imsi(std::string_view first, std::uint64_t offset);
// As AT+QCCID prints it: 19 digits and 'F'.
util::Expected<std::string> nth_iccid(std::string_view first, std::uint64_t offset);

}  // namespace bg95::fleet
