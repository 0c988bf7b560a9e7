#include "sim/fleet/identity_range.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "sim/state/settings.hpp"

namespace bg95::fleet {
namespace {

bool digits(std::string_view s, std::size_t n) {
  return s.size() == n &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::uint64_t number(std::string_view s) {
  std::uint64_t v = 0;
  for (const char c : s)
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

// `prefix` unchanged, the last `width` digits counted up by `offset`.
util::Expected<std::string> step(std::string_view first, std::size_t width, std::uint64_t offset,
                                 const char* what) {
  const std::string_view prefix = first.substr(0, first.size() - width);
  const std::uint64_t start = number(first.substr(first.size() - width));
  std::uint64_t limit = 1;
  for (std::size_t i = 0; i < width; ++i)
    limit *= 10;
  if (offset >= limit - start)
    return util::Error{
        fmt::format("the {} ({} digits, from {:0{}}) runs out after {} of {} modules", what, width,
                    start, width, limit - start, offset + 1)};
  return fmt::format("{}{:0{}}", prefix, start + offset, width);
}

std::string_view iccid_digits(std::string_view iccid) {
  if (!iccid.empty() && (iccid.back() == 'F' || iccid.back() == 'f')) iccid.remove_suffix(1);
  return iccid;
}

}  // namespace

util::Expected<bool> check_imei(std::string_view imei) {
  if (!digits(imei, 15)) return util::Error{"an IMEI has 15 digits"};
  if (!state::luhn_valid(imei))
    return util::Error{fmt::format("the IMEI's check digit (Luhn) should be {}",
                                   state::luhn_digit(imei.substr(0, 14)))};
  return true;
}

util::Expected<bool> check_imsi(std::string_view imsi) {
  if (!digits(imsi, 15)) return util::Error{"an IMSI has 15 digits"};
  return true;
}

util::Expected<bool> check_iccid(std::string_view iccid) {
  const std::string_view d = iccid_digits(iccid);
  if (!digits(d, 19)) return util::Error{"an ICCID has 19 digits (and may end in F)"};
  if (!state::luhn_valid(d))
    return util::Error{fmt::format("the ICCID's check digit (Luhn) should be {}",
                                   state::luhn_digit(d.substr(0, 18)))};
  return true;
}

util::Expected<std::string> nth_imei(std::string_view first, std::uint64_t offset) {
  // TAC (8 digits) and serial number (6); the check digit is made again.
  auto body = step(first.substr(0, 14), 6, offset, "IMEI serial number");
  if (!body) return body;
  return *body + state::luhn_digit(*body);
}

util::Expected<std::string> nth_imsi(std::string_view first, std::uint64_t offset) {
  // MCC, MNC and at least 9 digits of subscriber number: only those 9 count.
  return step(first, 9, offset, "IMSI subscriber number");
}

util::Expected<std::string> nth_iccid(std::string_view first, std::uint64_t offset) {
  // Issuer prefix and a 10-digit account number; the check digit is made again.
  auto body = step(iccid_digits(first).substr(0, 18), 10, offset, "ICCID account number");
  if (!body) return body;
  return *body + state::luhn_digit(*body) + "F";
}

}  // namespace bg95::fleet
