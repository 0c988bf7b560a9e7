#include "scenarios/engine/host_driver.hpp"

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "scenarios/lwm2m_server/lwm2m_server.hpp"
#include "sim/transcript.hpp"
#include "sim/util/base64.hpp"

namespace bg95::scenario {
namespace {

using Clock = HostPort::Clock;

std::string show(std::string_view bytes, std::size_t max = 400) {
  // The end of what arrived is what matters when an expect fails.
  if (bytes.size() > max) bytes = bytes.substr(bytes.size() - max);
  return Transcript::escape(bytes, max);
}

}  // namespace

Clock::time_point HostDriver::limit(Duration timeout) const {
  return std::min(Clock::now() + timeout, env_.deadline);
}

void HostDriver::open(const std::string& port, std::uint32_t baud) {
  ports_[port].open(env_.port_path(port), baud);
}

std::string HostDriver::tail(const std::string& port) const {
  const auto it = history_.find(port);
  return it == history_.end() ? std::string() : show(it->second, 600);
}

bool HostDriver::drain_until(Clock::time_point until) {
  while (Clock::now() < until) {
    auto open = std::find_if(ports_.begin(), ports_.end(),
                             [](const auto& p) { return p.second.is_open(); });
    if (open == ports_.end()) {
      // Nothing to read: wait on the wake-up descriptor alone.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      pollfd p{env_.wake_fd, POLLIN, 0};
      if (::poll(&p, env_.wake_fd >= 0 ? 1 : 0,
                 static_cast<int>(std::max<long long>(left.count(), 0))) > 0) {
        woken_ = true;
        return false;
      }
      continue;
    }
    std::string got;
    if (open->second.read(got, until, env_.wake_fd) == HostPort::Wait::Woken) {
      woken_ = true;
      return false;
    }
    received_[open->first] += got;
    history_[open->first] += got;
  }
  return true;
}

std::optional<std::string> HostDriver::send(const std::string& port, std::string_view bytes) {
  auto it = ports_.find(port);
  if (it == ports_.end() || !it->second.is_open())
    return fmt::format("the host has no open {} port to send to", port);
  const auto w = it->second.write(bytes, limit(env_.default_timeout), env_.wake_fd);
  if (w == HostPort::Wait::Woken) woken_ = true;
  if (w == HostPort::Wait::Deadline) return "the module took no more bytes (the port is full)";
  if (w == HostPort::Wait::Gone) return fmt::format("the {} port went away while sending", port);
  return std::nullopt;
}

std::optional<std::string> HostDriver::expect(const std::string& port, const Pattern& pattern,
                                              Duration timeout, bool absent) {
  const auto until = limit(timeout);
  std::string& buffer = received_[port];
  while (true) {
    std::smatch m;
    if (std::regex_search(buffer, m, pattern.regex)) {
      if (absent)
        return fmt::format("\"{}\" arrived: ...{}", pattern.text,
                           show(std::string_view(buffer).substr(
                               0, static_cast<std::size_t>(m.position(0) + m.length(0)))));
      buffer.erase(0, static_cast<std::size_t>(m.position(0) + m.length(0)));
      return std::nullopt;
    }
    auto it = ports_.find(port);
    if (it == ports_.end() || !it->second.is_open()) {
      if (absent) return std::nullopt;
      return fmt::format("waiting for \"{}\" on a closed {} port; received: \"{}\"", pattern.text,
                         port, show(buffer));
    }
    if (Clock::now() >= until) {
      if (absent) return std::nullopt;
      const bool scenario_end = until == env_.deadline;
      return fmt::format(
          "\"{}\" did not arrive within {} ms{}; received since the last match: \"{}\"",
          pattern.text, timeout.count(), scenario_end ? " (the scenario's time-out)" : "",
          show(buffer));
    }
    std::string got;
    const auto w = it->second.read(got, until, env_.wake_fd);
    if (w == HostPort::Wait::Woken) {
      woken_ = true;
      return std::nullopt;
    }
    buffer += got;
    history_[port] += got;
  }
}

std::size_t HostDriver::open_first(const std::vector<HostStep>& steps) {
  std::size_t n = 0;
  for (; n < steps.size() && steps[n].kind == HostStep::Kind::Open; ++n) {
    if (env_.step_started) env_.step_started(n, steps[n].describe());
    open(steps[n].port);
  }
  return n;
}

std::optional<std::string> HostDriver::run(const std::vector<HostStep>& steps, std::size_t first) {
  for (std::size_t i = first; i < steps.size() && !woken_; ++i) {
    if (env_.step_started) env_.step_started(i, steps[i].describe());
    if (auto failure = step(steps[i], i)) {
      return fmt::format("step {} (line {}, {}): {}", i + 1, steps[i].line, steps[i].describe(),
                         *failure);
    }
  }
  return std::nullopt;
}

std::optional<std::string> HostDriver::step(const HostStep& s, std::size_t index) {
  switch (s.kind) {
    case HostStep::Kind::Send: {
      if (!s.package) return send(s.port, env_.substitute(s.text));
      const auto* bytes = env_.package(*s.package);
      // In chunks, as host tools write them; the last one padded when asked (0xFF by the
      // widely used updater).
      for (std::size_t at = 0; at < bytes->size() && !woken_; at += s.chunk) {
        std::string chunk(reinterpret_cast<const char*>(bytes->data()) + at,
                          std::min(s.chunk, bytes->size() - at));
        if (s.pad && chunk.size() < s.chunk) chunk.resize(s.chunk, static_cast<char>(*s.pad));
        if (auto f = send(s.port, chunk)) return f;
      }
      return std::nullopt;
    }
    case HostStep::Kind::Expect:
    case HostStep::Kind::ExpectNot: {
      Pattern p = *s.pattern;
      if (p.text.find("${") != std::string::npos) {
        const std::string text = env_.substitute(p.text);
        p = s.literal ? literal(text) : Pattern{text, std::regex(text)};
      }
      if (s.kind == HostStep::Kind::ExpectNot) return expect(s.port, p, *s.timeout, true);
      return expect(s.port, p, s.timeout.value_or(env_.default_timeout), false);
    }
    case HostStep::Kind::Pause:
      drain_until(limit(s.duration));
      return std::nullopt;
    case HostStep::Kind::Open:
      try {
        open(s.port);
      } catch (const std::exception& e) {
        return std::string(e.what());
      }
      return std::nullopt;
    case HostStep::Kind::Close:
      ports_[s.port].close();
      received_[s.port].clear();
      return std::nullopt;
    case HostStep::Kind::Baud:
      if (!ports_[s.port].is_open()) return "the port is not open";
      ports_[s.port].set_baud(s.baud);
      return std::nullopt;
    case HostStep::Kind::Do:
      env_.act(s.actions, fmt::format("host step {}", index + 1));
      return std::nullopt;
    case HostStep::Kind::Lwm2m:
      return lwm2m(s);
  }
  return std::nullopt;
}

std::optional<std::string> HostDriver::lwm2m(const HostStep& s) {
  if (!env_.lwm2m) return "the scenario has no lwm2m_server";
  const auto timeout = s.timeout.value_or(env_.default_timeout);
  try {
    auto& server = *env_.lwm2m;
    if (s.op == "wait_registration") {
      server.wait_registration(s.count, timeout);
      return std::nullopt;
    }
    if (s.op == "wait_notification") {
      const auto it = observe_tokens_.find(s.path);
      if (it == observe_tokens_.end()) return "observe " + s.path + " first";
      server.wait_notification(it->second, env_.substitute(s.value), timeout);
      return std::nullopt;
    }
    peer::Lwm2mServer::Response r;
    if (s.op == "write") r = server.write(s.path, env_.substitute(s.value));
    if (s.op == "execute") r = server.execute(s.path);
    if (s.op == "read") r = server.read(s.path);
    if (s.op == "observe") {
      r = server.observe(s.path);
      observe_tokens_[s.path] = r.token;
    }
    if (r.code / 100 != 2)
      return fmt::format("{} {} answered {}.{:02}", s.op, s.path, r.code / 100, r.code % 100);
    if (s.op == "read" && !s.value.empty() && r.payload != env_.substitute(s.value))
      return fmt::format("read {} gave \"{}\", not \"{}\"", s.path, r.payload,
                         env_.substitute(s.value));
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

// ---- replay ------------------------------------------------------------------------------

void HostDriver::replay_open_first(const std::filesystem::path& jsonl) {
  std::ifstream in(jsonl);
  std::string line;
  std::map<std::string, bool> written;
  while (std::getline(in, line)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception&) {
      return;  // replay() reports it
    }
    const std::string type = j.value("type", "");
    const std::string port = j.value("port", "uart");
    if (type == "module") written[port] = true;
    if (type == "open" && !written[port] && !ports_[port].is_open()) open(port);
  }
}

std::optional<std::string> HostDriver::replay(const std::filesystem::path& jsonl, bool real_time,
                                              const std::vector<HostStep>& steps) {
  std::ifstream in(jsonl);
  if (!in) return jsonl.string() + ": cannot be read";
  std::map<std::string, std::string> expected;  // delivered module bytes so far, per port
  std::map<std::string, std::uint64_t> writes;  // module writes so far (lost ones too), per port
  std::map<std::string, std::vector<RecordedWrite>> recorded;  // delivered ones, per port
  std::map<std::string, bool> host_acted;  // per port: host bytes, open or close since the last
  std::string line;
  std::size_t number = 0;
  double last_host_t = 0;
  auto last_sent = Clock::now();
  // Gaps longer than this are shortened (a person's pauses), but never below what a "+++"
  // guard time needs.
  const auto cap = std::max<Duration>(std::chrono::seconds(2), 2 * env_.guard_time);
  auto bytes_of = [this](const nlohmann::json& j) -> std::optional<std::string> {
    std::optional<std::string> b;
    if (j.contains("text")) b = j["text"].get<std::string>();
    if (j.contains("b64")) b = util::base64_decode(j["b64"].get<std::string>());
    if (b && env_.translate) b = env_.translate(*b);
    return b;
  };
  // Waits until the module has sent on `port` what it had sent by now in the recording, and
  // compares it; a difference ends the wait at once.
  auto catch_up = [&](const std::string& port) -> std::optional<std::string> {
    const std::string& want = expected[port];
    std::string& got = history_[port];
    const auto until = limit(std::chrono::seconds(30));
    auto differs = [&] {
      const std::size_t n = std::min(got.size(), want.size());
      return std::mismatch(want.begin(), want.begin() + static_cast<long>(n), got.begin()).first -
             want.begin();
    };
    while (got.size() < want.size() && static_cast<std::size_t>(differs()) == got.size() &&
           Clock::now() < until && !woken_) {
      auto it = ports_.find(port);
      if (it == ports_.end() || !it->second.is_open()) break;
      std::string more;
      if (it->second.read(more, until, env_.wake_fd) == HostPort::Wait::Woken) woken_ = true;
      got += more;
    }
    const auto at = static_cast<std::size_t>(differs());
    if (at < std::min(got.size(), want.size()) || got.size() < want.size()) {
      const std::size_t from = at > 80 ? at - 80 : 0;
      return fmt::format(
          "the module's {} output differs at byte {}:\n  recorded: \"{}\"\n  replayed: \"{}\"",
          port, at, Transcript::escape(std::string_view(want).substr(from, 200)),
          Transcript::escape(std::string_view(got).substr(std::min(from, got.size()), 200)));
    }
    return std::nullopt;
  };
  while (std::getline(in, line)) {
    ++number;
    if (woken_) break;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      return fmt::format("{}:{}: not JSON: {}", jsonl.string(), number, e.what());
    }
    const std::string type = j.value("type", "");
    const std::string port = j.value("port", "uart");
    if (type == "module") {
      ++writes[port];
      if (j.value("lost", false)) continue;
      const auto b = bytes_of(j);
      if (!b) return fmt::format("{}:{}: module bytes without text or b64", jsonl.string(), number);
      expected[port] += *b;
      recorded[port].push_back({j.value("t", 0.0), *b, std::exchange(host_acted[port], false)});
    } else if (type == "host") {
      host_acted[port] = true;
      // Bytes the module did not hear (it was booting, off or in DFOTA mode) are not sent
      // again: a replay's module may be quicker and hear them.
      if (j.value("ignored", false)) continue;
      const auto b = bytes_of(j);
      if (!b) return fmt::format("{}:{}: host bytes without text or b64", jsonl.string(), number);
      if (auto f = catch_up(port)) return f;
      // Keep the host's timing where it matters (guard times, time-outs).
      const double t = j.value("t", 0.0);
      auto gap =
          std::chrono::duration_cast<Duration>(std::chrono::duration<double>(t - last_host_t));
      if (!real_time) gap = std::min(gap, cap);
      drain_until(std::min(last_sent + gap, env_.deadline));
      if (auto f = send(port, *b)) return f;
      last_sent = Clock::now();
      last_host_t = t;
    } else if (type == "event" && j.value("kind", "") == "step") {
      // Steps that leave no bytes on the port (module-side actions, LwM2M requests) are
      // done again at the same place.
      const auto index = j.value("index", std::size_t{0});
      if (index < steps.size() &&
          (steps[index].kind == HostStep::Kind::Do || steps[index].kind == HostStep::Kind::Lwm2m)) {
        if (auto f = catch_up(port)) return f;
        if (auto f = step(steps[index], index))
          return fmt::format("replaying step {}: {}", index + 1, *f);
      }
    } else if (type == "open") {
      host_acted[port] = true;
      // The host opens the port where it did then: after the module's writes before it (a
      // banner the host missed then must be missed again).
      if (env_.wait_module_writes &&
          !env_.wait_module_writes(port, writes[port], limit(std::chrono::seconds(30))))
        return fmt::format(
            "the module did not write to {} {} times before the host opened it, as recorded", port,
            writes[port]);
      if (!ports_[port].is_open()) open(port);
    } else if (type == "close") {
      host_acted[port] = true;
      if (auto f = catch_up(port)) return f;
      ports_[port].close();
    }
  }
  for (const auto& [port, want] : expected) {
    (void)want;
    if (auto f = catch_up(port)) return f;
  }
  if (woken_) return std::nullopt;
  for (const auto& [port, list] : recorded) {
    // The host may have read the last bytes before the tap that counts the module's writes has
    // heard of them: wait for as many writes as the recording has.
    if (env_.wait_module_writes)
      env_.wait_module_writes(port, writes[port], limit(std::chrono::seconds(5)));
    if (auto f = check_writes(port, list)) return f;
  }
  return std::nullopt;
}

std::optional<std::string> HostDriver::check_writes(
    const std::string& port, const std::vector<RecordedWrite>& recorded) const {
  if (!env_.module_writes) return std::nullopt;
  // The replay's writes by the offset in the port's output where each starts.
  std::vector<std::pair<std::size_t, HostPort::Clock::time_point>> starts;
  std::size_t offset = 0;
  for (const auto& w : env_.module_writes(port)) {
    if (!w.delivered || w.bytes.empty()) continue;
    starts.emplace_back(offset, w.at);
    offset += w.bytes.size();
  }
  // The replay's write that holds byte `at`.
  auto holding = [&](std::size_t at) {
    auto it = std::upper_bound(starts.begin(), starts.end(), at,
                               [](std::size_t a, const auto& s) { return a < s.first; });
    return it == starts.begin() ? starts.end() : it - 1;
  };
  // First the cuts (what the bytes are), then the gaps (when they came): a write the replay
  // does not make apart is the finding, whatever the timers did.
  for (const bool gaps : {false, true}) {
    std::size_t at = 0;
    for (std::size_t k = 0; k < recorded.size(); at += recorded[k].bytes.size(), ++k) {
      // A write that follows something the host did may be cut as the host's bytes came (an
      // echo of a line typed in two reads); one that follows the module's own write must start
      // a write in the replay too: an echo and its answer apart, each URC alone.
      if (k == 0 || recorded[k].after_host) continue;
      const auto here = holding(at);
      if (here == starts.end() || at >= offset) break;  // fewer bytes: catch_up() has said so
      if (here->first != at)
        return fmt::format(
            "the module's {} write {} (\"{}\") was not a write of its own in the replay (the "
            "same bytes, cut otherwise; byte {} is inside the replay's write {} of bytes {}-{})",
            port, k + 1, Transcript::escape(recorded[k].bytes, 60), at, here - starts.begin() + 1,
            here->first, here + 1 == starts.end() ? offset : (here + 1)->first);
      if (!gaps) continue;
      // Its gap from the write before, when nothing the host did came between them.
      const auto before = holding(at - recorded[k - 1].bytes.size());
      const double want = recorded[k].t - recorded[k - 1].t;
      const double have = std::chrono::duration<double>(here->second - before->second).count();
      const double allowed =
          std::chrono::duration<double>(kGapTolerance).count() + kGapToleranceShare * want;
      if (std::abs(have - want) > allowed)
        return fmt::format(
            "the module's {} write {} (\"{}\") came {:.3f} s after the one before, recorded "
            "{:.3f} s (tolerance {:.3f} s)",
            port, k + 1, Transcript::escape(recorded[k].bytes, 60), have, want, allowed);
    }
  }
  return std::nullopt;
}

}  // namespace bg95::scenario
