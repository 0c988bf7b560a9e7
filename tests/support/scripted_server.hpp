#pragma once
// Test support: a TCP server on 127.0.0.1:<ephemeral> (plain, or TLS with a certificate and
// key) that answers each connection with a script, one connection at a time, after reading the
// request head. For hostile servers: whatever bytes, at whatever pace.

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace bg95::test {

class ScriptedServer {
 public:
  // The script writes with send_all() and paces with pause(), both of which notice a peer
  // that has gone (and a server that is stopping).
  using Script = std::function<void(ScriptedServer& s, int fd)>;
  struct Tls {
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
  };

  explicit ScriptedServer(Script script, std::optional<Tls> tls = std::nullopt);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  std::string url(const std::string& path) const;
  std::uint16_t port() const { return port_; }
  // False once the peer closed (or the server stops). Never blocks for long: a peer that
  // went away without reading leaves a full send buffer behind.
  bool send_all(int fd, std::string_view bytes);
  // Waits `d`; false when the peer closed meanwhile (or the server stops).
  bool pause(int fd, std::chrono::milliseconds d);
  int connections() const { return connections_; }
  // The server name (SNI) the last TLS client sent; "" when it sent none.
  std::string server_name() const;

 private:
  void serve();
  bool handshake(int fd);
  // After POLLIN on a connection whose request was read: more bytes, or its end.
  bool peer_open(int fd);
  long receive(int fd, char* buf, std::size_t size);

  Script script_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;  // of the connection being served, under TLS
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  mutable std::mutex mutex_;
  std::string server_name_;  // under mutex_
  std::thread thread_;
};

// A script whose response head has one line of `line_size` bytes (with its CR LF): the status
// line ("HTTP/1.1 <status> OOO…"), or a header line ("X-Long: OOO…") after "HTTP/1.1 <status>
// Status". The rest of the head and a 3-byte body "abc" follow when the line ends; a line of
// megabytes is sent until the client stops reading.
ScriptedServer::Script long_head_line(bool status_line, std::size_t line_size, int status);

}  // namespace bg95::test
