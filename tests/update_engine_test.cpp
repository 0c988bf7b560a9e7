// The DFOTA package area and the power-safe update engine over a real NandFlash file:
// uploads (commit, partial commit, torn commit, removal, write failure), every update result
// from a real cause, and power cuts and torn writes during an update, each followed by a
// power-on that must finish the update with exactly the target image.
//
// BG95_FULL_SWEEP=1 also cuts power at every flash operation of an update (and reports the
// operation count of a 16 MiB update); the default run takes a spread of points.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/dfota/package_area.hpp"
#include "sim/dfota/update_engine.hpp"
#include "sim/dfota/update_memory.hpp"
#include "sim/firmware/firmware_store.hpp"
#include "sim/firmware/image.hpp"
#include "sim/firmware/package.hpp"
#include "sim/firmware/synthetic.hpp"
#include "sim/flash/factory_base.hpp"
#include "sim/flash/layout.hpp"
#include "sim/flash/nand_flash.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::dfota {
namespace {

using Bytes = std::vector<std::uint8_t>;
using flash::Fault;
using flash::FlashOp;
using flash::NandFlash;
namespace fs = std::filesystem;

bool full_sweep() {
  const char* v = std::getenv("BG95_FULL_SWEEP");
  return v != nullptr && std::string(v) == "1";
}

Bytes image_of(std::span<const std::uint8_t> body, const std::string& full_version) {
  firmware::ImageHeader h;
  h.model = "BG95-M3";
  h.revision = "BG95M3LAR02A03";
  h.full_version = full_version;
  return firmware::make_image(h, body);
}

// A source image, its 3 %-changed successor and the package between them; plus a package for
// another source (511).
struct Images {
  Bytes source, target, package, foreign_package;
};

Images make_images(std::uint64_t image_size, std::uint64_t seed) {
  Images im;
  const Bytes body = firmware::synthetic_body(image_size - firmware::kImageHeaderSize, seed);
  const Bytes next = firmware::derive_next_body(body, 0.03, seed + 1);
  im.source = image_of(body, "BG95M3LAR02A03_01.011.01.011");
  im.target = image_of(next, "BG95M3LAR02A03_01.012.01.012");
  const firmware::PackOptions fast{3, 0};
  auto p = firmware::make_package(im.source, im.target, fast);
  EXPECT_TRUE(p.ok()) << (p ? "" : p.error());
  im.package = std::move(*p);
  const Bytes other_body =
      firmware::synthetic_body(image_size - firmware::kImageHeaderSize, seed + 7);
  const Bytes other = image_of(other_body, "BG95M3LAR02A03_01.011.01.011");
  auto f = firmware::make_package(other, im.target, fast);
  EXPECT_TRUE(f.ok());
  im.foreign_package = std::move(*f);
  return im;
}

// Built once: packing is the slow part of setting up a case.
const Images& images() {
  static const Images im = make_images(512 * 1024, 42);
  return im;
}

// One module's flash file in a temporary folder; reopen() is a power cycle as far as the
// flash is concerned (a new object over the same file). A Factory rig's flash is made with
// factory contents (flash/factory_base.hpp): a factory file holding the source image in
// active, as a fleet's modules start.
enum class Source { Own, Factory };

class Rig {
 public:
  explicit Rig(Source source = Source::Own) : source_(source) {
    // mkdtemp: a test may hold more than one rig at a time.
    std::string pattern = (fs::temp_directory_path() / "bg95-update-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    if (source == Source::Factory) {
      NandFlash factory(factory_file(), layout_.geometry);
      flash::PartitionView active(factory, layout_.active);
      if (firmware::write_image(active, images().source) != flash::FlashStatus::Ok)
        throw std::runtime_error("cannot write the factory image");
    }
    reopen();
  }
  ~Rig() {
    flash_.reset();
    fs::remove_all(dir_);
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  void reopen() {
    flash_.reset();
    flash_ = std::make_unique<NandFlash>(dir_ / "flash.bin", layout_.geometry,
                                         source_ == Source::Factory ? factory_file() : fs::path{});
  }
  fs::path factory_file() const { return dir_ / "factory.flash"; }
  NandFlash& flash() { return *flash_; }
  const flash::Layout& layout() const { return layout_; }

  void write_active(const Bytes& image) {
    flash::PartitionView active(*flash_, layout_.active);
    ASSERT_EQ(firmware::write_image(active, image), flash::FlashStatus::Ok);
  }
  Bytes read_active(std::size_t size) {
    Bytes out(size);
    flash::PartitionView(*flash_, layout_.active).read(0, out);
    return out;
  }
  void upload(const Bytes& package) {
    PackageArea area(*flash_, layout_);
    ASSERT_EQ(area.begin(package.size()), AreaStatus::Ok);
    for (std::size_t at = 0; at < package.size(); at += 1000) {
      const auto n = std::min<std::size_t>(1000, package.size() - at);
      ASSERT_EQ(area.append(std::span(package).subspan(at, n)), AreaStatus::Ok);
    }
    ASSERT_EQ(area.finish(), AreaStatus::Ok);
  }
  // Source in active, the package uploaded: the state AT+QFOTADL leaves before the reset.
  void prepare(const Bytes& package) {
    if (source_ == Source::Own) write_active(images().source);  // else: the factory's
    upload(package);
  }

 private:
  Source source_;
  fs::path dir_;
  flash::Layout layout_ = flash::Layout::standard();
  std::unique_ptr<NandFlash> flash_;
};

// The fault `kind` at flash operation number `at` (counted by this NandFlash object).
void fault_at(NandFlash& flash, std::uint64_t at, Fault kind) {
  flash.set_fault_hook(
      [at, kind](const FlashOp&, std::uint64_t index) { return index == at ? kind : Fault::None; });
}

bool in_partition(const FlashOp& op, const flash::Partition& p) {
  return op.block >= p.first_block && op.block < p.first_block + p.block_count;
}

// Flips one bit of the byte at `offset` of the flash file behind NandFlash's back: decay while
// the power is off, which only a read-back can notice.
void decay(const fs::path& file, std::uint64_t offset) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good());
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x10));
  ASSERT_TRUE(f.good());
}

// ---------------------------------------------------------------------------------------
// NAND flash: runs of pages

// Blocks 1..3 of a rig's flash, where the NAND tests below write.
Bytes blocks_1_to_3(NandFlash& flash) {
  const std::uint64_t block = flash.geometry().block_size();
  Bytes out(3 * block);
  flash.read(block, out);
  return out;
}

struct SeenOp {
  FlashOp::Kind kind;
  std::uint32_t block, page;
  std::uint64_t index;
  bool operator==(const SeenOp&) const = default;
};

