// TCP sockets on the real bg95sim over its real pty, against a TCP echo server on 127.0.0.1:
// two host drivers' own sequences moving 1 MiB each way byte-exact, the note's errors for bad
// input, a refused and a reset connection, and a PDP deactivation mid-transfer.

#include <gtest/gtest.h>

#include <regex>

#include <fmt/format.h>

#include "tests/support/echo_servers.hpp"
#include "tests/support/socket_host.hpp"

namespace bg95::test {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// TinyGSM's BG96 client as its code drives a module (vshymanskyy/TinyGSM at 4c55210,
// src/TinyGsmClientBG96.h: modemConnect, modemSend, modemRead, modemGetAvailable,
// modemGetConnected, handleURCs; src/TinyGsmTCP.tpp: maintainImpl, read, available): the same
// bytes written, the answers parsed the same way (waitResponse matches the end of what it
// read; streamGetIntBefore reads digits up to a character).
class TinyGsmBg96 {
 public:
  explicit TinyGsmBg96(HostStream& s) : s_(s) {}

  void sendAT(const std::string& cmd) { s_.write("AT" + cmd + "\r\n"); }  // AT_NL is CR LF
  // 1: r1 came; 2: ERROR; 3: +CME ERROR. URCs met on the way are handled (handleURCs).
  int waitResponse(const std::string& r1 = "OK\r\n") {
    std::string data;
    while (true) {
      data.push_back(s_.get());
      if (data.ends_with(r1)) return 1;
      if (data.ends_with("ERROR\r\n")) return data.ends_with("CME ERROR\r\n") ? 3 : 2;
      if (data.ends_with("\r\n+QIURC:")) {
        handle_urc();
        data.clear();
      }
    }
  }
  void handle_urc() {
    s_.read_until("\"");
    std::string urc = s_.read_until("\"");
    urc.pop_back();
    s_.read_until(",");
    if (urc == "recv") {
      if (getIntBefore('\n') == 0) got_data = true;
    } else if (urc == "closed") {
      if (getIntBefore('\n') == 0) connected = false;
    } else {
      s_.read_until("\n");
    }
  }
  int getIntBefore(char end) {
    std::string digits = s_.read_until(std::string(1, end));
    return std::atoi(digits.c_str());
  }
  void skipUntil(char c) { s_.read_until(std::string(1, c)); }

  bool gprsConnect() {
    sendAT("+QIDEACT=1");
    if (waitResponse() != 1) return false;
    sendAT("+QICSGP=1,1,\"internet\",\"\",\"\"");
    if (waitResponse() != 1) return false;
    sendAT("+QIACT=1");
    if (waitResponse() != 1) return false;
    sendAT("+CGATT=1");
    return waitResponse() == 1;
  }
  bool connect(const std::string& host, int port) {
    sendAT("+QICLOSE=0");  // stop() first
    waitResponse();
    sendAT(fmt::format("+QIOPEN=1,0,\"TCP\",\"{}\",{},0,0", host, port));
    waitResponse();
    if (waitResponse("\r\n+QIOPEN:") != 1) return false;
    if (getIntBefore(',') != 0) return false;
    connected = getIntBefore('\n') == 0;
    return connected;
  }
  std::size_t modemSend(std::string_view data) {
    sendAT(fmt::format("+QISEND=0,{}", data.size()));
    if (waitResponse(">") != 1) return 0;
    s_.write(data);
    if (waitResponse("\r\nSEND OK") != 1) return 0;
    return data.size();
  }
  std::size_t modemGetAvailable() {
    sendAT("+QIRD=0,0");
    std::size_t result = 0;
    if (waitResponse("+QIRD:") == 1) {
      skipUntil(',');
      skipUntil(',');
      result = static_cast<std::size_t>(getIntBefore('\n'));
      waitResponse();
    }
    if (!result) connected = modemGetConnected();
    return result;
  }
  bool modemGetConnected() {
    sendAT("+QISTATE=1,0");
    if (waitResponse("+QISTATE:") != 1) return false;
    for (int i = 0; i < 5; ++i)
      skipUntil(',');
    const int state = getIntBefore(',');
    waitResponse();
    return state == 2;
  }
  std::string modemRead(std::size_t size) {
    sendAT(fmt::format("+QIRD=0,{}", size));
    if (waitResponse("+QIRD:") != 1) return {};
    const int len = getIntBefore('\n');
    std::string out = s_.read_exactly(static_cast<std::size_t>(len));
    waitResponse();
    sock_available = modemGetAvailable();
    return out;
  }
  // TinyGsmTCP.tpp maintainImpl (TINY_GSM_BUFFER_READ_AND_CHECK_SIZE) and read(): a socket
  // with got_data asks how much is there, then reads it in rx-FIFO-sized pieces (the examples'
  // TINY_GSM_RX_BUFFER 1024).
  std::string read_available() {
    std::string out;
    poll_urcs();
    if (got_data) {
      got_data = false;
      sock_available = modemGetAvailable();
    }
    while (sock_available > 0)
      out += modemRead(std::min<std::size_t>(1024, sock_available));
    return out;
  }
  // What maintain() does with the bytes already there: only URCs can be waiting.
  void poll_urcs() {
    while (s_.available()) {
      idle_.push_back(s_.get());
      if (idle_.ends_with("\r\n+QIURC:")) {
        handle_urc();
        idle_.clear();
      }
    }
  }
  // Blocks until a URC has been handled (the host waits for the module to say something).
  void wait_for_urc() {
    while (true) {
      idle_.push_back(s_.get());
      if (idle_.ends_with("\r\n+QIURC:")) {
        idle_.clear();
        return handle_urc();
      }
    }
  }

