// The HTTP(S) application (AT+QHTTP*, docs/http-app.md) on the real bg95sim over its real
// pseudo-terminal, against real servers on 127.0.0.1: cpp-httplib servers (plain and TLS with a
// certificate made at test time), scripted servers for hostile responses, and Debian's nginx.
// HTTPS verifies servers against a CA uploaded with AT+QFUPL and named by AT+QSSLCFG. What only
// a test can do to a module (the network deactivating a context) runs on an in-process Module.
// Every answer is checked byte for byte.

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <httplib.h>
#include <boost/asio/io_context.hpp>

#include "sim/http_app/response_parser.hpp"
#include "sim/module.hpp"
#include "sim/packet/packet_data.hpp"
#include "tests/support/http_test_server.hpp"
#include "tests/support/scripted_server.hpp"
#include "tests/support/sim_process.hpp"
#include "tests/support/test_pki.hpp"

extern char** environ;

namespace bg95::test {
namespace {

namespace stdfs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The servers the tests talk to: what each path answers.
std::unique_ptr<RunningServer> app_server(std::unique_ptr<httplib::Server> server) {
  server->Get("/hello", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Hello, module!", "text/plain");
  });
  server->Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("nope", "text/plain");
  });
  // What the module sent: its Content-Type, User-Agent and body.
  server->Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.get_header_value("Content-Type") + "|" +
                        req.get_header_value("User-Agent") + "|" + req.body,
                    "text/plain");
  });
  server->Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](std::size_t, httplib::DataSink& sink) {
      sink.write("abc", 3);
      sink.write("defgh", 5);
      sink.done();
      return true;
    });
  });
  server->Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(1024 * 1024 + 1, 'x'), "application/octet-stream");
  });
  return std::make_unique<RunningServer>(std::move(server));
}

// A TCP socket bound to 127.0.0.1:<ephemeral>, listening when asked; its port.
std::pair<int, int> loopback_socket(bool listening) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      (listening && ::listen(fd, 16) != 0))
    throw std::runtime_error("cannot bind on 127.0.0.1");
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return {fd, ntohs(a.sin_port)};
}

// A port on 127.0.0.1 where nothing listens (connections are refused).
int closed_port() {
  const auto [fd, port] = loopback_socket(false);
  ::close(fd);
  return port;
}

