#pragma once
// What a scenario puts around a module before it powers on, shared by the runner
// (bg95-scenario) and `bg95sim --scenario`: the firmware image and packages it builds, the
// package server and LwM2M server it starts on loopback, the module's configuration, settings
// and files, the ${...} variables of the run, and the final checks of `expect:`.

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <yaml-cpp/yaml.h>
#include <boost/asio/any_io_executor.hpp>

#include "scenarios/engine/packages.hpp"
#include "scenarios/engine/scenario.hpp"
#include "sim/module.hpp"

namespace bg95::pkgserver {
class PackageServer;
struct ServerEvent;
}  // namespace bg95::pkgserver
namespace bg95::peer {
class Lwm2mServer;
}

namespace bg95::scenario {

class ScenarioSetup {
 public:
  // Builds the images and packages and starts the servers (the package server on `executor`,
  // whose loop must run for it to answer). `work_dir` receives the servers' certificates.
  // Throws ScenarioError (or the servers' errors) with a clear message.
  ScenarioSetup(const Scenario& scenario, boost::asio::any_io_executor executor,
                const std::filesystem::path& work_dir, bool lwm2m_peer = true);
  ~ScenarioSetup();
  ScenarioSetup(const ScenarioSetup&) = delete;
  ScenarioSetup& operator=(const ScenarioSetup&) = delete;

  // The module's configuration for this state folder; a scenario that starts from a saved
  // state (module.state) has it copied there first.
  ModuleConfig module_config(const std::filesystem::path& state_dir) const;
  // Settings and files as the scenario says (call before power-on); then every ${...} of the
  // scenario is checked, so that a run never meets an unknown one half-way (ScenarioError).
  void prepare_module(Module& module);

  // ${name} resolved; throws ScenarioError for a name the run does not know. Safe from any
  // thread once set-up is done.
  std::string substitute(const std::string& text) const;
  const std::map<std::string, std::string>& vars() const { return vars_; }

  const BuiltPackage& package(const std::string& name) const { return packages_.at(name); }
  pkgserver::PackageServer* server() { return server_.get(); }
  peer::Lwm2mServer* lwm2m() { return lwm2m_.get(); }
  // The faults of a `server:` action; throws with the reason.
  void set_server_faults(const YAML::Node& faults);
  void stop_servers();

  // The final checks of `expect:` on the module (on its executor): nullopt when all hold.
  std::optional<std::string> check(Module& module) const;

 private:
  void start_package_server(boost::asio::any_io_executor executor,
                            const std::filesystem::path& work_dir);

  const Scenario& s_;
  std::string model_;
  Bytes module_image_;
  std::map<std::string, BuiltPackage> packages_;
  std::map<std::string, std::string> vars_;
  std::unique_ptr<pkgserver::PackageServer> server_;
  std::unique_ptr<peer::Lwm2mServer> lwm2m_;
};

}  // namespace bg95::scenario
