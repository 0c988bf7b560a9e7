#include "protocol/lwm2m/object_model.hpp"

#include <algorithm>

namespace bg95::lwm2m {
namespace {

bool is_tlv(std::optional<std::uint16_t> f) {
  return f && (*f == format::kTlv || *f == format::kTlvOld);
}

}  // namespace

std::variant<StreamFraming, int> stream_framing(const Resource& r,
                                                std::optional<std::uint16_t> content_format,
                                                std::span<const std::uint8_t> first) {
  if (!content_format || *content_format == format::kOpaque) return StreamFraming{};
  if (!is_tlv(content_format)) return code::kUnsupportedFormat;
  const auto h = decode_tlv_header(first);
  if (!h || h->kind != Tlv::Kind::Resource || h->id != r.id) return code::kBadRequest;
  return StreamFraming{true, h->size, h->length};
}

int write_framed(const Resource& r, const StreamFraming& framing, std::uint64_t offset,
                 std::span<const std::uint8_t> bytes, bool last) {
  if (!framing.tlv) return r.write_stream(offset, bytes, last);
  const std::uint64_t end = framing.header + framing.length;  // of the TLV in the write
  const std::uint64_t received = offset + bytes.size();
  if (received > end || (last && received != end)) return code::kBadRequest;
  const std::uint64_t skip = offset < framing.header ? framing.header - offset : 0;
  if (skip > bytes.size()) return code::kBadRequest;  // the header did not fit the first block
  return r.write_stream(offset + skip - framing.header, bytes.subspan(skip), last);
}

bool ObjectModel::exists(std::span<const std::uint16_t> path) const {
  if (path.empty()) return false;
  const auto o = objects_.find(path[0]);
  if (o == objects_.end()) return false;
  if (path.size() == 1) return true;
  const auto i = o->second.instances.find(path[1]);
  if (i == o->second.instances.end()) return false;
  if (path.size() == 2) return true;
  return path.size() == 3 && i->second.resources.contains(path[2]);
}

const Resource* ObjectModel::find(std::span<const std::uint16_t> path) const {
  if (path.size() != 3 || !exists(path)) return nullptr;
  return &objects_.at(path[0]).instances.at(path[1]).resources.at(path[2]);
}

std::optional<Tlv> ObjectModel::resource_tlv(const Resource& r) const {
  if ((r.ops & kRead) == 0) return std::nullopt;
  Tlv t;
  t.id = r.id;
  if (r.multiple) {
    t.kind = Tlv::Kind::MultipleResource;
    if (r.read_instances) {
      for (const auto& [id, v] : r.read_instances())
        t.children.push_back({Tlv::Kind::ResourceInstance, id, tlv_value(v), {}});
    }
    return t;
  }
  if (!r.read) return std::nullopt;
  t.kind = Tlv::Kind::Resource;
  t.value = tlv_value(r.read());
  return t;
}

ObjectModel::Content ObjectModel::read(std::span<const std::uint16_t> path,
                                       std::optional<std::uint16_t> accept, bool senml) const {
  Content c;
  if (!exists(path)) return {code::kNotFound, 0, {}};
  if (senml && accept && *accept == format::kSenmlJson) return read_senml(path);
  if (accept && !is_tlv(accept) && *accept != format::kText && *accept != format::kOpaque)
    return {code::kNotAcceptable, 0, {}};
  if (path.size() == 3) {
    const Resource& r = *find(path);
    if ((r.ops & kRead) == 0) return {code::kMethodNotAllowed, 0, {}};
    if (!r.multiple && !is_tlv(accept)) {
      const Value v = r.read();
      if (v.type == Type::Opaque) {
        if (accept && *accept != format::kOpaque) return {code::kNotAcceptable, 0, {}};
        c.format = format::kOpaque;
        c.payload.assign(v.bytes.begin(), v.bytes.end());
        return c;
      }
      if (accept && *accept != format::kText) return {code::kNotAcceptable, 0, {}};
      const auto text = to_text(v).value_or("");
      c.format = format::kText;
      c.payload.assign(text.begin(), text.end());
      return c;
    }
    if (accept && !is_tlv(accept)) return {code::kNotAcceptable, 0, {}};
    const auto t = resource_tlv(r);
    if (!t) return {code::kMethodNotAllowed, 0, {}};
    c.format = format::kTlv;
    c.payload = encode_tlv(std::span(&*t, 1));
    return c;
  }
  if (accept && !is_tlv(accept)) return {code::kNotAcceptable, 0, {}};
  auto instance_tlvs = [&](const Instance& inst) {
    std::vector<Tlv> out;
    for (const auto& [id, r] : inst.resources)
      if (auto t = resource_tlv(r)) out.push_back(std::move(*t));
    return out;
  };
  const Object& o = objects_.at(path[0]);
  c.format = format::kTlv;
  if (path.size() == 2) {
    const auto tlvs = instance_tlvs(o.instances.at(path[1]));
    c.payload = encode_tlv(tlvs);
    return c;
  }
  std::vector<Tlv> instances;
  for (const auto& [id, inst] : o.instances)
    instances.push_back({Tlv::Kind::ObjectInstance, id, {}, instance_tlvs(inst)});
  c.payload = encode_tlv(instances);
  return c;
}

int ObjectModel::write_resource(const Resource& r, std::optional<std::uint16_t> content_format,
                                std::span<const std::uint8_t> payload) const {
  if ((r.ops & kWrite) == 0) return code::kMethodNotAllowed;
  if (r.write_stream) {
    const auto framing = stream_framing(r, content_format, payload);
    if (const int* refused = std::get_if<int>(&framing)) return *refused;
    return write_framed(r, std::get<StreamFraming>(framing), 0, payload, true);
  }
  if (!r.write) return code::kMethodNotAllowed;
  std::optional<Value> v;
  if (is_tlv(content_format)) {
    const auto tlvs = decode_tlv(payload);
    if (!tlvs || tlvs->size() != 1 || (*tlvs)[0].id != r.id) return code::kBadRequest;
    if ((*tlvs)[0].kind != Tlv::Kind::Resource) return code::kBadRequest;
    v = from_tlv_value((*tlvs)[0].value, r.type);
  } else if (!content_format || *content_format == format::kText ||
             *content_format == format::kOpaque) {
    if (content_format && *content_format == format::kOpaque && r.type != Type::Opaque)
      return code::kUnsupportedFormat;
    v = from_text(std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()),
                  r.type);
  } else {
    return code::kUnsupportedFormat;
  }
  if (!v) return code::kBadRequest;
  return r.write(*v);
}

