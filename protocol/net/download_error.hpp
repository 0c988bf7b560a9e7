#pragma once
// <http_err>/<coap_err> of the note's chapter 5 (Table 1): one set of codes for every download
// protocol, so the module reports HTTP and CoAP failures alike. The numbers are those of
// FotaError (fota_error.hpp); these names are what the downloaders and the module compare.

#include "protocol/net/fota_error.hpp"

namespace bg95::net::download_err {

inline constexpr int kOk = code(FotaError::Ok);
inline constexpr int kUnknown = code(FotaError::DownloadUnknown);
inline constexpr int kConnectFailed = code(FotaError::ConnectFailed);
inline constexpr int kRequestFailed = code(FotaError::RequestFailed);
inline constexpr int kTimeout = code(FotaError::DownloadTimeout);
inline constexpr int kUrlError = code(FotaError::UrlError);
inline constexpr int kNotFound = code(FotaError::NotFound);
inline constexpr int kWriteFailed = code(FotaError::WriteFailed);
inline constexpr int kTooLarge = code(FotaError::TooLarge);
inline constexpr int kPackageCheck = code(FotaError::PackageCheck);

}  // namespace bg95::net::download_err
