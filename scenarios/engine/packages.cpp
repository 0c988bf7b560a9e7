#include "scenarios/engine/packages.hpp"

#include <random>

#include <fmt/format.h>

#include "sim/firmware/package.hpp"
#include "sim/firmware/synthetic.hpp"

namespace bg95::scenario {

firmware::ImageHeader image_header(const FirmwareSpec& spec, const std::string& model) {
  firmware::ImageHeader h;
  h.model = model;
  h.revision = spec.revision.empty() ? firmware::default_revision(model) : spec.revision;
  h.full_version =
      spec.full_version.empty() ? firmware::default_full_version(h.revision) : spec.full_version;
  return h;
}

Bytes build_image(const FirmwareSpec& spec, const std::string& model) {
  return firmware::make_image(
      image_header(spec, model),
      firmware::synthetic_body(spec.size - firmware::kImageHeaderSize, spec.seed));
}

firmware::ImageHeader target_header(const firmware::ImageHeader& source, const PackageSpec& spec) {
  firmware::ImageHeader next = source;
  next.revision = spec.target_revision.empty() ? firmware::next_revision(source.revision)
                                               : spec.target_revision;
  // As `dfota-pack firmware --bump-revision`: the sub-versions step, named by the new revision.
  next.full_version = firmware::next_full_version(source.full_version);
  if (next.full_version.starts_with(source.revision))
    next.full_version = next.revision + next.full_version.substr(source.revision.size());
  return next;
}

BuiltPackage build_package(const PackageSpec& spec, const Bytes& module_image,
                           const std::string& model) {
  BuiltPackage p;
  p.name = spec.name;
  if (spec.kind == PackageSpec::Kind::Random) {
    std::mt19937_64 rng(spec.seed);
    p.bytes.resize(spec.size);
    for (auto& b : p.bytes)
      b = static_cast<std::uint8_t>(rng());
  } else {
    p.delta = true;
    p.source_image = spec.source ? build_image(*spec.source, model) : module_image;
    p.source = *firmware::decode_image_header(p.source_image);
    const firmware::ImageHeader next = target_header(p.source, spec);
    const auto body = firmware::derive_next_body(
        std::span(p.source_image).subspan(firmware::kImageHeaderSize), spec.change, spec.seed);
    p.target_image = firmware::make_image(next, body);
    p.target = *firmware::decode_image_header(p.target_image);
    auto made = firmware::make_package(p.source_image, p.target_image, {.level = spec.level});
    if (!made) throw ScenarioError(fmt::format("package {}: {}", spec.name, made.error()));
    p.bytes = std::move(*made);
  }
  // Damage on purpose, after the package is whole: its checks must catch it. Only the bytes
  // there are: a count of 1e12 must not loop for hours.
  for (std::uint64_t at = spec.corrupt_offset;
       at < p.bytes.size() && at - spec.corrupt_offset < spec.corrupt_count; ++at)
    p.bytes[at] = static_cast<std::uint8_t>(p.bytes[at] ^ 0xFF);
  if (spec.truncate && *spec.truncate < p.bytes.size()) p.bytes.resize(*spec.truncate);
  return p;
}

}  // namespace bg95::scenario
