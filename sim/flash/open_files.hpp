#pragma once
// The flash files a process holds open, at most `capacity` at a time (issue 20: 10,000 modules
// of a fleet each holding flash.bin, its factory flash and its block map open did not fit a hard
// limit of 20,000 open files). A file is opened when it is first used and closed again when it
// has been the least recently used of more than `capacity`; an idle module so holds none, and
// the modules reading one factory flash share one descriptor of it.
//
// One per process (ModuleConfig::flash_files), or one per NandFlash made without one. Used from
// the thread of the event loop that drives its modules; the mutex only guards against a test
// that runs two loops on two threads with one cache.

#include <cstddef>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace bg95::flash {

class OpenFiles {
 public:
  class File;

  explicit OpenFiles(std::size_t capacity = 256);
  ~OpenFiles();
  OpenFiles(const OpenFiles&) = delete;
  OpenFiles& operator=(const OpenFiles&) = delete;

  // A file this cache opens when asked for its descriptor: one object per path and `flags`
  // (open(2)'s; O_CLOEXEC is added) as long as someone holds it. Nothing is opened yet.
  std::shared_ptr<File> file(const std::filesystem::path& path, int flags);
  // The file's descriptor, opened now if it is closed (closing the least recently used beyond
  // capacity); -1 with errno when it cannot be opened. Valid until the next call of fd() for
  // another file: take it right before each system call that uses it.
  int fd(File& file);
  // Closes the file now (it opens again when next used).
  void close(File& file);

  std::size_t open_count() const;
  std::size_t capacity() const { return capacity_; }

 private:
  using Key = std::pair<std::string, int>;
  void close_locked(File& file);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<Key, std::weak_ptr<File>> files_;
  std::list<File*> open_;  // most recently used first
};

class OpenFiles::File {
 public:
  File(OpenFiles& owner, std::filesystem::path path, int flags)
      : owner_(owner), path_(std::move(path)), flags_(flags) {}
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  const std::filesystem::path& path() const { return path_; }
  int fd() { return owner_.fd(*this); }

 private:
  friend class OpenFiles;
  OpenFiles& owner_;
  std::filesystem::path path_;
  int flags_;
  int fd_ = -1;
  std::list<File*>::iterator place_;  // in owner_.open_ while open
};

}  // namespace bg95::flash
