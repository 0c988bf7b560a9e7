#pragma once
// Timing profiles: `fast` has no artificial delays (CI); `realistic` takes the real module's
// order of time. A time-scale factor multiplies every delay of the realistic profile.

#include <chrono>
#include <string>

namespace bg95 {

struct Timing {
  enum class Profile { Fast, Realistic };
  Profile profile = Profile::Fast;
  double scale = 1.0;

  using ms = std::chrono::milliseconds;
  ms scaled(ms realistic) const {
    if (profile == Profile::Fast) return ms{0};
    return ms{static_cast<ms::rep>(static_cast<double>(realistic.count()) * scale)};
  }
  // From power-on to RDY, and the gaps in the banner.
  ms boot() const { return scaled(ms{2500}); }
  ms banner_gap() const { return scaled(ms{200}); }
  ms network_attach() const { return scaled(ms{3000}); }
};

}  // namespace bg95
