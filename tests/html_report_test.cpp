// The HTML report of transcripts (scenarios/report/html_report.*, docs/scenarios.md "Reports"):
// a transcript written here record by record, in the format sim/transcript.cpp writes, read
// back into marks, spans and DFOTA summaries, and the page made of it. The page in a real
// browser is tests/report_browser_test.sh.

#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "scenarios/report/html_report.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::report {
namespace {

constexpr const char* kHeader =
    R"j({"format":"bg95sim-transcript","module":{"imei":"865341040062814","model":"BG95-M3"},)j"
    R"j("scenario":{"name":"cut-during-update"},"t":0.0,"type":"header","version":1})j";

// A DFOTA over HTTP with a power cut at UPDATING 43 %, then a polled AT+CSQ and an error.
constexpr const char* kRecords[] = {
    R"j({"kind":"power","t":0.001,"text":"power on","type":"event"})j",
    R"j({"kind":"log","t":0.0015,"text":"booted BG95M3LAR02A03_01.011.01.011","type":"event"})j",
    R"j({"kind":"power","t":0.002,"text":"booted","type":"event"})j",
    R"j({"port":"uart","t":0.003,"type":"open"})j",
    R"j({"kind":"command","port":"uart","t":0.010,"text":"AT+QFOTADL=\"http://x/u.bin\"","type":"event"})j",
    R"j({"port":"uart","t":0.011,"text":"\r\nOK\r\n","type":"module"})j",
    R"j({"kind":"urc","t":0.020,"text":"+QIND: \"FOTA\",\"HTTPSTART\"","type":"event"})j",
    R"j({"bytes":500,"kind":"download","t":0.030,"text":"500 bytes","total":1000,"type":"event"})j",
    R"j({"bytes":1000,"kind":"download","t":0.040,"text":"1000 bytes","total":1000,"type":"event"})j",
    R"j({"kind":"log","t":0.041,"text":"HTTP download ended with 0: HTTP 200, 1000 bytes","type":"event"})j",
    R"j({"kind":"urc","t":0.042,"text":"+QIND: \"FOTA\",\"HTTPEND\",0","type":"event"})j",
    R"j({"kind":"power","t":0.050,"text":"DFOTA mode","type":"event"})j",
    R"j({"kind":"urc","t":0.060,"text":"+QIND: \"FOTA\",\"START\"","type":"event"})j",
    R"j({"kind":"update","percent":0,"phase":"UPDATING","t":0.070,"text":"UPDATING 0 %","type":"event"})j",
    R"j({"kind":"urc","t":0.071,"text":"+QIND: \"FOTA\",\"UPDATING\",0","type":"event"})j",
    R"j({"block":1,"fault":"none","index":1,"op":"program","page":0,"t":0.080,"type":"flash"})j",
    R"j({"block":1,"fault":"cut","index":2,"op":"program","page":1,"t":0.090,"type":"flash"})j",
    R"j({"kind":"update","percent":43,"phase":"UPDATING","t":0.100,"text":"UPDATING 43 %","type":"event"})j",
    R"j({"kind":"rule","t":0.101,"text":"rule \"cut\" fired (UPDATING 43 %)","type":"event"})j",
    R"j({"kind":"power","t":0.102,"text":"power cut","type":"event"})j",
    R"j({"kind":"power","t":0.300,"text":"power on","type":"event"})j",
    R"j({"kind":"power","t":0.301,"text":"DFOTA mode","type":"event"})j",
    R"j({"kind":"urc","t":0.302,"text":"+QIND: \"FOTA\",\"START\"","type":"event"})j",
    R"j({"kind":"update","percent":100,"phase":"UPDATING","t":0.500,"text":"UPDATING 100 %","type":"event"})j",
    R"j({"kind":"urc","t":0.600,"text":"+QIND: \"FOTA\",\"END\",0","type":"event"})j",
    R"j({"kind":"power","t":0.700,"text":"restart","type":"event"})j",
    R"j({"kind":"log","t":0.750,"text":"booted BG95M3LAR02A04_01.012.01.012","type":"event"})j",
    R"j({"kind":"power","t":0.751,"text":"booted","type":"event"})j",
    R"j({"kind":"command","port":"uart","t":0.800,"text":"AT+CSQ","type":"event"})j",
    R"j({"port":"uart","t":0.801,"text":"\r\n+CSQ: 26,99\r\n","type":"module"})j",
    R"j({"port":"uart","t":0.802,"text":"\r\nOK\r\n","type":"module"})j",
    R"j({"kind":"command","port":"uart","t":0.900,"text":"AT+CSQ","type":"event"})j",
    R"j({"port":"uart","t":0.901,"text":"\r\n+CSQ: 26,99\r\n\r\nOK\r\n","type":"module"})j",
    R"j({"kind":"command","port":"uart","t":0.950,"text":"AT+QFOTADL=9","type":"event"})j",
    R"j({"port":"uart","t":0.951,"text":"\r\nERROR\r\n","type":"module"})j",
    R"j({"kind":"verdict","t":1.0,"text":"pass","type":"event"})j",
};

class HtmlReportTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& name, const std::string& text) {
    const auto path = dir_.path() / name;
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path transcript() {
    std::string text = std::string(kHeader) + "\n";
    for (const char* r : kRecords)
      text += std::string(r) + "\n";
    return write("run.jsonl", text);
  }
  test::TempDir dir_;
};

TEST_F(HtmlReportTest, ADfotaWithAPowerCutIsSummedUpInOneLine) {
  const ModuleRun run = read_transcript(transcript());
  EXPECT_EQ(run.name, "cut-during-update");
  EXPECT_EQ(run.model, "BG95-M3");
  EXPECT_EQ(run.imei, "865341040062814");
  EXPECT_EQ(run.verdict, "pass");
  EXPECT_DOUBLE_EQ(run.duration, 1.0);
  ASSERT_EQ(run.dfotas.size(), 1u);
  EXPECT_EQ(run.dfotas[0].summary(),
            "BG95M3LAR02A03_01.011.01.011 → BG95M3LAR02A04_01.012.01.012: HTTP download "
            "0.022 s (HTTPEND,0), to DFOTA mode 0.008 s, update 0.540 s (to 100 %, 1 power cut "
            "at 43 %), reboot 0.150 s; result END,0");
  EXPECT_EQ(run.flash_ops.size(), 2u);
  ASSERT_EQ(run.flash_faults.size(), 1u);
  EXPECT_DOUBLE_EQ(run.flash_faults[0], 0.090);
}

TEST_F(HtmlReportTest, PowerStatesAndProgressAreSpans) {
  const ModuleRun run = read_transcript(transcript());
  std::string spans;
  for (const Span& s : run.spans)
    spans += fmt::format("{} {} {:.3f}-{:.3f} {}\n", s.lane, s.css, s.from, s.to, s.label);
  EXPECT_EQ(spans,
            "power power-booting 0.001-0.002 booting\n"
            "download download 0.030-0.040 download 100 %\n"
            "power power-on 0.002-0.050 on\n"
            "update update 0.070-0.102 UPDATING 43 %\n"
            "power power-dfota 0.050-0.102 DFOTA mode\n"
            "power power-off 0.102-0.300 off\n"
            "power power-booting 0.300-0.301 booting\n"
            "update update 0.500-0.600 UPDATING 100 %\n"
            "power power-dfota 0.301-0.700 DFOTA mode\n"
            "power power-booting 0.700-0.751 booting\n"
            "power power-on 0.751-1.000 on\n");
}

TEST_F(HtmlReportTest, CommandsCarryTheirAnswerAndRepeatsAreFolded) {
  const ModuleRun run = read_transcript(transcript());
  std::string at;
  for (const Mark& m : run.marks)
    if (m.lane == "at" && !m.folded) at += fmt::format("{} x{} [{}]\n", m.label, m.count(), m.css);
  EXPECT_EQ(at,
            "AT+QFOTADL=\"http://x/u.bin\" → OK x1 [at]\n"
            "AT+CSQ → OK x2 [at]\n"
            "AT+QFOTADL=9 → ERROR x1 [at-error]\n");
  // Progress URCs are bars, not marks; the others are marks.
  std::string urcs;
  for (const Mark& m : run.marks)
    if (m.lane == "urc" && !m.folded) urcs += m.label + "\n";
  EXPECT_EQ(urcs,
            "+QIND: \"FOTA\",\"HTTPSTART\"\n+QIND: \"FOTA\",\"HTTPEND\",0\n"
            "+QIND: \"FOTA\",\"START\"\n+QIND: \"FOTA\",\"END\",0\n");
}

