#include "sim/firmware/package.hpp"

// ZSTD_d_stableOutBuffer (experimental API, in libzstd since 1.4.4; refused at run time by a
// library without it, and the decoder then falls back to its own buffer) and
// ZSTD_d_forceIgnoreChecksum (experimental, since 1.4.7; without it the XXH64 is checked).
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "sim/firmware/image.hpp"
#include "sim/util/bytes.hpp"
#include "sim/util/crc32.hpp"

namespace bg95::firmware {
namespace {

// Header layout (all integers little-endian; docs/package-format.md has the same table):
constexpr std::size_t kOffMagic = 0;            // 8   "BG95DPKG"
constexpr std::size_t kOffVersion = 8;          // 2   format version
constexpr std::size_t kOffHeaderSize = 10;      // 2   256
constexpr std::size_t kOffCodec = 12;           // 2   PayloadCodec
constexpr std::size_t kOffReserved0 = 14;       // 2   zero
constexpr std::size_t kOffSourceSize = 16;      // 8   whole source image
constexpr std::size_t kOffTargetSize = 24;      // 8   whole target image
constexpr std::size_t kOffPayloadSize = 32;     // 8
constexpr std::size_t kOffSourceSha = 40;       // 32  of the whole source image
constexpr std::size_t kOffTargetSha = 72;       // 32  of the whole target image
constexpr std::size_t kOffSourceVersion = 104;  // 64  NUL-padded full version
constexpr std::size_t kOffTargetVersion = 168;  // 64  NUL-padded full version
constexpr std::size_t kOffReserved1 = 232;      // 20  zero
constexpr std::size_t kOffCrc = 252;            // 4   CRC-32 of bytes 0..251
constexpr std::size_t kVersionLen = 64;
static_assert(kOffReserved0 + 2 == kOffSourceSize && kOffReserved1 + 20 == kOffCrc);
static_assert(kOffCrc + 4 == kPackageHeaderSize);

// Images are at most 32 MiB (kMaxImageBody); a package over 64 MiB cannot be a sane delta
// between two of them, so its sizes are treated as hostile rather than allocated for.
constexpr std::uint64_t kMaxImageSize = kImageHeaderSize + kMaxImageBody;
constexpr std::uint64_t kMaxPackageSize = 64ull * 1024 * 1024;

bool printable(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
}

std::string zstd_error(std::size_t code) {
  return ZSTD_getErrorName(code);
}

// The smallest window that lets every byte of the target reference every byte of the
// source: at the end of the target the source start is source+target bytes back.
// (`zstd --patch-from` uses the next power of two above the larger file, which leaves the
// start of the source out of reach at the end of the target; covering both costs nothing in
// decoder memory because the decoder's buffer is bounded by the pledged content size.)
int patch_window_log(std::uint64_t source_size, std::uint64_t target_size) {
  const ZSTD_bounds bounds = ZSTD_cParam_getBounds(ZSTD_c_windowLog);
  const std::uint64_t span = std::max<std::uint64_t>(source_size + target_size, 1);
  const int wanted = static_cast<int>(std::bit_width(span - 1));  // ceil(log2(span))
  return std::clamp(wanted, bounds.lowerBound, bounds.upperBound);
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

PackageHeader header_for(std::span<const std::uint8_t> source_image,
                         std::span<const std::uint8_t> target_image, std::uint64_t payload_size) {
  PackageHeader h;
  // wrap_payload cannot fail by its signature; a source that is not an image still gets a
  // package, which decode_package_header later refuses for its empty version field.
  if (auto s = decode_image_header(source_image)) h.source_version = s->full_version;
  if (auto t = decode_image_header(target_image)) h.target_version = t->full_version;
  h.source_sha256 = util::sha256(source_image);
  h.source_size = source_image.size();
  h.target_sha256 = util::sha256(target_image);
  h.target_size = target_image.size();
  h.codec = PayloadCodec::ZstdPatchFrom;
  h.payload_size = payload_size;
  return h;
}

std::vector<std::uint8_t> assemble(const PackageHeader& h, std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out = encode_package_header(h);
  out.reserve(h.package_size());
  out.insert(out.end(), payload.begin(), payload.end());
  const util::Digest trailer = util::sha256(out);
  out.insert(out.end(), trailer.begin(), trailer.end());
  return out;
}

}  // namespace

std::vector<std::uint8_t> encode_package_header(const PackageHeader& h) {
  std::vector<std::uint8_t> out(kPackageHeaderSize, 0);
  std::memcpy(out.data() + kOffMagic, kPackageMagic, sizeof kPackageMagic);
  util::put_le<std::uint16_t>(out, kOffVersion, h.format_version);
  util::put_le<std::uint16_t>(out, kOffHeaderSize, kPackageHeaderSize);
  util::put_le<std::uint16_t>(out, kOffCodec, static_cast<std::uint16_t>(h.codec));
  util::put_le<std::uint64_t>(out, kOffSourceSize, h.source_size);
  util::put_le<std::uint64_t>(out, kOffTargetSize, h.target_size);
  util::put_le<std::uint64_t>(out, kOffPayloadSize, h.payload_size);
  std::copy(h.source_sha256.begin(), h.source_sha256.end(), out.begin() + kOffSourceSha);
  std::copy(h.target_sha256.begin(), h.target_sha256.end(), out.begin() + kOffTargetSha);
  util::put_text(out, kOffSourceVersion, kVersionLen, h.source_version);
  util::put_text(out, kOffTargetVersion, kVersionLen, h.target_version);
  util::put_le<std::uint32_t>(out, kOffCrc,
                              util::crc32(std::span<const std::uint8_t>(out).first(kOffCrc)));
  return out;
}

util::Expected<PackageHeader> decode_package_header(std::span<const std::uint8_t> b) {
  if (b.size() < kPackageHeaderSize)
    return util::Error{
        fmt::format("package header needs {} bytes, have {}", kPackageHeaderSize, b.size())};
  if (std::memcmp(b.data() + kOffMagic, kPackageMagic, sizeof kPackageMagic) != 0)
    return util::Error{"not a DFOTA package (bad magic)"};
  PackageHeader h;
  h.format_version = util::get_le<std::uint16_t>(b, kOffVersion);
  if (h.format_version != kPackageFormatVersion)
    return util::Error{fmt::format("unsupported package format version {}", h.format_version)};
  if (util::get_le<std::uint16_t>(b, kOffHeaderSize) != kPackageHeaderSize)
    return util::Error{"bad package header size"};
  // The CRC comes before the field checks so that a damaged header is reported as damaged,
  // not as whichever field the damage happened to hit.
  if (util::get_le<std::uint32_t>(b, kOffCrc) != util::crc32(b.first(kOffCrc)))
    return util::Error{"package header CRC mismatch"};
  const auto codec = util::get_le<std::uint16_t>(b, kOffCodec);
  if (codec != static_cast<std::uint16_t>(PayloadCodec::ZstdPatchFrom))
    return util::Error{fmt::format("unsupported payload codec {}", codec)};
  h.codec = static_cast<PayloadCodec>(codec);
  h.source_size = util::get_le<std::uint64_t>(b, kOffSourceSize);
  h.target_size = util::get_le<std::uint64_t>(b, kOffTargetSize);
  h.payload_size = util::get_le<std::uint64_t>(b, kOffPayloadSize);
  std::copy_n(b.begin() + kOffSourceSha, 32, h.source_sha256.begin());
  std::copy_n(b.begin() + kOffTargetSha, 32, h.target_sha256.begin());
  h.source_version = util::get_text(b, kOffSourceVersion, kVersionLen);
  h.target_version = util::get_text(b, kOffTargetVersion, kVersionLen);

  auto bad_size = [](const char* name, std::uint64_t size) -> std::optional<util::Error> {
    if (size >= kImageHeaderSize && size <= kMaxImageSize) return std::nullopt;
    return util::Error{fmt::format("package {} image size {} is not that of an image ({}..{})",
                                   name, size, kImageHeaderSize, kMaxImageSize)};
  };
  if (auto e = bad_size("source", h.source_size)) return *e;
  if (auto e = bad_size("target", h.target_size)) return *e;
  if (h.payload_size == 0) return util::Error{"package has an empty payload"};
  // Compared before package_size() is computed, which could otherwise wrap around.
  if (h.payload_size > kMaxPackageSize - kPackageHeaderSize - kPackageTrailerSize)
    return util::Error{fmt::format("package payload of {} bytes is absurd (package limit {})",
                                   h.payload_size, kMaxPackageSize)};
  if (!printable(h.source_version) || !printable(h.target_version))
    return util::Error{"package header has an empty or non-printable version field"};
  return h;
}

util::Expected<std::vector<std::uint8_t>> make_package(std::span<const std::uint8_t> source_image,
                                                       std::span<const std::uint8_t> target_image,
                                                       const PackOptions& options) {
  if (auto s = verify_image(source_image); !s) return util::Error{"source: " + s.error()};
  if (auto t = verify_image(target_image); !t) return util::Error{"target: " + t.error()};

  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(ZSTD_createCCtx());
  if (!cctx) return util::Error{"cannot create a zstd compression context"};
  const int window_log = patch_window_log(source_image.size(), target_image.size());
  const std::pair<ZSTD_cParameter, int> params[] = {
      {ZSTD_c_compressionLevel, options.level},
      {ZSTD_c_windowLog, window_log},
      // Long-distance matching finds the source's functions however far the edits have
      // shifted them; without it a level's search tables reach only a few MiB back.
      {ZSTD_c_enableLongDistanceMatching, 1},
      {ZSTD_c_checksumFlag, 1},
      {ZSTD_c_contentSizeFlag, 1},
      {ZSTD_c_nbWorkers, options.threads},
  };
  for (const auto& [param, value] : params) {
    const std::size_t rc = ZSTD_CCtx_setParameter(cctx.get(), param, value);
    if (ZSTD_isError(rc))
      return util::Error{fmt::format("zstd parameter {} = {}: {}", static_cast<int>(param), value,
                                     zstd_error(rc))};
  }
  if (const std::size_t rc = ZSTD_CCtx_setPledgedSrcSize(cctx.get(), target_image.size());
      ZSTD_isError(rc))
    return util::Error{"zstd pledged size: " + zstd_error(rc)};
  if (const std::size_t rc =
          ZSTD_CCtx_refPrefix(cctx.get(), source_image.data(), source_image.size());
      ZSTD_isError(rc))
    return util::Error{"zstd prefix: " + zstd_error(rc)};

  std::vector<std::uint8_t> payload(ZSTD_compressBound(target_image.size()));
  ZSTD_inBuffer in{target_image.data(), target_image.size(), 0};
  ZSTD_outBuffer out{payload.data(), payload.size(), 0};
  for (;;) {
    const std::size_t remaining = ZSTD_compressStream2(cctx.get(), &out, &in, ZSTD_e_end);
    if (ZSTD_isError(remaining)) return util::Error{"zstd compression: " + zstd_error(remaining)};
    if (remaining == 0) break;
    // compressBound is the worst case for one frame, so this is only reached if the library
    // disagrees with itself; growing keeps that a slowdown rather than a failure.
    if (out.pos == out.size) {
      payload.resize(payload.size() * 2);
      out.dst = payload.data();
      out.size = payload.size();
    }
  }
  payload.resize(out.pos);
  return assemble(header_for(source_image, target_image, payload.size()), payload);
}

std::vector<std::uint8_t> wrap_payload(std::span<const std::uint8_t> source_image,
                                       std::span<const std::uint8_t> target_image,
                                       std::span<const std::uint8_t> payload) {
  return assemble(header_for(source_image, target_image, payload.size()), payload);
}

util::Expected<PackageHeader> verify_package(std::span<const std::uint8_t> package) {
  auto h = decode_package_header(package);
  if (!h) return h;
  if (package.size() != h->package_size())
    return util::Error{fmt::format("package has {} bytes, header says {}{}", package.size(),
                                   h->package_size(),
                                   package.size() < h->package_size() ? " (truncated)" : "")};
  const auto covered = package.first(package.size() - kPackageTrailerSize);
  const auto trailer = package.last(kPackageTrailerSize);
  const util::Digest digest = util::sha256(covered);
  if (!std::equal(digest.begin(), digest.end(), trailer.begin()))
    return util::Error{"package SHA-256 mismatch (corrupted package)"};
  return h;
}

// ---------------------------------------------------------------------------------------

struct PatchDecoder::Impl {
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx;
  std::uint64_t target_size = 0;
  std::uint64_t produced = 0;
  // The frame header is checked before any byte reaches zstd, so that a hostile frame cannot
  // make the decoder allocate for a window or content size it chose; these are its bytes.
  std::vector<std::uint8_t> frame_header;
  bool header_checked = false;
  bool finished = false;
  std::optional<std::string> failure;    // once set, every later feed repeats it
  std::span<std::uint8_t> target;        // the caller's whole target, when it gave one
  bool stable_out = false;               // zstd decodes into `target` directly
  std::vector<std::uint8_t> out_buffer;  // otherwise: one zstd output block

