#pragma once
// Callbacks that belong to one "life" of their owner: a power cycle of the module or of a
// service in it, or one download of the LwM2M service. A timer or a posted step of an earlier
// life does nothing when it comes, so that a power cut really stops whatever was in flight.
// The owner ends a life with end(); guard() and on_expiry() wrap a callback in the check.
//
// The wrapped callback refers to the guard: the guard (a member of its owner) must outlive
// every call of it, as the owner's `this` in the callback must.

#include <cstdint>
#include <utility>

#include <boost/system/error_code.hpp>

namespace bg95 {

class LifeGuard {
 public:
  LifeGuard() = default;
  LifeGuard(const LifeGuard&) = delete;
  LifeGuard& operator=(const LifeGuard&) = delete;

  // Callbacks made before this do nothing.
  void end() { ++life_; }

  // f(args...) runs only if no end() came since the wrapper was made.
  template <typename F>
  auto guard(F f) const {
    return [this, life = life_, f = std::move(f)](auto&&... args) mutable {
      if (life == life_) f(std::forward<decltype(args)>(args)...);
    };
  }

  // A timer's completion handler: f() runs when the wait was not cancelled and no end() came
  // since. The error code is looked at first: the handler of a timer cancelled by its owner's
  // destruction does not touch the guard.
  template <typename F>
  auto on_expiry(F f) const {
    return [this, life = life_, f = std::move(f)](boost::system::error_code ec) mutable {
      if (!ec && life == life_) f();
    };
  }

 private:
  std::uint64_t life_ = 0;
};

}  // namespace bg95