TEST_F(HtmlReportTest, ThePageIsSelfContainedAndShowsTheCut) {
  const std::string html = html_report({read_transcript(transcript())}, "a <run>");
  EXPECT_TRUE(
      html.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                       "<title>a &lt;run&gt;</title>"));
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_NE(html.find("<g class=\"power-cut\"><title>power cut at 0.102 s</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<line class=\"flash-fault\""), std::string::npos);
  EXPECT_NE(html.find("<li>BG95M3LAR02A03_01.011.01.011 → BG95M3LAR02A04_01.012.01.012: "),
            std::string::npos);
  // The folded command: once in the list with its count and answer, twice on the timeline.
  EXPECT_NE(html.find("<details><summary>AT+CSQ → OK <b>×2</b></summary><pre>\\r\\n\n"
                      "+CSQ: 26,99\\r\\n\n\\r\\n\nOK\\r\\n\n</pre></details>"),
            std::string::npos);
  std::size_t drawn = 0;
  for (auto at = html.find("<title>AT+CSQ → OK at "); at != std::string::npos;
       at = html.find("<title>AT+CSQ → OK at ", at + 1))
    ++drawn;
  EXPECT_EQ(drawn, 2u);
}

TEST_F(HtmlReportTest, AFailedDownloadGivesItsReason) {
  std::string text = std::string(kHeader) + "\n";
  text +=
      R"j({"kind":"log","t":0.001,"text":"booted BG95M3LAR02A03_01.011.01.011","type":"event"})j"
      "\n"
      R"j({"kind":"urc","t":0.01,"text":"+QIND: \"FOTA\",\"HTTPSTART\"","type":"event"})j"
      "\n"
      R"j({"kind":"log","t":0.2,"text":"HTTP download ended with 703: HTTP 500 Internal Server Error","type":"event"})j"
      "\n"
      R"j({"kind":"urc","t":0.21,"text":"+QIND: \"FOTA\",\"HTTPEND\",703","type":"event"})j"
      "\n";
  const ModuleRun run = read_transcript(write("failed.jsonl", text));
  ASSERT_EQ(run.dfotas.size(), 1u);
  EXPECT_EQ(run.dfotas[0].summary(),
            "BG95M3LAR02A03_01.011.01.011 → ?: HTTP download 0.200 s (HTTPEND,703); result "
            "HTTPEND,703 — HTTP download ended with 703: HTTP 500 Internal Server Error");
  std::size_t errors = 0;
  for (const Mark& m : run.marks)
    errors += m.css == "urc-error" ? 1u : 0u;
  EXPECT_EQ(errors, 1u);
}

TEST_F(HtmlReportTest, WhatIsNotATranscriptIsAClearError) {
  auto error_of = [&](const std::string& name, const std::string& text) {
    try {
      read_transcript(write(name, text));
    } catch (const ReportError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string d = dir_.path().string() + "/";
  EXPECT_EQ(error_of("empty.jsonl", ""), d + "empty.jsonl: empty, not a transcript");
  EXPECT_EQ(error_of("other.jsonl", "{\"a\":1}\n"),
            d + "other.jsonl: not a bg95sim transcript (no header line)");
  EXPECT_EQ(error_of("array.jsonl", std::string(kHeader) + "\n[1,2]\n"),
            d + "array.jsonl:2: not a transcript record");
  EXPECT_TRUE(error_of("cut.jsonl", std::string(kHeader) + "\n{\"t\":0.5,\"ty")
                  .starts_with(d + "cut.jsonl:2: not JSON ("));
  EXPECT_EQ(
      error_of("wrong.jsonl", std::string(kHeader) + "\n{\"t\":\"soon\",\"type\":\"event\"}\n")
          .rfind(d + "wrong.jsonl:2: ", 0),
      0u);
  EXPECT_THROW(read_transcript(dir_.path() / "absent.jsonl"), ReportError);
}

}  // namespace
}  // namespace bg95::report
