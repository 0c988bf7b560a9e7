#include "protocol/at/engine.hpp"

#include <boost/asio/post.hpp>

#include "protocol/at/result_codes.hpp"

namespace bg95::at {

namespace {

// The final result code of a command or of a data session, as the profile frames it.
std::string frame_final(const Outcome& outcome, const DteProfile& profile) {
  switch (outcome.kind) {
    case Outcome::Kind::Ok:
      return frame_result(ResultCode::Ok, profile);
    case Outcome::Kind::Error:
      return frame_result(ResultCode::Error, profile);
    case Outcome::Kind::Cme:
      return frame_cme_error(outcome.cme, profile);
    case Outcome::Kind::NoCarrier:
      return frame_result(ResultCode::NoCarrier, profile);
    case Outcome::Kind::Connect:
      return frame_result(ResultCode::Connect, profile);
    case Outcome::Kind::Prompt:
      // "\r\n> ": the TCP/IP note's examples show the prompt on a line of its own, with no
      // line end after it; TinyGSM and Zephyr's bg9x wait for ">".
      return std::string{static_cast<char>(profile.s3), static_cast<char>(profile.s4)} + "> ";
    case Outcome::Kind::Final:
      return {};  // the last information line was the result
  }
  return {};
}

// What follows a command line that ends data or a switch of mode: without the LF of the
// line's CR LF, which belongs to the line and never to the data (fwupd sends
// AT+QFUPL="...",<size>,5,1\r\n and then its chunks; storing that LF corrupted every such
// upload). Other early bytes are the start of the data.
std::string_view after_line_end(std::string_view rest) {
  if (!rest.empty() && rest.front() == '\n') rest.remove_prefix(1);
  return rest;
}

}  // namespace

AtEngine::AtEngine(boost::asio::any_io_executor executor, const CommandTable& table,
                   DteProfile& profile, Writer writer)
    : executor_(executor),
      table_(table),
      profile_(profile),
      writer_(std::move(writer)),
      urc_timer_(executor),
      delay_timer_(executor),
      connect_timer_(executor),
      answer_timer_(executor),
      idle_timer_(executor),
      escape_timer_(executor) {}

AtEngine::~AtEngine() = default;

std::shared_ptr<DataSession> AtEngine::enter(Mode next, std::shared_ptr<DataSession> session) {
  mode_ = next;
  return std::exchange(session_, std::move(session));
}

void AtEngine::reset() {
  ++generation_;
  ++call_id_;
  // A transfer under way (in data mode, or waiting for its CONNECT) hears of the reset.
  if (auto session = enter(Mode::Idle)) session->finish(DataEnd::Reset);
  idle_timer_.cancel();
  escape_timer_.cancel();
  delay_timer_.cancel();
  connect_timer_.cancel();
  answer_timer_.cancel();
  urc_timer_.cancel();
  urc_timer_armed_ = false;
  urcs_written_.clear();
  held_answer_.reset();
  after_answer_.clear();
  held_pluses_.clear();
  multiplex_pending_ = false;
  assembler_.reset();
  queue_.clear();
  line_output_.clear();
  pending_input_.clear();
  urcs_.clear();
  urc_flush_posted_ = false;
}

void AtEngine::receive(std::string_view bytes) {
  if (!accepting_ || bytes.empty()) return;
  if (mode_ == Mode::Cmux) {
    const auto session = session_;  // it may close the multiplexer as it reads
    session->on_data(bytes);
    return;
  }
  if (in_session()) {
    receive_data_bytes(bytes);
    return;
  }
  if (!at_rest()) {
    // The host typed ahead while a command is being answered; take it afterwards.
    const std::size_t room = kMaxTypeAhead - std::min(kMaxTypeAhead, pending_input_.size());
    pending_input_.append(bytes.substr(0, room));
    return;
  }
  std::string out;
  receive_command_bytes(bytes, out);
  if (!out.empty()) write(std::move(out));
  if (!held_answer_) run_after_answer();
  if (at_rest()) flush_urcs();
}

void AtEngine::run_after_answer() {
  auto actions = std::exchange(after_answer_, {});
  for (auto& f : actions)
    f();
}

void AtEngine::flush_held_urcs() {
  if (held_answer_) {
    answer_timer_.cancel();
    write(std::exchange(*held_answer_, {}));
    held_answer_.reset();
    run_after_answer();
  }
  // A restart follows: the URCs go now, without the gap (each in its own write).
  urc_timer_.cancel();
  urc_timer_armed_ = false;
  if (!at_rest()) return;
  const auto gap = std::exchange(urc_gap_, {});
  flush_urcs();
  urc_gap_ = gap;
}

void AtEngine::receive_command_bytes(std::string_view bytes, std::string& out) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    auto event = assembler_.feed(c, profile_.s3, profile_.s5);
    if (profile_.echo && !assembler_.swallowed_lf()) out.push_back(c);
    if (!event) continue;
    if (event->kind == LineAssembler::Event::Kind::Overflow) {
      out += frame_result(ResultCode::Error, profile_);
      continue;
    }
    std::string body =
        event->kind == LineAssembler::Event::Kind::Repeat ? last_line_ : std::move(event->body);
    if (event->kind == LineAssembler::Event::Kind::Repeat && profile_.echo) {
      // "A/" runs at once; real modems end the echo with a CR as if the line were typed.
      out.push_back(static_cast<char>(profile_.s3));
    }
    // The command processor: the echo goes out as the bytes came, and the answer once the
    // command is processed, its processing time after the line's end. A host that reads as
    // soon as data is there sees them in separate reads (fwupd's single 64-byte read takes an
    // echo of exactly "<cmd>\r" alone), with echo off too.
    const Clock::duration processing =
        processing_time_ ? processing_time_(body) : Clock::duration{};
    const bool answer_later = processing.count() > 0;
    if (answer_later) {
      if (!out.empty()) write(std::exchange(out, {}));
      answer_due_ = now_() + processing;
    }
    start_line(std::move(body), out);
    if (answer_later && !out.empty()) hold_answer(std::exchange(out, {}));
    if (multiplex_pending_) {
      // The rest of this read is the multiplexer's (its first frames), but for the LF of the
      // line's CR LF; it gets them once the OK is out.
      const std::string_view rest = after_line_end(bytes.substr(i + 1));
      pending_input_.append(rest);
      return;
    }
    if (!at_rest()) {
      // The rest of this read waits for the command (or becomes data).
      std::string_view rest = bytes.substr(i + 1);
      if (in_session()) {
        rest = after_line_end(rest);
        if (!out.empty()) write(std::exchange(out, {}));
        // Bytes behind the command line in the same read are the start of the data.
        if (!rest.empty()) receive_data_bytes(rest);
      } else {
        pending_input_.append(rest);
      }
      return;
    }
  }
}

