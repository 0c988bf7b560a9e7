#pragma once
// The package server's configuration as YAML (yaml-cpp), the schema docs/package-server.md
// describes. Scenario files embed the same mapping under `server:`.
//
//   root: packages/          # relative to base_dir
//   http: 0                  # a port (0 = ephemeral); a key left out = listener off
//   https: {port: 0, client_cert: true}
//   coaps: {port: 0, psk: {identity: bg95, key: secret}}
//   faults:
//     - {path: /update.bin, requests: first, truncate_at: 300000}
//     - {path: "*", stall_after: 300KiB, stall_for: 2s}
//
// Errors name the key and where it is: "line 7, column 14: faults[0].truncate_at: expected a
// byte count (12345, 300KiB, 2MiB), got \"lots\"".

#include <filesystem>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "scenarios/package_server/config.hpp"
#include "scenarios/package_server/fault_rule.hpp"

namespace bg95::pkgserver {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A server mapping. Relative paths (root, pki, files) are taken from `base_dir`; files named
// under `files:` are read now. Throws ConfigError.
PackageServerConfig parse_server_config(const YAML::Node& node,
                                        const std::filesystem::path& base_dir);

// One fault rule mapping (an element of `faults:`). `where` prefixes the keys in error messages
// ("faults[2]" -> "faults[2].truncate_at: ..."). Throws ConfigError.
FaultRule parse_fault_rule(const YAML::Node& node, const std::string& where = "");

// Reads a YAML file holding a server mapping; relative paths are taken from its folder.
// Throws ConfigError (also for YAML syntax errors and a file that cannot be read).
PackageServerConfig load_server_config(const std::filesystem::path& file);

}  // namespace bg95::pkgserver
