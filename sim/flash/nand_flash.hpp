#pragma once
// The modelled NAND flash of the module, backed by a file in the state folder and read and
// written in place (never held whole in memory).
//
// NAND rules: a page can be programmed only when erased; erasing works on whole blocks. Every
// program and every erase goes through NandFlash::apply(), which numbers it and asks the fault
// hook what happens to it: that is where power cuts, torn writes and write failures are made.
// A run of consecutive pages (program_pages) is still one operation per page, numbered and
// offered to the hook page by page exactly as separate program() calls would be; only the
// file write is shared: the pages that go through are written with one pwrite, flushed before
// the page that faults. (So a hook that reads the flash file sees earlier pages of the run
// only after the run; no hook in this project does.)
//
// The file stores each byte inverted, so that the erased state (0xFF) is a zero byte and the
// file stays sparse: a fleet of modules costs disk only for what was written. A flash made
// with factory contents (factory_base.hpp) reads the blocks it has not yet erased or
// programmed from a read-only factory file shared by the fleet; such a block becomes the
// module's own inside apply(), at the first operation that changes it.
//
// The file is not held open: it is opened through the process's OpenFiles when used and closed
// when it has been idle longest of more than the cache holds (issue 20: a fleet's idle modules
// hold no descriptor of their flash).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "sim/flash/open_files.hpp"

namespace bg95::flash {

class FactoryBase;

struct Geometry {
  std::uint32_t page_size = 2048;
  std::uint32_t pages_per_block = 64;
  std::uint32_t block_count = 0;

  std::uint32_t block_size() const { return page_size * pages_per_block; }
  std::uint64_t total_size() const { return std::uint64_t{block_size()} * block_count; }
};

struct FlashOp {
  enum class Kind { Program, Erase };
  Kind kind;
  std::uint32_t block;
  std::uint32_t page;  // page within the block, for Program
};

// What the fault hook decides for one operation.
enum class Fault {
  None,       // the operation happens
  Fail,       // the chip reports an error; nothing changes
  PowerCut,   // power is lost before the operation: nothing changes, the flash goes dark
  TornWrite,  // power is lost half-way: half the page is programmed (or the block half erased)
};

enum class FlashStatus { Ok, Failed, PowerLost };

class FlashError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A write to the backing file failed (what the system said is in what()).
class HostWriteError : public FlashError {
 public:
  using FlashError::FlashError;
};

class NandFlash {
 public:
  using FaultHook = std::function<Fault(const FlashOp& op, std::uint64_t index)>;

  // Opens the backing file, creating it erased (sparse) when missing, or, when `factory` names
  // a factory flash file (factory_base.hpp), creating it with the factory's contents. An
  // existing file keeps what it was made with (`factory` is then not used). Throws FlashError
  // naming the file when it exists with another size or its factory file is missing. `files`:
  // the process's cache of open flash files (null: one of this flash's own).
  NandFlash(std::filesystem::path file, Geometry geometry, std::filesystem::path factory = {},
            std::shared_ptr<OpenFiles> files = {});
  ~NandFlash();
  NandFlash(const NandFlash&) = delete;
  NandFlash& operator=(const NandFlash&) = delete;

  const Geometry& geometry() const { return geometry_; }
  const std::filesystem::path& file() const { return file_; }
  bool created() const { return created_; }
  // Blocks still read from the factory file (0 without one).
  std::uint32_t factory_blocks() const;

