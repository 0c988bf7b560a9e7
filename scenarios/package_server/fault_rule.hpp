#pragma once
// Server-side faults: which requests a rule applies to, and what it does to them.
// docs/package-server.md describes every effect per protocol; this header is the reference for
// the types.
//
// A rule selects requests by path (exact, or a glob as fnmatch(3) without flags: "*" matches
// everything, "/" included), by protocol (none listed = all four) and by count: all requests,
// the first N, every k-th, or only the n-th, counted per rule and per requested path. A CoAP
// download is many block requests; what a rule counts there is transfers (a request for block 0
// starts one, its retransmissions do not), and the effects then hold for every block of it.
// tls_wrong_ca is decided in the TLS handshake, before any path is known: such a rule counts
// connections to the HTTPS or CoAPS listener instead and carries no other effect.
//
// Byte offsets (truncate_at, stall_after, corrupt) are offsets into the whole file, also when a
// Range request or a CoAP block asks for a part of it.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/package_server/protocol.hpp"

namespace bg95::pkgserver {

struct RequestSelector {
  enum class Kind { All, First, Every, Nth };
  Kind kind = Kind::All;
  std::uint64_t n = 1;  // First: how many; Every: the period k; Nth: which (1-based)

  // `index` counts from 1: the first request (transfer, connection) a rule saw is 1.
  bool matches(std::uint64_t index) const;
  std::string describe() const;  // "all", "first 2", "every 3rd", "only the 2nd"
};

struct ByteSpan {
  std::uint64_t offset = 0;
  std::uint64_t count = 0;
  friend bool operator==(const ByteSpan&, const ByteSpan&) = default;
};

// What a rule does to the requests it selects; any combination.
struct FaultEffects {
  // HTTP status (100..599), or CoAP response code as class * 100 + detail (404 = 4.04).
  // A 2xx status still sends the file; any other sends a short text body (HTTP) or no payload.
  std::optional<int> status;
  // HTTP: send the body bytes before this file offset, then close the connection. CoAP: the
  // body ends there (the block holding it is cut short and is the last one).
  std::optional<std::uint64_t> truncate_at;
  // Send the body up to this file offset, then nothing (the connection stays open); with
  // stall_for, go on sending after that long. CoAP: blocks that end beyond it get no answer.
  std::optional<std::uint64_t> stall_after;
  std::optional<std::chrono::milliseconds> stall_for;
  // Average body rate in bytes per second.
  std::optional<std::uint64_t> rate_limit;
  // Announce this Content-Length (HTTP) or Size2 (CoAP); the file's real bytes are sent.
  std::optional<std::uint64_t> content_length;
  // Flip these bytes of the file (XOR 0xff) on the way out.
  std::vector<ByteSpan> corrupt;
  // HTTP: read the request, close without a byte of response. CoAP: answer with a Reset.
  bool close_without_response = false;
  // HTTPS/CoAPS with certificates: present a certificate from the wrong CA (wrong-ca.pem).
  bool tls_wrong_ca = false;
  // CoAP only: blocks after block N carry another ETag.
  std::optional<std::uint32_t> etag_change_after;
  // CoAP only: the request for block N is answered with block N + 1 (N - 1 for the last).
  std::optional<std::uint32_t> out_of_order;
  // CoAP only: no answer to every n-th request datagram of a transfer, like a lossy link.
  std::optional<std::uint64_t> drop;

  // The effects set, as "key=value" terms, for events and logs.
  std::vector<std::string> describe_effects() const;
};

struct FaultRule : FaultEffects {
  // --- Which requests.
  std::string path = "*";
  std::vector<Protocol> protocols;  // empty: all
  RequestSelector requests;

  // Does the rule apply to requests (or connections) of this protocol at all?
  bool covers(Protocol protocol) const;
};

// Empty when the rule is usable; else why not, naming the key ("status 451 is not a CoAP
// code ...").
std::string validate(const FaultRule& rule);

// True when `path` matches the rule's path pattern.
bool path_matches(const std::string& pattern, const std::string& path);

// The merge of every rule that selected one request: later rules win for single values;
// corrupt spans add up (tls_wrong_ca plays no part here).
struct Effects : FaultEffects {
  std::vector<std::string> applied;  // describe_effects() of each rule that selected it

  void merge(const FaultRule& rule);
  // Flips the bytes of `corrupt` that fall into `chunk`, whose first byte is at file offset
  // `offset`.
  void corrupt_chunk(std::uint64_t offset, std::uint8_t* chunk, std::size_t size) const;
};

// Where one transfer stands with each rule: its 1-based index among the transfers the rule
// counted for that path. Kept by the transfer (an HTTP request, a CoAP block-wise download).
struct TransferTicket {
  std::map<std::uint64_t, std::uint64_t> index_by_rule;
};

// The rules in force and their counters. Rules may change at any time; a rule added while a
// transfer runs counts that transfer when it first sees one of its requests.
class FaultBook {
 public:
  void set(std::vector<FaultRule> rules);  // throws std::invalid_argument (validate())
  void add(FaultRule rule);                // throws std::invalid_argument
  void clear();
  std::vector<FaultRule> rules() const;

  // The effects for a request of `path` over `protocol`, part of the transfer `ticket` stands
  // for (tls_wrong_ca rules do not take part).
  Effects select(Protocol protocol, const std::string& path, TransferTicket& ticket);

  // A new TLS connection to the HTTPS or CoAPS listener: the description of the tls_wrong_ca
  // rule that selects it, if any.
  std::optional<std::string> wrong_ca_for_connection(Protocol protocol);

 private:
  struct Entry {
    std::uint64_t id;
    FaultRule rule;
    std::map<std::string, std::uint64_t> count_by_path;  // transfers counted, per path
    std::uint64_t connections = 0;                       // tls_wrong_ca: connections counted
  };
  std::vector<Entry> entries_;
  std::uint64_t next_id_ = 1;
};

}  // namespace bg95::pkgserver
