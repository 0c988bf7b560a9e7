#include "sim/firmware/firmware_store.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace bg95::firmware {

flash::FlashStatus write_image(flash::PartitionView& partition, std::span<const std::uint8_t> image,
                               const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  if (image.size() > partition.size()) return flash::FlashStatus::Failed;
  const std::uint32_t page = partition.page_size();
  const auto pages = static_cast<std::uint32_t>((image.size() + page - 1) / page);
  const std::uint32_t blocks =
      (pages + partition.pages_per_block() - 1) / partition.pages_per_block();
  for (std::uint32_t b = 0; b < blocks; ++b)
    if (auto s = partition.erase_block(b); s != flash::FlashStatus::Ok) return s;
  // A block of pages per call: one pwrite each, the same operations as page by page.
  const std::size_t block = std::size_t{page} * partition.pages_per_block();
  for (std::size_t off = 0; off < image.size(); off += block) {
    const std::size_t n = std::min(block, image.size() - off);
    if (auto s =
            partition.program_pages(static_cast<std::uint32_t>(off / page), image.subspan(off, n));
        s != flash::FlashStatus::Ok)
      return s;
    if (progress) progress(off + n, image.size());
  }
  return flash::FlashStatus::Ok;
}

util::Expected<ImageHeader> read_image_header(const flash::PartitionView& partition) {
  std::vector<std::uint8_t> buf(kImageHeaderSize);
  partition.read(0, buf);
  auto h = decode_image_header(buf);
  if (h && h->image_size() > partition.size())
    return util::Error{
        fmt::format("image of {} bytes does not fit its partition", h->image_size())};
  return h;
}

util::Expected<ImageHeader> verify_partition_image(const flash::PartitionView& partition) {
  auto h = read_image_header(partition);
  if (!h) return h;
  util::Sha256 sha;
  std::vector<std::uint8_t> buf(256 * 1024);
  std::uint64_t left = h->body_size;
  std::uint64_t off = kImageHeaderSize;
  while (left > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    partition.read(off, std::span(buf).first(n));
    sha.update(std::span<const std::uint8_t>(buf).first(n));
    off += n;
    left -= n;
  }
  if (sha.finish() != h->body_sha256) return util::Error{"firmware body SHA-256 mismatch"};
  return h;
}

}  // namespace bg95::firmware
