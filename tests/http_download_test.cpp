// Tests of the HTTP(S) DFOTA downloader against real servers on 127.0.0.1 (cpp-httplib's
// Server and SSLServer on ephemeral ports, certificates made at test time). The io_context
// runs on the test thread; waits are on events (run_one_for, accept, recv), never on sleeps.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "protocol/http/http_download.hpp"
#include "protocol/http/response_guard.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_pki.hpp"

namespace bg95::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ScratchDir = bg95::test::TempDir;
using bg95::test::RunningServer;

// Holds server handlers that must stall until the test ends.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A bare TCP socket on 127.0.0.1:<ephemeral>; listening or not.
class RawSocket {
 public:
  explicit RawSocket(bool listening) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("bind");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (listening && ::listen(fd_, 8) != 0) throw std::runtime_error("listen");
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::vector<std::uint8_t> make_payload(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> bytes(size);
  for (auto& b : bytes)
    b = static_cast<std::uint8_t>(rng() >> 24);
  return bytes;
}

std::string as_string(const std::vector<std::uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// Everything the handlers saw, in order.
struct Outcome {
  std::vector<std::uint8_t> body;
  std::vector<HttpProgress> progress;
  std::size_t chunks = 0;
  std::size_t chunks_after_refusal = 0;
  bool refused = false;
  int done_calls = 0;
  std::optional<HttpDownloadResult> result;
};

class HttpDownloadTest : public ::testing::Test {
 protected:
  HttpDownloadTest()
      : pki_(test::TestPki::make(dir_.path())),
        payload_(make_payload(300 * 1024 + 17, 1)),
        plain_(make_plain()),
        tls_(make_tls(pki_.server, false)),
        mtls_(make_tls(pki_.server, true)),
        wrong_host_(make_tls(pki_.wrong_host, false)) {}

  ~HttpDownloadTest() override { gate_.open(); }  // before the servers stop

  void add_routes(httplib::Server& server) {
    server.Get("/ok.bin", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(as_string(payload_), "application/octet-stream");
    });
    server.Get("/partial.bin", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 206;
      res.set_header("Content-Range", "bytes 0-" + std::to_string(payload_.size() - 1) + "/" +
                                          std::to_string(payload_.size()));
      res.set_content(as_string(payload_), "application/octet-stream");
    });
    server.Get("/dfota_\xc3\xbc.bin", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(as_string(payload_), "application/octet-stream");
    });
    server.Get("/error", [](const httplib::Request&, httplib::Response& res) {
      res.status = 500;
      res.set_content("boom", "text/plain");
    });
    server.Get("/redirect", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("/ok.bin");
    });
    // Sends 10000 bytes of 100000, then nothing until the test ends.
    server.Get("/stall", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(100000, "application/octet-stream",
                               [this](std::size_t offset, std::size_t, httplib::DataSink& sink) {
                                 if (offset == 0) {
                                   const std::string part(10000, 's');
                                   return sink.write(part.data(), part.size());
                                 }
                                 gate_.wait();
                                 return false;
                               });
    });
    // Announces 1000 bytes, sends 500 and closes.
    server.Get("/short", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(1000, "application/octet-stream",
                               [](std::size_t, std::size_t, httplib::DataSink& sink) {
                                 const std::string part(500, 'h');
                                 sink.write(part.data(), part.size());
                                 return false;
                               });
    });
    // Announces 7 MiB: more than the 6 MiB package area.
    server.Get("/huge", [](const httplib::Request&, httplib::Response& res) {
      res.set_content_provider(7u * 1024u * 1024u, "application/octet-stream",
                               [](std::size_t, std::size_t length, httplib::DataSink& sink) {
                                 const std::string block(std::min<std::size_t>(length, 65536), 'H');
                                 return sink.write(block.data(), block.size());
                               });
    });
    // No Content-Length: chunked, without end.
    server.Get("/endless", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/octet-stream",
                                       [](std::size_t, httplib::DataSink& sink) {
                                         const std::string block(65536, 'E');
                                         return sink.write(block.data(), block.size());
                                       });
    });
  }

  std::unique_ptr<RunningServer> make_plain() {
    auto server = std::make_unique<httplib::Server>();
    add_routes(*server);
    return std::make_unique<RunningServer>(std::move(server));
  }

  std::unique_ptr<RunningServer> make_tls(const test::TestPki::Pair& identity,
                                          bool require_client_cert) {
    const std::string ca = pki_.ca.cert_file.string();
    auto server =
        std::make_unique<httplib::SSLServer>(identity.cert_file.c_str(), identity.key_file.c_str(),
                                             require_client_cert ? ca.c_str() : nullptr);
    add_routes(*server);
    return std::make_unique<RunningServer>(std::move(server));
  }

  static std::string url(const char* scheme, int port, const std::string& path) {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + path;
  }

  HttpDownloadHandlers handlers(Outcome& out, std::size_t refuse_at_chunk = 0) {
    HttpDownloadHandlers h;
    h.on_chunk = [&out, refuse_at_chunk](std::span<const std::uint8_t> chunk) {
      if (out.refused) ++out.chunks_after_refusal;
      ++out.chunks;
      if (refuse_at_chunk != 0 && out.chunks >= refuse_at_chunk) {
        out.refused = true;
        return false;
      }
      out.body.insert(out.body.end(), chunk.begin(), chunk.end());
      return true;
    };
    h.on_progress = [&out](const HttpProgress& p) { out.progress.push_back(p); };
    h.on_done = [&out](const HttpDownloadResult& r) {
      ++out.done_calls;
      out.result = r;
    };
    return h;
  }

  // Runs the io_context until `done` holds or the deadline passes.
  void run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 20s) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      io_.run_one_for(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    }
  }

  // Starts a download and runs until its on_done.
  HttpDownloadResult fetch(const std::string& target, HttpDownloadOptions options, Outcome& out,
                           std::size_t refuse_at_chunk = 0) {
    HttpDownload download(io_.get_executor());
    download.start(target, std::move(options), handlers(out, refuse_at_chunk));
    EXPECT_TRUE(download.running());
    run_until([&] { return out.result.has_value(); });
    EXPECT_TRUE(out.result.has_value()) << "no on_done for " << target;
    EXPECT_FALSE(download.running());
    return out.result.value_or(HttpDownloadResult{-1, 0, 0, "timed out in the test"});
  }

  HttpDownloadOptions verified() const {
    HttpDownloadOptions options;
    options.ca_file = pki_.ca.cert_file.string();
    return options;
  }
  HttpDownloadOptions with_client_cert(HttpDownloadOptions options,
                                       const test::TestPki::Pair& client) const {
    options.client_cert_file = client.cert_file.string();
    options.client_key_file = client.key_file.string();
    return options;
  }

  Gate gate_;  // first member: the servers below are destroyed before it
  ScratchDir dir_;
  test::TestPki pki_;
  std::vector<std::uint8_t> payload_;
  std::unique_ptr<RunningServer> plain_;
  std::unique_ptr<RunningServer> tls_;         // server cert signed by the CA
  std::unique_ptr<RunningServer> mtls_;        // also demands a client cert signed by the CA
  std::unique_ptr<RunningServer> wrong_host_;  // a CA-signed cert for another name
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
};

