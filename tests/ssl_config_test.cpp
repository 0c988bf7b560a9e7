// AT+QSSLCFG and the SSL contexts (sim/net/ssl_context.*, docs/ssl.md).
//  - The command on the real bg95sim over its real pseudo-terminal: every answer to the byte,
//    lines ended by CR LF and by CR alone.
//  - The OpenSSL client context each context makes, against a real TLS server on 127.0.0.1
//    (OpenSSL in this test, on a thread, one connection per case): server authentication with
//    the right and the wrong CA, a required client certificate, a pinned version, a pinned
//    cipher suite, SNI as the server sees it, the host name check, and the validity dates
//    against the module's clock. The certificates are made at run time (tests/support/
//    test_pki.hpp) and uploaded with AT+QFUPL where the module reads them.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "sim/fs/module_fs.hpp"
#include "sim/net/ssl_context.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_pki.hpp"

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using net::SslContextConfig;

// ---- the command ---------------------------------------------------------------------------

class QsslcfgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim = std::make_unique<SimProcess>(SimProcess::Options{dir.path() / "state", {}});
    port = &sim->open_port();
    ASSERT_EQ(port->command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  }
  std::string ask(const std::string& line) { return port->command(line + "\r"); }

  TempDir dir;
  std::unique_ptr<SimProcess> sim;
  HostPort* port = nullptr;
};

TEST_F(QsslcfgTest, TestFormListsEveryParameterWithItsRange) {
  EXPECT_EQ(ask("AT+QSSLCFG=?"),
            "\r\n"
            "+QSSLCFG: \"sslversion\",(0-5),(0-4)\r\n"
            "+QSSLCFG: \"ciphersuite\",(0-5),(0X0035,0X002F,0X0005,0X0004,0X000A,0X003D,0XC002,"
            "0XC003,0XC004,0XC005,0XC007,0XC008,0XC009,0XC00A,0XC011,0XC012,0XC013,0XC014,0XC00C,"
            "0XC00D,0XC00E,0XC00F,0XC023,0XC024,0XC025,0XC026,0XC027,0XC028,0XC029,0XC02A,0XC02F,"
            "0XFFFF)\r\n"
            "+QSSLCFG: \"cacert\",(0-5),<cacertpath>\r\n"
            "+QSSLCFG: \"clientcert\",(0-5),<client_cert_path>\r\n"
            "+QSSLCFG: \"clientkey\",(0-5),<client_key_path>\r\n"
            "+QSSLCFG: \"seclevel\",(0-5),(0-2)\r\n"
            "+QSSLCFG: \"ignorelocaltime\",(0-5),(0,1)\r\n"
            "+QSSLCFG: \"negotiatetime\",(0-5),(10-300)\r\n"
            "+QSSLCFG: \"sni\",(0-5),(0,1)\r\n"
            "+QSSLCFG: \"checkhost\",(0-5),(0,1)\r\n"
            "\r\nOK\r\n");
}

TEST_F(QsslcfgTest, EveryContextStartsWithTheDefaults) {
  for (int ctx : {0, 5}) {
    const std::string id = std::to_string(ctx);
    auto read = [&](const std::string& name) { return ask("AT+QSSLCFG=\"" + name + "\"," + id); };
    auto answer = [&](const std::string& name, const std::string& value) {
      return "\r\n+QSSLCFG: \"" + name + "\"," + id + "," + value + "\r\n\r\nOK\r\n";
    };
    EXPECT_EQ(read("sslversion"), answer("sslversion", "4"));
    EXPECT_EQ(read("ciphersuite"), answer("ciphersuite", "0XFFFF"));
    EXPECT_EQ(read("cacert"), answer("cacert", "\"\""));
    EXPECT_EQ(read("clientcert"), answer("clientcert", "\"\""));
    EXPECT_EQ(read("clientkey"), answer("clientkey", "\"\""));
    EXPECT_EQ(read("seclevel"), answer("seclevel", "0"));
    EXPECT_EQ(read("ignorelocaltime"), answer("ignorelocaltime", "1"));
    EXPECT_EQ(read("negotiatetime"), answer("negotiatetime", "300"));
    EXPECT_EQ(read("sni"), answer("sni", "0"));
    EXPECT_EQ(read("checkhost"), answer("checkhost", "0"));
  }
}

