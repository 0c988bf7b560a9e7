#pragma once
// The command table: each entry declares a command's name, form and typed parameters and
// the handler that answers it. One name may have several entries (one per form, or several
// write signatures, e.g. AT+QFOTADL=<url> and AT+QFOTADL=<n>[,<m>]); the first that fits wins.

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "protocol/at/arguments.hpp"
#include "protocol/at/command_line.hpp"
#include "protocol/at/dte_profile.hpp"
#include "protocol/at/reply.hpp"

namespace bg95::at {

// Finishes a command whose handler deferred its answer; safe to call after a reset (ignored).
using Completer = std::function<void(Reply)>;

// Writes bytes to the port a command came from, outside any framing (the data of
// AT+QFDWL, the "A" acknowledgements of AT+QFUPL ack mode).
using RawWriter = std::function<void(std::string bytes)>;

// One running command. A handler adds information lines and ends it with a final result;
// one that cannot answer at once calls defer() and finishes the returned handle later.
// The handler sees the DTE profile of the port the command came from (ATE0 on one port does
// not change another), but not the port itself.
class Call {
 public:
  Call(const ParsedCommand& command, const Args& args, DteProfile& profile,
       Completer completer = {}, RawWriter raw_writer = {})
      : command_(command),
        args_(args),
        profile_(profile),
        completer_(std::move(completer)),
        raw_writer_(std::move(raw_writer)) {}

  const std::string& name() const { return command_.name; }
  Form form() const { return command_.form; }
  const Args& args() const { return args_; }
  // The arguments as the host wrote them (for commands whose parameters depend on the first).
  const std::vector<RawArgument>& raw_arguments() const { return command_.args; }
  DteProfile& profile() { return profile_; }
  const RawWriter& raw_writer() const { return raw_writer_; }

  void line(std::string text) { reply_.lines.push_back(std::move(text)); }
  void ok() { finish(Outcome::ok()); }
  void error() { finish(Outcome::error()); }
  void cme(int code) { finish(Outcome::cme_error(code)); }
  void connect(std::shared_ptr<class DataSession> session) {
    reply_.session = std::move(session);
    finish({Outcome::Kind::Connect, 0});
  }
  // Answers "> " and hands the host's next bytes to `session` until it is complete (the
  // prompt of AT+QISEND, AT+QSSLSEND, AT+QMTPUBEX): no "+++" escape, no CONNECT.
  void prompt(std::shared_ptr<class DataSession> session) {
    reply_.session = std::move(session);
    finish({Outcome::Kind::Prompt, 0});
  }
  // Answers OK; once the OK is written the port speaks 27.010 and every byte goes to
  // `session`, the multiplexer (AT+CMUX), until it ends itself through its DataLink.
  void multiplex(std::shared_ptr<class DataSession> session) {
    reply_.session = std::move(session);
    finish(Outcome::ok());
  }
  // `text` is the final result itself ("SEND OK"), with no OK after it.
  void final_text(std::string text) {
    line(std::move(text));
    finish({Outcome::Kind::Final, 0});
  }
  void finish(Outcome outcome) {
    reply_.outcome = outcome;
    finished_ = true;
  }
  bool finished() const { return finished_; }
  // Keeps the command open; the caller answers later through the returned completer.
  Completer defer() {
    deferred_ = true;
    return completer_;
  }
  bool deferred() const { return deferred_ && !finished_; }
  // Runs `f` once this command's answer has been written to the port (AT+IPR changes the rate
  // only after its OK went out at the old one); at once when nothing collects these.
  void after_answer(std::function<void()> f) {
    if (after_answer_) {
      after_answer_->push_back(std::move(f));
    } else {
      f();
    }
  }
  void set_after_answer_sink(std::vector<std::function<void()>>* sink) { after_answer_ = sink; }
  Reply take_reply() { return std::move(reply_); }

 private:
  const ParsedCommand& command_;
  const Args& args_;
  DteProfile& profile_;
  Completer completer_;
  RawWriter raw_writer_;
  Reply reply_;
  bool finished_ = false;
  bool deferred_ = false;
  std::vector<std::function<void()>>* after_answer_ = nullptr;
};

using Handler = std::function<void(Call&)>;

struct Command {
  std::string name;  // "+CSQ", "I", "&D", "E", "S3"
  Form form = Form::Execute;
  std::vector<ArgSpec> params;
  Handler handler;
  // What arguments that fit no signature of this form get.
  Outcome on_bad_arguments = Outcome::cme_error(50);
};

class CommandTable {
 public:
  void add(Command command);

  struct Match {
    const Command* command;
    Args args;
  };
  // The entry that answers this command, or the failure to report.
  std::variant<Match, Outcome> resolve(const ParsedCommand& parsed) const;
  bool knows(const std::string& name) const { return by_name_.contains(name); }
  std::vector<std::string> names() const;

 private:
  std::unordered_map<std::string, std::vector<std::unique_ptr<Command>>> by_name_;
};

}  // namespace bg95::at
