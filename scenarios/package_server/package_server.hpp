#pragma once
// A package server for tests, demos and fault scenarios: serves a folder and in-memory files
// over HTTP, HTTPS, CoAP and CoAPS on loopback, with server-side faults chosen per request or
// per path (fault_rule.hpp) and changeable while it runs. docs/package-server.md describes it.
//
// Everything runs on the executor given at construction (the caller's io_context thread):
// sockets, libcoap, timers and the event callback; nothing blocks it and there is no thread of
// its own. Every member function is meant to be called from that thread.
//
//   PackageServer server(io.get_executor(), config);
//   server.on_event([](const ServerEvent& e) { std::cout << to_string(e) << '\n'; });
//   server.start();
//   server.url(Protocol::Https, "/update.bin");  // "https://127.0.0.1:41234/update.bin"
//   FaultRule stall;
//   stall.path = "/update.bin";
//   stall.stall_after = 300 * 1024;
//   server.add_fault(stall);

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "scenarios/package_server/config.hpp"
#include "scenarios/package_server/fault_rule.hpp"
#include "scenarios/package_server/pki.hpp"
#include "scenarios/package_server/server_event.hpp"

namespace bg95::pkgserver {

class PackageServer {
 public:
  // Checks the configuration: throws std::invalid_argument for a root that is not a folder, a
  // fault rule validate() refuses, a bind address that is not an address or not loopback
  // (unless allow_non_loopback).
  PackageServer(boost::asio::any_io_executor executor, PackageServerConfig config);
  ~PackageServer();  // = stop(); removes a PKI folder it made itself
  PackageServer(const PackageServer&) = delete;
  PackageServer& operator=(const PackageServer&) = delete;

  // Makes the certificates (the first time, when HTTPS or CoAPS is on) and opens the listeners.
  // Throws std::runtime_error naming the address and cause when one cannot be opened (then none
  // is open). After stop(), start() opens them again on the same ports, ephemeral ones
  // included, with the same certificates; files and faults are kept.
  void start();
  // Closes every listener and connection; events not yet delivered are dropped. Idempotent.
  void stop();
  bool running() const;

  // The listener's port, 0 when it is off (or before start()).
  std::uint16_t port(Protocol protocol) const;
  // "http://127.0.0.1:41234/update.bin"; `path` should start with "/" (one is added if not).
  std::string url(Protocol protocol, std::string_view path) const;

  // The certificates (valid after start() with HTTPS or CoAPS on): the CA that signed the
  // server's certificate (give it to the module), an unrelated CA (wrong-ca.pem), and the
  // client certificate and key that a client-certificate demand accepts (pki().client).
  std::filesystem::path ca_file() const;
  std::filesystem::path wrong_ca_file() const;
  const Pki& pki() const;

  // Fault rules, at any time; each call validates (std::invalid_argument) and takes effect
  // from the next request (CoAP: the next block request).
  void set_faults(std::vector<FaultRule> rules);
  void add_fault(FaultRule rule);
  void clear_faults();
  std::vector<FaultRule> faults() const;

  // In-memory files by URL path; they win over the folder. A transfer already running keeps
  // the bytes it started with (HTTP) or sees the new ETag at its next block (CoAP).
  void set_file(const std::string& path, std::vector<std::uint8_t> bytes);
  void remove_file(const std::string& path);

  // One call per request handled (and per refused or failed TLS connection), posted to the
  // executor in order. Replaces an earlier callback.
  void on_event(std::function<void(const ServerEvent&)> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bg95::pkgserver
