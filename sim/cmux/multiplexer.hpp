#pragma once
// The module's side of a 27.010 basic-option multiplexer on one of its ports (docs/cmux-ppp.md).
// AT+CMUX answers OK, the port's engine enters Cmux and hands every byte here; this decodes the
// frames, answers the control channel (DLCI 0) and runs one AT engine per open DLC on the same
// command table, whose output goes back in UIH frames. It ends itself (CLD, DISC on DLCI 0,
// the module closing it) through the DataLink, and the port speaks plain AT again.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "protocol/at/data_session.hpp"
#include "protocol/at/dte_profile.hpp"
#include "protocol/at/engine.hpp"
#include "protocol/cmux/control.hpp"
#include "protocol/cmux/frame.hpp"

namespace bg95::cmux {

// AT+CMUX's parameters (27.007 5.7); defaults as the read command prints them.
struct Parameters {
  int mode = 0;        // basic option
  int subset = 0;      // UIH frames only
  int port_speed = 5;  // 115200 bit/s
  int n1 = 127;        // the longest information field
  int t1 = 10;         // acknowledgement timer, 10 ms units
  int n2 = 3;          // retransmissions
  int t2 = 30;         // control channel response timer, 10 ms units
  int t3 = 10;         // wake up response timer, seconds
  int k = 2;           // window size (advanced option only)
};

// The DLCs a host may open: 1..kMaxDlci (docs/cmux-ppp.md says where the number comes from).
inline constexpr std::uint8_t kMaxDlci = 4;

class Multiplexer : public at::DataSession, public std::enable_shared_from_this<Multiplexer> {
 public:
  struct Hooks {
    // The AT engine of a DLC, set up as the module sets up its ports (timing, observers);
    // `name` is what observers see ("cmux1").
    std::function<std::unique_ptr<at::AtEngine>(const std::string& name, at::DteProfile& profile,
                                                at::AtEngine::Writer writer)>
        make_engine;
    // The DLC URCs go to: AT+QCFG="cmux/urcport" (0: the first open DLC).
    std::function<int()> urc_port;
    std::function<void(std::string_view)> log;
  };

  Multiplexer(boost::asio::any_io_executor executor, Parameters parameters, Hooks hooks,
              at::DteProfile profile);
  ~Multiplexer() override;

  // ---- the port's engine (at::DataSession)
  std::size_t on_data(std::string_view bytes) override;
  bool complete() const override { return false; }
  double idle_timeout_seconds() const override { return 0; }
  at::Reply finish(at::DataEnd why) override;
  void attach(at::DataLink link) override { link_ = std::move(link); }
  bool on_urc(std::string_view text) override;

  const Parameters& parameters() const { return parameters_; }
  bool closed() const { return closed_; }
  // The engine of an open DLC (tests, the control socket), or null.
  at::AtEngine* engine(std::uint8_t dlci);
  // As the module does with its ports' engines: before a reset the channels' held answers and
  // URCs go out; what the module does next waits for the channels' URCs to be written.
  void flush_held_urcs();
  void when_urcs_written(std::function<void()> f);

  // ---- faults (sim/faults.cpp)
  // The next `n` frames from the module are lost on the wire.
  void lose_frames(std::uint64_t n) { frames_to_lose_ += n; }
  // The next frame from the module goes out with a corrupt FCS.
  void corrupt_next_fcs() { corrupt_next_ = true; }
  // The module closes the multiplexer: CLD on DLCI 0, then plain AT.
  void close_by_module();

 private:
  struct Channel {
    at::DteProfile profile;
    std::unique_ptr<at::AtEngine> engine;
    Signals from_host;      // the host's last MSC for this DLC
    std::string held;       // output held while the host's FC is set
    bool msc_sent = false;  // the module's own MSC for this DLC
  };

  void on_frame(Frame frame);
  void on_control_frame(const Frame& frame);
  void on_control_message(const Message& message);
  void on_modem_status(const Message& message);
  void on_dlc_frame(const Frame& frame);
  void open_dlc(std::uint8_t dlci, const Frame& sabm);
  void close_dlc(std::uint8_t dlci);
  // A response frame (UA, DM) to the host's command frame, with its P bit as F.
  void respond(const Frame& command, FrameType type);
  void send_control(const Message& message);
  // A DLC's output in UIH frames of at most N1 octets, unless flow control holds it.
  void send_data(std::uint8_t dlci, std::string bytes);
  void resume_output();
  // Every frame from the module passes here: the lost-frame and bad-FCS faults act on it.
  void send(const Frame& frame);
  bool may_send(std::uint8_t dlci) const;
  void end(at::DataEnd why);
  void retire(std::unique_ptr<Channel> channel);
  void log(std::string_view what);

  boost::asio::any_io_executor executor_;
  Parameters parameters_;
  Hooks hooks_;
  at::DteProfile initial_profile_;
  at::DataLink link_;
  Decoder decoder_;
  bool control_open_ = false;    // DLCI 0 established (SABM/UA)
  bool aggregate_stop_ = false;  // FCoff from the host
  bool closed_ = false;
  std::map<std::uint8_t, std::unique_ptr<Channel>> channels_;
  std::uint64_t frames_to_lose_ = 0;
  bool corrupt_next_ = false;
};

}  // namespace bg95::cmux
