#include "scenarios/package_server/http_response.hpp"

#include <cstdio>

namespace bg95::pkgserver {
namespace {

std::string status_line(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
}

std::string common_headers(bool keep_alive) {
  return std::string("Server: bg95-pkgserver\r\nConnection: ") +
         (keep_alive ? "keep-alive" : "close") + "\r\n";
}

std::string etag(std::uint64_t tag) {
  char text[24];
  std::snprintf(text, sizeof text, "\"%016llx\"", static_cast<unsigned long long>(tag));
  return text;
}

}  // namespace

ResponsePlan plan_text(int status, std::string detail, bool keep_alive, bool head_only) {
  ResponsePlan plan;
  plan.status = status;
  const std::string text = std::to_string(status) + " " + std::string(reason_phrase(status)) + "\n";
  plan.body = std::make_shared<const Bytes>(text.begin(), text.end());
  plan.end = plan.body->size();
  plan.head_only = head_only;
  plan.keep_alive = keep_alive;
  plan.detail = std::move(detail);
  plan.head = status_line(status) + common_headers(keep_alive) +
              "Content-Type: text/plain\r\nContent-Length: " + std::to_string(plan.end) + "\r\n" +
              (status == 405 ? "Allow: GET, HEAD\r\n" : "") + "\r\n";
  return plan;
}

ResponsePlan plan_response(const HttpRequest& request, const Lookup& found,
                           const Effects& effects) {
  const bool head_only = request.method == "HEAD";
  const bool keep_alive = request.keep_alive();
  if (effects.status && (*effects.status < 200 || *effects.status > 299)) {
    return plan_text(*effects.status, "status fault", keep_alive, head_only);
  }
  if (found.status == Lookup::Status::Forbidden) {
    return plan_text(403, found.detail, keep_alive, head_only);
  }
  if (found.status == Lookup::Status::NotFound) {
    return plan_text(404, found.detail, keep_alive, head_only);
  }

  ResponsePlan plan;
  plan.body = found.content.bytes;
  plan.file_body = true;
  plan.head_only = head_only;
  const std::uint64_t size = plan.body->size();
  std::string range_header;
  const RangeAnswer range = parse_range(request.header("range"), size);
  switch (range.kind) {
    case RangeAnswer::Kind::Unsatisfiable: {
      ResponsePlan refused = plan_text(416, "range not satisfiable", keep_alive, head_only);
      const std::string extra = "Content-Range: bytes */" + std::to_string(size) + "\r\n";
      refused.head.insert(refused.head.size() - 2, extra);
      return refused;
    }
    case RangeAnswer::Kind::Part:
      plan.status = 206;
      plan.begin = range.first;
      plan.end = range.last + 1;
      plan.range_first = range.first;
      plan.range_last = range.last;
      range_header = "Content-Range: bytes " + std::to_string(range.first) + "-" +
                     std::to_string(range.last) + "/" + std::to_string(size) + "\r\n";
      break;
    case RangeAnswer::Kind::Whole:
      plan.status = 200;
      plan.begin = 0;
      plan.end = size;
      break;
  }
  if (effects.status) plan.status = *effects.status;  // a 2xx: the file still goes out
  // A wrong length or an early close leaves the connection's framing broken: close after.
  plan.keep_alive = keep_alive && !effects.content_length && !effects.truncate_at;
  const std::uint64_t length = effects.content_length.value_or(plan.end - plan.begin);
  plan.head =
      status_line(plan.status) + common_headers(plan.keep_alive) +
      "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(length) +
      "\r\nAccept-Ranges: bytes\r\nETag: " + etag(found.content.tag) + "\r\n" + range_header +
      "\r\n";
  return plan;
}

}  // namespace bg95::pkgserver
