#include "sim/dfota/update_engine.hpp"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "sim/firmware/firmware_store.hpp"
#include "sim/util/bytes.hpp"

namespace bg95::dfota {
namespace {

constexpr std::uint32_t kUpdateLogTag = 0x55504454u;  // "UPDT"

// Journal record payload: package SHA-256, target SHA-256, target size, block (Copied).
constexpr std::size_t kOffPackageSha = 0;
constexpr std::size_t kOffTargetSha = 32;
constexpr std::size_t kOffTargetSize = 64;
constexpr std::size_t kOffBlock = 72;
constexpr std::size_t kJournalPayload = 76;

// Budgets count down to zero; a journal record written after the budget ran out is the one
// bit of work allowed past it (so that a phase's end is recorded in the step that reached it).
void spend(std::size_t& budget, std::size_t units = 1) {
  budget -= std::min(budget, units);
}

// Reads and programs go to the flash in runs of up to a block (64 pages, one syscall each)
// when the budget allows; the budget still counts pages.
constexpr std::size_t kRunPages = 64;
// Payload is fed to the decoder up to this many pages at a time.
constexpr std::size_t kFeedPages = 16;

flash::Partition update_log_region(const flash::Layout& layout) {
  if (layout.journal.block_count < kUpdateLogFirstBlock + kUpdateLogMinBlocks)
    throw flash::FlashError("the journal partition is too small for the update journal");
  return flash::Partition{"journal/update", layout.journal.first_block + kUpdateLogFirstBlock,
                          layout.journal.block_count - kUpdateLogFirstBlock};
}

}  // namespace

UpdateEngine::UpdateEngine(flash::NandFlash& flash, const flash::Layout& layout,
                           PackageArea& package)
    : flash_(flash),
      active_part_(layout.active),
      staging_part_(layout.staging),
      package_(package),
      journal_(flash, update_log_region(layout), kUpdateLogTag) {}

UpdateEngine::~UpdateEngine() = default;

bool UpdateEngine::pending() const {
  const auto& r = journal_.latest();
  if (!r || r->payload.size() != kJournalPayload) return false;
  if (r->kind == kRequested) {
    // Asked for, not begun: pending while the package it was asked for is still there.
    return package_.present() && std::equal(package_.sha256().begin(), package_.sha256().end(),
                                            r->payload.begin() + kOffPackageSha);
  }
  // A record naming a target that cannot be in the firmware partitions is not one this code
  // wrote (a hand-made or foreign flash file): ignored rather than trusted.
  const auto target_size = util::get_le<std::uint64_t>(r->payload, kOffTargetSize);
  const flash::PartitionView active(flash_, active_part_);
  const flash::PartitionView staging(flash_, staging_part_);
  if (target_size == 0 || target_size > std::min(active.size(), staging.size())) return false;
  return r->kind == kBegin || r->kind == kStaged || r->kind == kCopied || r->kind == kDone;
}

flash::FlashStatus UpdateEngine::request() {
  std::vector<std::uint8_t> payload(kJournalPayload, 0);
  std::copy(package_.sha256().begin(), package_.sha256().end(), payload.begin() + kOffPackageSha);
  return journal_.append(kRequested, payload);
}

flash::FlashStatus UpdateEngine::close_unstarted() {
  const auto& latest = journal_.latest();
  if (!latest || (latest->kind != kRequested && latest->kind != kBegin))
    return flash::FlashStatus::Ok;
  const std::vector<std::uint8_t> payload = latest->payload;
  return journal_.append(kIdle, payload);
}

void UpdateEngine::start() {
  phase_ = Phase::CheckPackage;
  status_ = Status::Running;
  result_ = kUpdateUnknown;
  message_.clear();
  reported_percent_ = -1;
  id_known_ = false;
  resuming_copy_ = false;
  decoded_ = copied_ = 0;
  copy_block_ = copy_page_ = 0;
  erased_for_page_ = false;
  hasher_.reset();
  target_.reset();
  if (!pending()) return;  // a new update; a journaled Begin also restarts from phase 0

  const auto& r = *journal_.latest();
  Identity id;
  std::copy_n(r.payload.begin() + kOffPackageSha, 32, id.package_sha.begin());
  std::copy_n(r.payload.begin() + kOffTargetSha, 32, id.target_sha.begin());
  id.target_size = util::get_le<std::uint64_t>(r.payload, kOffTargetSize);
  const auto block = util::get_le<std::uint32_t>(r.payload, kOffBlock);
  switch (r.kind) {
    case kStaged:
    case kCopied:
      id_ = id;
      id_known_ = true;
      resuming_copy_ = true;
      decoded_ = id.target_size;
      copy_block_ = r.kind == kStaged ? 0 : block + 1;
      copied_ = std::min<std::uint64_t>(std::uint64_t{copy_block_} * flash_.geometry().block_size(),
                                        id.target_size);
      phase_ = Phase::VerifyStaging;
      break;
    case kDone:
      id_ = id;
      id_known_ = true;
      decoded_ = copied_ = id.target_size;
      phase_ = Phase::Cleanup;
      break;
    default:
      break;
  }
}

UpdateEngine::Status UpdateEngine::run() {
  Status s = Status::Running;
  while ((s = step(4096)) == Status::Running) {
  }
  return s;
}

UpdateEngine::Status UpdateEngine::step(std::size_t budget) {
  if (phase_ == Phase::Idle) start();
  if (status_ == Status::Waiting) status_ = Status::Running;  // asks again for its lease
  if (status_ != Status::Running) return status_;
  if (flash_.power_lost()) return status_ = Status::PowerLost;
  budget = std::max<std::size_t>(budget, 1);
  try {
    while (budget > 0 && status_ == Status::Running)
      status_ = run_phase(budget);
  } catch (const std::exception& e) {
    // A read of the flash file failing, or memory running out: not a verdict on the package.
    status_ = fail(kUpdateUnknown, fmt::format("unexpected error: {}", e.what()));
  }
  if (status_ == Status::Running || status_ == Status::Done) report();
  return status_;
}

UpdateEngine::Status UpdateEngine::run_phase(std::size_t& budget) {
  switch (phase_) {
    case Phase::CheckPackage:
      return check_package(budget);
    case Phase::CheckSource:
      return check_source(budget);
    case Phase::Decode:
      return decode(budget);
    case Phase::VerifyStaging:
      return verify_staging(budget);
    case Phase::Copy:
      return copy(budget);
    case Phase::VerifyActive:
      return verify_active(budget);
    case Phase::Cleanup:
      return cleanup();
    case Phase::Idle:
    case Phase::Finished:
      break;
  }
  return status_;
}

std::span<std::uint8_t> UpdateEngine::run_buffer(std::size_t bytes) {
  if (run_buffer_.size() < bytes) run_buffer_.resize(bytes);
  return std::span<std::uint8_t>(run_buffer_).first(bytes);
}

std::size_t UpdateEngine::run_bytes(std::size_t budget, std::uint64_t left) const {
  const std::uint64_t page = flash_.geometry().page_size;
  return static_cast<std::size_t>(
      std::min<std::uint64_t>(std::min(budget, kRunPages) * page, left));
}

std::size_t UpdateEngine::pages_of(std::size_t bytes) const {
  const std::size_t page = flash_.geometry().page_size;
  return (bytes + page - 1) / page;
}

bool UpdateEngine::hash_some(const flash::PartitionView& view, Hasher& h, std::size_t& budget) {
  while (h.done < h.size && budget > 0) {
    const std::size_t n = run_bytes(budget, h.size - h.done);
    const std::span<std::uint8_t> dst = !h.keep.empty() ? h.keep.subspan(h.done, n) : run_buffer(n);
    view.read(h.done, dst);
    h.sha.update(dst);
    h.done += n;
    spend(budget, pages_of(n));
  }
  return h.done == h.size;
}

// Phase 0a: the package area holds a whole, intact package.
UpdateEngine::Status UpdateEngine::check_package(std::size_t& budget) {
  if (!hasher_) {
    if (!package_.present() || package_.size() == 0)
      return fail(kUpdateNoPackage, "no package in the package area");
    std::vector<std::uint8_t> buf(firmware::kPackageHeaderSize);
    if (!package_.read(0, buf)) return fail(kUpdatePackageCheckFailed, "package too short");
    auto h = firmware::decode_package_header(buf);
    if (!h) return fail(kUpdatePackageCheckFailed, h.error());
    if (h->package_size() != package_.size())
      return fail(kUpdatePackageCheckFailed, fmt::format("package has {} bytes, header says {}",
                                                         package_.size(), h->package_size()));
    const flash::PartitionView active(flash_, active_part_);
    const flash::PartitionView staging(flash_, staging_part_);
    if (h->target_size > std::min(active.size(), staging.size()))
      return fail(kUpdatePackageCheckFailed,
                  fmt::format("target image of {} bytes does not fit the firmware partition",
                              h->target_size));
    header_ = *h;
    id_ = Identity{package_.sha256(), h->target_sha256, h->target_size};
    id_known_ = true;
    hasher_ = Hasher{};  // not emplace(): clang 14 rejects it (Hasher has member initializers)
    hasher_->size = package_.size() - firmware::kPackageTrailerSize;
  }
  // The package area is read through PackageArea (it knows the package's extent).
  while (hasher_->done < hasher_->size && budget > 0) {
    const std::size_t n = run_bytes(budget, hasher_->size - hasher_->done);
    const auto chunk = run_buffer(n);
    package_.read(hasher_->done, chunk);
    hasher_->sha.update(chunk);
    hasher_->done += n;
    spend(budget, pages_of(n));
  }
  if (hasher_->done < hasher_->size) return Status::Running;
  util::Digest trailer{};
  package_.read(hasher_->size, trailer);
  const bool intact = hasher_->sha.finish() == trailer;
  hasher_.reset();
  if (!intact) return fail(kUpdatePackageCheckFailed, "package SHA-256 mismatch");
  phase_ = Phase::CheckSource;
  return Status::Running;
}

// Phase 0b: the image in active is the package's source; it becomes the decoder prefix.
UpdateEngine::Status UpdateEngine::check_source(std::size_t& budget) {
  if (!source_verified_) {
    if (!hasher_) {
      const flash::PartitionView active(flash_, active_part_);
      auto h = firmware::read_image_header(active);
      if (!h) return fail(kUpdateMismatch, "current firmware unreadable: " + h.error());
      running_version_ = h->full_version;
      if (h->image_size() != header_.source_size)
        return fail(kUpdateMismatch,
                    fmt::format("package is for {} ({} bytes), flash holds {} ({} bytes)",
                                header_.source_version, header_.source_size, h->full_version,
                                h->image_size()));
      begin_source_pass();
    }
    if (!hash_some(flash::PartitionView(flash_, active_part_), *hasher_, budget))
      return Status::Running;
    if (auto s = source_hashed(); !source_verified_) return s;
  }
  if (!take_decode_lease()) return Status::Waiting;
  if (auto s = journal(kBegin); s != Status::Running) return s;
  spend(budget);
  // The decoder writes the target into memory, from where it is programmed into staging and,
  // once staging is whole, into active.
  target_ = firmware::ImageBuffer(header_.target_size);
  decoder_ = std::make_unique<firmware::PatchDecoder>(source_->bytes(), target_.bytes());
  payload_read_ = 0;
  out_sha_.emplace();
  staging_page_ = 0;
  erased_for_page_ = false;
  decoded_ = 0;
  phase_ = Phase::Decode;
  report();  // 0: the update proper begins
  return Status::Running;
}

// A pass over active that hashes it, and keeps its bytes unless another update holds or is
// loading the same image: then this one only proves that its flash holds those bytes.
void UpdateEngine::begin_source_pass() {
  hasher_ = Hasher{};
  hasher_->size = header_.source_size;
  if (memory_ && !source_) {
    source_ = memory_->images.find(header_.source_sha256);
    if (!source_) source_claim_ = memory_->images.claim(header_.source_sha256);
  }
  if (source_ || (memory_ && !source_claim_)) return;
  source_load_ = firmware::ImageBuffer(header_.source_size);
  hasher_->keep = source_load_.bytes();
}

UpdateEngine::Status UpdateEngine::source_hashed() {
  const bool same = hasher_->sha.finish() == header_.source_sha256;
  hasher_.reset();
  if (!same) {
    source_.reset();
    source_load_.reset();
    source_claim_ = {};
    // Same name, other bytes (a rebuilt image): say so, or the two names would read alike.
    return fail(kUpdateMismatch,
                running_version_ == header_.source_version
                    ? fmt::format("package is for another build of {} (its SHA-256 differs)",
                                  running_version_)
                    : fmt::format("package is for {}, flash holds {}", header_.source_version,
                                  running_version_));
  }
  if (!source_load_.empty()) {
    source_ = source_claim_
                  ? memory_->images.publish(source_claim_, std::move(source_load_))
                  : std::make_shared<const firmware::ImageBuffer>(std::move(source_load_));
  } else if (!source_) {
    source_ = memory_->images.find(header_.source_sha256);
  }
  if (!source_) {
    // The update that was loading it gave up or is not done: read it here after all.
    begin_source_pass();
    if (!source_) {
      if (source_load_.empty()) {
        source_load_ = firmware::ImageBuffer(header_.source_size);
        hasher_->keep = source_load_.bytes();
      }
      return Status::Running;
    }
  }
  source_verified_ = true;
  // The runs of the source pass are over; the decode feeds at most kFeedPages at a time, and
  // an update waiting for its lease should hold as little as it can.
  run_buffer_ = {};
  return Status::Running;
}

// The target's memory comes from the process's decode budget; without a lease, this update
// waits in line (the budget's release wakes it through resume_).
bool UpdateEngine::take_decode_lease() {
  if (!memory_ || lease_) return true;
  if (waiter_) {
    if (!waiter_->granted) return false;
    lease_ = std::move(waiter_->granted);
    waiter_.reset();
    return true;
  }
  lease_ = memory_->decode.try_lease(header_.target_size);
  if (lease_) return true;
  waiter_ = std::make_shared<DecodeBudget::Waiter>();
  waiter_->bytes = header_.target_size;
  waiter_->wake = resume_;
  memory_->decode.wait(waiter_);
  return false;
}

// Phase 1: payload -> staging.
UpdateEngine::Status UpdateEngine::decode(std::size_t& budget) {
  flash::PartitionView staging(flash_, staging_part_);
  const std::size_t page = staging.page_size();
  const std::uint32_t per_block = staging.pages_per_block();
  const firmware::PatchDecoder::Sink sink = [this](std::span<const std::uint8_t> bytes) {
    out_sha_->update(bytes);
    return true;
  };
  while (budget > 0) {
    // decoded_ bytes of target_ are in staging; the decoder has produced more.
    const std::uint64_t ready = decoder_->produced() - decoded_;
    if (ready >= page || (decoder_->finished() && ready > 0)) {
      // Program the decoded output, erasing each block first when the output reaches it.
      if (staging_page_ % per_block == 0 && !erased_for_page_) {
        if (auto s =
                flash_status(staging.erase_block(staging_page_ / per_block), "erasing staging");
            s != Status::Running)
          return s;
        erased_for_page_ = true;
        spend(budget);
        continue;
      }
      // Whole pages up to the block's end and the budget; the last, partial page only once
      // the decoder has finished.
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(
          ready, std::min<std::size_t>(budget, per_block - staging_page_ % per_block) * page));
      if (!decoder_->finished()) n -= n % page;
      if (auto s = flash_status(
              staging.program_pages(staging_page_, target_.bytes().subspan(decoded_, n)),
              "programming staging");
          s != Status::Running)
        return s;
      erased_for_page_ = false;
      const std::size_t pages = pages_of(n);
      staging_page_ += static_cast<std::uint32_t>(pages);
      advance(decoded_, n);
      spend(budget, pages);
      continue;
    }
    if (decoder_->finished()) break;
    // Less than a page is waiting: feed more payload.
    if (payload_read_ >= header_.payload_size)
      return fail(kUpdatePackageCheckFailed,
                  fmt::format("payload ended after {} of {} target bytes", decoder_->produced(),
                              header_.target_size));
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(
        std::min(budget, kFeedPages) * page, header_.payload_size - payload_read_));
    const auto chunk = run_buffer(n);
    package_.read(firmware::kPackageHeaderSize + payload_read_, chunk);
    payload_read_ += n;
    spend(budget, pages_of(n));
    auto fed = decoder_->feed(chunk, sink);
    if (!fed) return fail(kUpdatePackageCheckFailed, "payload: " + fed.error());
  }
  if (!decoder_->finished() || decoded_ < decoder_->produced()) return Status::Running;
  // Every target byte is in staging. The decoder checked the frame's own checksum; the
  // package's target SHA-256 is the authority.
  const bool good = payload_read_ == header_.payload_size &&
                    decoder_->produced() == header_.target_size &&
                    out_sha_->finish() == header_.target_sha256;
  decoder_.reset();
  source_.reset();
  out_sha_.reset();
  if (!good) return fail(kUpdatePackageCheckFailed, "payload does not make the target image");
  // No read-back of staging: out_sha_ hashed target_, exactly the bytes given to
  // program_pages(), and every one of those programs reported Ok in this power cycle (a cut
  // ends this engine; the next boot reads staging back before copying from it).
  if (auto s = journal(kStaged); s != Status::Running) return s;
  spend(budget);
  resuming_copy_ = true;
  phase_ = Phase::Copy;
  return Status::Running;
}