TEST(NandFlash, PageRunIsThePageByPageOperations) {
  // 70 pages from page 60 of block 1 (into block 2, the last page partial), once as one run
  // and once page by page, with every fault kind at every page of the run: the same status,
  // the same operations offered to the hook in the same order, the same flash afterwards.
  constexpr std::uint32_t kPages = 70;
  Bytes data((kPages - 1) * 2048 + 100);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<std::uint8_t>(i * 131 + i / 2048);
  for (const Fault kind : {Fault::None, Fault::Fail, Fault::PowerCut, Fault::TornWrite}) {
    for (std::uint32_t k = kind == Fault::None ? 0 : 1; k <= (kind == Fault::None ? 0 : kPages);
         ++k) {
      SCOPED_TRACE(testing::Message() << "fault " << static_cast<int>(kind) << " at page " << k);
      Rig run, single;
      std::vector<SeenOp> seen_run, seen_single;
      for (auto* f : {&run, &single})
        for (std::uint32_t b = 1; b <= 3; ++b)
          ASSERT_EQ(f->flash().erase(b), flash::FlashStatus::Ok);
      const std::uint64_t base = run.flash().op_count();
      auto hook_for = [&](std::vector<SeenOp>& seen) {
        return [&seen, base, k, kind](const FlashOp& op, std::uint64_t index) {
          seen.push_back({op.kind, op.block, op.page, index});
          return index == base + k ? kind : Fault::None;
        };
      };
      run.flash().set_fault_hook(hook_for(seen_run));
      single.flash().set_fault_hook(hook_for(seen_single));
      const auto run_status = run.flash().program_pages(1, 60, data);
      auto single_status = flash::FlashStatus::Ok;
      for (std::uint32_t i = 0; i < kPages && single_status == flash::FlashStatus::Ok; ++i) {
        const std::size_t at = std::size_t{i} * 2048;
        single_status =
            single.flash().program(1 + (60 + i) / 64, (60 + i) % 64,
                                   std::span<const std::uint8_t>(data).subspan(
                                       at, std::min<std::size_t>(2048, data.size() - at)));
      }
      EXPECT_EQ(run_status, single_status);
      EXPECT_EQ(seen_run, seen_single);
      EXPECT_EQ(run.flash().power_lost(), single.flash().power_lost());
      ASSERT_EQ(blocks_1_to_3(run.flash()), blocks_1_to_3(single.flash()));
      if (kind == Fault::None) {
        Bytes back(data.size());
        run.flash().read(std::uint64_t{1} * 64 * 2048 + 60 * 2048, back);
        EXPECT_EQ(back, data);
      }
    }
  }
}

TEST(NandFlash, PageRunStopsAtAProgrammedPage) {
  Rig f;
  ASSERT_EQ(f.flash().erase(1), flash::FlashStatus::Ok);
  const Bytes one(2048, 0x11);
  ASSERT_EQ(f.flash().program(1, 3, one), flash::FlashStatus::Ok);
  const Bytes run(6 * 2048, 0x22);
  EXPECT_EQ(f.flash().program_pages(1, 0, run), flash::FlashStatus::Failed);  // NAND: no overwrite
  const Bytes all = blocks_1_to_3(f.flash());
  for (std::size_t i = 0; i < 6 * 2048; ++i) {
    const std::uint8_t want = i < 3 * 2048 ? 0x22 : i < 4 * 2048 ? 0x11 : 0xFF;
    ASSERT_EQ(all[i], want) << "byte " << i;
  }
  const std::uint32_t last = f.layout().geometry.block_count - 1;
  EXPECT_THROW(f.flash().program_pages(last, 63, run), flash::FlashError);  // past the end
}

// ---------------------------------------------------------------------------------------
// Factory contents

// A factory file with `a` in page 0 of block 10, `c` in page 0 of block 11 and `d` in page 40
// of block 12 (the other pages erased), and a flash made from it.
struct FactoryRig {
  Rig own;  // only for its folder and geometry
  fs::path factory = own.factory_file();
  const Bytes a = Bytes(2048, 0xA1), c = Bytes(2048, 0xC3), d = Bytes(2048, 0xD4);
  FactoryRig() {
    NandFlash f(factory, own.layout().geometry);
    EXPECT_EQ(f.program(10, 0, a), flash::FlashStatus::Ok);
    EXPECT_EQ(f.program(11, 0, c), flash::FlashStatus::Ok);
    EXPECT_EQ(f.program(12, 40, d), flash::FlashStatus::Ok);
  }
  fs::path flash_file() const { return factory.parent_path() / "module.bin"; }
  std::unique_ptr<NandFlash> open() const {
    return std::make_unique<NandFlash>(flash_file(), own.layout().geometry, factory);
  }
  Bytes page(NandFlash& f, std::uint32_t block, std::uint32_t page_index) const {
    Bytes out(2048);
    f.read((std::uint64_t{block} * 64 + page_index) * 2048, out);
    return out;
  }
};

TEST(FactoryFlash, BlocksReadTheFactoryUntilTheyChangeAndStayOwnAcrossPowerCycles) {
  FactoryRig r;
  const Bytes b(2048, 0xB2), erased(2048, 0xFF);
  {
    auto f = r.open();
    EXPECT_TRUE(f->created());
    EXPECT_EQ(f->factory_blocks(), r.own.layout().geometry.block_count);
    EXPECT_EQ(r.page(*f, 10, 0), r.a);
    // Programming an erased page of a factory block keeps the block's other pages.
    EXPECT_EQ(f->program(10, 1, b), flash::FlashStatus::Ok);
    EXPECT_EQ(r.page(*f, 10, 0), r.a);
    EXPECT_EQ(r.page(*f, 10, 1), b);
    EXPECT_EQ(f->program(10, 0, b), flash::FlashStatus::Failed);  // NAND: no overwrite
    // Erasing a factory block erases it here only.
    EXPECT_EQ(f->erase(11), flash::FlashStatus::Ok);
    EXPECT_EQ(r.page(*f, 11, 0), erased);
    EXPECT_EQ(f->factory_blocks(), r.own.layout().geometry.block_count - 2);
  }
  // The factory file did not change.
  EXPECT_TRUE(flash::FactoryBase::holds(r.factory, 10 * 64 * 2048, r.a));
  EXPECT_TRUE(flash::FactoryBase::holds(r.factory, 11 * 64 * 2048, r.c));
  // Power cycle: the flash remembers which blocks are its own (the argument is not used).
  NandFlash again(r.flash_file(), r.own.layout().geometry);
  EXPECT_FALSE(again.created());
  EXPECT_EQ(again.factory_blocks(), r.own.layout().geometry.block_count - 2);
  EXPECT_EQ(r.page(again, 10, 0), r.a);
  EXPECT_EQ(r.page(again, 10, 1), b);
  EXPECT_EQ(r.page(again, 11, 0), erased);
}

TEST(FactoryFlash, BlockErasedAsReadShowsIt) {
  // block_erased() says what reading the block and comparing with 0xFF says, whether the block
  // is a hole (told without reading), holds data, holds data that reads as erased (a page
  // programmed with 0xFF), or is still the factory's.
  FactoryRig r;
  auto f = r.open();
  const auto reads_erased = [&](std::uint32_t block) {
    Bytes out(f->geometry().block_size());
    f->read(std::uint64_t{block} * out.size(), out);
    return std::all_of(out.begin(), out.end(), [](std::uint8_t b) { return b == 0xFF; });
  };
  ASSERT_EQ(f->erase(20), flash::FlashStatus::Ok);
  ASSERT_EQ(f->erase(21), flash::FlashStatus::Ok);
  ASSERT_EQ(f->program(21, 63, Bytes(2048, 0x7E)), flash::FlashStatus::Ok);
  ASSERT_EQ(f->erase(22), flash::FlashStatus::Ok);
  ASSERT_EQ(f->program(22, 5, Bytes(2048, 0xFF)), flash::FlashStatus::Ok);
  for (const std::uint32_t block : {9u, 10u, 11u, 12u, 20u, 21u, 22u}) {
    SCOPED_TRACE(block);
    EXPECT_EQ(f->block_erased(block), reads_erased(block));
  }
  EXPECT_TRUE(f->block_erased(9));    // the factory's, never written
  EXPECT_FALSE(f->block_erased(12));  // the factory's, one page programmed at the end
  EXPECT_TRUE(f->block_erased(20));   // erased here: a hole
  EXPECT_FALSE(f->block_erased(21));  // its last page programmed
  EXPECT_TRUE(f->block_erased(22));   // 0xFF programmed: stored, and still reads erased
}

