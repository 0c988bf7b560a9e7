#include "scenarios/report/html_report.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "scenarios/engine/junit.hpp"

namespace bg95::report {
namespace {

// ------------------------------------------------------------------ reading

// "+QIND: "FOTA","<WORD>"[,<n>]" (note, chapter 3): the URCs a DFOTA is followed by.
struct FotaUrc {
  std::string word;
  std::optional<int> number;
};
std::optional<FotaUrc> fota_urc(const std::string& text) {
  static const std::regex re(R"re(^\+QIND: "FOTA","([A-Z]+)"(?:,(-?\d+))?)re");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  FotaUrc u{m[1].str(), std::nullopt};
  if (m[2].matched) u.number = std::stoi(m[2].str());
  return u;
}

// The final result code that ends an AT answer, if the bytes hold one.
std::string final_result(const std::string& answer) {
  static const std::regex re(
      R"re(\r\n(OK|ERROR|\+CME ERROR: ?\d+|\+CMS ERROR: ?\d+|CONNECT|NO CARRIER)\r\n)re");
  std::string last;
  for (auto it = std::sregex_iterator(answer.begin(), answer.end(), re);
       it != std::sregex_iterator(); ++it)
    last = (*it)[1].str();
  return last;
}

// Power events (sim/module.cpp, power_event_name) to the state that follows them.
struct PowerState {
  const char* state;
  const char* css;
};
std::optional<PowerState> power_state_after(const std::string& event) {
  static const std::map<std::string, PowerState, std::less<>> table{
      {"power on", {"booting", "power-booting"}},
      {"restart", {"booting", "power-booting"}},
      {"reset", {"booting", "power-booting"}},
      {"booted", {"on", "power-on"}},
      {"DFOTA mode", {"DFOTA mode", "power-dfota"}},
      {"boot failed", {"off", "power-off"}},
      {"power off", {"off", "power-off"}},
      {"power cut", {"off", "power-off"}},
      {"PSM", {"PSM", "power-psm"}},
  };
  const auto it = table.find(event);
  if (it == table.end()) return std::nullopt;
  return it->second;
}

// Builds a ModuleRun from the transcript's records, one at a time.
class Reader {
 public:
  explicit Reader(ModuleRun& run) : run_(run) {}

  void header(const nlohmann::json& h, const std::string& stem) {
    run_.name = stem;
    if (h.contains("scenario") && h["scenario"].contains("name"))
      run_.name = h["scenario"]["name"].get<std::string>();
    if (h.contains("module")) {
      run_.model = h["module"].value("model", "");
      run_.imei = h["module"].value("imei", "");
    }
  }

  void record(const nlohmann::json& j) {
    const double t = j.value("t", 0.0);
    run_.duration = std::max(run_.duration, t);
    const std::string type = j.value("type", "");
    if (type == "flash") {
      run_.flash_ops.push_back(t);
      if (j.value("fault", "none") != "none") run_.flash_faults.push_back(t);
    } else if (type == "module") {
      module_bytes(j);
    } else if (type == "open" || type == "close") {
      add_mark(t, "port",
               fmt::format("host {} the {} port", type == "open" ? "opened" : "closed",
                           j.value("port", "")),
               "", type == "open" ? "port-open" : "port-close");
    } else if (type == "event") {
      event(t, j.value("kind", ""), j.value("text", ""), j);
    }
  }

  void finish() {
    close_span(power_, run_.duration);
    close_span(download_, run_.duration);
    close_span(update_, run_.duration);
    if (dfota_) run_.dfotas.push_back(*dfota_);
  }

 private:
  void event(double t, const std::string& kind, const std::string& text, const nlohmann::json& j) {
    if (kind == "power") {
      power(t, text);
    } else if (kind == "command") {
      command(t, j.value("port", ""), text);
    } else if (kind == "urc") {
      urc(t, text);
    } else if (kind == "download") {
      download(t, j);
    } else if (kind == "update") {
      update(t, j.value("phase", ""), j.value("percent", 0));
    } else if (kind == "log") {
      log(t, text);
    } else if (kind == "verdict") {
      run_.verdict = text;
      add_mark(t, "rule", "verdict: " + text, "", "verdict");
    } else if (kind == "rule" || kind == "action") {
      add_mark(t, "rule", text, "", "rule");
    } else if (kind == "network" || kind == "dtr") {
      add_mark(t, "network", text, "", kind);
    } else if (kind == "server") {
      add_mark(t, "server", text, "", "server");
    } else if (kind == "step") {
      add_mark(t, "step", text, "", "step");
    }
  }

