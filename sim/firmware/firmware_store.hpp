#pragma once
// Firmware images in flash partitions: writing one (erase, then program page by page), and
// reading and checking the one there.

#include <functional>
#include <span>

#include "sim/firmware/image.hpp"
#include "sim/flash/layout.hpp"

namespace bg95::firmware {

// Erases the blocks the image needs and programs it from offset 0. progress(done, total) is
// called after each block when given.
flash::FlashStatus write_image(
    flash::PartitionView& partition, std::span<const std::uint8_t> image,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress = {});

util::Expected<ImageHeader> read_image_header(const flash::PartitionView& partition);
// Header and body SHA-256, streamed from flash.
util::Expected<ImageHeader> verify_partition_image(const flash::PartitionView& partition);

}  // namespace bg95::firmware