  // data.size() <= page size; the rest of the page stays 0xFF.
  FlashStatus program(std::uint32_t block, std::uint32_t page, std::span<const std::uint8_t> data);
  // Programs consecutive pages from (block, page) on, crossing into following blocks: page i
  // of the run gets data[i * page_size, ...), the last one may be partial (the rest 0xFF).
  // Stops at the first page that does not succeed and returns its status; the pages before it
  // are programmed. Same operations, numbering and faults as program() page by page.
  FlashStatus program_pages(std::uint32_t block, std::uint32_t page,
                            std::span<const std::uint8_t> data);
  FlashStatus erase(std::uint32_t block);
  void read(std::uint64_t offset, std::span<std::uint8_t> out) const;
  bool page_erased(std::uint32_t block, std::uint32_t page) const;
  // True when the whole block reads as erased (0xFF), as read() would show it. A block whose
  // stored bytes are a hole in the file that backs it (an erase punched it, or nothing was
  // ever written there) is known erased without reading it (lseek SEEK_DATA); others are read.
  bool block_erased(std::uint32_t block) const;

  // Operations applied so far (programs and erases, failed ones included), over the whole life
  // of this object.
  std::uint64_t op_count() const { return op_count_; }
  void set_fault_hook(FaultHook hook) { fault_hook_ = std::move(hook); }
  // A write to the backing file that fails (a full disk, a read-only or removed folder) is the
  // operation failing, as a worn NAND page would: it reports Failed, and this says why (the
  // file and the system's error), once per failed operation. Without one, it goes unsaid.
  void set_host_error_log(std::function<void(const std::string& why)> log) {
    host_error_log_ = std::move(log);
  }
  // The last such error ("" when none): e.g. for the message of a state that cannot be made.
  const std::string& last_host_error() const { return last_host_error_; }
  // A fault: every program takes `extra` longer (0: as normal). Nothing sleeps (one event loop
  // drives every module of the process): the flash stays busy that much longer after each
  // program, and the work paced by the flash (the update's steps) waits until it is not.
  void set_program_delay(std::chrono::milliseconds extra) { program_delay_ = extra; }
  // How much longer the flash is busy with that extra time (zero when it is not).
  std::chrono::milliseconds busy_for() const;
  // After a power cut every operation reports PowerLost until power comes back.
  bool power_lost() const { return power_lost_; }
  void restore_power() { power_lost_ = false; }

 private:
  // The one place where flash changes: an erase of op.block, or a program of `pages`
  // consecutive pages from (op.block, op.page) holding `data`.
  FlashStatus apply(const FlashOp& op, std::uint32_t pages, std::span<const std::uint8_t> data);
  FlashStatus apply_to_file(const FlashOp& op, std::uint32_t pages,
                            std::span<const std::uint8_t> data);
  // Numbers the next operation and asks the hook; PowerCut leaves the flash dark.
  Fault decide(const FlashOp& op);
  void erase_stored(std::uint64_t offset, std::size_t size);
  // A factory block about to change keeps its contents: copied from the factory file.
  void copy_from_factory(std::uint32_t block);
  void pread_all(int fd, std::uint64_t offset, std::span<std::uint8_t> out) const;
  // This flash's file, opened if it is not (take it right before each system call); throws
  // FlashError, or HostWriteError for a write, when it cannot be opened.
  int own_fd(bool write = false) const;
  void pwrite_all(std::uint64_t offset, std::span<const std::uint8_t> stored);
  void check_block(std::uint32_t block) const;

  std::function<void(const std::string&)> host_error_log_;
  std::string last_host_error_;
  std::filesystem::path file_;
  Geometry geometry_;
  std::shared_ptr<OpenFiles> files_;
  std::shared_ptr<OpenFiles::File> own_;
  bool created_ = false;
  // Pages known to be erased (set by an erase, cleared by a program): a program into one of
  // them needs no read-back check. Unknown pages are read (after a torn operation, or pages
  // of blocks not erased in this life). One bit a page: a fleet keeps thousands of these.
  std::vector<bool> known_erased_;
  std::unique_ptr<FactoryBase> factory_;  // null: every block is this file's
  std::uint64_t op_count_ = 0;
  bool power_lost_ = false;
  FaultHook fault_hook_;
  std::chrono::milliseconds program_delay_{0};
  std::chrono::steady_clock::time_point busy_until_{};
};

}  // namespace bg95::flash
