#pragma once
// What one command answers: its information lines and its final result.

#include <memory>
#include <string>
#include <vector>

namespace bg95::at {

class DataSession;

struct Outcome {
  // Prompt: the answer is the "> " prompt, and the host's next bytes go to the reply's session
  // (AT+QISEND). Final: the last information line is the final result ("SEND OK", "SEND
  // FAIL" of the TCP/IP note), no result code follows it.
  enum class Kind { Ok, Error, Cme, Connect, NoCarrier, Prompt, Final };
  Kind kind = Kind::Ok;
  int cme = 0;

  static Outcome ok() { return {Kind::Ok, 0}; }
  static Outcome error() { return {Kind::Error, 0}; }
  static Outcome cme_error(int code) { return {Kind::Cme, code}; }
  bool failed() const { return kind == Kind::Error || kind == Kind::Cme; }
};

struct Reply {
  std::vector<std::string> lines;
  Outcome outcome;
  std::shared_ptr<DataSession> session;  // set with Kind::Connect and Kind::Prompt
};

}  // namespace bg95::at
