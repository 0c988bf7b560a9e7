#pragma once
// The LwM2M object model of a client: objects, their instances and resources (single or
// multiple), each resource with read / write / execute handlers. The operations of the Device
// Management interface (Read, Write, Execute, Discover) work on paths /O, /O/I, /O/I/R and
// answer with CoAP codes and content; the client (client.hpp) maps them onto CoAP.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/lwm2m/codec.hpp"

namespace bg95::lwm2m {

// CoAP response codes as class * 100 + detail.
namespace code {
inline constexpr int kCreated = 201;
inline constexpr int kDeleted = 202;
inline constexpr int kChanged = 204;
inline constexpr int kContent = 205;
inline constexpr int kContinue = 231;
inline constexpr int kBadRequest = 400;
inline constexpr int kUnauthorized = 401;
inline constexpr int kNotFound = 404;
inline constexpr int kMethodNotAllowed = 405;
inline constexpr int kNotAcceptable = 406;
inline constexpr int kIncomplete = 408;  // Request Entity Incomplete (Block1 out of order)
inline constexpr int kTooLarge = 413;
inline constexpr int kUnsupportedFormat = 415;
inline constexpr int kInternal = 500;
inline constexpr int kUnavailable = 503;
}  // namespace code

// Operations a resource allows.
inline constexpr unsigned kRead = 1, kWrite = 2, kExecute = 4;

struct Resource {
  std::uint16_t id = 0;
  Type type = Type::None;
  bool multiple = false;
  unsigned ops = 0;
  // Single resource: its value.
  std::function<Value()> read;
  // Multiple resource: its instances, by id.
  std::function<std::vector<std::pair<std::uint16_t, Value>>()> read_instances;
  // Write of a whole value: a CoAP code (204 when accepted).
  std::function<int(const Value&)> write;
  // Streamed write of a large opaque value (Block1): called per block in order; `last` on the
  // final one. Returns 231 to continue, 204 when done, an error code to stop. When set, it is
  // used for every write of this resource (a one-PDU write is offset 0, last).
  std::function<int(std::uint64_t offset, std::span<const std::uint8_t> bytes, bool last)>
      write_stream;
  std::function<int(std::string_view arguments)> execute;
};

// Shorthands for building a model.
inline Resource readable(std::uint16_t id, Type type, std::function<Value()> read,
                         unsigned ops = kRead) {
  Resource r;
  r.id = id;
  r.type = type;
  r.ops = ops;
  r.read = std::move(read);
  return r;
}
inline Resource executable(std::uint16_t id, std::function<int(std::string_view)> execute = {}) {
  Resource r;
  r.id = id;
  r.ops = kExecute;
  r.execute = std::move(execute);
  return r;
}
inline Resource multiple(std::uint16_t id, Type type) {
  Resource r;
  r.id = id;
  r.type = type;
  r.multiple = true;
  r.ops = kRead;
  return r;
}

struct Instance {
  std::map<std::uint16_t, Resource> resources;
};

struct Object {
  std::string version;  // "" for 1.0 (no ver= attribute in the Register payload)
  std::map<std::uint16_t, Instance> instances;
  bool reported = true;  // listed in the Register payload (Security /0 is not, 6.2.1)
};

// Attributes set by Write-Attributes, looked up per path (for Discover).
using AttributeLookup =
    std::function<std::vector<std::pair<std::string, std::string>>(const std::string& path)>;

// How the bytes of a write to a streamed resource (Resource::write_stream) carry its value:
// as they are (Opaque, or no Content-Format), or as the one TLV of the resource (11542, or
// 1542), whose header the first block holds. Wakaama's server writes a Package that way.
struct StreamFraming {
  bool tlv = false;
  std::uint64_t header = 0;  // TLV header bytes before the value
  std::uint64_t length = 0;  // the value's length the header announces
};
// The framing of a write from its Content-Format and its first bytes (offset 0), or the CoAP
// code that refuses it: 4.15 for another format, 4.00 for a TLV that is not this resource's.
std::variant<StreamFraming, int> stream_framing(const Resource& r,
                                                std::optional<std::uint16_t> content_format,
                                                std::span<const std::uint8_t> first);
// Hands the value bytes among `bytes` (at `offset` of the write) to r.write_stream; 4.00 when
// the write holds more or, at its end, fewer bytes than the TLV announced.
int write_framed(const Resource& r, const StreamFraming& framing, std::uint64_t offset,
                 std::span<const std::uint8_t> bytes, bool last);

class ObjectModel {
 public:
  Object& object(std::uint16_t id) { return objects_[id]; }
  Instance& instance(std::uint16_t object_id, std::uint16_t instance_id) {
    return objects_[object_id].instances[instance_id];
  }
  void add(std::uint16_t object_id, std::uint16_t instance_id, Resource r) {
    const auto id = r.id;
    instance(object_id, instance_id).resources[id] = std::move(r);
  }
  const std::map<std::uint16_t, Object>& objects() const { return objects_; }

  // Is there something at this path (an object, instance or resource)?
  bool exists(std::span<const std::uint16_t> path) const;
  const Resource* find(std::span<const std::uint16_t> path) const;

  struct Content {
    int code = code::kContent;
    std::uint16_t format = format::kText;
    Bytes payload;
  };
  // Read (GET). accept: the Accept option when present. A single resource reads as text/plain
  // (opaque for Opaque) unless TLV is asked for; instances, objects and multiple resources read
  // as TLV. 4.05 for a resource that cannot be read, 4.06 for an impossible Accept.
  // senml: LwM2M 1.1 is in use, so Accept 110 reads as SenML JSON (1.0: 4.06).
  Content read(std::span<const std::uint16_t> path, std::optional<std::uint16_t> accept,
               bool senml = false) const;
  // Write (PUT: replace, POST: partial update on an instance). 2.04 when done. senml: SenML
  // JSON payloads (110) are taken (1.0: 4.15).
  int write(std::span<const std::uint16_t> path, std::optional<std::uint16_t> content_format,
            std::span<const std::uint8_t> payload, bool senml = false) const;
  // Execute (POST on a resource).
  int execute(std::span<const std::uint16_t> path, std::string_view arguments) const;
  // Discover (GET with Accept: link format).
  Content discover(std::span<const std::uint16_t> path, const AttributeLookup& attributes) const;
  // The Register / Update payload: </1/0>,</3/0>,</5/0> (objects without instances as </O>).
  std::vector<Link> register_links() const;

 private:
  std::optional<Tlv> resource_tlv(const Resource& r) const;
  Content read_senml(std::span<const std::uint16_t> path) const;
  int write_senml(std::span<const std::uint16_t> path, std::span<const std::uint8_t> payload) const;
  static int write_value(const Resource& r, const Value& v);
  int write_resource(const Resource& r, std::optional<std::uint16_t> content_format,
                     std::span<const std::uint8_t> payload) const;
  std::map<std::uint16_t, Object> objects_;
};

}  // namespace bg95::lwm2m