TEST(FactoryFlash, FaultsOnFactoryBlocks) {
  FactoryRig r;
  const Bytes b(2048, 0xB2);
  auto f = r.open();
  // A failed or cut operation leaves a factory block the factory's.
  fault_at(*f, f->op_count() + 1, Fault::Fail);
  EXPECT_EQ(f->erase(10), flash::FlashStatus::Failed);
  fault_at(*f, f->op_count() + 1, Fault::PowerCut);
  EXPECT_EQ(f->program(11, 1, b), flash::FlashStatus::PowerLost);
  EXPECT_EQ(f->factory_blocks(), r.own.layout().geometry.block_count);
  f.reset();
  // A torn erase of a factory block erases its first half; the second half keeps the
  // factory's contents, now in this flash's own file.
  f = r.open();
  fault_at(*f, f->op_count() + 1, Fault::TornWrite);
  EXPECT_EQ(f->erase(12), flash::FlashStatus::PowerLost);
  f.reset();
  f = r.open();
  EXPECT_EQ(f->factory_blocks(), r.own.layout().geometry.block_count - 1);
  EXPECT_EQ(r.page(*f, 12, 40), r.d);
  EXPECT_EQ(r.page(*f, 12, 0), Bytes(2048, 0xFF));
  // A torn program into a factory block: the block's other pages are kept as well.
  fault_at(*f, f->op_count() + 1, Fault::TornWrite);
  EXPECT_EQ(f->program(11, 5, Bytes(2048, 0x55)), flash::FlashStatus::PowerLost);
  f.reset();
  f = r.open();
  EXPECT_EQ(r.page(*f, 11, 0), r.c);
  Bytes torn(2048, 0xFF);
  std::fill(torn.begin(), torn.begin() + 1024, 0x55);
  EXPECT_EQ(r.page(*f, 11, 5), torn);
}

TEST(FactoryFlash, MissingFactoryOrDamagedBlockMapIsAClearError) {
  FactoryRig r;
  r.open().reset();
  fs::rename(r.factory, r.factory.string() + ".moved");
  try {
    NandFlash f(r.flash_file(), r.own.layout().geometry);
    FAIL() << "opened without its factory file";
  } catch (const flash::FlashError& e) {
    EXPECT_EQ(std::string(e.what()), r.flash_file().string() + ": its factory image " +
                                         r.factory.string() +
                                         " cannot be opened: No such file or directory");
  }
  fs::rename(r.factory.string() + ".moved", r.factory);
  fs::resize_file(r.flash_file().string() + ".blocks", 10);
  EXPECT_THROW(NandFlash(r.flash_file(), r.own.layout().geometry), flash::FlashError);
  // A new flash over the same name forgets the old side files.
  fs::remove(r.flash_file());
  NandFlash fresh(r.flash_file(), r.own.layout().geometry);
  EXPECT_EQ(fresh.factory_blocks(), 0u);
  EXPECT_FALSE(fs::exists(r.flash_file().string() + ".factory"));
}

// Issue 20: the flashes of a fleet share one cache of open files. Reading the factory's blocks
// opens only the factory, once for all of them; a write opens the flash's own file and its block
// map; the cache never holds more than its capacity, and a flash whose file it closed opens it
// again when next used, with nothing lost.
TEST(FactoryFlash, FlashesShareOneCacheOfOpenFiles) {
  FactoryRig r;
  const auto geometry = r.own.layout().geometry;
  const auto file = [&](int i) { return r.factory.parent_path() / fmt::format("m{}.bin", i); };
  auto files = std::make_shared<flash::OpenFiles>(3);
  std::vector<std::unique_ptr<NandFlash>> fleet;
  for (int i = 0; i < 8; ++i) {
    fleet.push_back(std::make_unique<NandFlash>(file(i), geometry, r.factory, files));
    EXPECT_EQ(r.page(*fleet.back(), 10, 0), r.a);
  }
  EXPECT_EQ(files->open_count(), 1u);  // the factory, shared
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(fleet[i]->program(13, 0, Bytes(2048, static_cast<std::uint8_t>(i))),
              flash::FlashStatus::Ok);
    EXPECT_LE(files->open_count(), 3u);
  }
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(r.page(*fleet[i], 13, 0), Bytes(2048, static_cast<std::uint8_t>(i))) << i;
    EXPECT_EQ(r.page(*fleet[i], 10, 0), r.a) << i;
    EXPECT_EQ(fleet[i]->factory_blocks(), geometry.block_count - 1) << i;
  }
  fleet.clear();
  EXPECT_EQ(files->open_count(), 0u);
  // What was written is in the files, block maps included.
  NandFlash again(file(5), geometry);
  EXPECT_EQ(again.factory_blocks(), geometry.block_count - 1);
  EXPECT_EQ(r.page(again, 13, 0), Bytes(2048, 5));
}

// ---------------------------------------------------------------------------------------
// The decoder as the engine uses it: straight into the target buffer

TEST(PatchDecoder, DecodesIntoTheTargetBufferInAnyChunks) {
  const Images& im = images();
  const auto h = firmware::decode_package_header(im.package);
  ASSERT_TRUE(h.ok());
  const auto payload = std::span<const std::uint8_t>(im.package)
                           .subspan(firmware::kPackageHeaderSize, h->payload_size);
  for (const std::size_t chunk :
       {std::size_t{1}, std::size_t{7}, std::size_t{4096}, payload.size()}) {
    SCOPED_TRACE(testing::Message() << "chunks of " << chunk);
    Bytes target(im.target.size(), 0);
    firmware::PatchDecoder decoder(im.source, target);
    std::uint64_t seen = 0;  // the sink sees each new range of `target`, in order
    const firmware::PatchDecoder::Sink sink = [&](std::span<const std::uint8_t> bytes) {
      EXPECT_EQ(bytes.data(), target.data() + seen);
      seen += bytes.size();
      return true;
    };
    for (std::size_t at = 0; at < payload.size(); at += chunk) {
      const auto r = decoder.feed(payload.subspan(at, std::min(chunk, payload.size() - at)), sink);
      ASSERT_TRUE(r.ok()) << r.error();
      EXPECT_EQ(*r, at + chunk >= payload.size());
    }
    EXPECT_TRUE(decoder.finished());
    EXPECT_EQ(seen, target.size());
    EXPECT_EQ(target, im.target);
  }
  // A corrupt payload fails in this mode too, and stays failed.
  Bytes bad(payload.begin(), payload.end());
  bad[bad.size() / 2] ^= 0x40;
  Bytes target(im.target.size(), 0);
  firmware::PatchDecoder decoder(im.source, target);
  const firmware::PatchDecoder::Sink sink = [](std::span<const std::uint8_t>) { return true; };
  EXPECT_FALSE(decoder.feed(bad, sink).ok());
  EXPECT_FALSE(decoder.finished());
  EXPECT_FALSE(decoder.feed({}, sink).ok());
}

// ---------------------------------------------------------------------------------------
// Record log

TEST(RecordLog, WrapsAroundItsRingAndKeepsTheNewest) {
  Rig rig;
  const flash::Partition region{"test-log", rig.layout().journal.first_block, 2};
  std::uint64_t erases = 0;
  rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
    if (op.kind == FlashOp::Kind::Erase) ++erases;
    return Fault::None;
  });
  for (std::uint32_t i = 1; i <= 300; ++i) {  // 300 records over 128 pages: two laps and more
    RecordLog log(rig.flash(), region, 7);
    if (i > 1) {
      ASSERT_TRUE(log.latest());
      EXPECT_EQ(log.latest()->seq, i - 1);
      EXPECT_EQ(log.latest()->payload, Bytes(4, static_cast<std::uint8_t>(i - 1)));
    }
    ASSERT_EQ(log.append(static_cast<std::uint16_t>(i), Bytes(4, static_cast<std::uint8_t>(i))),
              flash::FlashStatus::Ok);
  }
  EXPECT_GE(erases, 4u);
  // Another tag reads the same region as empty.
  RecordLog other(rig.flash(), region, 8);
  EXPECT_FALSE(other.latest());
}

