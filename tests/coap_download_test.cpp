// Tests of the CoAP(S) DFOTA downloader against Debian's real libcoap server
// (coap-server-openssl from libcoap3-bin) on 127.0.0.1, its resources made by PUT with
// coap-client-openssl, plus a small fake CoAP server (tests/support/coap_fake_server.hpp) for
// protocol violations the real one never commits (a changed ETag, a wrong block, no Size2,
// silence).
//
// Debian's coap-client exits 0 even when a transfer fails, so every PUT is checked by GETting
// the resource back. The io_context runs on the test thread.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <boost/asio/io_context.hpp>

#include "protocol/coap/coap_download.hpp"
#include "tests/support/coap_fake_server.hpp"
#include "tests/support/coap_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_pki.hpp"

extern char** environ;

namespace bg95::coap {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ScratchDir = bg95::test::TempDir;

using bg95::test::kCoapClient;
using bg95::test::read_file;
using bg95::test::write_file;
constexpr std::size_t kTwoMiB = 2u * 1024u * 1024u;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::uint8_t> make_payload(std::size_t size, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> bytes(size);
  for (auto& b : bytes)
    b = static_cast<std::uint8_t>(rng() >> 24);
  return bytes;
}

std::string sha256(const std::vector<std::uint8_t>& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0x0f];
  }
  return out;
}

using bg95::test::CoapServer;
using bg95::test::free_port_pair;
using bg95::test::run_program;

using FakeServer = bg95::test::FakeCoapServer;

// ---------------------------------------------------------------- the downloads

// Everything the handlers saw, in order.
struct Outcome {
  std::vector<std::uint8_t> body;
  std::vector<CoapProgress> progress;
  std::size_t chunks = 0;
  int done_calls = 0;
  std::optional<CoapDownloadResult> result;
  double seconds = 0;
};

class CoapDownloadTest : public ::testing::Test {
 protected:
  // Options for quick failures: libcoap's shortest ACK_TIMEOUT (1 s), one retransmission.
  static CoapDownloadOptions quick() {
    CoapDownloadOptions o;
    o.ack_timeout = 1s;
    o.max_retransmit = 1;
    o.idle_timeout = 2s;
    o.handshake_timeout = 3s;
    return o;
  }

  // Runs one download to its end on the test thread. `hook` sees each chunk first and may
  // refuse it (return false).
  Outcome download(const std::string& url, CoapDownloadOptions options,
                   std::function<bool(std::span<const std::uint8_t>)> hook = {},
                   std::chrono::seconds limit = 60s) {
    Outcome outcome;
    CoapDownloadHandlers handlers;
    handlers.on_chunk = [&outcome, hook](std::span<const std::uint8_t> chunk) {
      ++outcome.chunks;
      if (hook && !hook(chunk)) return false;
      outcome.body.insert(outcome.body.end(), chunk.begin(), chunk.end());
      return true;
    };
    handlers.on_progress = [&outcome](const CoapProgress& p) { outcome.progress.push_back(p); };
    handlers.on_done = [&outcome](const CoapDownloadResult& r) {
      ++outcome.done_calls;
      outcome.result = r;
    };
    const auto start = Clock::now();
    downloader_.start(url, std::move(options), std::move(handlers));
    EXPECT_TRUE(downloader_.running());
    run_until([&] { return outcome.result.has_value(); }, limit);
    outcome.seconds = seconds_since(start);
    if (std::getenv("COAP_TEST_VERBOSE") != nullptr && outcome.result) {
      std::cout << "[ outcome  ] " << url.substr(0, 60) << " -> " << outcome.result->coap_err
                << " (" << outcome.result->detail << ") code " << outcome.result->response_code
                << ", " << outcome.result->received << " bytes, " << outcome.seconds << " s\n";
    }
    // Nothing more may come after on_done.
    io_.poll();
    EXPECT_EQ(outcome.done_calls, outcome.result ? 1 : 0);
    EXPECT_FALSE(downloader_.running());
    return outcome;
  }

  void run_until(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(100ms);
    }
  }

  ScratchDir dir_;
  boost::asio::io_context io_;
  CoapDownload downloader_{io_.get_executor()};
};

std::string describe(const Outcome& o) {
  if (!o.result) return "no result";
  return std::to_string(o.result->coap_err) + " (" + o.result->detail + "), code " +
         std::to_string(o.result->response_code);
}

// ---------------------------------------------------------------- against coap-server