  bool got_data = false;
  bool connected = false;
  std::size_t sock_available = 0;

 private:
  HostStream& s_;
  std::string idle_;  // bytes read between commands, up to a URC
};

TEST(SocketTcpTest, TinyGsmBg96MovesOneMebibyteEachWay) {
  EchoServer echo(EchoServer::Kind::Tcp);
  SocketSim sim;
  HostStream s(sim.port());
  TinyGsmBg96 modem(s);
  ASSERT_TRUE(modem.gprsConnect());
  ASSERT_TRUE(modem.connect("127.0.0.1", echo.port()));
  const std::string sent = socket_payload(kMiB, 17);
  std::string received;
  for (std::size_t at = 0; at < sent.size(); at += 1460) {
    const auto chunk = std::string_view(sent).substr(at, 1460);
    ASSERT_EQ(modem.modemSend(chunk), chunk.size()) << at;
    received += modem.read_available();
  }
  while (received.size() < sent.size()) {
    if (!modem.got_data) modem.wait_for_urc();
    received += modem.read_available();
  }
  EXPECT_EQ(received.size(), sent.size());
  EXPECT_TRUE(received == sent);
  EXPECT_EQ(echo.echoed(), kMiB);
  // AT+QISEND=0,0 and AT+QIRD=0,0 count every byte.
  EXPECT_EQ(sim.port().command("AT+QIRD=0,0\r"),
            fmt::format("\r\n+QIRD: {},{},0\r\n\r\nOK\r\n", kMiB, kMiB));
  EXPECT_TRUE(modem.modemGetConnected());
  modem.sendAT("+QICLOSE=0");
  EXPECT_EQ(modem.waitResponse(), 1);
  EXPECT_EQ(sim.port().command("AT+QISTATE?\r"), "\r\nOK\r\n");
}

// Zephyr's offloaded sockets for the BG9x (zephyrproject-rtos/zephyr,
// drivers/modem/quectel-bg9x.c and .h: offload_connect, send_socket_data, offload_recvfrom,
// the "+QIURC: \"recv\"," and "+QIURC: \"closed\"," handlers; commands ended by CR alone,
// MDM_MAX_DATA_LENGTH 1024): QISEND with a length, the data, then a Ctrl-Z written after it.
class ZephyrBg9x {
 public:
  explicit ZephyrBg9x(HostStream& s) : s_(s) {}
  void send_cmd(const std::string& cmd) { s_.write(cmd + "\r"); }
  // Lines up to OK or ERROR (the command handler's response commands); URC lines on the way
  // set the socket's flags.
  std::string response() {
    std::string lines;
    while (true) {
      const std::string line = next_line();
      if (line == "OK" || line == "ERROR" || line.starts_with("+CME ERROR: ")) return lines + line;
      lines += line + "\n";
    }
  }
  // The next line that is not a URC (the unsolicited handlers take those).
  std::string next_line() {
    while (true) {
      std::string line = one_line();
      if (!line.empty()) return line;
    }
  }
  // One line; a URC line is handled and reads as empty.
  std::string one_line() {
    std::string line = s_.read_until("\r\n");
    line.resize(line.size() - 2);
    return handled(std::move(line));
  }
  // A URC line sets the socket's flag and reads as empty; another line is returned.
  std::string handled(std::string line) {
    if (line.starts_with("+QIURC: \"recv\",")) {
      data_ready = true;
      return {};
    }
    if (line.starts_with("+QIURC: \"closed\",")) {
      closed = true;
      return {};
    }
    return line;
  }
  int connect(int fd, int port) {
    send_cmd(fmt::format("AT+QIOPEN={},{},\"{}\",\"{}\",{},0,0", 1, fd, "TCP", "127.0.0.1", port));
    if (response() != "OK") return -1;
    std::string line = next_line();  // "+QIOPEN: <connect_id>,<err>"
    if (!line.starts_with("+QIOPEN: ")) return -1;
    return std::atoi(line.substr(line.find(',') + 1).c_str());
  }
  bool send(int fd, std::string_view data) {
    send_cmd(fmt::format("AT+QISEND={},{}", fd, data.size()));
    await_prompt();
    s_.write(data);
    s_.write("\x1a");
    while (true) {
      const std::string line = next_line();
      if (line == "SEND OK") return true;
      if (line == "SEND FAIL" || line == "ERROR") return false;
    }
  }
  std::string recv(int fd, std::size_t len) {
    send_cmd(fmt::format("AT+QIRD={},{}", fd, len));
    const std::string line = next_line();  // "+QIRD: <len>"
    if (!line.starts_with("+QIRD: ")) return {};
    const auto n = static_cast<std::size_t>(std::atoi(line.substr(7).c_str()));
    std::string data = s_.read_exactly(n);
    response();
    return data;
  }
  bool data_ready = false;
  bool closed = false;