TEST_F(HttpDownloadTest, OkDeliversExactBytesInOrderWithProgress) {
  Outcome out;
  HttpDownloadOptions options;
  options.max_queued_bytes = 8 * 1024;  // backpressure: the worker waits for the consumer
  const auto result = fetch(url("http", plain_->port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.received, payload_.size());
  EXPECT_EQ(out.done_calls, 1);
  ASSERT_EQ(out.body.size(), payload_.size());
  EXPECT_TRUE(out.body == payload_) << "body differs";
  ASSERT_GE(out.progress.size(), 2u);
  EXPECT_EQ(out.progress.front().received, 0u);
  for (std::size_t i = 0; i < out.progress.size(); ++i) {
    EXPECT_EQ(out.progress[i].total, std::optional<std::uint64_t>(payload_.size()));
    if (i > 0) {
      EXPECT_GT(out.progress[i].received, out.progress[i - 1].received);
    }
  }
  EXPECT_EQ(out.progress.back().received, payload_.size());
}

TEST_F(HttpDownloadTest, SchemeInUpperCaseAndStatus206Accepted) {
  Outcome out;
  const auto result = fetch(url("HTTP", plain_->port(), "/partial.bin"), {}, out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_EQ(result.status, 206);
  EXPECT_TRUE(out.body == payload_);
}

TEST_F(HttpDownloadTest, NonAsciiPathIsPercentEncoded) {
  Outcome out;
  const auto result = fetch(url("http", plain_->port(), "/dfota_\xc3\xbc.bin"), {}, out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_TRUE(out.body == payload_);
  Outcome escaped;  // the same file, escaped by the host
  const auto again = fetch(url("http", plain_->port(), "/dfota_%C3%BC.bin"), {}, escaped);
  EXPECT_EQ(again.http_err, 0) << again.detail;
}

TEST_F(HttpDownloadTest, NotFoundIs706) {
  Outcome out;
  const auto result = fetch(url("http", plain_->port(), "/missing.bin"), {}, out);
  EXPECT_EQ(result.http_err, http_err::kNotFound) << result.detail;
  EXPECT_EQ(result.status, 404);
  EXPECT_EQ(out.chunks, 0u);
}

TEST_F(HttpDownloadTest, ServerErrorIs703) {
  Outcome out;
  const auto result = fetch(url("http", plain_->port(), "/error"), {}, out);
  EXPECT_EQ(result.http_err, http_err::kRequestFailed) << result.detail;
  EXPECT_EQ(result.status, 500);
  EXPECT_EQ(out.chunks, 0u);
}

TEST_F(HttpDownloadTest, RedirectNotFollowedIs703) {
  Outcome out;
  const auto result = fetch(url("http", plain_->port(), "/redirect"), {}, out);
  EXPECT_EQ(result.http_err, http_err::kRequestFailed) << result.detail;
  EXPECT_EQ(result.status, 302);
}

TEST_F(HttpDownloadTest, LongStatusAndHeaderLinesAreRefusedBeforeTheParserSeesThem) {
  // cpp-httplib matched a status line of 30 KB with std::regex and overflowed the stack
  // (issue 18): the whole process died. Lines up to the limits are taken; longer ones end
  // the download with 703, over HTTP and over HTTPS.
  const test::ScriptedServer::Tls tls{pki_.server.cert_file, pki_.server.key_file};
  struct Case {
    bool status_line;
    std::size_t size;
    int http_err;
    const char* why;
  };
  const Case cases[] = {
      {true, kMaxStatusLine, http_err::kOk, ""},
      {true, kMaxStatusLine + 1, http_err::kRequestFailed,
       "the status line is longer than 1024 bytes"},
      {true, 40'000, http_err::kRequestFailed, "the status line is longer than 1024 bytes"},
      {true, 16u << 20, http_err::kRequestFailed, "the status line is longer than 1024 bytes"},
      {false, kMaxHeaderLine, http_err::kOk, ""},
      {false, kMaxHeaderLine + 1, http_err::kRequestFailed,
       "a header line is longer than 8192 bytes"},
      {false, 16u << 20, http_err::kRequestFailed, "a header line is longer than 8192 bytes"},
  };
  for (const bool https : {false, true}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(https ? "https " : "http ") +
                   (c.status_line ? "status " : "header ") + std::to_string(c.size));
      test::ScriptedServer server(test::long_head_line(c.status_line, c.size, 200),
                                  https ? std::optional(tls) : std::nullopt);
      Outcome out;
      const auto result = fetch(server.url("/pkg.bin"), {}, out);
      EXPECT_EQ(result.http_err, c.http_err) << result.detail;
      if (c.http_err == http_err::kOk) {
        EXPECT_EQ(as_string(out.body), "abc");
      } else {
        EXPECT_EQ(result.detail, std::string("the response head was refused: ") + c.why);
        EXPECT_EQ(out.chunks, 0u);
      }
    }
  }
}

TEST_F(HttpDownloadTest, ChunkedFramingLinesAreBoundedAndChecked) {
  // cpp-httplib reads chunk-size lines and the lines after chunks without a length limit: a
  // server that never ends one grew the module's memory without end (issue 18). Lines up to
  // kMaxChunkLine are taken; a longer one, a size that is not hex or does not fit 64 bits, ends
  // the download with 701 after the bytes already delivered, over HTTP and over HTTPS.
  const test::ScriptedServer::Tls tls{pki_.server.cert_file, pki_.server.key_file};
  const std::string head = "HTTP/1.1 200 OK\r\ntransfer-encoding:  Chunked \r\n\r\n";
  const std::string long_ext(kMaxChunkLine - 4, 'x');  // "3;" + ext + "\r\n" is the limit
  struct Case {
    std::string body;
    int http_err;
    std::string delivered;
    const char* why;
  };
  const Case cases[] = {
      {"3;name=value\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n", http_err::kOk, "abc0123456789", ""},
      {"3;" + long_ext + "\r\nabc\r\n0\r\n\r\n", http_err::kOk, "abc", ""},
      {"3;" + long_ext + "x\r\nabc\r\n0\r\n\r\n", http_err::kUnknown, "",
       "after 0 bytes: a chunk-size line is longer than 1024 bytes"},
      {"3\r\nabc\r\n1;" + std::string(16u << 20, 'x'), http_err::kUnknown, "abc",
       "after 3 bytes: a chunk-size line is longer than 1024 bytes"},
      {"3\r\nabc\r\n10000000000000000\r\nabc\r\n", http_err::kUnknown, "abc",
       "after 3 bytes: a chunk size is larger than 2^64 bytes"},
      {"0x3\r\nabc\r\n0\r\n\r\n", http_err::kUnknown, "",
       "after 0 bytes: a chunk-size line is not a hex number"},
      {"3\r\nabc" + std::string(16u << 20, '\n'), http_err::kOk, "abc", ""},
      {"3\r\nabc" + std::string(16u << 20, 'x'), http_err::kUnknown, "abc",
       "after 3 bytes: the line after a chunk is longer than 1024 bytes"},
      {"3\r\nabc\r\n0\r\n" + std::string(16u << 20, 'x'), http_err::kUnknown, "abc",
       "after 3 bytes: the line after the last chunk is longer than 1024 bytes"},
  };
  for (const bool https : {false, true}) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(https ? "https " : "http ") + c.body.substr(0, 40));
      test::ScriptedServer server(
          [&](test::ScriptedServer& s, int fd) { s.send_all(fd, head + c.body); },
          https ? std::optional(tls) : std::nullopt);
      Outcome out;
      const auto result = fetch(server.url("/pkg.bin"), {}, out);
      EXPECT_EQ(result.http_err, c.http_err) << result.detail;
      EXPECT_EQ(as_string(out.body), c.delivered);
      if (c.http_err != http_err::kOk) {
        EXPECT_EQ(result.detail, std::string("the chunked body was refused ") + c.why);
      }
    }
  }
}

