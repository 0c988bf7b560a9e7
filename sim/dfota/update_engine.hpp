#pragma once
// The power-safe firmware update of DFOTA mode: applies the delta package in the package
// area to the image in the `active` partition.
//
// Design (each phase says why it is safe to cut power in it):
//   0. Check (reads only). Package present (else 505); header decodes, size agrees and the
//      whole-package SHA-256 trailer verifies (else 506); the image in `active` is the
//      package's source: same size and SHA-256 (else 511). The active image is read into
//      memory on the way, as the decoder's prefix.
//   1. Decode into memory and `staging`: journal Begin, then the PatchDecoder decodes the
//      target into memory and its output is programmed into staging in runs of pages (each
//      staging block erased as output reaches it); the decoded bytes, which are exactly the
//      bytes programmed, must hash to the target SHA-256 (else 506). Journal Staged. `active`
//      is untouched, so a cut here is harmless: a zstd stream cannot be check-pointed, so
//      resuming means running phases 0-1 again from the start.
//   2. Copy to active block by block (erase, program its pages), journaling Copied(k) after
//      block k. A cut resumes at block k+1: staging is intact and re-erasing and re-copying a
//      block is idempotent, so torn erases/programs of `active` are simply redone. In the
//      power cycle that decoded, the bytes come from the verified target in memory; a resumed
//      copy reads them from staging, which it first reads back whole and hashes (else 504).
//   3. Active holds the target: after a resumed copy it is read back and hashed (else 504,
//      and the journal goes back to Staged so the next boot copies again). Journal Done,
//      remove the package (real modules delete it after a successful update), journal Idle.
//      A cut between Done and Idle resumes with the removal only.
//
// Verification passes. An update without a cut hashes the source once (read from active)
// and the target once (as it is decoded); staging and active are both programmed from those
// same verified bytes, every program reporting Ok, so neither is read back: a read-back adds
// nothing the model's flash can get wrong (NandFlash has no silent corruption: a program
// either reports Ok with the bytes stored, fails, or cuts power). Bytes that come from an
// earlier power cycle (a resumed copy) are always read back and hashed, staging before the
// copy and active after it.
//
// The journal is a RecordLog (package_area.hpp) in blocks 2..7 of layout.journal: one CRC'd
// record per page, so a torn record is ignored and the previous state stands. Every record
// names the update (package SHA-256, target SHA-256 and size).
//
// Failures before `active` is touched (phases 0-1) end with journal Idle and leave the old
// image intact and bootable. A flash failure in phase 2 leaves the journal as it was, so the
// next boot retries (the old image is already partly overwritten).
//
// The engine never blocks for long: step(budget) does a bounded amount of work, so a module
// runs it from posted handlers (and a timing profile can pace it). It uses no asio.
//
// Memory (update_memory.hpp): given the process's UpdateMemory, the source image is shared
// with the other updates from the same image (the first to load it publishes it, the others
// only hash active to prove they hold the same bytes), and the target is allocated only under
// a lease from the decode budget: without one, step() returns Waiting and the resume callback
// says when to step again. Neither changes what is read, written or journaled.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/net/fota_error.hpp"
#include "sim/dfota/package_area.hpp"
#include "sim/dfota/update_memory.hpp"
#include "sim/firmware/image_buffer.hpp"
#include "sim/firmware/package.hpp"
#include "sim/flash/layout.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::dfota {

// The update's results (`+QIND: "FOTA","END",<err>`; the note's chapter 5, Table 2), from the
// one table of its codes.
inline constexpr int kUpdateOk = net::code(net::FotaError::Ok);
inline constexpr int kUpdateFailed = net::code(net::FotaError::UpdateFailed);
inline constexpr int kUpdateNoPackage = net::code(net::FotaError::UpdateNoPackage);
inline constexpr int kUpdatePackageCheckFailed =
    net::code(net::FotaError::UpdatePackageCheckFailed);
inline constexpr int kUpdateMismatch = net::code(net::FotaError::UpdateMismatch);
inline constexpr int kUpdateUnknown = net::code(net::FotaError::UpdateUnknown);