void AtEngine::start_line(std::string body, std::string& out) {
  last_line_ = body;
  if (observer_.on_command_line) observer_.on_command_line(body);
  CommandLine parsed = parse_command_line(body);
  if (parsed.syntax_error) {
    out += frame_result(ResultCode::Error, profile_);
    return;
  }
  if (parsed.commands.empty()) {  // plain "AT"
    out += frame_result(ResultCode::Ok, profile_);
    return;
  }
  enter(Mode::Line);
  queue_.assign(std::make_move_iterator(parsed.commands.begin()),
                std::make_move_iterator(parsed.commands.end()));
  line_output_.clear();
  run_commands(out);
}

void AtEngine::run_commands(std::string& out, std::optional<Interception> resumed) {
  while (!queue_.empty()) {
    ParsedCommand command = std::move(queue_.front());
    queue_.pop_front();
    // A command whose delay has passed is not announced again; the rest of its interception
    // applies now.
    std::optional<Interception> interception = std::exchange(resumed, std::nullopt);
    if (!interception && (observer_.on_command || observer_.intercept)) {
      const std::string text = command_text(command);
      if (observer_.on_command) observer_.on_command(text);
      if (observer_.intercept) interception = observer_.intercept(text);
    }
    if (interception) {
      const Intercepted what = apply_interception(command, std::move(*interception), out);
      if (what == Intercepted::Waiting) return;
      if (what == Intercepted::Answered) {
        if (mode_ != Mode::Line) return;
        continue;
      }
    }
    auto resolved = table_.resolve(command);
    if (auto* failure = std::get_if<Outcome>(&resolved)) {
      finish_command(Reply{{}, *failure, nullptr}, out);
      if (mode_ != Mode::Line) return;
      continue;
    }
    auto& match = std::get<CommandTable::Match>(resolved);
    const std::uint64_t call_id = ++call_id_;
    Call call(
        command, match.args, profile_,
        [this, call_id](Reply reply) { complete_deferred(call_id, std::move(reply)); },
        [this](std::string bytes) { write(std::move(bytes)); });
    call.set_after_answer_sink(&after_answer_);
    match.command->handler(call);
    if (call.deferred()) {
      // The answers so far wait for the chain's end. (A handler whose flash write met a power
      // cut has reset the engine: no line is left to wait for.)
      if (mode_ == Mode::Line) enter(Mode::Deferred);
      return;
    }
    if (!call.finished()) call.error();  // a handler that forgot to answer
    finish_command(call.take_reply(), out);
    if (mode_ != Mode::Line) return;
  }
  finish_line(out);
}