  util::Error fail(std::string message) {
    failure = std::move(message);
    return util::Error{*failure};
  }

  // Accumulates the frame header; nullopt while more bytes are needed, else the verdict.
  std::optional<util::Expected<bool>> check_header(std::span<const std::uint8_t>& payload);
  util::Expected<bool> decode(std::span<const std::uint8_t> payload, const Sink& sink);
};

namespace {
// The largest zstd frame header (magic 4, descriptor 1, window 1, dictionary ID 4, content
// size 8): once this many bytes are in, a header that still does not parse never will.
constexpr std::size_t kMaxFrameHeader = 18;
}  // namespace

std::optional<util::Expected<bool>> PatchDecoder::Impl::check_header(
    std::span<const std::uint8_t>& payload) {
  while (!payload.empty() && frame_header.size() < kMaxFrameHeader) {
    frame_header.push_back(payload.front());
    payload = payload.subspan(1);
    // Only the magic is known before 4 bytes; a wrong one (a skippable or legacy frame, or not
    // zstd at all) is refused at once.
    if (frame_header.size() == 4 &&
        util::get_le<std::uint32_t>(frame_header, 0) != ZSTD_MAGICNUMBER)
      return fail("payload is not a zstd frame (bad magic)");
    if (frame_header.size() < 5) continue;
    if (frame_header.size() == 5) {
      // Frame header descriptor (RFC 8878 3.1.1.1.1): without the content checksum a wrong
      // source would decode "successfully" into a wrong image; a dictionary ID means the
      // frame was made for a dictionary, not against the source image.
      const std::uint8_t descriptor = frame_header[4];
      if ((descriptor & 0x04u) == 0) return fail("payload frame has no content checksum");
      if ((descriptor & 0x03u) != 0) return fail("payload frame names a dictionary");
    }
    const unsigned long long content =
        ZSTD_getFrameContentSize(frame_header.data(), frame_header.size());
    if (content == ZSTD_CONTENTSIZE_ERROR) continue;  // header not complete yet
    if (content == ZSTD_CONTENTSIZE_UNKNOWN)
      return fail("payload frame does not declare its content size");
    if (content != target_size)
      return fail(
          fmt::format("payload frame makes {} bytes, package target is {}", content, target_size));
    header_checked = true;
    return std::nullopt;
  }
  if (frame_header.size() >= kMaxFrameHeader)
    return fail("payload has a corrupt zstd frame header");
  return util::Expected<bool>(false);  // all input taken, header still incomplete
}

util::Expected<bool> PatchDecoder::Impl::decode(std::span<const std::uint8_t> payload,
                                                const Sink& sink) {
  ZSTD_inBuffer in{payload.data(), payload.size(), 0};
  for (;;) {
    // With a stable output buffer zstd wants the same buffer, and the position where it left
    // off, on every call.
    ZSTD_outBuffer out = stable_out ? ZSTD_outBuffer{target.data(), target.size(), produced}
                                    : ZSTD_outBuffer{out_buffer.data(), out_buffer.size(), 0};
    const std::size_t before = out.pos;
    const std::size_t rc = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(rc))
      return fail(
          fmt::format("corrupt payload after {} target bytes: {}", produced, zstd_error(rc)));
    const std::size_t made = out.pos - before;
    if (made > target_size - produced)
      return fail(fmt::format("payload makes more than the {} target bytes", target_size));
    if (made > 0) {
      std::span<const std::uint8_t> bytes(out_buffer.data(), made);
      if (!target.empty()) {
        if (!stable_out) std::memcpy(target.data() + produced, out_buffer.data(), made);
        bytes = target.subspan(produced, made);
      }
      produced += made;
      if (!sink(bytes)) return fail(fmt::format("target writer stopped after {} bytes", produced));
    }
    if (rc == 0) {  // frame complete (its XXH64 verified, unless skipped)
      if (produced != target_size)
        return fail(
            fmt::format("payload ended after {} of {} target bytes", produced, target_size));
      if (in.pos != in.size)
        return fail(fmt::format("{} bytes of garbage after the payload frame", in.size - in.pos));
      finished = true;
      return true;
    }
    // A full output buffer may hide more output even with all input consumed; a call that
    // made nothing more with no input left has nothing more to give.
    if (in.pos == in.size && (out.pos < out.size || made == 0)) return false;
  }
}

PatchDecoder::PatchDecoder(std::span<const std::uint8_t> source_image, std::uint64_t target_size)
    : impl_(std::make_unique<Impl>()) {
  impl_->target_size = target_size;
  impl_->dctx.reset(ZSTD_createDCtx());
  if (!impl_->dctx) {
    impl_->fail("cannot create a zstd decompression context");
    return;
  }
  // Any window the library can decode is accepted: the frame's content size was checked to
  // be target_size first, and zstd sizes its buffer by min(window, content size).
  const ZSTD_bounds bounds = ZSTD_dParam_getBounds(ZSTD_d_windowLogMax);
  std::size_t rc =
      ZSTD_DCtx_setParameter(impl_->dctx.get(), ZSTD_d_windowLogMax, bounds.upperBound);
  if (!ZSTD_isError(rc))
    rc = ZSTD_DCtx_refPrefix(impl_->dctx.get(), source_image.data(), source_image.size());
  if (ZSTD_isError(rc)) {
    impl_->fail("zstd decoder setup: " + zstd_error(rc));
    return;
  }
  impl_->out_buffer.resize(ZSTD_DStreamOutSize());
}

PatchDecoder::PatchDecoder(std::span<const std::uint8_t> source_image,
                           std::span<std::uint8_t> target)
    : PatchDecoder(source_image, target.size()) {
  impl_->target = target;
  if (impl_->failure || target.empty()) return;
  if (!ZSTD_isError(ZSTD_DCtx_setParameter(impl_->dctx.get(), ZSTD_d_stableOutBuffer, 1))) {
    impl_->stable_out = true;
    impl_->out_buffer = {};
  }
}

PatchDecoder::~PatchDecoder() = default;

util::Expected<bool> PatchDecoder::feed(std::span<const std::uint8_t> payload, const Sink& sink) {
  Impl& d = *impl_;
  if (d.failure) return util::Error{*d.failure};
  if (d.finished) {
    if (!payload.empty())
      return d.fail(fmt::format("{} bytes of garbage after the payload frame", payload.size()));
    return true;
  }
  if (!d.header_checked) {
    if (auto verdict = d.check_header(payload)) return *verdict;
    // The header bytes were held back; zstd gets them first, then the rest of this input.
    auto held = std::move(d.frame_header);
    d.frame_header.clear();
    auto first = d.decode(held, sink);
    if (!first || *first) {
      if (first && !payload.empty())
        return d.fail(fmt::format("{} bytes of garbage after the payload frame", payload.size()));
      return first;
    }
  }
  return d.decode(payload, sink);
}

void PatchDecoder::skip_frame_checksum() {
  if (impl_->dctx)
    ZSTD_DCtx_setParameter(impl_->dctx.get(), ZSTD_d_forceIgnoreChecksum, ZSTD_d_ignoreChecksum);
}

bool PatchDecoder::finished() const {
  return impl_->finished;
}

std::uint64_t PatchDecoder::produced() const {
  return impl_->produced;
}

namespace {

// The SHA-256 of the target, kept a step behind the decoder, which says how far the target is
// decoded (produced()); finish() says it ended and returns the digest. A thread of its own
// hashes, so that where a second CPU is free the hash costs the apply no time of its own (one
// SHA-256 pass over a 16 MiB target takes about 8.5 ms here, twice the decode). Until that
// thread first runs, the decoder's thread hashes what it produced itself: a new thread on an
// idle vCPU of this VM first ran 1.3-2.7 ms after it was made (issue 20), a wait the hash, the
// longer of the two, would otherwise add to every apply. The decoder's bytes are published by
// the release store of the count; the hash itself is handed over under `mutex_`.
class HashBehind {
 public:
  explicit HashBehind(std::span<const std::uint8_t> target)
      : target_(target), thread_([this] { run(); }) {}
  ~HashBehind() { finish(0); }
  HashBehind(const HashBehind&) = delete;
  HashBehind& operator=(const HashBehind&) = delete;

