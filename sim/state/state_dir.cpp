#include "sim/state/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

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

std::filesystem::path StateDir::default_dir(const std::string& name) {
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "bg95sim" / name;
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::filesystem::path(home) / ".local" / "state" / "bg95sim" / name;
  return std::filesystem::temp_directory_path() / fmt::format("bg95sim-{}", ::getuid()) / name;
}

}  // namespace bg95::state
