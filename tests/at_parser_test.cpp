// Unit tests of the AT command-line parser, typed arguments, line assembly and framing.

#include <gtest/gtest.h>

#include "protocol/at/arguments.hpp"
#include "protocol/at/command_line.hpp"
#include "protocol/at/line_assembler.hpp"
#include "protocol/at/result_codes.hpp"

namespace bg95::at {
namespace {

TEST(CommandLine, ChainOfExtendedCommands) {
  const auto line = parse_command_line("+CSQ;+CEREG?;+cgreg?;+COPS=?");
  ASSERT_FALSE(line.syntax_error);
  ASSERT_EQ(line.commands.size(), 4u);
  EXPECT_EQ(line.commands[0].name, "+CSQ");
  EXPECT_EQ(line.commands[0].form, Form::Execute);
  EXPECT_EQ(line.commands[1].name, "+CEREG");
  EXPECT_EQ(line.commands[1].form, Form::Read);
  EXPECT_EQ(line.commands[2].name, "+CGREG");  // folded to upper case
  EXPECT_EQ(line.commands[3].form, Form::Test);
}

TEST(CommandLine, BasicCommandsConcatenate) {
  const auto line = parse_command_line("E0V1&D2I");
  ASSERT_FALSE(line.syntax_error);
  ASSERT_EQ(line.commands.size(), 4u);
  EXPECT_EQ(line.commands[0].name, "E");
  EXPECT_EQ(line.commands[0].form, Form::Write);
  EXPECT_EQ(line.commands[0].args[0].text, "0");
  EXPECT_EQ(line.commands[2].name, "&D");
  EXPECT_EQ(line.commands[2].args[0].text, "2");
  EXPECT_EQ(line.commands[3].name, "I");
  EXPECT_EQ(line.commands[3].form, Form::Execute);
}

TEST(CommandLine, SRegisters) {
  const auto line = parse_command_line("S3?;S5=8");
  ASSERT_FALSE(line.syntax_error);
  ASSERT_EQ(line.commands.size(), 2u);
  EXPECT_EQ(line.commands[0].name, "S3");
  EXPECT_EQ(line.commands[0].form, Form::Read);
  EXPECT_EQ(line.commands[1].name, "S5");
  EXPECT_EQ(line.commands[1].args[0].text, "8");
}

TEST(CommandLine, QuotedArgumentsKeepCaseCommasAndSemicolons) {
  const auto line = parse_command_line("+QCFGEXT=\"fota_apn\",0,\"Tel;stra,Net\";+CSQ");
  ASSERT_FALSE(line.syntax_error);
  ASSERT_EQ(line.commands.size(), 2u);
  const auto& args = line.commands[0].args;
  ASSERT_EQ(args.size(), 3u);
  EXPECT_TRUE(args[0].quoted);
  EXPECT_EQ(args[0].text, "fota_apn");
  EXPECT_FALSE(args[1].quoted);
  EXPECT_EQ(args[1].text, "0");
  EXPECT_EQ(args[2].text, "Tel;stra,Net");
  EXPECT_EQ(line.commands[1].name, "+CSQ");
}

TEST(CommandLine, EmptyPositionsAreAbsent) {
  const auto args = split_arguments("1,,\"\"");
  ASSERT_TRUE(args);
  ASSERT_EQ(args->size(), 3u);
  EXPECT_TRUE((*args)[0].present);
  EXPECT_FALSE((*args)[1].present);
  EXPECT_TRUE((*args)[2].present);  // an empty quoted string is a value
  EXPECT_EQ((*args)[2].text, "");
}

TEST(CommandLine, SyntaxErrors) {
  EXPECT_TRUE(parse_command_line("+QFOTADL=\"http://x").syntax_error);  // open quote
  EXPECT_TRUE(parse_command_line("+CSQ?x").syntax_error);
  EXPECT_TRUE(parse_command_line("+").syntax_error);
  EXPECT_TRUE(parse_command_line("#").syntax_error);
  EXPECT_TRUE(parse_command_line("+X=a\"b\"").syntax_error);
  EXPECT_TRUE(parse_command_line("").commands.empty());
}

TEST(Arguments, TypedBinding) {
  const std::vector<ArgSpec> params{integer(0, 2), string(5), optional(integer(1, 9))};
  auto raw = *split_arguments("2,\"abc\"");
  auto bound = bind_arguments(raw, params);
  ASSERT_TRUE(bound);
  EXPECT_EQ(bound->integer(0), 2);
  EXPECT_EQ(bound->str(1), "abc");
  EXPECT_FALSE(bound->has(2));
  EXPECT_FALSE(bind_arguments(*split_arguments("3,\"abc\""), params));     // out of range
  EXPECT_FALSE(bind_arguments(*split_arguments("1,\"abcdef\""), params));  // too long
  EXPECT_FALSE(bind_arguments(*split_arguments("x,\"a\""), params));       // not a number
  EXPECT_FALSE(bind_arguments(*split_arguments("\"1\",\"a\""), params));   // quoted number
  EXPECT_FALSE(bind_arguments(*split_arguments("1"), params));             // missing required
  EXPECT_FALSE(bind_arguments(*split_arguments("1,\"a\",2,4"), params));   // too many
  EXPECT_FALSE(bind_arguments(*split_arguments("1,a"), {integer(0, 2), quoted(5)}));
}

TEST(Arguments, IntegerParsing) {
  EXPECT_EQ(parse_integer("6291456"), 6291456);
  EXPECT_EQ(parse_integer("+5"), 5);
  EXPECT_FALSE(parse_integer(""));
  EXPECT_FALSE(parse_integer("12a"));
  EXPECT_FALSE(parse_integer("99999999999999999999999"));
}

std::vector<LineAssembler::Event> feed_all(LineAssembler& a, std::string_view bytes) {
  std::vector<LineAssembler::Event> events;
  for (char c : bytes)
    if (auto e = a.feed(c, 13, 8)) events.push_back(*e);
  return events;
}

TEST(LineAssembler, PrefixCaseNoiseAndBackspace) {
  LineAssembler a;
  auto events = feed_all(a,
                         "xx\nat+cs\x08\x08"
                         "CSQ\r");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, LineAssembler::Event::Kind::Line);
  EXPECT_EQ(events[0].body, "+CSQ");
}

TEST(LineAssembler, RepeatAndOverflow) {
  LineAssembler a;
  auto events = feed_all(a, "A/");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, LineAssembler::Event::Kind::Repeat);
  std::string long_line = "AT" + std::string(LineAssembler::kMaxLine + 10, 'X') + "\r";
  events = feed_all(a, long_line);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, LineAssembler::Event::Kind::Overflow);
  events = feed_all(a, "AT\r");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body, "");
}

TEST(Framing, VerboseNumericQuietAndCme) {
  DteProfile p;
  EXPECT_EQ(frame_information({"Quectel", "BG95-M3"}, p), "\r\nQuectel\r\nBG95-M3\r\n");
  EXPECT_EQ(frame_result(ResultCode::Ok, p), "\r\nOK\r\n");
  EXPECT_EQ(frame_cme_error(3, p), "\r\n+CME ERROR: 3\r\n");
  p.cmee = CmeMode::Verbose;
  EXPECT_EQ(frame_cme_error(3, p), "\r\n+CME ERROR: operation not allowed\r\n");
  p.cmee = CmeMode::Disabled;
  EXPECT_EQ(frame_cme_error(3, p), "\r\nERROR\r\n");
  p.verbose = false;
  EXPECT_EQ(frame_result(ResultCode::Ok, p), "0\r");
  EXPECT_EQ(frame_result(ResultCode::Error, p), "4\r");
  EXPECT_EQ(frame_information({"x"}, p), "x\r\n");
  p.quiet = true;
  EXPECT_EQ(frame_result(ResultCode::Ok, p), "");
}

}  // namespace
}  // namespace bg95::at
