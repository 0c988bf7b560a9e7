#include "scenarios/engine/merge.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <optional>
#include <ostream>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "scenarios/engine/junit.hpp"

namespace bg95::scenario {
namespace {

// What makes an input unusable: the message names the file.
struct BadInput {
  std::string message;
};

// A start tag: its name, its attributes as written (entities left escaped: values are
// written back as they came), and where it starts and ends in the text.
struct Tag {
  std::string name;
  std::map<std::string, std::string> attributes;
  bool self_closing = false;
  std::size_t begin = 0, end = 0;  // '<' .. one past '>'
};

// Just enough XML for JUnit files: elements, attributes, text, comments, CDATA and
// processing instructions; no DTD. Elements it does not care about are skipped whole.
class XmlScanner {
 public:
  XmlScanner(std::string_view text, std::string where) : s_(text), where_(std::move(where)) {}

  [[noreturn]] void fail(const std::string& what) const {
    const auto line = 1 + std::count(s_.begin(), s_.begin() + static_cast<long>(pos_), '\n');
    throw BadInput{fmt::format("{}:{}: {}", where_, line, what)};
  }

  // Skips white space, comments and processing instructions; false at the end of the text.
  bool skip_misc() {
    for (;;) {
      while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
        ++pos_;
      if (starts("<?"))
        skip_past("?>");
      else if (starts("<!--"))
        skip_past("-->");
      else
        return pos_ < s_.size();
    }
  }

  // True at the next child element of `parent`, false at its end tag.
  bool next_child(const Tag& parent) {
    if (!skip_misc()) fail(fmt::format("<{}> is not closed", parent.name));
    return !at_end_tag();
  }

  bool at_end_tag() const { return starts("</"); }
  bool at_tag() const { return starts("<") && !starts("</"); }
  std::size_t pos() const { return pos_; }

  Tag start_tag() {
    if (!at_tag()) fail("expected an element");
    Tag t;
    t.begin = pos_++;
    t.name = name();
    for (;;) {
      skip_space();
      if (starts("/>")) {
        t.self_closing = true;
        pos_ += 2;
        break;
      }
      if (starts(">")) {
        ++pos_;
        break;
      }
      const std::string key = name();
      skip_space();
      if (!starts("=")) fail(fmt::format("attribute {} of <{}> has no value", key, t.name));
      ++pos_;
      skip_space();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\''))
        fail(fmt::format("attribute {} of <{}> is not quoted", key, t.name));
      const char quote = s_[pos_++];
      const auto close = s_.find(quote, pos_);
      if (close == std::string_view::npos) fail("an attribute value does not end");
      t.attributes[key] = std::string(s_.substr(pos_, close - pos_));
      pos_ = close + 1;
    }
    t.end = pos_;
    return t;
  }

  void end_tag(const std::string& name) {
    if (!at_end_tag()) fail(fmt::format("expected </{}>", name));
    pos_ += 2;
    const std::string got = this->name();
    skip_space();
    if (got != name || !starts(">")) fail(fmt::format("expected </{}>, found </{}", name, got));
    ++pos_;
  }

  // Past the end of the element `t` starts: its text and children skipped.
  void skip_element(const Tag& t) {
    if (t.self_closing) return;
    for (;;) {
      const auto lt = s_.find('<', pos_);
      if (lt == std::string_view::npos) fail(fmt::format("<{}> is not closed", t.name));
      pos_ = lt;
      if (starts("<!--")) {
        skip_past("-->");
      } else if (starts("<![CDATA[")) {
        skip_past("]]>");
      } else if (starts("<?")) {
        skip_past("?>");
      } else if (at_end_tag()) {
        end_tag(t.name);
        return;
      } else {
        skip_element(start_tag());
      }
    }
  }

