// LwM2M end to end: the real bg95sim on its real pty, started with --lwm2m-* options, against
// the libcoap LwM2M server of tests/support and a real HTTP server holding the packages.
// The port's URCs (the note's 3.2) are asserted line by line.

#include <regex>

#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/lwm2m/codec.hpp"
#include "scenarios/lwm2m_server/lwm2m_server.hpp"
#include "sim/firmware/image.hpp"
#include "tests/support/coap_test_server.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_packages.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;

struct Packages {
  Bytes source = default_image();
  Bytes target = next_image(source);
  Bytes package = make_package(source, target);
  std::string target_version = version_of(target);
  Bytes damaged = [this] {
    Bytes d = package;
    d[d.size() / 2] ^= 0x5A;  // body changed: the trailer's SHA-256 no longer matches
    return d;
  }();

  static std::string version_of(const Bytes& image) {
    auto h = firmware::decode_image_header(image);
    return h ? h->full_version : std::string();
  }
};
const Packages& packages() {
  static const Packages p;
  return p;
}

// The lines, with runs of progress URCs folded to one "...,N" line.
std::vector<std::string> stages_of(const std::string& urcs) {
  std::vector<std::string> stages;
  for (const auto& l : lines_of(urcs)) {
    std::string s = std::regex_replace(l, std::regex("(DOWNLOADING|UPDATING)\",\\d+$"), "$1\",N");
    if (stages.empty() || stages.back() != s) stages.push_back(s);
  }
  return stages;
}

class Lwm2mTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = std::make_unique<httplib::Server>();
    server->Get("/update.bin", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(as_string(packages().package), "application/octet-stream");
    });
    server->Get("/damaged.bin", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(as_string(packages().damaged), "application/octet-stream");
    });
    http_ = std::make_unique<RunningServer>(std::move(server));
  }
  void TearDown() override {
    sim_.reset();
    http_.reset();
  }

  HostPort& start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{
        "--lwm2m-server",     lwm2m_.uri(), "--lwm2m-endpoint", "bg95-test", "--lwm2m-autoreg",
        "--download-timeout", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    sim_ = std::make_unique<SimProcess>(SimProcess::Options{dir_.path() / "state", args});
    auto& port = sim_->open_port();
    port.command("ATE0\r");
    return port;
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(http_->port()) + path;
  }
  // The package of packages() was delivered: Update (/5/0/2) runs it, and the module comes
  // back registered with the target's version and Update Result 1.
  void expect_update_to_the_target(HostPort& port) {
    EXPECT_EQ(read_text("/5/0/7"), packages().target_version);
    EXPECT_EQ(lwm2m_.execute("/5/0/2").code, 204);
    port.read_until("+QIND: \"FOTA\",\"END\",0\r\n", 60s);
    lwm2m_.wait_registration(2, 30s);
    EXPECT_EQ(read_text("/3/0/3"), packages().target_version);
    EXPECT_EQ(read_text("/5/0/5"), "1");
  }
  std::string read_text(const std::string& path) {
    const auto r = lwm2m_.read(path);
    EXPECT_EQ(r.code, 205) << path;
    return r.payload;
  }

  TempDir dir_;
  peer::Lwm2mServer lwm2m_;
  std::unique_ptr<RunningServer> http_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(Lwm2mTest, RegistersWithItsObjectsAndAnswersReads) {
  auto& port = start();
  const auto reg = lwm2m_.wait_registration(1);
  EXPECT_EQ(reg.endpoint, "bg95-test");
  EXPECT_EQ(reg.lifetime, "86400");
  EXPECT_EQ(reg.version, "1.0");
  EXPECT_EQ(reg.binding, "U");
  EXPECT_EQ(reg.links, "</1/0>,</3/0>,</5/0>");

  EXPECT_EQ(read_text("/3/0/0"), "Quectel");
  EXPECT_EQ(read_text("/3/0/1"), "BG95-M3");
  const std::string imei = lines_of(port.command("AT+CGSN\r")).at(0);
  EXPECT_EQ(read_text("/3/0/2"), imei);
  EXPECT_EQ(read_text("/3/0/3"), Packages::version_of(packages().source));
  EXPECT_EQ(read_text("/5/0/3"), "0");
  EXPECT_EQ(read_text("/5/0/9"), "2");
  EXPECT_EQ(read_text("/1/0/1"), "86400");

  // Multiple resource as TLV: protocols 0..3.
  auto r = lwm2m_.read("/5/0/8");
  EXPECT_EQ(r.content_format, lwm2m::format::kTlv);
  const auto tlv = lwm2m::decode_tlv(
      std::span(reinterpret_cast<const std::uint8_t*>(r.payload.data()), r.payload.size()));
  ASSERT_TRUE(tlv);
  ASSERT_EQ(tlv->size(), 1u);
  ASSERT_EQ((*tlv)[0].children.size(), 4u);
  EXPECT_EQ((*tlv)[0].children[3].value, lwm2m::Bytes{3});
  // The whole Device instance as TLV, in 16-byte Block2 slices.
  const auto whole = lwm2m_.read("/3/0", lwm2m::format::kTlv);
  const auto sliced = lwm2m_.read_all("/3/0", 0, lwm2m::format::kTlv);
  EXPECT_EQ(sliced.code, 205);
  EXPECT_GT(whole.payload.size(), 16u);
  EXPECT_EQ(sliced.payload, whole.payload);

  EXPECT_EQ(lwm2m_.read("/5/1/3").code, 404);
  EXPECT_EQ(lwm2m_.read("/4").code, 404);
  EXPECT_EQ(lwm2m_.read("/5/0/2").code, 405);
  EXPECT_EQ(lwm2m_.execute("/5").code, 405);  // Create is not supported
  EXPECT_EQ(lwm2m_.write("/3/0/0", "x").code, 405);

  EXPECT_EQ(lwm2m_.write_attributes("/5/0/3", "pmin=0&pmax=30").code, 204);
  const auto d = lwm2m_.discover("/5/0");
  EXPECT_EQ(d.code, 205);
  EXPECT_EQ(d.content_format, lwm2m::format::kLink);
  EXPECT_NE(d.payload.find("</5/0/3>;pmin=0;pmax=30"), std::string::npos) << d.payload;
  EXPECT_NE(d.payload.find("</5/0/8>;dim=4"), std::string::npos) << d.payload;

  // Registration Update and De-registration through the AT commands.
  EXPECT_EQ(port.command("AT+QLWSVC=\"state\"\r"), "\r\n+QLWSVC: \"state\",2\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWSVC=\"update\"\r"), "\r\nOK\r\n");
  EXPECT_GE(lwm2m_.wait_update(0), 1);
  EXPECT_EQ(port.command("AT+QLWSVC=\"dereg\"\r"), "\r\nOK\r\n");
  EXPECT_TRUE(lwm2m_.wait_deregistered(1));
  EXPECT_EQ(port.command("AT+QLWSVC=\"state\"\r"), "\r\n+QLWSVC: \"state\",0\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWSVC=\"reg\"\r"), "\r\nOK\r\n");
  lwm2m_.wait_registration(2);
}