TEST(RecordLog, CutAtAnyAppendKeepsOldOrNewRecord) {
  // Power is cut (or the write torn) at the first operation of append number i, which at a
  // block boundary is the erase of the next block: afterwards the newest record is the old
  // one or, for a write that completed before power went, the new one; never anything else,
  // and the log goes on working.
  for (const Fault kind : {Fault::PowerCut, Fault::TornWrite}) {
    Rig rig;
    const flash::Partition region{"test-log", rig.layout().journal.first_block, 2};
    std::uint64_t last = 0;
    for (std::uint32_t i = 1; i <= 200; ++i) {
      rig.reopen();
      {
        RecordLog log(rig.flash(), region, 7);
        ASSERT_EQ(log.latest() ? log.latest()->seq : 0, last);
        if (i % 3 == 0) fault_at(rig.flash(), 1, kind);
        const auto s = log.append(1, Bytes(8, static_cast<std::uint8_t>(i)));
        if (s == flash::FlashStatus::Ok) last = log.latest()->seq;
      }
      rig.reopen();
      RecordLog log(rig.flash(), region, 7);
      if (log.latest()) {
        EXPECT_TRUE(log.latest()->seq == last || log.latest()->seq == last + 1);
        last = log.latest()->seq;
      }
    }
    EXPECT_GT(last, 100u);
  }
}

// ---------------------------------------------------------------------------------------
// Package area

TEST(PackageArea, CommitReadBackAndSurvivePowerCycle) {
  Rig rig;
  const Bytes& pkg = images().package;
  {
    PackageArea area(rig.flash(), rig.layout());
    EXPECT_EQ(area.state(), PackageState::Absent);
    EXPECT_EQ(area.capacity(), flash::kPackageAreaSize);
    ASSERT_EQ(area.begin(pkg.size()), AreaStatus::Ok);
    EXPECT_EQ(area.state(), PackageState::Receiving);
    for (std::size_t at = 0; at < pkg.size(); at += 777)
      ASSERT_EQ(
          area.append(std::span(pkg).subspan(at, std::min<std::size_t>(777, pkg.size() - at))),
          AreaStatus::Ok);
    EXPECT_FALSE(area.present());
    EXPECT_EQ(area.received(), pkg.size());
    ASSERT_EQ(area.finish(), AreaStatus::Ok);
    EXPECT_TRUE(area.present());
    EXPECT_EQ(area.size(), pkg.size());
    EXPECT_EQ(area.sha256(), util::sha256(pkg));
  }
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  ASSERT_EQ(area.state(), PackageState::Committed);
  EXPECT_EQ(area.size(), pkg.size());
  EXPECT_EQ(area.sha256(), util::sha256(pkg));
  Bytes back(pkg.size());
  ASSERT_TRUE(area.read(0, back));
  EXPECT_EQ(back, pkg);
  Bytes one(1);
  EXPECT_FALSE(area.read(pkg.size(), one));  // past the end
  auto h = area.verify_package();
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->target_sha256, util::sha256(images().target));
}

TEST(PackageArea, SmallUploadErasesOneBlock) {
  Rig rig;
  int erases = 0;
  const flash::Partition pkg_part = rig.layout().package;
  rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
    if (op.kind == FlashOp::Kind::Erase && in_partition(op, pkg_part)) ++erases;
    return Fault::None;
  });
  PackageArea area(rig.flash(), rig.layout());
  ASSERT_EQ(area.begin(), AreaStatus::Ok);
  const Bytes data(100, 0x5A);
  ASSERT_EQ(area.append(data), AreaStatus::Ok);
  ASSERT_EQ(area.finish(), AreaStatus::Ok);
  EXPECT_EQ(erases, 1);
  EXPECT_EQ(area.size(), 100u);
}

TEST(PackageArea, PartialCommitKeepsWhatArrived) {
  Rig rig;
  const Bytes& pkg = images().package;
  {
    PackageArea area(rig.flash(), rig.layout());
    ASSERT_EQ(area.begin(pkg.size()), AreaStatus::Ok);
    ASSERT_EQ(area.append(std::span(pkg).first(3000)), AreaStatus::Ok);
    // The transfer ends early (+++): what arrived is committed.
    ASSERT_EQ(area.finish(), AreaStatus::Ok);
    EXPECT_EQ(area.size(), 3000u);
    EXPECT_FALSE(area.verify_package().ok());  // a truncated package does not verify
    EXPECT_EQ(area.append(std::span(pkg).first(1)), AreaStatus::NotReceiving);
  }
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  EXPECT_EQ(area.size(), 3000u);
  Bytes back(3000);
  ASSERT_TRUE(area.read(0, back));
  EXPECT_TRUE(std::equal(back.begin(), back.end(), pkg.begin()));
}

TEST(PackageArea, TornOrCutCommitReadsIncomplete) {
  for (const Fault kind : {Fault::TornWrite, Fault::PowerCut}) {
    Rig rig;
    const Bytes& pkg = images().package;
    const flash::Partition journal = rig.layout().journal;
    {
      PackageArea area(rig.flash(), rig.layout());
      ASSERT_EQ(area.begin(), AreaStatus::Ok);
      ASSERT_EQ(area.append(pkg), AreaStatus::Ok);
      // The next journal write is the Commit record (finish() first flushes the data page).
      rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
        return in_partition(op, journal) ? kind : Fault::None;
      });
      EXPECT_EQ(area.finish(), AreaStatus::PowerLost);
    }
    rig.reopen();
    PackageArea area(rig.flash(), rig.layout());
    EXPECT_EQ(area.state(), PackageState::Incomplete);
    EXPECT_FALSE(area.present());
    EXPECT_EQ(area.size(), 0u);
    Bytes one(1);
    EXPECT_FALSE(area.read(0, one));
  }
}

TEST(PackageArea, CutBeginKeepsTheOldPackage) {
  // A torn Begin record is not a Begin: the old package, whose blocks were not touched yet,
  // is still there and whole.
  Rig rig;
  const Bytes& pkg = images().package;
  rig.upload(pkg);
  {
    PackageArea area(rig.flash(), rig.layout());
    fault_at(rig.flash(), rig.flash().op_count() + 1, Fault::TornWrite);
    EXPECT_EQ(area.begin(), AreaStatus::PowerLost);
  }
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  ASSERT_TRUE(area.present());
  EXPECT_TRUE(area.verify_package().ok());
}

TEST(PackageArea, RemoveErases) {
  Rig rig;
  rig.upload(images().package);
  {
    PackageArea area(rig.flash(), rig.layout());
    ASSERT_TRUE(area.present());
    ASSERT_EQ(area.remove(), AreaStatus::Ok);
    EXPECT_EQ(area.state(), PackageState::Absent);
    EXPECT_EQ(area.size(), 0u);
  }
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  EXPECT_EQ(area.state(), PackageState::Absent);
  flash::PartitionView view(rig.flash(), rig.layout().package);
  Bytes all(view.size());
  view.read(0, all);
  EXPECT_TRUE(std::all_of(all.begin(), all.end(), [](std::uint8_t b) { return b == 0xFF; }));
  // Removing nothing is fine and writes nothing.
  const auto ops = rig.flash().op_count();
  EXPECT_EQ(area.remove(), AreaStatus::Ok);
  EXPECT_EQ(rig.flash().op_count(), ops);
}

