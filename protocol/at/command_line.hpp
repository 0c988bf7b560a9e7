#pragma once
// Splits the body of one command line (the text after "AT") into commands, V.250 style:
// basic commands (E0, V1, &D2, I, S3=13) may follow each other directly, extended commands
// (+NAME) end at ';'. Names are folded to upper case; quoted strings keep their case.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bg95::at {

enum class Form { Execute, Test, Read, Write };

struct RawArgument {
  bool present = false;  // an empty position (",,") is not present
  bool quoted = false;
  std::string text;  // without the quotes
};

struct ParsedCommand {
  std::string name;  // "+CSQ", "E", "&D", "S3", "I"
  Form form = Form::Execute;
  std::vector<RawArgument> args;
};

struct CommandLine {
  std::vector<ParsedCommand> commands;
  bool syntax_error = false;  // unterminated quote, stray character, ...
};

CommandLine parse_command_line(std::string_view body);

// One command as text, "AT" first: AT+CSQ, AT+QFOTADL="http://x/y",5, ATE0, ATS3=13, AT&D2.
// Names come out in upper case and arguments as parsed (quotes kept, spaces around them not).
std::string command_text(const ParsedCommand& command);

// Splits a parameter list "1,\"a,b\",,x" into arguments. Returns nullopt on a syntax error.
std::optional<std::vector<RawArgument>> split_arguments(std::string_view params);

}  // namespace bg95::at