TEST_F(Lwm2mTest, ARegistrationAPlainCoapServerRefusesSaysWhatToCheck) {
  // issue 19: "registration failed (405)" said nothing a user could act on. The package
  // server's CoAP listener (a plain CoAP server, not an LwM2M server) answers POST /rd 4.05.
  const auto scenario = dir_.path() / "to-the-package-server.yaml";
  std::ofstream(scenario) << "name: to-the-package-server\n"
                             "server:\n  coap: 0\n"
                             "module:\n  lwm2m: {server: \"${server.coap}\", endpoint: bg95-test, "
                             "autoreg: true}\n";
  sim_ = std::make_unique<SimProcess>(
      SimProcess::Options{dir_.path() / "state", {"--scenario", scenario.string()}});
  ASSERT_TRUE(sim_->wait_for_stderr("registration failed", 30s)) << sim_->stderr_text();
  const std::string log = sim_->stderr_text();
  const auto at = log.find("registration failed: coap://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_NE(log.find(" takes no registration (4.05): is it an LwM2M server? (a plain CoAP "
                     "server, such as bg95-pkgserver, answers so)",
                     at),
            std::string::npos)
      << log;
}

TEST_F(Lwm2mTest, UpdatesTheRegistrationBeforeTheLifetimeRunsOut) {
  start({"--lwm2m-lifetime", "4"});
  const auto reg = lwm2m_.wait_registration(1);
  EXPECT_EQ(reg.lifetime, "4");
  // Unasked, at three quarters of the lifetime (3 s), and again after that.
  const auto t0 = std::chrono::steady_clock::now();
  const int first = lwm2m_.wait_update(0, std::chrono::seconds(10));
  EXPECT_GE(first, 1);
  EXPECT_GE(lwm2m_.wait_update(first, std::chrono::seconds(10)), first + 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(9));
}