TEST(PackageArea, FlashFailureIs707) {
  Rig rig;
  const flash::Partition pkg_part = rig.layout().package;
  rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
    return op.kind == FlashOp::Kind::Program && in_partition(op, pkg_part) ? Fault::Fail
                                                                           : Fault::None;
  });
  {
    PackageArea area(rig.flash(), rig.layout());
    ASSERT_EQ(area.begin(), AreaStatus::Ok);
    const Bytes page(2048, 0x11);
    const AreaStatus s = area.append(page);
    EXPECT_EQ(s, AreaStatus::WriteFailed);
    EXPECT_EQ(download_error(s), 707);
    EXPECT_EQ(area.append(page), AreaStatus::WriteFailed);  // spoilt
    EXPECT_EQ(area.finish(), AreaStatus::WriteFailed);      // never committed
    EXPECT_FALSE(area.present());
  }
  rig.flash().set_fault_hook({});
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  EXPECT_EQ(area.state(), PackageState::Incomplete);
}

TEST(PackageArea, TooLargeIs708) {
  Rig rig;
  PackageArea area(rig.flash(), rig.layout());
  EXPECT_EQ(area.begin(area.capacity() + 1), AreaStatus::TooLarge);
  EXPECT_EQ(download_error(AreaStatus::TooLarge), 708);
  EXPECT_EQ(area.state(), PackageState::Absent);  // nothing written
  ASSERT_EQ(area.begin(100), AreaStatus::Ok);
  const Bytes data(101, 1);
  EXPECT_EQ(area.append(data), AreaStatus::TooLarge);
  EXPECT_EQ(area.append(std::span(data).first(100)), AreaStatus::Ok);
  EXPECT_EQ(area.finish(), AreaStatus::Ok);
  EXPECT_EQ(area.size(), 100u);

  // Exactly the note's 6 Mbytes fits; one more byte does not.
  ASSERT_EQ(area.begin(), AreaStatus::Ok);
  const Bytes chunk(64 * 1024, 0xA5);
  for (std::uint64_t at = 0; at < area.capacity(); at += chunk.size())
    ASSERT_EQ(area.append(chunk), AreaStatus::Ok);
  EXPECT_EQ(area.append(std::span(chunk).first(1)), AreaStatus::TooLarge);
  ASSERT_EQ(area.finish(), AreaStatus::Ok);
  EXPECT_EQ(area.size(), flash::kPackageAreaSize);
}

TEST(PackageArea, CutAtEveryUploadOperationNeverYieldsAPackage) {
  // However an upload is cut, the area afterwards is not a committed package, and the update
  // refuses with 505 and leaves the firmware alone.
  const Bytes& pkg = images().package;
  std::uint64_t upload_ops = 0;
  {
    Rig rig;
    rig.write_active(images().source);
    const auto before = rig.flash().op_count();
    rig.upload(pkg);
    upload_ops = rig.flash().op_count() - before;
  }
  ASSERT_GT(upload_ops, 3u);
  for (const Fault kind : {Fault::PowerCut, Fault::TornWrite}) {
    for (std::uint64_t k = 1; k <= upload_ops; ++k) {
      SCOPED_TRACE(testing::Message() << "fault " << static_cast<int>(kind) << " at op " << k);
      Rig rig;
      rig.write_active(images().source);
      {
        PackageArea area(rig.flash(), rig.layout());
        fault_at(rig.flash(), rig.flash().op_count() + k, kind);
        AreaStatus s = area.begin(pkg.size());
        for (std::size_t at = 0; s == AreaStatus::Ok && at < pkg.size(); at += 2048)
          s = area.append(std::span(pkg).subspan(at, std::min<std::size_t>(2048, pkg.size() - at)));
        if (s == AreaStatus::Ok) s = area.finish();
        ASSERT_EQ(s, AreaStatus::PowerLost);
      }
      rig.reopen();
      PackageArea area(rig.flash(), rig.layout());
      EXPECT_FALSE(area.present());
      UpdateEngine engine(rig.flash(), rig.layout(), area);
      EXPECT_FALSE(engine.pending());
      EXPECT_EQ(engine.run(), UpdateEngine::Status::Error);
      EXPECT_EQ(engine.result(), kUpdateNoPackage);
      EXPECT_EQ(rig.read_active(images().source.size()), images().source);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Update engine

struct RunInfo {
  UpdateEngine::Status status;
  int result;
  std::string message;
  std::uint64_t ops;
  std::vector<int> percents;
};

RunInfo run_update(Rig& rig, std::size_t budget = 64,
                   std::shared_ptr<UpdateMemory> memory = nullptr) {
  PackageArea area(rig.flash(), rig.layout());
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  engine.set_memory(std::move(memory), {});  // alone: it never waits
  RunInfo info{};
  engine.set_progress([&](int p) { info.percents.push_back(p); });
  const auto before = rig.flash().op_count();
  engine.start();
  while ((info.status = engine.step(budget)) == UpdateEngine::Status::Running) {
  }
  info.result = engine.result();
  info.message = engine.message();
  info.ops = rig.flash().op_count() - before;
  return info;
}

TEST(UpdateEngine, AppliesThePackage) {
  Rig rig;
  rig.prepare(images().package);
  const RunInfo r = run_update(rig);
  ASSERT_EQ(r.status, UpdateEngine::Status::Done);
  EXPECT_EQ(r.result, kUpdateOk);
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
  flash::PartitionView active(rig.flash(), rig.layout().active);
  auto h = firmware::verify_partition_image(active);
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ(h->full_version, "BG95M3LAR02A03_01.012.01.012");
  // Progress: rising, from 0 to 100, each value once.
  ASSERT_FALSE(r.percents.empty());
  EXPECT_EQ(r.percents.front(), 0);
  EXPECT_EQ(r.percents.back(), 100);
  EXPECT_TRUE(std::is_sorted(r.percents.begin(), r.percents.end()));
  EXPECT_EQ(std::adjacent_find(r.percents.begin(), r.percents.end()), r.percents.end());
  EXPECT_GT(r.percents.size(), 50u);  // real progress, not a jump
  // The package is deleted after a successful update, and nothing is pending.
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  EXPECT_EQ(area.state(), PackageState::Absent);
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  EXPECT_FALSE(engine.pending());
  std::cout << "[ info ] update of a " << images().target.size() / 1024 << " KiB image: " << r.ops
            << " flash operations\n";
}

TEST(UpdateEngine, StepsAreBounded) {
  Rig rig;
  rig.prepare(images().package);
  PackageArea area(rig.flash(), rig.layout());
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  engine.start();
  std::size_t steps = 0;
  std::uint64_t worst = 0;
  UpdateEngine::Status s;
  do {
    const auto before = rig.flash().op_count();
    const auto phase = engine.phase();
    s = engine.step(1);
    ++steps;
    // One unit of work per step, plus the journal record that ends a phase; the cleanup
    // (package removal) is the one step allowed more.
    if (phase != UpdateEngine::Phase::Cleanup)
      worst = std::max(worst, rig.flash().op_count() - before);
  } while (s == UpdateEngine::Status::Running);
  EXPECT_EQ(s, UpdateEngine::Status::Done);
  EXPECT_LE(worst, 2u);
  // At least a step per page read from the source, programmed into staging and into active.
  const std::size_t pages = images().target.size() / 2048;
  EXPECT_GT(steps, 3 * pages);
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
}

TEST(UpdateEngine, NoPackageIs505) {
  Rig rig;
  rig.write_active(images().source);
  const RunInfo r = run_update(rig);
  EXPECT_EQ(r.status, UpdateEngine::Status::Error);
  EXPECT_EQ(r.result, kUpdateNoPackage);
  EXPECT_EQ(r.ops, 0u);
  EXPECT_TRUE(r.percents.empty());
  EXPECT_EQ(rig.read_active(images().source.size()), images().source);
}

TEST(UpdateEngine, DamagedPackageIs506) {
  const Bytes& good = images().package;
  Bytes payload_flip = good;
  payload_flip[firmware::kPackageHeaderSize + payload_flip.size() / 3] ^= 0x01;
  Bytes header_flip = good;
  header_flip[100] ^= 0x80;
  Bytes trailer_flip = good;
  trailer_flip.back() ^= 0xFF;
  const Bytes truncated(good.begin(), good.end() - 100);
  // A payload that is valid zstd and covered by a valid trailer but does not make the target.
  Bytes wrong_payload = firmware::wrap_payload(
      images().source, images().target, std::span(good).subspan(firmware::kPackageHeaderSize, 64));
  for (const Bytes* pkg : std::initializer_list<const Bytes*>{
           &payload_flip, &header_flip, &trailer_flip, &truncated, &wrong_payload}) {
    Rig rig;
    rig.prepare(*pkg);
    const RunInfo r = run_update(rig);
    EXPECT_EQ(r.status, UpdateEngine::Status::Error);
    EXPECT_EQ(r.result, kUpdatePackageCheckFailed);
    EXPECT_EQ(rig.read_active(images().source.size()), images().source);
    PackageArea area(rig.flash(), rig.layout());
    UpdateEngine engine(rig.flash(), rig.layout(), area);
    EXPECT_FALSE(engine.pending());
  }
}

TEST(UpdateEngine, PackageForAnotherFirmwareIs511) {
  Rig rig;
  rig.prepare(images().foreign_package);
  const RunInfo r = run_update(rig);
  EXPECT_EQ(r.status, UpdateEngine::Status::Error);
  EXPECT_EQ(r.result, kUpdateMismatch);
  // The reason names both sides (issue 19): here the same version string, other bytes.
  EXPECT_EQ(r.message,
            "package is for another build of BG95M3LAR02A03_01.011.01.011 (its SHA-256 differs)");
  EXPECT_EQ(r.ops, 0u);
  EXPECT_EQ(rig.read_active(images().source.size()), images().source);
  // A package for another version (of another size): both versions named, with their sizes.
  auto backwards = firmware::make_package(images().target, images().source, {3, 0});
  ASSERT_TRUE(backwards.ok());
  Rig other;
  other.prepare(*backwards);
  const RunInfo o = run_update(other);
  EXPECT_EQ(o.result, kUpdateMismatch);
  EXPECT_EQ(o.message, fmt::format("package is for BG95M3LAR02A03_01.012.01.012 ({} bytes), flash "
                                   "holds BG95M3LAR02A03_01.011.01.011 ({} bytes)",
                                   images().target.size(), images().source.size()));
  // An unreadable current image is a mismatch too.
  Rig blank;
  blank.upload(images().package);
  EXPECT_EQ(run_update(blank).result, kUpdateMismatch);
}

TEST(UpdateEngine, FlashFailureBeforeActiveIs504AndKeepsTheImage) {
  Rig rig;
  rig.prepare(images().package);
  const flash::Partition staging = rig.layout().staging;
  int programs = 0;
  rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
    if (op.kind == FlashOp::Kind::Program && in_partition(op, staging) && ++programs == 10)
      return Fault::Fail;
    return Fault::None;
  });
  const RunInfo r = run_update(rig);
  EXPECT_EQ(r.status, UpdateEngine::Status::Error);
  EXPECT_EQ(r.result, kUpdateFailed);
  EXPECT_EQ(rig.read_active(images().source.size()), images().source);
  rig.flash().set_fault_hook({});
  PackageArea area(rig.flash(), rig.layout());
  EXPECT_TRUE(area.present());  // kept for another try
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  EXPECT_FALSE(engine.pending());
  // The same package applies once the flash behaves.
  EXPECT_EQ(engine.run(), UpdateEngine::Status::Done);
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
}

TEST(UpdateEngine, FlashFailureWhileCopyingIsRetriedAtNextBoot) {
  Rig rig;
  rig.prepare(images().package);
  const flash::Partition active = rig.layout().active;
  int programs = 0;
  rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
    if (op.kind == FlashOp::Kind::Program && in_partition(op, active) && ++programs == 100)
      return Fault::Fail;
    return Fault::None;
  });
  EXPECT_EQ(run_update(rig).result, kUpdateFailed);
  rig.flash().set_fault_hook({});
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  ASSERT_TRUE(engine.pending());
  EXPECT_EQ(engine.run(), UpdateEngine::Status::Done);
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
}

