// bg95-pkgserver: the fault-injecting package server as a program (docs/package-server.md).
// Serves a folder over HTTP, HTTPS, CoAP and CoAPS on loopback, prints one line per listener
// and one per request, and stops cleanly on SIGINT or SIGTERM.

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "scenarios/package_server/config_yaml.hpp"
#include "scenarios/package_server/package_server.hpp"

namespace {

using namespace bg95::pkgserver;

// "/update.bin:truncate_at=300000,requests=first/2" -> the YAML mapping parse_fault_rule()
// reads. Lists use "+" (protocol=coap+coaps, corrupt=OFFSET+COUNT); a key without a value is
// true (close_without_response).
FaultRule fault_from_text(const std::string& text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string::npos) {
    throw ConfigError(
        "--fault " + text +
        ": expected PATH:KEY=VALUE[,KEY=VALUE...], e.g. /update.bin:truncate_at=1000");
  }
  YAML::Node node(YAML::NodeType::Map);
  node["path"] = colon == 0 ? std::string("*") : text.substr(0, colon);
  std::string rest = text.substr(colon + 1);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string term = rest.substr(0, comma);
    rest = comma == std::string::npos ? std::string() : rest.substr(comma + 1);
    const std::size_t eq = term.find('=');
    const std::string key = term.substr(0, eq);
    const std::string value = eq == std::string::npos ? "true" : term.substr(eq + 1);
    if (key == "requests" && value.find('/') != std::string::npos) {
      YAML::Node selector(YAML::NodeType::Map);
      selector[value.substr(0, value.find('/'))] = value.substr(value.find('/') + 1);
      node[key] = selector;
    } else if (key == "protocol") {
      YAML::Node list(YAML::NodeType::Sequence);
      std::size_t start = 0;
      for (std::size_t plus = value.find('+');; plus = value.find('+', start)) {
        list.push_back(value.substr(start, plus - start));
        if (plus == std::string::npos) break;
        start = plus + 1;
      }
      node[key] = list;
    } else if (key == "corrupt") {
      const std::size_t plus = value.find('+');
      YAML::Node span(YAML::NodeType::Map);
      span["offset"] = value.substr(0, plus);
      span["count"] = plus == std::string::npos ? std::string("1") : value.substr(plus + 1);
      node[key] = span;
    } else {
      node[key] = value;
    }
  }
  try {
    return parse_fault_rule(node);
  } catch (const ConfigError& e) {
    // The mapping was made here: the line and column of its YAML mean nothing to the user.
    std::string message = e.what();
    if (message.starts_with("line ")) message.erase(0, message.find(": ") + 2);
    throw ConfigError("--fault " + text + ": " + message);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "bg95-pkgserver: serves a folder over HTTP, HTTPS, CoAP and CoAPS on loopback, "
      "with server-side faults (docs/package-server.md)"};
  app.set_version_flag("--version", std::string("bg95-pkgserver ") + BG95SIM_VERSION);
  std::string config_file;
  std::string root;
  std::string pki_dir;
  std::string bind;
  std::optional<std::uint16_t> http, https, coap, coaps;
  std::string psk;
  bool https_client_cert = false;
  std::vector<std::string> fault_texts;
  app.add_option("--config", config_file, "YAML file with the server mapping")
      ->check(CLI::ExistingFile);
  app.add_option("--root", root, "Folder to serve (read-only)")->check(CLI::ExistingDirectory);
  app.add_option("--http", http, "HTTP port (0 = ephemeral)");
  app.add_option("--https", https, "HTTPS port (0 = ephemeral)");
  app.add_option("--coap", coap, "CoAP port (0 = ephemeral)");
  app.add_option("--coaps", coaps, "CoAPS port (0 = ephemeral)");
  app.add_option("--psk", psk, "CoAPS pre-shared key as IDENTITY:KEY");
  app.add_flag("--https-client-cert", https_client_cert,
               "HTTPS demands a client certificate signed by the CA (client.pem)");
  app.add_option("--fault", fault_texts,
                 "A fault rule PATH:KEY=VALUE[,KEY=VALUE] (repeatable), e.g. "
                 "/update.bin:truncate_at=300000,requests=first");
  app.add_option("--pki", pki_dir, "Folder for the certificates (ca.pem, wrong-ca.pem, ...)");
  bool allow_non_loopback = false;
  app.add_option("--bind", bind, "Address to listen on (loopback only, unless allowed)");
  app.add_flag("--allow-non-loopback", allow_non_loopback,
               "Allow --bind to name an address that is not loopback");
  CLI11_PARSE(app, argc, argv);

  PackageServerConfig config;
  try {
    if (!config_file.empty()) config = load_server_config(config_file);
    if (!root.empty()) config.root = root;
    if (!pki_dir.empty()) config.pki_dir = pki_dir;
    if (!bind.empty()) config.bind_address = bind;
    if (allow_non_loopback) config.allow_non_loopback = true;
    if (http) config.http = http;
    if (https) config.https = https;
    if (coap) config.coap = coap;
    if (coaps) config.coaps = coaps;
    if (https_client_cert) config.https_client_cert = true;
    if (!psk.empty()) {
      const std::size_t colon = psk.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == psk.size()) {
        throw ConfigError("--psk: expected IDENTITY:KEY");
      }
      config.coaps_psk = PskCredentials{psk.substr(0, colon), psk.substr(colon + 1)};
    }
    for (const std::string& text : fault_texts) {
      config.faults.push_back(fault_from_text(text));
    }
  } catch (const std::exception& e) {
    std::cerr << "bg95-pkgserver: " << e.what() << "\n";
    return 2;
  }
  if (!config.http && !config.https && !config.coap && !config.coaps) {
    std::cerr << "bg95-pkgserver: no listener: give --http, --https, --coap or --coaps (or a "
                 "--config that names one)\n";
    return 2;
  }

  boost::asio::io_context io;
  std::optional<PackageServer> server;
  try {
    server.emplace(io.get_executor(), config);
    server->on_event([](const ServerEvent& event) { std::cout << to_string(event) << std::endl; });
    server->start();
  } catch (const std::invalid_argument& e) {
    std::cerr << "bg95-pkgserver: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "bg95-pkgserver: " << e.what() << "\n";
    return 1;
  }
  for (const Protocol protocol : kAllProtocols) {
    if (server->port(protocol) == 0) continue;
    std::cout << "bg95-pkgserver: " << to_string(protocol) << " " << server->url(protocol, "/");
    if (is_secure(protocol)) std::cout << " (CA " << server->ca_file().string() << ")";
    std::cout << "\n";
  }
  if (config.https || config.coaps) {
    std::cout << "bg95-pkgserver: certificates in " << server->ca_file().parent_path().string()
              << " (wrong CA: " << server->wrong_ca_file().filename().string()
              << ", client: client.pem / client.key)\n";
  }
  std::cout << std::flush;

  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    server->stop();
    std::cout << "bg95-pkgserver: stopped" << std::endl;
  });
  io.run();
  return EXIT_SUCCESS;
}
