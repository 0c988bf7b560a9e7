#pragma once
// The DFOTA package area (the note's 6 Mbytes, 2.2.1.3) and the small power-safe record logs
// that make both the package area and the update engine survive power cuts.
//
// Where state lives in flash:
//   - package partition (layout.package, 48 blocks): the package bytes only, from offset 0, so
//     a package of exactly 6 MiB fits (the note's limit), with nothing of ours beside it;
//   - journal partition (layout.journal, 8 blocks), split in two record logs:
//       blocks 0..1  the package log: Begin / Commit(size, SHA-256) / Remove records;
//       blocks 2..7  the update journal of UpdateEngine (update_engine.hpp).
//     Both are owned by this directory's code, so the split is defined once, here.
//
// Every flash write goes through flash::PartitionView -> NandFlash (the one counting choke
// point), so faults injected there reach every write made here.

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sim/firmware/package.hpp"
#include "sim/flash/layout.hpp"
#include "sim/util/expected.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::dfota {

// The journal partition's split between the two logs (in erase blocks of layout.journal).
inline constexpr std::uint32_t kPackageLogFirstBlock = 0;
inline constexpr std::uint32_t kPackageLogBlocks = 2;
inline constexpr std::uint32_t kUpdateLogFirstBlock = 2;
inline constexpr std::uint32_t kUpdateLogMinBlocks = 2;

// An append-only log of small records, one record per flash page, in a ring of erase blocks.
//
// NAND allows programming only erased pages, so a record is never updated in place: the newest
// valid record (highest sequence number) is the state. A record page starts with a magic and
// ends with an end marker and a CRC-32; a torn program leaves the end of the page erased, so a
// half-written record is never taken for a whole one. When a block is full the next block of
// the ring is erased and used; the newest record is then always in the block being left, so
// erasing (even a torn erase of) the next block never loses the state. Needs >= 2 blocks.
class RecordLog {
 public:
  struct Record {
    std::uint16_t kind = 0;
    std::uint64_t seq = 0;
    std::vector<std::uint8_t> payload;
  };

  // Scans the region (reads only). `tag` tells logs apart, so that a region given to the
  // wrong log reads as empty rather than as foreign records.
  RecordLog(flash::NandFlash& flash, const flash::Partition& region, std::uint32_t tag);
  RecordLog(const RecordLog&) = delete;
  RecordLog& operator=(const RecordLog&) = delete;

  // The newest valid record, if any.
  const std::optional<Record>& latest() const { return latest_; }
  // Largest payload a record can hold.
  std::size_t max_payload() const;
  // Appends a record (an erase first when entering a new block). On Ok latest() is the new
  // record; on Failed nothing changed in flash; on PowerLost the flash went dark.
  flash::FlashStatus append(std::uint16_t kind, std::span<const std::uint8_t> payload);

 private:
  flash::PartitionView view() const { return flash::PartitionView(flash_, region_); }
  void advance();

  flash::NandFlash& flash_;
  flash::Partition region_;  // a copy: PartitionView keeps a reference to it
  std::uint32_t tag_;
  std::optional<Record> latest_;
  std::uint32_t next_page_ = 0;  // where the next record goes (page within the region)
  bool erase_before_ = false;    // next_page_ starts a block still holding older records
};

// What the package area is holding.
enum class PackageState {
  Absent,      // nothing (never written, or removed)
  Receiving,   // an upload is in progress in this power cycle (begin() called, no finish())
  Incomplete,  // an upload began but power was lost before finish(): data not trusted
  Committed,   // a whole upload, committed by finish(): size() and sha256() are valid
};

enum class AreaStatus {
  Ok,
  TooLarge,      // over the expected size or the area's capacity: nothing written (708)
  WriteFailed,   // the flash reported a failed program/erase (707); the upload is spoilt
  PowerLost,     // the flash went dark: stop at once
  NotReceiving,  // append()/finish() without a begin() in this power cycle
};

// The note's download error for a package-area failure: 0, 707 (write failed), 708 (too
// large); 701 (unknown) for misuse. PowerLost has no code: a dark module prints nothing.
int download_error(AreaStatus status);

class PackageArea {
 public:
  static constexpr std::uint64_t kUnknownSize = ~std::uint64_t{0};

  // Reads the package log to learn the state left by the previous power cycle (reads only).
  PackageArea(flash::NandFlash& flash, const flash::Layout& layout);
  PackageArea(const PackageArea&) = delete;
  PackageArea& operator=(const PackageArea&) = delete;

  std::uint64_t capacity() const;  // 6 MiB
  PackageState state() const { return state_; }
  bool present() const { return state_ == PackageState::Committed; }
  // Bytes of the committed package; 0 unless present().
  std::uint64_t size() const { return present() ? committed_size_ : 0; }
  // SHA-256 of the committed package's bytes (as recorded at commit).
  const util::Digest& sha256() const { return committed_sha_; }
  // Bytes accepted by append() since begin() (the "data so far" of an interrupted upload).
  std::uint64_t received() const { return received_; }

  // Starts an upload. The committed package (if any) stops being present at once (a Begin
  // record is written first), so a cut mid-upload never leaves an old commit over new bytes.
  // Blocks are erased lazily, as writing reaches them: a 100-byte upload erases one block.
  // TooLarge (nothing written) when expected_size is over capacity().
  AreaStatus begin(std::uint64_t expected_size = kUnknownSize);
  // Buffers to page size and programs whole pages. TooLarge (this span refused whole, upload
  // otherwise intact) past expected_size or capacity(). After WriteFailed or PowerLost the
  // upload cannot be committed.
  AreaStatus append(std::span<const std::uint8_t> data);
  // Programs the last partial page and writes the Commit record (size, SHA-256). Callable with
  // fewer bytes than expected: an upload ended early (e.g. by +++) commits what arrived.
  AreaStatus finish();
  // Makes the area read as absent (a Remove record first), then erases every block that is
  // not blank. Idempotent; also what a module does after a successful update.
  AreaStatus remove();

  // Reads bytes of the committed package; false (nothing read) when out of its range.
  bool read(std::uint64_t offset, std::span<std::uint8_t> out) const;
  // Header check and whole-package SHA-256 (trailer) of the committed package, streamed from
  // flash: what a download checks before accepting a package (710 when it fails).
  util::Expected<firmware::PackageHeader> verify_package() const;

 private:
  enum Kind : std::uint16_t { kBegin = 1, kCommit = 2, kRemove = 3 };

  flash::PartitionView view() const { return flash::PartitionView(flash_, partition_); }
  AreaStatus program_page(std::span<const std::uint8_t> data);
  static AreaStatus from_flash(flash::FlashStatus s);

  flash::NandFlash& flash_;
  flash::Partition partition_;  // a copy: PartitionView keeps a reference to it
  RecordLog log_;

  PackageState state_ = PackageState::Absent;
  std::uint64_t committed_size_ = 0;
  util::Digest committed_sha_{};

  // The upload in progress (Receiving).
  std::uint64_t expected_ = kUnknownSize;
  std::uint64_t received_ = 0;
  std::uint32_t next_page_ = 0;  // next page of the partition to program
  std::vector<std::uint8_t> page_buffer_;
  std::optional<util::Sha256> sha_;
  bool spoilt_ = false;  // a write failed: the upload cannot be committed
};

}  // namespace bg95::dfota