// Power is cut at the 100th program of active (block 1 of the copy): the next boot resumes
// the copy from staging. Returns the rig powered on again, the update pending.
void cut_during_copy(Rig& rig) {
  rig.prepare(images().package);
  const flash::Partition active = rig.layout().active;
  int programs = 0;
  rig.flash().set_fault_hook([&](const FlashOp& op, std::uint64_t) {
    return op.kind == FlashOp::Kind::Program && in_partition(op, active) && ++programs == 100
               ? Fault::PowerCut
               : Fault::None;
  });
  ASSERT_EQ(run_update(rig).status, UpdateEngine::Status::PowerLost);
  rig.reopen();
}

// The pending update, resumed, ends with 504 and `message`.
void resumed_update_fails(Rig& rig, const std::string& message) {
  PackageArea area(rig.flash(), rig.layout());
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  ASSERT_TRUE(engine.pending());
  EXPECT_EQ(engine.run(), UpdateEngine::Status::Error);
  EXPECT_EQ(engine.result(), kUpdateFailed);
  EXPECT_EQ(engine.message(), message);
}

TEST(UpdateEngine, ResumedCopyReadsStagingBackFirst) {
  // Bytes from an earlier power cycle are not trusted: staging decayed while the power was
  // off, and the resumed update refuses to copy from it (the copy had not reached the byte).
  Rig rig;
  cut_during_copy(rig);
  if (HasFatalFailure()) return;
  const std::uint64_t block = rig.layout().geometry.block_size();
  decay(rig.flash().file(), rig.layout().staging.first_block * block + 3 * block + 1000);
  resumed_update_fails(rig, "staging does not hold the target image");
}

TEST(UpdateEngine, ResumedCopyReadsActiveBackAndCopiesAgain) {
  // A block copied before the cut decays while the power is off: the resumed copy does not
  // rewrite it, the read-back of active finds it (504, journal back to Staged), and the next
  // boot copies every block again.
  Rig rig;
  cut_during_copy(rig);
  if (HasFatalFailure()) return;
  decay(rig.flash().file(),
        rig.layout().active.first_block * rig.layout().geometry.block_size() + 5000);
  resumed_update_fails(rig, "active does not hold the target image after the copy");
  rig.reopen();
  PackageArea area(rig.flash(), rig.layout());
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  ASSERT_TRUE(engine.pending());
  ASSERT_EQ(engine.run(), UpdateEngine::Status::Done) << engine.message();
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
}