TEST_F(CoapDownloadTest, PlainTwoMiBIsExactAndTimedBesideCoapClient) {
  CoapServer server(dir_.path(), {});
  const auto package = make_payload(kTwoMiB, 1);
  server.put("/fw/update.bin", package);

  const Outcome o = download(server.url("/fw/update.bin"), CoapDownloadOptions{});
  ASSERT_TRUE(o.result) << describe(o);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.result->response_code, 205);
  EXPECT_EQ(o.result->received, kTwoMiB);
  EXPECT_EQ(o.body.size(), kTwoMiB);
  EXPECT_EQ(sha256(o.body), sha256(package));
  EXPECT_EQ(o.chunks, kTwoMiB / 1024);
  ASSERT_FALSE(o.progress.empty());
  EXPECT_EQ(o.progress.front().received, 0u);  // after the first response
  ASSERT_TRUE(o.progress.front().total);
  EXPECT_EQ(*o.progress.front().total, kTwoMiB);  // from Size2
  EXPECT_EQ(o.progress.back().received, kTwoMiB);

  const auto [client_seconds, client_ok] = server.time_client_get("/fw/update.bin", package);
  EXPECT_TRUE(client_ok);
  std::cout << "[ timing   ] 2 MiB over CoAP, 1024-byte blocks, 127.0.0.1: CoapDownload "
            << o.seconds << " s, coap-client -b 1024 " << client_seconds << " s\n";
  RecordProperty("coap_download_seconds", std::to_string(o.seconds));
  RecordProperty("coap_client_seconds", std::to_string(client_seconds));
}

TEST_F(CoapDownloadTest, SmallAndBoundarySizesAndSmallBlocks) {
  CoapServer server(dir_.path(), {});
  const auto tiny = make_payload(100, 2);
  const auto exact = make_payload(3 * 1024, 3);
  server.put("/tiny", tiny);
  server.put("/exact", exact);

  Outcome o = download(server.url("/tiny"), CoapDownloadOptions{});
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, tiny);

  o = download(server.url("/exact"), CoapDownloadOptions{});
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, exact);
  EXPECT_EQ(o.chunks, 3u);

  CoapDownloadOptions small;
  small.block_szx = 2;  // 64-byte blocks
  o = download(server.url("/exact"), small);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, exact);
  EXPECT_EQ(o.chunks, 3u * 1024u / 64u);
}

TEST_F(CoapDownloadTest, HostNameIsResolved) {
  CoapServer server(dir_.path(), {});
  const auto package = make_payload(5000, 4);
  server.put("/p", package);
  const Outcome o =
      download("CoAP://localhost:" + std::to_string(server.port()) + "/p", CoapDownloadOptions{});
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, package);
}

TEST_F(CoapDownloadTest, PskTwoMiB) {
  CoapServer server(dir_.path(), {"-k", "bg95-secret"});
  const auto package = make_payload(kTwoMiB, 5);
  server.put("/fw/update.bin", package);

  CoapDownloadOptions options;
  options.psk_identity = "bg95sim";
  options.psk_key = "bg95-secret";
  const Outcome o = download(server.secure_url("/fw/update.bin"), options);
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(sha256(o.body), sha256(package));
  std::cout << "[ timing   ] 2 MiB over CoAPS (PSK): CoapDownload " << o.seconds << " s\n";
}

TEST_F(CoapDownloadTest, WrongPskIs702Promptly) {
  CoapServer server(dir_.path(), {"-k", "bg95-secret"});
  server.put("/fw/update.bin", make_payload(4096, 6));

  CoapDownloadOptions options = quick();
  options.psk_identity = "bg95sim";
  options.psk_key = "not-the-secret";
  const Outcome o = download(server.secure_url("/fw/update.bin"), options);
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
  EXPECT_EQ(o.result->received, 0u);
  EXPECT_TRUE(o.body.empty());
  EXPECT_LT(o.seconds, 10.0);

  // The downloader is usable again at once, with the right key.
  options.psk_key = "bg95-secret";
  const Outcome again = download(server.secure_url("/fw/update.bin"), options);
  EXPECT_EQ(again.result->coap_err, coap_err::kOk) << describe(again);
}

