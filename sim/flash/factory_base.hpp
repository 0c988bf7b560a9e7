#pragma once
// Factory contents shared by the flashes of a fleet: a read-only flash file (the signature and
// the default firmware image, written once through a NandFlash of its own) from which every
// block of a module's flash reads until the module first erases or programs that block. Then
// the block is the module's own: it is copied into the module's flash file if it must keep its
// contents (a program into it, a torn erase) and marked in a block map. A thousand modules made
// with the same default image so cost one image on disk and in the page cache, not a thousand.
//
// In the state folder, beside flash.bin:
//   flash.bin.factory  the factory file's path, relative to the state folder (text, one line);
//                      its presence is what makes flash.bin a factory-backed flash;
//   flash.bin.blocks   one byte per erase block: 0 = still the factory's, 1 = the module's own.
// A flash.bin without flash.bin.factory (every state folder made before this existed, and a
// single module's) owns all its blocks.
//
// Both files are opened through the process's OpenFiles (open_files.hpp): the factory flash once
// for every module that reads it, the block map only while a write to it is recent.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "sim/flash/open_files.hpp"

namespace bg95::flash {

struct Geometry;

class FactoryBase {
 public:
  // For a new flash file: names `factory` beside it, every block the factory's. Throws
  // FlashError when the factory file is missing or of another size.
  static std::unique_ptr<FactoryBase> create(const std::filesystem::path& flash_file,
                                             const std::filesystem::path& factory,
                                             const Geometry& geometry, OpenFiles& files);
  // For an existing flash file: its factory, or nullptr when it has none. Throws FlashError
  // naming the file when the side files are damaged or the factory file is gone.
  static std::unique_ptr<FactoryBase> open(const std::filesystem::path& flash_file,
                                           const Geometry& geometry, OpenFiles& files);
  // Removes the side files of a flash file (a new flash without factory contents).
  static void forget(const std::filesystem::path& flash_file);
  // True when the factory file holds `logical` (stored inverted) at `offset`.
  static bool holds(const std::filesystem::path& factory, std::uint64_t offset,
                    std::span<const std::uint8_t> logical);

  // Takes the factory file and block map (create() and open() check them).
  FactoryBase(std::shared_ptr<OpenFiles::File> factory, std::shared_ptr<OpenFiles::File> map,
              std::vector<std::uint8_t> own);

  bool factory_block(std::uint32_t block) const { return own_[block] == 0; }
  // The factory file, read-only (taken right before each read: see OpenFiles::fd); throws
  // FlashError when it cannot be opened.
  int fd() const;
  // The block is the module's own from now on (its contents already where they must be).
  void detach(std::uint32_t block);
  std::uint32_t factory_blocks() const;

 private:
  std::shared_ptr<OpenFiles::File> factory_;
  std::shared_ptr<OpenFiles::File> map_;
  std::vector<std::uint8_t> own_;
};

}  // namespace bg95::flash
