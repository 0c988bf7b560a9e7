#pragma once
// Synthetic firmware evolution for packages and tests: the next version of a body (as a
// vendor build with a few patched functions would differ), and the next version strings.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bg95::firmware {

// What derive_next_body did, for reports and tests (bytes counted in the old body's terms).
struct BodyEdits {
  std::uint64_t clusters = 0;  // patched functions, inserted and deleted blocks
  std::uint64_t changed = 0;   // bytes rewritten in place (that differ from the old ones)
  std::uint64_t inserted = 0;  // new bytes that shift the rest forward
  std::uint64_t deleted = 0;   // old bytes removed, shifting the rest back
};

// The next version of a firmware body, deterministic from the seed: roughly change_fraction
// of the body's size is edited (changed + inserted + deleted bytes), mostly in clusters like
// patched functions, with some insertions and deletions that shift everything after them and
// scattered 4-byte "pointer fix-ups" as a relink causes. change_fraction is clamped to [0, 1].
std::vector<std::uint8_t> derive_next_body(std::span<const std::uint8_t> body,
                                           double change_fraction, std::uint64_t seed);
std::vector<std::uint8_t> derive_next_body(std::span<const std::uint8_t> body,
                                           double change_fraction, std::uint64_t seed,
                                           BodyEdits& edits);

// "BG95M3LAR02A03_01.011.01.011" -> "BG95M3LAR02A03_01.012.01.012": the two sub-version
// numbers after the revision go up by one, keeping their width. A version of another shape
// gets its last number incremented, or "_01" appended when it has none.
std::string next_full_version(const std::string& full_version);

// "BG95M3LAR02A03" -> "BG95M3LAR02A04": the trailing number goes up by one, keeping its
// width; "01" is appended when there is none.
std::string next_revision(const std::string& revision);

}  // namespace bg95::firmware
