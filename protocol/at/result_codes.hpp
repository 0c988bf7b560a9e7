#pragma once
// The one table of exact response formats: result codes, +CME ERROR texts, and the framing
// of information text and URCs in V0/V1. Nothing else in the project writes "\r\n".

#include <string>
#include <string_view>
#include <vector>

#include "protocol/at/dte_profile.hpp"
#include "protocol/net/fota_error.hpp"

namespace bg95::at {

enum class ResultCode { Ok, Connect, Ring, NoCarrier, Error, NoDialtone, Busy, NoAnswer };

// 3GPP 27.007 and Quectel error numbers that the module reports in +CME ERROR.
namespace cme {
inline constexpr int kOperationNotAllowed = 3;
inline constexpr int kOperationNotSupported = 4;
inline constexpr int kSimNotInserted = 10;
inline constexpr int kMemoryFailure = 23;  // e.g. the settings file cannot be written
inline constexpr int kIncorrectParameters = 50;
inline constexpr int kFsInvalidInput = 400;
inline constexpr int kFsFileNotFound = 405;
inline constexpr int kFsInvalidFileName = 406;
inline constexpr int kFsFileExists = 407;
inline constexpr int kFsWriteFailed = 409;
inline constexpr int kFsNoSpace = 420;
inline constexpr int kFsTimeout = 421;
inline constexpr int kFsFileTooLarge = 423;
inline constexpr int kFsInvalidParameter = 425;
// AT+QFOTADL's own (the DFOTA note's Table 3).
inline constexpr int kDfotaInvalidParameter = net::code(net::FotaError::InvalidParameter);
inline constexpr int kDfotaOngoing = net::code(net::FotaError::Ongoing);
}  // namespace cme

// Verbose text for AT+CMEE=2; numbers without a known text print as "unknown error".
std::string_view cme_text(int code);

// Framing of a command's information lines (one block, lines joined by CR LF).
std::string frame_information(const std::vector<std::string>& lines, const DteProfile& p);
// A final result code as it appears on the wire, or "" when ATQ1 suppresses it.
std::string frame_result(ResultCode code, const DteProfile& p);
// "+CME ERROR: <n>" (or the verbose text, or plain ERROR for CMEE=0).
std::string frame_cme_error(int code, const DteProfile& p);
// An unsolicited result code.
std::string frame_urc(std::string_view text, const DteProfile& p);

}  // namespace bg95::at
