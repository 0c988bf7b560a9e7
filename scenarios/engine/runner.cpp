#include "scenarios/engine/runner.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "scenarios/engine/host_driver.hpp"
#include "scenarios/engine/rule_engine.hpp"
#include "scenarios/engine/setup.hpp"
#include "scenarios/package_server/package_server.hpp"
#include "sim/module_host.hpp"
#include "sim/transcript.hpp"

namespace bg95::scenario {
namespace {

using Clock = std::chrono::steady_clock;

// A folder of our own for the module's state, removed at the end unless kept.
class WorkDir {
 public:
  WorkDir(const std::filesystem::path& parent, const std::string& name, bool keep) : keep_(keep) {
    const auto base = parent.empty() ? std::filesystem::temp_directory_path() : parent;
    std::filesystem::create_directories(base);
    std::string tmpl = (base / (name + "-XXXXXX")).string();
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("cannot make a folder in " + base.string());
    path_ = tmpl;
  }
  ~WorkDir() {
    std::error_code ec;
    if (!keep_) std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_;
};

std::string safe_file_name(const std::string& name) {
  std::string out;
  for (const char c : name)
    out +=
        std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  return out.empty() ? "scenario" : out;
}

// The module's writes per port, with their times, for a replay: it opens a port at the same
// point as the recording, and checks the writes' order and gaps.
class WriteCounter : public PortTap {
 public:
  void module_bytes(std::string_view port, std::string_view bytes, bool delivered) override {
    std::lock_guard lock(mutex_);
    writes_[std::string(port)].push_back({Clock::now(), std::string(bytes), delivered});
    changed_.notify_all();
  }
  bool wait(const std::string& port, std::uint64_t count, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, deadline, [&] { return writes_[port].size() >= count; });
  }
  std::vector<HostDriver::Env::ModuleWrite> writes(const std::string& port) {
    std::lock_guard lock(mutex_);
    return writes_[port];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, std::vector<HostDriver::Env::ModuleWrite>> writes_;
};

class Run {
 public:
  Run(const Scenario& s, const RunOptions& o)
      : s_(s), o_(o), work_(o.work_dir, "bg95scenario", o.keep_state) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  }
  ~Run() {
    stop_loop();
    // The module goes first, then what watched it (nothing calls into them any more).
    if (host_) {
      host_->remove_tap(&writes_);
      if (rules_) host_->remove_tap(rules_.get());
      if (transcript_) {
        host_->remove_tap(transcript_.get());
        host_->module().remove_observer(transcript_.get());
      }
    }
    rules_.reset();
    host_.reset();
    transcript_.reset();
    setup_.reset();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }

  RunResult execute();

 private:
  void prepare();
  void set_verdict(bool pass, const std::string& reason);
  void progress(const std::string& line) const {
    if (o_.progress) o_.progress(line);
  }
  // A transcript line from the host's thread.
  void post_event(const std::string& kind, const std::string& text, nlohmann::json extra = {});
  std::function<std::string(std::string)> replay_translation(
      const std::filesystem::path& file) const;
  void stop_loop();
  template <typename F>
  auto on_loop(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto done = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return done.get();
  }

  const Scenario& s_;
  const RunOptions& o_;
  WorkDir work_;
  boost::asio::io_context io_;
  std::thread loop_;
  int wake_fd_ = -1;

  std::unique_ptr<ScenarioSetup> setup_;
  WriteCounter writes_;
  std::unique_ptr<ModuleHost> host_;
  std::unique_ptr<Transcript> transcript_;
  std::unique_ptr<RuleEngine> rules_;