 private:
  bool starts(std::string_view p) const { return s_.substr(pos_).starts_with(p); }
  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }
  void skip_past(std::string_view end) {
    const auto at = s_.find(end, pos_);
    if (at == std::string_view::npos) fail(fmt::format("no {} after this", end));
    pos_ = at + end.size();
  }
  std::string name() {
    const auto first = pos_;
    while (pos_ < s_.size() &&
           (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-' ||
            s_[pos_] == '_' || s_[pos_] == ':' || s_[pos_] == '.'))
      ++pos_;
    if (pos_ == first) fail("expected a name");
    return std::string(s_.substr(first, pos_ - first));
  }

  std::string_view s_;
  std::string where_;
  std::size_t pos_ = 0;
};

struct Suite {
  std::string name;  // as written (escaped)
  std::size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  double time = 0;
  std::vector<std::string> testcases;  // each as written, from <testcase to its end
  std::vector<std::string> keys;       // classname, name and file of each, to find overlaps
};

struct Document {
  std::string name;
  std::vector<Suite> suites;
};

std::size_t count_attribute(const XmlScanner& x, const Tag& t, const std::string& key,
                            bool required) {
  const auto it = t.attributes.find(key);
  if (it == t.attributes.end()) {
    if (required) x.fail(fmt::format("<{}> has no {} attribute", t.name, key));
    return 0;
  }
  std::size_t v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size())
    x.fail(fmt::format("<{}> {}=\"{}\" is not a count", t.name, key, s));
  return v;
}

double time_attribute(const XmlScanner& x, const Tag& t) {
  const auto it = t.attributes.find("time");
  if (it == t.attributes.end()) return 0;
  double v = 0;
  const auto& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < 0)
    x.fail(fmt::format("<{}> time=\"{}\" is not a number of seconds", t.name, s));
  return v;
}

Suite read_suite(XmlScanner& x, const Tag& open, std::string_view text) {
  Suite s;
  s.name = open.attributes.count("name") ? open.attributes.at("name") : "";
  s.tests = count_attribute(x, open, "tests", true);
  s.failures = count_attribute(x, open, "failures", false);
  s.errors = count_attribute(x, open, "errors", false);
  s.skipped = count_attribute(x, open, "skipped", false);
  s.time = time_attribute(x, open);
  if (!open.self_closing) {
    while (x.next_child(open)) {
      const Tag t = x.start_tag();
      x.skip_element(t);
      if (t.name != "testcase") continue;  // <properties>, <system-out> of the suite
      s.testcases.emplace_back(text.substr(t.begin, x.pos() - t.begin));
      const auto attr = [&](const char* k) {
        return t.attributes.count(k) ? t.attributes.at(k) : std::string();
      };
      s.keys.push_back(attr("classname") + " " + attr("name") + " " + attr("file"));
    }
    x.end_tag("testsuite");
  }
  if (s.testcases.size() != s.tests)
    x.fail(fmt::format("<testsuite name=\"{}\"> says tests=\"{}\" but holds {} testcases", s.name,
                       s.tests, s.testcases.size()));
  return s;
}

// <testsuites> with <testsuite>s in it, or one <testsuite> alone.
Document read_junit(const ShardText& in) {
  XmlScanner x(in.text, in.where);
  if (!x.skip_misc()) x.fail("empty: not a JUnit XML file");
  Document d;
  const Tag root = x.start_tag();
  d.name = root.attributes.count("name") ? root.attributes.at("name") : "";
  if (root.name == "testsuite") {
    d.suites.push_back(read_suite(x, root, in.text));
  } else if (root.name == "testsuites") {
    if (!root.self_closing) {
      while (x.next_child(root)) {
        const Tag t = x.start_tag();
        if (t.name != "testsuite") x.fail(fmt::format("<{}> in <testsuites>", t.name));
        d.suites.push_back(read_suite(x, t, in.text));
      }
      x.end_tag("testsuites");
    }
  } else {
    x.fail(fmt::format("<{}> is not JUnit XML (<testsuites> or <testsuite>)", root.name));
  }
  if (x.skip_misc()) x.fail("more after the end of the document");
  return d;
}

// The testcase as written, with the shard as its first property (after its start tag).
std::string with_shard(const std::string& testcase, const std::string& shard) {
  const std::string property = fmt::format(
      "<properties><property name=\"shard\" value=\"{}\"/></properties>", xml_escape(shard));
  XmlScanner x(testcase, "");
  const Tag t = x.start_tag();
  if (t.self_closing)
    return testcase.substr(0, t.end - 2) + ">\n      " + property + "\n    </testcase>";
  return testcase.substr(0, t.end) + "\n      " + property + testcase.substr(t.end);
}

