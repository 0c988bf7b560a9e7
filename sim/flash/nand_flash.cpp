#include "sim/flash/nand_flash.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace bg95::flash {
namespace {

void invert(std::span<std::uint8_t> bytes) {
  for (auto& b : bytes)
    b = static_cast<std::uint8_t>(~b);
}

}  // namespace

NandFlash::NandFlash(std::filesystem::path file, Geometry geometry)
    : file_(std::move(file)), geometry_(geometry) {
  fd_ = ::open(file_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0 && errno == ENOENT) {
    fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      created_ = true;
      if (::ftruncate(fd_, static_cast<off_t>(geometry_.total_size())) != 0) {
        ::close(fd_);
        throw FlashError(
            fmt::format("{}: cannot size flash file: {}", file_.string(), std::strerror(errno)));
      }
    }
  }
  if (fd_ < 0)
    throw FlashError(
        fmt::format("{}: cannot open flash file: {}", file_.string(), std::strerror(errno)));
  struct stat st {};
  ::fstat(fd_, &st);
  if (static_cast<std::uint64_t>(st.st_size) != geometry_.total_size()) {
    ::close(fd_);
    fd_ = -1;
    throw FlashError(fmt::format("{}: flash file has {} bytes, expected {} (truncated or foreign)",
                                 file_.string(), st.st_size, geometry_.total_size()));
  }
  known_erased_.assign(std::size_t{geometry_.block_count} * geometry_.pages_per_block, false);
}

NandFlash::~NandFlash() {
  if (fd_ >= 0) ::close(fd_);
}

void NandFlash::check_block(std::uint32_t block) const {
  if (block >= geometry_.block_count)
    throw FlashError(fmt::format("flash block {} out of range", block));
}

void NandFlash::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (offset + out.size() > geometry_.total_size())
    throw FlashError(fmt::format("flash read past the end ({}+{})", offset, out.size()));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FlashError(fmt::format("{}: read failed", file_.string()));
    done += static_cast<std::size_t>(n);
  }
  invert(out);
}

void NandFlash::write_raw(std::uint64_t offset, std::span<const std::uint8_t> logical) {
  std::vector<std::uint8_t> stored(logical.begin(), logical.end());
  invert(stored);
  pwrite_all(offset, stored);
}

void NandFlash::pwrite_all(std::uint64_t offset, std::span<const std::uint8_t> stored) {
  std::size_t done = 0;
  while (done < stored.size()) {
    const ssize_t n = ::pwrite(fd_, stored.data() + done, stored.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FlashError(fmt::format("{}: write failed", file_.string()));
    done += static_cast<std::size_t>(n);
  }
}

bool NandFlash::page_erased(std::uint32_t block, std::uint32_t page) const {
  std::vector<std::uint8_t> buf(geometry_.page_size);
  read(std::uint64_t{block} * geometry_.block_size() + std::uint64_t{page} * geometry_.page_size,
       buf);
  return std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xFF; });
}

FlashStatus NandFlash::program(std::uint32_t block, std::uint32_t page,
                               std::span<const std::uint8_t> data) {
  check_block(block);
  if (page >= geometry_.pages_per_block || data.size() > geometry_.page_size)
    throw FlashError(
        fmt::format("bad program of block {} page {} ({} bytes)", block, page, data.size()));
  return apply({FlashOp::Kind::Program, block, page}, data);
}

FlashStatus NandFlash::erase(std::uint32_t block) {
  check_block(block);
  return apply({FlashOp::Kind::Erase, block, 0}, {});
}

FlashStatus NandFlash::apply(const FlashOp& op, std::span<const std::uint8_t> data) {
  if (power_lost_) return FlashStatus::PowerLost;
  const std::uint64_t index = ++op_count_;
  const Fault fault = fault_hook_ ? fault_hook_(op, index) : Fault::None;
  if (fault == Fault::Fail) return FlashStatus::Failed;
  if (fault == Fault::PowerCut) {
    power_lost_ = true;
    return FlashStatus::PowerLost;
  }
  const std::uint64_t block_base = std::uint64_t{op.block} * geometry_.block_size();
  if (op.kind == FlashOp::Kind::Erase) {
    // An erase resets the block to 0xFF, stored inverted as zeros: punching a hole gives
    // exactly that and keeps the file sparse. A torn erase leaves half the block as it was.
    const std::size_t n =
        fault == Fault::TornWrite ? geometry_.block_size() / 2 : geometry_.block_size();
    if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(block_base),
                    static_cast<off_t>(n)) != 0) {
      std::vector<std::uint8_t> erased(n, 0xFF);
      write_raw(block_base, erased);
    }
    // The pages the erase reached are known erased; a torn erase leaves the rest unknown.
    const std::size_t first = std::size_t{op.block} * geometry_.pages_per_block;
    for (std::uint32_t p = 0; p < geometry_.pages_per_block; ++p)
      known_erased_[first + p] = std::uint64_t{p + 1} * geometry_.page_size <= n;
  } else {
    const std::size_t page_index = std::size_t{op.block} * geometry_.pages_per_block + op.page;
    if (!known_erased_[page_index] && !page_erased(op.block, op.page))
      return FlashStatus::Failed;       // NAND: no overwrite
    known_erased_[page_index] = false;  // programmed, or torn: not erased any more
    // Stored inverted: the bytes given, and 0xFF (stored 0x00) for the rest of the page.
    scratch_.assign(geometry_.page_size, 0);
    for (std::size_t i = 0; i < data.size(); ++i)
      scratch_[i] = static_cast<std::uint8_t>(~data[i]);
    const std::size_t n = fault == Fault::TornWrite ? scratch_.size() / 2 : scratch_.size();
    pwrite_all(block_base + std::uint64_t{op.page} * geometry_.page_size,
               std::span<const std::uint8_t>(scratch_).first(n));
  }
  if (fault == Fault::TornWrite) {
    power_lost_ = true;
    return FlashStatus::PowerLost;
  }
  return FlashStatus::Ok;
}

}  // namespace bg95::flash