// A listening socket that never accepts: connections complete in the kernel's backlog and
// then nothing is ever answered (a stalled server).
class SilentListener {
 public:
  SilentListener() { std::tie(fd_, port_) = loopback_socket(true); }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class HttpAppTest : public ::testing::Test {
 protected:
  HostPort& start(std::vector<std::string> args = {}) {
    sim = std::make_unique<SimProcess>(SimProcess::Options{dir.path() / "state", std::move(args)});
    HostPort& port = sim->open_port();
    EXPECT_EQ(port.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
    return port;
  }
  stdfs::path ufs() const { return dir.path() / "state" / "fs" / "ufs"; }

  // AT+QHTTPURL=<len>,<timeout>, CONNECT, the URL, OK.
  void set_url(HostPort& port, const std::string& url) {
    EXPECT_EQ(port.command("AT+QHTTPURL=" + std::to_string(url.size()) + ",10\r"),
              "\r\nCONNECT\r\n");
    port.write(url);
    EXPECT_EQ(port.read_until("OK\r\n"), "\r\nOK\r\n");
  }
  // The command's own answer, then the URC that ends the request.
  std::string request(HostPort& port, const std::string& line, const std::string& urc) {
    EXPECT_EQ(port.command(line), "\r\nOK\r\n");
    return port.read_until(urc + "\r\n", 20s);
  }
  std::string read_body(HostPort& port, const std::string& line = "AT+QHTTPREAD=10\r") {
    port.write(line);
    return port.read_until("+QHTTPREAD: 0\r\n");
  }

  TempDir dir;
  std::unique_ptr<SimProcess> sim;
};

TEST_F(HttpAppTest, ConfigurationHasTheNotesParametersRangesAndDefaults) {
  auto& port = start();
  const std::string bad = "\r\n+CME ERROR: 730\r\n";
  // Each command line and its whole answer, in order.
  const std::pair<std::string, std::string> dialogue[] = {
      {"AT+QHTTPCFG=?",
       "\r\n+QHTTPCFG: \"contextid\",(1-16)\r\n+QHTTPCFG: \"requestheader\",(0,1)\r\n"
       "+QHTTPCFG: \"responseheader\",(0,1)\r\n+QHTTPCFG: \"sslctxid\",(0-5)\r\n"
       "+QHTTPCFG: \"contenttype\",(0-3)\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"contextid\"", "\r\n+QHTTPCFG: \"contextid\",1\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"requestheader\"", "\r\n+QHTTPCFG: \"requestheader\",0\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"responseheader\"", "\r\n+QHTTPCFG: \"responseheader\",0\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"sslctxid\"", "\r\n+QHTTPCFG: \"sslctxid\",1\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"contenttype\"", "\r\n+QHTTPCFG: \"contenttype\",0\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"contenttype\",3", "\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"CONTENTTYPE\"", "\r\n+QHTTPCFG: \"contenttype\",3\r\n\r\nOK\r\n"},
      {"AT+QHTTPCFG=\"contenttype\",4", bad},
      {"AT+QHTTPCFG=\"contextid\",0", bad},
      {"AT+QHTTPCFG=\"sslctxid\",\"x\"", bad},
      {"AT+QHTTPCFG=\"nosuch\",1", bad},
      {"AT+QHTTPURL=?", "\r\n+QHTTPURL: (1-700),(1-65535)\r\n\r\nOK\r\n"},
      {"AT+QHTTPGET=?", "\r\n+QHTTPGET: (1-65535),(1-2048),(1-65535)\r\n\r\nOK\r\n"},
      {"AT+QHTTPPOST=?", "\r\n+QHTTPPOST: (1-1024000),(1-65535),(1-65535)\r\n\r\nOK\r\n"},
      {"AT+QHTTPREAD=?", "\r\n+QHTTPREAD: (1-65535)\r\n\r\nOK\r\n"},
      {"AT+QHTTPURL=701", bad},
      {"AT+QHTTPURL?", "\r\nOK\r\n"},  // no URL yet: nothing to print
  };
  for (const auto& [line, answer] : dialogue)
    EXPECT_EQ(port.command(line + "\r"), answer) << line;
}

TEST_F(HttpAppTest, GetThenReadOverHttpWithCrLfAndCrLineEnds) {
  auto server = app_server(std::make_unique<httplib::Server>());
  auto& port = start();
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/hello";
  set_url(port, url);
  EXPECT_EQ(port.command("AT+QHTTPURL?\r"), "\r\n+QHTTPURL: " + url + "\r\n\r\nOK\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\nHello, module!\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  // Read once: nothing is left (705, no request).
  EXPECT_EQ(port.command("AT+QHTTPREAD\r"), "\r\n+CME ERROR: 705\r\n");
  // The same with CR alone ending the lines, and the execute form of AT+QHTTPGET.
  port.set_crlf(false);
  EXPECT_EQ(request(port, "AT+QHTTPGET\r", "+QHTTPGET: 0,200,14"), "\r\n+QHTTPGET: 0,200,14\r\n");
  EXPECT_EQ(read_body(port, "AT+QHTTPREAD\r"),
            "\r\nCONNECT\r\nHello, module!\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
}

TEST_F(HttpAppTest, StatusCodesAsTheServerGivesThemAndChunkedBodies) {
  auto server = app_server(std::make_unique<httplib::Server>());
  auto& port = start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  set_url(port, base + "/missing");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,404,4"), "\r\n+QHTTPGET: 0,404,4\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\nnope\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  // A chunked body has no Content-Length: <content_length> is left out; the body is decoded.
  set_url(port, base + "/chunked");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200"), "\r\n+QHTTPGET: 0,200\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\nabcdefgh\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
}

TEST_F(HttpAppTest, PostBodyInDataModeWithTheConfiguredContentType) {
  auto server = app_server(std::make_unique<httplib::Server>());
  auto& port = start();
  set_url(port, "http://127.0.0.1:" + std::to_string(server->port()) + "/echo");
  EXPECT_EQ(port.command("AT+QHTTPCFG=\"contenttype\",1\r"), "\r\nOK\r\n");
  const std::string body = "Message=1111&Appleqty=2222\r\n+++AT\r\n";
  EXPECT_EQ(port.command("AT+QHTTPPOST=" + std::to_string(body.size()) + ",10,10\r"),
            "\r\nCONNECT\r\n");
  port.write(body);
  const std::string echoed = "text/plain|QUECTEL_MODULE|" + body;
  const std::string urc = "+QHTTPPOST: 0,200," + std::to_string(echoed.size());
  EXPECT_EQ(port.read_until(urc + "\r\n", 20s), "\r\nOK\r\n\r\n" + urc + "\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\n" + echoed + "\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
}

// requestheader 1: the host writes the whole request; the module sends it unchanged.
TEST_F(HttpAppTest, RequestHeaderModeSendsTheHostsRequest) {
  auto server = app_server(std::make_unique<httplib::Server>());
  auto& port = start();
  set_url(port, "http://127.0.0.1:" + std::to_string(server->port()) + "/");
  EXPECT_EQ(port.command("AT+QHTTPCFG=\"requestheader\",1\r"), "\r\nOK\r\n");
  const std::string post =
      "POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: my-driver\r\n"
      "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
  EXPECT_EQ(port.command("AT+QHTTPPOST=" + std::to_string(post.size()) + ",10,10\r"),
            "\r\nCONNECT\r\n");
  port.write(post);
  const std::string echoed = "application/json|my-driver|{\"a\":1}";
  const std::string urc = "+QHTTPPOST: 0,200," + std::to_string(echoed.size());
  EXPECT_EQ(port.read_until(urc + "\r\n", 20s), "\r\nOK\r\n\r\n" + urc + "\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\n" + echoed + "\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  // A GET in this mode takes <data_length> and the request after CONNECT.
  EXPECT_EQ(port.command("AT+QHTTPGET=10\r"), "\r\n+CME ERROR: 730\r\n");
  const std::string get = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  EXPECT_EQ(port.command("AT+QHTTPGET=10," + std::to_string(get.size()) + ",10\r"),
            "\r\nCONNECT\r\n");
  port.write(get);
  EXPECT_EQ(port.read_until("+QHTTPGET: 0,200,14\r\n", 20s),
            "\r\nOK\r\n\r\n+QHTTPGET: 0,200,14\r\n");
}

TEST_F(HttpAppTest, ResponseHeaderModeGivesTheHeadAsSent) {
  const std::string head = "HTTP/1.1 201 Created\r\nX-Thing: a, b\r\nContent-Length: 3\r\n\r\n";
  ScriptedServer server([&](ScriptedServer& s, int fd) { s.send_all(fd, head + "abc"); });
  auto& port = start();
  set_url(port, server.url("/x"));
  EXPECT_EQ(port.command("AT+QHTTPCFG=\"responseheader\",1\r"), "\r\nOK\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,201,3"), "\r\n+QHTTPGET: 0,201,3\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\n" + head + "abc\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
}

TEST_F(HttpAppTest, ReadFileAndPostFileUseTheModulesFileSystem) {
  auto server = app_server(std::make_unique<httplib::Server>());
  auto& port = start();
  const std::string base = "http://127.0.0.1:" + std::to_string(server->port());
  set_url(port, base + "/hello");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
  EXPECT_EQ(port.command("AT+QHTTPREADFILE=\"UFS:got.txt\",10\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_until("+QHTTPREADFILE: 0\r\n"), "\r\n+QHTTPREADFILE: 0\r\n");
  EXPECT_EQ(slurp(ufs() / "got.txt"), "Hello, module!");
  // The body of a POST from a file uploaded with AT+QFUPL.
  EXPECT_EQ(port.command("AT+QFUPL=\"body.txt\",5,10\r"), "\r\nCONNECT\r\n");
  port.write("a=1&b");
  EXPECT_EQ(port.read_until("OK\r\n"), "\r\n+QFUPL: 5,321b\r\n\r\nOK\r\n");
  set_url(port, base + "/echo");
  const std::string echoed = "application/x-www-form-urlencoded|QUECTEL_MODULE|a=1&b";
  const std::string urc = "+QHTTPPOSTFILE: 0,200," + std::to_string(echoed.size());
  EXPECT_EQ(request(port, "AT+QHTTPPOSTFILE=\"body.txt\",10\r", urc), "\r\n" + urc + "\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\n" + echoed + "\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  // A file that is not there; a name the file system refuses.
  EXPECT_EQ(port.command("AT+QHTTPPOSTFILE=\"none.txt\"\r"), "\r\n+CME ERROR: 405\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPPOSTFILE=\"body.txt\"\r", urc), "\r\n" + urc + "\r\n");
  EXPECT_EQ(port.command("AT+QHTTPREADFILE=\"../x\"\r"), "\r\n+CME ERROR: 406\r\n");
}

TEST_F(HttpAppTest, HttpsGetAndPostWithoutServerAuthentication) {
  const auto pki = TestPki::make(dir.path() / "pki");
  auto server = app_server(std::make_unique<httplib::SSLServer>(pki.server.cert_file.c_str(),
                                                                pki.server.key_file.c_str()));
  auto& port = start();
  const std::string base = "https://127.0.0.1:" + std::to_string(server->port());
  set_url(port, base + "/hello");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\nHello, module!\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  set_url(port, base + "/echo");
  EXPECT_EQ(port.command("AT+QHTTPPOST=3,10,10\r"), "\r\nCONNECT\r\n");
  port.write("x=1");
  const std::string echoed = "application/x-www-form-urlencoded|QUECTEL_MODULE|x=1";
  const std::string urc = "+QHTTPPOST: 0,200," + std::to_string(echoed.size());
  EXPECT_EQ(port.read_until(urc + "\r\n", 20s), "\r\nOK\r\n\r\n" + urc + "\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\n" + echoed + "\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
}

TEST_F(HttpAppTest, RequestsThatCannotStartAnswerTheNotesCodes) {
  auto& port = start();
  EXPECT_EQ(port.command("AT+QHTTPGET\r"), "\r\n+CME ERROR: 712\r\n");  // no URL
  EXPECT_EQ(port.command("AT+QHTTPPOST=3\r"), "\r\n+CME ERROR: 712\r\n");
  EXPECT_EQ(port.command("AT+QHTTPREAD\r"), "\r\n+CME ERROR: 705\r\n");  // no request
  EXPECT_EQ(port.command("AT+QHTTPREADFILE=\"f\"\r"), "\r\n+CME ERROR: 705\r\n");
  // Not http:// or https://
  EXPECT_EQ(port.command("AT+QHTTPURL=12,10\r"), "\r\nCONNECT\r\n");
  port.write("ftp://host/x");
  EXPECT_EQ(port.read_until("\r\n+CME ERROR: 711\r\n"), "\r\n+CME ERROR: 711\r\n");
  // The URL's input time runs out.
  EXPECT_EQ(port.command("AT+QHTTPURL=20,1\r"), "\r\nCONNECT\r\n");
  port.write("http://x");
  EXPECT_EQ(port.read_until("\r\n+CME ERROR: 726\r\n", 5s), "\r\n+CME ERROR: 726\r\n");
  // A URL the module cannot parse.
  set_url(port, "http://[::1/x");
  EXPECT_EQ(port.command("AT+QHTTPGET\r"), "\r\n+CME ERROR: 711\r\n");
  // The context the application uses is not active.
  set_url(port, "http://127.0.0.1/x");
  EXPECT_EQ(port.command("AT+QHTTPCFG=\"contextid\",2\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QHTTPGET\r"), "\r\n+CME ERROR: 709\r\n");
  EXPECT_EQ(port.command("AT+QHTTPPOST=3\r"), "\r\n+CME ERROR: 709\r\n");
}

TEST_F(HttpAppTest, NetworkFailuresEndInTheNotesCodes) {
  SilentListener stalled;
  ScriptedServer cut([](ScriptedServer& s, int fd) {
    s.send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
  });
  ScriptedServer garbage([](ScriptedServer& s, int fd) { s.send_all(fd, "HTTP/9 OK\r\n\r\n"); });
  auto server = app_server(std::make_unique<httplib::Server>());
  auto& port = start();
  set_url(port, "http://no-such-host.invalid/x");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 714"), "\r\n+QHTTPGET: 714\r\n");
  set_url(port, "http://127.0.0.1:" + std::to_string(closed_port()) + "/x");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 716"), "\r\n+QHTTPGET: 716\r\n");
  set_url(port, "http://127.0.0.1:" + std::to_string(stalled.port()) + "/x");
  EXPECT_EQ(request(port, "AT+QHTTPGET=1\r", "+QHTTPGET: 702"), "\r\n+QHTTPGET: 702\r\n");
  set_url(port, cut.url("/x"));
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 719"), "\r\n+QHTTPGET: 719\r\n");
  set_url(port, garbage.url("/x"));
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 723"), "\r\n+QHTTPGET: 723\r\n");
  set_url(port, "http://127.0.0.1:" + std::to_string(server->port()) + "/big");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 729"), "\r\n+QHTTPGET: 729\r\n");
  // A failed request leaves nothing to read, and the application works on.
  EXPECT_EQ(port.command("AT+QHTTPREAD\r"), "\r\n+CME ERROR: 705\r\n");
  set_url(port, "http://localhost:" + std::to_string(server->port()) + "/hello");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
}

// The network's data faults from the control socket (docs/network.md) reach the requests.
TEST_F(HttpAppTest, NetworkFaultsFromTheControlSocket) {
  auto server = app_server(std::make_unique<httplib::Server>());
  const stdfs::path control = dir.path() / "ctl.sock";
  auto& port = start({"--control", control.string()});
  const auto ctl = [&](const std::string& words) {
    EXPECT_EQ(run_bg95ctl(control, words).first, 0) << words;
  };
  set_url(port, "http://localhost:" + std::to_string(server->port()) + "/hello");
  ctl("net dns fail");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 714"), "\r\n+QHTTPGET: 714\r\n");
  ctl("net dns ok");
  ctl("net connect refuse");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 716"), "\r\n+QHTTPGET: 716\r\n");
  ctl("net connect timeout");
  EXPECT_EQ(request(port, "AT+QHTTPGET=1\r", "+QHTTPGET: 702"), "\r\n+QHTTPGET: 702\r\n");
  ctl("net connect ok");
  ctl("net stall on");
  EXPECT_EQ(request(port, "AT+QHTTPGET=1\r", "+QHTTPGET: 702"), "\r\n+QHTTPGET: 702\r\n");
  ctl("net stall off");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
  // The network deactivates the context under a request.
  SilentListener stalled;
  set_url(port, "http://127.0.0.1:" + std::to_string(stalled.port()) + "/x");
  EXPECT_EQ(port.command("AT+QHTTPGET=60\r"), "\r\nOK\r\n");
  ctl("net pdpdeact 1");
  EXPECT_EQ(port.read_until("+QHTTPGET: 709\r\n"),
            "\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QHTTPGET: 709\r\n");
}

// A request in flight: another is busy (703); AT+QHTTPSTOP ends it without a URC.
TEST_F(HttpAppTest, BusyWhileARequestRunsAndStopEndsIt) {
  SilentListener stalled;
  auto& port = start();
  set_url(port, "http://127.0.0.1:" + std::to_string(stalled.port()) + "/x");
  EXPECT_EQ(port.command("AT+QHTTPGET=60\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.command("AT+QHTTPGET=60\r"), "\r\n+CME ERROR: 703\r\n");
  EXPECT_EQ(port.command("AT+QHTTPURL=5\r"), "\r\n+CME ERROR: 703\r\n");
  EXPECT_EQ(port.command("AT+QHTTPREAD\r"), "\r\n+CME ERROR: 703\r\n");
  EXPECT_EQ(port.command("AT+QHTTPSTOP\r"), "\r\nOK\r\n");
  EXPECT_EQ(port.read_for(300ms), "");
  EXPECT_EQ(port.command("AT+QHTTPREAD\r"), "\r\n+CME ERROR: 705\r\n");
}

// ---- nginx (Debian's nginx-light), started with a config of the test's own.

class Nginx {
 public:
  explicit Nginx(const stdfs::path& dir) : dir_(dir) {
    stdfs::create_directories(dir / "www");
    std::ofstream(dir / "www" / "index.txt") << "served by nginx\n";
    port_ = closed_port();  // free a moment ago; nginx takes it (a failed bind shows below)
    const std::string d = dir.string();
    std::ofstream(dir / "nginx.conf")
        << "daemon off;\nmaster_process off;\npid " << d << "/nginx.pid;\nerror_log " << d
        << "/error.log;\nevents {}\nhttp {\n  access_log off;\n  client_body_temp_path " << d
        << "/body;\n  proxy_temp_path " << d << "/proxy;\n  fastcgi_temp_path " << d
        << "/fastcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n  scgi_temp_path " << d
        << "/scgi;\n  server_tokens off;\n  server {\n    listen 127.0.0.1:" << port_
        << ";\n    root " << d
        << "/www;\n    location = /post { return 201 \"created\"; }\n  }\n}\n";
    std::vector<std::string> args{kBinary,         "-p", d, "-c", d + "/nginx.conf", "-e",
                                  d + "/error.log"};
    std::vector<char*> argv;
    for (auto& s : args)
      argv.push_back(s.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    if (::posix_spawn(&pid_, kBinary, nullptr, nullptr, argv.data(), envp) != 0)
      throw std::runtime_error("nginx did not start");
    // nginx writes its pid file after it has bound and listens (single-process mode): wait
    // for the file, woken by inotify.
    if (!wait_for_file(dir / "nginx.pid", 10s))
      throw std::runtime_error("nginx is not listening: " + error_log());
  }
  ~Nginx() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  int port() const { return port_; }
  std::string error_log() const { return slurp(dir_ / "error.log"); }
  static bool available() { return ::access(kBinary, X_OK) == 0; }
  static constexpr const char* kBinary = "/usr/sbin/nginx";

 private:
  // True once `file` exists (and is not empty), false after `timeout`.
  static bool wait_for_file(const stdfs::path& file, std::chrono::milliseconds timeout) {
    const int in = ::inotify_init1(IN_CLOEXEC);
    ::inotify_add_watch(in, file.parent_path().c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MODIFY);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::error_code ec;
    bool there = false;
    while (!(there = stdfs::file_size(file, ec) > 0 && !ec)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{in, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      (void)::read(in, buf, sizeof buf);
    }
    ::close(in);
    return there;
  }

  stdfs::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(HttpAppTest, GetAndPostAgainstNginx) {
  if (!Nginx::available()) GTEST_SKIP() << "nginx is not installed (Debian's nginx-light)";
  Nginx nginx(dir.path() / "nginx");
  auto& port = start();
  const std::string base = "http://127.0.0.1:" + std::to_string(nginx.port());
  set_url(port, base + "/index.txt");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,16"), "\r\n+QHTTPGET: 0,200,16\r\n")
      << nginx.error_log();
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\nserved by nginx\n\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  set_url(port, base + "/post");
  EXPECT_EQ(port.command("AT+QHTTPPOST=5,10,10\r"), "\r\nCONNECT\r\n");
  port.write("a=b&c");
  EXPECT_EQ(port.read_until("+QHTTPPOST: 0,201,7\r\n", 20s),
            "\r\nOK\r\n\r\n+QHTTPPOST: 0,201,7\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\ncreated\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  set_url(port, base + "/none");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,404,146"),
            "\r\n+QHTTPGET: 0,404,146\r\n");
}

// ---- an in-process module, for what only the test can do to it (the network's deactivation
// of a context, a reset).

class InProcessModule {
 public:
  explicit InProcessModule(const stdfs::path& state) {
    ModuleConfig config;
    config.state_dir = state;
    config.default_image_size = 256 * 1024;
    module = std::make_unique<Module>(io.get_executor(), config);
    module->set_port_writer([this](std::string bytes) { out += bytes; });
    module->power_on();
    wait_for("+QIND: SMS DONE\r\n");
    EXPECT_EQ(command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  }
  // Runs the loop until `needle` has been written; returns everything written and forgets it.
  std::string wait_for(std::string_view needle, std::chrono::milliseconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out.find(needle) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      if (io.stopped()) io.restart();  // it stops whenever it has run out of work
      io.run_one_for(50ms);
    }
    EXPECT_NE(out.find(needle), std::string::npos) << "waiting for " << needle;
    return std::exchange(out, {});
  }
  std::string command(const std::string& line, std::string_view final_text = "\r\n") {
    module->host_input(line);
    return wait_for(final_text);
  }
  // A command that answers CONNECT, its data, and what follows up to `until`.
  std::string with_data(const std::string& line, std::string_view data, std::string_view until) {
    EXPECT_EQ(command(line, "CONNECT\r\n"), "\r\nCONNECT\r\n");
    module->host_input(data);
    return wait_for(until);
  }

  boost::asio::io_context io;
  std::unique_ptr<Module> module;
  std::string out;
};

// The acceptance of issue 17 for HTTPS: the CA uploaded with AT+QFUPL, named by AT+QSSLCFG,
// the server verified against it (and its name checked).
TEST_F(HttpAppTest, HttpsVerifiedAgainstACaUploadedWithQfupl) {
  const auto pki = TestPki::make(dir.path() / "pki");
  auto server = app_server(std::make_unique<httplib::SSLServer>(pki.server.cert_file.c_str(),
                                                                pki.server.key_file.c_str()));
  auto wrong_name = app_server(std::make_unique<httplib::SSLServer>(
      pki.wrong_host.cert_file.c_str(), pki.wrong_host.key_file.c_str()));
  auto& port = start();
  const auto upload = [&](const std::string& name, const std::string& pem) {
    EXPECT_EQ(port.command("AT+QFUPL=\"" + name + "\"," + std::to_string(pem.size()) + ",10\r"),
              "\r\nCONNECT\r\n");
    port.write(pem);
    EXPECT_NE(port.read_until("OK\r\n").find("+QFUPL: " + std::to_string(pem.size())),
              std::string::npos);
  };
  upload("cacert.pem", pki.ca.cert_pem);
  EXPECT_EQ(slurp(ufs() / "cacert.pem"), pki.ca.cert_pem);
  upload("other.pem", pki.other_ca.cert_pem);
  for (const char* line :
       {"AT+QSSLCFG=\"seclevel\",1,1\r", "AT+QSSLCFG=\"cacert\",1,\"cacert.pem\"\r",
        "AT+QSSLCFG=\"checkhost\",1,1\r"})
    EXPECT_EQ(port.command(line), "\r\nOK\r\n") << line;

  const std::string base = "https://localhost:" + std::to_string(server->port());
  set_url(port, base + "/hello");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\nHello, module!\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");
  set_url(port, "https://127.0.0.1:" + std::to_string(server->port()) + "/echo");
  EXPECT_EQ(port.command("AT+QHTTPPOST=4,10,10\r"), "\r\nCONNECT\r\n");
  port.write("k=v!");
  const std::string echoed = "application/x-www-form-urlencoded|QUECTEL_MODULE|k=v!";
  const std::string urc = "+QHTTPPOST: 0,200," + std::to_string(echoed.size());
  EXPECT_EQ(port.read_until(urc + "\r\n", 20s), "\r\nOK\r\n\r\n" + urc + "\r\n");
  EXPECT_EQ(read_body(port), "\r\nCONNECT\r\n" + echoed + "\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n");

  // A certificate signed by the CA that names another host: refused while "checkhost" is on.
  set_url(port, "https://localhost:" + std::to_string(wrong_name->port()) + "/hello");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 716"), "\r\n+QHTTPGET: 716\r\n");
  EXPECT_EQ(port.command("AT+QSSLCFG=\"checkhost\",1,0\r"), "\r\nOK\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
  // A CA that did not sign the server's certificate, and a CA file that is not there.
  set_url(port, base + "/hello");
  EXPECT_EQ(port.command("AT+QSSLCFG=\"cacert\",1,\"other.pem\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 716"), "\r\n+QHTTPGET: 716\r\n");
  EXPECT_EQ(port.command("AT+QSSLCFG=\"cacert\",1,\"none.pem\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 716"), "\r\n+QHTTPGET: 716\r\n");
  // The context AT+QHTTPCFG="sslctxid" names: context 2 still authenticates nobody.
  EXPECT_EQ(port.command("AT+QHTTPCFG=\"sslctxid\",2\r"), "\r\nOK\r\n");
  EXPECT_EQ(request(port, "AT+QHTTPGET=10\r", "+QHTTPGET: 0,200,14"),
            "\r\n+QHTTPGET: 0,200,14\r\n");
}

// The network deactivates the context under a request: it ends with 709 after the network's
// URC; a new activation works. A reset under a request: no URC ever comes, and the
// configuration starts over.
TEST(HttpAppNetworkTest, ContextDeactivatedOrResetUnderARequest) {
  TempDir dir;
  SilentListener stalled;
  InProcessModule m(dir.path() / "state");
  const std::string url = "http://127.0.0.1:" + std::to_string(stalled.port()) + "/x";
  EXPECT_EQ(m.with_data("AT+QHTTPURL=" + std::to_string(url.size()) + ",10\r\n", url, "OK\r\n"),
            "\r\nOK\r\n");
  EXPECT_EQ(m.command("AT+QHTTPGET=60\r\n", "OK\r\n"), "\r\nOK\r\n");
  m.module->packet_data().network_deactivate(1);
  EXPECT_EQ(m.wait_for("+QHTTPGET: 709\r\n"),
            "\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QHTTPGET: 709\r\n");
  EXPECT_EQ(m.command("AT+QHTTPGET\r\n", "\r\n+CME ERROR: 709\r\n"), "\r\n+CME ERROR: 709\r\n");
  EXPECT_EQ(m.command("AT+QIACT=1\r\n", "OK\r\n"), "\r\nOK\r\n");
  EXPECT_EQ(m.command("AT+QHTTPCFG=\"contenttype\",2\r\n", "OK\r\n"), "\r\nOK\r\n");
  EXPECT_EQ(m.command("AT+QHTTPGET=60\r\n", "OK\r\n"), "\r\nOK\r\n");
  m.module->reset();
  m.wait_for("+QIND: SMS DONE\r\n");
  // What a late URC would have been is not there, and nothing of the set-up is left.
  EXPECT_EQ(m.command("AT+QHTTPCFG=\"contenttype\"\r\n", "OK\r\n"),
            "AT+QHTTPCFG=\"contenttype\"\r\r\n+QHTTPCFG: \"contenttype\",0\r\n\r\nOK\r\n");
  EXPECT_EQ(m.command("AT+QHTTPURL?\r\n", "OK\r\n"), "AT+QHTTPURL?\r\r\nOK\r\n");
}

// ---- the response parser on its own: framing a server may get wrong.

TEST(ResponseParserTest, FramesAndFailures) {
  using http_app::HttpError;
  using http_app::ResponseParser;
  {
    ResponseParser p(100);
    p.feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
    p.feed("3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\nextra");
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.status(), 200);
    EXPECT_EQ(p.body(), "abc");
    EXPECT_FALSE(p.content_length());
  }
  {
    ResponseParser p(100);  // one byte at a time
    const std::string r = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    for (char ch : r)
      p.feed(std::string(1, ch));
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.body(), "hi");
    EXPECT_EQ(p.content_length(), 2u);
  }
  {
    ResponseParser p(100);  // until the close
    p.feed("HTTP/1.1 200 OK\r\n\r\nto the end");
    EXPECT_FALSE(p.done());
    p.end_of_stream();
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.body(), "to the end");
  }
  const std::pair<std::string, HttpError> bad[] = {
      {"HTTP/1.1 20 OK\r\n\r\n", HttpError::ResponseFailed},
      {"ICY 200 OK\r\n\r\n", HttpError::ResponseFailed},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", HttpError::ResponseFailed},
      {"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
       HttpError::ResponseFailed},
      {"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", HttpError::ResponseFailed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HttpError::ResponseFailed},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX", HttpError::ResponseFailed},
      {"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", HttpError::MemoryAllocFailed},
      {"HTTP/1.1 200 OK\r\n\r\n" + std::string(101, 'x'), HttpError::MemoryAllocFailed},
      {"HTTP/1.1 200 OK\r\nX: " + std::string(ResponseParser::kMaxHead, 'x'),
       HttpError::ResponseFailed},
  };
  for (const auto& [bytes, err] : bad) {
    ResponseParser p(100);
    p.feed(bytes);
    EXPECT_TRUE(p.failed()) << bytes.substr(0, 80);
    EXPECT_EQ(p.failure(), err) << bytes.substr(0, 80);
  }
  ResponseParser p(100);
  p.feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab");
  p.end_of_stream();
  EXPECT_EQ(p.failure(), HttpError::SocketClosed);
}

}  // namespace
}  // namespace bg95::test
