#pragma once
// The AT engine: bytes from the host in, whole responses and URCs out. It assembles command
// lines, echoes, runs each command of a ';' chain through the command table, frames the
// answers from the one table of formats, and runs data mode with the "+++" escape.
//
// Output rules that real host tools rely on: every response is one write; with an answer gap
// (the module sets 10 ms) the echo is written alone as the line ends and the answer no sooner
// than the gap after it, so that a host reading as soon as data is there gets them in separate
// reads; every URC is its own write; and no URC is written while a command is still being
// answered or the port is in data mode.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "protocol/at/command_table.hpp"
#include "protocol/at/data_session.hpp"
#include "protocol/at/dte_profile.hpp"
#include "protocol/at/line_assembler.hpp"

namespace bg95::at {

// What a fault scenario does to one command instead of letting it run as usual.
struct Interception {
  // Wait this long before the command runs (or before the replacement answer below goes out);
  // the host sees a slow module.
  std::chrono::milliseconds delay{0};
  // Answer this instead of running the command (framed as the module frames its answers).
  std::optional<Reply> reply;
  // Or write exactly these bytes instead; they end the command line (the commands after it in
  // a ';' chain are not run, no final result code is added).
  std::optional<std::string> raw;
};

class AtEngine {
 public:
  using Writer = std::function<void(std::string bytes)>;
  using Clock = std::chrono::steady_clock;
  // Bytes the host may type ahead while a deferred command runs; beyond them input is lost,
  // as on a UART without flow control whose receive buffer is full.
  static constexpr std::size_t kMaxTypeAhead = 64 * 1024;

  struct Observer {
    std::function<void(std::string_view line)> on_command_line;  // text after "AT"
    // Each command of a line as command_text() writes it, before it runs.
    std::function<void(std::string_view command)> on_command;
    // Asked before each command runs; an answer replaces or delays it.
    std::function<std::optional<Interception>(std::string_view command)> intercept;
  };

  AtEngine(boost::asio::any_io_executor executor, const CommandTable& table, DteProfile& profile,
           Writer writer);
  ~AtEngine();
  AtEngine(const AtEngine&) = delete;
  AtEngine& operator=(const AtEngine&) = delete;

  // Bytes the host sent.
  void receive(std::string_view bytes);
  // An unsolicited result code; held back while a command runs or data mode is on.
  void emit_urc(std::string_view text);
  // Writes raw bytes to the port outside any framing (e.g. a banner in DFOTA mode).
  void write_raw(std::string bytes) { write(std::move(bytes)); }

  // When off, input is dropped unseen (module off, booting, or in DFOTA mode).
  void set_accepting(bool accepting) { accepting_ = accepting; }
  bool accepting() const { return accepting_; }
  // Power loss or reset: forget the line being typed, the running command, data mode and
  // queued URCs. Deferred answers of the old life are ignored.
  void reset();

  // In data mode, at a prompt, or about to enter either.
  bool in_data_mode() const {
    return mode_ == Mode::Connecting || mode_ == Mode::Data || mode_ == Mode::Prompt;
  }
  // The port speaks 27.010 (AT+CMUX answered OK): every byte goes to the multiplexer.
  bool multiplexing() const { return mode_ == Mode::Cmux; }
  // Leaves data mode or the prompt from outside (DTR). Does nothing in command mode.
  void end_data_mode(DataEnd why);
  void set_guard_time(std::chrono::milliseconds guard) { guard_ = guard; }
  // How long after the end of a command line CONNECT goes out (a real module's command
  // processor takes that long to answer). Bytes the host sends before CONNECT are the rest of
  // the line's end (the LF of CR LF, dropped) or the first data; 0: CONNECT at once.
  void set_connect_latency(std::chrono::milliseconds latency) { connect_latency_ = latency; }
  // The command processor's time for a line (its text after "AT"): the echo is written as the
  // bytes come, and the answer no sooner than this after the line's end (a real module echoes
  // as bytes arrive and answers after processing). None, or 0: echo and answer in one write.
  using ProcessingTime = std::function<Clock::duration(std::string_view line)>;
  void set_processing_time(ProcessingTime time) { processing_time_ = std::move(time); }
  // Each URC goes out in a write of its own, no sooner than this after the engine's last write
  // (an echo, an answer, another URC); 0: at once, back to back.
  void set_urc_gap(std::chrono::milliseconds gap) { urc_gap_ = gap; }
  // Runs `f` once the URCs queued so far are written (at once when none waits): what comes
  // next (a power-down, the end of a boot) must not cut them off.
  void when_urcs_written(std::function<void()> f);
  // URCs raised in the same turn of the event loop go out in one write (a dialect some
  // firmware shows) instead of one write each.
  void set_coalesce_urcs(bool on) { coalesce_urcs_ = on; }
  // Before a restart that is not a power loss: writes an answer held for the answer gap and
  // the URCs that wait for a coalesced write now; URCs held back by a command or data mode
  // stay held.
  void flush_held_urcs();
  // The clock the "+++" guard times are measured with: steady_clock unless a fuzzer or a test
  // steps time itself. (The timer that ends the silence after "+++" still waits on the
  // executor, for the guard time.)
  using Now = std::function<Clock::time_point()>;
  void set_clock(Now now) { now_ = std::move(now); }

