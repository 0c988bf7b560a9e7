#pragma once
// The module's LwM2M client (docs/lwm2m.md): the object model of a BG95 (Security /0, Server
// /1, Device /3, Firmware Update /5), the Firmware Update state machine wired to the DFOTA
// service (the note's chapter 3), and the registration that AT+QLWSVC and the --lwm2m-*
// options drive. Lives on the module's executor; follows the module's power (the client is
// silent while the module is off or in DFOTA mode and registers again after a boot).

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "protocol/lwm2m/client.hpp"
#include "protocol/lwm2m/object_model.hpp"
#include "sim/life_guard.hpp"

namespace bg95 {
class Module;
}

namespace bg95::lwm2m {

// Firmware Update object (/5) State and Update Result values (OMA LwM2M 1.0, E.6).
enum class FwState : int { Idle = 0, Downloading = 1, Downloaded = 2, Updating = 3 };
namespace fw_result {
inline constexpr int kInitial = 0;
inline constexpr int kSuccess = 1;
inline constexpr int kNoFlash = 2;
inline constexpr int kNoRam = 3;
inline constexpr int kConnectionLost = 4;
inline constexpr int kIntegrity = 5;
inline constexpr int kUnsupportedType = 6;
inline constexpr int kInvalidUri = 7;
inline constexpr int kUpdateFailed = 8;
inline constexpr int kUnsupportedProtocol = 9;
}  // namespace fw_result

// The Update Result for a DFOTA download error of the note's chapter 5 (docs/lwm2m.md).
int update_result_for_download_error(int err);

class Lwm2mService {
 public:
  explicit Lwm2mService(Module& module);
  ~Lwm2mService();
  Lwm2mService(const Lwm2mService&) = delete;
  Lwm2mService& operator=(const Lwm2mService&) = delete;

  // ---- module life
  void on_boot();        // Normal mode reached: registers when configured to
  void on_power_lost();  // power cut, reboot, DFOTA mode, exit: the client stops at once

  // ---- AT+QLWSVC
  // Registers now (false when no server is configured); remembered across boots.
  bool reg();
  // De-registers; `done` after the server answered (or did not).
  void dereg(std::function<void()> done);
  bool update();
  ClientState client_state() const { return client_.state(); }

  // ---- status
  FwState fw_state() const { return state_; }
  int fw_result() const { return result_; }

 private:
  void build_model();
  ClientConfig client_config() const;
  void start_client();
  void try_register();
  void set_fw(FwState state, int result);
  void load_fw();
  void save_fw() const;
  int write_package_uri(const std::string& uri);
  int write_package(std::uint64_t offset, std::span<const std::uint8_t> bytes, bool last);
  int execute_update();
  void reset_to_idle();
  void urc(const std::string& text);

  Module& m_;
  ObjectModel model_;
  Client client_;
  std::filesystem::path fw_file_;
  FwState state_ = FwState::Idle;
  int result_ = fw_result::kInitial;
  std::string package_uri_;
  std::string pkg_name_;
  std::string pkg_version_;
  bool inband_ = false;  // an in-band (Block1) package is arriving
  LifeGuard download_;   // ended when a download's result must be ignored
  bool powered_ = false;
  LifeGuard life_;  // ended at boot and at power loss: timers of an earlier life do nothing
  boost::asio::steady_timer register_timer_;
  boost::asio::steady_timer action_timer_;
};

}  // namespace bg95::lwm2m
