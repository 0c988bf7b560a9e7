#pragma once
// The firmware images and packages a scenario needs, built when it starts (nothing binary is
// kept in the repository): the module's own image, and each package of `packages:`.

#include <cstdint>
#include <string>
#include <vector>

#include "scenarios/engine/scenario.hpp"
#include "sim/firmware/image.hpp"

namespace bg95::scenario {

using Bytes = std::vector<std::uint8_t>;

// The header of the image build_image makes (revision and version defaults filled in; body
// size and hash not yet).
firmware::ImageHeader image_header(const FirmwareSpec& spec, const std::string& model);
// A whole firmware image for `model` as the spec says (revision, version, size, seed).
Bytes build_image(const FirmwareSpec& spec, const std::string& model);
// The header of a delta's target image, from its source's (the revision, as the spec says or
// the next one, names the next version).
firmware::ImageHeader target_header(const firmware::ImageHeader& source, const PackageSpec& spec);

struct BuiltPackage {
  std::string name;
  Bytes bytes;
  bool delta = false;                // a delta package (else random bytes)
  Bytes source_image, target_image;  // for a delta
  firmware::ImageHeader source, target;
};

// `module_image` is the module's own firmware (the default source of a delta).
BuiltPackage build_package(const PackageSpec& spec, const Bytes& module_image,
                           const std::string& model);

}  // namespace bg95::scenario
