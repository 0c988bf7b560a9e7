// UDP sockets and transparent mode on the real bg95sim over its real pty: UDP through a
// loopback echo (a client and a UDP SERVICE in direct push mode), a TCP listener's incoming
// connection, and transparent mode in and out with "+++" and ATO, no byte lost.

#include <poll.h>

#include <cstring>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "tests/support/echo_servers.hpp"
#include "tests/support/socket_host.hpp"

namespace bg95::test {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr milliseconds kGuard{200};  // --guard-time: the "+++" guard time, shortened

TEST(SocketUdpTest, ClientAndServiceThroughAnEcho) {
  EchoServer echo(EchoServer::Kind::Udp);
  SocketSim sim;
  HostPort& p = sim.port();
  p.set_crlf(false);  // commands ended by CR alone here
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"UDP\",\"127.0.0.1\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 0,0\r\n");
  // Two datagrams; AT+QIRD gives one at a time.
  for (const char* d : {"first", "second!"}) {
    p.write(fmt::format("AT+QISEND=0,{}\r", std::strlen(d)));
    EXPECT_EQ(p.read_until("> "), "\r\n> ");
    p.write(d);
    EXPECT_EQ(p.read_until("SEND OK\r\n"), "\r\nSEND OK\r\n");
  }
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",0\r\n"), "\r\n+QIURC: \"recv\",0\r\n");
  // Both echoes are in once the counters say so (the second may still be on its way).
  std::string totals;
  for (int i = 0; i < 1000 && totals != "\r\n+QIRD: 12,0,12\r\n\r\nOK\r\n"; ++i)
    totals = p.command("AT+QIRD=0,0\r");
  EXPECT_EQ(totals, "\r\n+QIRD: 12,0,12\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0,1500\r"), "\r\n+QIRD: 5\r\nfirst\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0,1500\r"), "\r\n+QIRD: 7\r\nsecond!\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0,1500\r"), "\r\n+QIRD: 0\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QISEND=0,0\r"), "\r\n+QISEND: 12,12,0\r\n\r\nOK\r\n");

  // A UDP SERVICE in direct push mode: each datagram comes with its sender.
  expect_open(p, "AT+QIOPEN=1,1,\"UDP SERVICE\",\"127.0.0.1\",0,0,1", "\r\n+QIOPEN: 1,0\r\n");
  const std::string state = p.command("AT+QISTATE=1,1\r");
  EXPECT_TRUE(state.starts_with("\r\n+QISTATE: 1,\"UDP SERVICE\",\"10.")) << state;
  EXPECT_TRUE(state.ends_with(",2,1,0,1,\"uart1\"\r\n\r\nOK\r\n")) << state;
  p.write(fmt::format("AT+QISEND=1,5,\"127.0.0.1\",{}\r", echo.port()));
  EXPECT_EQ(p.read_until("> "), "\r\n> ");
  p.write(std::string("a\r\n\0z", 5));
  EXPECT_EQ(p.read_until("SEND OK\r\n"), "\r\nSEND OK\r\n");
  EXPECT_EQ(p.read_until(std::string("a\r\n\0z\r\n", 7)),
            fmt::format("\r\n+QIURC: \"recv\",1,5,\"127.0.0.1\",{}\r\n", echo.port()) +
                std::string("a\r\n\0z\r\n", 7));
  // In buffer mode AT+QIRD gives one datagram with its sender.
  EXPECT_EQ(p.command("AT+QISWTMD=1,0\r"), "\r\nOK\r\n");
  expect_send(p, fmt::format("AT+QISEND=1,4,\"127.0.0.1\",{}", echo.port()), "echo");
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",1\r\n"), "\r\n+QIURC: \"recv\",1\r\n");
  EXPECT_EQ(p.command("AT+QIRD=1\r"),
            fmt::format("\r\n+QIRD: 4,\"127.0.0.1\",{}\r\necho\r\n\r\nOK\r\n", echo.port()));
  EXPECT_EQ(p.command("AT+QIRD=1\r"), "\r\n+QIRD: 0\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=0\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=1\r"), "\r\nOK\r\n");
}

