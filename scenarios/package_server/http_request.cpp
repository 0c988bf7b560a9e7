#include "scenarios/package_server/http_request.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "scenarios/package_server/content_store.hpp"

namespace bg95::pkgserver {
namespace {

bool is_tchar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u) != 0) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes one segment; false for a malformed escape.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    const int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
    const int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool parse_number(std::string_view text, std::uint64_t& value) {
  if (text.empty() || text.size() > 19) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

// Does a comma-separated header value list contain `token` (case-insensitive)?
bool has_token(const std::string* value, std::string_view token) {
  if (value == nullptr) return false;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    if (lower(trim(rest.substr(0, comma))) == token) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

HeadParse refuse(int status, std::string why) {
  HeadParse out;
  out.status = status;
  out.why = std::move(why);
  return out;
}

}  // namespace

const std::string* HttpRequest::header(std::string_view lower_case_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_case_name) return &value;
  }
  return nullptr;
}

bool HttpRequest::keep_alive() const {
  const std::string* connection = header("connection");
  if (minor_version >= 1) return !has_token(connection, "close");
  return has_token(connection, "keep-alive");
}

HeadParse parse_request_head(std::string_view head) {
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    const std::size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (lf == std::string_view::npos) break;
    head.remove_prefix(lf + 1);
  }
  // RFC 9112 2.2: empty lines before the request line are ignored.
  while (!lines.empty() && lines.front().empty())
    lines.erase(lines.begin());
  if (lines.empty()) return refuse(400, "empty request");

  const std::string_view request_line = lines.front();
  const std::size_t sp1 = request_line.find(' ');
  const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    return refuse(400, "malformed request line");
  }
  HttpRequest request;
  request.method = std::string(request_line.substr(0, sp1));
  request.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = request_line.substr(sp2 + 1);
  if (!is_token(request.method)) return refuse(400, "malformed method");
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' ||
      std::isdigit(static_cast<unsigned char>(version[5])) == 0 ||
      std::isdigit(static_cast<unsigned char>(version[7])) == 0) {
    return refuse(400, "malformed HTTP version");
  }
  if (version[5] != '1') return refuse(505, "only HTTP/1.x is served");
  request.minor_version = version[7] - '0';

  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string_view line = lines[i];
    if (line.empty()) return refuse(400, "empty line inside the head");
    if (line.front() == ' ' || line.front() == '\t') return refuse(400, "folded header line");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return refuse(400, "malformed header line");
    }
    request.headers.emplace_back(lower(line.substr(0, colon)),
                                 std::string(trim(line.substr(colon + 1))));
  }
  if (request.minor_version >= 1 && request.header("host") == nullptr) {
    return refuse(400, "HTTP/1.1 request without Host");
  }
  if (request.header("transfer-encoding") != nullptr) {
    return refuse(400, "request bodies are not accepted");
  }
  if (const std::string* length = request.header("content-length");
      length != nullptr && *length != "0") {
    return refuse(400, "request bodies are not accepted");
  }

  // origin-form "/path?query", or absolute-form "http://host/path" (RFC 9112 3.2.2).
  std::string_view target = request.target;
  if (target.starts_with("http://") || target.starts_with("https://")) {
    const std::size_t authority = target.find("//") + 2;
    const std::size_t slash = target.find('/', authority);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (!target.starts_with('/')) return refuse(400, "the target is not a path");
  target = target.substr(0, target.find_first_of("?#"));
  for (const std::string& raw : split_path(target)) {
    std::string decoded;
    if (!percent_decode(raw, decoded)) return refuse(400, "malformed percent escape");
    request.segments.push_back(std::move(decoded));
  }

  if (request.method != "GET" && request.method != "HEAD") {
    HeadParse out = refuse(405, "only GET and HEAD are served");
    out.request = std::move(request);  // the event still names method and path
    return out;
  }
  HeadParse out;
  out.request = std::move(request);
  return out;
}

RangeAnswer parse_range(const std::string* header, std::uint64_t size) {
  RangeAnswer whole;
  if (header == nullptr) return whole;
  std::string_view value = trim(*header);
  const std::size_t eq = value.find('=');
  if (eq == std::string_view::npos || lower(trim(value.substr(0, eq))) != "bytes") return whole;
  value = trim(value.substr(eq + 1));
  if (value.find(',') != std::string_view::npos) return whole;  // several ranges: ignored
  const std::size_t dash = value.find('-');
  if (dash == std::string_view::npos) return whole;
  const std::string_view from = trim(value.substr(0, dash));
  const std::string_view to = trim(value.substr(dash + 1));

  RangeAnswer part;
  part.kind = RangeAnswer::Kind::Part;
  if (from.empty()) {  // suffix: the last n bytes
    std::uint64_t n = 0;
    if (!parse_number(to, n)) return whole;
    if (n == 0 || size == 0) return RangeAnswer{RangeAnswer::Kind::Unsatisfiable, 0, 0};
    part.first = size - std::min(n, size);
    part.last = size - 1;
    return part;
  }
  std::uint64_t first = 0;
  if (!parse_number(from, first)) return whole;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!to.empty()) {
    if (!parse_number(to, last) || last < first) return whole;
  }
  if (first >= size) return RangeAnswer{RangeAnswer::Kind::Unsatisfiable, 0, 0};
  part.first = first;
  part.last = std::min(last, size - 1);
  return part;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
  }
  return "Unknown";
}

}  // namespace bg95::pkgserver