int ObjectModel::write(std::span<const std::uint16_t> path,
                       std::optional<std::uint16_t> content_format,
                       std::span<const std::uint8_t> payload, bool senml) const {
  if (!exists(path)) return code::kNotFound;
  if (path.size() == 1) return code::kMethodNotAllowed;
  if (senml && content_format && *content_format == format::kSenmlJson)
    return write_senml(path, payload);
  if (path.size() == 3) return write_resource(*find(path), content_format, payload);
  // An instance: TLV of its resources.
  if (!is_tlv(content_format)) return code::kUnsupportedFormat;
  const auto tlvs = decode_tlv(payload);
  if (!tlvs) return code::kBadRequest;
  const Instance& inst = objects_.at(path[0]).instances.at(path[1]);
  // Check every resource first, so a write is all or nothing as far as permissions go.
  for (const auto& t : *tlvs) {
    const auto r = inst.resources.find(t.id);
    if (r == inst.resources.end()) return code::kNotFound;
    if ((r->second.ops & kWrite) == 0) return code::kMethodNotAllowed;
    if (t.kind != Tlv::Kind::Resource) return code::kBadRequest;
  }
  for (const auto& t : *tlvs) {
    const Resource& r = inst.resources.at(t.id);
    const Tlv one{Tlv::Kind::Resource, t.id, t.value, {}};
    const Bytes bytes = encode_tlv(std::span(&one, 1));
    const int rc = write_resource(r, format::kTlv, bytes);
    if (rc != code::kChanged) return rc;
  }
  return code::kChanged;
}

ObjectModel::Content ObjectModel::read_senml(std::span<const std::uint16_t> path) const {
  // Base name: the path asked for, with a trailing "/" unless it is a single resource; every
  // record's name is relative to it (OMA-TS-LightweightM2M_Core-V1_1, 7.4.4).
  std::vector<SenmlRecord> records;
  auto add_resource = [&](const std::string& prefix, const Resource& r) {
    if ((r.ops & kRead) == 0) return;
    const std::string name = prefix + std::to_string(r.id);
    if (r.multiple) {
      if (!r.read_instances) return;
      for (const auto& [id, v] : r.read_instances())
        records.push_back({name + "/" + std::to_string(id), v});
    } else if (r.read) {
      records.push_back({name, r.read()});
    }
  };
  auto add_instance = [&](std::uint16_t oid, std::uint16_t iid, const Instance& inst) {
    const std::string prefix = "/" + std::to_string(oid) + "/" + std::to_string(iid) + "/";
    for (const auto& [rid, r] : inst.resources)
      add_resource(prefix, r);
  };
  std::string base = format_path(path);
  if (path.size() == 3) {
    const Resource& r = *find(path);
    if ((r.ops & kRead) == 0 || (!r.multiple && !r.read)) return {code::kMethodNotAllowed, 0, {}};
    add_resource("/" + std::to_string(path[0]) + "/" + std::to_string(path[1]) + "/", r);
    if (r.multiple) base += "/";
  } else {
    base += "/";
    const Object& o = objects_.at(path[0]);
    for (const auto& [iid, inst] : o.instances)
      if (path.size() == 1 || iid == path[1]) add_instance(path[0], iid, inst);
  }
  Content c;
  c.format = format::kSenmlJson;
  const std::string text = encode_senml(base, records);
  c.payload.assign(text.begin(), text.end());
  return c;
}