  void set_observer(Observer observer) { observer_ = std::move(observer); }
  const DteProfile& profile() const { return profile_; }

 private:
  // What the engine is doing: one mode at a time. The mode says what the host's bytes are (a
  // command line, type-ahead that waits, the data of a transfer) and whether URCs may go out.
  // Its transitions, each made by enter():
  //   Idle -> Line                    a line with commands starts
  //   Line -> Idle                    the line ends: OK, an error, or a scenario's raw bytes
  //   Line -> Deferred -> Line        a handler answers later, then its answer comes
  //   Line -> Delayed -> Line         a scenario holds a command back, then it runs
  //   Line -> Connecting -> Data      CONNECT waits for the connect latency
  //   Line -> Data                    CONNECT without a connect latency
  //   Line -> Connecting -> Prompt    the same for the "> " prompt
  //   Line -> Prompt
  //   Data, Prompt -> Idle            the session ended (complete, timeout, "+++", DTR, or
  //                                   the session itself through DataLink::end)
  //   Idle -> Cmux                    AT+CMUX's OK has been written
  //   Cmux -> Idle                    the multiplexer closed (DataLink::end)
  //   any -> Idle                     reset()
  enum class Mode {
    Idle,        // between command lines: bytes are typed, URCs go out
    Line,        // the commands of a line are running (within one call of the engine)
    Deferred,    // a command of the line answers later (Call::defer); input waits
    Delayed,     // a scenario holds the line's next command back (Interception::delay)
    Connecting,  // a command answered CONNECT or "> "; it goes out after the connect latency
    // The bytes go to the data session until it ends; "+++" framed by the guard times leaves.
    // A transparent socket is this mode too: its session writes to the host through the
    // DataLink it is given, and ATO enters it again.
    Data,
    // After "> ": the bytes go to the session until it is complete (a length, Ctrl-Z, ESC:
    // the session tells). No escape: "+++" is data here.
    Prompt,
    // 27.010 frames carry the virtual channels: after AT+CMUX's OK every byte goes to the
    // multiplexer session (Call::multiplex) with no escape and no idle timeout, URCs go to it,
    // and the port returns to Idle when the session ends itself (DataLink::end: CLD, DISC on
    // DLCI 0, the module closing it) or at a reset.
    Cmux,
  };
  // The one place the mode changes. `session` is the data session of Connecting and Data
  // (null for the other modes); returns the session of the mode left, if it had one.
  std::shared_ptr<DataSession> enter(Mode next, std::shared_ptr<DataSession> session = nullptr);

