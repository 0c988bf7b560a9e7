#pragma once
// The TCP/IP and SSL socket stack's limits and error codes: the one table of them (Quectel
// BG95&BG77&BG600L Series TCP/IP Application Note, chapter 2 parameter ranges and chapter 4
// "Summary of Error Codes"; BG96 TCP/IP Application Note where the BG95 note is silent).
// docs/data-services.md lists each with its source.

#include <cstddef>
#include <string_view>

namespace bg95::sockets {

// AT+QISEND <send_length> range 0-1460 (BG95 note, AT+QISEND); AT+QSSLSEND the same (SSL note).
inline constexpr std::size_t kMaxSendLength = 1460;
// AT+QISENDEX <hex_string>: at most 512 bytes (1024 hex digits) (BG96 note, AT+QISENDEX).
inline constexpr std::size_t kMaxSendExLength = 512;
// AT+QIRD <read_length> at most 1500 (BG95 note, AT+QIRD; its example reads 1500).
inline constexpr std::size_t kMaxReadLength = 1500;
// AT+QSSLRECV <read_length> at most 1500 (SSL note, AT+QSSLRECV).
inline constexpr std::size_t kMaxSslReadLength = 1500;
// Neither note gives the buffer sizes; these are the emulator's choice (docs/data-services.md):
// a socket stops reading from the network once this much waits for AT+QIRD (TCP flow control
// then holds the peer back), and AT+QISEND answers SEND FAIL once this much waits to go out.
inline constexpr std::size_t kReceiveBuffer = 64 * 1024;
inline constexpr std::size_t kSendBuffer = 16 * 1024;
// Direct push mode: one +QIURC: "recv" carries at most this many bytes (the AT+QIRD maximum).
inline constexpr std::size_t kMaxPushLength = 1500;

// The error codes of chapter 4 (AT+QIGETERROR, +QIOPEN: <id>,<err>, +QSSLOPEN: <id>,<err>).
enum class Error {
  Ok = 0,
  Unknown = 550,
  OperationBlocked = 551,
  InvalidParameters = 552,
  MemoryNotEnough = 553,
  CreateSocketFailed = 554,
  NotSupported = 555,
  BindFailed = 556,
  ListenFailed = 557,
  WriteFailed = 558,
  ReadFailed = 559,
  AcceptFailed = 560,
  OpenPdpFailed = 561,
  ClosePdpFailed = 562,
  IdInUse = 563,
  DnsBusy = 564,
  DnsParseFailed = 565,
  ConnectFailed = 566,
  SocketClosed = 567,
  OperationBusy = 568,
  Timeout = 569,
  PdpBroken = 570,
  SendCancelled = 571,
  NotAllowed = 572,
  ApnNotConfigured = 573,
  PortBusy = 574,
};

inline constexpr int code(Error e) {
  return static_cast<int>(e);
}
// The <errcode_description> AT+QIGETERROR prints for `code`; "unknown error" for others.
std::string_view error_text(int code);

}  // namespace bg95::sockets
