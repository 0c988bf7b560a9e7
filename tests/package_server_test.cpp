// Tests of the fault-injecting package server (scenarios/package_server/, docs/package-server.md)
// with real clients on 127.0.0.1 ephemeral ports: the project's own downloaders (HttpDownload,
// CoapDownload, whose outcome codes are the note's 70x), Debian's curl and coap-client-openssl,
// raw sockets for malformed requests, and the bg95-pkgserver program itself. The server runs
// in-process on the test's io_context; every wait runs that io_context until an event (a
// download's end, a server event, a child's exit through its pidfd) or a deadline.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "protocol/coap/coap_download.hpp"
#include "protocol/http/http_download.hpp"
#include "scenarios/package_server/config_yaml.hpp"
#include "scenarios/package_server/package_server.hpp"
#include "tests/support/sim_process.hpp"

extern char** environ;

namespace bg95::pkgserver {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcp = asio::ip::tcp;

using Bytes = std::vector<std::uint8_t>;

constexpr const char* kCurl = "/usr/bin/curl";
constexpr const char* kCoapClient = "/usr/bin/coap-client-openssl";
// The served file: 100 CoAP blocks of 1024 bytes and one of 17.
constexpr std::size_t kPayloadSize = 100 * 1024 + 17;

Bytes make_payload(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  Bytes bytes(size);
  for (auto& b : bytes) {
    b = static_cast<std::uint8_t>(rng() >> 24);
  }
  return bytes;
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::string read_text(const fs::path& path) {
  const Bytes bytes = read_bytes(path);
  return std::string(bytes.begin(), bytes.end());
}

Bytes slice(const Bytes& bytes, std::size_t from, std::size_t to) {
  return Bytes(bytes.begin() + static_cast<std::ptrdiff_t>(from),
               bytes.begin() + static_cast<std::ptrdiff_t>(to));
}

FaultRule rule_for(const std::string& path) {
  FaultRule rule;
  rule.path = path;
  return rule;
}

// What a stream delivered until its end (or error); shared with the reads in flight, so that
// it outlives them.
struct Received {
  std::string text;
  bool ended = false;
  std::array<char, 4096> buffer{};
};

template <typename Stream>
void read_more(Stream& stream, const std::shared_ptr<Received>& into) {
  stream.async_read_some(asio::buffer(into->buffer),
                         [&stream, into](const boost::system::error_code& ec, std::size_t n) {
                           into->text.append(into->buffer.data(), n);
                           if (ec) {
                             into->ended = true;
                           } else {
                             read_more(stream, into);
                           }
                         });
}

// Starts reading `stream` to its end; the stream must outlive the reads (close it first).
template <typename Stream>
std::shared_ptr<Received> read_to_end(Stream& stream) {
  auto into = std::make_shared<Received>();
  read_more(stream, into);
  return into;
}

template <typename Result>
struct Fetched {
  Result result;
  Bytes body;
  std::optional<std::uint64_t> total;  // from the progress: Content-Length, Size2
};
using HttpOutcome = Fetched<http::HttpDownloadResult>;
using CoapOutcome = Fetched<coap::CoapDownloadResult>;

// A program run to its end; the event loop learns of the end from a pidfd.
struct ChildResult {
  int exit_code = -1;  // -1: killed at the deadline, or a signal
  std::string out;     // stdout and stderr
};

class PackageServerTest : public ::testing::Test {
 protected:
  PackageServerTest() : payload_(make_payload(kPayloadSize, 7)) {
    root_ = dir_.path() / "root";
    fs::create_directories(root_);
    write_bytes(root_ / "update.bin", payload_);
  }

  PackageServerConfig plain_config() {
    PackageServerConfig config;
    config.root = root_;
    config.http = 0;
    config.coap = 0;
    config.pki_dir = dir_.path() / "pki";
    return config;
  }

  PackageServerConfig all_config() {
    PackageServerConfig config = plain_config();
    config.https = 0;
    config.coaps = 0;
    return config;
  }

  PackageServer& start(PackageServerConfig config) {
    server_.emplace(io_.get_executor(), std::move(config));
    server_->on_event([this](const ServerEvent& e) { events_.push_back(e); });
    server_->start();
    return *server_;
  }

  // Runs the event loop until `done` or the deadline; false at the deadline.
  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = Clock::now() + timeout;
    while (!done()) {
      if (Clock::now() >= deadline) return false;
      if (io_.stopped()) io_.restart();
      io_.run_one_until(deadline);
    }
    return true;
  }

  // The first event for `path` with this outcome, waiting for it.
  std::optional<ServerEvent> wait_event(const std::string& path, Outcome outcome,
                                        std::chrono::milliseconds timeout = 10s) {
    std::optional<ServerEvent> found;
    run_until(
        [&] {
          for (const auto& e : events_) {
            if (e.path == path && e.outcome == outcome) {
              found = e;
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }

  // One download with HttpDownload or CoapDownload (their handlers have the same shape).
  template <typename Download, typename Handlers, typename Outcome, typename Options>
  Outcome fetch(const std::string& url, Options options, std::chrono::milliseconds timeout) {
    Download download(io_.get_executor());
    Outcome out;
    bool done = false;
    Handlers handlers;
    handlers.on_chunk = [&out](std::span<const std::uint8_t> chunk) {
      out.body.insert(out.body.end(), chunk.begin(), chunk.end());
      return true;
    };
    handlers.on_progress = [&out](const auto& progress) { out.total = progress.total; };
    handlers.on_done = [&](const auto& result) {
      out.result = result;
      done = true;
    };
    download.start(url, std::move(options), std::move(handlers));
    EXPECT_TRUE(run_until([&] { return done; }, timeout)) << "no end of " << url;
    return out;
  }

  HttpOutcome http_get(const std::string& url, http::HttpDownloadOptions options = {}) {
    return fetch<http::HttpDownload, http::HttpDownloadHandlers, HttpOutcome>(
        url, std::move(options), 20s);
  }

  CoapOutcome coap_get(const std::string& url, coap::CoapDownloadOptions options = {}) {
    return fetch<coap::CoapDownload, coap::CoapDownloadHandlers, CoapOutcome>(
        url, std::move(options), 60s);
  }

  http::HttpDownloadOptions verified_by(const fs::path& ca) {
    http::HttpDownloadOptions options;
    options.ca_file = ca.string();
    return options;
  }

  // Runs a program while the event loop goes on serving; its output goes to a file.
  ChildResult run_child(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = 30s) {
    const fs::path log = dir_.path() / "child.log";
    fs::remove(log);
    std::vector<char*> argv;
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("cannot run " + args[0]);
    // Debian 12's <sys/pidfd.h> lacks extern "C": the system call itself.
    asio::posix::stream_descriptor exited(io_, static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    bool gone = false;
    exited.async_wait(asio::posix::stream_descriptor::wait_read,
                      [&gone](const boost::system::error_code&) { gone = true; });
    ChildResult result;
    if (!run_until([&] { return gone; }, timeout)) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    run_until([&] { return gone; }, 1s);  // the wait's handler, before `gone` goes
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.out = read_text(log);
    return result;
  }

  // curl's exit code; the body in `body_file`, the headers in `headers_file`, the status on
  // the output line.
  ChildResult curl(const std::vector<std::string>& extra, const std::string& url) {
    std::vector<std::string> args = {kCurl,        "-sS",
                                     "--max-time", "20",
                                     "-o",         body_file().string(),
                                     "-D",         headers_file().string(),
                                     "-w",         "%{http_code}"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(url);
    fs::remove(body_file());
    return run_child(args);
  }
  fs::path body_file() const { return dir_.path() / "body.bin"; }
  fs::path headers_file() const { return dir_.path() / "headers.txt"; }

  // Sends `request` on a fresh connection and reads until the server closes it.
  std::string raw_exchange(std::uint16_t port, const std::string& request) {
    tcp::socket socket(io_);
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    boost::system::error_code ignored;  // a server that closed at once fails the write
    asio::write(socket, asio::buffer(request), ignored);
    const auto reply = read_to_end(socket);
    EXPECT_TRUE(run_until([&] { return reply->ended; }, 10s)) << "the server did not close";
    socket.close();
    return reply->text;
  }

  test::TempDir dir_;
  fs::path root_;
  Bytes payload_;
  asio::io_context io_;
  std::optional<PackageServer> server_;  // after io_: goes first
  std::vector<ServerEvent> events_;
};

// ============================================================================ HTTP

TEST_F(PackageServerTest, HttpServesTheWholeFileAndReportsIt) {
  auto& server = start(plain_config());
  const auto got = http_get(server.url(Protocol::Http, "/update.bin"));
  EXPECT_EQ(got.result.http_err, 0) << got.result.detail;
  EXPECT_EQ(got.result.status, 200);
  EXPECT_EQ(got.body, payload_);
  const auto event = wait_event("/update.bin", Outcome::Complete);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->protocol, Protocol::Http);
  EXPECT_EQ(event->method, "GET");
  EXPECT_EQ(event->status, 200);
  EXPECT_EQ(event->bytes_sent, payload_.size());
  EXPECT_TRUE(event->faults.empty());
  EXPECT_TRUE(event->peer.starts_with("127.0.0.1:")) << event->peer;
  EXPECT_EQ(to_string(*event).substr(0, 5), "http ");
  EXPECT_NE(to_string(*event).find(" GET /update.bin -> 200 102417 bytes complete"),
            std::string::npos)
      << to_string(*event);
}

TEST_F(PackageServerTest, HttpHeadAnnouncesTheFileWithoutBody) {
  auto& server = start(plain_config());
  const auto run = curl({"-I"}, server.url(Protocol::Http, "/update.bin"));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(run.out, "200");
  const std::string headers = read_text(headers_file());
  EXPECT_NE(headers.find("Content-Length: 102417\r\n"), std::string::npos) << headers;
  EXPECT_NE(headers.find("Accept-Ranges: bytes\r\n"), std::string::npos) << headers;
  const auto event = wait_event("/update.bin", Outcome::Complete);
  ASSERT_TRUE(event);
  EXPECT_EQ(event->method, "HEAD");
  EXPECT_EQ(event->bytes_sent, 0u);
}

TEST_F(PackageServerTest, HttpRangeRequestsGetExactSlices) {
  auto& server = start(plain_config());
  const std::string url = server.url(Protocol::Http, "/update.bin");

  auto run = curl({"-r", "1000-1999"}, url);
  EXPECT_EQ(run.out, "206");
  EXPECT_EQ(read_bytes(body_file()), slice(payload_, 1000, 2000));
  EXPECT_NE(read_text(headers_file()).find("Content-Range: bytes 1000-1999/102417\r\n"),
            std::string::npos);

  run = curl({"-r", "-100"}, url);  // the last 100 bytes
  EXPECT_EQ(run.out, "206");
  EXPECT_EQ(read_bytes(body_file()), slice(payload_, payload_.size() - 100, payload_.size()));

  run = curl({"-r", "100000-"}, url);  // to the end
  EXPECT_EQ(run.out, "206");
  EXPECT_EQ(read_bytes(body_file()), slice(payload_, 100000, payload_.size()));

  run = curl({"-r", "200000-300000"}, url);  // beyond the end
  EXPECT_EQ(run.out, "416");
  EXPECT_NE(read_text(headers_file()).find("Content-Range: bytes */102417\r\n"), std::string::npos);

  run = curl({"-r", "0-9,20-29"}, url);  // several ranges: the whole file
  EXPECT_EQ(run.out, "200");
  EXPECT_EQ(read_bytes(body_file()), payload_);

  ASSERT_TRUE(run_until([&] { return events_.size() >= 5; }));
  EXPECT_EQ(events_[0].range_first, 1000u);
  EXPECT_EQ(events_[0].range_last, 1999u);
  EXPECT_EQ(events_[0].bytes_sent, 1000u);
}

TEST_F(PackageServerTest, HttpTruncateCountsOffsetsIntoTheWholeFileForARange) {
  auto config = plain_config();
  FaultRule truncate = rule_for("*");
  truncate.truncate_at = 5000;
  config.faults = {truncate};
  auto& server = start(config);
  const auto run = curl({"-r", "1000-99999"}, server.url(Protocol::Http, "/update.bin"));
  EXPECT_EQ(run.exit_code, 18) << run.out;  // curl: partial file
  EXPECT_EQ(read_bytes(body_file()), slice(payload_, 1000, 5000));
}

TEST_F(PackageServerTest, HttpRateLimitHoldsTheBodyBack) {
  auto config = plain_config();
  FaultRule slow = rule_for("/update.bin");
  slow.rate_limit = 200 * 1024;  // bytes per second
  config.faults = {slow};
  auto& server = start(config);
  const auto started = Clock::now();
  const auto got = http_get(server.url(Protocol::Http, "/update.bin"));
  const auto took = Clock::now() - started;
  EXPECT_EQ(got.result.http_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
  // The last slice (rate / 20 bytes) may leave when the bytes before it have had their time.
  const double least = static_cast<double>(payload_.size() - 200 * 1024 / 20) / (200 * 1024);
  EXPECT_GE(std::chrono::duration<double>(took).count(), least);
}

TEST_F(PackageServerTest, HttpCorruptFlipsExactlyThoseBytes) {
  auto config = plain_config();
  FaultRule corrupt = rule_for("/update.bin");
  corrupt.corrupt = {{1000, 16}, {90000, 1}};
  config.faults = {corrupt};
  auto& server = start(config);
  const auto got = http_get(server.url(Protocol::Http, "/update.bin"));
  EXPECT_EQ(got.result.http_err, 0) << got.result.detail;
  ASSERT_EQ(got.body.size(), payload_.size());
  std::vector<std::size_t> differ;
  for (std::size_t i = 0; i < payload_.size(); ++i) {
    if (got.body[i] != payload_[i]) {
      differ.push_back(i);
      EXPECT_EQ(got.body[i], static_cast<std::uint8_t>(payload_[i] ^ 0xff));
    }
  }
  std::vector<std::size_t> expected;
  for (std::size_t i = 1000; i < 1016; ++i)
    expected.push_back(i);
  expected.push_back(90000);
  EXPECT_EQ(differ, expected);
}

TEST_F(PackageServerTest, CountSelectorsPickTheRequests) {
  auto config = plain_config();
  write_bytes(root_ / "a.bin", payload_);
  write_bytes(root_ / "b.bin", payload_);
  FaultRule first = rule_for("/update.bin");
  first.requests = {RequestSelector::Kind::First, 2};
  first.status = 503;
  FaultRule every = rule_for("/a.bin");
  every.requests = {RequestSelector::Kind::Every, 2};
  every.status = 503;
  FaultRule nth = rule_for("/b.*");  // a glob
  nth.requests = {RequestSelector::Kind::Nth, 3};
  nth.status = 503;
  config.faults = {first, every, nth};
  auto& server = start(config);
  auto codes = [&](const std::string& path) {
    std::vector<int> out;
    for (int i = 0; i < 4; ++i) {
      out.push_back(http_get(server.url(Protocol::Http, path)).result.http_err);
    }
    return out;
  };
  EXPECT_EQ(codes("/update.bin"), (std::vector<int>{703, 703, 0, 0}));
  EXPECT_EQ(codes("/a.bin"), (std::vector<int>{0, 703, 0, 703}));
  EXPECT_EQ(codes("/b.bin"), (std::vector<int>{0, 0, 703, 0}));
}

TEST_F(PackageServerTest, FaultsAndFilesChangeWhileTheServerRuns) {
  auto& server = start(plain_config());
  const std::string url = server.url(Protocol::Http, "/update.bin");
  EXPECT_EQ(http_get(url).result.http_err, 0);
  FaultRule truncate = rule_for("/update.bin");
  truncate.truncate_at = 1234;
  server.add_fault(truncate);
  auto got = http_get(url);
  EXPECT_EQ(got.result.http_err, 701);
  EXPECT_EQ(got.body.size(), 1234u);
  server.clear_faults();
  EXPECT_EQ(http_get(url).result.http_err, 0);

  const Bytes other = make_payload(5000, 99);
  server.set_file("/update.bin", other);  // memory wins over the folder
  got = http_get(url);
  EXPECT_EQ(got.body, other);
  server.remove_file("/update.bin");
  EXPECT_EQ(http_get(url).body, payload_);

  FaultRule bad = rule_for("/x");  // no effect
  EXPECT_THROW(server.add_fault(bad), std::invalid_argument);
}

TEST_F(PackageServerTest, PathsNeverLeaveTheRoot) {
  const fs::path secret = dir_.path() / "secret.txt";
  write_bytes(secret, Bytes{'s', 'e', 'c', 'r', 'e', 't'});
  fs::create_symlink(secret, root_ / "link-out.bin");
  fs::create_symlink(root_ / "update.bin", root_ / "link-in.bin");
  fs::create_directories(root_ / "sub");
  write_bytes(root_ / "sub" / "deep.bin", payload_);
  auto& server = start(plain_config());
  const std::string base = server.url(Protocol::Http, "");

  EXPECT_EQ(curl({"--path-as-is"}, base + "/../secret.txt").out, "403");
  EXPECT_EQ(curl({"--path-as-is"}, base + "/sub/../../secret.txt").out, "403");
  EXPECT_EQ(curl({}, base + "/%2e%2e/secret.txt").out, "403");
  EXPECT_EQ(curl({}, base + "/%2E%2e%2fsecret.txt").out, "403");  // an encoded slash too
  EXPECT_EQ(curl({}, base + "/a%00b").out, "403");
  EXPECT_EQ(curl({}, base + "/link-out.bin").out, "403");
  EXPECT_EQ(curl({}, base + "/sub").out, "404");  // a folder is no file
  EXPECT_EQ(curl({}, base + "/link-in.bin").out, "200");
  EXPECT_EQ(read_bytes(body_file()), payload_);
  EXPECT_EQ(curl({}, base + "/sub/deep.bin").out, "200");
  // CoAP sends segments as options: ".." arrives as it is.
  auto got = coap_get(server.url(Protocol::Coap, "/link-out.bin"));
  EXPECT_EQ(got.result.response_code, 403);
  EXPECT_EQ(got.result.coap_err, 703);
}

TEST_F(PackageServerTest, MalformedRequestsGetErrorsAndTheServerGoesOn) {
  auto config = plain_config();
  config.max_header_bytes = 1024;
  auto& server = start(config);
  const std::uint16_t port = server.port(Protocol::Http);
  auto status_line = [](const std::string& reply) { return reply.substr(0, reply.find('\r')); };

  EXPECT_EQ(status_line(raw_exchange(port, "GARBAGE\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(raw_exchange(port, "GET /update.bin HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");  // no Host
  EXPECT_EQ(status_line(raw_exchange(port, "GET /update.bin HTTP/2.0\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 505 HTTP Version Not Supported");
  EXPECT_EQ(status_line(raw_exchange(port, "POST /update.bin HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 405 Method Not Allowed");
  EXPECT_EQ(status_line(raw_exchange(
                port, "GET /update.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(raw_exchange(port, "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_line(raw_exchange(port, "GET /update.bin HTTP/1.1\r\nHost: x\r\nX: " +
                                               std::string(2000, 'a') + "\r\n\r\n")),
            "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(status_line(raw_exchange(port, std::string(5000, 'A'))),
            "HTTP/1.1 431 Request Header Fields Too Large");
  // Still serving.
  EXPECT_EQ(http_get(server.url(Protocol::Http, "/update.bin")).body, payload_);
}

TEST_F(PackageServerTest, KeepAliveServesPipelinedRequestsInOrder) {
  auto& server = start(plain_config());
  write_bytes(root_ / "small.txt", Bytes{'h', 'i'});
  const std::string reply =
      raw_exchange(server.port(Protocol::Http),
                   "GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                   "GET /small.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=1-1\r\n\r\n"
                   "GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::vector<std::string> statuses;
  for (std::size_t at = reply.find("HTTP/1.1 "); at != std::string::npos;
       at = reply.find("HTTP/1.1 ", at + 1)) {
    statuses.push_back(reply.substr(at + 9, 3));
  }
  EXPECT_EQ(statuses, (std::vector<std::string>{"200", "206", "200"}));
  EXPECT_TRUE(reply.ends_with("\r\n\r\nhi")) << reply;
  EXPECT_NE(reply.find("Content-Length: 1\r\n"), std::string::npos);
}

TEST_F(PackageServerTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  auto config = plain_config();
  config.max_connections = 2;
  auto& server = start(config);
  const tcp::endpoint where(asio::ip::make_address("127.0.0.1"), server.port(Protocol::Http));
  tcp::socket a(io_), b(io_);
  a.connect(where);
  b.connect(where);
  // The third is accepted after the first two and closed without a byte.
  const std::string third = raw_exchange(server.port(Protocol::Http), "GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(third, "");
  ASSERT_TRUE(wait_event("", Outcome::Refused));
  a.close();
  b.close();
  // Once they are gone (the server notices), requests are served again.
  std::string reply;
  ASSERT_TRUE(run_until([&] {
    reply = raw_exchange(server.port(Protocol::Http),
                         "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return !reply.empty();
  }));
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 404 ")) << reply;
}

TEST_F(PackageServerTest, OnlyLoopbackAndClearBindErrors) {
  auto config = plain_config();
  config.bind_address = "0.0.0.0";
  EXPECT_THROW(PackageServer(io_.get_executor(), config), std::invalid_argument);
  config.bind_address = "not-an-address";
  EXPECT_THROW(PackageServer(io_.get_executor(), config), std::invalid_argument);

  auto& first = start(plain_config());
  auto taken = plain_config();
  taken.http = first.port(Protocol::Http);
  taken.coap.reset();
  PackageServer second(io_.get_executor(), taken);
  try {
    second.start();
    ADD_FAILURE() << "a taken port was bound";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot listen on 127.0.0.1:" + std::to_string(first.port(Protocol::Http)) +
                  " for http: Address already in use");
  }
  EXPECT_FALSE(second.running());

  auto missing = plain_config();
  missing.root = dir_.path() / "nowhere";
  EXPECT_THROW(PackageServer(io_.get_executor(), missing), std::invalid_argument);
}

TEST_F(PackageServerTest, RestartKeepsPortsAndCertificates) {
  auto& server = start(all_config());
  const auto http_port = server.port(Protocol::Http);
  const auto coaps_port = server.port(Protocol::Coaps);
  const std::string ca = read_text(server.ca_file());
  server.stop();
  EXPECT_EQ(server.port(Protocol::Http), 0);
  server.start();
  EXPECT_EQ(server.port(Protocol::Http), http_port);
  EXPECT_EQ(server.port(Protocol::Coaps), coaps_port);
  EXPECT_EQ(read_text(server.ca_file()), ca);
  EXPECT_EQ(
      http_get(server.url(Protocol::Https, "/update.bin"), verified_by(server.ca_file())).body,
      payload_);
}

// ============================================================================ HTTPS

TEST_F(PackageServerTest, HttpsWithTheRightAndTheWrongCa) {
  auto config = all_config();
  FaultRule wrong;
  wrong.tls_wrong_ca = true;
  wrong.requests = {RequestSelector::Kind::First, 1};
  config.faults = {wrong};
  auto& server = start(config);
  const std::string url = server.url(Protocol::Https, "/update.bin");
  EXPECT_EQ(server.ca_file(), dir_.path() / "pki" / "ca.pem");
  EXPECT_EQ(server.wrong_ca_file(), dir_.path() / "pki" / "wrong-ca.pem");

  // First connection: a certificate from the wrong CA. cpp-httplib checks it after the
  // handshake and closes without a request.
  auto got = http_get(url, verified_by(server.ca_file()));
  EXPECT_EQ(got.result.http_err, 702) << got.result.detail;
  const auto unused = wait_event("", Outcome::Closed);
  ASSERT_TRUE(unused);
  EXPECT_EQ(unused->protocol, Protocol::Https);
  EXPECT_EQ(unused->faults, std::vector<std::string>{"tls_wrong_ca (connection 1, first 1)"});
  EXPECT_EQ(unused->detail, "closed before a request");
  // Then the right one.
  got = http_get(url, verified_by(server.ca_file()));
  EXPECT_EQ(got.result.http_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);

  // The wrong certificate really is the wrong CA's: a client trusting that CA accepts it.
  server.set_faults({wrong});
  got = http_get(url, verified_by(server.wrong_ca_file()));
  EXPECT_EQ(got.result.http_err, 0) << got.result.detail;
  // curl refuses it in the handshake (exit 60: peer certificate cannot be authenticated).
  server.set_faults({wrong});
  EXPECT_EQ(curl({"--cacert", server.ca_file().string()}, url).exit_code, 60);
  const auto refused = wait_event("", Outcome::HandshakeFailed);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->faults, std::vector<std::string>{"tls_wrong_ca (connection 1, first 1)"});
  EXPECT_EQ(refused->detail, "tlsv1 alert unknown ca");
}

TEST_F(PackageServerTest, HttpsDemandsAClientCertificate) {
  auto config = all_config();
  config.https_client_cert = true;
  auto& server = start(config);
  const std::string url = server.url(Protocol::Https, "/update.bin");
  auto got = http_get(url, verified_by(server.ca_file()));
  EXPECT_EQ(got.result.http_err, 702) << got.result.detail;
  auto options = verified_by(server.ca_file());
  options.client_cert_file = server.pki().client.cert_file.string();
  options.client_key_file = server.pki().client.key_file.string();
  got = http_get(url, options);
  EXPECT_EQ(got.result.http_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
  // A client certificate from the wrong CA is refused.
  options.client_cert_file = server.pki().other_client.cert_file.string();
  options.client_key_file = server.pki().other_client.key_file.string();
  EXPECT_EQ(http_get(url, options).result.http_err, 702);
}

TEST_F(PackageServerTest, HttpsFaultsWorkThroughTls) {
  auto config = all_config();
  FaultRule truncate = rule_for("/update.bin");
  truncate.truncate_at = 7777;
  truncate.protocols = {Protocol::Https};
  config.faults = {truncate};
  auto& server = start(config);
  auto got = http_get(server.url(Protocol::Https, "/update.bin"), verified_by(server.ca_file()));
  EXPECT_EQ(got.result.http_err, 701) << got.result.detail;
  EXPECT_EQ(got.body, slice(payload_, 0, 7777));
  // The rule is for HTTPS only.
  EXPECT_EQ(http_get(server.url(Protocol::Http, "/update.bin")).body, payload_);
  // curl over TLS 1.2 with a Range.
  const auto run = curl({"--cacert", server.ca_file().string(), "--tls-max", "1.2", "-r", "10-19"},
                        server.url(Protocol::Https, "/update.bin"));
  EXPECT_EQ(run.out, "206");
  EXPECT_EQ(read_bytes(body_file()), slice(payload_, 10, 20));
}

// ============================================================================ CoAP

TEST_F(PackageServerTest, CoapServesTheFileBlockWise) {
  auto& server = start(plain_config());
  const auto got = coap_get(server.url(Protocol::Coap, "/update.bin"));
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
  EXPECT_EQ(got.total, payload_.size());  // Size2
  ASSERT_TRUE(run_until([&] { return events_.size() >= 101; }));
  EXPECT_EQ(events_.size(), 101u);  // 100 blocks of 1024 bytes and one of 17
  EXPECT_EQ(events_.back().block, 100u);
  EXPECT_EQ(events_.back().bytes_sent, 17u);
  EXPECT_EQ(events_.back().status, 205);
  EXPECT_NE(to_string(events_.back()).find(" block=100/1024 -> 2.05 17 bytes complete"),
            std::string::npos)
      << to_string(events_.back());
}

TEST_F(PackageServerTest, CoapFollowsTheClientsAndTheServersBlockSize) {
  auto config = plain_config();
  config.max_block_szx = 4;  // 256 bytes at most
  auto& server = start(config);
  auto got = coap_get(server.url(Protocol::Coap, "/update.bin"));  // asks for 1024
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
  EXPECT_EQ(events_.front().block_size, 256u);
  coap::CoapDownloadOptions small;
  small.block_szx = 2;  // 64 bytes
  got = coap_get(server.url(Protocol::Coap, "/update.bin"), small);
  EXPECT_EQ(got.body, payload_);
}

TEST_F(PackageServerTest, CoapWithDebiansClient) {
  auto& server = start(plain_config());
  const fs::path out = dir_.path() / "coap.bin";
  const auto run = run_child({kCoapClient, "-b", "1024", "-B", "20", "-o", out.string(),
                              server.url(Protocol::Coap, "/update.bin")});
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_EQ(read_bytes(out), payload_);
}

// The codes of GET are in the fault -> code matrix below.
TEST_F(PackageServerTest, CoapAnswersOnlyGet) {
  auto& server = start(plain_config());
  // Only GET: coap-client prints the response code.
  for (const char* method : {"put", "post", "delete"}) {
    const auto run = run_child({kCoapClient, "-m", method, "-e", "x", "-B", "5",
                                server.url(Protocol::Coap, "/update.bin")});
    EXPECT_EQ(run.out, "4.05\n") << method;
  }
  ASSERT_TRUE(run_until([&] { return events_.size() >= 3; }));
  EXPECT_EQ(events_[0].method, "PUT");
  EXPECT_EQ(events_[2].method, "DELETE");
  EXPECT_EQ(events_[2].status, 405);
}

TEST_F(PackageServerTest, CoapDropIsALossyLink) {
  auto config = plain_config();
  write_bytes(root_ / "small.bin", slice(payload_, 0, 3000));  // three blocks
  FaultRule lossy = rule_for("/small.bin");
  lossy.drop = 2;  // every second request datagram
  config.faults = {lossy};
  auto& server = start(config);
  coap::CoapDownloadOptions options;
  options.ack_timeout = 1s;
  const auto got = coap_get(server.url(Protocol::Coap, "/small.bin"), options);
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, slice(payload_, 0, 3000));
  // Datagrams 2 and 4 were dropped: the requests for blocks 1 and 2, each answered when
  // retransmitted.
  std::vector<std::pair<std::uint32_t, Outcome>> seen;
  ASSERT_TRUE(run_until([&] { return events_.size() >= 5; }));
  for (const auto& e : events_)
    seen.emplace_back(*e.block, e.outcome);
  EXPECT_EQ(seen, (std::vector<std::pair<std::uint32_t, Outcome>>{{0, Outcome::Complete},
                                                                  {1, Outcome::Dropped},
                                                                  {1, Outcome::Complete},
                                                                  {2, Outcome::Dropped},
                                                                  {2, Outcome::Complete}}));
}

TEST_F(PackageServerTest, CoapCorruptFlipsBytesAcrossABlockBoundary) {
  auto config = plain_config();
  FaultRule corrupt = rule_for("/update.bin");
  corrupt.corrupt = {{2040, 16}};  // across the block boundary at 2048
  config.faults = {corrupt};
  auto& server = start(config);
  const auto got = coap_get(server.url(Protocol::Coap, "/update.bin"));
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  Bytes expected = payload_;
  for (std::size_t i = 2040; i < 2056; ++i)
    expected[i] ^= 0xff;
  EXPECT_EQ(got.body, expected);
}

TEST_F(PackageServerTest, CoapRateLimitDelaysTheAnswers) {
  auto config = plain_config();
  write_bytes(root_ / "small.bin", slice(payload_, 0, 20 * 1024));
  FaultRule slow = rule_for("/small.bin");
  slow.rate_limit = 40 * 1024;
  config.faults = {slow};
  auto& server = start(config);
  const auto started = Clock::now();
  const auto got = coap_get(server.url(Protocol::Coap, "/small.bin"));
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, slice(payload_, 0, 20 * 1024));
  // Block n is answered when n KiB would have taken that long: the last at 19 KiB / 40 KiB/s.
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - started).count(), 19.0 / 40.0);
}

TEST_F(PackageServerTest, AFileReplacedOnDiskIsReadAgain) {
  auto& server = start(plain_config());
  const std::string http_url = server.url(Protocol::Http, "/update.bin");
  EXPECT_EQ(http_get(http_url).body, payload_);
  const Bytes other = make_payload(payload_.size(), 8);  // same size: the mtime tells
  write_bytes(root_ / "update.bin", other);
  EXPECT_EQ(http_get(http_url).body, other);

  // Replaced in the middle of a CoAP transfer: the next block carries the new ETag.
  server.on_event([&](const ServerEvent& e) {
    events_.push_back(e);
    if (e.block == 10u) write_bytes(root_ / "update.bin", payload_);
  });
  const auto got = coap_get(server.url(Protocol::Coap, "/update.bin"));
  EXPECT_EQ(got.result.coap_err, 701) << got.result.detail;
  EXPECT_NE(got.result.detail.find("the resource changed during the transfer"), std::string::npos)
      << got.result.detail;
}

TEST_F(PackageServerTest, CoapFaultCountsTransfersNotBlocks) {
  auto config = plain_config();
  FaultRule first = rule_for("/update.bin");
  first.requests = {RequestSelector::Kind::First, 1};
  first.etag_change_after = 3;
  config.faults = {first};
  auto& server = start(config);
  EXPECT_EQ(coap_get(server.url(Protocol::Coap, "/update.bin")).result.coap_err, 701);
  const auto again = coap_get(server.url(Protocol::Coap, "/update.bin"));
  EXPECT_EQ(again.result.coap_err, 0) << again.result.detail;
  EXPECT_EQ(again.body, payload_);
}

// ============================================================================ fault -> code

// What the server reports of the faulted download.
struct EventCheck {
  Outcome outcome = Outcome::Complete;  // the first event of the path with this outcome,
  std::optional<std::size_t> index{};   // or the event at this index, whatever its outcome
  std::optional<std::uint64_t> bytes_sent{};
  std::optional<std::uint32_t> block{};
  std::optional<int> status{};
  std::optional<std::vector<std::string>> faults{};
  std::optional<std::string> detail{};
};

// One row of the matrix: a rule on one path, one download of that path with the project's
// downloader (HttpDownload or CoapDownload), and what the downloader and the server report.
// Only what a row sets is checked; every member has an initializer, so a row names only what
// it sets (and no -Wmissing-field-initializers).
struct FaultCase {
  std::string name{};
  Protocol protocol = Protocol::Http;        // Http or Coap
  std::string path = "/update.bin";          // the file fetched; the rule is for this path
  bool file = true;                          // the payload is there under `path`
  std::function<void(FaultRule&)> fault{};   // the rule; empty: none
  std::chrono::milliseconds idle_timeout{};  // the downloader's; 0: its default
  std::chrono::milliseconds ack_timeout{};   // CoAP's first retransmission; 0: the default
  int code = 0;                              // http_err / coap_err: the note's 70x, 0 = success
  std::optional<int> status{};               // HTTP status / CoAP response code
  std::optional<std::uint64_t> received{};   // bytes the downloader took
  std::optional<std::size_t> body{};         // the body is the payload's first n bytes
  std::optional<std::uint64_t> total{};      // announced: Content-Length / Size2
  std::chrono::milliseconds at_least{};      // the download takes at least this long
  std::optional<EventCheck> event{};
};

// Checks what a row sets, and nothing when it does not.
template <typename Actual, typename Expected>
void expect_set(const Actual& actual, const std::optional<Expected>& expected, const char* what) {
  if (expected) {
    EXPECT_EQ(actual, *expected) << what;
  }
}

void PrintTo(const FaultCase& c, std::ostream* os) {
  *os << c.name;
}

const std::vector<FaultCase> kFaultCases = {
    // ---- HTTP
    {.name = "HttpTruncateClosesAfterThatByteAnd701",
     .fault = [](FaultRule& r) { r.truncate_at = 50000; },
     .code = 701,
     .received = 50000,
     .body = 50000,
     .event = EventCheck{.outcome = Outcome::Truncated,
                         .bytes_sent = 50000,
                         .faults = std::vector<std::string>{"truncate_at=50000"}}},
    {.name = "HttpStatusFaultIs703",
     .fault = [](FaultRule& r) { r.status = 500; },
     .code = 703,
     .status = 500},
    {.name = "HttpStatus404ForAFileThatIsThereIs706",
     .path = "/gone.bin",
     .fault = [](FaultRule& r) { r.status = 404; },
     .code = 706},
    {.name = "HttpMissingFileIs706",
     .path = "/absent.bin",
     .file = false,
     .code = 706,
     .status = 404},
    {.name = "HttpStallWithAShortIdleTimeoutIs704",
     .fault = [](FaultRule& r) { r.stall_after = 20000; },
     .idle_timeout = 300ms,
     .code = 704,
     .body = 20000,
     .event = EventCheck{.outcome = Outcome::Stalled, .bytes_sent = 20000}},
    {.name = "HttpStallForAWhileThenGoesOn",
     .fault =
         [](FaultRule& r) {
           r.stall_after = 20000;
           r.stall_for = 300ms;
         },
     .code = 0,
     .body = kPayloadSize,
     .at_least = 300ms,
     .event =
         EventCheck{.outcome = Outcome::Complete,
                    .faults = std::vector<std::string>{"stall_after=20000", "stall_for=300ms"}}},
    // Announced more than it sends: the server closes after the real bytes.
    {.name = "HttpContentLengthBeyondTheFileIs701",
     .fault = [](FaultRule& r) { r.content_length = kPayloadSize + 1000; },
     .code = 701,
     .body = kPayloadSize},
    // Announced less: the client stops at the announced length and calls it complete.
    {.name = "HttpContentLengthShortOfTheFileIsComplete",
     .path = "/short.bin",
     .fault = [](FaultRule& r) { r.content_length = kPayloadSize - 1000; },
     .code = 0,
     .body = kPayloadSize - 1000},
    {.name = "HttpCloseWithoutResponseIs703",
     .fault = [](FaultRule& r) { r.close_without_response = true; },
     .code = 703,
     .status = 0,
     .event = EventCheck{.outcome = Outcome::NoResponse, .status = 0}},
    // ---- CoAP
    {.name = "CoapStatusFaultIs703",
     .protocol = Protocol::Coap,
     .fault = [](FaultRule& r) { r.status = 500; },  // 5.00
     .code = 703,
     .status = 500},
    {.name = "CoapMissingFileIs706",
     .protocol = Protocol::Coap,
     .path = "/absent.bin",
     .file = false,
     .code = 706,
     .status = 404},
    {.name = "CoapEtagChangeIs701",
     .protocol = Protocol::Coap,
     .fault = [](FaultRule& r) { r.etag_change_after = 9; },
     .code = 701,
     .received = 10u * 1024u,  // blocks 0..9
     .body = 10 * 1024},
    {.name = "CoapOutOfOrderBlockIs701",
     .protocol = Protocol::Coap,
     .fault = [](FaultRule& r) { r.out_of_order = 5; },
     .code = 701,
     .received = 5u * 1024u,
     .event = EventCheck{.index = 5, .block = 5, .detail = "answered block 6 instead"}},
    // The body ends at byte 5000 while Size2 still says 102417: the downloader does not compare
    // the two and reports success; the package check (710) is what catches it on the module.
    {.name = "CoapTruncatedBodyEndsEarly",
     .protocol = Protocol::Coap,
     .fault = [](FaultRule& r) { r.truncate_at = 5000; },
     .code = 0,
     .body = 5000,
     .total = kPayloadSize,
     .event = EventCheck{.outcome = Outcome::Truncated, .bytes_sent = 5000u - 4096u, .block = 4}},
    {.name = "CoapStallWithAShortIdleTimeoutIs704",
     .protocol = Protocol::Coap,
     // Blocks that end beyond it get no answer.
     .fault = [](FaultRule& r) { r.stall_after = 10 * 1024 + 500; },
     .idle_timeout = 500ms,
     .code = 704,
     .body = 10 * 1024,
     .event = EventCheck{.outcome = Outcome::Stalled, .block = 10}},
    {.name = "CoapStallForAWhileThenAnswersTheRetransmission",
     .protocol = Protocol::Coap,
     .fault =
         [](FaultRule& r) {
           r.stall_after = 10 * 1024;
           r.stall_for = 500ms;
         },
     .ack_timeout = 1s,  // the first retransmission after 1..1.5 s
     .code = 0,
     .body = kPayloadSize,
     .event = EventCheck{.outcome = Outcome::Stalled}},
    {.name = "CoapResetInsteadOfAnAnswerIs702",
     .protocol = Protocol::Coap,
     .fault = [](FaultRule& r) { r.close_without_response = true; },
     .code = 702,
     .event = EventCheck{.outcome = Outcome::NoResponse}},
    {.name = "CoapSize2BeyondThePackageAreaIs708",
     .protocol = Protocol::Coap,
     .path = "/big.bin",
     // More than the 6 MiB package area.
     .fault = [](FaultRule& r) { r.content_length = 7u * 1024u * 1024u; },
     .code = 708},
};

class PackageServerFaultTest : public PackageServerTest,
                               public ::testing::WithParamInterface<FaultCase> {
 protected:
  // The end of a download as either downloader reports it.
  struct Ended {
    int code = -1;    // http_err / coap_err
    int status = -1;  // HTTP status / CoAP response code
    std::uint64_t received = 0;
    std::string detail;
    Bytes body;
    std::optional<std::uint64_t> total;
  };

  Ended download(const FaultCase& c, const std::string& url) {
    if (c.protocol == Protocol::Http) {
      http::HttpDownloadOptions options;
      if (c.idle_timeout.count() > 0) options.idle_timeout = c.idle_timeout;
      auto got = http_get(url, options);
      return {got.result.http_err, got.result.status,   got.result.received,
              got.result.detail,   std::move(got.body), got.total};
    }
    coap::CoapDownloadOptions options;
    if (c.idle_timeout.count() > 0) options.idle_timeout = c.idle_timeout;
    if (c.ack_timeout.count() > 0) options.ack_timeout = c.ack_timeout;
    auto got = coap_get(url, options);
    return {got.result.coap_err, got.result.response_code, got.result.received,
            got.result.detail,   std::move(got.body),      got.total};
  }

  void check_event(const std::string& path, const EventCheck& check) {
    std::optional<ServerEvent> event;
    if (check.index) {
      ASSERT_TRUE(run_until([&] { return events_.size() > *check.index; }));
      event = events_[*check.index];
    } else {
      event = wait_event(path, check.outcome);
    }
    ASSERT_TRUE(event);
    expect_set(event->bytes_sent, check.bytes_sent, "bytes_sent");
    expect_set(event->block, check.block, "block");
    expect_set(event->status, check.status, "status");
    expect_set(event->faults, check.faults, "faults");
    expect_set(event->detail, check.detail, "detail");
  }
};

TEST_P(PackageServerFaultTest, Download) {
  const FaultCase& c = GetParam();
  auto config = plain_config();
  if (c.file) write_bytes(root_ / c.path.substr(1), payload_);
  if (c.fault) {
    FaultRule rule = rule_for(c.path);
    c.fault(rule);
    config.faults = {rule};
  }
  auto& server = start(config);
  const auto started = Clock::now();
  const Ended got = download(c, server.url(c.protocol, c.path));
  const auto took = Clock::now() - started;
  EXPECT_EQ(got.code, c.code) << got.detail;
  expect_set(got.status, c.status, "status");
  expect_set(got.received, c.received, "received");
  if (c.body) {
    EXPECT_EQ(got.body, slice(payload_, 0, *c.body));
  }
  expect_set(got.total, c.total, "total");
  if (c.at_least.count() > 0) {
    EXPECT_GE(took, c.at_least);
  }
  if (c.event) check_event(c.path, *c.event);
}

INSTANTIATE_TEST_SUITE_P(FaultToCode, PackageServerFaultTest, ::testing::ValuesIn(kFaultCases),
                         [](const auto& row) { return row.param.name; });

// ============================================================================ CoAPS

TEST_F(PackageServerTest, CoapsWithAPreSharedKey) {
  auto config = all_config();
  config.coaps_psk = PskCredentials{"bg95", "secret"};
  auto& server = start(config);
  coap::CoapDownloadOptions options;
  options.psk_identity = "bg95";
  options.psk_key = "secret";
  auto got = coap_get(server.url(Protocol::Coaps, "/update.bin"), options);
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
  options.psk_key = "wrong";
  options.handshake_timeout = 2s;
  got = coap_get(server.url(Protocol::Coaps, "/update.bin"), options);
  EXPECT_EQ(got.result.coap_err, 702) << got.result.detail;
  // Certificates work on the same listener.
  coap::CoapDownloadOptions pki;
  pki.ca_file = server.ca_file().string();
  got = coap_get(server.url(Protocol::Coaps, "/update.bin"), pki);
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
}

TEST_F(PackageServerTest, CoapsWithTheRightAndTheWrongCa) {
  auto config = all_config();
  FaultRule wrong;
  wrong.tls_wrong_ca = true;
  wrong.protocols = {Protocol::Coaps};
  wrong.requests = {RequestSelector::Kind::First, 1};
  config.faults = {wrong};
  auto& server = start(config);
  coap::CoapDownloadOptions options;
  options.ca_file = server.ca_file().string();
  options.handshake_timeout = 5s;
  auto got = coap_get(server.url(Protocol::Coaps, "/update.bin"), options);
  EXPECT_EQ(got.result.coap_err, 702) << got.result.detail;
  got = coap_get(server.url(Protocol::Coaps, "/update.bin"), options);
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
  // HTTPS is not affected by a CoAPS-only rule.
  EXPECT_EQ(http_get(server.url(Protocol::Https, "/update.bin"), verified_by(server.ca_file()))
                .result.http_err,
            0);
}

TEST_F(PackageServerTest, CoapsDemandsAClientCertificate) {
  auto config = all_config();
  config.coaps_client_cert = true;
  auto& server = start(config);
  coap::CoapDownloadOptions options;
  options.ca_file = server.ca_file().string();
  options.handshake_timeout = 5s;
  auto got = coap_get(server.url(Protocol::Coaps, "/update.bin"), options);
  EXPECT_EQ(got.result.coap_err, 702) << got.result.detail;
  options.client_cert_file = server.pki().client.cert_file.string();
  options.client_key_file = server.pki().client.key_file.string();
  got = coap_get(server.url(Protocol::Coaps, "/update.bin"), options);
  EXPECT_EQ(got.result.coap_err, 0) << got.result.detail;
  EXPECT_EQ(got.body, payload_);
}

// ============================================================================ YAML

class ServerConfigYamlTest : public ::testing::Test {
 protected:
  PackageServerConfig parse(const std::string& text) {
    return parse_server_config(YAML::Load(text), dir_.path());
  }
  // The message of the ConfigError that parsing `text` throws.
  std::string error_of(const std::string& text) {
    try {
      parse(text);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }
  test::TempDir dir_;
};

TEST_F(ServerConfigYamlTest, AGoodConfig) {
  fs::create_directories(dir_.path() / "packages");
  write_bytes(dir_.path() / "pkg.bin", Bytes{1, 2, 3});
  const auto config = parse(R"(
root: packages/
files:
  /from-file.bin: pkg.bin
  /inline.txt: {text: hello}
http: 8080
https: {port: 0, client_cert: true}
coap: 0
coaps: {port: 5684, psk: {identity: bg95, key: secret}, client_cert: false}
pki: certs
max_connections: 10
request_timeout: 2s
max_block_size: 256
faults:
  - path: /update.bin
    requests: first
    truncate_at: 300000
  - {path: "*", stall_after: 300KiB, stall_for: 1500ms}
  - {protocol: [coap, coaps], requests: {every: 3}, drop: 2, status: 4.04}
  - {requests: {nth: 2}, rate_limit: 10KiB/s, corrupt: [{offset: 10, count: 2}]}
  - {tls_wrong_ca: true, protocol: https}
)");
  EXPECT_EQ(config.root, dir_.path() / "packages/");
  EXPECT_EQ(config.files.at("/from-file.bin"), (Bytes{1, 2, 3}));
  EXPECT_EQ(config.files.at("/inline.txt"), (Bytes{'h', 'e', 'l', 'l', 'o'}));
  EXPECT_EQ(config.http, 8080);
  EXPECT_EQ(config.https, 0);
  EXPECT_TRUE(config.https_client_cert);
  EXPECT_EQ(config.coap, 0);
  EXPECT_EQ(config.coaps, 5684);
  ASSERT_TRUE(config.coaps_psk);
  EXPECT_EQ(config.coaps_psk->identity, "bg95");
  EXPECT_EQ(config.coaps_psk->key, "secret");
  EXPECT_EQ(config.pki_dir, dir_.path() / "certs");
  EXPECT_EQ(config.max_connections, 10u);
  EXPECT_EQ(config.request_timeout, 2s);
  EXPECT_EQ(config.max_block_szx, 4u);
  ASSERT_EQ(config.faults.size(), 5u);
  EXPECT_EQ(config.faults[0].path, "/update.bin");
  EXPECT_EQ(config.faults[0].requests.kind, RequestSelector::Kind::First);
  EXPECT_EQ(config.faults[0].requests.n, 1u);
  EXPECT_EQ(config.faults[0].truncate_at, 300000u);
  EXPECT_EQ(config.faults[1].path, "*");
  EXPECT_EQ(config.faults[1].stall_after, 300u * 1024u);
  EXPECT_EQ(config.faults[1].stall_for, 1500ms);
  EXPECT_EQ(config.faults[2].protocols, (std::vector<Protocol>{Protocol::Coap, Protocol::Coaps}));
  EXPECT_EQ(config.faults[2].requests.kind, RequestSelector::Kind::Every);
  EXPECT_EQ(config.faults[2].requests.n, 3u);
  EXPECT_EQ(config.faults[2].drop, 2u);
  EXPECT_EQ(config.faults[2].status, 404);
  EXPECT_EQ(config.faults[3].requests.kind, RequestSelector::Kind::Nth);
  EXPECT_EQ(config.faults[3].rate_limit, 10u * 1024u);
  EXPECT_EQ(config.faults[3].corrupt, (std::vector<ByteSpan>{{10, 2}}));
  EXPECT_TRUE(config.faults[4].tls_wrong_ca);
}

// A scenario's server part reads sizes as the rest of the scenario does: KB and MB decimal.
TEST_F(ServerConfigYamlTest, DecimalAndBinarySizeUnits) {
  const auto config = parse(R"(
faults:
  - {stall_after: 300KB, rate_limit: 2MB/s}
  - {stall_after: 300K, rate_limit: 2MiB/s, truncate_at: 7}
)");
  ASSERT_EQ(config.faults.size(), 2u);
  EXPECT_EQ(config.faults[0].stall_after, 300000u);
  EXPECT_EQ(config.faults[0].rate_limit, 2000000u);
  EXPECT_EQ(config.faults[1].stall_after, 307200u);
  EXPECT_EQ(config.faults[1].rate_limit, 2097152u);
  EXPECT_EQ(config.faults[1].truncate_at, 7u);
}

TEST_F(ServerConfigYamlTest, EveryKindOfMistakeNamesKeyAndLine) {
  EXPECT_EQ(error_of("http: 0\nhtps: 0\n"),
            "line 2, column 1: htps: unknown key (known: root, files, bind, allow_non_loopback, "
            "pki, http, https, coap, coaps, max_connections, max_header_bytes, request_timeout, "
            "max_block_size, faults)");
  EXPECT_EQ(error_of("http: 70000\n"),
            "line 1, column 7: http: expected a whole number 0..65535, got \"70000\"");
  EXPECT_EQ(error_of("https: {port: 0, tls: 1.3}\n"),
            "line 1, column 18: https.tls: unknown key (known: port, client_cert, tls13)");
  EXPECT_EQ(error_of("faults:\n  - path: /x\n    trunc_at: 5\n"),
            "line 3, column 5: faults[0].trunc_at: unknown key (known: path, protocol, requests, "
            "status, truncate_at, stall_after, stall_for, rate_limit, content_length, corrupt, "
            "close_without_response, tls_wrong_ca, etag_change_after, out_of_order, drop)");
  EXPECT_EQ(error_of("faults:\n  - {truncate_at: lots}\n"),
            "line 2, column 19: faults[0].truncate_at: expected a byte count (12345, 300KiB, "
            "2MiB), got \"lots\"");
  EXPECT_EQ(error_of("faults:\n  - {stall_after: 1, stall_for: soon}\n"),
            "line 2, column 33: faults[0].stall_for: expected a duration (1500, 1500ms, 2s, "
            "1min), got \"soon\"");
  EXPECT_EQ(error_of("faults:\n  - {requests: {every: 0}, status: 500}\n"),
            "line 2, column 24: faults[0].requests.every: must be 1 or more");
  EXPECT_EQ(error_of("faults:\n  - {requests: sometimes, status: 500}\n"),
            "line 2, column 16: faults[0].requests: expected all, first, {first: N}, {every: K} "
            "or {nth: N}, got \"sometimes\"");
  EXPECT_EQ(error_of("faults:\n  - {protocol: ftp, status: 500}\n"),
            "line 2, column 16: faults[0].protocol: expected http, https, coap or coaps, got "
            "\"ftp\"");
  EXPECT_EQ(error_of("faults:\n  - {status: 451}\n"),
            "line 2, column 5: faults[0]: status 451: not a CoAP response code (class 2..5, "
            "detail 0..31, e.g. 4.04 = 404); limit the rule with protocol: [http, https]");
  EXPECT_EQ(error_of("faults:\n  - {status: teapot}\n"),
            "line 2, column 14: faults[0].status: expected an HTTP status (503) or a CoAP code "
            "(4.04), got \"teapot\"");
  EXPECT_EQ(error_of("faults:\n  - {path: /x, tls_wrong_ca: true}\n"),
            "line 2, column 5: faults[0]: tls_wrong_ca: the certificate is chosen in the TLS "
            "handshake, before the path is known; leave path out");
  EXPECT_EQ(error_of("faults:\n  - {stall_for: 2s}\n"),
            "line 2, column 5: faults[0]: stall_for: needs stall_after");
  EXPECT_EQ(error_of("faults:\n  - {path: /x}\n"),
            "line 2, column 5: faults[0]: the rule has no effect (status, truncate_at, "
            "stall_after, rate_limit, content_length, corrupt, close_without_response, "
            "tls_wrong_ca, etag_change_after, out_of_order or drop)");
  EXPECT_EQ(error_of("faults:\n  - {protocol: http, drop: 2}\n"),
            "line 2, column 5: faults[0]: etag_change_after, out_of_order and drop exist for "
            "coap and coaps only");
  EXPECT_EQ(error_of("faults:\n  - {corrupt: {offset: 1}}\n"),
            "line 2, column 15: faults[0].corrupt: needs offset and count");
  EXPECT_EQ(error_of("faults: {truncate_at: 1}\n"),
            "line 1, column 9: faults: expected a list of rules, got a mapping");
  EXPECT_EQ(error_of("coaps: {psk: {identity: bg95}}\n"),
            "line 1, column 14: coaps.psk: needs key (text) or key_hex");
  EXPECT_EQ(error_of("max_block_size: 100\n"),
            "line 1, column 17: max_block_size: expected 16, 32, 64, 128, 256, 512 or 1024");
  EXPECT_EQ(error_of("files:\n  /x.bin: absent.bin\n"),
            "line 2, column 11: files./x.bin: cannot read \"" +
                (dir_.path() / "absent.bin").string() + "\"");
  EXPECT_EQ(error_of("- http\n"), "line 1, column 1: expected a mapping, got a list");
}

TEST_F(ServerConfigYamlTest, KeysThatAreNotPlainValuesAreConfigErrors) {
  // yaml-cpp's own BadConversion escaped from here (fuzz_scenario, through a scenario's server:).
  EXPECT_EQ(error_of("? [http]\n: 0\n"),
            "line 1, column 3: a key must be a plain value, got a list");
  EXPECT_EQ(error_of("https: {? {port: 1} : 0}\n"),
            "line 1, column 11: https: a key must be a plain value, got a mapping");
  EXPECT_EQ(error_of("files: {[a]: {text: x}}\n"),
            "line 1, column 9: files: a key must be a plain value, got a list");
  EXPECT_EQ(error_of("faults:\n  - {requests: {[x]: 1}, status: 500}\n"),
            "line 2, column 17: faults[0].requests: a key must be a plain value, got a list");
}

TEST_F(ServerConfigYamlTest, FilesAreReadOnlyFromRegularFiles) {
  // /dev/zero filled the memory; a FIFO or /dev/stdin never ended.
  EXPECT_EQ(error_of("files:\n  /x.bin: /dev/null\n"),
            "line 2, column 11: files./x.bin: \"/dev/null\" is not a regular file");
  EXPECT_EQ(
      error_of("files:\n  /x.bin: " + dir_.path().string() + "\n"),
      "line 2, column 11: files./x.bin: \"" + dir_.path().string() + "\" is not a regular file");
}

TEST_F(ServerConfigYamlTest, LoadsAFileRelativeToItsFolder) {
  fs::create_directories(dir_.path() / "packages");
  write_bytes(dir_.path() / "server.yaml", Bytes{});
  {
    std::ofstream out(dir_.path() / "server.yaml");
    out << "root: packages\nhttp: 0\nfaults:\n  - {status: 5.03}\n";
  }
  const auto config = load_server_config(dir_.path() / "server.yaml");
  EXPECT_EQ(config.root, dir_.path() / "packages");
  EXPECT_EQ(config.faults.at(0).status, 503);
  {
    std::ofstream out(dir_.path() / "bad.yaml");
    out << "http: [\n";
  }
  EXPECT_THROW(load_server_config(dir_.path() / "bad.yaml"), ConfigError);
  EXPECT_THROW(load_server_config(dir_.path() / "absent.yaml"), ConfigError);
}

// ============================================================================ the program

TEST_F(PackageServerTest, TheProgramServesLogsAndStopsOnSigterm) {
  {
    std::ofstream out(dir_.path() / "server.yaml");
    out << "root: root\nhttp: 0\nfaults:\n  - {path: /update.bin, requests: first, status: "
           "503}\n";
  }
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  const std::string config = (dir_.path() / "server.yaml").string();
  const std::string pki = (dir_.path() / "pki").string();
  std::vector<std::string> args = {BG95_PKGSERVER_BINARY,
                                   "--config",
                                   config,
                                   "--https",
                                   "0",
                                   "--pki",
                                   pki,
                                   "--fault",
                                   "/update.bin:truncate_at=1000,requests=nth/2"};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);

  asio::posix::stream_descriptor output(io_, pipe_fds[0]);
  const auto read = read_to_end(output);
  const std::string& text = read->text;
  auto has = [&](const std::string& needle) { return text.find(needle) != std::string::npos; };
  ASSERT_TRUE(run_until([&] { return has("certificates in"); })) << text;
  const std::string marker = "bg95-pkgserver: http http://127.0.0.1:";
  ASSERT_TRUE(has(marker)) << text;
  const std::string base =
      "http://127.0.0.1:" + text.substr(text.find(marker) + marker.size(),
                                        text.find('/', text.find(marker) + marker.size()) -
                                            text.find(marker) - marker.size());
  EXPECT_TRUE(has("bg95-pkgserver: https https://127.0.0.1:")) << text;
  EXPECT_TRUE(has("(CA " + pki + "/ca.pem)")) << text;

  EXPECT_EQ(curl({}, base + "/update.bin").out, "503");  // the config file's rule
  auto run = curl({}, base + "/update.bin");             // the --fault rule
  EXPECT_EQ(run.exit_code, 18) << run.out;
  EXPECT_EQ(read_bytes(body_file()), slice(payload_, 0, 1000));
  EXPECT_EQ(curl({}, base + "/update.bin").out, "200");
  ASSERT_TRUE(run_until([&] { return has("truncated [truncate_at=1000]"); })) << text;
  EXPECT_TRUE(has(" GET /update.bin -> 503 ")) << text;

  ::kill(pid, SIGTERM);
  ASSERT_TRUE(run_until([&] { return read->ended; })) << text;
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(has("bg95-pkgserver: stopped")) << text;
}

TEST_F(PackageServerTest, TheProgramRefusesBadFaultsClearly) {
  const auto run =
      run_child({BG95_PKGSERVER_BINARY, "--http", "0", "--fault", "/x:truncate_at=many"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_EQ(run.out,
            "bg95-pkgserver: --fault /x:truncate_at=many: truncate_at: expected a byte count "
            "(12345, 300KiB, 2MiB), got \"many\"\n");
}

}  // namespace
}  // namespace bg95::pkgserver