  void power(double t, const std::string& text) {
    if (text == "power cut") {
      add_mark(t, "power", "power cut", "", "power-cut");
      if (dfota_ && !dfota_->update_end)
        dfota_->cuts_at.push_back(dfota_->update_start ? dfota_->highest_percent : -1);
      close_span(update_, t);
      close_span(download_, t);
    } else {
      add_mark(t, "power", text, "", "power-event");
    }
    if (text == "DFOTA mode") {
      if (!dfota_) open_dfota();
      if (!dfota_->mode_entered) dfota_->mode_entered = t;
    }
    if (const auto s = power_state_after(text)) {
      close_span(power_, t);
      power_ = Span{t, t, "power", s->state, s->css};
    }
  }

  void command(double t, const std::string& port, const std::string& text) {
    add_mark(t, "at", text, "", "at");
    open_command_[port] = run_.marks.size() - 1;
    answers_[port].clear();
  }

  // The module's bytes after a command, up to its final result, become the command's detail.
  void module_bytes(const nlohmann::json& j) {
    const std::string port = j.value("port", "");
    const auto open = open_command_.find(port);
    if (open == open_command_.end() || !j.contains("text")) return;
    std::string& answer = answers_[port];
    answer += j["text"].get<std::string>();
    Mark& m = run_.marks[open->second];
    const std::string result = final_result(answer);
    if (result.empty() && answer.size() < 4096) return;
    m.detail = answer.substr(0, 4096);
    m.label += " → " + (result.empty() ? std::string("(no final result)") : result);
    if (result != "OK" && !result.empty() && result != "CONNECT") m.css = "at-error";
    fold(open->second);
    open_command_.erase(open);
  }

  void urc(double t, const std::string& text) {
    const auto u = fota_urc(text);
    if (u && (u->word == "DOWNLOADING" || u->word == "UPDATING")) return;  // drawn as bars
    add_mark(t, "urc", text, "", u && u->number && *u->number != 0 ? "urc-error" : "urc");
    if (u) fota(t, *u);
  }

  void fota(double t, const FotaUrc& u) {
    if (u.word == "HTTPSTART" || u.word == "COAPSTART") {
      if (dfota_) finish_dfota();
      open_dfota();
      dfota_->download_start = t;
      dfota_->download_kind = u.word == "HTTPSTART" ? "HTTP" : "CoAP";
    } else if (u.word == "HTTPEND" || u.word == "COAPEND") {
      if (!dfota_) return;
      dfota_->download_end = t;
      dfota_->download_code = u.number;
      if (u.number.value_or(0) != 0) finish_dfota();
    } else if (u.word == "START") {
      if (!dfota_) open_dfota();
      if (!dfota_->update_start) dfota_->update_start = t;
    } else if (u.word == "END" && dfota_) {
      dfota_->update_end = t;
      dfota_->end_code = u.number;
      close_span(update_, t);
    }
  }

  void download(double t, const nlohmann::json& j) {
    const auto bytes = j.value("bytes", std::uint64_t{0});
    const auto total = j.value("total", std::uint64_t{0});
    const int percent = total > 0 ? static_cast<int>(bytes * 100 / total) : -1;
    if (!download_) download_ = Span{t, t, "download", "download", "download"};
    download_->to = t;
    download_->percent = std::max(download_->percent, percent);
    download_->label = total > 0 ? fmt::format("download {} %", download_->percent)
                                 : fmt::format("download {} bytes", bytes);
    if (total > 0 && bytes >= total) close_span(download_, t);
  }

  void update(double t, const std::string& phase, int percent) {
    if (!update_) update_ = Span{t, t, "update", phase, "update"};
    update_->to = t;
    update_->percent = std::max(update_->percent, percent);
    update_->label = fmt::format("{} {} %", phase, update_->percent);
    if (dfota_) dfota_->highest_percent = std::max(dfota_->highest_percent, percent);
  }