TEST_F(CoapDownloadTest, CertificatesVerifyTheServer) {
  const auto pki = test::TestPki::make(dir_.path());
  CoapServer server(
      dir_.path(), {"-c", pki.server.cert_file.string(), "-j", pki.server.key_file.string(), "-n"});
  const auto package = make_payload(20000, 7);
  server.put("/p", package);

  CoapDownloadOptions options = quick();
  options.ca_file = pki.ca.cert_file.string();
  Outcome o = download(server.secure_url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, package);

  options.ca_file = pki.other_ca.cert_file.string();  // not the server's CA
  o = download(server.secure_url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
  EXPECT_LT(o.seconds, 10.0);

  options.ca_file.reset();  // no CA: not verified
  o = download(server.secure_url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
}

TEST_F(CoapDownloadTest, CertificateNamingAnotherHostIsRefused) {
  const auto pki = test::TestPki::make(dir_.path());
  CoapServer server(dir_.path(), {"-c", pki.wrong_host.cert_file.string(), "-j",
                                  pki.wrong_host.key_file.string(), "-n"});
  server.put("/p", make_payload(3000, 8));
  CoapDownloadOptions options = quick();
  options.ca_file = pki.ca.cert_file.string();
  const Outcome o = download(server.secure_url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
}

TEST_F(CoapDownloadTest, ClientCertificateIsPresented) {
  const auto pki = test::TestPki::make(dir_.path());
  // Without -n the server demands a client certificate signed by its -C CA.
  CoapServer server(dir_.path(), {"-c", pki.server.cert_file.string(), "-j",
                                  pki.server.key_file.string(), "-C", pki.ca.cert_file.string()});
  const auto package = make_payload(3000, 9);
  server.put("/p", package);

  CoapDownloadOptions options = quick();
  options.ca_file = pki.ca.cert_file.string();
  options.client_cert_file = pki.client.cert_file.string();
  options.client_key_file = pki.client.key_file.string();
  Outcome o = download(server.secure_url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, package);

  options.client_cert_file.reset();
  options.client_key_file.reset();
  o = download(server.secure_url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
}

TEST_F(CoapDownloadTest, NotFoundIs706) {
  CoapServer server(dir_.path(), {});
  const Outcome o = download(server.url("/fw/missing.bin"), CoapDownloadOptions{});
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kNotFound) << describe(o);
  EXPECT_EQ(o.result->response_code, 404);
  EXPECT_EQ(o.chunks, 0u);
}

TEST_F(CoapDownloadTest, OtherErrorCodeIs703) {
  CoapServer server(dir_.path(), {});
  // coap-server's /async answers 4.00 Bad Request to a delay of 0.
  const Outcome o = download(server.url("/async?0"), CoapDownloadOptions{});
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kRequestFailed) << describe(o);
  EXPECT_EQ(o.result->response_code, 400);
}

TEST_F(CoapDownloadTest, SeparateResponseIsAccepted) {
  CoapServer server(dir_.path(), {});
  // coap-server's /async?1 acknowledges at once and answers a second later, in a
  // confirmable response of its own.
  const Outcome o = download(server.url("/async?1"), CoapDownloadOptions{});
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(std::string(o.body.begin(), o.body.end()), "done");
}

TEST_F(CoapDownloadTest, ServerStoppingMidTransferIs704) {
  CoapServer server(dir_.path(), {});
  server.put("/fw/update.bin", make_payload(256 * 1024, 10));
  CoapDownloadOptions options = quick();
  std::size_t blocks = 0;
  const Outcome o =
      download(server.url("/fw/update.bin"), options, [&](std::span<const std::uint8_t>) {
        if (++blocks == 20) server.pause();  // SIGSTOP
        return true;
      });
  server.resume();
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kTimeout) << describe(o);
  EXPECT_EQ(o.result->received, 20u * 1024u);
  EXPECT_LT(o.seconds, 10.0);
}

TEST_F(CoapDownloadTest, Size2OverMaxIs708BeforeAnyByte) {
  CoapServer server(dir_.path(), {});
  server.put("/fw/update.bin", make_payload(kTwoMiB, 11));
  CoapDownloadOptions options;
  options.max_size = 1024 * 1024;
  const Outcome o = download(server.url("/fw/update.bin"), options);
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kTooLarge) << describe(o);
  EXPECT_EQ(o.result->received, 0u);
  EXPECT_EQ(o.chunks, 0u);
}

TEST_F(CoapDownloadTest, ConsumerRefusingIs707) {
  CoapServer server(dir_.path(), {});
  server.put("/fw/update.bin", make_payload(64 * 1024, 12));
  std::size_t blocks = 0;
  const Outcome o = download(server.url("/fw/update.bin"), CoapDownloadOptions{},
                             [&](std::span<const std::uint8_t>) { return ++blocks <= 5; });
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kWriteFailed) << describe(o);
  EXPECT_EQ(o.result->received, 5u * 1024u);
  EXPECT_EQ(o.chunks, 6u);  // the sixth was refused; no seventh was asked for
}

TEST_F(CoapDownloadTest, NobodyListeningIs702) {
  const std::uint16_t port = free_port_pair();
  const Outcome o = download("coap://127.0.0.1:" + std::to_string(port) + "/x", quick());
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
  EXPECT_EQ(o.result->response_code, 0);
  EXPECT_LT(o.seconds, 10.0);
}