  void receive_command_bytes(std::string_view bytes, std::string& out);
  void receive_data_bytes(std::string_view bytes);
  void start_line(std::string body, std::string& out);
  // Runs the queued commands of the line; `resumed` is the interception of the command at the
  // front whose delay has just passed.
  void run_commands(std::string& out, std::optional<Interception> resumed = std::nullopt);
  void finish_command(Reply reply, std::string& out);
  void finish_line(std::string& out);
  void flush_urcs();
  // Every write to the host goes through here (the URC gap is counted from the last one).
  void write(std::string bytes);
  void urcs_were_written();
  // Idle, and no answer waits for the answer gap: typed bytes are read, URCs go out.
  bool at_rest() const { return mode_ == Mode::Idle && !held_answer_; }
  // Writes an answer now, or holds it until the answer gap after the echo has passed.
  void write_answer(std::string answer);
  void run_after_answer();
  void hold_answer(std::string answer);
  bool in_session() const { return mode_ == Mode::Data || mode_ == Mode::Prompt; }
  // CONNECT or "> " goes out after the connect latency, then `then` (Data or Prompt) starts.
  void connect_after_latency(std::shared_ptr<DataSession> session, Mode then);
  void enter_session(Mode mode, std::shared_ptr<DataSession> session);
  void leave_data_mode(DataEnd why);
  // AT+CMUX: the OK goes out in plain AT, then the port speaks 27.010 through `session`.
  void multiplex_after_answer(std::shared_ptr<DataSession> session);
  void enter_multiplexer(std::shared_ptr<DataSession> session);
  void leave_multiplexer(DataEnd why);
  void deliver_data(std::string_view bytes);
  void arm_idle_timer();
  void arm_escape_timer();
  void continue_pending_input();
  void complete_deferred(std::uint64_t call_id, Reply reply);
  // Does to `command` what a scenario said: answered, waiting for a delay (the command is
  // back at the front of the queue), or nothing after all.
  enum class Intercepted { Answered, Waiting, RunAsUsual };
  Intercepted apply_interception(ParsedCommand& command, Interception interception,
                                 std::string& out);
  void schedule_urc_flush();

  boost::asio::any_io_executor executor_;
  const CommandTable& table_;
  DteProfile& profile_;
  Writer writer_;
  Observer observer_;
  bool accepting_ = true;
  std::uint64_t generation_ = 1;  // bumped by reset(): timers of an old life do nothing
  std::uint64_t call_id_ = 0;     // the command a deferred answer belongs to

  Mode mode_ = Mode::Idle;
  // The transfer of Connecting and Data; set and cleared by enter() only.
  std::shared_ptr<DataSession> session_;

  LineAssembler assembler_;
  std::string last_line_;
  // The command line being answered.
  std::deque<ParsedCommand> queue_;
  std::string line_output_;
  std::string pending_input_;  // bytes that came while not at rest
  std::deque<std::string> urcs_;
  bool coalesce_urcs_ = false;
  bool urc_flush_posted_ = false;
  // The URC gap: the next URC waits for urc_timer_ until urc_gap_ after last_write_at_.
  std::chrono::milliseconds urc_gap_{0};
  Clock::time_point last_write_at_{};
  boost::asio::steady_timer urc_timer_;
  bool urc_timer_armed_ = false;
  std::vector<std::function<void()>> urcs_written_;  // when_urcs_written()
  // Delayed: the command at the front of queue_ runs when delay_timer_ fires.
  boost::asio::steady_timer delay_timer_;

  // Connecting: CONNECT or "> " (in line_output_) goes out, and connect_then_ starts, when
  // connect_timer_ fires.
  boost::asio::steady_timer connect_timer_;
  Mode connect_then_ = Mode::Data;
  std::chrono::milliseconds connect_latency_{0};
  // The processing time: the line ended, and its answer is due at answer_due_; held_answer_
  // waits for answer_timer_. Not a mode: an answer waits in Idle (the line is over) and in
  // Data (CONNECT, while the first data arrive).
  ProcessingTime processing_time_;
  Clock::time_point answer_due_{};
  std::optional<std::string> held_answer_;
  // What handlers asked to run once their answer is out (Call::after_answer).
  std::vector<std::function<void()>> after_answer_;
  boost::asio::steady_timer answer_timer_;

  // Data mode.
  std::chrono::milliseconds guard_{1000};
  Now now_ = [] { return Clock::now(); };
  Clock::time_point last_byte_{};
  std::string held_pluses_;  // a possible "+++" not yet known to be an escape
  // AT+CMUX answered: what the host sends next is the multiplexer's, once the OK is out.
  bool multiplex_pending_ = false;
  Clock::time_point first_plus_{};
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer escape_timer_;
};

}  // namespace bg95::at
