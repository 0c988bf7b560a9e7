#include "sim/flash/open_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

namespace bg95::flash {

OpenFiles::OpenFiles(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 2)) {}

OpenFiles::~OpenFiles() {
  // Files outliving their cache are a bug of their holders; close what is still open.
  const std::lock_guard lock(mutex_);
  while (!open_.empty())
    close_locked(*open_.front());
}

std::shared_ptr<OpenFiles::File> OpenFiles::file(const std::filesystem::path& path, int flags) {
  // One name per file: a module's flash names its factory flash relative to its own folder
  // ("<state>/0001/../.factory/..."), the fleet by the factory folder.
  std::error_code ec;
  std::filesystem::path name = std::filesystem::absolute(path, ec).lexically_normal();
  if (ec) name = path;
  const std::lock_guard lock(mutex_);
  auto& slot = files_[{name.string(), flags}];
  if (auto held = slot.lock()) return held;
  auto made = std::make_shared<File>(*this, std::move(name), flags);
  slot = made;
  // Entries of files nobody holds any more go now and then, so the map stays the size of the
  // fleet rather than of its history.
  if (files_.size() > 2 * capacity_ && files_.size() % capacity_ == 0)
    std::erase_if(files_, [](const auto& entry) { return entry.second.expired(); });
  return made;
}

int OpenFiles::fd(File& file) {
  const std::lock_guard lock(mutex_);
  if (file.fd_ >= 0) {
    open_.splice(open_.begin(), open_, file.place_);
    return file.fd_;
  }
  while (open_.size() >= capacity_)
    close_locked(*open_.back());
  const int fd = ::open(file.path_.c_str(), file.flags_ | O_CLOEXEC);
  if (fd < 0) return -1;
  file.fd_ = fd;
  open_.push_front(&file);
  file.place_ = open_.begin();
  return fd;
}

void OpenFiles::close(File& file) {
  const std::lock_guard lock(mutex_);
  close_locked(file);
}

void OpenFiles::close_locked(File& file) {
  if (file.fd_ < 0) return;
  ::close(file.fd_);
  file.fd_ = -1;
  open_.erase(file.place_);
}

std::size_t OpenFiles::open_count() const {
  const std::lock_guard lock(mutex_);
  return open_.size();
}

OpenFiles::File::~File() {
  owner_.close(*this);
}

}  // namespace bg95::flash
