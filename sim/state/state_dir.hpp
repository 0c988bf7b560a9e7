#pragma once
// The state folder of one module: flash image, non-volatile settings and the module's file
// system. It is locked while a module uses it, so two emulators never share one flash.

#include <filesystem>
#include <stdexcept>

namespace bg95::state {

class StateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateDir {
 public:
  // Creates the folder (mode 0700) when missing and takes its lock; throws StateError.
  explicit StateDir(std::filesystem::path dir);
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
  std::filesystem::path dir_;
  int lock_fd_ = -1;
};

}  // namespace bg95::state