// End of phase 1 (staging read back), or the start of a resumed phase 2 (staging intact?).
UpdateEngine::Status UpdateEngine::verify_staging(std::size_t& budget) {
  if (!hasher_) {
    hasher_ = Hasher{};
    hasher_->size = id_.target_size;
  }
  if (!hash_some(flash::PartitionView(flash_, staging_part_), *hasher_, budget))
    return Status::Running;
  const bool good = hasher_->sha.finish() == id_.target_sha;
  hasher_.reset();
  if (!good) return fail(kUpdateFailed, "staging does not hold the target image");
  if (!resuming_copy_) {
    if (auto s = journal(kStaged); s != Status::Running) return s;
    spend(budget);
    resuming_copy_ = true;
  }
  phase_ = Phase::Copy;
  return Status::Running;
}

// Phase 2: staging -> active, a block at a time, each journaled once whole.
UpdateEngine::Status UpdateEngine::copy(std::size_t& budget) {
  flash::PartitionView active(flash_, active_part_);
  const flash::PartitionView staging(flash_, staging_part_);
  const std::uint32_t page = active.page_size();
  const std::uint64_t block_size = std::uint64_t{page} * active.pages_per_block();
  const auto blocks = static_cast<std::uint32_t>((id_.target_size + block_size - 1) / block_size);
  while (budget > 0 && copy_block_ < blocks) {
    const std::uint64_t block_start = copy_block_ * block_size;
    const auto pages = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        active.pages_per_block(), (id_.target_size - block_start + page - 1) / page));
    if (copy_page_ == 0 && !erased_for_page_) {
      if (auto s = flash_status(active.erase_block(copy_block_), "erasing active");
          s != Status::Running)
        return s;
      erased_for_page_ = true;
      spend(budget);
      continue;
    }
    if (copy_page_ < pages) {
      // The rest of the block, or what the budget allows, in one program run: from the
      // verified target still in memory, or else (a resumed copy) read from staging.
      const std::uint64_t at = block_start + std::uint64_t{copy_page_} * page;
      const std::uint64_t block_end = std::min(block_start + block_size, id_.target_size);
      const std::size_t n = run_bytes(budget, block_end - at);
      std::span<const std::uint8_t> bytes;
      if (!target_.empty()) {
        bytes = target_.bytes().subspan(at, n);
      } else {
        const auto buffer = run_buffer(n);
        staging.read(at, buffer);
        bytes = buffer;
      }
      if (auto s = flash_status(
              active.program_pages(copy_block_ * active.pages_per_block() + copy_page_, bytes),
              "programming active");
          s != Status::Running)
        return s;
      copy_page_ += static_cast<std::uint32_t>(pages_of(n));
      advance(copied_, n);
      spend(budget, pages_of(n));
      continue;
    }
    if (auto s = journal(kCopied, copy_block_); s != Status::Running) return s;
    spend(budget);
    ++copy_block_;
    copy_page_ = 0;
    erased_for_page_ = false;
  }
  if (copy_block_ < blocks) return Status::Running;
  if (target_.empty()) {
    phase_ = Phase::VerifyActive;  // some blocks were copied before a power cut: read back
    return Status::Running;
  }
  // Every block of active was programmed in this power cycle from target_, whose SHA-256 the
  // decode checked, and every program reported Ok: one hash serves staging and active.
  target_.reset();
  lease_ = {};
  return active_verified(true, budget);
}

