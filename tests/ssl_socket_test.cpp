// SSL sockets (AT+QSSLOPEN, AT+QSSLSEND, AT+QSSLRECV, AT+QSSLSTATE, AT+QSSLCLOSE) through a
// TLS echo server on 127.0.0.1. Server authentication runs in-process (AT+QSSLCFG is another
// engineer's work: the test sets Module::ssl_contexts() itself) with a CA the host uploads by
// AT+QFUPL; without authentication (seclevel 0, the default) on the real pty.

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>

#include "sim/module.hpp"
#include "tests/support/echo_servers.hpp"
#include "tests/support/socket_host.hpp"
#include "tests/support/test_pki.hpp"

namespace bg95::test {
namespace {

using namespace std::chrono_literals;

class SslInProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki = TestPki::make(dir.path() / "pki");
    ModuleConfig config;
    config.state_dir = dir.path() / "state";
    config.default_image_size = 256 * 1024;
    // In-process, nobody reads the port: output at once (as dfota_resume_test).
    config.timing.framing_gap = 0ms;
    module = std::make_unique<Module>(io.get_executor(), config);
    module->set_port_writer([this](std::string bytes) { out += bytes; });
    module->power_on();
    ASSERT_TRUE(run_until([&] { return out.find("SMS DONE\r\n") != std::string::npos; }));
    ASSERT_EQ(command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  }

  bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();  // the loop stops whenever it runs out of ready work
      io.run_for(5ms);
    }
    return true;
  }
  // Everything the module writes up to and including `needle`.
  std::string until(std::string_view needle) {
    const bool ok = run_until([&] { return out.find(needle) != std::string::npos; });
    EXPECT_TRUE(ok) << "waiting for " << needle << " in " << out;
    const auto end = out.find(needle);
    if (end == std::string::npos) return std::exchange(out, {});
    std::string got = out.substr(0, end + needle.size());
    out.erase(0, end + needle.size());
    return got;
  }
  std::string command(std::string_view line) {
    out.clear();
    module->host_input(line);
    return until(line.starts_with("AT+QSSLSEND=0,") && !line.ends_with(",0\r") ? "> " : "OK\r\n");
  }
  void upload(const std::string& name, const std::string& data) {
    module->host_input(fmt::format("AT+QFUPL=\"{}\",{}\r", name, data.size()));
    until("CONNECT\r\n");
    module->host_input(data);
    until("OK\r\n");
  }
  // The host uploads the test CA; SSL context `ctx` authenticates servers with it (what
  // AT+QSSLCFG="seclevel",<ctx>,1 and ="cacert",<ctx>,<name> will set).
  void trust_test_ca(int ctx, const std::string& name) {
    upload("cacert.pem", pki.ca.cert_pem);
    auto& config = module->ssl_contexts().at(ctx);
    config.sec_level = 1;
    config.ca_cert = name;
  }

  TempDir dir;
  TestPki pki;
  boost::asio::io_context io;
  std::unique_ptr<Module> module;
  std::string out;
};

