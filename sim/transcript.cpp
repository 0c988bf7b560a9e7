#include "sim/transcript.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "sim/util/base64.hpp"

namespace bg95 {
namespace {

bool printable_text(std::string_view bytes) {
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c >= 0x7F) return false;
  }
  return true;
}

// Bytes in JSON: as text when they are printable ASCII (most AT traffic), else base64.
void put_bytes(nlohmann::json& j, std::string_view bytes) {
  if (printable_text(bytes)) {
    j["text"] = std::string(bytes);
  } else {
    j["b64"] = util::base64_encode(bytes);
  }
}

const char* fault_name(flash::Fault f) {
  switch (f) {
    case flash::Fault::None:
      return "none";
    case flash::Fault::Fail:
      return "fail";
    case flash::Fault::PowerCut:
      return "power_cut";
    case flash::Fault::TornWrite:
      return "torn_write";
  }
  return "none";
}

}  // namespace

Transcript::Transcript(std::filesystem::path base, nlohmann::json header)
    : base_(std::move(base)), start_(std::chrono::steady_clock::now()) {
  if (base_.has_parent_path()) std::filesystem::create_directories(base_.parent_path());
  text_.open(text_file(), std::ios::trunc);
  if (!text_) throw std::runtime_error(text_file().string() + ": cannot be written");
  json_.open(json_file(), std::ios::trunc);
  if (!json_) throw std::runtime_error(json_file().string() + ": cannot be written");
  header["type"] = "header";
  header["format"] = "bg95sim-transcript";
  header["version"] = kFormatVersion;
  header["t"] = 0.0;
  json_ << header.dump() << '\n';
  text_ << "# bg95sim transcript";
  if (header.contains("scenario") && header["scenario"].contains("name"))
    text_ << " of scenario " << header["scenario"]["name"].get<std::string>();
  text_ << "\n# time(s)    port  what\n";
  flush();
}

Transcript::~Transcript() {
  end_flash_run();
  flush();
}

void Transcript::flush() {
  text_.flush();
  json_.flush();
}

double Transcript::now() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Transcript::escape(std::string_view bytes, std::size_t max) {
  std::string out;
  const std::size_t n = std::min(bytes.size(), max);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  if (bytes.size() > n) out += fmt::format("\u2026 (+{} bytes)", bytes.size() - n);
  return out;
}

void Transcript::record(nlohmann::json j, const std::string& text_line) {
  if (j.value("type", "") != "flash") end_flash_run();
  const double t = now();
  j["t"] = t;
  json_ << j.dump() << '\n';
  if (!text_line.empty()) text_ << fmt::format("{:11.6f} {}\n", t, text_line);
  // The files are read while a session runs (and must survive a crash): written out at once.
  flush();
}

void Transcript::event(std::string_view kind, std::string_view text, nlohmann::json extra) {
  nlohmann::json j = extra.is_object() ? std::move(extra) : nlohmann::json::object();
  j["type"] = "event";
  j["kind"] = std::string(kind);
  j["text"] = std::string(text);
  record(std::move(j), fmt::format("----  {:<8} {}", kind, text));
}

// ---- bytes and ports ---------------------------------------------------------------------

void Transcript::host_bytes(std::string_view port, std::string_view bytes, bool heard) {
  nlohmann::json j{{"type", "host"}, {"port", std::string(port)}};
  put_bytes(j, bytes);
  if (!heard) j["ignored"] = true;
  record(std::move(j), fmt::format("{:<5} host> {}{}", port, escape(bytes),
                                   heard ? "" : "   (the module takes no input now: ignored)"));
}

void Transcript::module_bytes(std::string_view port, std::string_view bytes, bool delivered) {
  nlohmann::json j{{"type", "module"}, {"port", std::string(port)}};
  put_bytes(j, bytes);
  if (!delivered) j["lost"] = true;
  record(std::move(j), fmt::format("{:<5} <mod  {}{}", port, escape(bytes),
                                   delivered ? "" : "   (no host: lost)"));
}