TEST_F(HttpDownloadTest, NoContentIs703) {
  // cpp-httplib does not call the response handler for a 204: it came back as HTTPEND 0 with
  // no byte (found by fuzz_http_head).
  test::ScriptedServer server(
      [](test::ScriptedServer& s, int fd) { s.send_all(fd, "HTTP/1.1 204 No Content\r\n\r\n"); });
  Outcome out;
  const auto result = fetch(server.url("/p.bin"), {}, out);
  EXPECT_EQ(result.http_err, http_err::kRequestFailed) << result.detail;
  EXPECT_EQ(result.status, 204);
  EXPECT_EQ(result.detail, "HTTP 204 No Content");
}

TEST_F(HttpDownloadTest, ServerNameIndicationOnlyForHostNames) {
  // RFC 6066, 3: "Literal IPv4 and IPv6 addresses are not permitted in HostName" (issue 18:
  // 127.0.0.1 was sent).
  test::ScriptedServer server(
      [](test::ScriptedServer& s, int fd) {
        s.send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc");
      },
      test::ScriptedServer::Tls{pki_.server.cert_file, pki_.server.key_file});
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    Outcome out;
    const auto result =
        fetch("https://" + host + ":" + std::to_string(server.port()) + "/p.bin", verified(), out);
    EXPECT_EQ(result.http_err, http_err::kOk) << result.detail;
    EXPECT_EQ(server.server_name(), host == "localhost" ? "localhost" : "") << host;
  }
}