class UpdateEngine {
 public:
  enum class Status {
    Running,    // call step() again
    Done,       // result() == 0, active holds the target image
    Error,      // result() is the note's error code; message() says why
    PowerLost,  // the flash went dark: drop this engine; after power-on, make a new one
    Waiting,    // for a lease of the decode budget: step() again once resume was called
  };
  enum class Phase {
    Idle,           // start() not called
    CheckPackage,   // phase 0: header + whole-package SHA-256
    CheckSource,    // phase 0: active image is the package's source (read into memory)
    Decode,         // phase 1: payload -> staging
    VerifyStaging,  // resume of phase 2: staging (from before the cut) hashes to the target
    Copy,           // phase 2: staging -> active, block by block
    VerifyActive,   // phase 3 after a resumed copy: active read back hashes to the target
    Cleanup,        // phase 3: package removed, journal Idle
    Finished,       // Done or Error
  };
  using Progress = std::function<void(int percent)>;

  // Reads the journal (reads only). The flash, layout and package area must outlive the
  // engine; the package area is the module's own object, so both see the same state.
  UpdateEngine(flash::NandFlash& flash, const flash::Layout& layout, PackageArea& package);
  ~UpdateEngine();
  UpdateEngine(const UpdateEngine&) = delete;
  UpdateEngine& operator=(const UpdateEngine&) = delete;

  // The journal shows an update that was started and not finished (power was lost during
  // it): at power-on the module must enter DFOTA mode and run start()/step() to the end.
  bool pending() const;

  // Records that the module has decided to update from the package in the package area,
  // before it resets into DFOTA mode (RESETTING). From then on a power loss anywhere, also
  // between START and the first UPDATING (while the package and the source are checked),
  // brings the module back into DFOTA mode, which updates (the note, 2.2.1.1 note 3): the
  // real module sets its FOTA flag before the reset. pending() holds while the package area
  // still holds that package; the update itself starts from phase 0.
  flash::FlashStatus request();
  // Closes a request (or a journaled Begin) whose update ended without touching `active`, so
  // that the next boot runs the old image instead of trying again: what the updater does on
  // its way out after an END,<err> that left the old firmware whole. Ok when nothing is open.
  flash::FlashStatus close_unstarted();

  // Begins the update: resumes the journaled one when pending(), else starts a new one from
  // the package in the package area. No flash work happens here; step() does it all.
  void start();

  // Does at most about `budget` units of work and returns. A unit is one page programmed, one
  // page read (hashed, decoded from or loaded), one block erased or one journal record;
  // budget 0 counts as 1. The record that ends a phase may exceed the budget by one, and the
  // final cleanup (erasing the package area, at most 48 block erases) is done in one step.
  // Calls start() first when it was not called. Returns Running until Done, Error or
  // PowerLost, and then keeps returning that; Waiting (only with a memory) until resume.
  Status step(std::size_t budget);
  // step() until it stops Running (tests and tools; a module paces step() instead).
  Status run();

  Phase phase() const { return phase_; }
  // 0 after Done, the note's code after Error; kUpdateUnknown before the end.
  int result() const { return result_; }
  // Why the update failed ("package is for BG95M3LAR02A03_01.011.01.011, flash holds ..."),
  // for the log and `bg95ctl status`; empty before an error.
  const std::string& message() const { return message_; }
  // The package's header once it was read (its source and target versions).
  const firmware::PackageHeader& header() const { return header_; }
  // Percent of real work done (bytes decoded + bytes copied over twice the target size),
  // 100 only once Done; -1 before the target size is known.
  int percent() const { return reported_percent_; }
  // Called from step() each time the integer percent rises (first with the starting value:
  // 0, or where a resumed update stands).
  void set_progress(Progress progress) { progress_ = std::move(progress); }
  // The process's shared update memory (none: this update's images are its own and it never
  // waits), and what to call when a Waiting update may step again (it must only post the step).
  void set_memory(std::shared_ptr<UpdateMemory> memory, std::function<void()> resume) {
    memory_ = std::move(memory);
    resume_ = std::move(resume);
  }

