#pragma once
// Test support: a cpp-httplib server (plain or TLS) listening on 127.0.0.1:<ephemeral> in a
// thread of its own, stopped and joined at destruction.

#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <httplib.h>

#include "tests/support/no_sigpipe.hpp"

namespace bg95::test {

class RunningServer {
 public:
  explicit RunningServer(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {
    if (!server_->is_valid()) throw std::runtime_error("server set-up failed");
    port_ = server_->bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("bind failed");
    thread_ = std::thread([this] {
      block_sigpipe_on_this_thread();  // before listening: its worker threads inherit the mask
      server_->listen_after_bind();
      returned_ = true;
    });
  }
  ~RunningServer() {
    // stop() only works once the accept loop runs; it starts at once after bind.
    while (!server_->is_running() && !returned_)
      std::this_thread::yield();
    server_->stop();
    thread_.join();
  }
  RunningServer(const RunningServer&) = delete;
  RunningServer& operator=(const RunningServer&) = delete;
  int port() const { return port_; }
  httplib::Server& server() { return *server_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> returned_{false};
  int port_ = 0;
};

// A plain HTTP server answering GET <path> with the bytes given for it.
inline std::unique_ptr<RunningServer> serve_files(std::map<std::string, std::string> files) {
  auto server = std::make_unique<httplib::Server>();
  for (auto& [path, body] : files)
    server->Get(path, [body = std::move(body)](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "application/octet-stream");
    });
  return std::make_unique<RunningServer>(std::move(server));
}

}  // namespace bg95::test