  void log(double t, const std::string& text) {
    static const std::string booted = "booted ";
    if (text.starts_with(booted)) {
      revision_ = text.substr(booted.size());
      if (dfota_ && (dfota_->update_end || dfota_->download_code.value_or(0) != 0)) {
        dfota_->booted = t;
        dfota_->to_revision = revision_;
        finish_dfota();
      }
    }
    if (dfota_ && text.find("download ended with ") != std::string::npos)
      dfota_->download_reason = text;
    if (dfota_ && text.find("update ended with ") != std::string::npos)
      dfota_->update_reason = text;
    if (text.starts_with("DFOTA summary") || text.find(" ended with ") != std::string::npos)
      add_mark(t, "rule", text, "", "log");
  }

  void open_dfota() {
    dfota_ = Dfota{};
    dfota_->from_revision = revision_;
  }
  void finish_dfota() {
    if (dfota_->to_revision.empty() && dfota_->booted) dfota_->to_revision = revision_;
    run_.dfotas.push_back(*dfota_);
    dfota_.reset();
  }

  void add_mark(double t, std::string lane, std::string label, std::string detail,
                std::string css) {
    run_.marks.push_back(
        Mark{t, std::move(lane), std::move(label), std::move(detail), std::move(css), {}, false});
    // A command is folded once its answer is known.
    if (run_.marks.back().lane != "at") fold(run_.marks.size() - 1);
  }

  // A mark like the one before it on its lane is folded into that one.
  void fold(std::size_t index) {
    Mark& m = run_.marks[index];
    for (std::size_t i = index; i-- > 0;) {
      Mark& before = run_.marks[i];
      if (before.folded || before.lane != m.lane) continue;
      if (before.label == m.label && before.css == m.css && before.detail == m.detail) {
        before.again.push_back(m.t);
        m.folded = true;
      }
      return;
    }
  }

  void close_span(std::optional<Span>& s, double t) {
    if (!s) return;
    s->to = std::max(s->to, t);
    if (s->lane != "power" || s->to > s->from) run_.spans.push_back(*s);
    s.reset();
  }

  ModuleRun& run_;
  std::optional<Span> power_, download_, update_;
  std::optional<Dfota> dfota_;
  std::string revision_;
  std::map<std::string, std::size_t> open_command_;  // port → index of its unanswered command
  std::map<std::string, std::string> answers_;
};

// ------------------------------------------------------------------ writing

// HTML text and attribute values: the same escaping as the JUnit report's XML.
std::string esc(std::string_view s) {
  return scenario::xml_escape(s);
}

// Bytes as the transcript's text form shows them: CR and LF visible, a line break after LF.
std::string visible(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n\n";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return esc(out);
}

std::string seconds(double s) {
  return s < 10 ? fmt::format("{:.3f} s", s) : fmt::format("{:.1f} s", s);
}

constexpr double kWidth = 1200, kLabel = 120, kRight = 20, kLaneHeight = 24, kTop = 24;

struct Lane {
  const char* id;
  const char* title;
};
constexpr Lane kLanes[] = {
    {"power", "Power"},       {"port", "Host port"}, {"at", "AT commands"},  {"urc", "URCs"},
    {"download", "Download"}, {"update", "Update"},  {"flash", "Flash ops"}, {"network", "Network"},
    {"rule", "Rules, logs"},  {"server", "Server"},  {"step", "Host steps"},
};

class Timeline {
 public:
  explicit Timeline(const ModuleRun& run) : run_(run) { span_ = std::max(run.duration, 1e-3); }

  std::string svg() const {
    const double height = kTop + kLaneHeight * std::size(kLanes) + 20;
    std::string out = fmt::format(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
        "viewBox=\"0 0 {} {}\">\n",
        kWidth, height, kWidth, height);
    out += lanes() + axis(height) + spans() + flash() + marks(height);
    out += "</svg>\n";
    return out;
  }

 private:
  double x(double t) const { return kLabel + (kWidth - kLabel - kRight) * t / span_; }
  static double lane_y(std::string_view id) {
    for (std::size_t i = 0; i < std::size(kLanes); ++i)
      if (id == kLanes[i].id) return kTop + kLaneHeight * static_cast<double>(i);
    return kTop;
  }