 private:
  // Up to the prompt (MODEM_CMD_DIRECT(">")). The lines before it go through the handlers as
  // every line does in modem_cmd_handler: a "recv" URC written just before the "> " sets its
  // flag (skipping it lost the indication, and the driver waited for data forever).
  void await_prompt() {
    std::string line;
    while (true) {
      const char c = s_.get();
      if (c == '>' && line.empty()) return;
      line.push_back(c);
      if (line.ends_with("\r\n")) {
        line.resize(line.size() - 2);
        handled(std::move(line));
        line.clear();
      }
    }
  }
  HostStream& s_;
};

TEST(SocketTcpTest, ZephyrBg9xMovesOneMebibyteEachWay) {
  EchoServer echo(EchoServer::Kind::Tcp);
  SocketSim sim;
  HostStream s(sim.port());
  ZephyrBg9x modem(s);
  modem.send_cmd("AT+QICSGP=1,1,\"internet\",\"\", \"\",1");
  ASSERT_EQ(modem.response(), "OK");
  modem.send_cmd("AT+QIACT=1");
  ASSERT_EQ(modem.response(), "OK");
  ASSERT_EQ(modem.connect(3, echo.port()), 0);
  const std::string sent = socket_payload(kMiB, 23);
  std::string received;
  auto drain = [&] {
    // A recv after each indication, until the module has nothing more (+QIRD: 0).
    while (modem.data_ready) {
      modem.data_ready = false;
      for (std::string part = modem.recv(3, 1024); !part.empty(); part = modem.recv(3, 1024))
        received += part;
    }
  };
  for (std::size_t at = 0; at < sent.size(); at += 1024) {
    ASSERT_TRUE(modem.send(3, std::string_view(sent).substr(at, 1024))) << at;
    while (s.available())
      modem.one_line();
    drain();
  }
  while (received.size() < sent.size()) {
    if (!modem.data_ready) modem.one_line();
    drain();
  }
  EXPECT_TRUE(received == sent);
  modem.send_cmd("AT+QICLOSE=3");
  EXPECT_EQ(modem.response(), "OK");
}

class SocketErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HostPort& p = sim.port();
    ASSERT_EQ(p.command("AT+QIACT=1\r"), "\r\nOK\r\n");
  }
  // The command's answer, then what AT+QIGETERROR says of it.
  std::pair<std::string, std::string> answer(const std::string& line) {
    std::string a = sim.port().command(line);
    std::string e = sim.port().command("AT+QIGETERROR\r");
    return {a, e};
  }
  SocketSim sim;
};

