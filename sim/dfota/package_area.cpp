#include "sim/dfota/package_area.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "protocol/net/fota_error.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"

namespace bg95::dfota {
namespace {

// Record page layout (little-endian):
//   0   8  magic "BG95JRNL"
//   8   4  log tag
//   12  2  kind
//   14  2  payload length
//   16  8  sequence number (1, 2, ... over the life of the log)
//   24  n  payload
//   page-8 4  end marker "JEND": a torn program leaves it erased (0xFF...)
//   page-4 4  CRC-32 of bytes 0 .. page-4
constexpr char kRecordMagic[8] = {'B', 'G', '9', '5', 'J', 'R', 'N', 'L'};
constexpr std::uint32_t kEndMarker = 0x444E454Au;  // "JEND"
constexpr std::size_t kOffTag = 8;
constexpr std::size_t kOffKind = 12;
constexpr std::size_t kOffLength = 14;
constexpr std::size_t kOffSeq = 16;
constexpr std::size_t kOffPayload = 24;
constexpr std::size_t kTrailer = 8;  // end marker + CRC

constexpr std::uint32_t kPackageLogTag = 0x504B474Cu;  // "PKGL"

flash::Partition sub_partition(const flash::Partition& whole, std::string_view name,
                               std::uint32_t first, std::uint32_t count) {
  if (first + count > whole.block_count)
    throw flash::FlashError(fmt::format("{} does not fit the {} partition", name, whole.name));
  return flash::Partition{name, whole.first_block + first, count};
}

std::optional<RecordLog::Record> parse_record(std::span<const std::uint8_t> page,
                                              std::uint32_t tag) {
  const std::size_t n = page.size();
  if (std::memcmp(page.data(), kRecordMagic, sizeof kRecordMagic) != 0) return std::nullopt;
  if (util::get_le<std::uint32_t>(page, n - 8) != kEndMarker) return std::nullopt;
  if (util::get_le<std::uint32_t>(page, n - 4) != util::crc32(page.first(n - 4)))
    return std::nullopt;
  if (util::get_le<std::uint32_t>(page, kOffTag) != tag) return std::nullopt;
  const auto length = util::get_le<std::uint16_t>(page, kOffLength);
  if (kOffPayload + length > n - kTrailer) return std::nullopt;
  RecordLog::Record r;
  r.kind = util::get_le<std::uint16_t>(page, kOffKind);
  r.seq = util::get_le<std::uint64_t>(page, kOffSeq);
  const auto payload = page.subspan(kOffPayload, length);
  r.payload.assign(payload.begin(), payload.end());
  return r;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RecordLog

RecordLog::RecordLog(flash::NandFlash& flash, const flash::Partition& region, std::uint32_t tag)
    : flash_(flash), region_(region), tag_(tag) {
  if (region_.block_count < 2)
    throw flash::FlashError(fmt::format("record log {} needs two blocks", region_.name));
  const flash::PartitionView v = view();
  std::vector<std::uint8_t> page(v.page_size());
  std::optional<std::uint32_t> latest_page;
  for (std::uint32_t p = 0; p < v.page_count(); ++p) {
    v.read(std::uint64_t{p} * v.page_size(), page);
    auto r = parse_record(page, tag_);
    if (r && (!latest_ || r->seq > latest_->seq)) {
      latest_ = std::move(r);
      latest_page = p;
    }
  }
  // The next record goes right after the newest one; with no record at all, at the start
  // (whatever is there is garbage: append() skips or erases it).
  if (latest_page) {
    next_page_ = *latest_page;
    advance();
  } else {
    next_page_ = 0;
    erase_before_ = false;
  }
}

std::size_t RecordLog::max_payload() const {
  return std::min<std::size_t>(flash_.geometry().page_size - kOffPayload - kTrailer, 0xFFFF);
}

void RecordLog::advance() {
  next_page_ = (next_page_ + 1) % view().page_count();
  erase_before_ = next_page_ % view().pages_per_block() == 0;
}

flash::FlashStatus RecordLog::append(std::uint16_t kind, std::span<const std::uint8_t> payload) {
  if (payload.size() > max_payload())
    throw flash::FlashError(
        fmt::format("record of {} bytes too large for {}", payload.size(), region_.name));
  flash::PartitionView v = view();
  Record r{kind, latest_ ? latest_->seq + 1 : 1, {payload.begin(), payload.end()}};
  std::vector<std::uint8_t> page(v.page_size(), 0xFF);
  std::memcpy(page.data(), kRecordMagic, sizeof kRecordMagic);
  util::put_le<std::uint32_t>(page, kOffTag, tag_);
  util::put_le<std::uint16_t>(page, kOffKind, kind);
  util::put_le<std::uint16_t>(page, kOffLength, static_cast<std::uint16_t>(payload.size()));
  util::put_le<std::uint64_t>(page, kOffSeq, r.seq);
  std::copy(payload.begin(), payload.end(), page.begin() + kOffPayload);
  util::put_le<std::uint32_t>(page, page.size() - 8, kEndMarker);
  util::put_le<std::uint32_t>(
      page, page.size() - 4,
      util::crc32(std::span<const std::uint8_t>(page).first(page.size() - 4)));

  // Bounded: at most one pass over the rest of a block, then a fresh (erased) block.
  for (std::uint32_t tries = 0; tries <= v.page_count(); ++tries) {
    if (erase_before_) {
      if (auto s = v.erase_block(next_page_ / v.pages_per_block()); s != flash::FlashStatus::Ok)
        return s;
      erase_before_ = false;
    }
    // A page torn by an earlier power cut cannot be programmed again: step over it.
    if (!v.page_erased(next_page_)) {
      advance();
      continue;
    }
    const auto s = v.program_page(next_page_, page);
    if (s != flash::FlashStatus::Ok) return s;
    latest_ = std::move(r);
    advance();
    return flash::FlashStatus::Ok;
  }
  return flash::FlashStatus::Failed;  // unreachable with a working erase
}

// ---------------------------------------------------------------------------------------
// PackageArea

int download_error(AreaStatus status) {
  switch (status) {
    case AreaStatus::Ok:
      return 0;
    case AreaStatus::TooLarge:
      return net::code(net::FotaError::TooLarge);
    case AreaStatus::WriteFailed:
    case AreaStatus::PowerLost:
      return net::code(net::FotaError::WriteFailed);
    case AreaStatus::NotReceiving:
      break;
  }
  return net::code(net::FotaError::DownloadUnknown);
}

PackageArea::PackageArea(flash::NandFlash& flash, const flash::Layout& layout)
    : flash_(flash),
      partition_(layout.package),
      log_(flash,
           sub_partition(layout.journal, "journal/package", kPackageLogFirstBlock,
                         kPackageLogBlocks),
           kPackageLogTag) {
  const auto& latest = log_.latest();
  if (!latest) return;
  switch (latest->kind) {
    case kBegin:
      state_ = PackageState::Incomplete;
      break;
    case kCommit:
      if (latest->payload.size() == 8 + 32) {
        committed_size_ = util::get_le<std::uint64_t>(latest->payload, 0);
        std::copy_n(latest->payload.begin() + 8, 32, committed_sha_.begin());
        if (committed_size_ <= capacity()) state_ = PackageState::Committed;
      }
      break;
    default:
      break;  // Remove (or a kind from the future): absent
  }
}

std::uint64_t PackageArea::capacity() const {
  return view().size();
}

AreaStatus PackageArea::from_flash(flash::FlashStatus s) {
  switch (s) {
    case flash::FlashStatus::Ok:
      return AreaStatus::Ok;
    case flash::FlashStatus::Failed:
      return AreaStatus::WriteFailed;
    case flash::FlashStatus::PowerLost:
      break;
  }
  return AreaStatus::PowerLost;
}

AreaStatus PackageArea::begin(std::uint64_t expected_size) {
  if (expected_size != kUnknownSize && expected_size > capacity()) return AreaStatus::TooLarge;
  // Whatever happens next, the old package is gone from this object's point of view: the
  // Begin record (or, if it fails, the spoilt upload) stands for it.
  committed_size_ = 0;
  committed_sha_ = {};
  expected_ = expected_size;
  received_ = 0;
  next_page_ = 0;
  page_buffer_.clear();
  page_buffer_.reserve(view().page_size());
  sha_.emplace();
  spoilt_ = false;
  state_ = PackageState::Receiving;
  const auto s = from_flash(log_.append(kBegin, {}));
  if (s != AreaStatus::Ok) spoilt_ = true;
  return s;
}

AreaStatus PackageArea::program_page(std::span<const std::uint8_t> data) {
  flash::PartitionView v = view();
  // Lazy erase: a block is erased when the first of its pages is about to be written.
  if (next_page_ % v.pages_per_block() == 0)
    if (auto s = from_flash(v.erase_block(next_page_ / v.pages_per_block())); s != AreaStatus::Ok)
      return s;
  if (auto s = from_flash(v.program_page(next_page_, data)); s != AreaStatus::Ok) return s;
  ++next_page_;
  return AreaStatus::Ok;
}

AreaStatus PackageArea::append(std::span<const std::uint8_t> data) {
  if (state_ != PackageState::Receiving) return AreaStatus::NotReceiving;
  if (spoilt_) return AreaStatus::WriteFailed;
  const std::uint64_t limit = std::min(expected_, capacity());
  if (data.size() > limit - received_) return AreaStatus::TooLarge;
  const std::size_t page = view().page_size();
  while (!data.empty()) {
    const auto chunk = data.first(std::min(page - page_buffer_.size(), data.size()));
    page_buffer_.insert(page_buffer_.end(), chunk.begin(), chunk.end());
    sha_->update(chunk);
    const std::size_t n = chunk.size();
    received_ += n;
    data = data.subspan(n);
    if (page_buffer_.size() == page) {
      if (auto s = program_page(page_buffer_); s != AreaStatus::Ok) {
        spoilt_ = true;
        return s;
      }
      page_buffer_.clear();
    }
  }
  return AreaStatus::Ok;
}

AreaStatus PackageArea::finish() {
  if (state_ != PackageState::Receiving) return AreaStatus::NotReceiving;
  if (spoilt_) return AreaStatus::WriteFailed;
  if (!page_buffer_.empty()) {
    // The rest of the page stays erased (0xFF); size() keeps reads within the package.
    if (auto s = program_page(page_buffer_); s != AreaStatus::Ok) {
      spoilt_ = true;
      return s;
    }
    page_buffer_.clear();
  }
  const util::Digest digest = sha_->finish();
  std::vector<std::uint8_t> payload(8 + 32);
  util::put_le<std::uint64_t>(payload, 0, received_);
  std::copy(digest.begin(), digest.end(), payload.begin() + 8);
  if (auto s = from_flash(log_.append(kCommit, payload)); s != AreaStatus::Ok) {
    spoilt_ = true;
    return s;
  }
  committed_size_ = received_;
  committed_sha_ = digest;
  state_ = PackageState::Committed;
  sha_.reset();
  return AreaStatus::Ok;
}

AreaStatus PackageArea::remove() {
  // The record first: from then on a power cut leaves an absent package, however many of
  // the erases below happened.
  if (state_ != PackageState::Absent) {
    spoilt_ = true;  // an upload in progress ends here
    if (auto s = from_flash(log_.append(kRemove, {})); s != AreaStatus::Ok) return s;
    state_ = PackageState::Absent;
    committed_size_ = 0;
    committed_sha_ = {};
  }
  // Only blocks that hold something are erased (the same operations as ever); an empty block
  // is told without reading its 128 KiB (NandFlash::block_erased): reading and comparing all
  // 48 blocks, 6 MiB an update, was the largest single item in the profile of 1000 concurrent
  // updates (docs/performance.md).
  flash::PartitionView v = view();
  for (std::uint32_t b = 0; b < v.block_count(); ++b) {
    if (v.block_erased(b)) continue;
    if (auto s = from_flash(v.erase_block(b)); s != AreaStatus::Ok) return s;
  }
  return AreaStatus::Ok;
}

bool PackageArea::read(std::uint64_t offset, std::span<std::uint8_t> out) const {
  if (!present() || offset > committed_size_ || out.size() > committed_size_ - offset) return false;
  view().read(offset, out);
  return true;
}

util::Expected<firmware::PackageHeader> PackageArea::verify_package() const {
  if (!present()) return util::Error{"no package in the package area"};
  if (committed_size_ < firmware::kPackageHeaderSize + firmware::kPackageTrailerSize)
    return util::Error{fmt::format("package of {} bytes is too short", committed_size_)};
  std::vector<std::uint8_t> buf(firmware::kPackageHeaderSize);
  read(0, buf);
  auto h = firmware::decode_package_header(buf);
  if (!h) return h;
  if (h->package_size() != committed_size_)
    return util::Error{
        fmt::format("package has {} bytes, header says {}", committed_size_, h->package_size())};
  util::Sha256 sha;
  buf.resize(64 * 1024);
  const std::uint64_t covered = committed_size_ - firmware::kPackageTrailerSize;
  for (std::uint64_t at = 0; at < covered;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), covered - at));
    read(at, std::span(buf).first(n));
    sha.update(std::span<const std::uint8_t>(buf).first(n));
    at += n;
  }
  util::Digest trailer{};
  read(covered, trailer);
  if (sha.finish() != trailer) return util::Error{"package SHA-256 mismatch (corrupted package)"};
  return h;
}

}  // namespace bg95::dfota