  std::string lanes() const {
    std::string out;
    for (const Lane& l : kLanes) {
      const double y = lane_y(l.id);
      out += fmt::format(
          "<rect class=\"lane\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>"
          "<text class=\"lane-title\" x=\"4\" y=\"{}\">{}</text>\n",
          kLabel, y, kWidth - kLabel - kRight, kLaneHeight - 2, y + 16, l.title);
    }
    return out;
  }

  std::string axis(double height) const {
    // A tick every 1, 2 or 5 × 10^n seconds, some 10 over the run.
    const double raw = span_ / 10;
    const double magnitude = std::pow(10, std::floor(std::log10(raw)));
    const double step = raw / magnitude < 2   ? magnitude
                        : raw / magnitude < 5 ? 2 * magnitude
                                              : 5 * magnitude;
    std::string out;
    for (double t = 0; t <= span_ + step / 1000; t += step)
      out += fmt::format(
          "<line class=\"tick\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\"/>"
          "<text class=\"tick-label\" x=\"{0:.1f}\" y=\"{3}\">{4:g} s</text>\n",
          x(t), kTop - 4, height - 20, kTop - 8, t);
    return out;
  }

  std::string spans() const {
    std::string out;
    for (const Span& s : run_.spans) {
      const double y = lane_y(s.lane) + 3;
      const double w = std::max(x(s.to) - x(s.from), 2.0);
      out += fmt::format(
          "<g class=\"span {}\"><title>{}: {} to {}</title><rect x=\"{:.1f}\" y=\"{}\" "
          "width=\"{:.1f}\" height=\"{}\"/>",
          s.css, esc(s.label), seconds(s.from), seconds(s.to), x(s.from), y, w, kLaneHeight - 8);
      if (w > 40)
        out += fmt::format("<text x=\"{:.1f}\" y=\"{}\">{}</text>", x(s.from) + 3, y + 12,
                           esc(s.label));
      out += "</g>\n";
    }
    return out;
  }

  // Flash operations as a histogram of 200 bins; faults as red ticks.
  std::string flash() const {
    if (run_.flash_ops.empty()) return {};
    constexpr std::size_t kBins = 200;
    std::vector<std::size_t> bins(kBins);
    for (const double t : run_.flash_ops)
      ++bins[std::min(kBins - 1, static_cast<std::size_t>(t / span_ * kBins))];
    const double most = static_cast<double>(*std::max_element(bins.begin(), bins.end()));
    const double y = lane_y("flash"), w = (kWidth - kLabel - kRight) / kBins;
    std::string out =
        fmt::format("<g class=\"flash\"><title>{} flash operations</title>", run_.flash_ops.size());
    for (std::size_t i = 0; i < kBins; ++i) {
      if (bins[i] == 0) continue;
      const double h = (kLaneHeight - 6) * static_cast<double>(bins[i]) / most;
      out += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>",
                         kLabel + w * static_cast<double>(i), y + kLaneHeight - 3 - h, w, h);
    }
    out += "</g>\n";
    for (const double t : run_.flash_faults)
      out += fmt::format(
          "<line class=\"flash-fault\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1}\" y2=\"{2}\">"
          "<title>flash fault at {3}</title></line>\n",
          x(t), y + 2, y + kLaneHeight - 4, seconds(t));
    return out;
  }

  std::string marks(double height) const {
    std::string out;
    auto mark = [&](double t, const std::string& lane, const std::string& label,
                    const std::string& css) {
      const double y = lane_y(lane);
      if (css == "power-cut" || css == "rule") {
        // Across every lane: what happened at that moment lines up with it.
        out += fmt::format(
            "<g class=\"{0}\"><title>{1} at {2}</title><line x1=\"{3:.1f}\" x2=\"{3:.1f}\" "
            "y1=\"{4}\" y2=\"{5}\"/><rect x=\"{6:.1f}\" y=\"{7}\" width=\"6\" height=\"{8}\"/>"
            "</g>\n",
            css, esc(label), seconds(t), x(t), kTop, height - 20, x(t) - 3, y + 4,
            kLaneHeight - 10);
      } else {
        out += fmt::format(
            "<g class=\"mark {}\"><title>{} at {}</title><rect x=\"{:.1f}\" y=\"{}\" width=\"3\" "
            "height=\"{}\"/></g>\n",
            css, esc(label), seconds(t), x(t) - 1, y + 4, kLaneHeight - 10);
      }
    };
    for (const Mark& m : run_.marks) {
      if (m.folded) continue;
      mark(m.t, m.lane, m.label, m.css);
      for (const double t : m.again)
        mark(t, m.lane, m.label, m.css);
    }
    return out;
  }

