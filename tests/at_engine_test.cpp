// The AT engine in-process: echo, chains, errors, deferred answers, URC ordering, data mode.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/at/engine.hpp"
#include "protocol/at/result_codes.hpp"

namespace bg95::at {
namespace {

// Collects what the engine writes, one entry per write.
struct Port {
  std::vector<std::string> writes;
  std::string all() const {
    std::string s;
    for (auto& w : writes)
      s += w;
    return s;
  }
};

class UploadSession : public DataSession {
 public:
  explicit UploadSession(std::size_t want) : want_(want) {}
  std::size_t on_data(std::string_view bytes) override {
    const std::size_t take = std::min(bytes.size(), want_ - data.size());
    data.append(bytes.substr(0, take));
    return take;
  }
  bool complete() const override { return data.size() == want_; }
  double idle_timeout_seconds() const override { return timeout; }
  Reply finish(DataEnd why) override {
    end = why;
    return Reply{{"+UP: " + std::to_string(data.size())}, Outcome::ok(), nullptr};
  }
  std::string data;
  std::optional<DataEnd> end;
  double timeout = 0;

 private:
  std::size_t want_;
};

class EngineTest : public ::testing::Test {
 protected:
  EngineTest()
      : engine(io.get_executor(), table, profile,
               [this](std::string b) { port.writes.push_back(std::move(b)); }) {
    table.add({"+CSQ", Form::Execute, {}, [](Call& c) { c.line("+CSQ: 26,99"), c.ok(); }});
    table.add({"+FAIL", Form::Execute, {}, [](Call& c) { c.cme(4); }});
    table.add({"E",
               Form::Write,
               {integer(0, 1)},
               [this](Call& c) {
                 profile.echo = c.args().integer(0) == 1;
                 c.ok();
               },
               Outcome::error()});
    table.add({"+SLOW", Form::Execute, {}, [this](Call& c) { completer = c.defer(); }});
    table.add({"+UP", Form::Write, {integer(1, 100)}, [this](Call& c) {
                 session =
                     std::make_shared<UploadSession>(static_cast<std::size_t>(c.args().integer(0)));
                 session->timeout = upload_timeout;
                 c.connect(session);
               }});
  }
  void drain() {
    io.restart();
    io.poll();
  }

