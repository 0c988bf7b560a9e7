#include "sim/sockets/socket_limits.hpp"

#include <array>
#include <utility>

namespace bg95::sockets {
namespace {

// Chapter 4 of the TCP/IP note, in its words (lower case as AT+QIGETERROR prints them). 0 is
// not in the chapter; "operate successfully" is how driver test fixtures quote the module.
constexpr std::array<std::pair<Error, std::string_view>, 26> kTexts{{
    {Error::Ok, "operate successfully"},
    {Error::Unknown, "unknown error"},
    {Error::OperationBlocked, "operation blocked"},
    {Error::InvalidParameters, "invalid parameters"},
    {Error::MemoryNotEnough, "memory not enough"},
    {Error::CreateSocketFailed, "create socket failed"},
    {Error::NotSupported, "operation not supported"},
    {Error::BindFailed, "socket bind failed"},
    {Error::ListenFailed, "socket listen failed"},
    {Error::WriteFailed, "socket write failed"},
    {Error::ReadFailed, "socket read failed"},
    {Error::AcceptFailed, "socket accept failed"},
    {Error::OpenPdpFailed, "open PDP context failed"},
    {Error::ClosePdpFailed, "close PDP context failed"},
    {Error::IdInUse, "socket identity has been used"},
    {Error::DnsBusy, "DNS busy"},
    {Error::DnsParseFailed, "DNS parse failed"},
    {Error::ConnectFailed, "socket connect failed"},
    {Error::SocketClosed, "socket has been closed"},
    {Error::OperationBusy, "operation busy"},
    {Error::Timeout, "operation timeout"},
    {Error::PdpBroken, "PDP context broken down"},
    {Error::SendCancelled, "cancel send"},
    {Error::NotAllowed, "operation not allowed"},
    {Error::ApnNotConfigured, "APN not configured"},
    {Error::PortBusy, "port busy"},
}};

}  // namespace

std::string_view error_text(int code) {
  for (const auto& [e, text] : kTexts)
    if (static_cast<int>(e) == code) return text;
  return "unknown error";
}

}  // namespace bg95::sockets