  std::mutex verdict_mutex_;
  std::optional<std::pair<bool, std::string>> verdict_;
};

void Run::prepare() {
  setup_ = std::make_unique<ScenarioSetup>(s_, io_.get_executor(), work_.path());
  if (auto* server = setup_->server())
    server->on_event([this](const pkgserver::ServerEvent& e) {
      if (transcript_) transcript_->event("server", pkgserver::to_string(e));
    });
  ModuleConfig config = setup_->module_config(work_.path() / "state");
  PortOptions ports;
  ports.pacing = config.timing.profile == Timing::Profile::Realistic;
  if (s_.module.usb_port) ports.usb_link = work_.path() / "usb";
  host_ = std::make_unique<ModuleHost>(io_.get_executor(), std::move(config), std::move(ports),
                                       pty::OpenWatcher::create(io_.get_executor()));
  Module& m = host_->module();
  setup_->prepare_module(m);
  if (!o_.transcript_dir.empty()) {
    nlohmann::json header{
        {"scenario", {{"name", s_.name}, {"file", s_.file.string()}, {"source", s_.source}}},
        {"module", {{"model", m.settings().model}, {"imei", m.settings().identity.imei}}},
        // What ${...} meant in this run (server addresses change from run to run: a replay
        // maps them).
        {"vars", setup_->vars()}};
    transcript_ = std::make_unique<Transcript>(o_.transcript_dir / safe_file_name(s_.name), header);
    m.add_observer(transcript_.get());
    host_->add_tap(transcript_.get());
  }
  RuleEngine::Hooks hooks;
  hooks.event = [this](std::string_view kind, std::string_view text) {
    if (transcript_) transcript_->event(kind, text);
    if (kind == "rule" || kind == "log") progress(std::string(text));
  };
  hooks.verdict = [this](bool pass, const std::string& reason) { set_verdict(pass, reason); };
  hooks.server_faults = [this](const YAML::Node& faults) {
    try {
      setup_->set_server_faults(faults);
    } catch (const std::exception& e) {
      set_verdict(false, std::string("server faults: ") + e.what());
    }
  };
  hooks.substitute = [this](const std::string& t) { return setup_->substitute(t); };
  // The runner's one module is module 1 of a fleet: rules for other modules never fire here.
  rules_ = std::make_unique<RuleEngine>(m, rules_for(s_.rules, 1), std::move(hooks));
  host_->add_tap(rules_.get());
}

void Run::set_verdict(bool pass, const std::string& reason) {
  {
    std::lock_guard lock(verdict_mutex_);
    if (verdict_) return;  // the first verdict stands
    verdict_ = std::make_pair(pass, reason);
  }
  if (transcript_)
    transcript_->event("verdict",
                       std::string(pass ? "pass" : "fail") + (reason.empty() ? "" : ": " + reason));
  const std::uint64_t one = 1;
  [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
}

void Run::post_event(const std::string& kind, const std::string& text, nlohmann::json extra) {
  boost::asio::post(io_, [this, kind, text, extra = std::move(extra)] {
    if (transcript_) transcript_->event(kind, text, extra);
  });
}

void Run::stop_loop() {
  if (!loop_.joinable()) return;
  boost::asio::post(io_, [this] {
    if (host_) host_->module().shutdown();
    if (setup_) setup_->stop_servers();
    io_.stop();
  });
  loop_.join();
}

// Text of the recording to text of this run: each server address of the recording becomes
// this run's (the ports are ephemeral).
std::function<std::string(std::string)> Run::replay_translation(
    const std::filesystem::path& file) const {
  std::ifstream in(file);
  std::string first;
  std::getline(in, first);
  std::vector<std::pair<std::string, std::string>> map;
  try {
    const auto header = nlohmann::json::parse(first);
    if (header.contains("vars"))
      for (const auto& [key, value] : header["vars"].items()) {
        const bool address = key.starts_with("server.") || key == "lwm2m.uri";
        const auto now = setup_->vars().find(key);
        if (address && now != setup_->vars().end() && value.is_string() &&
            value.get<std::string>() != now->second && !key.ends_with(".port"))
          map.emplace_back(value.get<std::string>(), now->second);
      }
  } catch (const std::exception&) {
    // The replay itself reports a header it cannot read.
  }
  return [map](std::string text) {
    for (const auto& [from, to] : map)
      for (std::size_t at = text.find(from); at != std::string::npos;
           at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
  };
}

RunResult Run::execute() {
  RunResult result;
  result.name = s_.name;
  result.file = s_.file;
  const auto started = Clock::now();
  auto finish = [&](bool pass, std::string reason) {
    result.verdict_pass = pass;
    result.reason = std::move(reason);
    result.passed = pass == s_.expect.pass;
    result.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    return result;
  };
  try {
    prepare();
  } catch (const std::exception& e) {
    return finish(false, std::string("set-up failed: ") + e.what());
  }
  if (transcript_) result.transcript = transcript_->text_file();
  for (const auto& [key, value] : setup_->vars())
    progress(fmt::format("  ${{{}}} = {}", key, value));

  HostDriver::Env env;
  env.port_path = [this](const std::string& port) {
    return port == "usb" ? (work_.path() / "usb").string() : host_->uart().path();
  };
  env.substitute = [this](const std::string& t) { return setup_->substitute(t); };
  env.step_started = [this](std::size_t index, const std::string& text) {
    progress(fmt::format("  step {}: {}", index + 1, text));
    post_event("step", text, {{"index", index}});
  };
  env.act = [this](const std::vector<Action>& actions, const std::string& why) {
    boost::asio::post(io_, [this, actions, why] { rules_->run(actions, why); });
  };
  env.package = [this](const std::string& name) { return &setup_->package(name).bytes; };
  env.lwm2m = setup_->lwm2m();
  env.wake_fd = wake_fd_;
  env.deadline = Clock::now() + s_.timeout;
  env.default_timeout = s_.host.timeout;
  env.guard_time = s_.module.config.guard_time;
  if (o_.replay) {
    env.translate = replay_translation(*o_.replay);
    host_->add_tap(&writes_);
    env.wait_module_writes = [this](const std::string& port, std::uint64_t n,
                                    Clock::time_point until) {
      return writes_.wait(port, n, until);
    };
    env.module_writes = [this](const std::string& port) { return writes_.writes(port); };
  }
  HostDriver driver(env);

  // The host has its ports open before power comes (so it sees the banner): the UART, or the
  // ports the script's first steps open; a replay opens them where the recording did.
  std::size_t first_step = 0;
  try {
    if (o_.replay) {
      driver.replay_open_first(*o_.replay);
    } else {
      first_step = driver.open_first(s_.host.steps);
      if (first_step == 0) driver.open("uart");
    }
  } catch (const std::exception& e) {
    return finish(false, e.what());
  }
  loop_ = std::thread([this] { io_.run(); });
  boost::asio::post(io_, [this] {
    rules_->start();
    host_->module().power_on();
  });

  std::optional<std::string> failure;
  try {
    if (o_.replay) {
      failure = driver.replay(*o_.replay, o_.replay_real_time, s_.host.steps);
    } else if (s_.host.present) {
      failure = driver.run(s_.host.steps, first_step);
    } else {
      // No host: the rules decide; the time-out ends a run that never gets a verdict.
      pollfd p{wake_fd_, POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(s_.timeout.count()));
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  std::optional<std::pair<bool, std::string>> verdict;
  {
    std::lock_guard lock(verdict_mutex_);
    verdict = verdict_;
  }
  result.host_tail = driver.tail("uart");
  if (!failure && !verdict && !s_.host.present && !o_.replay)
    failure = fmt::format("no verdict within the scenario's time-out ({} ms)", s_.timeout.count());
  if (!failure && (!verdict || verdict->first))
    failure = on_loop([this] { return setup_->check(host_->module()); });
  for (std::size_t i = 0; const auto n : on_loop([this] { return rules_->fired_counts(); })) {
    if (n > 0) result.rules_fired.push_back(fmt::format("{} x{}", s_.rules[i].name, n));
    ++i;
  }
  bool pass = true;
  std::string reason = "host script done";
  if (o_.replay) reason = "replayed: the module answered as recorded";
  if (verdict) {
    pass = verdict->first;
    reason = std::string("verdict ") + (pass ? "pass" : "fail") +
             (verdict->second.empty() ? "" : ": " + verdict->second);
  }
  if (failure) {
    pass = false;
    reason = *failure;
    set_verdict(false, reason);  // into the transcript
  }
  stop_loop();
  if (transcript_) transcript_->flush();
  return finish(pass, reason);
}

}  // namespace

RunResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  Run run(scenario, options);
  return run.execute();
}

}  // namespace bg95::scenario
