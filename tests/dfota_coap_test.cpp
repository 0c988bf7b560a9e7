// DFOTA over CoAP(s), end to end: the real bg95sim on its real pty, Debian's real libcoap
// server (coap-server-openssl) on 127.0.0.1 serving a resource the test first PUTs.

#include <signal.h>

#include <chrono>
#include <regex>

#include <gtest/gtest.h>

#include "tests/support/coap_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"
#include "tests/support/test_pki.hpp"

#include <fstream>

namespace bg95::test {
namespace {

using Clock = std::chrono::steady_clock;

struct CoapPackages {
  Bytes source = default_image();
  // About 2 MiB of new bytes: a package of about 2 MiB, as the issue asks.
  Bytes target = image_with_fresh_bytes(source, 2 * 1024 * 1024);
  Bytes package = make_package(source, target);
};
const CoapPackages& packages() {
  static const CoapPackages p;
  return p;
}

class DfotaCoapTest : public ::testing::Test {
 protected:
  HostPort& start(std::vector<std::string> args = {}) {
    args.insert(args.end(), {"--download-timeout", "2"});
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", args});
    auto& port = sim_->open_port();
    port.command("ATE0\r");
    return port;
  }
  std::string download(HostPort& port, const std::string& url) {
    EXPECT_EQ(port.command("AT+QFOTADL=\"" + url + "\"\r"), "\r\nOK\r\n");
    std::string urcs = port.read_until("\"COAPEND\",", std::chrono::seconds(60));
    return urcs + port.read_until("\r\n");
  }
  void upload_psk(HostPort& port, const std::string& text) {
    EXPECT_EQ(
        port.command("AT+QFUPL=\"/datatx/fota_coap_psk\"," + std::to_string(text.size()) + "\r"),
        "\r\nCONNECT\r\n");
    port.write(text);
    port.read_until("OK\r\n");
  }
  TempDir dir_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(DfotaCoapTest, TwoMebibytePackageUpdatesTheModule) {
  const auto& p = packages();
  ASSERT_GT(p.package.size(), 2'000'000u);
  CoapServer server(dir_.path(), {});
  server.put("/fw/update.bin", p.package);
  auto& port = start();
  const auto t0 = Clock::now();
  EXPECT_EQ(port.command("AT+QFOTADL=\"CoAP://127.0.0.1:" + std::to_string(server.port()) +
                         "/fw/update.bin\"\r"),
            "\r\nOK\r\n");
  // The note's table: COAPSTART, COAPEND,0, then the same path as HTTP. No DOWNLOADING lines.
  EXPECT_EQ(port.read_until("\"COAPEND\",0\r\n", std::chrono::seconds(60)),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",0\r\n");
  const double download_s = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::string rest = port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
  EXPECT_EQ(rest.rfind("\r\n+QIND: \"FOTA\",\"RESETTING\"\r\n\r\n+QIND: \"FOTA\",\"START\"\r\n", 0),
            0u);
  EXPECT_NE(rest.find("\r\n+QIND: \"FOTA\",\"END\",0\r\n"), std::string::npos);
  EXPECT_EQ(port.command("ATI\r"),
            "ATI\r\r\nQuectel\r\nBG95-M3\r\nRevision: BG95M3LAR02A04\r\n\r\nOK\r\n");
  // The figure for the closing note: the module's download beside coap-client in this run.
  const auto [client_s, client_ok] = server.time_client_get("/fw/update.bin", p.package);
  EXPECT_TRUE(client_ok);
  std::printf(
      "[ figure ] %zu-byte package: bg95sim AT+QFOTADL to COAPEND %.3f s, "
      "coap-client -b 1024 %.3f s\n",
      p.package.size(), download_s, client_s);
}

TEST_F(DfotaCoapTest, CoapsWithPskAndAWrongPsk) {
  CoapServer server(dir_.path(), {"-k", "bg95-secret", "-h", "bg95"});
  server.put("/fw/update.bin", packages().package);  // over plain CoAP on the same server
  const std::string url =
      "coaps://127.0.0.1:" + std::to_string(server.port() + 1) + "/fw/update.bin";
  auto& port = start();
  upload_psk(port, "bg95\nwrong-secret\n");
  const auto t0 = Clock::now();
  EXPECT_EQ(download(port, url),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",702\r\n");
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 30.0);
  // The module stays usable, and with the right key the same URL works.
  EXPECT_EQ(port.command("AT+QFDEL=\"/datatx/fota_coap_psk\"\r"), "\r\nOK\r\n");
  upload_psk(port, "bg95\nbg95-secret\n");
  EXPECT_TRUE(download(port, url).ends_with("\"COAPEND\",0\r\n"));
  port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(DfotaCoapTest, CoapsWithTheSameCertificatesAsHttps) {
  const auto pki = TestPki::make(dir_.path() / "pki");
  // The server demands a client certificate signed by the test CA.
  CoapServer server(dir_.path(), {"-c", pki.server.cert_file.string(), "-j",
                                  pki.server.key_file.string(), "-C", pki.ca.cert_file.string()});
  server.put("/fw/update.bin", packages().package);
  auto& port = start();
  auto upload = [&port](const std::string& name, const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(port.command("AT+QFUPL=\"" + name + "\"," + std::to_string(data.size()) + "\r"),
              "\r\nCONNECT\r\n");
    port.write(data);
    port.read_until("OK\r\n");
  };
  upload("/datatx/fota_cacert.pem", pki.ca.cert_file);
  upload("/datatx/fota_client_cert.pem", pki.client.cert_file);
  upload("/datatx/fota_client_key.pem", pki.client.key_file);
  const std::string url =
      "coaps://127.0.0.1:" + std::to_string(server.port() + 1) + "/fw/update.bin";
  EXPECT_TRUE(download(port, url).ends_with("\"COAPEND\",0\r\n"));
  port.read_until("+QIND: SMS DONE\r\n", std::chrono::seconds(60));
  EXPECT_EQ(port.command("AT+CGMR\r"), "AT+CGMR\r\r\nBG95M3LAR02A04\r\n\r\nOK\r\n");
}

TEST_F(DfotaCoapTest, ErrorsFromRealCauses) {
  CoapServer server(dir_.path(), {});
  Bytes junk(100000, 0x5A);
  server.put("/junk.bin", junk);
  server.put("/fw/update.bin", packages().package);
  auto& port = start();
  const std::string base = "coap://127.0.0.1:" + std::to_string(server.port());
  EXPECT_EQ(download(port, base + "/missing.bin"),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",706\r\n");
  EXPECT_EQ(download(port, base + "/junk.bin"),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",710\r\n");
  EXPECT_EQ(download(port, "coap://127.0.0.1:0/x"),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",705\r\n");
  // A server that does not answer at all: 702.
  server.pause();
  EXPECT_EQ(download(port, base + "/fw/update.bin"),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",702\r\n");
  server.resume();
  EXPECT_EQ(port.command("AT+CGMR;+QFOTADL=4\r"),
            "\r\nBG95M3LAR02A03\r\n\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
}

TEST_F(DfotaCoapTest, ServerStoppingInTheMiddleIs704) {
  CoapServer server(dir_.path(), {});
  server.put("/fw/update.bin", packages().package);
  // The realistic profile's LTE-M rate, scaled to about 2 MB/s: the transfer takes about a
  // second, so the server is surely stopped in the middle.
  auto& port = start({"--coap-progress", "--timing", "realistic", "--time-scale", "0.02"});
  port.command("AT+CEREG=1\r");
  if (port.command("AT+CEREG?\r").find("+CEREG: 1,1") == std::string::npos)
    port.read_until("+CEREG: 1\r\n", std::chrono::seconds(10));
  EXPECT_EQ(port.command("AT+QFOTADL=\"coap://127.0.0.1:" + std::to_string(server.port()) +
                         "/fw/update.bin\"\r"),
            "\r\nOK\r\n");
  // The first percent of 2 MiB has arrived: stop the server (SIGSTOP) for the rest.
  port.read_until("\"DOWNLOADING\",", std::chrono::seconds(30));
  server.pause();
  const std::string rest = port.read_until("\"COAPEND\",", std::chrono::seconds(60));
  EXPECT_EQ(port.read_until("\r\n"), "704\r\n") << rest;
  server.resume();
  EXPECT_EQ(port.command("AT+CGMR;+QFOTADL=4\r"),
            "\r\nBG95M3LAR02A03\r\n\r\n+QFOTADL: 4,0\r\n\r\nOK\r\n");
}

TEST_F(DfotaCoapTest, PackageOverThePackageAreaIs708) {
  CoapServer server(dir_.path(), {});
  server.put("/big.bin", Bytes(6 * 1024 * 1024 + 4096, 0x11));
  auto& port = start();
  EXPECT_EQ(download(port, "coap://127.0.0.1:" + std::to_string(server.port()) + "/big.bin"),
            "\r\n+QIND: \"FOTA\",\"COAPSTART\"\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",708\r\n");
}

TEST_F(DfotaCoapTest, ManualTriggerAppliesToCoapToo) {
  CoapServer server(dir_.path(), {});
  server.put("/fw/update.bin", packages().package);
  auto& port = start({"--coap-progress"});
  EXPECT_EQ(port.command("AT+QFOTADL=3,0\r"), "\r\nOK\r\n");
  const std::string urcs =
      download(port, "coap://127.0.0.1:" + std::to_string(server.port()) + "/fw/update.bin");
  // The option adds DOWNLOADING lines, rising to 100.
  EXPECT_NE(
      urcs.find("\r\n+QIND: \"FOTA\",\"DOWNLOADING\",100\r\n\r\n+QIND: \"FOTA\",\"COAPEND\",0\r\n"),
      std::string::npos)
      << urcs;
  EXPECT_EQ(port.command("AT+QFOTADL=4\r"),
            "\r\n+QFOTADL: 4," + std::to_string(packages().package.size()) + "\r\n\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
