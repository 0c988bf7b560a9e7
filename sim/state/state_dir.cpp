#include "sim/state/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <vector>

#include <fmt/format.h>

namespace bg95::state {

namespace {

std::filesystem::path absolute_path(const std::filesystem::path& p) {
  std::error_code ec;
  const auto a = std::filesystem::absolute(p, ec);
  return (ec ? p : a).lexically_normal();
}

void make_folder(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    throw StateError(fmt::format("{}: cannot create state folder: {}", dir.string(), ec.message()));
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
}

// `file` opened and flock'ed (LOCK_EX or LOCK_SH); -1 when another process holds it.
int take_lock(const std::filesystem::path& file, int how) {
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    throw StateError(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
  if (::flock(fd, how | LOCK_NB) == 0) return fd;
  ::close(fd);
  return -1;
}

}  // namespace

FleetLock::FleetLock(std::filesystem::path root) : root_(absolute_path(root)) {
  make_folder(root_);
  fd_ = take_lock(root_ / kFile, LOCK_EX);
  if (fd_ < 0)
    throw StateError(fmt::format(
        "{}: this fleet's state is in use by another bg95sim (the fleet, or one of its modules "
        "started alone)",
        root_.string()));
}

FleetLock::~FleetLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool FleetLock::covers(const std::filesystem::path& dir) const {
  const auto d = absolute_path(dir);
  auto [r, at] = std::mismatch(root_.begin(), root_.end(), d.begin(), d.end());
  // The root's trailing empty element ("/srv/fleet/") matches anything.
  return (r == root_.end() || (std::next(r) == root_.end() && r->empty())) && at != d.end();
}

StateDir::StateDir(std::filesystem::path dir, const FleetLock* fleet) : dir_(std::move(dir)) {
  make_folder(dir_);
  if (fleet == nullptr || !fleet->covers(dir_)) {
    const auto lock = dir_ / "lock";
    lock_fd_ = take_lock(lock, LOCK_EX);
    if (lock_fd_ < 0)
      throw StateError(fmt::format("{}: state folder is in use by another bg95sim", dir_.string()));
    try {
      lock_fleet_above();
    } catch (...) {
      ::close(lock_fd_);
      throw;
    }
  }
  std::error_code ec;
  std::filesystem::create_directories(fs_root(), ec);
}

void StateDir::lock_fleet_above() {
  const auto d = absolute_path(dir_);
  std::error_code ec;
  for (auto p = d.parent_path(); !p.empty(); p = p.parent_path()) {
    const auto file = p / FleetLock::kFile;
    if (std::filesystem::exists(file, ec)) {
      fleet_fd_ = take_lock(file, LOCK_SH);
      if (fleet_fd_ < 0)
        throw StateError(
            fmt::format("{}: state folder is in use by another bg95sim (the fleet of {})",
                        dir_.string(), p.string()));
      return;
    }
    if (p == p.root_path()) return;
  }
}

StateDir::~StateDir() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
  if (fleet_fd_ >= 0) ::close(fleet_fd_);
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
