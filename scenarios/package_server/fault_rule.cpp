#include "scenarios/package_server/fault_rule.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <stdexcept>

namespace bg95::pkgserver {
namespace {

std::string ordinal(std::uint64_t n) {
  const std::uint64_t tens = n % 100;
  const char* suffix = "th";
  if (tens < 11 || tens > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

// A CoAP response code written as class * 100 + detail: class 2..5, detail 0..31.
bool is_coap_code(int code) {
  return code >= 200 && code < 600 && code % 100 <= 31;
}

bool covers_http(const FaultRule& rule) {
  return rule.covers(Protocol::Http) || rule.covers(Protocol::Https);
}
bool covers_coap(const FaultRule& rule) {
  return rule.covers(Protocol::Coap) || rule.covers(Protocol::Coaps);
}

bool has_request_effect(const FaultRule& r) {
  return r.status || r.truncate_at || r.stall_after || r.stall_for || r.rate_limit ||
         r.content_length || !r.corrupt.empty() || r.close_without_response ||
         r.etag_change_after || r.out_of_order || r.drop;
}

}  // namespace

bool RequestSelector::matches(std::uint64_t index) const {
  switch (kind) {
    case Kind::All:
      return true;
    case Kind::First:
      return index <= n;
    case Kind::Every:
      return n > 0 && index % n == 0;
    case Kind::Nth:
      return index == n;
  }
  return false;
}

std::string RequestSelector::describe() const {
  switch (kind) {
    case Kind::All:
      return "all";
    case Kind::First:
      return "first " + std::to_string(n);
    case Kind::Every:
      return "every " + ordinal(n);
    case Kind::Nth:
      return "only the " + ordinal(n);
  }
  return "?";
}

bool FaultRule::covers(Protocol protocol) const {
  return protocols.empty() ||
         std::find(protocols.begin(), protocols.end(), protocol) != protocols.end();
}

std::vector<std::string> FaultEffects::describe_effects() const {
  std::vector<std::string> out;
  auto add = [&out](const char* key, auto value) { out.push_back(key + ("=" + value)); };
  if (status) add("status", std::to_string(*status));
  if (truncate_at) add("truncate_at", std::to_string(*truncate_at));
  if (stall_after) add("stall_after", std::to_string(*stall_after));
  if (stall_for) add("stall_for", std::to_string(stall_for->count()) + "ms");
  if (rate_limit) add("rate_limit", std::to_string(*rate_limit));
  if (content_length) add("content_length", std::to_string(*content_length));
  for (const ByteSpan& span : corrupt) {
    add("corrupt", std::to_string(span.offset) + "+" + std::to_string(span.count));
  }
  if (close_without_response) out.emplace_back("close_without_response");
  if (tls_wrong_ca) out.emplace_back("tls_wrong_ca");
  if (etag_change_after) add("etag_change_after", std::to_string(*etag_change_after));
  if (out_of_order) add("out_of_order", std::to_string(*out_of_order));
  if (drop) add("drop", std::to_string(*drop));
  return out;
}

std::string validate(const FaultRule& rule) {
  if (rule.path.empty()) return "path: empty (use \"*\" for every path)";
  if (rule.requests.kind != RequestSelector::Kind::All && rule.requests.n == 0) {
    return "requests: the count must be 1 or more";
  }
  if (!has_request_effect(rule) && !rule.tls_wrong_ca) {
    return "the rule has no effect (status, truncate_at, stall_after, rate_limit, "
           "content_length, corrupt, close_without_response, tls_wrong_ca, etag_change_after, "
           "out_of_order or drop)";
  }
  if (rule.tls_wrong_ca) {
    if (!rule.covers(Protocol::Https) && !rule.covers(Protocol::Coaps)) {
      return "tls_wrong_ca: only for https and coaps";
    }
    if (rule.path != "*") {
      return "tls_wrong_ca: the certificate is chosen in the TLS handshake, before the path is "
             "known; leave path out";
    }
    if (has_request_effect(rule)) {
      return "tls_wrong_ca: counts connections, not requests; put the other effects in a rule "
             "of their own";
    }
  }
  if (rule.status) {
    const int code = *rule.status;
    if (covers_http(rule) && (code < 100 || code > 599)) {
      return "status " + std::to_string(code) + ": an HTTP status is 100..599";
    }
    if (covers_coap(rule) && !is_coap_code(code)) {
      return "status " + std::to_string(code) +
             ": not a CoAP response code (class 2..5, detail 0..31, e.g. 4.04 = 404); limit the "
             "rule with protocol: [http, https]";
    }
  }
  if (rule.stall_for && !rule.stall_after) return "stall_for: needs stall_after";
  if (rule.stall_for && rule.stall_for->count() <= 0) return "stall_for: must be positive";
  if (rule.rate_limit && *rule.rate_limit == 0) return "rate_limit: must be 1 byte/s or more";
  for (const ByteSpan& span : rule.corrupt) {
    if (span.count == 0) return "corrupt: count must be 1 or more";
  }
  if (rule.drop && *rule.drop == 0) return "drop: every n-th datagram needs n >= 1";
  const bool coap_only = rule.etag_change_after || rule.out_of_order || rule.drop;
  if (coap_only && !covers_coap(rule)) {
    return "etag_change_after, out_of_order and drop exist for coap and coaps only";
  }
  return {};
}

bool path_matches(const std::string& pattern, const std::string& path) {
  return pattern == path || ::fnmatch(pattern.c_str(), path.c_str(), 0) == 0;
}

void Effects::merge(const FaultRule& rule) {
  if (rule.status) status = rule.status;
  if (rule.truncate_at) truncate_at = rule.truncate_at;
  if (rule.stall_after) {
    stall_after = rule.stall_after;
    stall_for = rule.stall_for;
  }
  if (rule.rate_limit) rate_limit = rule.rate_limit;
  if (rule.content_length) content_length = rule.content_length;
  corrupt.insert(corrupt.end(), rule.corrupt.begin(), rule.corrupt.end());
  close_without_response = close_without_response || rule.close_without_response;
  if (rule.etag_change_after) etag_change_after = rule.etag_change_after;
  if (rule.out_of_order) out_of_order = rule.out_of_order;
  if (rule.drop) drop = rule.drop;
  for (auto& term : rule.describe_effects()) {
    applied.push_back(std::move(term));
  }
}

void Effects::corrupt_chunk(std::uint64_t offset, std::uint8_t* chunk, std::size_t size) const {
  const std::uint64_t end = offset + size;
  for (const ByteSpan& span : corrupt) {
    const std::uint64_t first = std::max(span.offset, offset);
    const std::uint64_t last = std::min(span.offset + span.count, end);
    for (std::uint64_t at = first; at < last; ++at) {
      chunk[at - offset] ^= 0xffu;
    }
  }
}

void FaultBook::set(std::vector<FaultRule> rules) {
  for (const FaultRule& rule : rules) {
    if (const std::string why = validate(rule); !why.empty()) throw std::invalid_argument(why);
  }
  entries_.clear();
  for (FaultRule& rule : rules) {
    entries_.push_back(Entry{next_id_++, std::move(rule), {}, 0});
  }
}

void FaultBook::add(FaultRule rule) {
  if (const std::string why = validate(rule); !why.empty()) throw std::invalid_argument(why);
  entries_.push_back(Entry{next_id_++, std::move(rule), {}, 0});
}

void FaultBook::clear() {
  entries_.clear();
}

std::vector<FaultRule> FaultBook::rules() const {
  std::vector<FaultRule> out;
  out.reserve(entries_.size());
  for (const Entry& entry : entries_) {
    out.push_back(entry.rule);
  }
  return out;
}

Effects FaultBook::select(Protocol protocol, const std::string& path, TransferTicket& ticket) {
  Effects effects;
  for (Entry& entry : entries_) {
    const FaultRule& rule = entry.rule;
    if (rule.tls_wrong_ca || !rule.covers(protocol) || !path_matches(rule.path, path)) continue;
    auto [it, fresh] = ticket.index_by_rule.try_emplace(entry.id, 0);
    if (fresh) it->second = ++entry.count_by_path[path];
    if (rule.requests.matches(it->second)) effects.merge(rule);
  }
  return effects;
}

std::optional<std::string> FaultBook::wrong_ca_for_connection(Protocol protocol) {
  std::optional<std::string> chosen;
  for (Entry& entry : entries_) {
    if (!entry.rule.tls_wrong_ca || !entry.rule.covers(protocol)) continue;
    ++entry.connections;
    if (entry.rule.requests.matches(entry.connections) && !chosen) {
      chosen = "tls_wrong_ca (connection " + std::to_string(entry.connections) + ", " +
               entry.rule.requests.describe() + ")";
    }
  }
  return chosen;
}

}  // namespace bg95::pkgserver