// Cuts power (or tears the write) at operation k of an update, powers on and finishes it.
void cut_and_resume(std::uint64_t k, Fault kind, Source source = Source::Own) {
  SCOPED_TRACE(testing::Message() << (kind == Fault::TornWrite ? "torn write" : "power cut")
                                  << " at update op " << k
                                  << (source == Source::Factory ? " (factory flash)" : ""));
  Rig rig(source);
  rig.prepare(images().package);
  fault_at(rig.flash(), rig.flash().op_count() + k, kind);
  // A factory-backed module is a fleet's: its updates go through the process's shared memory.
  const auto memory = source == Source::Factory ? std::make_shared<UpdateMemory>() : nullptr;
  const RunInfo first = run_update(rig, 37, memory);
  ASSERT_EQ(first.status, UpdateEngine::Status::PowerLost);
  ASSERT_EQ(first.ops, k);

  rig.reopen();  // power on: a new flash object, package area and engine over the same file
  PackageArea area(rig.flash(), rig.layout());
  UpdateEngine engine(rig.flash(), rig.layout(), area);
  engine.set_memory(memory, {});
  if (!engine.pending()) {
    // Only possible before the Begin record is whole: nothing was written, the old image
    // boots and the package is still there for the next AT+QFOTADL.
    ASSERT_EQ(k, 1u);
    EXPECT_EQ(rig.read_active(images().source.size()), images().source);
    ASSERT_TRUE(area.present());
  }
  std::vector<int> percents;
  engine.set_progress([&](int p) { percents.push_back(p); });
  ASSERT_EQ(engine.run(), UpdateEngine::Status::Done) << engine.message();
  EXPECT_EQ(engine.result(), kUpdateOk);
  EXPECT_EQ(util::sha256(rig.read_active(images().target.size())), util::sha256(images().target));
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
  EXPECT_EQ(area.state(), PackageState::Absent);
  EXPECT_FALSE(engine.pending());
  ASSERT_FALSE(percents.empty());
  EXPECT_EQ(percents.back(), 100);
  EXPECT_TRUE(std::is_sorted(percents.begin(), percents.end()));
}

std::uint64_t update_ops(Source source = Source::Own) {
  Rig rig(source);
  rig.prepare(images().package);
  const RunInfo r = run_update(rig);
  EXPECT_EQ(r.status, UpdateEngine::Status::Done);
  return r.ops;
}

// 1, N and eleven points spread between them.
std::vector<std::uint64_t> spread_points(std::uint64_t n) {
  std::vector<std::uint64_t> points{1};
  for (std::uint64_t i = 1; i <= 11; ++i)
    points.push_back(n * i / 12);
  points.push_back(n);
  points.erase(std::unique(points.begin(), points.end()), points.end());
  return points;
}

TEST(UpdateEngine, PowerCutAtSpreadPointsResumesToTarget) {
  const std::uint64_t n = update_ops();
  const auto points = spread_points(n);
  ASSERT_GE(points.size(), 10u);
  for (const auto k : points)
    cut_and_resume(k, Fault::PowerCut);
}

TEST(UpdateEngine, TornWriteAtSpreadPointsResumesToTarget) {
  const std::uint64_t n = update_ops();
  const auto points = spread_points(n);
  ASSERT_GE(points.size(), 10u);
  for (const auto k : points)
    cut_and_resume(k, Fault::TornWrite);
}

TEST(UpdateEngine, FactoryFlashCutAtSpreadPointsResumesToTarget) {
  // Active starts as factory blocks: the update's first erase or program of each block makes
  // it the module's own, whatever the cut.
  const std::uint64_t n = update_ops(Source::Factory);
  for (const auto k : spread_points(n)) {
    cut_and_resume(k, Fault::PowerCut, Source::Factory);
    cut_and_resume(k, Fault::TornWrite, Source::Factory);
    if (HasFatalFailure()) return;
  }
}

TEST(UpdateEngine, PowerCutEverySeventeenthOperation) {
  // A denser default sample than the spread above, at every position within a block.
  const std::uint64_t n = update_ops();
  for (std::uint64_t k = 5; k <= n; k += 17) {
    cut_and_resume(k, k % 2 != 0 ? Fault::TornWrite : Fault::PowerCut);
    if (HasFatalFailure()) return;
  }
}

TEST(UpdateEngine, ManyUpdatesWrapTheJournalsEvenWhenCut) {
  // Back and forth between two images, 60 updates on one flash: both record logs go round
  // their rings more than once; every fourth update is cut somewhere and resumed.
  const Images& im = images();
  auto back = firmware::make_package(im.target, im.source, firmware::PackOptions{3, 0});
  ASSERT_TRUE(back.ok());
  Rig rig;
  rig.write_active(im.source);
  const std::uint64_t n = update_ops();
  for (int i = 0; i < 60; ++i) {
    SCOPED_TRACE(testing::Message() << "update " << i);
    const bool forward = i % 2 == 0;
    rig.upload(forward ? im.package : *back);
    if (i % 4 == 3) {
      fault_at(rig.flash(), rig.flash().op_count() + 1 + (static_cast<std::uint64_t>(i) * 37) % n,
               i % 8 == 3 ? Fault::TornWrite : Fault::PowerCut);
      {
        PackageArea area(rig.flash(), rig.layout());
        UpdateEngine engine(rig.flash(), rig.layout(), area);
        ASSERT_EQ(engine.run(), UpdateEngine::Status::PowerLost);
      }
      rig.reopen();
    }
    PackageArea area(rig.flash(), rig.layout());
    UpdateEngine engine(rig.flash(), rig.layout(), area);
    ASSERT_EQ(engine.run(), UpdateEngine::Status::Done) << engine.message();
    const Bytes& want = forward ? im.target : im.source;
    ASSERT_EQ(rig.read_active(want.size()), want);
  }
}

TEST(UpdateEngine, RepeatedCutsStillFinish) {
  // Power fails again and again (a torn write every other time): first once the decode is
  // over, then every 100 operations after power-on, enough for a boot to copy one block
  // (a boot that cannot finish one block would redo it for ever, as would a real module).
  // Each boot resumes where the journal says, and the update gets there.
  Rig rig;
  rig.prepare(images().package);
  bool done = false;
  int boots = 0;
  for (; boots < 50 && !done; ++boots) {
    rig.reopen();  // power on
    fault_at(rig.flash(), boots == 0 ? 300 : 100,
             boots % 2 != 0 ? Fault::TornWrite : Fault::PowerCut);
    PackageArea area(rig.flash(), rig.layout());
    UpdateEngine engine(rig.flash(), rig.layout(), area);
    if (boots > 0) {
      ASSERT_TRUE(engine.pending());
    }
    const auto s = engine.run();
    ASSERT_NE(s, UpdateEngine::Status::Error) << engine.message();
    done = s == UpdateEngine::Status::Done;
  }
  ASSERT_TRUE(done);
  EXPECT_GE(boots, 3);
  EXPECT_EQ(rig.read_active(images().target.size()), images().target);
}

TEST(UpdateEngine, FullSweepEveryOperation) {
  if (!full_sweep()) {
    GTEST_SKIP() << "set BG95_FULL_SWEEP=1 to cut power at every operation";
  }
  const std::uint64_t n = update_ops();
  ASSERT_EQ(update_ops(Source::Factory), n);  // the same operations on a factory flash
  for (const Source source : {Source::Own, Source::Factory})
    for (const Fault kind : {Fault::PowerCut, Fault::TornWrite})
      for (std::uint64_t k = 1; k <= n; ++k) {
        cut_and_resume(k, kind, source);
        if (HasFatalFailure()) return;
      }
  std::cout << "[ info ] full sweep: " << n
            << " operations x 2 fault kinds x (own, factory flash), all resumed\n";
}

TEST(UpdateEngine, OperationCounts) {
  // N, the flash operations of one whole update, for the closing note; 16 MiB only in the
  // full sweep (making its package takes a while).
  std::vector<std::uint64_t> sizes{1024 * 1024};
  if (full_sweep()) sizes.push_back(16 * 1024 * 1024);
  for (const auto size : sizes) {
    const Images im = make_images(size, 7);
    Rig rig;
    rig.write_active(im.source);
    rig.upload(im.package);
    const RunInfo r = run_update(rig);
    ASSERT_EQ(r.status, UpdateEngine::Status::Done);
    EXPECT_EQ(rig.read_active(im.target.size()), im.target);
    std::cout << "[ info ] " << size / (1024 * 1024) << " MiB image, package " << im.package.size()
              << " bytes: N = " << r.ops << " flash operations\n";
    RecordProperty("ops_" + std::to_string(size / (1024 * 1024)) + "MiB", std::to_string(r.ops));
  }
}

