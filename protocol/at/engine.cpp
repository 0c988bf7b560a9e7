#include "protocol/at/engine.hpp"

#include <boost/asio/post.hpp>

#include "protocol/at/result_codes.hpp"

namespace bg95::at {

AtEngine::AtEngine(boost::asio::any_io_executor executor, const CommandTable& table,
                   DteProfile& profile, Writer writer)
    : executor_(executor),
      table_(table),
      profile_(profile),
      writer_(std::move(writer)),
      delay_timer_(executor),
      connect_timer_(executor),
      answer_timer_(executor),
      idle_timer_(executor),
      escape_timer_(executor) {}

AtEngine::~AtEngine() = default;

void AtEngine::reset() {
  ++generation_;
  ++call_id_;
  if (data_) {
    auto session = std::move(data_);
    session->finish(DataEnd::Reset);
  }
  idle_timer_.cancel();
  escape_timer_.cancel();
  delay_timer_.cancel();
  delayed_.reset();
  connect_timer_.cancel();
  answer_timer_.cancel();
  held_answer_.reset();
  after_answer_.clear();
  if (connecting_) std::exchange(connecting_, nullptr)->finish(DataEnd::Reset);
  held_pluses_.clear();
  assembler_.reset();
  queue_.clear();
  line_output_.clear();
  busy_ = false;
  waiting_deferred_ = false;
  pending_input_.clear();
  urcs_.clear();
  urc_flush_posted_ = false;
}

void AtEngine::receive(std::string_view bytes) {
  if (!accepting_ || bytes.empty()) return;
  if (data_) {
    receive_data_bytes(bytes);
    return;
  }
  if (!idle()) {
    // The host typed ahead while a command is being answered; take it afterwards.
    const std::size_t room = kMaxTypeAhead - std::min(kMaxTypeAhead, pending_input_.size());
    pending_input_.append(bytes.substr(0, room));
    return;
  }
  std::string out;
  receive_command_bytes(bytes, out);
  if (!out.empty()) writer_(std::move(out));
  if (!held_answer_) run_after_answer();
  if (idle()) flush_urcs();
}

void AtEngine::run_after_answer() {
  auto actions = std::exchange(after_answer_, {});
  for (auto& f : actions)
    f();
}

void AtEngine::flush_held_urcs() {
  if (held_answer_) {
    answer_timer_.cancel();
    writer_(std::exchange(*held_answer_, {}));
    held_answer_.reset();
    run_after_answer();
  }
  if (idle()) flush_urcs();
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
    // With an answer gap the echo goes out alone, as the bytes came, and the answer follows
    // once the command is processed: a host that reads as soon as data is there sees them in
    // separate reads (fwupd's single 64-byte read takes an echo of exactly "<cmd>\r" alone).
    const bool echo_apart = answer_gap_.count() > 0 && !out.empty();
    if (echo_apart) {
      writer_(std::exchange(out, {}));
      echo_at_ = now_();
    }
    start_line(std::move(body), out);
    if (echo_apart && !out.empty()) hold_answer(std::exchange(out, {}));
    if (!idle()) {
      // The rest of this read waits for the command (or becomes data).
      const std::string_view rest = bytes.substr(i + 1);
      if (data_) {
        if (!out.empty()) writer_(std::exchange(out, {}));
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
  busy_ = true;
  queue_.assign(std::make_move_iterator(parsed.commands.begin()),
                std::make_move_iterator(parsed.commands.end()));
  line_output_.clear();
  run_commands(out);
}

void AtEngine::run_commands(std::string& out) {
  while (!queue_.empty()) {
    ParsedCommand command = std::move(queue_.front());
    queue_.pop_front();
    std::optional<Interception> interception;
    if (delayed_) {
      // The delay of this command has passed; what else its interception says applies now.
      interception = std::exchange(delayed_, std::nullopt);
      interception->delay = {};
    } else if (observer_.on_command || observer_.intercept) {
      const std::string text = command_text(command);
      if (observer_.on_command) observer_.on_command(text);
      if (observer_.intercept) interception = observer_.intercept(text);
    }
    if (interception) {
      const Intercepted what = apply_interception(command, std::move(*interception), out);
      if (what == Intercepted::Waiting) return;
      if (what == Intercepted::Answered) {
        if (!busy_) return;
        continue;
      }
    }
    auto resolved = table_.resolve(command);
    if (auto* failure = std::get_if<Outcome>(&resolved)) {
      finish_command(Reply{{}, *failure, nullptr}, out);
      if (!busy_) return;
      continue;
    }
    auto& match = std::get<CommandTable::Match>(resolved);
    const std::uint64_t call_id = ++call_id_;
    Call call(
        command, match.args, profile_,
        [this, call_id](Reply reply) { complete_deferred(call_id, std::move(reply)); },
        [this](std::string bytes) { writer_(std::move(bytes)); });
    call.set_after_answer_sink(&after_answer_);
    match.command->handler(call);
    if (call.deferred()) {
      waiting_deferred_ = true;  // the answers so far wait for the chain's end
      return;
    }
    if (!call.finished()) call.error();  // a handler that forgot to answer
    finish_command(call.take_reply(), out);
    if (!busy_) return;
  }
  finish_line(out);
}

AtEngine::Intercepted AtEngine::apply_interception(ParsedCommand& command,
                                                   Interception interception, std::string& out) {
  if (interception.delay.count() > 0) {
    // The command goes back to the front of the line and runs when the delay is over.
    queue_.push_front(std::move(command));
    delayed_ = std::move(interception);
    waiting_deferred_ = true;
    delay_timer_.expires_after(delayed_->delay);
    delay_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
      if (ec || generation != generation_ || !delayed_) return;
      waiting_deferred_ = false;
      std::string later;
      run_commands(later);
      if (!later.empty()) write_answer(std::move(later));
      if (idle()) {
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
    busy_ = false;
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
  switch (reply.outcome.kind) {
    case Outcome::Kind::Ok:
      return;  // the chain goes on; OK comes once at its end
    case Outcome::Kind::Error:
      line_output_ += frame_result(ResultCode::Error, profile_);
      break;
    case Outcome::Kind::Cme:
      line_output_ += frame_cme_error(reply.outcome.cme, profile_);
      break;
    case Outcome::Kind::NoCarrier:
      line_output_ += frame_result(ResultCode::NoCarrier, profile_);
      break;
    case Outcome::Kind::Connect:
      line_output_ += frame_result(ResultCode::Connect, profile_);
      queue_.clear();
      busy_ = false;
      if (connect_latency_.count() > 0) return connect_after_latency(std::move(reply.session));
      out += std::exchange(line_output_, {});
      enter_data_mode(std::move(reply.session));
      return;
  }
  // An error ends the whole line: the commands after it are not run.
  queue_.clear();
  out += std::exchange(line_output_, {});
  busy_ = false;
}

void AtEngine::finish_line(std::string& out) {
  line_output_ += frame_result(ResultCode::Ok, profile_);
  out += std::exchange(line_output_, {});
  busy_ = false;
}

void AtEngine::complete_deferred(std::uint64_t call_id, Reply reply) {
  if (call_id != call_id_ || !waiting_deferred_) return;
  waiting_deferred_ = false;
  std::string out;
  finish_command(std::move(reply), out);
  if (busy_) run_commands(out);
  if (!out.empty()) write_answer(std::move(out));
  if (idle()) {
    flush_urcs();
    continue_pending_input();
  }
}

void AtEngine::continue_pending_input() {
  if (pending_input_.empty()) return;
  // Run later so that a long typed-ahead stream cannot recurse.
  boost::asio::post(executor_, [this, generation = generation_] {
    if (generation != generation_ || !idle()) return;
    std::string input = std::exchange(pending_input_, {});
    receive(input);
  });
}

void AtEngine::emit_urc(std::string_view text) {
  urcs_.push_back(frame_urc(text, profile_));
  if (!idle()) return;
  if (coalesce_urcs_) return schedule_urc_flush();
  flush_urcs();
}

void AtEngine::schedule_urc_flush() {
  if (urc_flush_posted_) return;
  urc_flush_posted_ = true;
  boost::asio::post(executor_, [this, generation = generation_] {
    if (generation != generation_) return;
    urc_flush_posted_ = false;
    if (idle()) flush_urcs();
  });
}

void AtEngine::flush_urcs() {
  if (coalesce_urcs_ && urcs_.size() > 1) {
    std::string all;
    for (auto& u : urcs_)
      all += u;
    urcs_.clear();
    writer_(std::move(all));
    return;
  }
  while (!urcs_.empty()) {
    writer_(std::move(urcs_.front()));
    urcs_.pop_front();
  }
}

// ---- data mode -------------------------------------------------------------------------

void AtEngine::write_answer(std::string answer) {
  if (answer_gap_.count() > 0 && now_() < echo_at_ + answer_gap_)
    return hold_answer(std::move(answer));
  writer_(std::move(answer));
  run_after_answer();
}

void AtEngine::hold_answer(std::string answer) {
  if (held_answer_) {
    *held_answer_ += answer;
    return;
  }
  held_answer_ = std::move(answer);
  const auto wait =
      std::max<Clock::duration>(Clock::duration::zero(), echo_at_ + answer_gap_ - now_());
  answer_timer_.expires_after(wait);
  answer_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || !held_answer_) return;
    std::string held = std::move(*held_answer_);
    held_answer_.reset();
    writer_(std::move(held));
    run_after_answer();
    if (idle()) {
      flush_urcs();
      continue_pending_input();
    }
  });
}

void AtEngine::connect_after_latency(std::shared_ptr<DataSession> session) {
  connecting_ = std::move(session);
  // CONNECT is an answer too: not sooner than the answer gap after the echo.
  const auto gap_left =
      answer_gap_.count() > 0
          ? std::max<Clock::duration>(Clock::duration::zero(), echo_at_ + answer_gap_ - now_())
          : Clock::duration::zero();
  connect_timer_.expires_after(std::max<Clock::duration>(connect_latency_, gap_left));
  connect_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || !connecting_) return;
    std::string early = std::exchange(pending_input_, {});
    // The LF of a line ended by CR LF came in while the module was answering: it belongs to
    // the command line, never to the data (fwupd sends AT+QFUPL="...",<size>,5,1\r\n and
    // then its chunks; storing that LF corrupted every such upload).
    if (!early.empty() && early.front() == '\n') early.erase(0, 1);
    writer_(std::exchange(line_output_, {}));
    enter_data_mode(std::exchange(connecting_, nullptr));
    // Whatever else came before CONNECT is the start of the data.
    if (!early.empty()) receive_data_bytes(early);
  });
}

