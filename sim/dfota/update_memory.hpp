#pragma once
// The memory the firmware updates of one process share (one object per process, made in main
// and handed to every module like the download pool; a module without one works alone).
//
// An update holds two whole images while it decodes: the source (the zstd prefix) and the
// target (the zstd window: a patch-from frame's window reaches back over the whole source, so
// every target byte decoded so far can be referenced until the frame ends, and zstd keeps
// min(window, content size) bytes of history whatever buffer it uses; RFC 8878 3.1.1.1.2 and
// zstd's ZSTD_decodingBufferSize_min()). Neither can be a small window for such a frame. What
// a fleet can do is
//   - share the source: modules whose active images hash the same (a fleet starts from one
//     factory image) decode against one read-only copy (SharedImages);
//   - bound how much target memory is held at once: an update takes a lease on its target's
//     size from the decode budget before it allocates the target, and waits in line, without
//     polling, when the budget is spent (DecodeBudget). One update alone always gets its
//     lease, however large, so nothing waits for ever.
// With 1000 concurrent 1 MiB updates this turns 2.3 GB of peak RSS into the budget plus one
// source (docs/performance.md, "Fleet memory during 1000 concurrent updates").
//
// Single-threaded like the rest of a module: every call comes from the io_context's thread.

#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "sim/firmware/image_buffer.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::dfota {

// Read-only images by their SHA-256, kept while some update holds them.
class SharedImages {
  // No default member initialisers: the nested type must be default-constructible while its
  // class is incomplete (the unique_ptr below asks).
  struct ClaimEnd {
    util::Digest sha;
    void operator()(SharedImages* images) const { images->release(sha); }
  };

 public:
  using Image = std::shared_ptr<const firmware::ImageBuffer>;
  // Who loads an image the others then share: held by the one update reading it from flash,
  // let go when it published the image or gave up.
  using Claim = std::unique_ptr<SharedImages, ClaimEnd>;

  // The image with this SHA-256 when an update holds it.
  Image find(const util::Digest& sha) const;
  // A claim when nobody is loading this image and it is not held; else an empty claim (then
  // another update is loading it, or has it: read without keeping, and find() afterwards).
  Claim claim(const util::Digest& sha);
  // The bytes, which hash to the claimed SHA-256, for everyone; the claim is spent.
  Image publish(Claim& claim, firmware::ImageBuffer bytes);

 private:
  struct Entry {
    std::weak_ptr<const firmware::ImageBuffer> image;
    bool loading = false;
  };
  void release(const util::Digest& sha);
  std::map<util::Digest, Entry> entries_;
};

// A budget of bytes for targets being decoded, handed out in leases.
class DecodeBudget {
  struct LeaseEnd {  // as ClaimEnd
    std::size_t bytes;
    void operator()(DecodeBudget* budget) const { budget->give_back(bytes); }
  };

 public:
  explicit DecodeBudget(std::size_t bytes) : free_(bytes), total_(bytes) {}

  using Lease = std::unique_ptr<DecodeBudget, LeaseEnd>;

  // One update waiting in line: the lease is put here and wake() called when it is its turn.
  // The update keeps the waiter; one it dropped (a power cut) loses its place.
  struct Waiter {
    std::size_t bytes = 0;
    Lease granted;
    std::function<void()> wake;
  };

  // A lease on `bytes` now when the budget has them and nobody waits before; else nothing.
  Lease try_lease(std::size_t bytes);
  // Joins the line; wake() is called from a later release (it must not run the update itself,
  // only post its next step).
  void wait(const std::shared_ptr<Waiter>& waiter);
  std::size_t free() const { return free_; }
  std::size_t waiting() const { return line_.size(); }

 private:
  bool fits(std::size_t bytes) const { return bytes <= free_ || free_ == total_; }
  Lease take(std::size_t bytes);
  void give_back(std::size_t bytes);
  std::size_t free_;
  std::size_t total_;
  std::deque<std::weak_ptr<Waiter>> line_;
};

struct UpdateMemory {
  // 256 MiB of targets at once: 256 concurrent 1 MiB updates or 8 of the largest image (32
  // MiB); a fleet's idle memory is far below (docs/performance.md).
  static constexpr std::size_t kDefaultDecodeBudget = 256u << 20;

  explicit UpdateMemory(std::size_t decode_budget = kDefaultDecodeBudget) : decode(decode_budget) {}
  SharedImages images;
  DecodeBudget decode;
};

}  // namespace bg95::dfota
