#include "sim/firmware/image_buffer.hpp"

#include <sys/mman.h>

#include <new>
#include <utility>

namespace bg95::firmware {
namespace {

constexpr std::size_t kHugePage = 2u << 20;

}  // namespace

ImageBuffer::ImageBuffer(std::size_t size) {
  if (size == 0) return;
  // Huge pages need 2 MiB alignment: map one huge page more and start at the first boundary.
  const bool huge = size >= kHugeFrom;
  mapped_ = huge ? size + kHugePage : size;
  void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    mapped_ = 0;
    throw std::bad_alloc();
  }
  mapping_ = p;
  auto at = reinterpret_cast<std::uintptr_t>(p);
  if (huge) {
    at = (at + kHugePage - 1) & ~std::uintptr_t{kHugePage - 1};
    // Only a hint: without THP (or with it off) the buffer works the same in small pages.
    ::madvise(reinterpret_cast<void*>(at), size, MADV_HUGEPAGE);
  }
  data_ = reinterpret_cast<std::uint8_t*>(at);
  size_ = size;
}

ImageBuffer::~ImageBuffer() {
  reset();
}

ImageBuffer::ImageBuffer(ImageBuffer&& other) noexcept
    : mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

ImageBuffer& ImageBuffer::operator=(ImageBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void ImageBuffer::reset() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapped_);
  mapping_ = nullptr;
  mapped_ = 0;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace bg95::firmware
