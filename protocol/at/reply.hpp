#pragma once
// What one command answers: its information lines and its final result.

#include <memory>
#include <string>
#include <vector>

namespace bg95::at {

class DataSession;

struct Outcome {
  enum class Kind { Ok, Error, Cme, Connect, NoCarrier };
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
  std::shared_ptr<DataSession> session;  // set with Kind::Connect
};

}  // namespace bg95::at
