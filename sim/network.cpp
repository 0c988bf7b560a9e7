#include "sim/network.hpp"

namespace bg95 {

int gprs_status(const NetworkState& s) {
  return s.rat == Rat::Gsm || !s.registered() ? static_cast<int>(s.status) : 4;
}

const char* rat_name(Rat rat) {
  switch (rat) {
    case Rat::EMtc:
      return "eMTC";
    case Rat::NbIot:
      return "NBIoT";
    case Rat::Gsm:
      return "GSM";
  }
  return "eMTC";
}

int rat_act(Rat rat) {
  switch (rat) {
    case Rat::EMtc:
      return 8;
    case Rat::NbIot:
      return 9;
    case Rat::Gsm:
      return 0;
  }
  return 8;
}

}  // namespace bg95