TEST_F(Lwm2mTest, ConfigurationCommandsAreKept) {
  auto& port = start();
  lwm2m_.wait_registration(1);
  EXPECT_EQ(port.command("AT+QLWCFG=\"security\"\r"),
            "\r\n+QLWCFG: \"security\",0,123,\"" + lwm2m_.uri() + "\",0,3,\"\",\"\"\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"epns\"\r"),
            "\r\n+QLWCFG: \"epns\",1,\"\",\"bg95-test\"\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"server\",123,600,1,60,\"U\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"server\"\r"),
            "\r\n+QLWCFG: \"server\",123,600,1,60,\"U\"\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"version\",1\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"version\"\r"), "\r\n+QLWCFG: \"version\",1\r\n\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"version\",2\r"), "\r\n+CME ERROR: 50\r\n");
  EXPECT_EQ(port.command("AT+QLWCFG=\"security\",0,123,\"http://x\",0,3\r"),
            "\r\n+CME ERROR: 50\r\n");
  // Kept across a restart (AT+CFUN=1,1): the next registration uses them.
  port.command("AT+CFUN=1,1\r");
  const auto reg = lwm2m_.wait_registration(2);
  EXPECT_EQ(reg.lifetime, "600");
  EXPECT_EQ(reg.version, "1.1");
  wait_until_ready(port);
  port.command("ATE0\r");
  EXPECT_EQ(port.command("AT+QLWCFG=\"server\"\r"),
            "\r\n+QLWCFG: \"server\",123,600,1,60,\"U\"\r\n\r\nOK\r\n");
}

TEST_F(Lwm2mTest, OutOfBandHttpDownloadThenUpdate) {
  auto& port = start();
  lwm2m_.wait_registration(1);
  const auto first = lwm2m_.observe("/5/0/3");
  ASSERT_EQ(first.code, 205);
  EXPECT_EQ(first.payload, "0");
  EXPECT_TRUE(first.observe.has_value());
  const auto result = lwm2m_.observe("/5/0/5");
  EXPECT_EQ(result.payload, "0");

  EXPECT_EQ(lwm2m_.execute("/5/0/2").code, 405);  // Update while Idle
  EXPECT_EQ(lwm2m_.write("/5/0/1", url("/update.bin")).code, 204);
  lwm2m_.wait_notification(first.token, "1");
  lwm2m_.wait_notification(first.token, "2", 30s);
  const std::string download = port.read_until("+LWM2M: \"FOTA\",\"DOWNLOADED\",0\r\n", 30s);
  EXPECT_EQ(stages_of(download), (std::vector<std::string>{"+QIND: \"FOTA\",\"HTTPSTART\"",
                                                           "+QIND: \"FOTA\",\"DOWNLOADING\",N",
                                                           "+LWM2M: \"FOTA\",\"DOWNLOADED\",0"}));
  EXPECT_EQ(read_text("/5/0/7"), packages().target_version);
  EXPECT_EQ(read_text("/5/0/6"), "update.bin");

  EXPECT_EQ(lwm2m_.execute("/5/0/2").code, 204);
  lwm2m_.wait_notification(first.token, "3");
  const std::string update = port.read_until("+QIND: SMS DONE\r\n", 60s);
  const auto stages = stages_of(update);
  ASSERT_GE(stages.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(stages.begin(), stages.begin() + 3),
            (std::vector<std::string>{"+QIND: \"FOTA\",\"START\"", "+QIND: \"FOTA\",\"UPDATING\",N",
                                      "+QIND: \"FOTA\",\"END\",0"}));
  // Registered again, on the new firmware, with the result of the update.
  const auto again = lwm2m_.wait_registration(2, 30s);
  EXPECT_EQ(again.links, "</1/0>,</3/0>,</5/0>");
  EXPECT_EQ(read_text("/3/0/3"), packages().target_version);
  EXPECT_EQ(read_text("/5/0/3"), "0");
  EXPECT_EQ(read_text("/5/0/5"), "1");
}