// "PASS  name …", "FAIL  name …", "ERROR what" and "N passed, M failed" of a run's output.
struct SummaryCount {
  std::size_t passed = 0, failed = 0;
};

SummaryCount check_summary(const ShardText& in, std::vector<std::string>& lines) {
  static const std::regex total(R"(^(\d+) passed, (\d+) failed$)");
  std::istringstream text(in.text);
  std::string line;
  std::optional<SummaryCount> said;
  SummaryCount seen;
  while (std::getline(text, line)) {
    std::smatch m;
    if (std::regex_match(line, m, total)) {
      said = SummaryCount{std::stoul(m[1]), std::stoul(m[2])};
      continue;
    }
    if (line.starts_with("PASS  ")) ++seen.passed;
    if (line.starts_with("FAIL  ") || line.starts_with("ERROR ")) ++seen.failed;
    if (!line.empty()) lines.push_back(line);
  }
  if (!said)
    throw BadInput{fmt::format(
        "{}: no \"N passed, M failed\" line: not what bg95-scenario run prints", in.where)};
  if (said->passed != seen.passed || said->failed != seen.failed)
    throw BadInput{fmt::format(
        "{}: says {} passed, {} failed but lists {} PASS and {} FAIL or ERROR lines (cut short?)",
        in.where, said->passed, said->failed, seen.passed, seen.failed)};
  return *said;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw BadInput{fmt::format("{}: cannot be read", file.string())};
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The shards' JUnit and summary texts, from folders (junit.xml, summary.txt) and files.
void collect(const std::filesystem::path& input, std::vector<ShardText>& junit,
             std::vector<ShardText>& summaries) {
  const auto add = [&](const std::filesystem::path& file, const std::string& shard) {
    auto& list = file.extension() == ".xml" ? junit : summaries;
    list.push_back({shard, file.string(), read_file(file)});
  };
  if (std::filesystem::is_directory(input)) {
    auto folder = std::filesystem::absolute(input).lexically_normal();
    if (folder.filename().empty()) folder = folder.parent_path();  // "shard-0/"
    const std::string shard = folder.filename().string();
    bool found = false;
    for (const char* name : {"junit.xml", "summary.txt"})
      if (std::filesystem::is_regular_file(input / name)) {
        add(input / name, shard);
        found = true;
      }
    if (!found)
      throw BadInput{
          fmt::format("{}: a shard folder holds junit.xml and/or summary.txt; this one "
                      "holds neither",
                      input.string())};
    return;
  }
  if (input.extension() != ".xml" && input.extension() != ".txt")
    throw BadInput{
        fmt::format("{}: neither a shard folder nor a .xml (JUnit) or .txt (summary) "
                    "file",
                    input.string())};
  add(input, input.stem().string());
}

// Every shard that gave one kind of file gives the other too, when any does.
void check_complete(const std::vector<ShardText>& have, const std::vector<ShardText>& other,
                    const char* what) {
  if (have.empty()) return;
  std::set<std::string> shards;
  for (const auto& s : have)
    shards.insert(s.shard);
  for (const auto& s : other)
    if (!shards.count(s.shard))
      throw BadInput{fmt::format("shard {} has no {} while other shards have one", s.shard, what)};
}

void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out.flush()) throw BadInput{fmt::format("{}: cannot be written", file.string())};
}

}  // namespace