TEST_F(CoapDownloadTest, NoDtlsServerIs702) {
  CoapServer server(dir_.path(), {});  // no -k, no -c: nothing on the CoAPS port
  CoapDownloadOptions options = quick();
  options.psk_identity = "id";
  options.psk_key = "key";
  const Outcome o = download(server.secure_url("/x"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
  EXPECT_LT(o.seconds, 10.0);
}

TEST_F(CoapDownloadTest, BadUrlsAre705) {
  for (const std::string& url :
       std::vector<std::string>{"coap://", "http://127.0.0.1/fw.bin", "coap://127.0.0.1:0/x",
                                "coap//127.0.0.1/x", "coap://127.0.0.1/" + std::string(700, 'a'),
                                "coap://127.0.0.1/" + std::string(300, 'b') + "/x"}) {
    const Outcome o = download(url, CoapDownloadOptions{});
    ASSERT_TRUE(o.result) << url;
    EXPECT_EQ(o.result->coap_err, coap_err::kUrlError) << url << ": " << describe(o);
    EXPECT_LT(o.seconds, 1.0);
  }
}

TEST_F(CoapDownloadTest, CancelStopsEverythingAndAllowsANewStart) {
  CoapServer server(dir_.path(), {});
  const auto package = make_payload(64 * 1024, 13);
  server.put("/p", package);

  Outcome first;
  CoapDownloadHandlers handlers;
  handlers.on_chunk = [&](std::span<const std::uint8_t>) {
    if (++first.chunks == 10) downloader_.cancel();  // from inside a handler
    return true;
  };
  handlers.on_done = [&](const CoapDownloadResult&) { ++first.done_calls; };
  downloader_.start(server.url("/p"), CoapDownloadOptions{}, std::move(handlers));
  run_until([&] { return !downloader_.running(); }, 30s);
  // Nothing further arrives.
  const auto quiet_until = Clock::now() + 300ms;
  while (Clock::now() < quiet_until) {
    if (io_.stopped()) io_.restart();
    io_.run_one_for(50ms);
  }
  EXPECT_EQ(first.chunks, 10u);
  EXPECT_EQ(first.done_calls, 0);

  const Outcome o = download(server.url("/p"), CoapDownloadOptions{});
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, package);
}

TEST_F(CoapDownloadTest, DestroyingTheDownloaderFromAHandlerIsSafe) {
  CoapServer server(dir_.path(), {});
  server.put("/p", make_payload(16 * 1024, 14));
  auto owned = std::make_unique<CoapDownload>(io_.get_executor());
  int chunks = 0;
  CoapDownloadHandlers handlers;
  handlers.on_chunk = [&](std::span<const std::uint8_t>) {
    if (++chunks == 3) owned.reset();
    return true;
  };
  owned->start(server.url("/p"), CoapDownloadOptions{}, std::move(handlers));
  run_until([&] { return owned == nullptr; }, 30s);
  io_.poll();
  EXPECT_EQ(chunks, 3);
}

// ---------------------------------------------------------------- against the fake server

TEST_F(CoapDownloadTest, ChangedEtagIs701) {
  const auto body = make_payload(10 * 1024, 15);
  FakeServer fake(FakeServer::Mode::kEtagChanges, body);
  const Outcome o = download(fake.url("/p"), quick());
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kUnknown) << describe(o);
  EXPECT_EQ(o.result->received, 3u * 1024u);  // blocks 0..2 only
}

TEST_F(CoapDownloadTest, WrongBlockIs701) {
  FakeServer fake(FakeServer::Mode::kWrongBlock, make_payload(10 * 1024, 16));
  const Outcome o = download(fake.url("/p"), quick());
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kUnknown) << describe(o);
  EXPECT_EQ(o.result->received, 2u * 1024u);
}

TEST_F(CoapDownloadTest, BodyGrowingPastMaxWithoutSize2Is708) {
  const auto body = make_payload(64 * 1024, 17);
  FakeServer fake(FakeServer::Mode::kNoSize2, body);
  CoapDownloadOptions options = quick();
  options.max_size = 10 * 1024 + 100;
  Outcome o = download(fake.url("/p"), options);
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kTooLarge) << describe(o);
  EXPECT_EQ(o.result->received, 10u * 1024u);
  ASSERT_FALSE(o.progress.empty());
  EXPECT_FALSE(o.progress.front().total);

  options.max_size = 64 * 1024;  // exactly the body: fine
  o = download(fake.url("/p"), options);
  EXPECT_EQ(o.result->coap_err, coap_err::kOk) << describe(o);
  EXPECT_EQ(o.body, body);
}

TEST_F(CoapDownloadTest, SilentServerIs702AfterRetransmissions) {
  FakeServer fake(FakeServer::Mode::kSilent, {});
  CoapDownloadOptions options = quick();
  options.idle_timeout = 30s;  // let the retransmissions give up first
  const Outcome o = download(fake.url("/p"), options);
  ASSERT_TRUE(o.result);
  EXPECT_EQ(o.result->coap_err, coap_err::kConnectFailed) << describe(o);
  EXPECT_EQ(fake.requests(), 2);  // the request and one retransmission
  EXPECT_LT(o.seconds, 10.0);
}

}  // namespace
}  // namespace bg95::coap