  void produced(std::uint64_t bytes) {
    state_.store(bytes, std::memory_order_release);
    state_.notify_one();
    if (!handed_over_.load(std::memory_order_acquire)) {
      const std::lock_guard lock(mutex_);
      if (!handed_over_.load(std::memory_order_relaxed)) hash_upto(bytes);
    }
  }
  // The digest of the first `bytes` (the count reached; 0 after a failed decode, unused).
  util::Digest finish(std::uint64_t bytes) {
    if (thread_.joinable()) {
      state_.store(bytes | kEnd, std::memory_order_release);
      state_.notify_one();
      thread_.join();
    }
    return digest_;
  }

 private:
  static constexpr std::uint64_t kEnd = std::uint64_t{1} << 63;

  void hash_upto(std::uint64_t upto) {
    upto = std::min<std::uint64_t>(upto, target_.size());
    if (upto <= hashed_) return;
    sha_.update(target_.subspan(hashed_, upto - hashed_));
    hashed_ = upto;
  }

  void run() {
    {
      const std::lock_guard lock(mutex_);  // waits out a piece the decoder's thread is hashing
      handed_over_.store(true, std::memory_order_release);
    }
    for (;;) {
      const std::uint64_t state = state_.load(std::memory_order_acquire);
      if ((state & ~kEnd) > hashed_) {
        hash_upto(state & ~kEnd);
      } else if ((state & kEnd) != 0) {
        break;
      } else {
        state_.wait(state, std::memory_order_acquire);
      }
    }
    digest_ = sha_.finish();
  }