TEST_F(Lwm2mTest, OutOfBandCoapDownload) {
  CoapServer coap(dir_.path(), {});
  coap.put("/update.bin", packages().package);
  auto& port = start();
  lwm2m_.wait_registration(1);
  const auto state = lwm2m_.observe("/5/0/3");
  EXPECT_EQ(lwm2m_.write("/5/0/1", coap.url("/update.bin")).code, 204);
  lwm2m_.wait_notification(state.token, "2", 30s);
  const std::string download = port.read_until("+LWM2M: \"FOTA\",\"DOWNLOADED\",0\r\n", 30s);
  EXPECT_EQ(stages_of(download), (std::vector<std::string>{"+QIND: \"FOTA\",\"COAPSTART\"",
                                                           "+LWM2M: \"FOTA\",\"DOWNLOADED\",0"}));
  EXPECT_EQ(read_text("/5/0/7"), packages().target_version);
}

TEST_F(Lwm2mTest, NotificationsHonourPmin) {
  start();
  lwm2m_.wait_registration(1);
  EXPECT_EQ(lwm2m_.write_attributes("/5/0/5", "pmin=1").code, 204);
  const auto result = lwm2m_.observe("/5/0/5");
  ASSERT_EQ(result.code, 205);
  const auto t0 = std::chrono::steady_clock::now();
  // Two changes at once: 7 then 9; with pmin=1 s only the newest value goes out, a second
  // after the observation began.
  EXPECT_EQ(lwm2m_.write("/5/0/1", "no uri").code, 204);
  EXPECT_EQ(lwm2m_.write("/5/0/1", "ftp://127.0.0.1/x").code, 204);
  lwm2m_.wait_notification(result.token, "9");
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 900ms);
  for (const auto& n : lwm2m_.notifications(result.token))
    EXPECT_NE(n.payload, "7");
  // Cancel: no more notifications.
  EXPECT_EQ(lwm2m_.cancel_observe("/5/0/5", result.token).code, 205);
}

TEST_F(Lwm2mTest, InBandBlock1PushThenUpdate) {
  auto& port = start();
  lwm2m_.wait_registration(1);
  const auto state = lwm2m_.observe("/5/0/3");
  ASSERT_EQ(state.code, 205);
  const auto r = lwm2m_.push("/5/0/0", as_string(packages().package));
  EXPECT_EQ(r.code, 204);
  ASSERT_TRUE(r.block1.has_value());
  EXPECT_EQ(*r.block1 & 0x08u, 0u);
  lwm2m_.wait_notification(state.token, "2");
  const std::string urcs = port.read_until("\"COMPLETED\"\r\n", 10s);
  EXPECT_EQ(stages_of(urcs), (std::vector<std::string>{"+LWM2M: \"FOTA\",\"DOWNLOADING\",\"START\"",
                                                       "+LWM2M: \"FOTA\",\"DOWNLOADING\","
                                                       "\"COMPLETED\""}));
  expect_update_to_the_target(port);
}

TEST_F(Lwm2mTest, InBandPushAsTlvThenUpdate) {
  // Wakaama's server writes the Package as one TLV (Content-Format 11542); its header was
  // taken for package bytes and the update ended with Result 6 (issue 18). TLV and opaque are
  // decoded, in one PDU and block-wise; any other format is 4.15.
  auto& port = start();
  lwm2m_.wait_registration(1);
  const auto tlv = [](const Bytes& value) {
    const lwm2m::Tlv t{lwm2m::Tlv::Kind::Resource, 0, value, {}};
    return as_string(lwm2m::encode_tlv(std::span(&t, 1)));
  };
  const std::string package = tlv(packages().package);
  EXPECT_EQ(lwm2m_.push("/5/0/0", package, 6, 10s, 0).code, 415);    // text/plain
  EXPECT_EQ(lwm2m_.push("/5/0/0", package, 6, 10s, 110).code, 415);  // SenML JSON
  // A TLV of another resource, and one announcing more bytes than come: 4.00.
  const lwm2m::Tlv other{lwm2m::Tlv::Kind::Resource, 1, packages().package, {}};
  EXPECT_EQ(
      lwm2m_.push("/5/0/0", as_string(lwm2m::encode_tlv(std::span(&other, 1))), 6, 10s, 11542).code,
      400);
  EXPECT_EQ(lwm2m_.push("/5/0/0", package.substr(0, package.size() - 1), 6, 10s, 11542).code, 400);
  // A Package of one '\0' as a one-PDU TLV write resets the state machine.
  EXPECT_EQ(lwm2m_.write("/5/0/0", tlv(Bytes{0}), 11542).code, 204);
  EXPECT_EQ(read_text("/5/0/3"), "0");
  EXPECT_EQ(lwm2m_.push("/5/0/0", package, 6, 10s, 11542).code, 204);
  port.read_until("\"COMPLETED\"\r\n", 10s);
  EXPECT_EQ(read_text("/5/0/3"), "2");
  expect_update_to_the_target(port);
}

