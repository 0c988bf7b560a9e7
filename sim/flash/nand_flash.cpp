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

#include "sim/flash/factory_base.hpp"

namespace bg95::flash {
namespace {

// Bytes are stored inverted (see the header). A word at a time: this runs over every byte the
// module reads or writes, and a byte loop through a member pointer does not vectorise.
void invert_copy(const std::uint8_t* in, std::uint8_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, in + i, 8);
    w = ~w;
    std::memcpy(out + i, &w, 8);
  }
  for (; i < n; ++i)
    out[i] = static_cast<std::uint8_t>(~in[i]);
}

// Pages of a run staged for one pwrite: 64 pages (one 128 KiB block) bound the buffer.
constexpr std::uint32_t kMaxStagedPages = 64;

}  // namespace

NandFlash::NandFlash(std::filesystem::path file, Geometry geometry, std::filesystem::path factory,
                     std::shared_ptr<OpenFiles> files)
    : file_(std::move(file)),
      geometry_(geometry),
      files_(files ? std::move(files) : std::make_shared<OpenFiles>(4)) {
  // Made or checked with a descriptor of its own, closed at the end: the file is used through
  // the cache from then on.
  int fd = ::open(file_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(file_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      created_ = true;
      if (::ftruncate(fd, static_cast<off_t>(geometry_.total_size())) != 0) {
        const std::string why = std::strerror(errno);
        ::close(fd);
        throw FlashError(fmt::format("{}: cannot size flash file: {}", file_.string(), why));
      }
    }
  }
  if (fd < 0)
    throw FlashError(
        fmt::format("{}: cannot open flash file: {}", file_.string(), std::strerror(errno)));
  struct stat st {};
  ::fstat(fd, &st);
  ::close(fd);
  if (static_cast<std::uint64_t>(st.st_size) != geometry_.total_size())
    throw FlashError(fmt::format("{}: flash file has {} bytes, expected {} (truncated or foreign)",
                                 file_.string(), st.st_size, geometry_.total_size()));
  own_ = files_->file(file_, O_RDWR);
  known_erased_.assign(std::size_t{geometry_.block_count} * geometry_.pages_per_block, false);
  if (created_) {
    // Side files a removed flash left behind describe nothing any more.
    FactoryBase::forget(file_);
    if (!factory.empty()) factory_ = FactoryBase::create(file_, factory, geometry_, *files_);
  } else {
    factory_ = FactoryBase::open(file_, geometry_, *files_);
  }
}

std::uint32_t NandFlash::factory_blocks() const {
  return factory_ ? factory_->factory_blocks() : 0;
}

// The factory (holding Files of the cache) goes before the cache it may be the last owner of.
NandFlash::~NandFlash() {
  factory_.reset();
  own_.reset();
}

int NandFlash::own_fd(bool write) const {
  const int fd = own_->fd();
  if (fd >= 0) return fd;
  const std::string why =
      fmt::format("{}: cannot open flash file: {}", file_.string(), std::strerror(errno));
  if (write) throw HostWriteError(why);
  throw FlashError(why);
}

void NandFlash::check_block(std::uint32_t block) const {
  if (block >= geometry_.block_count)
    throw FlashError(fmt::format("flash block {} out of range", block));
}

void NandFlash::pread_all(int fd, std::uint64_t offset, std::span<std::uint8_t> out) const {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw FlashError(fmt::format("{}: read failed", file_.string()));
    done += static_cast<std::size_t>(n);
  }
}

void NandFlash::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (offset + out.size() > geometry_.total_size())
    throw FlashError(fmt::format("flash read past the end ({}+{})", offset, out.size()));
  if (!factory_) {
    pread_all(own_fd(), offset, out);
  } else {
    // Runs of blocks with the same source: the factory file, or this one.
    const std::uint64_t block_size = geometry_.block_size();
    std::size_t done = 0;
    while (done < out.size()) {
      const std::uint64_t at = offset + done;
      const auto block = static_cast<std::uint32_t>(at / block_size);
      const bool from_factory = factory_->factory_block(block);
      std::uint64_t end = (block + 1) * block_size;
      while (end < offset + out.size() &&
             factory_->factory_block(static_cast<std::uint32_t>(end / block_size)) == from_factory)
        end += block_size;
      const auto n =
          static_cast<std::size_t>(std::min<std::uint64_t>(end, offset + out.size()) - at);
      pread_all(from_factory ? factory_->fd() : own_fd(), at, out.subspan(done, n));
      done += n;
    }
  }
  invert_copy(out.data(), out.data(), out.size());
}

void NandFlash::copy_from_factory(std::uint32_t block) {
  const std::uint64_t base = std::uint64_t{block} * geometry_.block_size();
  std::vector<std::uint8_t> stored(geometry_.block_size());
  pread_all(factory_->fd(), base, stored);
  pwrite_all(base, stored);
}

