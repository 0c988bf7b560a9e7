#pragma once
// What the package server answers to one HTTP request, before any byte goes out: status line
// and headers, the part of the body to send, and whether the connection stays open. The faults'
// byte effects (truncation, stall, rate, corruption) are the connection's business; the ones
// that change the answer itself (status, content_length) are applied here.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "scenarios/package_server/content_store.hpp"
#include "scenarios/package_server/fault_rule.hpp"
#include "scenarios/package_server/http_request.hpp"

namespace bg95::pkgserver {

struct ResponsePlan {
  int status = 200;
  std::string head;                   // status line, headers, the empty line
  std::shared_ptr<const Bytes> body;  // the file, or a short text
  std::uint64_t begin = 0;            // the part of *body to send: [begin, end)
  std::uint64_t end = 0;
  bool file_body = false;  // the body is the file: byte offsets of faults apply to it
  bool head_only = false;  // HEAD: no body goes out
  bool keep_alive = false;
  std::optional<std::uint64_t> range_first;  // a Range request served (inclusive)
  std::optional<std::uint64_t> range_last;
  std::string detail;
};

// GET or HEAD of a file found (or not) in the store, with the faults in force.
ResponsePlan plan_response(const HttpRequest& request, const Lookup& found, const Effects& effects);

// A short "<status> <reason>\n" text answer (400, 404, 405, 431, 503, ...).
ResponsePlan plan_text(int status, std::string detail, bool keep_alive, bool head_only = false);

}  // namespace bg95::pkgserver
