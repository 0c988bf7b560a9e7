#pragma once
// Every error number of the DFOTA application note ("the note"), typed and in one place. Its
// chapter 5 gives three tables: the download errors (Table 1), the update results (Table 2)
// and the ME errors of AT+QFOTADL (Table 3). The module writes them as numbers, in +QIND URCs
// and +CME ERROR, so code() gives the number; the named constants of download_error.hpp and
// result_codes.hpp (cme::kDfota*) are made from these.

namespace bg95::net {

enum class FotaError : int {
  Ok = 0,  // no error: "HTTPEND",0, "COAPEND",0, "END",0

  // <err> of +QIND: "FOTA","END",<err>: the update's result (chapter 5, Table 2).
  UpdateFailed = 504,              // firmware update failed (a flash operation)
  UpdateNoPackage = 505,           // update package does not exist
  UpdatePackageCheckFailed = 506,  // update package check failed (header, integrity, payload)
  UpdateMismatch = 511,            // the package is not for this firmware (its source differs)
  UpdateUnknown = 512,             // DFOTA unknown error

  // +CME ERROR: <err> of AT+QFOTADL (chapter 5, Table 3; the commands of 2.2.1.4).
  InvalidParameter = 590,  // input parameter invalid
  Ongoing = 591,           // DFOTA is ongoing (a download, upload or update)

  // <http_err> / <coap_err> of +QIND: "FOTA","HTTPEND" / "COAPEND" (chapter 5, Table 1): one
  // set for every download protocol, so the module reports HTTP and CoAP failures alike.
  DownloadUnknown = 701,  // unknown error
  ConnectFailed = 702,    // server connection failed
  RequestFailed = 703,    // request failed
  DownloadTimeout = 704,  // download timeout
  UrlError = 705,         // URL error
  NotFound = 706,         // file does not exist
  WriteFailed = 707,      // write data to file failed
  TooLarge = 708,         // downloaded file is too large
  PackageCheck = 710,     // downloaded package check failed
};

// The number the module writes for `error`.
constexpr int code(FotaError error) {
  return static_cast<int>(error);
}

}  // namespace bg95::net