  std::span<const std::uint8_t> target_;
  std::atomic<std::uint64_t> state_{0};
  std::mutex mutex_;
  std::atomic<bool> handed_over_{false};  // once true, only the thread touches sha_ and hashed_
  util::Sha256 sha_;
  std::uint64_t hashed_ = 0;
  util::Digest digest_{};
  std::thread thread_;  // last: it starts once the rest is ready
};

// Why a package did not yield its target, checked in the order a careful reader would: the
// package's own integrity, then whether it was made for this source, then what the decoder
// said.
util::Error why_not_applied(std::span<const std::uint8_t> source_image,
                            std::span<const std::uint8_t> package, const PackageHeader& h,
                            const util::Expected<bool>& fed, const PatchDecoder* decoder) {
  if (auto v = verify_package(package); !v) return util::Error{v.error()};
  if (source_image.size() != h.source_size || util::sha256(source_image) != h.source_sha256)
    return util::Error{"the package does not match this source image (source SHA-256 differs)"};
  if (!fed) return util::Error{"payload: " + fed.error()};
  if (decoder == nullptr || !decoder->finished())
    return util::Error{fmt::format("payload ended early ({} of {} target bytes)",
                                   decoder ? decoder->produced() : 0, h.target_size)};
  return util::Error{"decoded target SHA-256 differs from the package's"};
}

}  // namespace

util::Expected<PackageHeader> apply_package(std::span<const std::uint8_t> source_image,
                                            std::span<const std::uint8_t> package,
                                            ImageBuffer& target, const ApplyWriter& writer) {
  const auto h = decode_package_header(package);
  if (!h) return h;
  // A short or long file is refused before anything is decoded from it (verify_package's words).
  if (package.size() != h->package_size()) return verify_package(package);
  // So is a source of another size: nothing decoded from it could match (why_not_applied
  // names a damaged package first, as always).
  if (source_image.size() != h->source_size)
    return why_not_applied(source_image, package, *h, util::Expected<bool>(false), nullptr);
  target = ImageBuffer(h->target_size);
  PatchDecoder decoder(source_image, target.bytes());
  decoder.skip_frame_checksum();  // the target's SHA-256, below, is the check
  const auto payload = package.subspan(kPackageHeaderSize, h->payload_size);
  HashBehind sha(target.bytes());
  // In pieces, so that the hash and the writer follow closely, on bytes still in the cache:
  // written from the whole buffer after the decode, the copy into the page cache was 40 % of
  // `dfota-pack apply`'s CPU time. The writer runs here rather than on the hashing thread,
  // which then had the longer share (hash and write against the decode: 13 % slower).
  constexpr std::size_t kChunk = 16384;
  util::Expected<bool> fed(false);
  bool written = true;
  for (std::size_t at = 0; at < payload.size() && fed; at += kChunk) {
    const std::uint64_t before = decoder.produced();
    fed = decoder.feed(payload.subspan(at, std::min(kChunk, payload.size() - at)),
                       [](std::span<const std::uint8_t>) { return true; });
    sha.produced(decoder.produced());
    if (writer && written && decoder.produced() > before)
      written = writer(target.bytes().subspan(before, decoder.produced() - before));
  }
  const bool decoded = fed && decoder.finished();
  const auto digest = decoded ? sha.finish(decoder.produced()) : sha.finish(0);
  if (decoded && !written) {
    target.reset();
    return util::Error{"writing the target failed"};
  }
  if (!decoded || digest != h->target_sha256) {
    auto why = why_not_applied(source_image, package, *h, fed, &decoder);
    target.reset();
    return why;
  }
  // The image's own header must decode and give the target's size. Its body SHA-256 is not
  // hashed again: the package's target SHA-256 just proved these are exactly the bytes the
  // package was made from, and `dfota-pack diff` verified that image as an image before it
  // made the package (a second SHA-256 pass was a quarter of the apply's CPU time; the
  // module's boot checks the body of whatever it runs).
  const auto t = decode_image_header(target.bytes());
  if (!t || t->image_size() != target.size()) {
    target.reset();
    return util::Error{"decoded target: " +
                       (t ? "image size differs from its header's" : t.error())};
  }
  return h;
}

util::Expected<std::vector<std::uint8_t>> apply_package(std::span<const std::uint8_t> source_image,
                                                        std::span<const std::uint8_t> package) {
  ImageBuffer target;
  if (auto h = apply_package(source_image, package, target); !h) return util::Error{h.error()};
  return std::vector<std::uint8_t>(target.bytes().begin(), target.bytes().end());
}

}  // namespace bg95::firmware
