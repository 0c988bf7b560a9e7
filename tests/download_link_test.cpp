// The radio link between a downloader and the package area, in-process: bytes pass untouched,
// a stall holds them and ends the download with 704 when it lasts, a throttle paces them,
// corruption flips exactly the bytes it was told to, and the end waits for held bytes.

#include <gtest/gtest.h>

#include <chrono>

#include <boost/asio/io_context.hpp>

#include "protocol/net/download_error.hpp"
#include "sim/dfota/download_link.hpp"

namespace bg95::dfota {
namespace {

using namespace std::chrono_literals;

class DownloadLinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<DownloadLink> make(std::chrono::milliseconds idle = 10s) {
    return std::make_unique<DownloadLink>(
        io.get_executor(), conditions, idle,
        DownloadLink::Sink{[this](std::span<const std::uint8_t> b) {
                             if (refuse) return false;
                             written.insert(written.end(), b.begin(), b.end());
                             ++writes;
                             return true;
                           },
                           [this](int err) { ended = err; }});
  }
  static std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t first = 0) {
    std::vector<std::uint8_t> v(n);
    for (std::size_t i = 0; i < n; ++i)
      v[i] = static_cast<std::uint8_t>(first + i);
    return v;
  }

  boost::asio::io_context io;
  LinkConditions conditions;
  std::vector<std::uint8_t> written;
  int writes = 0;
  bool refuse = false;
  std::optional<int> ended;
};

TEST_F(DownloadLinkTest, CleanLinkPassesBytesAtOnce) {
  auto link = make();
  EXPECT_TRUE(link->chunk(bytes(10)));
  EXPECT_EQ(written, bytes(10));
  link->done(0);
  EXPECT_EQ(ended, 0);
}

TEST_F(DownloadLinkTest, RefusedWriteIsReported) {
  auto link = make();
  refuse = true;
  EXPECT_FALSE(link->chunk(bytes(10)));
}

TEST_F(DownloadLinkTest, StallHoldsBytesAndReleaseDeliversThemInOrder) {
  auto link = make();
  conditions.stalled = true;
  link->conditions_changed();
  EXPECT_TRUE(link->chunk(bytes(4, 0)));
  EXPECT_TRUE(link->chunk(bytes(4, 4)));
  link->done(0);
  EXPECT_TRUE(written.empty());
  EXPECT_FALSE(ended);
  EXPECT_EQ(link->held_bytes(), 8u);
  conditions.stalled = false;
  link->conditions_changed();
  EXPECT_EQ(written, bytes(8));
  EXPECT_EQ(ended, 0);  // the end came after the held bytes
}

TEST_F(DownloadLinkTest, StallAsLongAsTheTimeoutEndsWith704) {
  conditions.no_service = true;  // registration lost before the first byte
  auto link = make(30ms);
  EXPECT_TRUE(link->chunk(bytes(4)));
  io.run_for(2s);
  EXPECT_EQ(ended, net::download_err::kTimeout);
  EXPECT_TRUE(written.empty());
}

TEST_F(DownloadLinkTest, FailureEndsAtOnceDroppingHeldBytes) {
  auto link = make();
  conditions.stalled = true;
  EXPECT_TRUE(link->chunk(bytes(4)));
  link->done(net::download_err::kUnknown);
  EXPECT_EQ(ended, net::download_err::kUnknown);
  EXPECT_TRUE(written.empty());
}

TEST_F(DownloadLinkTest, ThrottlePacesHeldBytes) {
  conditions.throttle_bps = 1000;  // 100 bytes take 0.1 s
  auto link = make();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(link->chunk(bytes(100, static_cast<std::uint8_t>(100 * i))));
  link->done(0);
  EXPECT_EQ(writes, 1);  // the first crosses at once, the others wait their turn
  io.run_for(5s);
  EXPECT_EQ(written, bytes(300));
  EXPECT_EQ(ended, 0);
  // Two gaps of 0.1 s between the three chunks, and one after the last before the end.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
}

TEST_F(DownloadLinkTest, CorruptionFlipsExactlyTheNextBytes) {
  conditions.corrupt_next = 3;
  auto link = make();
  EXPECT_TRUE(link->chunk(bytes(2, 0x10)));
  EXPECT_TRUE(link->chunk(bytes(2, 0x20)));
  EXPECT_EQ(written, (std::vector<std::uint8_t>{0xEF, 0xEE, 0xDF, 0x21}));
  EXPECT_EQ(conditions.corrupt_next, 0u);
}

TEST_F(DownloadLinkTest, WriteRefusedWhileReleasingEndsWith707) {
  auto link = make();
  conditions.stalled = true;
  EXPECT_TRUE(link->chunk(bytes(4)));
  refuse = true;
  conditions.stalled = false;
  link->conditions_changed();
  EXPECT_EQ(ended, net::download_err::kWriteFailed);
}

}  // namespace
}  // namespace bg95::dfota
