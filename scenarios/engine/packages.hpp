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

// A whole firmware image for `model` as the spec says (revision, version, size, seed).
Bytes build_image(const FirmwareSpec& spec, const std::string& model);

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