TEST_F(Lwm2mTest, InBandPushOfTwoMebibytes) {
  const Bytes target = image_with_fresh_bytes(packages().source, 2 * 1024 * 1024);
  const Bytes big = make_package(packages().source, target);
  ASSERT_GT(big.size(), 2u * 1024 * 1024);
  auto& port = start();
  lwm2m_.wait_registration(1);
  EXPECT_EQ(lwm2m_.push("/5/0/0", as_string(big)).code, 204);
  port.read_until("\"COMPLETED\"\r\n", 10s);
  EXPECT_EQ(read_text("/5/0/3"), "2");
  EXPECT_EQ(read_text("/5/0/7"), Packages::version_of(target));
  EXPECT_EQ(lwm2m_.execute("/5/0/2").code, 204);
  port.read_until("+QIND: \"FOTA\",\"END\",0\r\n", 120s);
  lwm2m_.wait_registration(2, 30s);
  EXPECT_EQ(read_text("/3/0/3"), Packages::version_of(target));
}

TEST_F(Lwm2mTest, FailuresSetTheUpdateResult) {
  auto& port = start();
  lwm2m_.wait_registration(1);
  const auto result = lwm2m_.observe("/5/0/5");
  ASSERT_EQ(result.code, 205);

  // Not a URI at all: 7, at once.
  EXPECT_EQ(lwm2m_.write("/5/0/1", "no uri here").code, 204);
  lwm2m_.wait_notification(result.token, "7");
  EXPECT_EQ(read_text("/5/0/3"), "0");
  // Back to Idle / 0 with an empty URI.
  EXPECT_EQ(lwm2m_.write("/5/0/1", "").code, 204);
  lwm2m_.wait_notification(result.token, "0");
  // A protocol the module does not speak: 9.
  EXPECT_EQ(lwm2m_.write("/5/0/1", "ftp://127.0.0.1/update.bin").code, 204);
  lwm2m_.wait_notification(result.token, "9");
  // A URI that names nothing: 706 on the port, 7 in the object.
  EXPECT_EQ(lwm2m_.write("/5/0/1", url("/missing.bin")).code, 204);
  port.read_until("+LWM2M: \"FOTA\",\"DOWNLOADED\",706\r\n", 30s);
  EXPECT_EQ(read_text("/5/0/5"), "7");
  // The log says why (issue 19), with the download's own reason.
  EXPECT_NE(sim_->stderr_text().find("lwm2m: Update Result 7 (invalid URI): DFOTA 706 HTTP 404"),
            std::string::npos)
      << sim_->stderr_text();
  // A damaged package (HTTP): 710 on the port, 5 in the object.
  EXPECT_EQ(lwm2m_.write("/5/0/1", url("/damaged.bin")).code, 204);
  port.read_until("+LWM2M: \"FOTA\",\"DOWNLOADED\",710\r\n", 30s);
  EXPECT_EQ(read_text("/5/0/5"), "5");
  EXPECT_EQ(read_text("/5/0/3"), "0");
  // A damaged package pushed in band: 5; something that is no package at all: 6.
  EXPECT_EQ(lwm2m_.push("/5/0/0", as_string(packages().damaged)).code, 204);
  EXPECT_EQ(read_text("/5/0/5"), "5");
  EXPECT_EQ(lwm2m_.push("/5/0/0", std::string(5000, 'x')).code, 204);
  EXPECT_EQ(read_text("/5/0/5"), "6");
  // A Package of one '\0' resets.
  EXPECT_EQ(lwm2m_.push("/5/0/0", std::string(1, '\0')).code, 204);
  EXPECT_EQ(read_text("/5/0/5"), "0");
  // Update while Idle.
  EXPECT_EQ(lwm2m_.execute("/5/0/2").code, 405);
}