// Only where the file system cannot punch holes: the erased state written out (zeros).
void NandFlash::erase_stored(std::uint64_t offset, std::size_t size) {
  const std::vector<std::uint8_t> zeros(size, 0);
  pwrite_all(offset, zeros);
}

void NandFlash::pwrite_all(std::uint64_t offset, std::span<const std::uint8_t> stored) {
  std::size_t done = 0;
  while (done < stored.size()) {
    const ssize_t n = ::pwrite(own_fd(true), stored.data() + done, stored.size() - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw HostWriteError(
          fmt::format("{}: write failed: {}", file_.string(), std::strerror(errno)));
    if (n == 0) throw HostWriteError(fmt::format("{}: write failed", file_.string()));
    done += static_cast<std::size_t>(n);
  }
}

bool NandFlash::page_erased(std::uint32_t block, std::uint32_t page) const {
  std::vector<std::uint8_t> buf(geometry_.page_size);
  read(std::uint64_t{block} * geometry_.block_size() + std::uint64_t{page} * geometry_.page_size,
       buf);
  return std::all_of(buf.begin(), buf.end(), [](std::uint8_t b) { return b == 0xFF; });
}

bool NandFlash::block_erased(std::uint32_t block) const {
  check_block(block);
  const std::uint64_t base = std::uint64_t{block} * geometry_.block_size();
  const int fd = factory_ && factory_->factory_block(block) ? factory_->fd() : own_fd();
  // The next data at or after the block's start: none (ENXIO), or past its end, is a hole.
  // A file system without SEEK_DATA reports the whole file as data, which reads as before.
  const off_t data = ::lseek(fd, static_cast<off_t>(base), SEEK_DATA);
  if ((data < 0 && errno == ENXIO) ||
      (data >= 0 && static_cast<std::uint64_t>(data) >= base + geometry_.block_size()))
    return true;
  std::vector<std::uint8_t> stored(geometry_.block_size());
  pread_all(fd, base, stored);
  // Erased is stored as zeros; compared a word at a time.
  for (std::size_t i = 0; i < stored.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, stored.data() + i, 8);
    if (w != 0) return false;
  }
  return true;
}

FlashStatus NandFlash::program(std::uint32_t block, std::uint32_t page,
                               std::span<const std::uint8_t> data) {
  check_block(block);
  if (page >= geometry_.pages_per_block || data.size() > geometry_.page_size)
    throw FlashError(
        fmt::format("bad program of block {} page {} ({} bytes)", block, page, data.size()));
  return apply({FlashOp::Kind::Program, block, page}, 1, data);
}

FlashStatus NandFlash::program_pages(std::uint32_t block, std::uint32_t page,
                                     std::span<const std::uint8_t> data) {
  check_block(block);
  const std::uint64_t first = std::uint64_t{block} * geometry_.pages_per_block + page;
  const std::uint64_t pages =
      std::max<std::uint64_t>(1, (data.size() + geometry_.page_size - 1) / geometry_.page_size);
  if (page >= geometry_.pages_per_block ||
      first + pages > std::uint64_t{geometry_.block_count} * geometry_.pages_per_block)
    throw FlashError(
        fmt::format("bad program of {} bytes from block {} page {}", data.size(), block, page));
  return apply({FlashOp::Kind::Program, block, page}, static_cast<std::uint32_t>(pages), data);
}

FlashStatus NandFlash::erase(std::uint32_t block) {
  check_block(block);
  return apply({FlashOp::Kind::Erase, block, 0}, 1, {});
}

Fault NandFlash::decide(const FlashOp& op) {
  const std::uint64_t index = ++op_count_;
  if (op.kind == FlashOp::Kind::Program && program_delay_.count() > 0)
    busy_until_ = std::max(busy_until_, std::chrono::steady_clock::now()) + program_delay_;
  const Fault fault = fault_hook_ ? fault_hook_(op, index) : Fault::None;
  if (fault == Fault::PowerCut) power_lost_ = true;
  return fault;
}