TEST(SocketListenerTest, IncomingConnectionInBufferMode) {
  SocketSim sim;
  HostPort& p = sim.port();
  const std::uint16_t port = closed_port();
  expect_open(p, fmt::format("AT+QIOPEN=1,5,\"TCP LISTENER\",\"127.0.0.1\",0,{},0", port),
              "\r\n+QIOPEN: 5,0\r\n");
  asio::io_context io;
  asio::ip::tcp::socket peer(io);
  peer.connect({asio::ip::address_v4::loopback(), port});
  const auto local = peer.local_endpoint().port();
  // The lowest free id takes the connection.
  EXPECT_EQ(p.read_until(fmt::format("{}\r\n", local)),
            fmt::format("\r\n+QIURC: \"incoming\",0,5,\"127.0.0.1\",{}\r\n", local));
  asio::write(peer, asio::buffer(std::string("from peer")));
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",0\r\n"), "\r\n+QIURC: \"recv\",0\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0,4\r"), "\r\n+QIRD: 4\r\nfrom\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0\r"), "\r\n+QIRD: 5\r\n peer\r\n\r\nOK\r\n");
  expect_send(p, "AT+QISEND=0,2", "ok");
  char back[2];
  asio::read(peer, asio::buffer(back));
  EXPECT_EQ(std::string(back, 2), "ok");
  const auto lines = lines_of(p.command("AT+QISTATE=0,1\r"));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            fmt::format("+QISTATE: 0,\"TCP INCOMING\",\"127.0.0.1\",{},{},2,1,5,0,\"uart1\"", local,
                        port));
  // A listener shows the module's own address.
  EXPECT_TRUE(lines[1].starts_with("+QISTATE: 5,\"TCP LISTENER\",\"10.")) << lines[1];
  EXPECT_TRUE(lines[1].ends_with(fmt::format("\",0,{},3,1,0,0,\"uart1\"", port))) << lines[1];
  EXPECT_EQ(lines[2], "OK");
}

TEST(SocketListenerTest, NoFreeIdTurnsTheConnectionAway) {
  SocketSim sim;
  HostPort& p = sim.port();
  const std::uint16_t port = closed_port();
  expect_open(p, fmt::format("AT+QIOPEN=1,11,\"TCP LISTENER\",\"127.0.0.1\",0,{},0", port),
              "\r\n+QIOPEN: 11,0\r\n");
  for (int id = 0; id < 11; ++id)
    expect_open(p, fmt::format("AT+QIOPEN=1,{},\"UDP SERVICE\",\"127.0.0.1\",0,0,0", id),
                fmt::format("\r\n+QIOPEN: {},0\r\n", id));
  asio::io_context io;
  asio::ip::tcp::socket peer(io);
  peer.connect({asio::ip::address_v4::loopback(), port});
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"incoming full\"\r\n"), "\r\n+QIURC: \"incoming full\"\r\n");
  char byte;
  boost::system::error_code ec;
  peer.read_some(asio::buffer(&byte, 1), ec);  // the module closed it
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}

TEST(SocketConfigTest, QicfgReadsBackWhatItSets) {
  SocketSim sim;
  HostPort& p = sim.port();
  EXPECT_EQ(p.command("AT+QICFG=\"transpktsize\"\r"),
            "\r\n+QICFG: \"transpktsize\",1024\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"transpktsize\",512\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"transpktsize\"\r"),
            "\r\n+QICFG: \"transpktsize\",512\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"transpktsize\",1461\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"dataformat\",1,1\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"dataformat\"\r"), "\r\n+QICFG: \"dataformat\",1,1\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"dataformat\",1\r"), "\r\nERROR\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"tcp/keepalive\",1,60,30,5\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"tcp/keepalive\"\r"),
            "\r\n+QICFG: \"tcp/keepalive\",1,60,30,5\r\n\r\nOK\r\n");
  EXPECT_EQ(p.command("AT+QICFG=\"nosuch\"\r"), "\r\nERROR\r\n");
  // Hex both ways: the host types hex, AT+QIRD prints hex.
  EchoServer echo(EchoServer::Kind::Tcp);
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 0,0\r\n");
  expect_send(p, "AT+QISEND=0,3", "41420A");
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",0\r\n"), "\r\n+QIURC: \"recv\",0\r\n");
  EXPECT_EQ(p.command("AT+QIRD=0\r"), "\r\n+QIRD: 3\r\n41420A\r\n\r\nOK\r\n");
}

