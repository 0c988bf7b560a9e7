#pragma once
// A whole firmware image held in memory while an update runs (the decoder's source prefix and
// the decoded target). Mapped anonymously rather than taken from the heap: it goes back to the
// system when released, so a fleet updating many modules one after another does not keep a
// heap grown for the largest of them; and from kHugeFrom up it asks for transparent huge
// pages, so that a 16 MiB image costs a few page faults rather than 4096 (measured: 9.5 ms of
// page faults for 16 MiB in 4 KiB pages, 1.7 ms in 2 MiB pages, docs/performance.md).
// The contents start zeroed.

#include <cstddef>
#include <cstdint>
#include <span>

namespace bg95::firmware {

class ImageBuffer {
 public:
  static constexpr std::size_t kHugeFrom = 4u << 20;

  ImageBuffer() = default;
  explicit ImageBuffer(std::size_t size);  // throws std::bad_alloc when it cannot be mapped
  ~ImageBuffer();
  ImageBuffer(ImageBuffer&& other) noexcept;
  ImageBuffer& operator=(ImageBuffer&& other) noexcept;
  ImageBuffer(const ImageBuffer&) = delete;
  ImageBuffer& operator=(const ImageBuffer&) = delete;

  std::span<std::uint8_t> bytes() { return {data_, size_}; }
  std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void reset();

 private:
  void* mapping_ = nullptr;  // what munmap() gets back: [mapping_, mapping_ + mapped_)
  std::size_t mapped_ = 0;
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace bg95::firmware
