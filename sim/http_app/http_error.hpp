#pragma once
// The <err> codes of the HTTP(S) application (AT+QHTTP*): Quectel BG95&BG77 HTTP(S)
// Application Note V1.0, "Summary of Error Codes" (the same table as the BG96 HTTP(S) AT
// Commands Manual V1.0). They are the first number of +QHTTPGET, +QHTTPPOST,
// +QHTTPPOSTFILE, +QHTTPREAD and +QHTTPREADFILE, and the <err> of "+CME ERROR: <err>".
//
// The DFOTA application note gives 701-708 other meanings (protocol/net/fota_error.hpp,
// download_error.hpp): the two tables are kept apart on purpose; nothing converts one into
// the other.

namespace bg95::http_app {

enum class HttpError : int {
  Ok = 0,
  Unknown = 701,              // HTTP(S) unknown error
  Timeout = 702,              // HTTP(S) timeout
  Busy = 703,                 // HTTP(S) busy
  UartBusy = 704,             // HTTP(S) UART busy
  NoRequest = 705,            // HTTP(S) no GET/POST/PUT requests
  NetworkBusy = 706,          // HTTP(S) network busy
  NetworkOpenFailed = 707,    // HTTP(S) network open failed
  NetworkNoConfig = 708,      // HTTP(S) network no configuration
  NetworkDeactivated = 709,   // HTTP(S) network deactivated
  NetworkError = 710,         // HTTP(S) network error
  UrlError = 711,             // HTTP(S) URL error
  EmptyUrl = 712,             // HTTP(S) empty URL
  IpAddressError = 713,       // HTTP(S) IP address error
  DnsError = 714,             // HTTP(S) DNS error
  SocketCreateError = 715,    // HTTP(S) socket create error
  SocketConnectError = 716,   // HTTP(S) socket connect error
  SocketReadError = 717,      // HTTP(S) socket read error
  SocketWriteError = 718,     // HTTP(S) socket write error
  SocketClosed = 719,         // HTTP(S) socket closed
  DataEncodeError = 720,      // HTTP(S) data encode error
  DataDecodeError = 721,      // HTTP(S) data decode error
  ReadTimeout = 722,          // HTTP(S) read timeout
  ResponseFailed = 723,       // HTTP(S) response failed
  IncomingCallBusy = 724,     // Incoming call busy
  VoiceCallBusy = 725,        // Voice call busy
  InputTimeout = 726,         // Input timeout
  WaitDataTimeout = 727,      // Wait data timeout
  WaitResponseTimeout = 728,  // Wait HTTP(S) response timeout
  MemoryAllocFailed = 729,    // Memory allocation failed
  InvalidParameter = 730,     // Invalid parameter
};

constexpr int code(HttpError e) {
  return static_cast<int>(e);
}

}  // namespace bg95::http_app
