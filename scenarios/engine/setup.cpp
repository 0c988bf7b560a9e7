#include "scenarios/engine/setup.hpp"

#include <fstream>
#include <regex>

#include <fmt/format.h>

#include "scenarios/lwm2m_server/lwm2m_server.hpp"
#include "scenarios/package_server/config_yaml.hpp"
#include "scenarios/package_server/package_server.hpp"
#include "sim/dfota/dfota_service.hpp"
#include "sim/firmware/firmware_store.hpp"
#include "sim/fs/checksum.hpp"
#include "sim/fs/module_fs.hpp"

namespace bg95::scenario {

ScenarioSetup::ScenarioSetup(const Scenario& scenario, boost::asio::any_io_executor executor,
                             const std::filesystem::path& work_dir, bool lwm2m_peer)
    : s_(scenario),
      model_(scenario.module.config.model.empty() ? "BG95-M3" : scenario.module.config.model) {
  module_image_ = build_image(s_.module.firmware, model_);
  for (const auto& spec : s_.packages)
    packages_.emplace(spec.name, build_package(spec, module_image_, model_));
  for (const auto& [name, p] : packages_) {
    fs::XorChecksum sum;
    sum.update(std::span<const std::uint8_t>(p.bytes));
    const std::string at = "package." + name;
    vars_[at + ".size"] = std::to_string(p.bytes.size());
    vars_[at + ".checksum"] = fs::format_checksum(sum.value());
    if (p.delta) {
      vars_[at + ".target_revision"] = p.target.revision;
      vars_[at + ".target_version"] = p.target.full_version;
      vars_[at + ".source_version"] = p.source.full_version;
    }
  }
  const auto header = *firmware::decode_image_header(module_image_);
  vars_["module.model"] = model_;
  vars_["module.revision"] = header.revision;
  vars_["module.version"] = header.full_version;
  if (s_.lwm2m_server && lwm2m_peer) {
    peer::Lwm2mServer::Options lo;
    lo.psk = s_.lwm2m_psk;
    lwm2m_ = std::make_unique<peer::Lwm2mServer>(lo);
    vars_["lwm2m.uri"] = lwm2m_->uri();
  }
  if (s_.server) start_package_server(executor, work_dir);
}

ScenarioSetup::~ScenarioSetup() = default;

void ScenarioSetup::start_package_server(boost::asio::any_io_executor executor,
                                         const std::filesystem::path& work_dir) {
  // The scenario's `packages:` key serves built packages by URL path; the rest is the package
  // server's own schema (docs/package-server.md).
  YAML::Node node = YAML::Clone(*s_.server);
  const YAML::Node served = YAML::Clone(node["packages"]);
  node.remove("packages");
  pkgserver::PackageServerConfig config;
  try {
    config = pkgserver::parse_server_config(node, s_.file.parent_path());
  } catch (const std::exception& e) {
    throw ScenarioError(fmt::format("{}: server: {}", s_.file.string(), e.what()));
  }
  if (served.IsDefined() && !served.IsNull()) {
    if (!served.IsMap())
      throw ScenarioError(s_.file.string() + ": server.packages: expected {/path: package name}");
    for (const auto& kv : served) {
      const auto it = packages_.find(kv.second.Scalar());
      if (it == packages_.end())
        throw ScenarioError(fmt::format(
            "{}:{}: server.packages: no package \"{}\" under packages:", s_.file.string(),
            kv.second.Mark().line + 1, kv.second.Scalar()));
      config.files[kv.first.Scalar()] = it->second.bytes;
    }
  }
  if (config.pki_dir.empty()) config.pki_dir = work_dir / "pki";
  server_ = std::make_unique<pkgserver::PackageServer>(executor, std::move(config));
  server_->start();
  using pkgserver::Protocol;
  for (const auto& [p, key] :
       {std::pair{Protocol::Http, "http"}, std::pair{Protocol::Https, "https"},
        std::pair{Protocol::Coap, "coap"}, std::pair{Protocol::Coaps, "coaps"}}) {
    if (server_->port(p) == 0) continue;
    std::string base = server_->url(p, "/");
    base.pop_back();  // "http://127.0.0.1:41234"
    vars_[std::string("server.") + key] = base;
    vars_[std::string("server.") + key + ".port"] = std::to_string(server_->port(p));
  }
}

ModuleConfig ScenarioSetup::module_config(const std::filesystem::path& state_dir) const {
  if (s_.module.state && !std::filesystem::exists(state_dir / "flash.bin")) {
    // Start from a copy of a saved state folder; its lock belongs to whoever saved it.
    std::filesystem::create_directories(state_dir);
    std::filesystem::copy(*s_.module.state, state_dir,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing);
    std::filesystem::remove(state_dir / "lock");
  }
  ModuleConfig config = s_.module.config;
  config.state_dir = state_dir;
  config.default_image = std::make_shared<const Bytes>(module_image_);
  config.default_image_size = module_image_.size();
  config.lwm2m.server = substitute(config.lwm2m.server);
  return config;
}

void ScenarioSetup::prepare_module(Module& m) {
  vars_["module.imei"] = m.settings().identity.imei;
  // Settings as a host would have left them (AT+QCFGEXT, AT+IPR, AT+CMEE then AT&W).
  if (s_.module.fota_apn) m.settings().fota_apn = *s_.module.fota_apn;
  if (s_.module.ipr) m.settings().ipr = *s_.module.ipr;
  if (s_.module.cmee) m.settings().saved_profile.cmee = static_cast<at::CmeMode>(*s_.module.cmee);
  m.save_settings();
  const fs::ModuleFs files(m.config().state_dir / "fs");
  for (const auto& f : s_.module.files) {
    std::string bytes;
    switch (f.source) {
      case FileSpec::Source::Text:
        bytes = substitute(f.value);
        break;
      case FileSpec::Source::HostFile: {
        std::ifstream in(f.value, std::ios::binary);
        if (!in)
          throw ScenarioError(
              fmt::format("{}: module.files: {} cannot be read", s_.file.string(), f.value));
        bytes.assign(std::istreambuf_iterator<char>(in), {});
        break;
      }
      case FileSpec::Source::Package: {
        const auto& p = packages_.at(f.value).bytes;
        bytes.assign(p.begin(), p.end());
        break;
      }
      case FileSpec::Source::ServerCa:
      case FileSpec::Source::WrongCa: {
        if (!server_)
          throw ScenarioError(s_.file.string() +
                              ": module.files: server_ca and wrong_ca need a server:");
        const auto path =
            f.source == FileSpec::Source::ServerCa ? server_->ca_file() : server_->wrong_ca_file();
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
        break;
      }
    }
    if (const auto e = files.write(f.name, bytes); e != fs::Error::None)
      throw ScenarioError(fmt::format("{}: module.files: {} cannot be written (+CME ERROR: {})",
                                      s_.file.string(), f.name, fs::cme_code(e)));
  }
}

std::string ScenarioSetup::substitute(const std::string& text) const {
  static const std::regex var(R"(\$\{([A-Za-z0-9_.\-]+)\})");
  std::string out;
  std::size_t last = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), var); it != std::sregex_iterator();
       ++it) {
    const auto& m = *it;
    out.append(text, last, static_cast<std::size_t>(m.position(0)) - last);
    const auto found = vars_.find(m[1].str());
    if (found == vars_.end()) {
      std::string known;
      for (const auto& [k, v] : vars_)
        known += (known.empty() ? "" : ", ") + k;
      throw ScenarioError(
          fmt::format("${{{}}} is not known in this run (known: {})", m[1].str(), known));
    }
    out += found->second;
    last = static_cast<std::size_t>(m.position(0) + m.length(0));
  }
  out.append(text, last);
  return out;
}

