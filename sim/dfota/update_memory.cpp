#include "sim/dfota/update_memory.hpp"

#include <algorithm>
#include <utility>

namespace bg95::dfota {

// ---- SharedImages ---------------------------------------------------------------------------

SharedImages::Image SharedImages::find(const util::Digest& sha) const {
  const auto it = entries_.find(sha);
  return it == entries_.end() ? nullptr : it->second.image.lock();
}

SharedImages::Claim SharedImages::claim(const util::Digest& sha) {
  auto& entry = entries_[sha];
  if (entry.loading || !entry.image.expired()) return {};
  entry.loading = true;
  return Claim(this, ClaimEnd{sha});
}

SharedImages::Image SharedImages::publish(Claim& claim, firmware::ImageBuffer bytes) {
  auto image = std::make_shared<const firmware::ImageBuffer>(std::move(bytes));
  if (claim) {
    auto& entry = entries_[claim.get_deleter().sha];
    entry.image = image;
    entry.loading = false;
    claim.release();  // spent: nothing left to let go
  }
  return image;
}

void SharedImages::release(const util::Digest& sha) {
  const auto it = entries_.find(sha);
  if (it == entries_.end()) return;
  it->second.loading = false;
  // Entries of images nobody holds any more go, so that the map does not grow with every
  // version a long-running fleet has seen.
  if (it->second.image.expired()) entries_.erase(it);
}

// ---- DecodeBudget ---------------------------------------------------------------------------

DecodeBudget::Lease DecodeBudget::try_lease(std::size_t bytes) {
  // Those in line come first: a newcomer does not overtake them while they are woken.
  std::erase_if(line_, [](const std::weak_ptr<Waiter>& w) { return w.expired(); });
  if (!line_.empty() || !fits(bytes)) return {};
  return take(bytes);
}

void DecodeBudget::wait(const std::shared_ptr<Waiter>& waiter) {
  line_.push_back(waiter);
}

DecodeBudget::Lease DecodeBudget::take(std::size_t bytes) {
  // One update larger than the whole budget takes all of it (it gets it once alone).
  const std::size_t taken = std::min(bytes, free_);
  free_ -= taken;
  return Lease(this, LeaseEnd{taken});
}

void DecodeBudget::give_back(std::size_t bytes) {
  free_ += bytes;
  // Hand the freed bytes to those in line, in order, as far as they go. A waiter whose update
  // is gone is skipped; one that gets its lease but is cut before it uses it gives it back
  // through the lease, which comes here again.
  while (!line_.empty()) {
    const auto waiter = line_.front().lock();
    if (!waiter) {
      line_.pop_front();
      continue;
    }
    if (!fits(waiter->bytes)) break;
    line_.pop_front();
    waiter->granted = take(waiter->bytes);
    if (waiter->wake) waiter->wake();
  }
}

}  // namespace bg95::dfota