// Phase 3: active holds the target; then the update is recorded as done.
UpdateEngine::Status UpdateEngine::verify_active(std::size_t& budget) {
  if (!hasher_) {
    hasher_ = Hasher{};
    hasher_->size = id_.target_size;
  }
  if (!hash_some(flash::PartitionView(flash_, active_part_), *hasher_, budget))
    return Status::Running;
  const bool good = hasher_->sha.finish() == id_.target_sha;
  hasher_.reset();
  return active_verified(good, budget);
}

UpdateEngine::Status UpdateEngine::active_verified(bool good, std::size_t& budget) {
  if (!good) {
    // Back to Staged, so that the next attempt copies every block again rather than
    // verifying the same bad copy for ever.
    if (auto s = journal(kStaged); s != Status::Running) return s;
    return fail(kUpdateFailed, "active does not hold the target image after the copy");
  }
  if (auto s = journal(kDone); s != Status::Running) return s;
  spend(budget);
  phase_ = Phase::Cleanup;
  run_buffer_ = {};
  return Status::Running;
}

UpdateEngine::Status UpdateEngine::cleanup() {
  // Only our package is removed: another one cannot be there while the journal says Done
  // (the module runs the update at boot before anything can download), but a package that
  // does not match is left alone rather than destroyed on a guess.
  const bool ours = package_.present() && package_.sha256() == id_.package_sha;
  const bool foreign = (package_.present() && !ours) ||
                       package_.state() == PackageState::Receiving ||
                       package_.state() == PackageState::Incomplete;
  if (!foreign) {
    // remove() on an absent area still erases blocks a torn removal left behind.
    switch (package_.remove()) {
      case AreaStatus::Ok:
        break;
      case AreaStatus::PowerLost:
        return Status::PowerLost;
      default:
        // The firmware is updated; a package that would not erase does not change that.
        message_ = "package area could not be erased";
        break;
    }
  }
  // The image is the target whatever happens to this record: a failed write only means the
  // next boot repeats this cleanup.
  std::vector<std::uint8_t> payload =
      journal_.latest() ? journal_.latest()->payload : std::vector<std::uint8_t>{};
  if (journal_.append(kIdle, payload) == flash::FlashStatus::PowerLost) return Status::PowerLost;
  phase_ = Phase::Finished;
  result_ = kUpdateOk;
  return Status::Done;
}

