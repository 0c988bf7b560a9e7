#pragma once
// Turns the host's bytes into command lines the V.250 way: a line starts at "AT" (any case),
// ends at S3, S5 erases the last character, and "A/" repeats the previous line at once.

#include <cstdint>
#include <optional>
#include <string>

namespace bg95::at {

class LineAssembler {
 public:
  static constexpr std::size_t kMaxLine = 4096;  // room for a 700-byte URL and more

  struct Event {
    enum class Kind { Line, Repeat, Overflow };
    Kind kind;
    std::string body;  // the text after "AT" for Line
  };

  // Feeds one byte; returns an event when a line is complete.
  std::optional<Event> feed(char c, std::uint8_t s3, std::uint8_t s5);
  // True when the byte just fed was an S4 (LF) right after a line ended: not echoed.
  bool swallowed_lf() const { return swallowed_lf_; }
  bool in_line() const { return state_ != State::WaitA; }
  void reset();

 private:
  enum class State { WaitA, WaitT, InLine };
  State state_ = State::WaitA;
  std::string buffer_;
  bool overflow_ = false;
  bool just_ended_ = false;
  bool swallowed_lf_ = false;
};

}  // namespace bg95::at