  const ModuleRun& run_;
  double span_;
};

std::string event_list(const ModuleRun& run) {
  // Marks and progress spans in time order; at most 3000 rows.
  struct Row {
    double t;
    std::string lane, label, detail, css;
    int count;
  };
  std::vector<Row> rows;
  for (const Mark& m : run.marks)
    if (!m.folded) rows.push_back({m.t, m.lane, m.label, m.detail, m.css, m.count()});
  for (const Span& s : run.spans)
    if (s.lane == "download" || s.lane == "update")
      rows.push_back(
          {s.from, s.lane, fmt::format("{} (until {})", s.label, seconds(s.to)), "", s.css, 1});
  if (!run.flash_ops.empty())
    rows.push_back(
        {run.flash_ops.front(), "flash",
         fmt::format("{} flash operations until {}, {} with a fault", run.flash_ops.size(),
                     seconds(run.flash_ops.back()), run.flash_faults.size()),
         "", "flash", 1});
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.t < b.t; });
  constexpr std::size_t kMaxRows = 3000;
  std::string out = "<table class=\"events\"><tr><th>time</th><th>lane</th><th>what</th></tr>\n";
  for (std::size_t i = 0; i < std::min(rows.size(), kMaxRows); ++i) {
    const Row& r = rows[i];
    const std::string what =
        esc(r.label) + (r.count > 1 ? fmt::format(" <b>×{}</b>", r.count) : "");
    out += fmt::format("<tr class=\"{}\" data-lane=\"{}\"><td>{}</td><td>{}</td><td>", esc(r.css),
                       esc(r.lane), seconds(r.t), esc(r.lane));
    if (r.detail.empty()) {
      out += what;
    } else {
      out += fmt::format("<details><summary>{}</summary><pre>{}</pre></details>", what,
                         visible(r.detail));
    }
    out += "</td></tr>\n";
  }
  if (rows.size() > kMaxRows)
    out += fmt::format(
        "<tr><td colspan=\"3\">… {} more rows not shown (see the transcript)</td></tr>\n",
        rows.size() - kMaxRows);
  return out + "</table>\n";
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; }
.meta { color: #555; } .pass { color: #2a7d2a; } .fail { color: #b22; }
ul.dfota li { font-family: ui-monospace, monospace; font-size: 13px; margin: 4px 0; }
svg.timeline { border: 1px solid #ddd; background: #fff; }
.lane { fill: #f6f6f6; } .lane-title { font-size: 12px; fill: #444; }
.tick { stroke: #e2e2e2; } .tick-label { font-size: 10px; fill: #777; text-anchor: middle; }
.span text { font-size: 10px; fill: #111; }
.power-on rect { fill: #8fd18f; } .power-booting rect { fill: #cde8cd; }
.power-dfota rect { fill: #9cc3ea; } .power-off rect { fill: #d0d0d0; } .power-psm rect { fill: #e8dca0; }
.download rect { fill: #7fb3e0; } .update rect { fill: #5b8fd1; }
.flash rect { fill: #999; } .flash-fault { stroke: #d62728; stroke-width: 2; }
.mark rect { fill: #555; } .mark.at-error rect, .mark.urc-error rect { fill: #d62728; }
.mark.urc rect { fill: #1f77b4; } .mark.port-close rect { fill: #d62728; }
.power-cut line { stroke: #d62728; stroke-width: 2; } .power-cut rect { fill: #d62728; }
.rule line { stroke: #ff7f0e; stroke-dasharray: 4 3; } .rule rect { fill: #ff7f0e; }
table.events { border-collapse: collapse; margin-top: 10px; font-size: 12px; }
table.events td, table.events th { border-bottom: 1px solid #eee; padding: 2px 8px; text-align: left; vertical-align: top; }
table.events tr.power-cut td, table.events tr.at-error td, table.events tr.urc-error td { color: #b22; }
pre { margin: 4px 0; font-size: 11px; background: #f8f8f8; padding: 4px; }
)css";

}  // namespace

std::string Dfota::summary() const {
  std::vector<std::string> parts;
  auto between = [](const std::optional<double>& a, const std::optional<double>& b) {
    return a && b ? seconds(*b - *a) : std::string("?");
  };
  if (download_start)
    parts.push_back(fmt::format("{} download {} ({}END,{})", download_kind,
                                between(download_start, download_end),
                                download_kind == "HTTP" ? "HTTP" : "COAP",
                                download_code ? std::to_string(*download_code) : "?"));
  if (mode_entered)
    parts.push_back("to DFOTA mode " +
                    between(download_end ? download_end : mode_entered, mode_entered));
  if (update_start) {
    std::string cuts;
    if (!cuts_at.empty()) {
      std::vector<std::string> at;
      for (const int p : cuts_at)
        at.push_back(p < 0 ? "before UPDATING" : fmt::format("{} %", p));
      cuts = fmt::format(", {} power cut{} at {}", cuts_at.size(), cuts_at.size() > 1 ? "s" : "",
                         fmt::join(at, ", "));
    }
    parts.push_back(fmt::format(
        "update {} ({}{})", between(update_start, update_end),
        highest_percent < 0 ? "no UPDATING" : fmt::format("to {} %", highest_percent), cuts));
  }
  if (booted) parts.push_back("reboot " + between(update_end ? update_end : download_end, booted));
  const std::string result =
      end_code ? fmt::format("END,{}", *end_code)
      : download_code && *download_code != 0
          ? fmt::format("{}END,{}", download_kind == "CoAP" ? "COAP" : "HTTP", *download_code)
          : std::string("no END");
  const bool ok = end_code && *end_code == 0;
  std::string line =
      fmt::format("{} → {}: {}; result {}", from_revision.empty() ? "?" : from_revision,
                  to_revision.empty() ? "?" : to_revision, fmt::join(parts, ", "), result);
  const std::string& reason = end_code ? update_reason : download_reason;
  if (!ok && !reason.empty()) line += " — " + reason;
  return line;
}

ModuleRun read_transcript(const std::filesystem::path& jsonl) {
  std::ifstream in(jsonl);
  if (!in) throw ReportError(jsonl.string() + ": cannot be read");
  ModuleRun run;
  Reader reader(run);
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw ReportError(fmt::format("{}:{}: not JSON ({})", jsonl.string(), number, e.what()));
    }
    if (!j.is_object())
      throw ReportError(fmt::format("{}:{}: not a transcript record", jsonl.string(), number));
    if (number == 1) {
      if (j.value("format", "") != "bg95sim-transcript")
        throw ReportError(jsonl.string() + ": not a bg95sim transcript (no header line)");
      reader.header(j, jsonl.stem().string());
      continue;
    }
    try {
      reader.record(j);
    } catch (const nlohmann::json::exception& e) {
      throw ReportError(fmt::format("{}:{}: {}", jsonl.string(), number, e.what()));
    }
  }
  if (number == 0) throw ReportError(jsonl.string() + ": empty, not a transcript");
  reader.finish();
  return run;
}

std::string html_report(const std::vector<ModuleRun>& runs, const std::string& title) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>"
      "<style>{1}</style></head><body>\n<h1>{0}</h1>\n",
      esc(title), kStyle);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const ModuleRun& r = runs[i];
    const std::string verdict =
        r.verdict.empty() ? ""
        : r.verdict.starts_with("pass")
            ? fmt::format(", <span class=\"pass\">{}</span>", esc(r.verdict))
            : fmt::format(", <span class=\"fail\">{}</span>", esc(r.verdict));
    out += fmt::format(
        "<section class=\"module\" id=\"run-{}\"><h2>{}</h2><p class=\"meta\">{} IMEI {}, {}{}"
        "</p>\n",
        i, esc(r.name), esc(r.model), esc(r.imei), seconds(r.duration), verdict);
    if (!r.dfotas.empty()) {
      out += "<ul class=\"dfota\">";
      for (const Dfota& d : r.dfotas)
        out += "<li>" + esc(d.summary()) + "</li>";
      out += "</ul>\n";
    }
    out += Timeline(r).svg();
    out += event_list(r);
    out += "</section>\n";
  }
  return out + "</body></html>\n";
}

}  // namespace bg95::report