AtEngine::Intercepted AtEngine::apply_interception(ParsedCommand& command,
                                                   Interception interception, std::string& out) {
  if (interception.delay.count() > 0) {
    // The command goes back to the front of the line and runs when the delay is over.
    queue_.push_front(std::move(command));
    enter(Mode::Delayed);
    delay_timer_.expires_after(std::exchange(interception.delay, {}));
    delay_timer_.async_wait([this, generation = generation_,
                             rest = std::move(interception)](boost::system::error_code ec) mutable {
      if (ec || generation != generation_ || mode_ != Mode::Delayed) return;
      enter(Mode::Line);
      std::string later;
      run_commands(later, std::move(rest));
      if (!later.empty()) write_answer(std::move(later));
      if (at_rest()) {
        flush_urcs();
        continue_pending_input();
      }
    });
    return Intercepted::Waiting;
  }
  if (interception.raw) {
    // Exactly these bytes, and the line is over.
    line_output_ += *interception.raw;
    queue_.clear();
    out += std::exchange(line_output_, {});
    enter(Mode::Idle);
    return Intercepted::Answered;
  }
  if (interception.reply) {
    finish_command(std::move(*interception.reply), out);
    return Intercepted::Answered;
  }
  return Intercepted::RunAsUsual;
}

void AtEngine::finish_command(Reply reply, std::string& out) {
  line_output_ += frame_information(reply.lines, profile_);
  if (reply.outcome.kind == Outcome::Kind::Ok) {
    if (reply.session) multiplex_after_answer(std::move(reply.session));
    return;  // the chain goes on; OK comes at its end
  }
  // CONNECT and the errors end the whole line: the commands after them are not run.
  line_output_ += frame_final(reply.outcome, profile_);
  queue_.clear();
  const auto kind = reply.outcome.kind;
  if (kind == Outcome::Kind::Connect || kind == Outcome::Kind::Prompt) {
    const Mode then = kind == Outcome::Kind::Connect ? Mode::Data : Mode::Prompt;
    if (connect_latency_.count() > 0) return connect_after_latency(std::move(reply.session), then);
    out += std::exchange(line_output_, {});
    enter_session(then, std::move(reply.session));
    return;
  }
  out += std::exchange(line_output_, {});
  enter(Mode::Idle);
}

void AtEngine::finish_line(std::string& out) {
  line_output_ += frame_result(ResultCode::Ok, profile_);
  out += std::exchange(line_output_, {});
  enter(Mode::Idle);
}

void AtEngine::complete_deferred(std::uint64_t call_id, Reply reply) {
  if (call_id != call_id_ || mode_ != Mode::Deferred) return;
  enter(Mode::Line);
  std::string out;
  finish_command(std::move(reply), out);
  if (mode_ == Mode::Line) run_commands(out);
  if (!out.empty()) write_answer(std::move(out));
  if (at_rest()) {
    flush_urcs();
    continue_pending_input();
  }
}

void AtEngine::continue_pending_input() {
  if (pending_input_.empty()) return;
  // Run later so that a long typed-ahead stream cannot recurse.
  boost::asio::post(executor_, [this, generation = generation_] {
    if (generation != generation_ || !at_rest()) return;
    std::string input = std::exchange(pending_input_, {});
    receive(input);
  });
}

void AtEngine::emit_urc(std::string_view text) {
  if (mode_ == Mode::Cmux && session_->on_urc(text)) return;
  urcs_.push_back(frame_urc(text, profile_));
  if (!at_rest()) return;
  if (coalesce_urcs_) return schedule_urc_flush();
  flush_urcs();
}

void AtEngine::schedule_urc_flush() {
  if (urc_flush_posted_) return;
  urc_flush_posted_ = true;
  boost::asio::post(executor_, [this, generation = generation_] {
    if (generation != generation_) return;
    urc_flush_posted_ = false;
    if (at_rest()) flush_urcs();
  });
}