std::chrono::milliseconds NandFlash::busy_for() const {
  const auto left = busy_until_ - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

FlashStatus NandFlash::apply(const FlashOp& op, std::uint32_t pages,
                             std::span<const std::uint8_t> data) {
  try {
    return apply_to_file(op, pages, data);
  } catch (const HostWriteError& e) {
    last_host_error_ = e.what();
    if (host_error_log_) host_error_log_(last_host_error_);
    return FlashStatus::Failed;
  }
}

FlashStatus NandFlash::apply_to_file(const FlashOp& op, std::uint32_t pages,
                                     std::span<const std::uint8_t> data) {
  if (power_lost_) return FlashStatus::PowerLost;
  if (op.kind == FlashOp::Kind::Erase) {
    const Fault fault = decide(op);
    if (fault == Fault::Fail) return FlashStatus::Failed;
    if (fault == Fault::PowerCut) return FlashStatus::PowerLost;
    // An erase resets the block to 0xFF, stored inverted as zeros: punching a hole gives
    // exactly that and keeps the file sparse. A torn erase leaves half the block as it was.
    const std::uint64_t block_base = std::uint64_t{op.block} * geometry_.block_size();
    const std::size_t n =
        fault == Fault::TornWrite ? geometry_.block_size() / 2 : geometry_.block_size();
    // A factory block becomes this flash's own; a torn erase keeps its second half.
    const bool from_factory = factory_ && factory_->factory_block(op.block);
    if (from_factory && n < geometry_.block_size()) copy_from_factory(op.block);
    if (::fallocate(own_fd(true), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(block_base), static_cast<off_t>(n)) != 0)
      erase_stored(block_base, n);
    if (from_factory) factory_->detach(op.block);
    // The pages the erase reached are known erased; a torn erase leaves the rest unknown.
    const std::size_t first = std::size_t{op.block} * geometry_.pages_per_block;
    for (std::uint32_t p = 0; p < geometry_.pages_per_block; ++p)
      known_erased_[first + p] = std::uint64_t{p + 1} * geometry_.page_size <= n;
    if (fault == Fault::TornWrite) power_lost_ = true;
    return fault == Fault::TornWrite ? FlashStatus::PowerLost : FlashStatus::Ok;
  }

  // A run of programs. Each page is decided in turn; the stored bytes of the pages that go
  // through collect in `staged` and reach the file in one pwrite, before the page that ends
  // the run (a fault, or a page that is not erased) is dealt with: a power cut at page k
  // leaves exactly pages 0..k-1 of the run programmed, as page-by-page calls would.
  const std::uint32_t page_size = geometry_.page_size;
  const std::uint64_t first_index = std::uint64_t{op.block} * geometry_.pages_per_block + op.page;
  const std::uint32_t stage_pages = std::min(pages, kMaxStagedPages);
  const auto staged =
      std::make_unique_for_overwrite<std::uint8_t[]>(std::size_t{stage_pages} * page_size);
  std::uint64_t staged_from = 0;  // page index of the first staged page
  std::uint32_t staged_count = 0;
  std::size_t staged_tail = 0;  // bytes of a torn last page
  const auto flush = [&] {
    const std::size_t bytes = std::size_t{staged_count} * page_size + staged_tail;
    if (bytes > 0)
      pwrite_all(staged_from * page_size, std::span<const std::uint8_t>(staged.get(), bytes));
    staged_count = 0;
    staged_tail = 0;
  };
  for (std::uint32_t i = 0; i < pages; ++i) {
    const std::uint64_t index = first_index + i;
    const FlashOp page_op{FlashOp::Kind::Program,
                          static_cast<std::uint32_t>(index / geometry_.pages_per_block),
                          static_cast<std::uint32_t>(index % geometry_.pages_per_block)};
    const Fault fault = decide(page_op);
    if (fault == Fault::Fail || fault == Fault::PowerCut) {
      flush();
      return fault == Fault::Fail ? FlashStatus::Failed : FlashStatus::PowerLost;
    }
    if (!known_erased_[index] && !page_erased(page_op.block, page_op.page)) {
      flush();
      return FlashStatus::Failed;  // NAND: no overwrite
    }
    known_erased_[index] = false;  // programmed, or torn: not erased any more
    if (factory_ && factory_->factory_block(page_op.block)) {
      // The rest of the block keeps the factory's contents. (Pages of this block are never
      // staged yet: this is the run's first page in it.)
      copy_from_factory(page_op.block);
      factory_->detach(page_op.block);
    }
    if (staged_count == stage_pages) flush();
    if (staged_count == 0) staged_from = index;
    // Stored inverted: the bytes given, and 0xFF (stored 0x00) for the rest of the page.
    std::uint8_t* out = staged.get() + std::size_t{staged_count} * page_size;
    const std::size_t at = std::size_t{i} * page_size;
    const std::size_t n = at < data.size() ? std::min<std::size_t>(page_size, data.size() - at) : 0;
    if (n > 0) invert_copy(data.data() + at, out, n);
    std::memset(out + n, 0, page_size - n);
    if (fault == Fault::TornWrite) {
      staged_tail = page_size / 2;  // power goes half-way through this page
      flush();
      power_lost_ = true;
      return FlashStatus::PowerLost;
    }
    ++staged_count;
  }
  flush();
  return FlashStatus::Ok;
}

}  // namespace bg95::flash