TEST_F(QsslcfgTest, WritesAreReadBackPerContextWithCrLfAndCrAlone) {
  // <name>, the value written, the value read back.
  const std::vector<std::tuple<std::string, std::string, std::string>> rows = {
      {"sslversion", "3", "3"},
      {"ciphersuite", "0xc02f", "0XC02F"},
      {"cacert", "\"UFS:ca.pem\"", "\"UFS:ca.pem\""},
      {"clientcert", "\"client.pem\"", "\"client.pem\""},
      {"clientkey", "\"client.key\"", "\"client.key\""},
      {"seclevel", "2", "2"},
      {"ignorelocaltime", "0", "0"},
      {"negotiatetime", "10", "10"},
      {"sni", "1", "1"},
      {"checkhost", "1", "1"},
  };
  for (const bool crlf : {true, false}) {
    port->set_crlf(crlf);
    for (const auto& [name, written, read] : rows)
      EXPECT_EQ(ask("AT+QSSLCFG=\"" + name + "\",1," + written), "\r\nOK\r\n") << name;
    for (const auto& [name, written, read] : rows)
      EXPECT_EQ(ask("AT+QSSLCFG=\"" + name + "\",1"),
                "\r\n+QSSLCFG: \"" + name + "\",1," + read + "\r\n\r\nOK\r\n");
    // The other contexts keep their defaults.
    EXPECT_EQ(ask("AT+QSSLCFG=\"seclevel\",2"), "\r\n+QSSLCFG: \"seclevel\",2,0\r\n\r\nOK\r\n");
  }
  // The driver spellings seen in the field: "0XFFFF" and "0xFFFF", a path without "UFS:".
  EXPECT_EQ(ask("AT+QSSLCFG=\"ciphersuite\",3,0XFFFF"), "\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"ciphersuite\",3,0X0035"), "\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"ciphersuite\",3"),
            "\r\n+QSSLCFG: \"ciphersuite\",3,0X0035\r\n\r\nOK\r\n");
}

TEST_F(QsslcfgTest, BadInputAnswersErrorAndChangesNothing) {
  EXPECT_EQ(ask("AT+CMEE=2"), "\r\nOK\r\n");
  for (const char* line : {
           "AT+QSSLCFG=\"nosuch\",1,1",          // not a parameter
           "AT+QSSLCFG=\"sslversion\",6,1",      // <SSL_ctxID> 0-5
           "AT+QSSLCFG=\"sslversion\",-1",       //
           "AT+QSSLCFG=\"sslversion\",1,5",      // 0-4
           "AT+QSSLCFG=\"sslversion\",1,\"3\"",  // a number, not a string
           "AT+QSSLCFG=\"seclevel\",1,3",        // 0-2
           "AT+QSSLCFG=\"negotiatetime\",1,9",   // 10-300
           "AT+QSSLCFG=\"negotiatetime\",1,301",  "AT+QSSLCFG=\"sni\",1,2",
           "AT+QSSLCFG=\"checkhost\",1,x",
           "AT+QSSLCFG=\"ciphersuite\",1,0X1234",  // not one of the note's suites
           "AT+QSSLCFG=\"ciphersuite\",1,0035",    // hex needs its 0X
           "AT+QSSLCFG=\"ciphersuite\",1,0X",     "AT+QSSLCFG=\"ciphersuite\",1,0X10035",
           "AT+QSSLCFG=\"cacert\",1,ca.pem",  // a path is quoted
           "AT+QSSLCFG=\"cacert\",1,\"\"",
           "AT+QSSLCFG=\"sslversion\",1,3,4",  // one value
           "AT+QSSLCFG=\"sslversion\",1,",
           "AT+QSSLCFG=sslversion,1,3",  // the name is quoted
           "AT+QSSLCFG=\"sslversion\"",
       }) {
    EXPECT_EQ(ask(line), "\r\nERROR\r\n") << line;
  }
  EXPECT_EQ(ask("AT+QSSLCFG=\"cacert\",1,\"" + std::string(81, 'a') + "\""), "\r\nERROR\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"cacert\",1,\"" + std::string(80, 'a') + "\""), "\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"sslversion\",1"), "\r\n+QSSLCFG: \"sslversion\",1,4\r\n\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"negotiatetime\",1"),
            "\r\n+QSSLCFG: \"negotiatetime\",1,300\r\n\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG?"), "\r\n+CME ERROR: operation not allowed\r\n");
  EXPECT_EQ(ask("AT"), "\r\nOK\r\n");
}

