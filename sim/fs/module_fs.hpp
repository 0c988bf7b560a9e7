#pragma once
// The module's application file system, kept in the state folder's fs/ directory
// (docs/file-system.md). Two flat folders:
//
//   UFS     <state>/fs/ufs/     the user file storage. A file is named "dfota_update.bin",
//                               "UFS:dfota_update.bin" or "/data/ufs/dfota_update.bin" (the
//                               path AT+QFOTADL="/data/ufs/..." takes): all three are the same.
//   /datatx <state>/fs/datatx/  the DFOTA certificates (the note's 2.2.1.1 note 4), named
//                               "/datatx/fota_cacert.pem" etc. AT+QFUPL puts a file there when
//                               its name starts with "/datatx/".
//
// Every name is checked before it touches the host: at most 80 bytes as typed (the Quectel
// <filename> limit), printable ASCII only, no '/', '\\', ':', '"', '<', '>', '|', no wildcard,
// no leading '.', so ".." and hidden files are impossible; absolute paths other than the two
// roots and other storages ("RAM:", "EFS:") are refused. Host files are opened relative to the
// folder's descriptor with O_NOFOLLOW, the folders themselves too, so a symlink planted in
// fs/ (or fs/ufs itself replaced by one) is never followed; entries that are not regular
// files are invisible to listings and refused by name (406).
//
// Both folders share one capacity (default 8 MiB, counted in bytes of file data). The object
// holds no state besides its root and capacity: any number of them may look at one folder.
// Writes are atomic (a hidden temporary file, fsync, rename).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bg95::fs {

// The failures, numbered as the module reports them in "+CME ERROR: <n>".
enum class Error : int {
  None = 0,
  NotFound = 405,        // file not found
  InvalidName = 406,     // invalid file name (also: a name that is not a regular file)
  Exists = 407,          // file already existed
  WriteFailed = 409,     // fail to write the file
  OpenFailed = 410,      // fail to open the file
  ReadFailed = 411,      // fail to read the file
  ListFailed = 417,      // fail to list the file
  DeleteFailed = 418,    // fail to delete the file
  DiskInfoFailed = 419,  // fail to get disk info
  NoSpace = 420,         // no space
  TooLarge = 423,        // file too large (larger than the whole file system)
};
constexpr int cme_code(Error e) {
  return static_cast<int>(e);
}

// A value or the failure.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(error) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  Error error() const { return ok() ? Error::None : std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

enum class Area { Ufs, Datatx };

// A checked name: the folder, the entry in it, and how the host wrote the folder part (so a
// listing answers in the host's own form).
struct Name {
  Area area = Area::Ufs;
  std::string base;    // "dfota_update.bin"; a pattern for parse_pattern ("*.pem")
  std::string prefix;  // "", "UFS:" (as typed), "/data/ufs/" or "/datatx/"
  std::string display() const { return prefix + base; }
};

// Checks a file name; no wildcards.
Result<Name> parse_name(std::string_view text);
// Checks a pattern: as a name, but '*' and '?' are wildcards. "*" is every UFS file,
// "/datatx/*" every certificate.
Result<Name> parse_pattern(std::string_view text);
bool has_wildcard(std::string_view text);

// An owned file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

class ModuleFs {
 public:
  static constexpr std::uint64_t kDefaultCapacity = 8ull * 1024 * 1024;
  static constexpr std::size_t kMaxNameLength = 80;

  // `root` is <state>/fs (state::StateDir::fs_root()).
  explicit ModuleFs(std::filesystem::path root, std::uint64_t capacity = kDefaultCapacity);

  const std::filesystem::path& root() const { return root_; }

  // Creates the folders and deletes temporary files a power cut left behind. Call once when
  // the module starts, before any upload runs.
  Error prepare() const;

  // ---- space
  std::uint64_t total() const { return capacity_; }
  Result<std::uint64_t> used() const;  // bytes of all files in both folders
  Result<std::uint64_t> free() const;

  // ---- reading
  struct Entry {
    std::string name;  // as the pattern wrote the folder: "a.bin", "UFS:a.bin", "/datatx/x"
    std::uint64_t size = 0;
  };
  // The regular files whose names match, sorted by name; an absent folder lists nothing.
  Result<std::vector<Entry>> list(std::string_view pattern = "*") const;
  Result<std::uint64_t> size(std::string_view name) const;
  // False for a free name; InvalidName when the name is taken by something that is not a
  // regular file (a planted symlink, a folder).
  Result<bool> exists(std::string_view name) const;
  Result<std::string> read(std::string_view name) const;
  // A read-only descriptor of the file (regular files only; no symlink is followed).
  Result<UniqueFd> open(std::string_view name) const;
  // Where the file is (or would be) on the host. The folders are checked to be real folders
  // and an existing entry to be a regular file; readers should still prefer open()/read(),
  // which cannot be raced.
  Result<std::filesystem::path> resolve(std::string_view name) const;

  // ---- writing
  // A file being written: bytes go to a hidden temporary file in the target folder; commit()
  // gives it its name atomically. Destroying an uncommitted upload deletes the temporary file.
  class Upload {
   public:
    Upload(Upload&&) noexcept = default;
    Upload& operator=(Upload&&) noexcept;
    ~Upload();
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;

    Error append(std::string_view bytes);
    std::uint64_t size() const { return size_; }
    const Name& name() const { return name_; }
    // NoSpace when the file no longer fits (another upload took the space), Exists when the
    // name was taken meanwhile (replace=false), WriteFailed on a host error.
    Error commit();
    void abort();

   private:
    friend class ModuleFs;
    Upload(const ModuleFs& fs, Name name, UniqueFd dir, UniqueFd file, std::string temp,
           bool replace);
    bool rename_into_place() const;
    std::filesystem::path root_;
    std::uint64_t capacity_ = 0;
    Name name_;
    UniqueFd dir_;
    UniqueFd file_;
    std::string temp_;
    bool replace_ = false;
    std::uint64_t size_ = 0;
  };
  // Exists when the name is taken and `replace` is false.
  Result<Upload> begin_upload(std::string_view name, bool replace = false) const;
  // Writes a whole file atomically (replacing one of that name when `replace`).
  Error write(std::string_view name, std::string_view data, bool replace = true) const;
  Error remove(std::string_view name) const;
  // Deletes the regular files matching; returns how many.
  Result<std::size_t> remove_matching(std::string_view pattern) const;

 private:
  Result<UniqueFd> open_area(Area area, bool create, Error failure) const;

  std::filesystem::path root_;
  std::uint64_t capacity_;
};

}  // namespace bg95::fs