void AtEngine::enter_data_mode(std::shared_ptr<DataSession> session) {
  data_ = std::move(session);
  held_pluses_.clear();
  last_byte_ = now_();
  arm_idle_timer();
}

void AtEngine::arm_idle_timer() {
  idle_timer_.cancel();
  if (!data_) return;
  const double seconds = data_->idle_timeout_seconds();
  if (seconds <= 0) return;
  idle_timer_.expires_after(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
  idle_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || !data_) return;
    leave_data_mode(DataEnd::Timeout);
  });
}

void AtEngine::arm_escape_timer() {
  escape_timer_.expires_after(guard_);
  escape_timer_.async_wait([this, generation = generation_](boost::system::error_code ec) {
    if (ec || generation != generation_ || !data_ || held_pluses_.size() != 3) return;
    held_pluses_.clear();
    leave_data_mode(DataEnd::Escape);
  });
}

void AtEngine::receive_data_bytes(std::string_view bytes) {
  const auto now = now_();
  const bool quiet_before = now - last_byte_ >= guard_;
  last_byte_ = now;
  arm_idle_timer();
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
      if (!data_) return;
    }
    // A '+' can begin an escape only after a quiet guard time, which cannot happen inside
    // one read: the rest of the read is data.
    deliver_data(bytes.substr(i));
    return;
  }
  if (held_pluses_.size() == 3) arm_escape_timer();
}

void AtEngine::deliver_data(std::string_view bytes) {
  if (!data_ || bytes.empty()) return;
  data_->on_data(bytes);
  // Bytes past what the session asked for are dropped: real host tools pad their last chunk.
  if (data_->complete()) leave_data_mode(DataEnd::Complete);
}

void AtEngine::end_data_mode(DataEnd why) {
  if (data_) leave_data_mode(why);
}

void AtEngine::leave_data_mode(DataEnd why) {
  idle_timer_.cancel();
  escape_timer_.cancel();
  held_pluses_.clear();
  auto session = std::move(data_);
  Reply reply = session->finish(why);
  std::string out = frame_information(reply.lines, profile_);
  switch (reply.outcome.kind) {
    case Outcome::Kind::Error:
      out += frame_result(ResultCode::Error, profile_);
      break;
    case Outcome::Kind::Cme:
      out += frame_cme_error(reply.outcome.cme, profile_);
      break;
    case Outcome::Kind::NoCarrier:
      out += frame_result(ResultCode::NoCarrier, profile_);
      break;
    default:
      out += frame_result(ResultCode::Ok, profile_);
      break;
  }
  writer_(std::move(out));
  flush_urcs();
  continue_pending_input();
}

}  // namespace bg95::at
