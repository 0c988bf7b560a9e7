#pragma once
// The radio network as the module sees it: registration, signal, operator and access
// technology. Options and (later) scenarios change it; the module turns changes into
// +CREG/+CGREG/+CEREG URCs.

#include <functional>
#include <string>

namespace bg95 {

enum class Rat { EMtc, NbIot, Gsm };
// 3GPP 27.007 <stat>
enum class RegStatus {
  NotRegistered = 0,
  Home = 1,
  Searching = 2,
  Denied = 3,
  Unknown = 4,
  Roaming = 5
};

struct NetworkState {
  RegStatus status = RegStatus::Home;
  Rat rat = Rat::EMtc;
  int csq_rssi = 26;  // AT+CSQ <rssi> 0..31
  int rsrp = -87;     // dBm
  int rsrq = -12;     // dB
  int sinr = 111;     // as AT+QCSQ prints it
  std::string operator_name = "Telstra Mobile Telstra";
  std::string plmn = "50501";
  int band = 28;
  int earfcn = 9410;
  std::string tac = "3010";
  std::string cell_id = "8A2C01B";
  int pcid = 267;   // physical cell ID (AT+QENG)
  int srxlev = 47;  // cell selection RX level (AT+QENG)
  // EMM reject cause when registration is denied (AT+CEREG=3/5 show it); 0: none given.
  int reject_cause = 0;
  // The APN the network accepts for data; empty: any. A FOTA APN set with AT+QCFGEXT that
  // differs cannot bring up a bearer.
  std::string accepted_apn;

  bool registered() const { return status == RegStatus::Home || status == RegStatus::Roaming; }
  friend bool operator==(const NetworkState&, const NetworkState&) = default;
};

// The network the module sees right now: what the cell offers, masked by the radio being off.
class NetworkModel {
 public:
  using Observer = std::function<void(const NetworkState& before, const NetworkState& after)>;

  explicit NetworkModel(NetworkState cell = {}) : cell_(std::move(cell)) {}

  // What AT commands report: unregistered while the radio is off.
  NetworkState view() const {
    NetworkState s = cell_;
    if (!radio_on_) s.status = RegStatus::NotRegistered;
    return s;
  }
  const NetworkState& cell() const { return cell_; }
  bool radio_on() const { return radio_on_; }

  void set_cell(NetworkState cell) {
    change([&] { cell_ = std::move(cell); });
  }
  void set_radio(bool on) {
    change([&] { radio_on_ = on; });
  }
  void set_observer(Observer o) { observer_ = std::move(o); }

 private:
  template <typename F>
  void change(F&& f) {
    const NetworkState before = view();
    f();
    const NetworkState after = view();
    if (observer_ && !(before == after)) observer_(before, after);
  }

  NetworkState cell_;
  bool radio_on_ = false;  // off until the module boots
  Observer observer_;
};

// +CGREG's <stat>: LTE-M and NB-IoT have no GPRS attach, so it reports 4 (unknown) while
// registered on them (a real BG95 on LTE-M answers +CGREG: 0,4).
int gprs_status(const NetworkState& s);

const char* rat_name(Rat rat);  // "eMTC", "NBIoT", "GSM"
int rat_act(Rat rat);           // +COPS <AcT>: 8 eMTC, 9 NB-IoT, 0 GSM

}  // namespace bg95