TEST_F(SocketErrorsTest, BadInputGetsTheNotesErrors) {
  HostPort& p = sim.port();
  EXPECT_EQ(p.command("AT+QIOPEN=1,12,\"TCP\",\"127.0.0.1\",80,0,0\r"), "\r\nERROR\r\n");
  EXPECT_EQ(answer("AT+QIOPEN=1,0,\"SCTP\",\"127.0.0.1\",80,0,0\r"),
            std::make_pair(std::string("\r\nERROR\r\n"),
                           std::string("\r\n+QIGETERROR: 552,invalid parameters\r\n\r\nOK\r\n")));
  EXPECT_EQ(p.command("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",80,0,3\r"), "\r\nERROR\r\n");
  EXPECT_EQ(
      answer("AT+QISEND=0,4\r"),
      std::make_pair(std::string("\r\nERROR\r\n"),
                     std::string("\r\n+QIGETERROR: 567,socket has been closed\r\n\r\nOK\r\n")));
  EXPECT_EQ(p.command("AT+QISEND=0\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QISEND=0,1461\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0,1501\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QISENDEX=0,\"4142\"\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QISWTMD=0,1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=12\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=0\r"), "\r\nOK\r\n");  // closing a free id is harmless
  p.write("ATO\r");
  EXPECT_EQ(p.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n");

  // A UDP SERVICE: the read form with a length and the send form without a remote are not its.
  expect_open(p, "AT+QIOPEN=1,2,\"UDP SERVICE\",\"127.0.0.1\",0,0,0", "\r\n+QIOPEN: 2,0\r\n");
  EXPECT_EQ(answer("AT+QIRD=2,100\r"),
            std::make_pair(std::string("\r\nERROR\r\n"),
                           std::string("\r\n+QIGETERROR: 552,invalid parameters\r\n\r\nOK\r\n")));
  EXPECT_EQ(p.command("AT+QISEND=2,4\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QISEND=2,4,\"10.1.2.3\",7\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QIRD=2\r"), "\r\n+QIRD: 0\r\n\r\nOK\r\n");
  // The id is taken: OK, then the note's 563.
  expect_open(p, "AT+QIOPEN=1,2,\"TCP\",\"127.0.0.1\",80,0,0", "\r\n+QIOPEN: 2,563\r\n");
  // An SSL command on a TCP/IP id.
  EXPECT_EQ(p.command("AT+QSSLCLOSE=2\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=2\r"), "\r\nOK\r\n");
  // A context that is not active: 561; a name nobody knows: 565.
  expect_open(p, "AT+QIOPEN=2,0,\"TCP\",\"127.0.0.1\",80,0,0", "\r\n+QIOPEN: 0,561\r\n");
  expect_open(p, "AT+QIOPEN=1,0,\"TCP\",\"no-such-host.invalid\",80,0,0", "\r\n+QIOPEN: 0,565\r\n");
  EXPECT_EQ(p.command("AT+QISTATE?\r"), "\r\nOK\r\n");  // failed opens leave no socket
  EXPECT_EQ(p.command("AT\r"), "\r\nOK\r\n");
}

TEST_F(SocketErrorsTest, RefusedAndResetConnections) {
  HostPort& p = sim.port();
  // Nothing listens: the note's 566 "socket connect failed", and the id is free again.
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,0", closed_port()),
              "\r\n+QIOPEN: 0,566\r\n");
  EXPECT_EQ(p.command("AT+QIGETERROR\r"),
            "\r\n+QIGETERROR: 566,socket connect failed\r\n\r\nOK\r\n");

  // The server resets the connection: +QIURC: "closed", state 4 until AT+QICLOSE.
  EchoServer echo(EchoServer::Kind::Tcp);
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,1", echo.port()),
              "\r\n+QIOPEN: 0,0\r\n");
  // Push mode: the echo comes as +QIURC: "recv",<id>,<len> and the data.
  // Variable length: over 1460 bytes is an error, ESC cancels with OK; nothing is sent.
  p.write("AT+QISEND=0\r");
  EXPECT_EQ(p.read_until("> "), "\r\n> ");
  p.write(std::string(5000, 'x') + "\x1a");
  EXPECT_EQ(p.read_until("ERROR\r\n"), "\r\nERROR\r\n");
  p.write("AT+QISEND=0\r");
  EXPECT_EQ(p.read_until("> "), "\r\n> ");
  p.write("never\x1b");
  EXPECT_EQ(p.read_until("OK\r\n"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISEND=0,0\r"), "\r\n+QISEND: 0,0,0\r\n\r\nOK\r\n");
  expect_send(p, "AT+QISEND=0,5", "hello");
  EXPECT_EQ(p.read_until("hello\r\n"), "\r\n+QIURC: \"recv\",0,5\r\nhello\r\n");
  echo.drop_connections(/*reset=*/true);
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"closed\",0\r\n"), "\r\n+QIURC: \"closed\",0\r\n");
  const std::string state = p.command("AT+QISTATE=1,0\r");
  EXPECT_TRUE(
      state.starts_with(fmt::format("\r\n+QISTATE: 0,\"TCP\",\"127.0.0.1\",{},", echo.port())))
      << state;
  EXPECT_TRUE(state.ends_with(",4,1,0,1,\"uart1\"\r\n\r\nOK\r\n")) << state;
  EXPECT_EQ(p.command("AT+QISEND=0,5\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=0\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISTATE=1,0\r"), "\r\nOK\r\n");
}

TEST_F(SocketErrorsTest, PdpDeactivationMidTransferThenANewSocket) {
  HostPort& p = sim.port();
  EchoServer echo(EchoServer::Kind::Tcp);
  expect_open(p, fmt::format("AT+QIOPEN=1,1,\"TCP\",\"127.0.0.1\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 1,0\r\n");
  expect_send(p, "AT+QISEND=1,4", "ping");
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",1\r\n"), "\r\n+QIURC: \"recv\",1\r\n");
  // The network takes the context away before the host read the echo.
  const auto [status, out] = run_bg95ctl(sim.control(), "net pdpdeact 1");
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"closed\",1\r\n"),
            "\r\n+QIURC: \"pdpdeact\",1\r\n\r\n+QIURC: \"closed\",1\r\n");
  // What arrived before can still be read; sending cannot.
  EXPECT_EQ(p.command("AT+QIRD=1,1500\r"), "\r\n+QIRD: 4\r\nping\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISEND=1,4\r"), "\r\nERROR\r\n");
  expect_open(p, "AT+QIOPEN=1,2,\"TCP\",\"127.0.0.1\",80,0,0", "\r\n+QIOPEN: 2,561\r\n");
  // The host deactivates and activates again (the note): a new socket works.
  EXPECT_EQ(p.command("AT+QIDEACT=1\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISTATE?\r"), "\r\nOK\r\n");  // AT+QIDEACT closed socket 1
  EXPECT_EQ(p.command("AT+QIACT=1\r"), "\r\nOK\r\n");
  expect_open(p, fmt::format("AT+QIOPEN=1,1,\"TCP\",\"127.0.0.1\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 1,0\r\n");
  p.write("AT+QISENDEX=1,\"414243\"\r");
  EXPECT_EQ(p.read_until("SEND OK\r\n"), "\r\nSEND OK\r\n");
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",1\r\n"), "\r\n+QIURC: \"recv\",1\r\n");
  EXPECT_EQ(p.command("AT+QIRD=1\r"), "\r\n+QIRD: 3\r\nABC\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISEND=1,0\r"), "\r\n+QISEND: 3,3,0\r\n\r\nOK\r\n");
}