void AtEngine::flush_urcs() {
  if (coalesce_urcs_ && urcs_.size() > 1) {
    std::string all;
    for (auto& u : urcs_)
      all += u;
    urcs_.clear();
    write(std::move(all));
    return urcs_were_written();
  }
  if (urc_gap_.count() == 0) {
    while (!urcs_.empty()) {
      write(std::move(urcs_.front()));
      urcs_.pop_front();
    }
    return urcs_were_written();
  }
  // Each URC in a write of its own, the URC gap after whatever went out before it: a host
  // that reads as soon as data is there gets one URC a read (fwupd's first-match parsing).
  if (urcs_.empty() || urc_timer_armed_) return;
  const auto due = last_write_at_ + urc_gap_;
  if (now_() >= due) {
    write(std::move(urcs_.front()));
    urcs_.pop_front();
    if (urcs_.empty()) return urcs_were_written();
  }
  urc_timer_armed_ = true;
  urc_timer_.expires_after(
      std::max<Clock::duration>(Clock::duration::zero(), last_write_at_ + urc_gap_ - now_()));
  urc_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (generation != generation_) return;
    urc_timer_armed_ = false;
    if (!ec && at_rest()) flush_urcs();
  });
}

void AtEngine::when_urcs_written(std::function<void()> f) {
  if (urcs_.empty()) return f();
  urcs_written_.push_back(std::move(f));
}

void AtEngine::urcs_were_written() {
  auto waiting = std::exchange(urcs_written_, {});
  for (auto& f : waiting)
    f();
}

void AtEngine::write(std::string bytes) {
  last_write_at_ = now_();
  writer_(std::move(bytes));
}

// ---- data mode -------------------------------------------------------------------------

void AtEngine::write_answer(std::string answer) {
  if (now_() < answer_due_) return hold_answer(std::move(answer));
  write(std::move(answer));
  run_after_answer();
}

void AtEngine::hold_answer(std::string answer) {
  if (held_answer_) {
    *held_answer_ += answer;
    return;
  }
  held_answer_ = std::move(answer);
  const auto wait = std::max<Clock::duration>(Clock::duration::zero(), answer_due_ - now_());
  answer_timer_.expires_after(wait);
  answer_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || !held_answer_) return;
    std::string held = std::move(*held_answer_);
    held_answer_.reset();
    write(std::move(held));
    run_after_answer();
    if (at_rest()) {
      flush_urcs();
      continue_pending_input();
    }
  });
}

void AtEngine::connect_after_latency(std::shared_ptr<DataSession> session, Mode then) {
  enter(Mode::Connecting, std::move(session));
  connect_then_ = then;
  // CONNECT is an answer too: not sooner than the answer gap after the echo.
  const auto gap_left = std::max<Clock::duration>(Clock::duration::zero(), answer_due_ - now_());
  connect_timer_.expires_after(std::max<Clock::duration>(connect_latency_, gap_left));
  connect_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || mode_ != Mode::Connecting) return;
    // Bytes that came while the module was answering.
    const std::string pending = std::exchange(pending_input_, {});
    const std::string early(after_line_end(pending));
    write(std::exchange(line_output_, {}));
    enter_session(connect_then_, session_);
    // Whatever else came before CONNECT is the start of the data.
    if (!early.empty()) receive_data_bytes(early);
  });
}

void AtEngine::enter_session(Mode mode, std::shared_ptr<DataSession> session) {
  enter(mode, std::move(session));
  held_pluses_.clear();
  last_byte_ = now_();
  arm_idle_timer();
  // The link works only while this very session is on: a write or an end that comes after
  // data mode is over (or after a reset) does nothing.
  auto is_on = [this, generation = generation_, s = std::weak_ptr<DataSession>(session_)] {
    return generation == generation_ && in_session() && !s.expired() && s.lock() == session_;
  };
  session_->attach(DataLink{[this, is_on](std::string bytes) {
                              if (is_on()) write(std::move(bytes));
                            },
                            [this, is_on](DataEnd why) {
                              if (is_on()) leave_data_mode(why);
                            }});
}

void AtEngine::arm_idle_timer() {
  idle_timer_.cancel();
  if (!in_session()) return;
  const double seconds = session_->idle_timeout_seconds();
  if (seconds <= 0) return;
  idle_timer_.expires_after(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
  idle_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || !in_session()) return;
    leave_data_mode(DataEnd::Timeout);
  });
}