UpdateEngine::Status UpdateEngine::journal(Kind kind, std::uint32_t block) {
  std::vector<std::uint8_t> payload(kJournalPayload, 0);
  std::copy(id_.package_sha.begin(), id_.package_sha.end(), payload.begin() + kOffPackageSha);
  std::copy(id_.target_sha.begin(), id_.target_sha.end(), payload.begin() + kOffTargetSha);
  util::put_le<std::uint64_t>(payload, kOffTargetSize, id_.target_size);
  util::put_le<std::uint32_t>(payload, kOffBlock, block);
  switch (journal_.append(kind, payload)) {
    case flash::FlashStatus::Ok:
      return Status::Running;
    case flash::FlashStatus::PowerLost:
      return Status::PowerLost;
    case flash::FlashStatus::Failed:
      break;
  }
  return fail(kUpdateFailed, "journal write failed");
}

UpdateEngine::Status UpdateEngine::flash_status(flash::FlashStatus s, const char* what) {
  switch (s) {
    case flash::FlashStatus::Ok:
      return Status::Running;
    case flash::FlashStatus::PowerLost:
      return Status::PowerLost;
    case flash::FlashStatus::Failed:
      break;
  }
  return fail(kUpdateFailed, fmt::format("flash failure {}", what));
}

UpdateEngine::Status UpdateEngine::fail(int code, std::string message) {
  result_ = code;
  message_ = std::move(message);
  const Phase failed_in = phase_;
  phase_ = Phase::Finished;
  decoder_.reset();
  source_.reset();
  source_load_.reset();
  source_claim_ = {};
  target_.reset();
  lease_ = {};
  waiter_.reset();
  hasher_.reset();
  run_buffer_ = {};
  // Before phase 2 `active` is untouched: the update is over and the old image boots, so a
  // journaled Begin is closed (Idle). From phase 2 on, the journal stays for a retry at the
  // next boot; so does it when its own write is what failed.
  const bool active_untouched = !resuming_copy_ && failed_in != Phase::Copy &&
                                failed_in != Phase::VerifyActive && failed_in != Phase::Cleanup;
  const auto& latest = journal_.latest();
  if (active_untouched && latest && (latest->kind == kBegin || latest->kind == kRequested) &&
      !flash_.power_lost()) {
    if (journal_.append(kIdle, latest->payload) == flash::FlashStatus::PowerLost)
      return Status::PowerLost;
  }
  return Status::Error;
}

void UpdateEngine::advance(std::uint64_t& counter, std::uint64_t bytes) {
  // A page at a time, so that a run of pages still reports every percent it passes.
  const std::uint64_t page = flash_.geometry().page_size;
  for (std::uint64_t done = 0; done < bytes; done += page) {
    counter += std::min(page, bytes - done);
    report();
  }
}

void UpdateEngine::report() {
  // Nothing before the decode starts: a package refused in phase 0 shows no progress.
  if (!id_known_ || id_.target_size == 0 || phase_ < Phase::Decode) return;
  int percent = 100;
  if (phase_ != Phase::Finished) {
    const std::uint64_t done =
        std::min(decoded_, id_.target_size) + std::min(copied_, id_.target_size);
    percent = std::min(99, static_cast<int>(done * 100 / (2 * id_.target_size)));
  }
  if (percent <= reported_percent_) return;
  reported_percent_ = percent;
  if (progress_) progress_(percent);
}

}  // namespace bg95::dfota
