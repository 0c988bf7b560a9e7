#pragma once
// How the module's flash is divided. The sizes follow the module's needs: the active firmware
// and a staging copy of the same size (the update writes the new image there first), the
// 6 MiB DFOTA package area of the note (2.2.1.3), and a journal that makes the update
// resumable after a power cut.

#include <cstdint>
#include <span>
#include <string_view>

#include "sim/flash/nand_flash.hpp"

namespace bg95::flash {

struct Partition {
  std::string_view name;
  std::uint32_t first_block;
  std::uint32_t block_count;
};

struct Layout {
  Geometry geometry;
  Partition header;   // flash signature and layout version
  Partition journal;  // update journal
  Partition active;   // the running firmware image
  Partition staging;  // the new image while an update builds it
  Partition package;  // the DFOTA package area

  static Layout standard();
};

inline constexpr std::uint64_t kPackageAreaSize = 6 * 1024 * 1024;  // the note's 6 Mbytes

// A window onto one partition: offsets are relative to its start.
class PartitionView {
 public:
  PartitionView(NandFlash& flash, const Partition& partition)
      : flash_(flash), partition_(partition) {}

  std::uint64_t size() const {
    return std::uint64_t{partition_.block_count} * flash_.geometry().block_size();
  }
  std::uint32_t page_size() const { return flash_.geometry().page_size; }
  std::uint32_t pages_per_block() const { return flash_.geometry().pages_per_block; }
  std::uint32_t block_count() const { return partition_.block_count; }
  std::uint32_t page_count() const { return partition_.block_count * pages_per_block(); }

  void read(std::uint64_t offset, std::span<std::uint8_t> out) const;
  FlashStatus erase_block(std::uint32_t block);
  FlashStatus program_page(std::uint32_t page, std::span<const std::uint8_t> data);
  // Consecutive pages from `page` on (NandFlash::program_pages), within the partition.
  FlashStatus program_pages(std::uint32_t page, std::span<const std::uint8_t> data);
  bool page_erased(std::uint32_t page) const;
  bool block_erased(std::uint32_t block) const;  // NandFlash::block_erased
  NandFlash& flash() { return flash_; }
  const Partition& partition() const { return partition_; }

 private:
  NandFlash& flash_;
  const Partition& partition_;
};

}  // namespace bg95::flash
