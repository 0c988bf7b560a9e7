#include "sim/flash/layout.hpp"

#include <algorithm>

namespace bg95::flash {

Layout Layout::standard() {
  Layout l;
  l.geometry = Geometry{2048, 64, 0};  // 2 KiB pages, 128 KiB erase blocks
  std::uint32_t next = 0;
  auto take = [&next](std::string_view name, std::uint32_t blocks) {
    Partition p{name, next, blocks};
    next += blocks;
    return p;
  };
  l.header = take("header", 1);
  l.journal = take("journal", 8);
  l.active = take("active", 256);    // 32 MiB
  l.staging = take("staging", 256);  // 32 MiB
  l.package =
      take("package", static_cast<std::uint32_t>(kPackageAreaSize / l.geometry.block_size()));
  l.geometry.block_count = next;
  return l;
}

void PartitionView::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (offset + out.size() > size()) throw FlashError("read past the end of a partition");
  flash_.read(std::uint64_t{partition_.first_block} * flash_.geometry().block_size() + offset, out);
}

FlashStatus PartitionView::erase_block(std::uint32_t block) {
  if (block >= partition_.block_count) throw FlashError("erase past the end of a partition");
  return flash_.erase(partition_.first_block + block);
}

FlashStatus PartitionView::program_page(std::uint32_t page, std::span<const std::uint8_t> data) {
  if (page >= page_count()) throw FlashError("program past the end of a partition");
  return flash_.program(partition_.first_block + page / pages_per_block(), page % pages_per_block(),
                        data);
}

FlashStatus PartitionView::program_pages(std::uint32_t page, std::span<const std::uint8_t> data) {
  const std::uint64_t pages =
      std::max<std::uint64_t>(1, (data.size() + page_size() - 1) / page_size());
  if (page >= page_count() || pages > page_count() - page)
    throw FlashError("program past the end of a partition");
  return flash_.program_pages(partition_.first_block + page / pages_per_block(),
                              page % pages_per_block(), data);
}

bool PartitionView::page_erased(std::uint32_t page) const {
  return flash_.page_erased(partition_.first_block + page / pages_per_block(),
                            page % pages_per_block());
}

bool PartitionView::block_erased(std::uint32_t block) const {
  return flash_.block_erased(partition_.first_block + block);
}

}  // namespace bg95::flash