int ObjectModel::write_value(const Resource& r, const Value& decoded) {
  if ((r.ops & kWrite) == 0) return code::kMethodNotAllowed;
  const auto v = senml_as(decoded, r.type);
  if (!v) return code::kBadRequest;
  if (r.write_stream) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(v->bytes.data());
    return r.write_stream(0, std::span(p, v->bytes.size()), true);
  }
  if (!r.write) return code::kMethodNotAllowed;
  return r.write(*v);
}

int ObjectModel::write_senml(std::span<const std::uint16_t> path,
                             std::span<const std::uint8_t> payload) const {
  const auto records = decode_senml(payload);
  if (!records || records->empty()) return code::kBadRequest;
  // Resolve and check every record first: all of them must name a single resource at or under
  // the path written.
  std::vector<std::pair<const Resource*, const Value*>> writes;
  for (const auto& rec : *records) {
    const auto ids = parse_path(rec.name);
    if (!ids || ids->size() < path.size() || !std::equal(path.begin(), path.end(), ids->begin()))
      return code::kBadRequest;
    if (ids->size() == 4) return code::kMethodNotAllowed;  // no writable multiple resources
    if (ids->size() != 3) return code::kBadRequest;
    const Resource* r = find(*ids);
    if (r == nullptr) return code::kNotFound;
    if ((r->ops & kWrite) == 0) return code::kMethodNotAllowed;
    if (!senml_as(rec.value, r->type)) return code::kBadRequest;
    writes.emplace_back(r, &rec.value);
  }
  for (const auto& [r, v] : writes) {
    const int rc = write_value(*r, *v);
    if (rc != code::kChanged) return rc;
  }
  return code::kChanged;
}

int ObjectModel::execute(std::span<const std::uint16_t> path, std::string_view arguments) const {
  if (!exists(path)) return code::kNotFound;
  if (path.size() != 3) return code::kMethodNotAllowed;
  const Resource& r = *find(path);
  if ((r.ops & kExecute) == 0 || !r.execute) return code::kMethodNotAllowed;
  return r.execute(arguments);
}

ObjectModel::Content ObjectModel::discover(std::span<const std::uint16_t> path,
                                           const AttributeLookup& attributes) const {
  if (!exists(path)) return {code::kNotFound, 0, {}};
  std::vector<Link> links;
  auto add = [&](const std::vector<std::uint16_t>& ids) {
    const std::string p = format_path(ids);
    Link l{p, attributes ? attributes(p) : std::vector<std::pair<std::string, std::string>>{}};
    if (ids.size() == 3) {
      const Resource& r = *find(ids);
      if (r.multiple && r.read_instances)
        l.attributes.emplace_back("dim", std::to_string(r.read_instances().size()));
    }
    links.push_back(std::move(l));
  };
  const Object& o = objects_.at(path[0]);
  if (path.size() == 1) {
    add({path[0]});
    if (!o.version.empty()) links.back().attributes.emplace_back("ver", o.version);
  }
  for (const auto& [iid, inst] : o.instances) {
    if (path.size() >= 2 && iid != path[1]) continue;
    if (path.size() <= 2) add({path[0], iid});
    for (const auto& [rid, r] : inst.resources) {
      if (path.size() == 3 && rid != path[2]) continue;
      add({path[0], iid, rid});
    }
  }
  Content c;
  c.format = format::kLink;
  const std::string text = format_links(links);
  c.payload.assign(text.begin(), text.end());
  return c;
}

std::vector<Link> ObjectModel::register_links() const {
  std::vector<Link> links;
  for (const auto& [oid, o] : objects_) {
    if (!o.reported) continue;
    if (o.instances.empty()) {
      links.push_back({"/" + std::to_string(oid), {}});
      if (!o.version.empty()) links.back().attributes.emplace_back("ver", o.version);
      continue;
    }
    for (const auto& [iid, inst] : o.instances) {
      links.push_back({"/" + std::to_string(oid) + "/" + std::to_string(iid), {}});
      if (!o.version.empty()) links.back().attributes.emplace_back("ver", o.version);
    }
  }
  return links;
}

}  // namespace bg95::lwm2m
