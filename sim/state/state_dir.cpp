#include "sim/state/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace bg95::state {

StateDir::StateDir(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    throw StateError(
        fmt::format("{}: cannot create state folder: {}", dir_.string(), ec.message()));
  std::filesystem::permissions(dir_, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  const auto lock = dir_ / "lock";
  lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0)
    throw StateError(fmt::format("{}: cannot open: {}", lock.string(), std::strerror(errno)));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw StateError(fmt::format("{}: state folder is in use by another bg95sim", dir_.string()));
  }
  std::filesystem::create_directories(fs_root(), ec);
}

StateDir::~StateDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

namespace {

// Copies a file keeping its holes (the flash file is 72 MiB, mostly holes).
void copy_sparse(const std::filesystem::path& from, const std::filesystem::path& to) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    throw StateError(fmt::format("{}: cannot open: {}", from.string(), std::strerror(errno)));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    ::close(in);
    throw StateError(fmt::format("{}: cannot create: {}", to.string(), std::strerror(errno)));
  }
  const off_t size = ::lseek(in, 0, SEEK_END);
  std::vector<char> buffer(1 << 20);
  bool ok = size >= 0 && ::ftruncate(out, size) == 0;
  for (off_t at = 0; ok && at < size;) {
    const off_t data = ::lseek(in, at, SEEK_DATA);
    if (data < 0) break;  // only a hole is left
    off_t hole = ::lseek(in, data, SEEK_HOLE);
    if (hole < 0) hole = size;
    for (off_t p = data; ok && p < hole;) {
      const auto want =
          static_cast<std::size_t>(std::min<off_t>(hole - p, static_cast<off_t>(buffer.size())));
      const ssize_t n = ::pread(in, buffer.data(), want, p);
      ok = n > 0 && ::pwrite(out, buffer.data(), static_cast<std::size_t>(n), p) == n;
      p += n > 0 ? n : 0;
    }
    at = hole;
  }
  ::close(in);
  if (::close(out) != 0) ok = false;
  if (!ok) throw StateError(fmt::format("{}: copy failed: {}", to.string(), std::strerror(errno)));
}

}  // namespace

void StateDir::snapshot(const std::filesystem::path& to) const {
  std::error_code ec;
  if (std::filesystem::exists(to, ec)) throw StateError(to.string() + ": exists already");
  std::filesystem::create_directories(to, ec);
  if (ec) throw StateError(fmt::format("{}: cannot create: {}", to.string(), ec.message()));
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    const auto name = entry.path().filename();
    // Not the lock, nor the transcripts folder (where snapshots themselves go).
    if (name == "lock" || name == "transcripts") continue;
    if (name == "flash.bin") {
      copy_sparse(entry.path(), to / name);
      continue;
    }
    std::filesystem::copy(entry.path(), to / name, std::filesystem::copy_options::recursive, ec);
    if (ec)
      throw StateError(fmt::format("{}: cannot copy: {}", (to / name).string(), ec.message()));
  }
}

std::filesystem::path StateDir::default_dir(const std::string& name) {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "bg95sim" / name;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".local" / "state" / "bg95sim" / name;
  return std::filesystem::temp_directory_path() / fmt::format("bg95sim-{}", ::getuid()) / name;
}

}  // namespace bg95::state