TEST_F(SocketErrorsTest, PowerResetClosesEverythingSilently) {
  HostPort& p = sim.port();
  EchoServer echo(EchoServer::Kind::Tcp);
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 0,0\r\n");
  EXPECT_EQ(p.command("AT+CFUN=1,1\r"), "\r\nOK\r\n");
  const std::string banner = p.read_until("SMS DONE\r\n");
  EXPECT_EQ(banner.find("QIURC"), std::string::npos) << banner;
  wait_until_ready(p);
  EXPECT_EQ(p.command("ATE0\r"), "ATE0\r\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISTATE?\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QIACT=1\r"), "\r\nOK\r\n");
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 0,0\r\n");
}

TEST_F(SocketErrorsTest, PingALoopbackAddressAndAnUnknownName) {
  HostPort& p = sim.port();
  EXPECT_EQ(p.command("AT+QPING=1,\"127.0.0.1\",4,2\r"), "\r\nOK\r\n");
  // The times are the link's (milliseconds, 0 or close in the fast profile).
  const std::string urcs = p.read_until(",255\r\n") + p.read_until(",255\r\n");
  EXPECT_TRUE(
      std::regex_match(urcs, std::regex("\r\n\\+QPING: 0,\"127\\.0\\.0\\.1\",32,[0-9]+,255\r\n"
                                        "\r\n\\+QPING: 0,\"127\\.0\\.0\\.1\",32,[0-9]+,255\r\n")))
      << urcs;
  const std::string totals = p.read_until("\r\n+QPING: 0,2,2,0,");
  EXPECT_EQ(totals, "\r\n+QPING: 0,2,2,0,");
  EXPECT_TRUE(std::regex_match(p.read_until("\r\n"), std::regex("[0-9]+,[0-9]+,[0-9]+\r\n")));
  EXPECT_EQ(p.command("AT+QPING=1,\"no-such-host.invalid\"\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.read_until("\r\n+QPING: 565\r\n"), "\r\n+QPING: 565\r\n");
  EXPECT_EQ(p.command("AT+QPING=2,\"127.0.0.1\"\r"), "\r\nERROR\r\n");  // context 2 is down
}

}  // namespace
}  // namespace bg95::test