// ---- a TLS server on 127.0.0.1 ------------------------------------------------------------

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using ServerCtx = std::unique_ptr<SSL_CTX, CtxFree>;

struct ServerOptions {
  const pkgserver::Pki::Pair* identity = nullptr;
  const pkgserver::Pki::Pair* client_ca = nullptr;  // set: a client certificate is required
  int min_version = 0, max_version = 0;             // 0: OpenSSL's defaults
};

// What the server saw of one handshake.
struct ServerSaw {
  bool handshake = false;
  std::string sni;  // empty: none sent
  std::string client_cn;
  int version = 0;
};

X509* pem_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return x;
}

EVP_PKEY* pem_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return k;
}

// Listens on an ephemeral port of 127.0.0.1 and serves one TLS handshake on a thread. Every
// wait is bounded (5 s), so a failing client never hangs the test.
class TlsServer {
 public:
  explicit TlsServer(const ServerOptions& o) : ctx_(SSL_CTX_new(TLS_server_method())) {
    X509* cert = pem_cert(o.identity->cert_pem);
    EVP_PKEY* key = pem_key(o.identity->key_pem);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx_.get(), cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx_.get(), key), 1);
    X509_free(cert);
    EVP_PKEY_free(key);
    if (o.min_version) SSL_CTX_set_min_proto_version(ctx_.get(), o.min_version);
    if (o.max_version) SSL_CTX_set_max_proto_version(ctx_.get(), o.max_version);
    if (o.client_ca) {
      X509* ca = pem_cert(o.client_ca->cert_pem);
      X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_.get()), ca);
      X509_free(ca);
      SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    }
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    if (thread_.joinable()) thread_.join();
    ::close(listen_fd_);
  }
  std::uint16_t port() const { return port_; }
  // Waits for the server's side of the handshake to end.
  ServerSaw saw() {
    if (thread_.joinable()) thread_.join();
    return saw_;
  }

 private:
  void serve() {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    SSL* ssl = SSL_new(ctx_.get());
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) == 1) {
      saw_.handshake = true;
      saw_.version = SSL_version(ssl);
      if (X509* peer = SSL_get1_peer_certificate(ssl)) {
        char cn[256] = {};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
        saw_.client_cn = cn;
        X509_free(peer);
      }
      SSL_shutdown(ssl);
    }
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) saw_.sni = name;
    SSL_free(ssl);
    ERR_clear_error();
    ::close(fd);
  }

  ServerCtx ctx_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  ServerSaw saw_;
};

// The module's side: the context from `config` and the module's file system, one connection
// to 127.0.0.1 named `host`, the handshake.
struct ClientResult {
  std::string build_error;  // make_client_context refused
  bool handshake = false;
  long verify = X509_V_OK;
  std::string cipher;
  int version = 0;
};