void Transcript::host_opened(std::string_view port) {
  record({{"type", "open"}, {"port", std::string(port)}},
         fmt::format("{:<5} host opens the port", port));
}

void Transcript::host_closed(std::string_view port) {
  record({{"type", "close"}, {"port", std::string(port)}},
         fmt::format("{:<5} host closes the port", port));
}

// ---- module events -----------------------------------------------------------------------

void Transcript::on_power(PowerEvent event) {
  // The text form has the module's own log line for it ("power cut", "booted ...").
  record({{"type", "event"}, {"kind", "power"}, {"text", power_event_name(event)}}, "");
}

void Transcript::on_command(std::string_view port, std::string_view command) {
  record({{"type", "event"},
          {"kind", "command"},
          {"port", std::string(port)},
          {"text", std::string(command)}},
         fmt::format("{:<5} {:<8} {}", port, "command", escape(command)));
}

void Transcript::on_urc(std::string_view text) {
  // The text form shows the URC as the bytes the port carried.
  record({{"type", "event"}, {"kind", "urc"}, {"text", std::string(text)}}, "");
}

void Transcript::on_download_progress(std::uint64_t received, std::optional<std::uint64_t> total) {
  nlohmann::json j{{"type", "event"}, {"kind", "download"}, {"bytes", received}};
  std::string line;
  if (total) {
    j["total"] = *total;
    const int percent =
        *total ? static_cast<int>(std::min<std::uint64_t>(100, received * 100 / *total)) : 0;
    // The text form shows each whole percent once; the JSON has every chunk.
    if (percent != last_download_percent_)
      line =
          fmt::format("----  {:<8} {} of {} bytes ({} %)", "download", received, *total, percent);
    last_download_percent_ = percent;
  } else {
    line = fmt::format("----  {:<8} {} bytes", "download", received);
  }
  j["text"] = fmt::format("{} bytes", received);
  record(std::move(j), line);
}

void Transcript::on_update_progress(std::string_view phase, int percent) {
  record({{"type", "event"},
          {"kind", "update"},
          {"phase", std::string(phase)},
          {"percent", percent},
          {"text", fmt::format("{} {} %", phase, percent)}},
         fmt::format("----  {:<8} {} {} %", "update", phase, percent));
}

void Transcript::on_flash_op(const flash::FlashOp& op, std::uint64_t index, flash::Fault fault) {
  const bool program = op.kind == flash::FlashOp::Kind::Program;
  record({{"type", "flash"},
          {"op", program ? "program" : "erase"},
          {"index", index},
          {"block", op.block},
          {"page", op.page},
          {"fault", fault_name(fault)}},
         "");
  if (fault != flash::Fault::None) {
    end_flash_run();
    text_ << fmt::format("{:11.6f} ----  {:<8} {} {} block {} page {}: {}\n", now(), "flash", index,
                         program ? "program" : "erase", op.block, op.page, fault_name(fault));
    return;
  }
  if (flash_programs_ + flash_erases_ == 0) {
    flash_first_ = index;
    flash_time_ = now();
  }
  flash_last_ = index;
  ++(program ? flash_programs_ : flash_erases_);
}

void Transcript::end_flash_run() {
  if (flash_programs_ + flash_erases_ == 0) return;
  text_ << fmt::format("{:11.6f} ----  {:<8} operations {}..{}: {} programs, {} erases\n",
                       flash_time_, "flash", flash_first_, flash_last_, flash_programs_,
                       flash_erases_);
  flash_programs_ = flash_erases_ = 0;
}

void Transcript::on_network(const NetworkState& now) {
  event("network", fmt::format("registration {}, csq {}, {}", static_cast<int>(now.status),
                               now.csq_rssi, rat_name(now.rat)));
}

void Transcript::on_dtr(bool high) {
  event("dtr", high ? "high" : "low");
}

void Transcript::on_log(std::string_view text) {
  event("log", text);
}

}  // namespace bg95
