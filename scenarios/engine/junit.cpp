#include "scenarios/engine/junit.hpp"

#include <fmt/format.h>

namespace bg95::scenario {

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows TAB, LF, CR and nothing else below 0x20; bytes of the module's output
        // are shown escaped already, so anything left there is dropped.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') break;
        out += ch;
    }
  }
  return out;
}

std::string junit_xml(const std::string& suite, const std::vector<RunResult>& results) {
  std::size_t failures = 0;
  double seconds = 0;
  for (const auto& r : results) {
    failures += r.passed ? 0 : 1;
    seconds += r.seconds;
  }
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += fmt::format(
      "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" time=\"{:.3f}\">\n",
      xml_escape(suite), results.size(), failures, seconds);
  xml += fmt::format(
      "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" "
      "time=\"{:.3f}\">\n",
      xml_escape(suite), results.size(), failures, seconds);
  for (const auto& r : results) {
    xml += fmt::format("    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.3f}\">\n",
                       xml_escape(r.name), xml_escape("scenarios." + r.file.stem().string()),
                       xml_escape(r.file.string()), r.seconds);
    if (!r.passed) {
      const std::string message =
          fmt::format("ended with {} ({}), expected {}", r.verdict_pass ? "pass" : "fail", r.reason,
                      r.verdict_pass ? "fail" : "pass");
      xml += fmt::format(
          "      <failure message=\"{}\" type=\"verdict\">{}\nhost received (end): {}</failure>\n",
          xml_escape(message), xml_escape(r.reason), xml_escape(r.host_tail));
    }
    std::string out =
        "verdict: " + std::string(r.verdict_pass ? "pass" : "fail") + " (" + r.reason + ")\n";
    for (const auto& f : r.rules_fired)
      out += "rule fired: " + f + "\n";
    if (!r.transcript.empty()) out += "transcript: " + r.transcript.string() + "\n";
    xml += "      <system-out>" + xml_escape(out) + "</system-out>\n";
    xml += "    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace bg95::scenario
