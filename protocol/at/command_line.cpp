#include "protocol/at/command_line.hpp"

#include <cctype>

namespace bg95::at {
namespace {

char upper(char c) {
  return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

// Characters V.250 allows in an extended command name after the prefix.
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '!' || c == '%' || c == '-' ||
         c == '.' || c == '/' || c == ':' || c == '_';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  return s;
}

// Index of the first ';' outside quotes, or npos. Returns npos also for an unterminated quote,
// which the argument splitter then reports.
std::size_t find_terminator(std::string_view s) {
  bool in_quotes = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') in_quotes = !in_quotes;
    if (s[i] == ';' && !in_quotes) return i;
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::vector<RawArgument>> split_arguments(std::string_view params) {
  std::vector<RawArgument> out;
  std::size_t i = 0;
  while (true) {
    // One argument runs to the next ',' outside quotes.
    std::size_t j = i;
    bool in_quotes = false;
    while (j < params.size() && (in_quotes || params[j] != ',')) {
      if (params[j] == '"') in_quotes = !in_quotes;
      ++j;
    }
    if (in_quotes) return std::nullopt;
    const std::string_view field = trim(params.substr(i, j - i));
    RawArgument arg;
    if (!field.empty()) {
      arg.present = true;
      if (field.front() == '"') {
        if (field.size() < 2 || field.back() != '"') return std::nullopt;
        const std::string_view inner = field.substr(1, field.size() - 2);
        if (inner.find('"') != std::string_view::npos) return std::nullopt;
        arg.quoted = true;
        arg.text = std::string(inner);
      } else {
        if (field.find('"') != std::string_view::npos) return std::nullopt;
        arg.text = std::string(field);
      }
    }
    out.push_back(std::move(arg));
    if (j >= params.size()) break;
    i = j + 1;
  }
  // "AT+X=" has one absent argument; callers see an empty list.
  if (out.size() == 1 && !out[0].present) out.clear();
  return out;
}

CommandLine parse_command_line(std::string_view body) {
  CommandLine line;
  std::size_t i = 0;
  auto fail = [&line] {
    line.syntax_error = true;
    return line;
  };
  while (i < body.size()) {
    const char c = body[i];
    if (c == ' ' || c == ';') {  // separators between commands
      ++i;
      continue;
    }
    ParsedCommand cmd;
    if (c == '+' || c == '$' || c == '%') {
      std::size_t j = i + 1;
      while (j < body.size() && is_name_char(body[j]))
        ++j;
      if (j == i + 1) return fail();
      for (std::size_t k = i; k < j; ++k)
        cmd.name += upper(body[k]);
      std::string_view rest = body.substr(j);
      const std::size_t end = find_terminator(rest);
      std::string_view tail = rest.substr(0, end);
      if (tail.starts_with("=?")) {
        cmd.form = Form::Test;
        if (!trim(tail.substr(2)).empty()) return fail();
      } else if (tail.starts_with('?')) {
        cmd.form = Form::Read;
        if (!trim(tail.substr(1)).empty()) return fail();
      } else if (tail.starts_with('=')) {
        cmd.form = Form::Write;
        auto args = split_arguments(tail.substr(1));
        if (!args) return fail();
        cmd.args = std::move(*args);
      } else {
        cmd.form = Form::Execute;
        if (!trim(tail).empty()) return fail();
      }
      i = j + (end == std::string_view::npos ? rest.size() : end);
    } else if (c == '&' || is_alpha(c)) {
      std::size_t j = i + 1;
      if (c == '&') {
        if (j >= body.size() || !is_alpha(body[j])) return fail();
        cmd.name = std::string{'&', upper(body[j])};
        ++j;
      } else {
        cmd.name = std::string{upper(c)};
      }
      if (cmd.name == "D") {
        // V.250 dial: the rest of the line is the dial string (ATD*99***1#, ATD123;).
        cmd.form = Form::Write;
        cmd.args.push_back({true, false, std::string(trim(body.substr(j)))});
        line.commands.push_back(std::move(cmd));
        return line;
      }
      if (cmd.name == "S") {  // S-register: Sn? or Sn=v
        std::size_t k = j;
        while (k < body.size() && is_digit(body[k]))
          ++k;
        if (k == j) return fail();
        cmd.name += std::string(body.substr(j, k - j));
        j = k;
        if (j < body.size() && body[j] == '?') {
          cmd.form = Form::Read;
          ++j;
        } else if (j < body.size() && body[j] == '=') {
          ++j;
          std::size_t v = j;
          while (v < body.size() && is_digit(body[v]))
            ++v;
          cmd.form = Form::Write;
          cmd.args.push_back({v > j, false, std::string(body.substr(j, v - j))});
          j = v;
        } else {
          return fail();
        }
      } else {
        std::size_t k = j;
        while (k < body.size() && is_digit(body[k]))
          ++k;
        if (k > j) {
          cmd.form = Form::Write;
          cmd.args.push_back({true, false, std::string(body.substr(j, k - j))});
        } else if (j < body.size() && body[j] == '?') {
          cmd.form = Form::Read;
          ++k;
        }
        j = k;
      }
      i = j;
    } else {
      return fail();
    }
    line.commands.push_back(std::move(cmd));
  }
  return line;
}

std::string command_text(const ParsedCommand& command) {
  std::string text = "AT" + command.name;
  const bool basic =
      command.name.front() != '+' && command.name.front() != '$' && command.name.front() != '%';
  switch (command.form) {
    case Form::Execute:
      break;
    case Form::Test:
      text += "=?";
      break;
    case Form::Read:
      text += '?';
      break;
    case Form::Write: {
      // Basic commands carry their number directly (E0, &D2); S-registers and extended
      // commands have "=".
      if (!basic || command.name.front() == 'S') text += '=';
      for (std::size_t i = 0; i < command.args.size(); ++i) {
        if (i > 0) text += ',';
        const RawArgument& a = command.args[i];
        if (!a.present) continue;
        text += a.quoted ? '"' + a.text + '"' : a.text;
      }
      break;
    }
  }
  return text;
}

}  // namespace bg95::at