// ---------------------------------------------------------------------------------------
// Update memory shared by the updates of a process

TEST(UpdateMemory, OneUpdateLoadsAnImageTheOthersFindIt) {
  SharedImages images;
  const util::Digest a = util::sha256(Bytes{1}), b = util::sha256(Bytes{2});
  EXPECT_EQ(images.find(a), nullptr);
  auto loader = images.claim(a);
  ASSERT_TRUE(loader);
  EXPECT_FALSE(images.claim(a));  // being loaded: the others hash without keeping
  EXPECT_TRUE(images.claim(b));   // another image is another claim
  firmware::ImageBuffer bytes(4096);
  bytes.bytes()[0] = 7;
  auto image = images.publish(loader, std::move(bytes));
  EXPECT_FALSE(loader);
  ASSERT_EQ(images.find(a), image);
  EXPECT_EQ(images.find(a)->bytes()[0], 7);
  EXPECT_FALSE(images.claim(a));  // held: nothing to load
  // Kept only while held, and a loader that gives up lets the next one claim.
  std::weak_ptr<const firmware::ImageBuffer> gone = image;
  image.reset();
  EXPECT_TRUE(gone.expired());
  EXPECT_EQ(images.find(a), nullptr);
  {
    auto quitter = images.claim(a);
    ASSERT_TRUE(quitter);
  }
  EXPECT_TRUE(images.claim(a));
}

TEST(UpdateMemory, DecodeBudgetServesTheLineInOrderAndSkipsTheGone) {
  DecodeBudget budget(100);
  auto first = budget.try_lease(60);
  ASSERT_TRUE(first);
  EXPECT_FALSE(budget.try_lease(50));  // 40 left
  std::vector<std::string> woken;
  auto waiter = [&woken](std::size_t bytes, std::string name) {
    auto w = std::make_shared<DecodeBudget::Waiter>();
    w->bytes = bytes;
    w->wake = [&woken, name] { woken.push_back(name); };
    return w;
  };
  auto a = waiter(50, "a"), b = waiter(30, "b"), c = waiter(40, "c");
  budget.wait(a);
  budget.wait(b);
  budget.wait(c);
  EXPECT_FALSE(budget.try_lease(10));  // no overtaking those in line
  b.reset();                           // its module lost power while it waited
  first = {};
  // 100 free: a (50) and then c (40), in order; b's place is skipped.
  EXPECT_EQ(woken, (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(a->granted);
  EXPECT_TRUE(c->granted);
  EXPECT_EQ(budget.free(), 10u);
  // One granted but cut before it took its lease gives it back.
  a.reset();
  EXPECT_EQ(budget.free(), 60u);
  c.reset();
  EXPECT_EQ(budget.free(), 100u);
  // Larger than the whole budget: granted when it is alone, never a deadlock.
  auto huge = budget.try_lease(500);
  EXPECT_TRUE(huge);
  EXPECT_EQ(budget.free(), 0u);
  huge = {};
  EXPECT_EQ(budget.free(), 100u);
}

TEST(UpdateMemory, UpdatesShareTheSourceAndWaitForTheDecodeBudget) {
  // Three modules of a fleet (factory flash) update from the same source at once, stepped in
  // turn as the event loop steps them, with a decode budget of one target: one loads the
  // source and the others only hash theirs; the others wait, stepped only when woken, and
  // every one ends with the target.
  const Images& im = images();
  auto memory = std::make_shared<UpdateMemory>(im.target.size());
  constexpr std::size_t kModules = 3;
  std::vector<int> wakes(kModules, 0);  // before the engines, which may wake as they go
  std::vector<std::unique_ptr<Rig>> rigs;
  std::vector<std::unique_ptr<PackageArea>> areas;
  std::vector<std::unique_ptr<UpdateEngine>> engines;
  for (std::size_t i = 0; i < kModules; ++i) {
    rigs.push_back(std::make_unique<Rig>(Source::Factory));
    rigs[i]->prepare(im.package);
    areas.push_back(std::make_unique<PackageArea>(rigs[i]->flash(), rigs[i]->layout()));
    engines.push_back(
        std::make_unique<UpdateEngine>(rigs[i]->flash(), rigs[i]->layout(), *areas[i]));
    engines[i]->set_memory(memory, [&wakes, i] { ++wakes[i]; });
  }
  const util::Digest source_sha = util::sha256(im.source);
  std::vector<UpdateEngine::Status> status(kModules, UpdateEngine::Status::Running);
  std::size_t most_waiting = 0;
  long most_holders = 0;
  for (bool stepped = true; stepped;) {
    stepped = false;
    for (std::size_t i = 0; i < kModules; ++i) {
      if (status[i] == UpdateEngine::Status::Waiting && wakes[i] > 0) {
        --wakes[i];
      } else if (status[i] != UpdateEngine::Status::Running) {
        continue;
      }
      status[i] = engines[i]->step(64);
      stepped = true;
      most_waiting = std::max(most_waiting, memory->decode.waiting());
      if (const auto shared = memory->images.find(source_sha))
        most_holders = std::max(most_holders, shared.use_count() - 1);
    }
  }
  for (std::size_t i = 0; i < kModules; ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(status[i], UpdateEngine::Status::Done) << engines[i]->message();
    EXPECT_EQ(rigs[i]->read_active(im.target.size()), im.target);
  }
  EXPECT_EQ(most_waiting, kModules - 1);
  EXPECT_EQ(most_holders, static_cast<long>(kModules));  // one copy of the source for all
  EXPECT_EQ(memory->decode.free(), im.target.size());
  EXPECT_EQ(memory->images.find(source_sha), nullptr);  // released with the last update
}

TEST(UpdateMemory, AWaitingUpdateCutOffLetsTheNextOneRun) {
  // The update holding the budget loses power (its engine goes), the one behind it is woken
  // and finishes; so does the cut one after its power-on.
  const Images& im = images();
  auto memory = std::make_shared<UpdateMemory>(im.target.size());
  int woken = 0;
  Rig one(Source::Factory), two(Source::Factory);
  one.prepare(im.package);
  two.prepare(im.package);
  PackageArea area_one(one.flash(), one.layout()), area_two(two.flash(), two.layout());
  auto first = std::make_unique<UpdateEngine>(one.flash(), one.layout(), area_one);
  UpdateEngine second(two.flash(), two.layout(), area_two);
  first->set_memory(memory, [] {});
  second.set_memory(memory, [&woken] { ++woken; });
  auto s1 = UpdateEngine::Status::Running, s2 = s1;
  while (s2 != UpdateEngine::Status::Waiting) {
    s1 = first->step(64);
    s2 = second.step(64);
  }
  ASSERT_EQ(s1, UpdateEngine::Status::Running);
  EXPECT_EQ(first->phase(), UpdateEngine::Phase::Decode);
  first.reset();  // power cut
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(second.run(), UpdateEngine::Status::Done) << second.message();
  EXPECT_EQ(two.read_active(im.target.size()), im.target);
  one.reopen();
  PackageArea area(one.flash(), one.layout());
  UpdateEngine resumed(one.flash(), one.layout(), area);
  resumed.set_memory(memory, {});
  ASSERT_TRUE(resumed.pending());
  EXPECT_EQ(resumed.run(), UpdateEngine::Status::Done) << resumed.message();
  EXPECT_EQ(one.read_active(im.target.size()), im.target);
}

}  // namespace
}  // namespace bg95::dfota