void ScenarioSetup::set_server_faults(const YAML::Node& faults) {
  if (!server_) throw ScenarioError("a server action, but the scenario has no server:");
  std::vector<pkgserver::FaultRule> rules;
  for (std::size_t i = 0; i < faults.size(); ++i)
    rules.push_back(pkgserver::parse_fault_rule(faults[i], fmt::format("faults[{}]", i)));
  server_->set_faults(std::move(rules));
}

void ScenarioSetup::stop_servers() {
  if (server_) server_->stop();
}

std::optional<std::string> ScenarioSetup::check(Module& m) const {
  const Expectation& e = s_.expect;
  std::vector<std::string> wrong;
  const flash::PartitionView active(m.flash(), m.layout().active);
  const auto image = firmware::verify_partition_image(active);
  const std::string revision = image ? image->revision : "(no valid image)";
  const std::string version = image ? image->full_version : "(no valid image)";
  if (e.revision && *e.revision != revision)
    wrong.push_back(fmt::format("the revision is {}, not {}", revision, *e.revision));
  if (e.full_version && *e.full_version != version)
    wrong.push_back(fmt::format("the firmware is {}, not {}", version, *e.full_version));
  // The image in flash, verified, is exactly the one the package was made for.
  auto same_image = [&](const Bytes& want) {
    const auto h = firmware::decode_image_header(want);
    return image && h && image->full_version == h->full_version &&
           image->body_sha256 == h->body_sha256;
  };
  if (e.firmware_of && !same_image(packages_.at(*e.firmware_of).target_image))
    wrong.push_back(
        fmt::format("the active image ({}) is not package {}'s target", version, *e.firmware_of));
  if (e.firmware_source_of && !same_image(packages_.at(*e.firmware_source_of).source_image))
    wrong.push_back(fmt::format("the active image ({}) is not package {}'s source", version,
                                *e.firmware_source_of));
  if (e.package_size && m.dfota().package_size() != *e.package_size)
    wrong.push_back(fmt::format("the package area holds {} bytes, not {}", m.dfota().package_size(),
                                *e.package_size));
  if (e.power && *e.power != power_state_name(m.power_state()))
    wrong.push_back(
        fmt::format("power is {}, not {}", power_state_name(m.power_state()), *e.power));
  if (e.boots && *e.boots != m.boot_count())
    wrong.push_back(fmt::format("the module booted {} times, not {}", m.boot_count(), *e.boots));
  if (wrong.empty()) return std::nullopt;
  std::string all;
  for (const auto& w : wrong)
    all += (all.empty() ? "" : "; ") + w;
  return "final state: " + all;
}

}  // namespace bg95::scenario
