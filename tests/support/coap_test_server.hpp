#pragma once
// Test support: Debian's real libcoap server (coap-server-openssl, package libcoap3-bin) on
// 127.0.0.1 ephemeral ports, with resources made by PUT with coap-client-openssl. Debian's
// coap-client exits 0 even when a transfer fails, so every PUT is checked by reading it back.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <stdexcept>
#include <thread>

extern char** environ;

namespace bg95::test {

inline constexpr const char* kCoapServer = "/usr/bin/coap-server-openssl";
inline constexpr const char* kCoapClient = "/usr/bin/coap-client-openssl";

void write_file(const std::filesystem::path& path, const std::vector<std::uint8_t>& bytes);
std::vector<std::uint8_t> read_file(const std::filesystem::path& path);

// Runs a program to its end (killed after `timeout`); its output goes to `log`.
// Returns the wait status, or -1 when it had to be killed.
int run_program(const std::vector<std::string>& args, const std::filesystem::path& log,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// An ephemeral UDP port p such that p and p + 1 are free for UDP and TCP.
std::uint16_t free_port_pair();

// Debian's coap-server-openssl on 127.0.0.1: CoAP on port(), CoAPS on port() + 1, dynamic
// resources made by PUT (-d).
class CoapServer {
 public:
  CoapServer(const std::filesystem::path& dir, std::vector<std::string> extra) : dir_(dir) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_port_pair();
      std::vector<std::string> args = {kCoapServer,           "-A", "127.0.0.1", "-p",
                                       std::to_string(port_), "-d", "10"};
      args.insert(args.end(), extra.begin(), extra.end());
      std::vector<char*> argv;
      for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      const auto log = dir_ / "coap-server.log";
      posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                       0644);
      posix_spawn_file_actions_adddup2(&actions, 1, 2);
      const int rc = posix_spawn(&pid_, kCoapServer, &actions, nullptr, argv.data(), environ);
      posix_spawn_file_actions_destroy(&actions);
      if (rc != 0) throw std::runtime_error("cannot start coap-server-openssl");
      // Up once its port answers: a GET of the always present "/" resource.
      for (int probe = 0; probe < 50; ++probe) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) != 0) {
          pid_ = -1;  // it exited (a port taken meanwhile?): try other ports
          break;
        }
        const auto out = dir_ / "probe.out";
        std::filesystem::remove(out);
        run_program({kCoapClient, "-B", "1", "-o", out.string(), url("/")},
                    dir_ / "coap-client.log");
        if (std::filesystem::exists(out) && std::filesystem::file_size(out) > 0) return;
      }
      stop();
    }
    throw std::runtime_error("coap-server-openssl did not come up");
  }
  ~CoapServer() { stop(); }
  CoapServer(const CoapServer&) = delete;
  CoapServer& operator=(const CoapServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const {
    return "coap://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string secure_url(const std::string& path) const {
    return "coaps://127.0.0.1:" + std::to_string(port_ + 1) + path;
  }
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }

  // Makes `path` hold `bytes` (PUT with Block1), checked by reading it back.
  void put(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    const auto in = dir_ / "put.bin";
    const auto back = dir_ / "get.bin";
    write_file(in, bytes);
    for (int attempt = 0; attempt < 3; ++attempt) {
      run_program(
          {kCoapClient, "-m", "put", "-b", "1024", "-B", "10", "-f", in.string(), url(path)},
          dir_ / "coap-client.log");
      std::filesystem::remove(back);
      run_program({kCoapClient, "-b", "1024", "-B", "10", "-o", back.string(), url(path)},
                  dir_ / "coap-client.log");
      if (read_file(back) == bytes) return;
    }
    throw std::runtime_error("PUT of " + path + " did not stick");
  }

  // coap-client fetching `path` with 1024-byte blocks: seconds, and whether it got `expected`.
  std::pair<double, bool> time_client_get(const std::string& path,
                                          const std::vector<std::uint8_t>& expected) {
    const auto out = dir_ / "timed.bin";
    std::filesystem::remove(out);
    const auto start = std::chrono::steady_clock::now();
    run_program({kCoapClient, "-b", "1024", "-B", "30", "-o", out.string(), url(path)},
                dir_ / "coap-client.log");
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {took, read_file(out) == expected};
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace bg95::test
