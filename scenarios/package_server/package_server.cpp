#include "scenarios/package_server/package_server.hpp"

#include <stdlib.h>

#include <optional>
#include <stdexcept>
#include <system_error>

#include <boost/asio/ip/address.hpp>

#include "scenarios/package_server/coap_listener.hpp"
#include "scenarios/package_server/http_listener.hpp"
#include "scenarios/package_server/server_state.hpp"
#include "scenarios/package_server/tls_contexts.hpp"

namespace bg95::pkgserver {

namespace fs = std::filesystem;

namespace {

boost::asio::ip::address loopback_address(const PackageServerConfig& config) {
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(config.bind_address, ec);
  if (ec) {
    throw std::invalid_argument("bind address \"" + config.bind_address +
                                "\" is not an IP address");
  }
  if (!address.is_loopback() && !config.allow_non_loopback) {
    throw std::invalid_argument("bind address " + config.bind_address +
                                " is not a loopback address (127.0.0.0/8, ::1); set "
                                "allow_non_loopback to bind it anyway");
  }
  return address;
}

fs::path make_private_folder() {
  std::string pattern = (fs::temp_directory_path() / "bg95-pkgserver-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot make a folder for the certificates in " +
                             fs::temp_directory_path().string());
  }
  return pattern;
}

}  // namespace

struct PackageServer::Impl {
  Impl(boost::asio::any_io_executor ex, PackageServerConfig c)
      : config(std::move(c)),
        address(loopback_address(config)),
        state(std::make_shared<ServerState>(std::move(ex), config)) {
    config.files.clear();  // the store has them now
    if (config.max_block_szx > 6) throw std::invalid_argument("max_block_szx: 0..6");
  }

  PackageServerConfig config;
  boost::asio::ip::address address;
  std::shared_ptr<ServerState> state;
  std::optional<Pki> pki;
  fs::path own_pki_dir;  // made here, removed at the end
  std::unique_ptr<TlsContexts> tls;
  std::shared_ptr<HttpListener> http;
  std::shared_ptr<HttpListener> https;
  std::unique_ptr<CoapListener> coap;

  void make_pki() {
    if (pki || (!config.https && !config.coaps)) return;
    fs::path dir = config.pki_dir;
    if (dir.empty()) {
      own_pki_dir = make_private_folder();
      dir = own_pki_dir;
    }
    pki = Pki::make(dir);
  }

  void open() {
    make_pki();
    if (config.https && !tls) {
      tls = std::make_unique<TlsContexts>(*pki, config.https_client_cert, config.allow_tls13);
    }
    if (config.http) {
      http = std::make_shared<HttpListener>(state, Protocol::Http, nullptr);
      http->start(address, *config.http);
      config.http = http->port();  // a restart keeps an ephemeral port
    }
    if (config.https) {
      https = std::make_shared<HttpListener>(state, Protocol::Https, tls.get());
      https->start(address, *config.https);
      config.https = https->port();
    }
    if (config.coap || config.coaps) {
      coap = std::make_unique<CoapListener>(state);
      coap->start(address, config, pki ? &*pki : nullptr);
      if (config.coap) config.coap = coap->port(Protocol::Coap);
      if (config.coaps) config.coaps = coap->port(Protocol::Coaps);
    }
  }

  void close() {
    if (http) http->stop();
    if (https) https->stop();
    if (coap) coap->stop();
    http.reset();
    https.reset();
    coap.reset();
  }
};

PackageServer::PackageServer(boost::asio::any_io_executor executor, PackageServerConfig config)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(config))) {}

PackageServer::~PackageServer() {
  stop();
  if (!impl_->own_pki_dir.empty()) {
    std::error_code ignored;
    fs::remove_all(impl_->own_pki_dir, ignored);
  }
}

void PackageServer::start() {
  if (impl_->state->running) return;
  ++impl_->state->run;
  impl_->state->running = true;
  try {
    impl_->open();
  } catch (...) {
    stop();
    throw;
  }
}

void PackageServer::stop() {
  impl_->state->running = false;
  impl_->close();
}

bool PackageServer::running() const {
  return impl_->state->running;
}

std::uint16_t PackageServer::port(Protocol protocol) const {
  const Impl& d = *impl_;
  switch (protocol) {
    case Protocol::Http:
      return d.http ? d.http->port() : 0;
    case Protocol::Https:
      return d.https ? d.https->port() : 0;
    case Protocol::Coap:
    case Protocol::Coaps:
      return d.coap ? d.coap->port(protocol) : 0;
  }
  return 0;
}

std::string PackageServer::url(Protocol protocol, std::string_view path) const {
  const std::string host =
      impl_->address.is_v6() ? "[" + impl_->address.to_string() + "]" : impl_->address.to_string();
  std::string out =
      std::string(to_string(protocol)) + "://" + host + ":" + std::to_string(port(protocol));
  if (!path.starts_with('/')) out += '/';
  out += path;
  return out;
}

std::filesystem::path PackageServer::ca_file() const {
  return pki().ca.cert_file;
}

std::filesystem::path PackageServer::wrong_ca_file() const {
  return pki().other_ca.cert_file;
}

const Pki& PackageServer::pki() const {
  if (!impl_->pki) {
    throw std::logic_error("no certificates: start() the server with https or coaps on");
  }
  return *impl_->pki;
}

void PackageServer::set_faults(std::vector<FaultRule> rules) {
  impl_->state->faults.set(std::move(rules));
}

void PackageServer::add_fault(FaultRule rule) {
  impl_->state->faults.add(std::move(rule));
}

void PackageServer::clear_faults() {
  impl_->state->faults.clear();
}

std::vector<FaultRule> PackageServer::faults() const {
  return impl_->state->faults.rules();
}

void PackageServer::set_file(const std::string& path, std::vector<std::uint8_t> bytes) {
  impl_->state->content.set_file(path, std::move(bytes));
}

void PackageServer::remove_file(const std::string& path) {
  impl_->state->content.remove_file(path);
}

void PackageServer::on_event(std::function<void(const ServerEvent&)> callback) {
  impl_->state->on_event = std::move(callback);
}

}  // namespace bg95::pkgserver