 private:
  struct Identity {
    util::Digest package_sha{};  // PackageArea::sha256() of the package being applied
    util::Digest target_sha{};
    std::uint64_t target_size = 0;
  };
  enum Kind : std::uint16_t {
    kBegin = 1,
    kStaged = 2,
    kCopied = 3,
    kDone = 4,
    kIdle = 5,
    kRequested = 6
  };

  // A streamed SHA-256 over [0, size) of a partition, a page per unit.
  struct Hasher {
    std::uint64_t size = 0;
    std::uint64_t done = 0;
    util::Sha256 sha;
    std::span<std::uint8_t> keep;  // also collects the bytes when not empty
  };

  Status run_phase(std::size_t& budget);
  Status check_package(std::size_t& budget);
  Status check_source(std::size_t& budget);
  void begin_source_pass();
  Status source_hashed();
  bool take_decode_lease();
  Status decode(std::size_t& budget);
  Status verify_staging(std::size_t& budget);
  Status copy(std::size_t& budget);
  Status verify_active(std::size_t& budget);
  Status cleanup();

  // True once the whole range is hashed.
  bool hash_some(const flash::PartitionView& view, Hasher& h, std::size_t& budget);
  Status active_verified(bool good, std::size_t& budget);
  // The reusable buffer of one run, `bytes` long; bytes of the next run of at most kRunPages
  // pages within the budget and `left`; pages those bytes span.
  std::span<std::uint8_t> run_buffer(std::size_t bytes);
  std::size_t run_bytes(std::size_t budget, std::uint64_t left) const;
  std::size_t pages_of(std::size_t bytes) const;
  // counter += bytes, reporting progress page by page.
  void advance(std::uint64_t& counter, std::uint64_t bytes);
  Status journal(Kind kind, std::uint32_t block = 0);
  Status fail(int code, std::string message);
  Status flash_status(flash::FlashStatus s, const char* what);
  void report();

  // First, so that the leases and images below go back to it before it can go.
  std::shared_ptr<UpdateMemory> memory_;
  std::function<void()> resume_;
  flash::NandFlash& flash_;
  flash::Partition active_part_, staging_part_;  // copies: PartitionView keeps references
  PackageArea& package_;
  RecordLog journal_;

  Phase phase_ = Phase::Idle;
  Status status_ = Status::Running;
  int result_ = kUpdateUnknown;
  std::string message_;
  Progress progress_;
  int reported_percent_ = -1;

  Identity id_;
  bool id_known_ = false;
  bool resuming_copy_ = false;  // staging came from the journal: do not journal Staged again
  firmware::PackageHeader header_;
  std::string running_version_;   // the active image's full version, once read
  std::uint32_t copy_block_ = 0;  // block of active being copied
  std::uint32_t copy_page_ = 0;   // next page within that block; 0 = erase first
  std::uint64_t decoded_ = 0;     // target bytes programmed into staging
  std::uint64_t copied_ = 0;      // target bytes programmed into active

  std::optional<Hasher> hasher_;
  std::vector<std::uint8_t> run_buffer_;
  SharedImages::Image source_;         // the active image, the decoder's prefix, once verified
  firmware::ImageBuffer source_load_;  // the active image while this update reads it
  SharedImages::Claim source_claim_;   // this update loads it for the others
  bool source_verified_ = false;
  DecodeBudget::Lease lease_;  // held with target_
  std::shared_ptr<DecodeBudget::Waiter> waiter_;
  // The decoded target, from the decode to the end of a copy in the same power cycle.
  firmware::ImageBuffer target_;
  std::unique_ptr<firmware::PatchDecoder> decoder_;
  std::uint64_t payload_read_ = 0;
  std::optional<util::Sha256> out_sha_;
  std::uint32_t staging_page_ = 0;
  bool erased_for_page_ = false;  // the block starting at the next page is already erased
};

}  // namespace bg95::dfota