ClientResult connect_tls(const SslContextConfig& config, const fs::ModuleFs& mfs,
                         std::uint16_t port, const std::string& host = "localhost",
                         std::optional<std::chrono::system_clock::time_point> clock = {}) {
  ClientResult r;
  auto built =
      clock ? net::make_client_context(config, mfs, *clock) : net::make_client_context(config, mfs);
  if (!built.ctx) {
    r.build_error = built.error;
    return r;
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  SSL* ssl = SSL_new(built.ctx.get());
  EXPECT_TRUE(net::prepare_session(ssl, config, host));
  SSL_set_fd(ssl, fd);
  r.handshake = SSL_connect(ssl) == 1;
  // TLS 1.3 sends the server's verdict on the client's certificate after the client's
  // Finished: a read sees it.
  if (r.handshake) {
    char byte;
    if (SSL_read(ssl, &byte, 1) <= 0 && SSL_get_error(ssl, 0) == SSL_ERROR_SSL) r.handshake = false;
  }
  r.verify = SSL_get_verify_result(ssl);
  if (r.handshake) {
    r.cipher = SSL_get_cipher_name(ssl);
    r.version = SSL_version(ssl);
  }
  SSL_free(ssl);
  ERR_clear_error();
  ::close(fd);
  return r;
}

class SslContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki = TestPki::make(dir.path() / "pki");
    mfs.emplace(dir.path() / "fs");
    ASSERT_EQ(mfs->prepare(), fs::Error::None);
    // What a host uploads with AT+QFUPL lands in the UFS folder.
    for (const auto& [name, text] : std::initializer_list<std::pair<const char*, std::string>>{
             {"ca.pem", pki.ca.cert_pem},
             {"wrong-ca.pem", pki.other_ca.cert_pem},
             {"client.pem", pki.client.cert_pem},
             {"client.key", pki.client.key_pem}}) {
      std::ofstream(dir.path() / "fs" / "ufs" / name) << text;
    }
  }
  SslContextConfig authenticated(const char* ca = "UFS:ca.pem") const {
    SslContextConfig c;
    c.sec_level = 1;
    c.ca_cert = ca;
    return c;
  }

  TempDir dir;
  TestPki pki;
  std::optional<fs::ModuleFs> mfs;
};

