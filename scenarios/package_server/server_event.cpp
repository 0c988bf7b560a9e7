#include "scenarios/package_server/server_event.hpp"

namespace bg95::pkgserver {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::Complete:
      return "complete";
    case Outcome::Truncated:
      return "truncated";
    case Outcome::Stalled:
      return "stalled";
    case Outcome::Closed:
      return "closed";
    case Outcome::NoResponse:
      return "no-response";
    case Outcome::Dropped:
      return "dropped";
    case Outcome::Refused:
      return "refused";
    case Outcome::HandshakeFailed:
      return "handshake-failed";
  }
  return "?";
}

namespace {

// 404 -> "4.04": CoAP codes are written class.detail.
std::string coap_code(int code) {
  const int detail = code % 100;
  return std::to_string(code / 100) + (detail < 10 ? ".0" : ".") + std::to_string(detail);
}

}  // namespace

std::string to_string(const ServerEvent& e) {
  std::string line(to_string(e.protocol));
  line += ' ';
  line += e.peer.empty() ? "-" : e.peer;
  line += ' ';
  line += e.method.empty() ? "-" : e.method;
  line += ' ';
  line += e.path.empty() ? "-" : e.path;
  if (e.range_first && e.range_last) {
    line += " range=" + std::to_string(*e.range_first) + "-" + std::to_string(*e.range_last);
  }
  if (e.block) {
    line += " block=" + std::to_string(*e.block) + "/" + std::to_string(e.block_size);
  }
  line += " -> ";
  if (e.status == 0) {
    line += "-";
  } else {
    line += is_coap(e.protocol) ? coap_code(e.status) : std::to_string(e.status);
  }
  line += " " + std::to_string(e.bytes_sent) + " bytes ";
  line += to_string(e.outcome);
  if (!e.faults.empty()) {
    line += " [";
    for (std::size_t i = 0; i < e.faults.size(); ++i) {
      if (i > 0) line += ' ';
      line += e.faults[i];
    }
    line += ']';
  }
  if (!e.detail.empty()) line += " (" + e.detail + ")";
  return line;
}

}  // namespace bg95::pkgserver