TEST_F(HttpDownloadTest, ConnectionRefusedIs702) {
  RawSocket closed(false);
  const int port = closed.port();
  closed.close();  // bound, then closed: nobody listens there now
  Outcome out;
  const auto result = fetch(url("http", port, "/ok.bin"), {}, out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
  EXPECT_NE(result.detail.find("refused"), std::string::npos) << result.detail;
  EXPECT_EQ(result.status, 0);
}

TEST_F(HttpDownloadTest, StallInTheBodyIs704AfterIdleTimeout) {
  Outcome out;
  HttpDownloadOptions options;
  options.idle_timeout = 300ms;
  const auto start = Clock::now();
  const auto result = fetch(url("http", plain_->port(), "/stall"), options, out);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(result.http_err, http_err::kTimeout) << result.detail;
  EXPECT_EQ(result.received, 10000u);
  EXPECT_EQ(out.body.size(), 10000u);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 10s);
}

TEST_F(HttpDownloadTest, NoResponseIs704) {
  RawSocket silent(true);  // accepts connections (in the backlog), never answers
  Outcome out;
  HttpDownloadOptions options;
  options.idle_timeout = 300ms;
  const auto result = fetch(url("http", silent.port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, http_err::kTimeout) << result.detail;
  EXPECT_EQ(result.status, 0);
}

TEST_F(HttpDownloadTest, ConnectionClosedMidBodyIs701) {
  Outcome out;
  const auto result = fetch(url("http", plain_->port(), "/short"), {}, out);
  EXPECT_EQ(result.http_err, http_err::kUnknown) << result.detail;
  EXPECT_EQ(result.received, 500u);
}

TEST_F(HttpDownloadTest, ContentLengthOverPackageAreaIs708) {
  Outcome out;
  const auto result = fetch(url("http", plain_->port(), "/huge"), {}, out);  // 7 MiB > 6 MiB
  EXPECT_EQ(result.http_err, http_err::kTooLarge) << result.detail;
  EXPECT_EQ(out.chunks, 0u);
}

TEST_F(HttpDownloadTest, ChunkedBodyGrowingPastMaxSizeIs708) {
  Outcome out;
  HttpDownloadOptions options;
  options.max_size = 200000;
  const auto result = fetch(url("http", plain_->port(), "/endless"), options, out);
  EXPECT_EQ(result.http_err, http_err::kTooLarge) << result.detail;
  EXPECT_LE(out.body.size(), 200000u);
  for (const auto& p : out.progress)
    EXPECT_FALSE(p.total.has_value());
}

TEST_F(HttpDownloadTest, BadUrlIs705) {
  for (const std::string& bad :
       {std::string("http://"), std::string("http://127.0.0.1:0/x"),
        std::string("ftp://127.0.0.1/x"), std::string("coap://127.0.0.1/x"),
        "http://127.0.0.1/" + std::string(700, 'a')}) {
    Outcome out;
    const auto result = fetch(bad, {}, out);
    EXPECT_EQ(result.http_err, http_err::kUrlError) << bad << ": " << result.detail;
    EXPECT_EQ(out.done_calls, 1);
  }
}

TEST_F(HttpDownloadTest, ConsumerRefusingIs707AndStopsChunks) {
  Outcome out;
  HttpDownloadOptions options;
  options.max_queued_bytes = 64 * 1024;
  const auto result = fetch(url("http", plain_->port(), "/ok.bin"), options, out, 3);
  EXPECT_EQ(result.http_err, http_err::kWriteFailed) << result.detail;
  EXPECT_EQ(out.chunks, 3u);
  EXPECT_EQ(out.chunks_after_refusal, 0u);
  EXPECT_EQ(result.received, out.body.size());
  EXPECT_EQ(out.done_calls, 1);
}

TEST_F(HttpDownloadTest, RateLimitHoldsTheAverage) {
  Outcome out;
  HttpDownloadOptions options;
  options.rate_limit_bytes_per_s = 1024 * 1024;  // 300 KiB -> about 0.3 s
  const auto start = Clock::now();
  const auto result = fetch(url("http", plain_->port(), "/ok.bin"), options, out);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_TRUE(out.body == payload_);
  EXPECT_GE(elapsed, 250ms);
}

TEST_F(HttpDownloadTest, HttpsWithTheRightCaVerifies) {
  Outcome out;
  const auto result = fetch(url("https", tls_->port(), "/ok.bin"), verified(), out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_NE(result.detail.find("verified against"), std::string::npos) << result.detail;
  EXPECT_TRUE(out.body == payload_);
}

TEST_F(HttpDownloadTest, HttpsByHostNameVerifiesTheDnsName) {
  Outcome out;
  const auto result =
      fetch("https://localhost:" + std::to_string(tls_->port()) + "/ok.bin", verified(), out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_TRUE(out.body == payload_);
}

TEST_F(HttpDownloadTest, HttpsWithoutCaFileDoesNotVerify) {
  Outcome out;
  const auto result = fetch(url("https", tls_->port(), "/ok.bin"), {}, out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_NE(result.detail.find("NOT verified"), std::string::npos) << result.detail;
  EXPECT_TRUE(out.body == payload_);
}

TEST_F(HttpDownloadTest, HttpsWithAWrongCaIs702) {
  Outcome out;
  HttpDownloadOptions options;
  options.ca_file = pki_.other_ca.cert_file.string();
  const auto result = fetch(url("https", tls_->port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
  EXPECT_NE(result.detail.find("not accepted"), std::string::npos) << result.detail;
  EXPECT_EQ(out.chunks, 0u);
}

TEST_F(HttpDownloadTest, HttpsWithAHostNameMismatchIs702) {
  Outcome out;
  const auto result = fetch(url("https", wrong_host_->port(), "/ok.bin"), verified(), out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
  EXPECT_NE(result.detail.find("mismatch"), std::string::npos) << result.detail;
}

TEST_F(HttpDownloadTest, HttpsWithAMissingCaFileIs702) {
  Outcome out;
  HttpDownloadOptions options;
  options.ca_file = (dir_.path() / "no_such_ca.pem").string();
  const auto result = fetch(url("https", tls_->port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
}

TEST_F(HttpDownloadTest, ClientCertRequiredButAbsentIs702) {
  Outcome out;
  const auto result = fetch(url("https", mtls_->port(), "/ok.bin"), verified(), out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
  EXPECT_NE(result.detail.find("handshake"), std::string::npos) << result.detail;
  EXPECT_EQ(out.chunks, 0u);
}

TEST_F(HttpDownloadTest, ClientCertRequiredButAbsentUnderTls13Is702) {
  // TLS 1.3 finishes the client's handshake before the server checks its certificate; the
  // refusal arrives as an alert where the response was expected.
  Outcome out;
  HttpDownloadOptions options = verified();
  options.allow_tls13 = true;
  const auto result = fetch(url("https", mtls_->port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
  EXPECT_EQ(out.chunks, 0u);
}

TEST_F(HttpDownloadTest, Tls13WorksWhenAllowed) {
  Outcome out;
  HttpDownloadOptions options = with_client_cert(verified(), pki_.client);
  options.allow_tls13 = true;
  const auto result = fetch(url("https", mtls_->port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_TRUE(out.body == payload_);
}

TEST_F(HttpDownloadTest, ClientCertRequiredAndPresentedWorks) {
  Outcome out;
  const auto result =
      fetch(url("https", mtls_->port(), "/ok.bin"), with_client_cert(verified(), pki_.client), out);
  EXPECT_EQ(result.http_err, 0) << result.detail;
  EXPECT_TRUE(out.body == payload_);
}

TEST_F(HttpDownloadTest, ClientCertFromAnotherCaIs702) {
  Outcome out;
  const auto result = fetch(url("https", mtls_->port(), "/ok.bin"),
                            with_client_cert(verified(), pki_.other_client), out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
}

TEST_F(HttpDownloadTest, UnreadableClientCertIs702) {
  Outcome out;
  HttpDownloadOptions options = verified();
  options.client_cert_file = (dir_.path() / "absent_cert.pem").string();
  options.client_key_file = (dir_.path() / "absent_key.pem").string();
  const auto result = fetch(url("https", mtls_->port(), "/ok.bin"), options, out);
  EXPECT_EQ(result.http_err, http_err::kConnectFailed) << result.detail;
}

TEST_F(HttpDownloadTest, CancelMidBodyIsPromptAndSilent) {
  Outcome out;
  HttpDownloadOptions options;
  options.idle_timeout = 60s;
  HttpDownload download(io_.get_executor());
  download.start(url("http", plain_->port(), "/stall"), options, handlers(out));
  run_until([&] { return out.body.size() >= 10000; });
  ASSERT_EQ(out.body.size(), 10000u);
  const auto start = Clock::now();
  download.cancel();
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_FALSE(download.running());
  io_.poll();  // whatever was posted meanwhile is dropped
  EXPECT_EQ(out.done_calls, 0);
  download.cancel();  // idempotent
}

TEST_F(HttpDownloadTest, DestructionDuringTlsHandshakeIsPrompt) {
  RawSocket silent(true);
  Outcome out;
  HttpDownloadOptions options;
  options.connect_timeout = 60s;
  options.idle_timeout = 60s;
  auto download = std::make_unique<HttpDownload>(io_.get_executor());
  download->start(url("https", silent.port(), "/ok.bin"), options, handlers(out));
  // Wait until the client has sent its ClientHello: it now waits for the server's answer.
  const int conn = ::accept(silent.fd(), nullptr, nullptr);
  ASSERT_GE(conn, 0);
  char hello[16];
  ASSERT_GT(::recv(conn, hello, sizeof hello, 0), 0);
  const auto start = Clock::now();
  download.reset();
  EXPECT_LT(Clock::now() - start, 2s);
  io_.poll();
  EXPECT_EQ(out.done_calls, 0);
  ::close(conn);
}

TEST_F(HttpDownloadTest, OnDoneMayRestartTheDownload) {
  HttpDownload download(io_.get_executor());
  Outcome first;
  Outcome second;
  HttpDownloadHandlers h = handlers(first);
  h.on_done = [&](const HttpDownloadResult& r) {
    first.result = r;
    download.start(url("http", plain_->port(), "/ok.bin"), {}, handlers(second));
  };
  download.start(url("http", plain_->port(), "/missing.bin"), {}, std::move(h));
  run_until([&] { return second.result.has_value(); });
  ASSERT_TRUE(first.result.has_value());
  EXPECT_EQ(first.result->http_err, http_err::kNotFound);
  ASSERT_TRUE(second.result.has_value());
  EXPECT_EQ(second.result->http_err, 0) << second.result->detail;
  EXPECT_TRUE(second.body == payload_);
}

TEST_F(HttpDownloadTest, ChunkHandlerMayCancel) {
  HttpDownload download(io_.get_executor());
  Outcome out;
  HttpDownloadHandlers h = handlers(out);
  h.on_chunk = [&](std::span<const std::uint8_t>) {
    ++out.chunks;
    download.cancel();
    return true;
  };
  download.start(url("http", plain_->port(), "/ok.bin"), {}, std::move(h));
  run_until([&] { return out.chunks > 0; });
  io_.poll();
  EXPECT_EQ(out.chunks, 1u);
  EXPECT_EQ(out.done_calls, 0);
  EXPECT_FALSE(download.running());
}

// ---- the shared, bounded worker pool

// No connection is waiting on a listening socket (a transfer that never ran never connected).
bool nothing_to_accept(const RawSocket& listener) {
  pollfd p{listener.fd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

TEST_F(HttpDownloadTest, PoolRunsAtMostItsSizeAndQueuesTheRest) {
  auto pool = std::make_shared<WorkerPool>(2);
  std::vector<Outcome> out(3);
  std::vector<std::unique_ptr<HttpDownload>> downloads;
  for (auto& o : out) {
    downloads.push_back(std::make_unique<HttpDownload>(io_.get_executor(), pool));
    downloads.back()->start(url("http", plain_->port(), "/stall"), {}, handlers(o));
  }
  // The first two get their 10000 bytes and stall; the third waits for a thread.
  run_until([&] { return out[0].body.size() >= 10000 && out[1].body.size() >= 10000; });
  ASSERT_EQ(out[0].body.size(), 10000u);
  ASSERT_EQ(out[1].body.size(), 10000u);
  EXPECT_EQ(pool->running(), 2u);
  EXPECT_EQ(pool->queued(), 1u);
  EXPECT_EQ(pool->threads(), 2u);
  EXPECT_TRUE(downloads[2]->running());  // queued counts as running for its owner
  io_.poll();
  EXPECT_TRUE(out[2].progress.empty());  // no request was made: no response headers
  // A thread comes free: the third starts.
  downloads[0]->cancel();
  run_until([&] { return out[2].body.size() >= 10000; });
  EXPECT_EQ(out[2].body.size(), 10000u);
  EXPECT_EQ(pool->queued(), 0u);
  EXPECT_EQ(out[0].done_calls, 0);
}

TEST_F(HttpDownloadTest, QueuedDownloadsRunInTheOrderStarted) {
  auto pool = std::make_shared<WorkerPool>(1);
  Outcome stalled;
  HttpDownload first(io_.get_executor(), pool);
  first.start(url("http", plain_->port(), "/stall"), {}, handlers(stalled));
  run_until([&] { return stalled.body.size() >= 10000; });
  ASSERT_EQ(stalled.body.size(), 10000u);
  std::vector<int> order;
  std::vector<Outcome> out(4);
  std::vector<std::unique_ptr<HttpDownload>> queued;
  for (int i = 0; i < 4; ++i) {
    queued.push_back(std::make_unique<HttpDownload>(io_.get_executor(), pool));
    HttpDownloadHandlers h = handlers(out[static_cast<std::size_t>(i)]);
    h.on_done = [&order, &out, i](const HttpDownloadResult& r) {
      order.push_back(i);
      out[static_cast<std::size_t>(i)].result = r;
    };
    queued.back()->start(url("http", plain_->port(), "/ok.bin"), {}, std::move(h));
  }
  EXPECT_EQ(pool->queued(), 4u);
  first.cancel();
  run_until([&] { return order.size() == 4; });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  for (const auto& o : out) {
    ASSERT_TRUE(o.result.has_value());
    EXPECT_EQ(o.result->http_err, 0) << o.result->detail;
    EXPECT_TRUE(o.body == payload_);
  }
}

TEST_F(HttpDownloadTest, CancelWhileQueuedIsImmediateAndTheTransferNeverRuns) {
  for (const bool destroy : {false, true}) {
    SCOPED_TRACE(destroy ? "destroyed while queued" : "cancelled while queued");
    auto pool = std::make_shared<WorkerPool>(1);
    RawSocket listener(true);
    Outcome stalled, queued_out, after;
    HttpDownload first(io_.get_executor(), pool);
    first.start(url("http", plain_->port(), "/stall"), {}, handlers(stalled));
    run_until([&] { return stalled.body.size() >= 10000; });
    ASSERT_EQ(stalled.body.size(), 10000u);
    auto queued = std::make_unique<HttpDownload>(io_.get_executor(), pool);
    queued->start(url("http", listener.port(), "/ok.bin"), {}, handlers(queued_out));
    ASSERT_EQ(pool->queued(), 1u);
    // While the only thread is blocked in the stalled transfer, cancel() or the destructor
    // returns at once: the queued job is withdrawn, not waited for.
    if (destroy) {
      queued.reset();
    } else {
      queued->cancel();
      EXPECT_FALSE(queued->running());
    }
    EXPECT_EQ(pool->queued(), 0u);
    EXPECT_EQ(pool->running(), 1u);
    // The next download in line runs once the thread is free; the withdrawn one never did.
    HttpDownload next(io_.get_executor(), pool);
    next.start(url("http", plain_->port(), "/ok.bin"), {}, handlers(after));
    first.cancel();
    run_until([&] { return after.result.has_value(); });
    ASSERT_TRUE(after.result.has_value());
    EXPECT_EQ(after.result->http_err, 0) << after.result->detail;
    io_.poll();
    EXPECT_EQ(queued_out.done_calls, 0);
    EXPECT_TRUE(queued_out.progress.empty());
    EXPECT_TRUE(nothing_to_accept(listener));
  }
}

TEST_F(HttpDownloadTest, DownloadsWithoutAPoolEachGetAThread) {
  // The default: a pool of its own per download, so two of them run at once.
  Outcome a, b;
  HttpDownload first(io_.get_executor()), second(io_.get_executor());
  first.start(url("http", plain_->port(), "/stall"), {}, handlers(a));
  second.start(url("http", plain_->port(), "/stall"), {}, handlers(b));
  run_until([&] { return a.body.size() >= 10000 && b.body.size() >= 10000; });
  EXPECT_EQ(a.body.size(), 10000u);
  EXPECT_EQ(b.body.size(), 10000u);
}

}  // namespace
}  // namespace bg95::http