TEST_F(SslContextTest, ServerAuthenticationWithTheRightCaAndTheWrongOne) {
  {
    TlsServer server({.identity = &pki.server});
    const auto r = connect_tls(authenticated(), *mfs, server.port());
    EXPECT_TRUE(r.handshake);
    EXPECT_EQ(r.verify, X509_V_OK);
    EXPECT_TRUE(server.saw().handshake);
  }
  {
    TlsServer server({.identity = &pki.server});
    const auto r = connect_tls(authenticated("wrong-ca.pem"), *mfs, server.port());
    EXPECT_FALSE(r.handshake);
    EXPECT_EQ(r.verify, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    EXPECT_FALSE(server.saw().handshake);
  }
  {
    // Security level 0 authenticates nothing: the wrong CA does not matter.
    TlsServer server({.identity = &pki.other_ca_server});
    const auto r = connect_tls(SslContextConfig{}, *mfs, server.port());
    EXPECT_TRUE(r.handshake);
    EXPECT_TRUE(server.saw().handshake);
  }
  {
    // A CA file that is not there: the context cannot be made, and says which file.
    const auto r = connect_tls(authenticated("missing.pem"), *mfs, 1);
    EXPECT_EQ(r.build_error, "CA certificate \"missing.pem\" cannot be read");
  }
}

TEST_F(SslContextTest, MutualTlsNeedsTheClientCertificate) {
  SslContextConfig c = authenticated();
  c.sec_level = 2;
  c.client_cert = "client.pem";
  c.client_key = "UFS:client.key";
  {
    TlsServer server({.identity = &pki.server, .client_ca = &pki.ca});
    const auto r = connect_tls(c, *mfs, server.port());
    EXPECT_TRUE(r.handshake);
    const ServerSaw saw = server.saw();
    EXPECT_TRUE(saw.handshake);
    EXPECT_EQ(saw.client_cn, "bg95sim test client");
  }
  {
    // Level 1 sends no certificate: the server refuses.
    TlsServer server({.identity = &pki.server, .client_ca = &pki.ca});
    const auto r = connect_tls(authenticated(), *mfs, server.port());
    EXPECT_FALSE(r.handshake);
    EXPECT_FALSE(server.saw().handshake);
  }
  {
    SslContextConfig swapped = c;
    swapped.client_key = "ca.pem";  // not a key
    EXPECT_EQ(connect_tls(swapped, *mfs, 1).build_error, "no private key in \"ca.pem\"");
  }
}

TEST_F(SslContextTest, VersionsArePinned) {
  SslContextConfig tls12 = authenticated();
  tls12.ssl_version = 3;
  {
    TlsServer server({.identity = &pki.server, .min_version = TLS1_3_VERSION});
    EXPECT_FALSE(connect_tls(tls12, *mfs, server.port()).handshake);
    EXPECT_FALSE(server.saw().handshake);
  }
  {
    // "All" is what the note lists, SSL 3.0 to TLS 1.2: a TLS 1.3-only server is out of reach.
    TlsServer server({.identity = &pki.server, .min_version = TLS1_3_VERSION});
    EXPECT_FALSE(connect_tls(authenticated(), *mfs, server.port()).handshake);
    EXPECT_FALSE(server.saw().handshake);
  }
  {
    TlsServer server({.identity = &pki.server});
    const auto r = connect_tls(tls12, *mfs, server.port());
    EXPECT_TRUE(r.handshake);
    EXPECT_EQ(r.version, TLS1_2_VERSION);
    EXPECT_EQ(server.saw().version, TLS1_2_VERSION);
  }
}

TEST_F(SslContextTest, CipherSuitesAreTheNotesCodes) {
  // The test PKI's keys are EC P-256: the ECDHE-ECDSA suites fit, the RSA ones do not.
  SslContextConfig c = authenticated();
  c.cipher_suites = {0xC023};
  {
    TlsServer server({.identity = &pki.server});
    const auto r = connect_tls(c, *mfs, server.port());
    EXPECT_TRUE(r.handshake);
    EXPECT_EQ(r.cipher, "ECDHE-ECDSA-AES128-SHA256");
    server.saw();
  }
  c.cipher_suites = {0xC02F};
  {
    TlsServer server({.identity = &pki.server});
    EXPECT_FALSE(connect_tls(c, *mfs, server.port()).handshake);
    EXPECT_FALSE(server.saw().handshake);
  }
  // RC4 is not in OpenSSL 3: the context says so instead of offering nothing.
  c.cipher_suites = {0x0004};
  EXPECT_EQ(connect_tls(c, *mfs, 1).build_error,
            "cipher suite 0X0004 is not available in this OpenSSL");
  EXPECT_EQ(net::cipher_suite(0xC02F)->name, std::string("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
  EXPECT_EQ(net::cipher_suite(0x1234), nullptr);
}

TEST_F(SslContextTest, SniIsSentOnlyWhenOnAndNeverForAnAddress) {
  SslContextConfig c = authenticated();
  for (const auto& [sni, host, seen] :
       {std::tuple{true, "localhost", "localhost"}, std::tuple{false, "localhost", ""},
        std::tuple{true, "127.0.0.1", ""}}) {
    c.sni = sni;
    TlsServer server({.identity = &pki.server});
    EXPECT_TRUE(connect_tls(c, *mfs, server.port(), host).handshake) << host;
    EXPECT_EQ(server.saw().sni, seen) << sni << " " << host;
  }
}

TEST_F(SslContextTest, CheckhostComparesTheCertificateWithTheHost) {
  SslContextConfig c = authenticated();
  {
    TlsServer server({.identity = &pki.wrong_host});
    EXPECT_TRUE(connect_tls(c, *mfs, server.port()).handshake);  // off: any name
    server.saw();
  }
  c.check_host = true;
  {
    TlsServer server({.identity = &pki.wrong_host});
    const auto r = connect_tls(c, *mfs, server.port());
    EXPECT_FALSE(r.handshake);
    EXPECT_EQ(r.verify, X509_V_ERR_HOSTNAME_MISMATCH);
    server.saw();
  }
  for (const char* host : {"localhost", "127.0.0.1"}) {
    TlsServer server({.identity = &pki.server});
    EXPECT_TRUE(connect_tls(c, *mfs, server.port(), host).handshake) << host;
    server.saw();
  }
}

TEST_F(SslContextTest, IgnorelocaltimeDecidesWhetherTheModulesClockIsChecked) {
  // The module's clock before the certificates' "not before" (an hour ago): AT+CCLK after a
  // power-on without network time reads 2000.
  const auto year2000 = std::chrono::system_clock::from_time_t(946684800);
  SslContextConfig c = authenticated();
  c.ignore_local_time = false;
  {
    TlsServer server({.identity = &pki.server});
    const auto r = connect_tls(c, *mfs, server.port(), "localhost", year2000);
    EXPECT_FALSE(r.handshake);
    EXPECT_EQ(r.verify, X509_V_ERR_CERT_NOT_YET_VALID);
    server.saw();
  }
  {
    TlsServer server({.identity = &pki.server});
    EXPECT_TRUE(connect_tls(c, *mfs, server.port(), "localhost", std::chrono::system_clock::now())
                    .handshake);
    server.saw();
  }
  c.ignore_local_time = true;
  {
    TlsServer server({.identity = &pki.server});
    EXPECT_TRUE(connect_tls(c, *mfs, server.port(), "localhost", year2000).handshake);
    server.saw();
  }
}

TEST(SslContextConfigTest, NegotiatetimeIsTheHandshakeTimeout) {
  SslContextConfig c;
  EXPECT_EQ(net::negotiate_timeout(c), std::chrono::seconds(300));
  c.negotiate_time = 10;
  EXPECT_EQ(net::negotiate_timeout(c), std::chrono::seconds(10));
}

// The whole path a host takes: certificates uploaded with AT+QFUPL and named with AT+QSSLCFG
// on the real module; the context those settings make (read back from the module) works.
TEST_F(QsslcfgTest, CertificatesUploadedWithQfuplAreWhatTheContextReads) {
  const TestPki pki = TestPki::make(dir.path() / "pki");
  const std::string& ca = pki.ca.cert_pem;
  EXPECT_EQ(ask("AT+QFUPL=\"ca.pem\"," + std::to_string(ca.size())), "\r\nCONNECT\r\n");
  port->write(ca);
  EXPECT_NE(port->read_until("OK\r\n").find("+QFUPL: " + std::to_string(ca.size())),
            std::string::npos);
  EXPECT_EQ(ask("AT+QSSLCFG=\"seclevel\",2,1"), "\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"cacert\",2,\"UFS:ca.pem\""), "\r\nOK\r\n");
  EXPECT_EQ(ask("AT+QSSLCFG=\"cacert\",2"),
            "\r\n+QSSLCFG: \"cacert\",2,\"UFS:ca.pem\"\r\n\r\nOK\r\n");
  SslContextConfig c;
  c.sec_level = 1;
  c.ca_cert = "UFS:ca.pem";
  const fs::ModuleFs mfs(dir.path() / "state" / "fs");
  TlsServer server({.identity = &pki.server});
  EXPECT_TRUE(connect_tls(c, mfs, server.port()).handshake);
  EXPECT_TRUE(server.saw().handshake);
}

}  // namespace
}  // namespace bg95::test
