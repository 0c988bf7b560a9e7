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

}  // namespace
}  // namespace bg95::at
