#pragma once
// Test support for the socket tests: a byte stream over the host side of the pty that reads
// the way host drivers' parsers do (a byte at a time, waits with a deadline; no sleeps), and
// the bg95sim start-up those tests share (echo off, context 1 defined and active).

#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include <gtest/gtest.h>

#include "tests/support/sim_process.hpp"

namespace bg95::test {

class HostStream {
 public:
  explicit HostStream(HostPort& port) : port_(port) {}

  void write(std::string_view bytes) { port_.write(bytes); }
  // The next byte; throws when none comes within `timeout`.
  char get(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (!fill(timeout)) throw std::runtime_error("no byte from the module; last: " + tail());
    return buffer_[pos_++];
  }
  // A byte is there to read within `wait` (0: already arrived).
  bool available(std::chrono::milliseconds wait = std::chrono::milliseconds(0)) {
    return fill(wait);
  }
  std::string read_exactly(std::size_t n) {
    std::string out;
    out.reserve(n);
    while (out.size() < n)
      out.push_back(get());
    return out;
  }
  // Reads until the bytes read end with `needle`; returns them (needle included).
  std::string read_until(std::string_view needle) {
    std::string out;
    while (!out.ends_with(needle))
      out.push_back(get());
    return out;
  }
  std::string tail() const { return seen_.size() > 200 ? seen_.substr(seen_.size() - 200) : seen_; }

 private:
  bool fill(std::chrono::milliseconds timeout) {
    if (pos_ < buffer_.size()) return true;
    buffer_.clear();
    pos_ = 0;
    // Bytes HostPort read past an answer come first.
    if (!port_.pending().empty()) {
      buffer_ = std::exchange(port_.pending(), {});
      seen_.append(buffer_);
      return true;
    }
    pollfd p{port_.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::read(port_.fd(), chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer_.assign(chunk, static_cast<std::size_t>(n));
    seen_.append(buffer_);
    if (seen_.size() > 4096) seen_.erase(0, seen_.size() - 1024);
    return true;
  }
  HostPort& port_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::string seen_;
};

// Bytes of every value, with what a careless data path would trip on ("AT", "+++", CR LF,
// Ctrl-Z, ESC, "OK", URC-like text).
inline std::string socket_payload(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  const std::string tricky = std::string("AT\r\n+++\0\x1a\x1bOK\r\n+QIURC: \"recv\",0\r\n", 31);
  std::string out;
  while (out.size() < size) {
    if (rng() % 16 == 0)
      out += tricky;
    else
      out.push_back(static_cast<char>(rng()));
  }
  out.resize(size);
  return out;
}

// A command that opens a socket (AT+QIOPEN, AT+QSSLOPEN): OK, then the URC saying how.
inline void expect_open(HostPort& p, const std::string& command, const std::string& urc) {
  EXPECT_EQ(p.command(command + "\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.read_until(urc), urc);
}
// A send command (AT+QISEND, AT+QSSLSEND, with a length): "> ", the data, SEND OK.
inline void expect_send(HostPort& p, const std::string& command, std::string_view data) {
  p.write(command + "\r");
  EXPECT_EQ(p.read_until("> "), "\r\n> ");
  p.write(data);
  EXPECT_EQ(p.read_until("SEND OK\r\n"), "\r\nSEND OK\r\n");
}

// A bg95sim for socket tests: its control socket, echo off, context 1 active.
struct SocketSim {
  explicit SocketSim(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--control", control().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    sim = std::make_unique<SimProcess>(SimProcess::Options{dir.path() / "state", args});
    HostPort& p = sim->open_port();
    if (p.command("ATE0\r") != "ATE0\r\r\nOK\r\n") throw std::runtime_error("ATE0");
  }
  HostPort& port() { return sim->port(); }
  std::filesystem::path control() const { return dir.path() / "control.sock"; }
  TempDir dir;
  std::unique_ptr<SimProcess> sim;
};

}  // namespace bg95::test