TEST_F(Lwm2mTest, SenmlJsonWhenVersion11IsSelected) {
  auto& port = start();
  lwm2m_.wait_registration(1);
  // LwM2M 1.0: SenML JSON is not acceptable, TLV is the default for an instance.
  EXPECT_EQ(lwm2m_.read("/3/0", lwm2m::format::kSenmlJson).code, 406);
  EXPECT_EQ(lwm2m_.read("/3/0").content_format, lwm2m::format::kTlv);
  const std::string imei = lines_of(port.command("AT+CGSN\r")).at(0);
  EXPECT_EQ(port.command("AT+QLWCFG=\"version\",1\r"), "\r\nOK\r\n");
  port.command("AT+CFUN=1,1\r");
  EXPECT_EQ(lwm2m_.wait_registration(2).version, "1.1");

  const auto r = lwm2m_.read("/3/0", lwm2m::format::kSenmlJson);
  ASSERT_EQ(r.code, 205);
  EXPECT_EQ(r.content_format, lwm2m::format::kSenmlJson);
  const auto j = nlohmann::json::parse(r.payload);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 6u);  // 0, 1, 2, 3, 11/0, 16; 4 (Reboot) is not readable
  EXPECT_EQ(j[0], (nlohmann::json{{"bn", "/3/0/"}, {"n", "0"}, {"vs", "Quectel"}}));
  EXPECT_EQ(j[1], (nlohmann::json{{"n", "1"}, {"vs", "BG95-M3"}}));
  EXPECT_EQ(j[2], (nlohmann::json{{"n", "2"}, {"vs", imei}}));
  EXPECT_EQ(j[3], (nlohmann::json{{"n", "3"}, {"vs", Packages::version_of(packages().source)}}));
  EXPECT_EQ(j[4], (nlohmann::json{{"n", "11/0"}, {"v", 0}}));
  EXPECT_EQ(j[5], (nlohmann::json{{"n", "16"}, {"vs", "U"}}));
  // A single resource; TLV is still the default without Accept.
  EXPECT_EQ(lwm2m_.read("/5/0/3", lwm2m::format::kSenmlJson).payload, R"([{"bn":"/5/0/3","v":0}])");
  EXPECT_EQ(lwm2m_.read("/3/0").content_format, lwm2m::format::kTlv);

  // Write of the Package URI in SenML JSON: the download starts.
  const auto first = lwm2m_.observe("/5/0/3");
  ASSERT_EQ(first.code, 205);
  const std::string body = R"([{"bn":"/5/0/1","vs":")" + url("/update.bin") + R"("}])";
  EXPECT_EQ(lwm2m_.write("/5/0/1", body, lwm2m::format::kSenmlJson).code, 204);
  EXPECT_EQ(read_text("/5/0/1"), url("/update.bin"));
  lwm2m_.wait_notification(first.token, "2", 30s);
  EXPECT_EQ(read_text("/5/0/7"), packages().target_version);
  // A value of the wrong type is a 4.00 and changes nothing.
  EXPECT_EQ(lwm2m_.write("/5/0/1", R"([{"bn":"/5/0/1","v":1}])", lwm2m::format::kSenmlJson).code,
            400);
  EXPECT_EQ(read_text("/5/0/1"), url("/update.bin"));
}

class Lwm2mPskTest : public ::testing::Test {
 protected:
  TempDir dir_;
  peer::Lwm2mServer lwm2m_{peer::Lwm2mServer::Options{std::make_pair("bg95-id", "secret-key")}};
};

TEST_F(Lwm2mPskTest, RegistersOverDtlsWithAPreSharedKey) {
  // "secret-key" in hex.
  SimProcess sim({dir_.path() / "state",
                  {"--lwm2m-server", lwm2m_.uri(), "--lwm2m-endpoint", "bg95-psk", "--lwm2m-psk-id",
                   "bg95-id", "--lwm2m-psk", "7365637265742d6b6579", "--lwm2m-autoreg", "-v"}});
  peer::Lwm2mServer::Registration reg;
  try {
    reg = lwm2m_.wait_registration(1, 20s);
  } catch (const std::exception& e) {
    FAIL() << e.what() << "\n" << sim.stderr_text();
  }
  EXPECT_EQ(reg.endpoint, "bg95-psk");
  EXPECT_EQ(lwm2m_.read("/3/0/0").payload, "Quectel");
}

}  // namespace
}  // namespace bg95::test
