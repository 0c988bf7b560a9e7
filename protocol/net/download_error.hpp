#pragma once
// <http_err>/<coap_err> of the note's chapter 5 (Table 1): one set of codes for every download
// protocol, so the module reports HTTP and CoAP failures alike.

namespace bg95::net::download_err {

inline constexpr int kOk = 0;
inline constexpr int kUnknown = 701;
inline constexpr int kConnectFailed = 702;  // server connection failed
inline constexpr int kRequestFailed = 703;  // request failed
inline constexpr int kTimeout = 704;        // download timeout
inline constexpr int kUrlError = 705;       // URL error
inline constexpr int kNotFound = 706;       // file does not exist
inline constexpr int kWriteFailed = 707;    // write data to file failed
inline constexpr int kTooLarge = 708;       // downloaded file is too large
inline constexpr int kPackageCheck = 710;   // downloaded package check failed

}  // namespace bg95::net::download_err
