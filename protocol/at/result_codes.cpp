#include "protocol/at/result_codes.hpp"

#include <array>
#include <utility>

namespace bg95::at {
namespace {

struct ResultText {
  ResultCode code;
  std::string_view text;
  int number;  // ATV0 numeric form
};

constexpr std::array kResults{
    ResultText{ResultCode::Ok, "OK", 0},       ResultText{ResultCode::Connect, "CONNECT", 1},
    ResultText{ResultCode::Ring, "RING", 2},   ResultText{ResultCode::NoCarrier, "NO CARRIER", 3},
    ResultText{ResultCode::Error, "ERROR", 4}, ResultText{ResultCode::NoDialtone, "NO DIALTONE", 6},
    ResultText{ResultCode::Busy, "BUSY", 7},   ResultText{ResultCode::NoAnswer, "NO ANSWER", 8},
};

constexpr std::array<std::pair<int, std::string_view>, 34> kCmeTexts{{
    {0, "phone failure"},
    {1, "no connection to phone"},
    {3, "operation not allowed"},
    {4, "operation not supported"},
    {10, "SIM not inserted"},
    {11, "SIM PIN required"},
    {13, "SIM failure"},
    {14, "SIM busy"},
    {20, "memory full"},
    {21, "invalid index"},
    {23, "memory failure"},
    {30, "no network service"},
    {31, "network timeout"},
    {50, "Incorrect parameters"},
    {100, "unknown"},
    {400, "invalid input value"},
    {401, "larger than the size of the file"},
    {402, "read zero byte"},
    {403, "drive full"},
    {405, "file not found"},
    {406, "invalid file name"},
    {407, "file already existed"},
    {409, "fail to write the file"},
    {410, "fail to open the file"},
    {411, "fail to read the file"},
    {413, "reach the max number of file allowed to be opened"},
    {414, "the file read-only"},
    {416, "invalid file descriptor"},
    {417, "fail to list the file"},
    {418, "fail to delete the file"},
    {420, "no space"},
    {421, "time out"},
    {423, "file too large"},
    {425, "invalid parameter"},
}};

constexpr std::array<std::pair<int, std::string_view>, 3> kQuectelTexts{{
    {426, "file already opened"},
    {cme::kDfotaInvalidParameter, "DFOTA input parameter invalid"},
    {cme::kDfotaOngoing, "DFOTA is ongoing"},
}};

}  // namespace

std::string_view cme_text(int code) {
  for (const auto& [number, text] : kCmeTexts)
    if (number == code) return text;
  for (const auto& [number, text] : kQuectelTexts)
    if (number == code) return text;
  return "unknown error";
}

std::string frame_information(const std::vector<std::string>& lines, const DteProfile& p) {
  if (lines.empty()) return {};
  const std::string crlf{static_cast<char>(p.s3), static_cast<char>(p.s4)};
  std::string out = p.verbose ? crlf : std::string{};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out += crlf;
    out += lines[i];
  }
  out += crlf;
  return out;
}

std::string frame_result(ResultCode code, const DteProfile& p) {
  if (p.quiet) return {};
  for (const auto& r : kResults) {
    if (r.code != code) continue;
    if (!p.verbose) return std::to_string(r.number) + static_cast<char>(p.s3);
    const std::string crlf{static_cast<char>(p.s3), static_cast<char>(p.s4)};
    return crlf + std::string(r.text) + crlf;
  }
  return {};
}

std::string frame_cme_error(int code, const DteProfile& p) {
  if (p.cmee == CmeMode::Disabled) return frame_result(ResultCode::Error, p);
  if (p.quiet) return {};
  const std::string crlf{static_cast<char>(p.s3), static_cast<char>(p.s4)};
  const std::string body = p.cmee == CmeMode::Verbose ? "+CME ERROR: " + std::string(cme_text(code))
                                                      : "+CME ERROR: " + std::to_string(code);
  return (p.verbose ? crlf : std::string{}) + body + crlf;
}

std::string frame_urc(std::string_view text, const DteProfile& p) {
  const std::string crlf{static_cast<char>(p.s3), static_cast<char>(p.s4)};
  return (p.verbose ? crlf : std::string{}) + std::string(text) + crlf;
}

}  // namespace bg95::at