  boost::asio::io_context io;
  CommandTable table;
  DteProfile profile;
  Port port;
  AtEngine engine;
  Completer completer;
  std::shared_ptr<UploadSession> session;
  double upload_timeout = 0;
};

TEST_F(EngineTest, EchoAndAnswerInOneWrite) {
  engine.receive("AT+CSQ\r");
  ASSERT_EQ(port.writes.size(), 1u);
  EXPECT_EQ(port.writes[0], "AT+CSQ\r\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, LfAfterCrIsNotEchoed) {
  engine.receive("AT\r\n");
  EXPECT_EQ(port.all(), "AT\r\r\nOK\r\n");
}

TEST_F(EngineTest, ChainStopsAtFirstError) {
  profile.echo = false;
  engine.receive("AT+CSQ;+FAIL;+CSQ\r");
  EXPECT_EQ(port.all(), "\r\n+CSQ: 26,99\r\n\r\n+CME ERROR: 4\r\n");
}

TEST_F(EngineTest, UnknownCommandAndWrongForm) {
  profile.echo = false;
  engine.receive("AT+NOPE\r");
  engine.receive("AT+CSQ?\r");
  engine.receive("ATE5\r");
  ASSERT_EQ(port.writes.size(), 3u);
  EXPECT_EQ(port.writes[0], "\r\nERROR\r\n");
  EXPECT_EQ(port.writes[1], "\r\n+CME ERROR: 3\r\n");
  EXPECT_EQ(port.writes[2], "\r\nERROR\r\n");
}

TEST_F(EngineTest, UrcWaitsForDeferredAnswerAndGetsItsOwnWrite) {
  profile.echo = false;
  engine.receive("AT+SLOW;+CSQ\r");
  EXPECT_TRUE(port.writes.empty());
  engine.emit_urc("+QIND: \"FOTA\",\"HTTPSTART\"");
  EXPECT_TRUE(port.writes.empty());
  completer(Reply{{"+SLOW: 1"}, Outcome::ok(), nullptr});
  ASSERT_EQ(port.writes.size(), 2u);
  EXPECT_EQ(port.writes[0], "\r\n+SLOW: 1\r\n\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  EXPECT_EQ(port.writes[1], "\r\n+QIND: \"FOTA\",\"HTTPSTART\"\r\n");
}

TEST_F(EngineTest, InputDuringDeferredCommandRunsAfterIt) {
  profile.echo = false;
  engine.receive("AT+SLOW\r");
  engine.receive("AT+CSQ\r");
  completer(Reply{{}, Outcome::ok(), nullptr});
  drain();
  EXPECT_EQ(port.all(), "\r\nOK\r\n\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, TypeAheadDuringADeferredCommandIsBounded) {
  profile.echo = false;
  engine.receive("AT+SLOW\r");
  // 100 MB of commands typed ahead: the first 64 KiB are kept and run afterwards (9362 whole
  // lines of 7 bytes and the "AT" of another), the rest is lost instead of held in memory.
  std::string lines;
  while (lines.size() < 1024 * 1024)
    lines += "AT+CSQ\r";
  for (int i = 0; i < 100; ++i)
    engine.receive(lines);
  completer(Reply{{}, Outcome::ok(), nullptr});
  drain();
  std::string expected = "\r\nOK\r\n";
  for (std::size_t i = 0; i < AtEngine::kMaxTypeAhead / 7; ++i)
    expected += "\r\n+CSQ: 26,99\r\n\r\nOK\r\n";
  EXPECT_EQ(port.all(), expected);
  port.writes.clear();
  engine.receive("\rAT+CSQ\r");  // the kept "AT" ends, and the port works as before
  EXPECT_EQ(port.all(), "\r\nOK\r\n\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, RepeatLastLine) {
  profile.echo = false;
  engine.receive("AT+CSQ\r");
  engine.receive("A/");
  EXPECT_EQ(port.writes.size(), 2u);
  EXPECT_EQ(port.writes[1], "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, ResetDropsStaleDeferredAnswer) {
  profile.echo = false;
  engine.receive("AT+SLOW\r");
  engine.reset();
  completer(Reply{{"late"}, Outcome::ok(), nullptr});
  EXPECT_TRUE(port.writes.empty());
}

TEST_F(EngineTest, DataModeCompletesBySizeAndDropsPadding) {
  profile.echo = false;
  engine.receive("AT+UP=5\r");
  ASSERT_EQ(port.all(), "\r\nCONNECT\r\n");
  ASSERT_TRUE(engine.in_data_mode());
  engine.receive(std::string("AT\r\0+", 5) + "\xFF\xFF\xFF");
  EXPECT_FALSE(engine.in_data_mode());
  EXPECT_EQ(session->data, std::string("AT\r\0+", 5));
  EXPECT_EQ(session->end, DataEnd::Complete);
  EXPECT_EQ(port.writes.back(), "\r\n+UP: 5\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, BytesBehindTheCommandInTheSameReadAreData) {
  profile.echo = false;
  engine.receive("AT+UP=3\rabc");
  EXPECT_FALSE(engine.in_data_mode());
  EXPECT_EQ(session->data, "abc");
}

// A real module answers CONNECT a moment after the line's end: the LF of a CR LF that comes
// in before it (in the same read or in the next) ends the line and is never data; other early
// bytes are data. (fwupd's AT+QFUPL="x",4,5\r\n + "ABCD" stored "\nABC" before.)
TEST_F(EngineTest, TheLfOfCrLfBeforeConnectIsNotData) {
  profile.echo = false;
  engine.set_connect_latency(std::chrono::milliseconds(5));
  engine.receive("AT+UP=4\r\n");
  EXPECT_TRUE(port.writes.empty());  // CONNECT not yet
  while (!engine.in_data_mode() || port.writes.empty())
    io.run_one();
  ASSERT_EQ(port.all(), "\r\nCONNECT\r\n");
  engine.receive("ABCD");
  EXPECT_EQ(session->data, "ABCD");
  EXPECT_EQ(session->end, DataEnd::Complete);
}

TEST_F(EngineTest, TheLfInALaterReadAndEarlyDataBeforeConnect) {
  profile.echo = false;
  engine.set_connect_latency(std::chrono::milliseconds(5));
  engine.receive("AT+UP=4\r");
  engine.receive("\nAB");  // the host did not wait for CONNECT
  while (port.writes.empty())
    io.run_one();
  EXPECT_EQ(port.writes[0], "\r\nCONNECT\r\n");
  EXPECT_EQ(session->data, "AB");
  engine.receive("\nD");  // after CONNECT an LF is data like any byte
  EXPECT_EQ(session->data, "AB\nD");
}

TEST_F(EngineTest, PlusesWithoutGuardTimeAreData) {
  profile.echo = false;
  engine.set_guard_time(std::chrono::milliseconds(200));
  engine.receive("AT+UP=10\r");
  engine.receive("ab+++cd");
  EXPECT_TRUE(engine.in_data_mode());
  EXPECT_EQ(session->data, "ab+++cd");
}

TEST_F(EngineTest, EscapeWithGuardTimesKeepsData) {
  profile.echo = false;
  engine.set_guard_time(std::chrono::milliseconds(50));
  engine.receive("AT+UP=10\r");
  engine.receive("abc");
  // Wait out the guard time before the escape by letting a timer of our own expire.
  boost::asio::steady_timer quiet(io, std::chrono::milliseconds(60));
  quiet.wait();
  engine.receive("+++");
  EXPECT_TRUE(engine.in_data_mode());
  while (engine.in_data_mode())
    io.run_one();  // the escape timer ends data mode
  EXPECT_EQ(session->data, "abc");
  EXPECT_EQ(session->end, DataEnd::Escape);
  EXPECT_EQ(port.writes.back(), "\r\n+UP: 3\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, ByteAfterPlusesCancelsEscape) {
  profile.echo = false;
  engine.set_guard_time(std::chrono::milliseconds(50));
  engine.receive("AT+UP=10\r");
  boost::asio::steady_timer quiet(io, std::chrono::milliseconds(60));
  quiet.wait();
  engine.receive("+++");
  engine.receive("x");
  EXPECT_TRUE(engine.in_data_mode());
  EXPECT_EQ(session->data, "+++x");
}

// With a clock of the test's own, the guard times are decided by the time it says, not by
// how long the test took: the same bytes are data or an escape as the clock is stepped.
TEST_F(EngineTest, InjectedClockDecidesTheGuardTimes) {
  profile.echo = false;
  engine.set_guard_time(std::chrono::milliseconds(50));
  AtEngine::Clock::time_point now{};
  engine.set_clock([&now] { return now; });
  engine.receive("AT+UP=10\r");
  engine.receive("ab");
  now += std::chrono::milliseconds(49);  // one millisecond short of the guard time
  engine.receive("+++");
  now += std::chrono::milliseconds(100);
  engine.receive("c");
  EXPECT_EQ(session->data, "ab+++c");
  now += std::chrono::milliseconds(50);  // exactly the guard time: an escape may start
  engine.receive("+");
  now += std::chrono::milliseconds(51);  // the next plus too late: the held one is data
  engine.receive("++");
  EXPECT_EQ(session->data, "ab+++c+++");
  now += std::chrono::milliseconds(50);
  engine.receive("++");
  now += std::chrono::milliseconds(50);  // the third within the guard time of the first
  engine.receive("+");
  EXPECT_TRUE(engine.in_data_mode());
  while (engine.in_data_mode())
    io.run_one();  // the escape timer (on the executor) ends data mode
  EXPECT_EQ(session->data, "ab+++c+++");
  EXPECT_EQ(session->end, DataEnd::Escape);
  EXPECT_EQ(port.writes.back(), "\r\n+UP: 9\r\n\r\nOK\r\n");
}

TEST_F(EngineTest, IdleTimeoutEndsDataMode) {
  profile.echo = false;
  upload_timeout = 0.05;
  engine.receive("AT+UP=10\r");
  engine.receive("ab");
  while (engine.in_data_mode())
    io.run_one();
  EXPECT_EQ(session->end, DataEnd::Timeout);
  EXPECT_EQ(session->data, "ab");
}

TEST_F(EngineTest, UrcDuringDataModeComesAfterTheAnswer) {
  profile.echo = false;
  engine.receive("AT+UP=2\r");
  engine.emit_urc("+X");
  engine.receive("ab");
  ASSERT_GE(port.writes.size(), 3u);
  EXPECT_EQ(port.writes[port.writes.size() - 2], "\r\n+UP: 2\r\n\r\nOK\r\n");
  EXPECT_EQ(port.writes.back(), "\r\n+X\r\n");
}

// ---- scenario hooks: the command as text, interceptions, URC coalescing

TEST_F(EngineTest, EachCommandOfAChainIsReportedWithAT) {
  std::vector<std::string> seen;
  engine.set_observer({.on_command_line = {},
                       .on_command = [&](std::string_view c) { seen.emplace_back(c); },
                       .intercept = {}});
  engine.receive("at+csq;+fail\r");
  engine.receive("ATE0\r");
  EXPECT_EQ(seen, (std::vector<std::string>{"AT+CSQ", "AT+FAIL", "ATE0"}));
}

TEST_F(EngineTest, InterceptedReplyIsFramedAndTheHandlerDoesNotRun) {
  profile.echo = false;
  engine.set_observer({.on_command_line = {},
                       .on_command = {},
                       .intercept = [](std::string_view c) -> std::optional<Interception> {
                         if (c != "AT+CSQ") return std::nullopt;
                         return Interception{.delay = {},
                                             .reply = Reply{{"+CSQ: 99,99"}, Outcome::ok(), {}},
                                             .raw = {}};
                       }});
  engine.receive("AT+CSQ;+CSQ\r");
  EXPECT_EQ(port.all(), "\r\n+CSQ: 99,99\r\n\r\n+CSQ: 99,99\r\n\r\nOK\r\n");
  port.writes.clear();
  profile.cmee = CmeMode::Disabled;
  engine.set_observer({.on_command_line = {},
                       .on_command = {},
                       .intercept = [](std::string_view) -> std::optional<Interception> {
                         return Interception{.delay = {},
                                             .reply = Reply{{}, Outcome::cme_error(591), {}},
                                             .raw = {}};
                       }});
  engine.receive("AT+CSQ\r");
  EXPECT_EQ(port.all(), "\r\nERROR\r\n");  // CMEE=0 frames it as the module would
}

TEST_F(EngineTest, InterceptedRawBytesEndTheLine) {
  profile.echo = false;
  engine.set_observer({.on_command_line = {},
                       .on_command = {},
                       .intercept = [](std::string_view c) -> std::optional<Interception> {
                         if (c != "AT+FAIL") return std::nullopt;
                         return Interception{.delay = {}, .reply = {}, .raw = "garbage\r\n"};
                       }});
  engine.receive("AT+CSQ;+FAIL;+CSQ\r");
  ASSERT_EQ(port.writes.size(), 1u);
  EXPECT_EQ(port.writes[0], "\r\n+CSQ: 26,99\r\ngarbage\r\n");
}

TEST_F(EngineTest, DelayedCommandRunsLaterAndHoldsTheLine) {
  profile.echo = false;
  int asked = 0;
  engine.set_observer({.on_command_line = {},
                       .on_command = {},
                       .intercept = [&](std::string_view c) -> std::optional<Interception> {
                         ++asked;
                         if (c != "AT+CSQ") return std::nullopt;
                         return Interception{
                             .delay = std::chrono::milliseconds(20), .reply = {}, .raw = {}};
                       }});
  engine.receive("AT+FAIL;+CSQ\r");  // +FAIL ends the line before +CSQ is reached
  EXPECT_EQ(port.all(), "\r\n+CME ERROR: 4\r\n");
  port.writes.clear();
  engine.receive("AT+CSQ\r");
  engine.emit_urc("+X");
  engine.receive("AT\r");  // typed ahead: waits for the delayed command
  EXPECT_TRUE(port.writes.empty());
  while (port.writes.size() < 3)
    io.run_one();
  EXPECT_EQ(port.writes[0], "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  EXPECT_EQ(port.writes[1], "\r\n+X\r\n");
  EXPECT_EQ(port.writes[2], "\r\nOK\r\n");
  EXPECT_EQ(asked, 2);  // once per command: not again when the delay is over
}

TEST_F(EngineTest, CoalescedUrcsOfOneMomentShareAWrite) {
  profile.echo = false;
  engine.set_coalesce_urcs(true);
  engine.emit_urc("+A");
  engine.emit_urc("+B");
  EXPECT_TRUE(port.writes.empty());
  drain();
  ASSERT_EQ(port.writes.size(), 1u);
  EXPECT_EQ(port.writes[0], "\r\n+A\r\n\r\n+B\r\n");
  engine.emit_urc("+C");
  drain();
  ASSERT_EQ(port.writes.size(), 2u);
  EXPECT_EQ(port.writes[1], "\r\n+C\r\n");
}

// A session after a "> " prompt, as AT+QISEND will use it: a fixed length, or the typed text
// up to Ctrl-Z (sent) or ESC (not sent); its final result is "SEND OK" with no OK after it.
class SendSession : public DataSession {
 public:
  explicit SendSession(std::size_t length) : length_(length) {}
  std::size_t on_data(std::string_view bytes) override {
    std::size_t i = 0;
    for (; i < bytes.size() && !done_; ++i) {
      const char c = bytes[i];
      if (length_ == 0 && (c == '\x1A' || c == '\x1B')) {
        done_ = true;
        cancelled = c == '\x1B';
        break;
      }
      data.push_back(c);
      done_ = length_ != 0 && data.size() == length_;
    }
    return i;
  }
  bool complete() const override { return done_; }
  double idle_timeout_seconds() const override { return 0; }
  Reply finish(DataEnd why) override {
    end = why;
    if (cancelled) return Reply{{}, Outcome::ok(), nullptr};
    return Reply{{"SEND OK"}, {Outcome::Kind::Final, 0}, nullptr};
  }
  bool echoes_input() const override { return length_ == 0; }
  std::string data;
  bool cancelled = false;
  std::optional<DataEnd> end;

 private:
  std::size_t length_;
  bool done_ = false;
};

// A transparent link: what the far end sends goes to the host while data mode lasts.
class LinkSession : public DataSession {
 public:
  std::size_t on_data(std::string_view bytes) override {
    sent.append(bytes);
    return bytes.size();
  }
  bool complete() const override { return false; }
  double idle_timeout_seconds() const override { return 0; }
  Reply finish(DataEnd why) override {
    end = why;
    if (why == DataEnd::Closed) return Reply{{}, {Outcome::Kind::NoCarrier, 0}, nullptr};
    return Reply{{}, Outcome::ok(), nullptr};
  }
  void attach(DataLink l) override { link = std::move(l); }
  std::string sent;
  DataLink link;
  std::optional<DataEnd> end;
};

class PromptTest : public EngineTest {
 protected:
  PromptTest() {
    table.add({"+SEND", Form::Write, {integer(0, 100)}, [this](Call& c) {
                 send =
                     std::make_shared<SendSession>(static_cast<std::size_t>(c.args().integer(0)));
                 c.prompt(send);
               }});
    table.add({"+LINK", Form::Execute, {}, [this](Call& c) {
                 link = std::make_shared<LinkSession>();
                 c.connect(link);
               }});
  }
  std::shared_ptr<SendSession> send;
  std::shared_ptr<LinkSession> link;
};

TEST_F(PromptTest, AFixedLengthAfterThePromptEndsWithSendOk) {
  engine.set_guard_time(std::chrono::milliseconds(0));  // "+++" would be an escape in data mode
  engine.receive("AT+SEND=5\r\n");
  ASSERT_EQ(port.all(), "AT+SEND=5\r\r\n> ");
  EXPECT_TRUE(engine.in_data_mode());
  engine.receive("a+++b");  // the LF of CR LF came with the line and is not data
  EXPECT_FALSE(engine.in_data_mode());
  EXPECT_EQ(send->data, "a+++b");
  EXPECT_EQ(send->end, DataEnd::Complete);
  EXPECT_EQ(port.writes.back(), "\r\nSEND OK\r\n");
  engine.receive("AT+CSQ\r");  // command mode again
  EXPECT_EQ(port.writes.back(), "AT+CSQ\r\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
}

TEST_F(PromptTest, TypedTextIsEchoedUpToCtrlZAndEscCancels) {
  engine.receive("AT+SEND=0\r");
  engine.receive("hi\x1A");
  EXPECT_EQ(port.all(), "AT+SEND=0\r\r\n> hi\x1A\r\nSEND OK\r\n");
  EXPECT_EQ(send->data, "hi");
  port.writes.clear();
  profile.echo = false;
  engine.receive("AT+SEND=0\r");
  engine.receive("no\x1B");
  EXPECT_EQ(port.all(), "\r\n> \r\nOK\r\n");
  EXPECT_TRUE(send->cancelled);
}

TEST_F(PromptTest, UrcsWaitForThePromptToEnd) {
  profile.echo = false;
  engine.receive("AT+SEND=2\r");
  engine.emit_urc("+QIURC: \"recv\",0");
  ASSERT_EQ(port.all(), "\r\n> ");
  engine.receive("xy");
  ASSERT_EQ(port.writes.size(), 3u);
  EXPECT_EQ(port.writes[1], "\r\nSEND OK\r\n");
  EXPECT_EQ(port.writes[2], "\r\n+QIURC: \"recv\",0\r\n");
}

TEST_F(PromptTest, APromptWaitsForTheConnectLatencyAndDropsTheLf) {
  profile.echo = false;
  engine.set_connect_latency(std::chrono::milliseconds(5));
  engine.receive("AT+SEND=3\r");
  engine.receive("\nab");  // the host did not wait for "> "
  EXPECT_TRUE(port.writes.empty());
  while (port.writes.empty())
    io.run_one();
  EXPECT_EQ(port.writes[0], "\r\n> ");
  EXPECT_EQ(send->data, "ab");
  engine.receive("c");
  EXPECT_EQ(port.writes.back(), "\r\nSEND OK\r\n");
}

TEST_F(PromptTest, ATransparentSessionWritesToTheHostOnlyWhileDataModeLasts) {
  profile.echo = false;
  engine.receive("AT+LINK\r");
  ASSERT_EQ(port.all(), "\r\nCONNECT\r\n");
  link->link.to_host("from the far end");
  EXPECT_EQ(port.writes.back(), "from the far end");
  engine.receive("to the far end");
  EXPECT_EQ(link->sent, "to the far end");
  auto old = link->link;
  old.end(DataEnd::Closed);  // the far end closed
  EXPECT_FALSE(engine.in_data_mode());
  EXPECT_EQ(link->end, DataEnd::Closed);
  EXPECT_EQ(port.writes.back(), "\r\nNO CARRIER\r\n");
  const auto writes = port.writes.size();
  old.to_host("late");  // data mode is over: nothing goes out
  old.end(DataEnd::Closed);
  EXPECT_EQ(port.writes.size(), writes);
}

TEST_F(PromptTest, ATransparentSessionsLinkDiesWithAReset) {
  profile.echo = false;
  engine.receive("AT+LINK\r");
  auto old = link->link;
  engine.reset();
  EXPECT_EQ(link->end, DataEnd::Reset);
  const auto writes = port.writes.size();
  old.to_host("late");
  EXPECT_EQ(port.writes.size(), writes);
}

}  // namespace
}  // namespace bg95::at

namespace bg95::at {
namespace {

// A stand-in multiplexer: records what the port's engine hands it in Cmux mode.
struct MuxSession : DataSession {
  std::string data;
  std::vector<std::string> urcs;
  std::optional<DataEnd> end;
  DataLink link;
  std::size_t on_data(std::string_view bytes) override {
    data += bytes;
    return bytes.size();
  }
  bool complete() const override { return false; }
  double idle_timeout_seconds() const override { return 0; }
  Reply finish(DataEnd why) override {
    end = why;
    return {{"never written"}, Outcome::ok(), nullptr};
  }
  void attach(DataLink l) override { link = std::move(l); }
  bool on_urc(std::string_view text) override {
    urcs.emplace_back(text);
    return true;
  }
};

class CmuxModeTest : public EngineTest {
 protected:
  CmuxModeTest() {
    table.add({"+MUX", Form::Execute, {}, [this](Call& c) {
                 mux = std::make_shared<MuxSession>();
                 c.multiplex(mux);
               }});
  }
  std::shared_ptr<MuxSession> mux;
};

TEST_F(CmuxModeTest, OkInPlainAtThenEveryByteGoesToTheMultiplexer) {
  profile.echo = false;
  engine.receive("AT+MUX\r\n\xF9\x03+++AT\r");
  ASSERT_EQ(port.writes.size(), 1u);
  EXPECT_EQ(port.writes[0], "\r\nOK\r\n");
  EXPECT_TRUE(engine.multiplexing());
  EXPECT_FALSE(engine.in_data_mode());
  EXPECT_EQ(mux->data, "\xF9\x03+++AT\r");  // the rest of the read, but the line's LF
  mux->data.clear();
  engine.receive("\xF9\x03\x3F\x01\x1C\xF9+++ATI\r");  // no escape, no command line, no echo
  EXPECT_EQ(mux->data, "\xF9\x03\x3F\x01\x1C\xF9+++ATI\r");
  EXPECT_EQ(port.writes.size(), 1u);
  mux->link.to_host("\xF9\x03\x73\x01\xD7\xF9");
  EXPECT_EQ(port.writes.back(), "\xF9\x03\x73\x01\xD7\xF9");
  engine.emit_urc("+CEREG: 1");  // the multiplexer carries it, the port does not
  EXPECT_EQ(mux->urcs, std::vector<std::string>{"+CEREG: 1"});
  EXPECT_EQ(port.writes.size(), 2u);
}

TEST_F(CmuxModeTest, TheRestOfTheReadAfterTheLineIsTheMultiplexersButTheLf) {
  profile.echo = false;
  engine.receive("AT+MUX\r\nAT\r");
  EXPECT_EQ(port.writes, std::vector<std::string>{"\r\nOK\r\n"});
  EXPECT_EQ(mux->data, "AT\r");
}

TEST_F(CmuxModeTest, TheOkWaitsForTheProcessingTimeAndEarlyFramesReachTheMultiplexer) {
  profile.echo = false;
  engine.set_processing_time([](std::string_view) { return std::chrono::milliseconds(5); });
  engine.receive("AT+MUX\r");
  engine.receive("\xF9\x03");  // the host did not wait for the OK
  EXPECT_TRUE(port.writes.empty());
  while (port.writes.empty())
    io.run_one();
  EXPECT_EQ(port.writes[0], "\r\nOK\r\n");
  EXPECT_TRUE(engine.multiplexing());
  EXPECT_EQ(mux->data, "\xF9\x03");
}

TEST_F(CmuxModeTest, ClosingReturnsToPlainAtWithoutAResultAndHeldUrcsGoOut) {
  profile.echo = false;
  engine.receive("AT+MUX\r");
  auto link = mux->link;
  link.end(DataEnd::Closed);
  EXPECT_FALSE(engine.multiplexing());
  EXPECT_EQ(mux->end, DataEnd::Closed);
  EXPECT_EQ(port.writes, std::vector<std::string>{"\r\nOK\r\n"});
  engine.receive("AT+CSQ\r");
  EXPECT_EQ(port.writes.back(), "\r\n+CSQ: 26,99\r\n\r\nOK\r\n");
  const auto writes = port.writes.size();
  link.to_host("late");  // the multiplexer is over: nothing goes out
  EXPECT_EQ(port.writes.size(), writes);
}

TEST_F(CmuxModeTest, AResetEndsTheMultiplexer) {
  profile.echo = false;
  engine.receive("AT+MUX\r");
  engine.reset();
  EXPECT_EQ(mux->end, DataEnd::Reset);
  EXPECT_FALSE(engine.multiplexing());
  engine.receive("AT\r");
  EXPECT_EQ(port.writes.back(), "\r\nOK\r\n");
}

}  // namespace
}  // namespace bg95::at