void AtEngine::arm_escape_timer() {
  escape_timer_.expires_after(guard_);
  escape_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || mode_ != Mode::Data || held_pluses_.size() != 3) return;
    held_pluses_.clear();
    leave_data_mode(DataEnd::Escape);
  });
}

void AtEngine::receive_data_bytes(std::string_view bytes) {
  const auto now = now_();
  const bool quiet_before = now - last_byte_ >= guard_;
  last_byte_ = now;
  arm_idle_timer();
  if (mode_ == Mode::Prompt) {
    // No escape after a prompt; the session tells where its data ends.
    if (session_->echoes_input() && profile_.echo) write(std::string(bytes));
    return deliver_data(bytes);
  }
  std::size_t i = 0;
  // Escape detection (V.250 / the note's 2.1.6): guard time of silence, then "+++" within
  // one guard time, then silence again. Anything else makes the held pluses data.
  while (i < bytes.size()) {
    const char c = bytes[i];
    const bool can_start = held_pluses_.empty() && i == 0 && quiet_before;
    const bool can_continue =
        !held_pluses_.empty() && held_pluses_.size() < 3 && now - first_plus_ <= guard_;
    if (c == '+' && (can_start || can_continue)) {
      if (held_pluses_.empty()) first_plus_ = now;
      held_pluses_.push_back(c);
      ++i;
      continue;
    }
    if (!held_pluses_.empty()) {
      escape_timer_.cancel();
      deliver_data(std::exchange(held_pluses_, {}));
      if (mode_ != Mode::Data) return;
    }
    // A '+' can begin an escape only after a quiet guard time, which cannot happen inside
    // one read: the rest of the read is data.
    deliver_data(bytes.substr(i));
    return;
  }
  if (held_pluses_.size() == 3) arm_escape_timer();
}

void AtEngine::deliver_data(std::string_view bytes) {
  if (!in_session() || bytes.empty()) return;
  const auto session = session_;  // the session may end data mode itself (DataLink::end)
  session->on_data(bytes);
  if (session != session_) return;
  // Bytes past what the session asked for are dropped: real host tools pad their last chunk.
  if (session_->complete()) leave_data_mode(DataEnd::Complete);
}

void AtEngine::end_data_mode(DataEnd why) {
  if (in_session()) leave_data_mode(why);
}

void AtEngine::leave_data_mode(DataEnd why) {
  idle_timer_.cancel();
  escape_timer_.cancel();
  held_pluses_.clear();
  Reply reply = enter(Mode::Idle)->finish(why);
  // A session ends with OK, a failure or a result of its own; CONNECT or a prompt again would
  // make no sense and read as OK.
  const auto kind = reply.outcome.kind;
  if (kind == Outcome::Kind::Connect || kind == Outcome::Kind::Prompt)
    reply.outcome = Outcome::ok();
  write(frame_information(reply.lines, profile_) + frame_final(reply.outcome, profile_));
  flush_urcs();
  continue_pending_input();
}

// ---- the multiplexer ----------------------------------------------------------------------

void AtEngine::multiplex_after_answer(std::shared_ptr<DataSession> session) {
  // After the OK is on the wire in plain AT (27.007 5.7: the multiplexer starts after the
  // result code), whether it waits for the answer gap or not.
  multiplex_pending_ = true;
  after_answer_.push_back([this, generation = generation_, session = std::move(session)] {
    if (generation != generation_ || mode_ != Mode::Idle) return;
    multiplex_pending_ = false;
    enter_multiplexer(session);
  });
}

void AtEngine::enter_multiplexer(std::shared_ptr<DataSession> session) {
  enter(Mode::Cmux, std::move(session));
  auto is_on = [this, generation = generation_, s = std::weak_ptr<DataSession>(session_)] {
    return generation == generation_ && mode_ == Mode::Cmux && !s.expired() && s.lock() == session_;
  };
  session_->attach(DataLink{[this, is_on](std::string bytes) {
                              if (is_on()) write(std::move(bytes));
                            },
                            [this, is_on](DataEnd why) {
                              if (is_on()) leave_multiplexer(why);
                            }});
  // What the host sent while the OK waited (its first frames) is the multiplexer's.
  if (std::string early = std::exchange(pending_input_, {}); !early.empty()) receive(early);
}

void AtEngine::leave_multiplexer(DataEnd why) {
  // Back to plain AT without a result code: the host closed the multiplexer (or saw it close)
  // and talks AT again.
  const auto session = enter(Mode::Idle);
  session->finish(why);
  flush_urcs();
  continue_pending_input();
}

}  // namespace bg95::at