TEST_F(SslInProcessTest, ServerAuthenticatedWithAnUploadedCa) {
  EchoServer echo(EchoServer::Kind::Tls, pki.server.cert_file, pki.server.key_file);
  trust_test_ca(1, "UFS:cacert.pem");
  EXPECT_EQ(command(fmt::format("AT+QSSLOPEN=1,1,0,\"127.0.0.1\",{},0\r", echo.port())),
            "\r\nOK\r\n");
  EXPECT_EQ(until("\r\n+QSSLOPEN: 0,0\r\n"), "\r\n+QSSLOPEN: 0,0\r\n");
  EXPECT_EQ(command("AT+QSSLSEND=0,5\r"), "\r\n> ");
  module->host_input("hello");
  EXPECT_EQ(until("SEND OK\r\n"), "\r\nSEND OK\r\n");
  EXPECT_EQ(until("\r\n+QSSLURC: \"recv\",0\r\n"), "\r\n+QSSLURC: \"recv\",0\r\n");
  EXPECT_EQ(command("AT+QSSLRECV=0,1500\r"), "\r\n+QSSLRECV: 5\r\nhello\r\n\r\nOK\r\n");
  EXPECT_EQ(command("AT+QSSLRECV=0,1500\r"), "\r\n+QSSLRECV: 0\r\n\r\nOK\r\n");
  const std::string state = command("AT+QSSLSTATE=0\r");
  EXPECT_TRUE(state.starts_with(
      fmt::format("\r\n+QSSLSTATE: 0,\"SSLClient\",\"127.0.0.1\",{},", echo.port())))
      << state;
  EXPECT_TRUE(state.ends_with(",2,1,0,0,\"uart1\",1\r\n\r\nOK\r\n")) << state;
  // The id is the SSL client's: AT+QIOPEN cannot take it, AT+QICLOSE cannot close it.
  EXPECT_EQ(command("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",80,0,0\r"), "\r\nOK\r\n");
  EXPECT_EQ(until("\r\n+QIOPEN: 0,563\r\n"), "\r\n+QIOPEN: 0,563\r\n");
  out.clear();
  module->host_input("AT+QICLOSE=0\r");
  EXPECT_EQ(until("ERROR\r\n"), "\r\nERROR\r\n");
  EXPECT_EQ(command("AT+QSSLCLOSE=0\r"), "\r\nOK\r\n");
  EXPECT_EQ(command("AT+QSSLSTATE\r"), "\r\nOK\r\n");
}

TEST_F(SslInProcessTest, AServerFromAnotherCaIsRefused) {
  EchoServer echo(EchoServer::Kind::Tls, pki.other_ca_server.cert_file,
                  pki.other_ca_server.key_file);
  trust_test_ca(2, "cacert.pem");
  EXPECT_EQ(command(fmt::format("AT+QSSLOPEN=1,2,4,\"127.0.0.1\",{},0\r", echo.port())),
            "\r\nOK\r\n");
  EXPECT_EQ(until("\r\n+QSSLOPEN: 4,566\r\n"), "\r\n+QSSLOPEN: 4,566\r\n");
  EXPECT_EQ(command("AT+QSSLSTATE\r"), "\r\nOK\r\n");
}

TEST(SslPtyTest, NoAuthenticationEchoAndPeerClose) {
  TempDir pki_dir;
  const TestPki pki = TestPki::make(pki_dir.path());
  EchoServer echo(EchoServer::Kind::Tls, pki.server.cert_file, pki.server.key_file);
  SocketSim sim;
  HostPort& p = sim.port();
  expect_open(p, fmt::format("AT+QSSLOPEN=1,0,7,\"localhost\",{},0", echo.port()),
              "\r\n+QSSLOPEN: 7,0\r\n");
  const std::string data = socket_payload(1400, 3);
  expect_send(p, "AT+QSSLSEND=7,1400", data);
  EXPECT_EQ(p.read_until("\r\n+QSSLURC: \"recv\",7\r\n"), "\r\n+QSSLURC: \"recv\",7\r\n");
  // Read as TinyGSM's modemRead does: the length, then that many bytes, then OK.
  HostStream s(p);
  std::string got;
  for (int reads = 0; got.size() < data.size() && reads < 100; ++reads) {
    p.write("AT+QSSLRECV=7,1500\r");
    EXPECT_EQ(s.read_until("+QSSLRECV: "), "\r\n+QSSLRECV: ");
    const std::string digits = s.read_until("\r\n");
    got += s.read_exactly(std::stoul(digits));
    EXPECT_EQ(s.read_until("OK\r\n"), "\r\n\r\nOK\r\n");
  }
  EXPECT_TRUE(got == data);
  EXPECT_EQ(p.command("AT+QSSLSEND=7,0\r"), "\r\n+QSSLSEND: 1400,1400,0\r\n\r\nOK\r\n");
  echo.drop_connections(/*reset=*/false);
  EXPECT_EQ(p.read_until("\r\n+QSSLURC: \"closed\",7\r\n"), "\r\n+QSSLURC: \"closed\",7\r\n");
  EXPECT_EQ(p.command("AT+QSSLCLOSE=7\r"), "\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
