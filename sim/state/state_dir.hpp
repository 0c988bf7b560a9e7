#pragma once
// The state folder of one module: flash image, non-volatile settings and the module's file
// system. It is locked while a module uses it, so two emulators never share one flash.
//
// A fleet locks its state root once (FleetLock, the file fleet.lock there) instead of each
// module's folder (issue 20: a lock per module was one of the open files that kept 10,000
// modules from fitting a process). A module's folder below a fleet root is therefore also
// refused to a process that opens it alone while the fleet runs: that process takes a shared
// lock of the root's fleet.lock beside the folder's own lock, which the fleet's exclusive one
// excludes (and which keeps the fleet from starting while the module runs).

#include <filesystem>
#include <stdexcept>

namespace bg95::state {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The lock of a fleet's state root, held for the fleet's life.
class FleetLock {
 public:
  // Creates the folder when missing and takes its fleet.lock; throws StateError when another
  // process holds it, or a module folder below it.
  explicit FleetLock(std::filesystem::path root);
  ~FleetLock();
  FleetLock(const FleetLock&) = delete;
  FleetLock& operator=(const FleetLock&) = delete;

  // True when `dir` lies below the root (compared as absolute paths, lexically).
  bool covers(const std::filesystem::path& dir) const;
  const std::filesystem::path& root() const { return root_; }

  static constexpr const char* kFile = "fleet.lock";

 private:
  std::filesystem::path root_;  // absolute
  int fd_ = -1;
};

class StateDir {
 public:
  // Creates the folder (mode 0700) when missing and takes its lock, unless `fleet` covers it;
  // a folder below another fleet root also takes a shared lock of that root (above). Throws
  // StateError.
  explicit StateDir(std::filesystem::path dir, const FleetLock* fleet = nullptr);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path flash_file() const { return dir_ / "flash.bin"; }
  std::filesystem::path settings_file() const { return dir_ / "settings.json"; }
  std::filesystem::path fs_root() const { return dir_ / "fs"; }

  // Copies the folder as it is now (the lock and transcripts/ left out; the flash file stays
  // sparse) to `to`,
  // which must not exist: a transcript keeps one so that its session can be replayed from the
  // same state. Throws StateError.
  void snapshot(const std::filesystem::path& to) const;

  // ${XDG_STATE_HOME:-~/.local/state}/bg95sim/<name>
  static std::filesystem::path default_dir(const std::string& name = "default");

 private:
  void lock_fleet_above();

  std::filesystem::path dir_;
  int lock_fd_ = -1;
  int fleet_fd_ = -1;  // a shared lock of the fleet root above, or -1
};

}  // namespace bg95::state