util::Expected<Merged> merge_junit(const std::vector<ShardText>& shards) {
  try {
    std::vector<Document> docs;
    for (const auto& s : shards)
      docs.push_back(read_junit(s));
    if (docs.empty()) return util::Error{"no JUnit file to merge"};
    Merged m;
    std::size_t errors = 0;
    double seconds = 0;
    std::map<std::string, std::string> owner;  // testcase key -> shard
    std::string body;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const std::string& shard = shards[i].shard;
      for (const Suite& s : docs[i].suites) {
        m.tests += s.tests;
        m.failures += s.failures + s.errors;
        errors += s.errors;
        seconds += s.time;
        body += fmt::format(
            "  <testsuite name=\"{} [{}]\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
            "skipped=\"{}\" time=\"{:.3f}\">\n",
            s.name, xml_escape(shard), s.tests, s.failures, s.errors, s.skipped, s.time);
        for (std::size_t k = 0; k < s.testcases.size(); ++k) {
          const auto [it, fresh] = owner.emplace(s.keys[k], shard);
          if (!fresh)
            return util::Error{fmt::format("{}: testcase {} is in shard {} too: shards overlap",
                                           shards[i].where, s.keys[k], it->second)};
          body += "    " + with_shard(s.testcases[k], shard) + "\n";
        }
        body += "  </testsuite>\n";
      }
    }
    m.text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    m.text += fmt::format(
        "<testsuites name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
        "time=\"{:.3f}\">\n",
        docs[0].name, m.tests, m.failures - errors, errors, seconds);
    m.text += body + "</testsuites>\n";
    return m;
  } catch (const BadInput& e) {
    return util::Error{e.message};
  }
}

util::Expected<Merged> merge_summaries(const std::vector<ShardText>& shards) {
  try {
    if (shards.empty()) return util::Error{"no summary to merge"};
    Merged m;
    std::string counts;
    for (const auto& s : shards) {
      std::vector<std::string> lines;
      const SummaryCount c = check_summary(s, lines);
      for (const auto& line : lines)
        m.text += fmt::format("[{}] {}\n", s.shard, line);
      counts += fmt::format("{}: {} passed, {} failed\n", s.shard, c.passed, c.failed);
      m.tests += c.passed + c.failed;
      m.failures += c.failed;
    }
    m.text += "\n" + counts + "\n" +
              fmt::format("{} passed, {} failed\n", m.tests - m.failures, m.failures);
    return m;
  } catch (const BadInput& e) {
    return util::Error{e.message};
  }
}

int merge_command(const MergeRequest& request, std::ostream& out, std::ostream& err) {
  try {
    std::vector<ShardText> junit, summaries;
    for (const auto& input : request.inputs)
      collect(input, junit, summaries);
    check_complete(junit, summaries, "JUnit file");
    check_complete(summaries, junit, "summary");
    if (!junit.empty() && request.junit_out.empty())
      throw BadInput{"the merged JUnit goes to -o FILE"};
    if (junit.empty() && !request.junit_out.empty())
      throw BadInput{"-o: no shard has a JUnit file to merge"};
    if (summaries.empty() && !request.summary_out.empty())
      throw BadInput{"--summary: no shard has a summary to merge"};
    std::optional<Merged> xml, text;
    if (!junit.empty()) {
      auto m = merge_junit(junit);
      if (!m) throw BadInput{m.error()};
      xml = std::move(*m);
    }
    if (!summaries.empty()) {
      auto m = merge_summaries(summaries);
      if (!m) throw BadInput{m.error()};
      text = std::move(*m);
    }
    if (xml && text && (xml->tests != text->tests || xml->failures != text->failures))
      throw BadInput{fmt::format(
          "the JUnit files count {} testcases ({} failed), the summaries {} ({} failed): "
          "from different runs?",
          xml->tests, xml->failures, text->tests, text->failures)};
    if (xml) write_file(request.junit_out, xml->text);
    if (text && !request.summary_out.empty()) write_file(request.summary_out, text->text);
    const Merged& totals = xml ? *xml : *text;
    if (text)
      out << text->text;
    else
      out << fmt::format("{} passed, {} failed\n", totals.tests - totals.failures, totals.failures);
    out << fmt::format("merged {} shards{}\n", std::max(junit.size(), summaries.size()),
                       xml ? " into " + request.junit_out.string() : "");
    return totals.failures == 0 ? 0 : 1;
  } catch (const BadInput& e) {
    err << "bg95-scenario: merge: " << e.message << "\n";
    return 2;
  } catch (const std::filesystem::filesystem_error& e) {
    err << "bg95-scenario: merge: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace bg95::scenario