// A server the test drives by hand: it accepts one connection and reads and writes it.
class HandServer {
 public:
  HandServer() : acceptor_(io_, {asio::ip::address_v4::loopback(), 0}) {}
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void accept() { acceptor_.accept(socket_); }
  void write(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }
  std::string read_exactly(std::size_t n) {
    std::string out(n, '\0');
    asio::read(socket_, asio::buffer(out));
    return out;
  }
  void close() { socket_.close(); }
  std::size_t read_some(asio::mutable_buffer b, boost::system::error_code& ec) {
    return socket_.read_some(b, ec);
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  asio::ip::tcp::socket socket_{io_};
};

TEST(SocketTransparentTest, InAndOutWithEscapeAndAto) {
  HandServer server;
  SocketSim sim({"--guard-time", std::to_string(kGuard.count())});
  HostPort& p = sim.port();
  p.write(fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,2\r\n", server.port()));
  server.accept();
  EXPECT_EQ(p.read_until("CONNECT\r\n"), "\r\nCONNECT\r\n");

  // Both ways in data mode, bytes counted and compared.
  const std::string up = socket_payload(200 * 1024, 5);
  std::size_t echoed_up = 0;
  for (std::size_t at = 0; at < up.size(); at += 4096) {
    const auto chunk = std::string_view(up).substr(at, 4096);
    p.write(chunk);
    EXPECT_TRUE(server.read_exactly(chunk.size()) == chunk);
    echoed_up += chunk.size();
  }
  EXPECT_EQ(echoed_up, up.size());
  const std::string down = socket_payload(200 * 1024, 6);
  server.write(down);
  HostStream s(p);
  EXPECT_TRUE(s.read_exactly(down.size()) == down);

  // "+++" framed by the guard times: OK, and the socket stays.
  EXPECT_FALSE(s.available(kGuard + milliseconds(50)));
  p.write("+++");
  EXPECT_EQ(p.read_until("OK\r\n"), "\r\nOK\r\n");
  // What the far end sends in command mode waits for ATO.
  const std::string meanwhile = socket_payload(50 * 1024, 7);
  server.write(meanwhile);
  EXPECT_EQ(p.command("AT\r"), "\r\nOK\r\n");
  const std::string state = p.command("AT+QISTATE=1,0\r");
  EXPECT_TRUE(state.ends_with(",2,1,0,2,\"uart1\"\r\n\r\nOK\r\n")) << state;
  EXPECT_EQ(p.command("ATO\r"), "\r\nCONNECT\r\n");
  EXPECT_TRUE(s.read_exactly(meanwhile.size()) == meanwhile);
  p.write("after ATO");
  EXPECT_EQ(server.read_exactly(9), "after ATO");

  // The far end closes: NO CARRIER, the socket is "closing" until AT+QICLOSE.
  server.close();
  EXPECT_EQ(p.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n");
  p.write("ATO\r");
  EXPECT_EQ(p.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=0\r"), "\r\nOK\r\n");
}

TEST(SocketTransparentTest, SwitchingModesKeepsTheBytes) {
  HandServer server;
  SocketSim sim({"--guard-time", std::to_string(kGuard.count())});
  HostPort& p = sim.port();
  EXPECT_EQ(p.command(fmt::format("AT+QIOPEN=1,3,\"TCP\",\"127.0.0.1\",{},0,0\r", server.port())),
            "\r\nOK\r\n");
  server.accept();
  EXPECT_EQ(p.read_until("\r\n+QIOPEN: 3,0\r\n"), "\r\n+QIOPEN: 3,0\r\n");
  server.write("buffered");
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"recv\",3\r\n"), "\r\n+QIURC: \"recv\",3\r\n");
  // Into transparent mode: what waited comes out after CONNECT.
  EXPECT_EQ(p.command("AT+QISWTMD=3,2\r"), "\r\nCONNECT\r\n");
  HostStream s(p);
  EXPECT_EQ(s.read_exactly(8), "buffered");
  EXPECT_FALSE(s.available(kGuard + milliseconds(50)));
  p.write("+++");
  EXPECT_EQ(p.read_until("OK\r\n"), "\r\nOK\r\n");
  // Back to push mode: what comes is printed at once.
  EXPECT_EQ(p.command("AT+QISWTMD=3,1\r"), "\r\nOK\r\n");
  server.write("pushed");
  EXPECT_EQ(p.read_until("pushed\r\n"), "\r\n+QIURC: \"recv\",3,6\r\npushed\r\n");
}

TEST(SocketTransparentTest, PdpDeactivationEndsDataModeWithNoCarrier) {
  HandServer server;
  SocketSim sim({"--guard-time", std::to_string(kGuard.count())});
  HostPort& p = sim.port();
  p.write(fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,2\r", server.port()));
  server.accept();
  EXPECT_EQ(p.read_until("CONNECT\r\n"), "\r\nCONNECT\r\n");
  const auto [status, out] = run_bg95ctl(sim.control(), "net pdpdeact 1");
  ASSERT_EQ(status, 0) << out;
  // Data mode ends first; the URC waits for command mode.
  EXPECT_EQ(p.read_until("\r\n+QIURC: \"pdpdeact\",1\r\n"),
            "\r\nNO CARRIER\r\n\r\n+QIURC: \"pdpdeact\",1\r\n");
  EXPECT_TRUE(p.command("AT+QISTATE=1,0\r").ends_with(",4,1,0,2,\"uart1\"\r\n\r\nOK\r\n"));
  EXPECT_EQ(p.command("AT+QICLOSE=0\r"), "\r\nOK\r\n");
}

TEST(SocketTransparentTest, DtrLeavesUnderAtD1AndHangsUpUnderAtD2) {
  HandServer server;
  SocketSim sim;
  HostPort& p = sim.port();
  p.write(fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,2\r", server.port()));
  server.accept();
  EXPECT_EQ(p.read_until("CONNECT\r\n"), "\r\nCONNECT\r\n");
  // AT&D1 (the default): DTR off leaves data mode with OK; the socket stays.
  ASSERT_EQ(run_bg95ctl(sim.control(), "dtr low").first, 0);
  EXPECT_EQ(p.read_until("OK\r\n"), "\r\nOK\r\n");
  ASSERT_EQ(run_bg95ctl(sim.control(), "dtr high").first, 0);
  EXPECT_EQ(p.command("AT&D2\r"), "\r\nOK\r\n");
  EXPECT_EQ(p.command("ATO\r"), "\r\nCONNECT\r\n");
  p.write("still here");
  EXPECT_EQ(server.read_exactly(10), "still here");
  // AT&D2: DTR off hangs up, NO CARRIER, and the connection is gone.
  ASSERT_EQ(run_bg95ctl(sim.control(), "dtr low").first, 0);
  EXPECT_EQ(p.read_until("NO CARRIER\r\n"), "\r\nNO CARRIER\r\n");
  char byte;
  boost::system::error_code ec;
  server.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(p.command("AT+QISTATE?\r"), "\r\nOK\r\n");
}

// The network's data faults from the control socket (sim/faults.cpp rows, Module::link()), as
// the TCP/IP note's codes: a refused connection 566, a timed-out one 569, a DNS failure 565;
// a lost datagram is gone and the next one comes through once the loss is over.
TEST(SocketLinkFaultTest, RefusedTimeoutDnsAndLossComeFromTheLink) {
  EchoServer echo(EchoServer::Kind::Tcp);
  EchoServer udp_echo(EchoServer::Kind::Udp);
  SocketSim sim;
  HostPort& p = sim.port();
  auto ctl = [&](const char* command) {
    const auto [status, out] = run_bg95ctl(sim.control(), command);
    ASSERT_EQ(status, 0) << command << ": " << out;
  };
  const std::string open_tcp =
      fmt::format("AT+QIOPEN=1,0,\"TCP\",\"127.0.0.1\",{},0,0", echo.port());
  ctl("net connect refuse");
  expect_open(p, open_tcp, "\r\n+QIOPEN: 0,566\r\n");
  ctl("net connect timeout");
  expect_open(p, open_tcp, "\r\n+QIOPEN: 0,569\r\n");
  ctl("net connect ok");
  ctl("net dns fail");
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"localhost\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 0,565\r\n");
  ctl("net dns ok");
  expect_open(p, fmt::format("AT+QIOPEN=1,0,\"TCP\",\"localhost\",{},0,0", echo.port()),
              "\r\n+QIOPEN: 0,0\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=0\r"), "\r\nOK\r\n");

  expect_open(p, fmt::format("AT+QIOPEN=1,1,\"UDP\",\"127.0.0.1\",{},0,1", udp_echo.port()),
              "\r\n+QIOPEN: 1,0\r\n");
  ctl("net loss 100");
  expect_send(p, "AT+QISEND=1,4", "lost");
  EXPECT_EQ(p.command("AT+QISEND=1,0\r"), "\r\n+QISEND: 4,4,0\r\n\r\nOK\r\n");
  ctl("net loss 0");
  expect_send(p, "AT+QISEND=1,4", "kept");
  // Push mode: the one echo that comes is the second datagram's.
  EXPECT_EQ(p.read_until("kept\r\n"), "\r\n+QIURC: \"recv\",1,4\r\nkept\r\n");
  EXPECT_EQ(p.command("AT+QICLOSE=1\r"), "\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::test
