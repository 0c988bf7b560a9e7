#include "sim/fs/module_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <random>

#include <fmt/format.h>

namespace bg95::fs {
namespace {

constexpr std::string_view kUfsPrefix = "UFS:";
constexpr std::string_view kUfsPath = "/data/ufs/";
constexpr std::string_view kDatatxPath = "/datatx/";
constexpr std::string_view kTempPrefix = ".upload-";

const char* area_folder(Area area) {
  return area == Area::Ufs ? "ufs" : "datatx";
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    const auto a = static_cast<unsigned char>(text[i]);
    const auto b = static_cast<unsigned char>(prefix[i]);
    if (std::tolower(a) != std::tolower(b)) return false;
  }
  return true;
}

// The entry name inside a folder: printable ASCII, none of the characters that mean a path,
// a storage, a quote or a shell redirection, no leading '.' (so neither "." nor ".." nor our
// hidden temporary files). Wildcards only in patterns.
bool valid_base(std::string_view base, bool pattern) {
  if (base.empty() || base.front() == '.') return false;
  for (const char ch : base) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E) return false;
    switch (c) {
      case '/':
      case '\\':
      case ':':
      case '"':
      case '<':
      case '>':
      case '|':
        return false;
      case '*':
      case '?':
        if (!pattern) return false;
        break;
      default:
        break;
    }
  }
  return true;
}

Result<Name> parse(std::string_view text, bool pattern) {
  if (text.empty() || text.size() > ModuleFs::kMaxNameLength) return Error::InvalidName;
  Name name;
  std::string_view base;
  if (starts_with_nocase(text, kUfsPrefix)) {
    name.prefix = std::string(text.substr(0, kUfsPrefix.size()));
    base = text.substr(kUfsPrefix.size());
  } else if (text.starts_with(kUfsPath)) {
    name.prefix = std::string(kUfsPath);
    base = text.substr(kUfsPath.size());
  } else if (text.starts_with(kDatatxPath)) {
    name.area = Area::Datatx;
    name.prefix = std::string(kDatatxPath);
    base = text.substr(kDatatxPath.size());
  } else {
    base = text;  // a bare UFS name; '/' and ':' (other paths, other storages) fail below
  }
  if (!valid_base(base, pattern)) return Error::InvalidName;
  name.base = std::string(base);
  return name;
}

bool is_temporary(std::string_view entry) {
  return entry.starts_with(kTempPrefix);
}

// The regular files of a folder (descriptor `dir`), with their sizes; hidden and invalid
// names are skipped.
bool scan(int dir, std::vector<std::pair<std::string, std::uint64_t>>& out) {
  const int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return false;
  DIR* d = ::fdopendir(copy);
  if (!d) {
    ::close(copy);
    return false;
  }
  ::rewinddir(d);
  while (const dirent* e = ::readdir(d)) {
    const std::string_view entry = e->d_name;
    if (!valid_base(entry, false)) continue;
    struct stat st {};
    if (::fstatat(dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;
    out.emplace_back(std::string(entry), static_cast<std::uint64_t>(st.st_size));
  }
  ::closedir(d);
  return true;
}

std::string temp_name() {
  std::random_device rd;
  const std::uint64_t r = (static_cast<std::uint64_t>(rd()) << 32) | rd();
  return fmt::format("{}{:016x}", kTempPrefix, r);
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Opens an existing entry of a folder for reading: regular files only, never through a
// symlink, never blocking on a planted FIFO.
Result<UniqueFd> open_entry(int dir, const std::string& base) {
  UniqueFd fd(::openat(dir, base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return Error::NotFound;
    if (errno == ELOOP) return Error::InvalidName;  // a symlink
    return Error::OpenFailed;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Error::OpenFailed;
  if (!S_ISREG(st.st_mode)) return Error::InvalidName;
  return fd;
}

// What a folder holds under a name: nothing, a regular file (with its size), or something
// else (InvalidName).
Result<std::optional<std::uint64_t>> stat_entry(int dir, const std::string& base) {
  struct stat st {};
  if (::fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return std::optional<std::uint64_t>{};
    return Error::OpenFailed;
  }
  if (!S_ISREG(st.st_mode)) return Error::InvalidName;
  return std::optional<std::uint64_t>{static_cast<std::uint64_t>(st.st_size)};
}

}  // namespace

Result<Name> parse_name(std::string_view text) {
  return parse(text, false);
}

Result<Name> parse_pattern(std::string_view text) {
  return parse(text, true);
}

bool has_wildcard(std::string_view text) {
  return text.find_first_of("*?") != std::string_view::npos;
}

void UniqueFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ModuleFs::ModuleFs(std::filesystem::path root, std::uint64_t capacity)
    : root_(std::move(root)), capacity_(capacity) {}

Result<UniqueFd> ModuleFs::open_area(Area area, bool create, Error failure) const {
  constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd root(::open(root_.c_str(), kDirFlags));
  if (!root.valid() && errno == ENOENT && create) {
    if (::mkdir(root_.c_str(), 0700) != 0 && errno != EEXIST) return failure;
    root = UniqueFd(::open(root_.c_str(), kDirFlags));
  }
  if (!root.valid()) return errno == ENOENT ? Error::NotFound : failure;
  const char* folder = area_folder(area);
  UniqueFd dir(::openat(root.get(), folder, kDirFlags));
  if (!dir.valid() && errno == ENOENT && create) {
    if (::mkdirat(root.get(), folder, 0700) != 0 && errno != EEXIST) return failure;
    dir = UniqueFd(::openat(root.get(), folder, kDirFlags));
  }
  if (!dir.valid()) return errno == ENOENT ? Error::NotFound : failure;
  return dir;
}

Error ModuleFs::prepare() const {
  for (const Area area : {Area::Ufs, Area::Datatx}) {
    auto dir = open_area(area, true, Error::WriteFailed);
    if (!dir) return dir.error();
    const int copy = ::fcntl(dir->get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return Error::WriteFailed;
    DIR* d = ::fdopendir(copy);
    if (!d) {
      ::close(copy);
      return Error::WriteFailed;
    }
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(d))
      if (is_temporary(e->d_name)) stale.emplace_back(e->d_name);
    ::closedir(d);
    for (const auto& name : stale)
      ::unlinkat(dir->get(), name.c_str(), 0);
  }
  return Error::None;
}

Result<std::uint64_t> ModuleFs::used() const {
  std::uint64_t total = 0;
  for (const Area area : {Area::Ufs, Area::Datatx}) {
    auto dir = open_area(area, false, Error::DiskInfoFailed);
    if (!dir) {
      if (dir.error() == Error::NotFound) continue;
      return dir.error();
    }
    std::vector<std::pair<std::string, std::uint64_t>> files;
    if (!scan(dir->get(), files)) return Error::DiskInfoFailed;
    for (const auto& f : files)
      total += f.second;
  }
  return total;
}

Result<std::uint64_t> ModuleFs::free() const {
  auto u = used();
  if (!u) return u.error();
  return *u >= capacity_ ? 0 : capacity_ - *u;
}

Result<std::vector<ModuleFs::Entry>> ModuleFs::list(std::string_view pattern) const {
  auto p = parse_pattern(pattern);
  if (!p) return p.error();
  auto dir = open_area(p->area, false, Error::ListFailed);
  if (!dir) {
    if (dir.error() == Error::NotFound) return std::vector<Entry>{};
    return dir.error();
  }
  std::vector<std::pair<std::string, std::uint64_t>> files;
  if (!scan(dir->get(), files)) return Error::ListFailed;
  std::vector<Entry> out;
  for (auto& [base, size] : files)
    if (::fnmatch(p->base.c_str(), base.c_str(), FNM_NOESCAPE | FNM_PERIOD) == 0)
      out.push_back({p->prefix + base, size});
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.name < b.name; });
  return out;
}

Result<std::uint64_t> ModuleFs::size(std::string_view name) const {
  auto n = parse_name(name);
  if (!n) return n.error();
  auto dir = open_area(n->area, false, Error::OpenFailed);
  if (!dir) return dir.error();
  auto st = stat_entry(dir->get(), n->base);
  if (!st) return st.error();
  if (!st->has_value()) return Error::NotFound;
  return **st;
}

Result<bool> ModuleFs::exists(std::string_view name) const {
  auto n = parse_name(name);
  if (!n) return n.error();
  auto dir = open_area(n->area, false, Error::OpenFailed);
  if (!dir) {
    if (dir.error() == Error::NotFound) return false;
    return dir.error();
  }
  auto st = stat_entry(dir->get(), n->base);
  if (!st) return st.error();
  return st->has_value();
}

Result<UniqueFd> ModuleFs::open(std::string_view name) const {
  auto n = parse_name(name);
  if (!n) return n.error();
  auto dir = open_area(n->area, false, Error::OpenFailed);
  if (!dir) return dir.error();
  return open_entry(dir->get(), n->base);
}

Result<std::string> ModuleFs::read(std::string_view name) const {
  auto fd = open(name);
  if (!fd) return fd.error();
  std::string data;
  std::array<char, 65536> buf;
  while (true) {
    const ssize_t n = ::read(fd->get(), buf.data(), buf.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return Error::ReadFailed;
    if (n == 0) break;
    data.append(buf.data(), static_cast<std::size_t>(n));
    if (data.size() > capacity_) return Error::ReadFailed;  // not a file the module made
  }
  return data;
}

Result<std::filesystem::path> ModuleFs::resolve(std::string_view name) const {
  auto n = parse_name(name);
  if (!n) return n.error();
  auto dir = open_area(n->area, false, Error::OpenFailed);
  if (dir) {
    auto st = stat_entry(dir->get(), n->base);
    if (!st) return st.error();
  } else if (dir.error() != Error::NotFound) {
    return dir.error();
  }
  return root_ / area_folder(n->area) / n->base;
}

// ---- writing ---------------------------------------------------------------------------

ModuleFs::Upload::Upload(const ModuleFs& fs, Name name, UniqueFd dir, UniqueFd file,
                         std::string temp, bool replace)
    : root_(fs.root_),
      capacity_(fs.capacity_),
      name_(std::move(name)),
      dir_(std::move(dir)),
      file_(std::move(file)),
      temp_(std::move(temp)),
      replace_(replace) {}

ModuleFs::Upload& ModuleFs::Upload::operator=(Upload&& o) noexcept {
  if (this != &o) {
    abort();
    root_ = std::move(o.root_);
    capacity_ = o.capacity_;
    name_ = std::move(o.name_);
    dir_ = std::move(o.dir_);
    file_ = std::move(o.file_);
    temp_ = std::exchange(o.temp_, {});
    replace_ = o.replace_;
    size_ = o.size_;
  }
  return *this;
}

ModuleFs::Upload::~Upload() {
  abort();
}

Error ModuleFs::Upload::append(std::string_view bytes) {
  if (!file_.valid()) return Error::WriteFailed;
  if (size_ + bytes.size() > capacity_) return Error::NoSpace;
  if (!write_all(file_.get(), bytes)) return Error::WriteFailed;
  size_ += bytes.size();
  return Error::None;
}

void ModuleFs::Upload::abort() {
  file_.reset();
  if (dir_.valid() && !temp_.empty()) ::unlinkat(dir_.get(), temp_.c_str(), 0);
  temp_.clear();
  dir_.reset();
}

bool ModuleFs::Upload::rename_into_place() const {
  const int dir = dir_.get();
  if (replace_) return ::renameat(dir, temp_.c_str(), dir, name_.base.c_str()) == 0;
  if (::renameat2(dir, temp_.c_str(), dir, name_.base.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno != EINVAL && errno != ENOSYS) return false;
  // A host file system without RENAME_NOREPLACE: a hard link fails as well on a taken name.
  if (::linkat(dir, temp_.c_str(), dir, name_.base.c_str(), 0) != 0) return false;
  ::unlinkat(dir, temp_.c_str(), 0);
  return true;
}

Error ModuleFs::Upload::commit() {
  if (!file_.valid() || temp_.empty()) return Error::WriteFailed;
  if (::fsync(file_.get()) != 0) {
    abort();
    return Error::WriteFailed;
  }
  file_.reset();
  // Space is checked again: another port may have stored a file meanwhile.
  const ModuleFs fs(root_, capacity_);
  auto used = fs.used();
  if (!used) {
    abort();
    return Error::WriteFailed;
  }
  std::uint64_t replaced = 0;
  if (replace_) {
    auto st = stat_entry(dir_.get(), name_.base);
    if (!st) {
      abort();
      return st.error();
    }
    replaced = st->value_or(0);
  }
  if (*used - replaced + size_ > capacity_) {
    abort();
    return Error::NoSpace;
  }
  if (!rename_into_place()) {
    const Error e = errno == EEXIST ? Error::Exists : Error::WriteFailed;
    abort();
    return e;
  }
  temp_.clear();
  ::fsync(dir_.get());
  dir_.reset();
  return Error::None;
}

Result<ModuleFs::Upload> ModuleFs::begin_upload(std::string_view name, bool replace) const {
  auto n = parse_name(name);
  if (!n) return n.error();
  auto dir = open_area(n->area, true, Error::WriteFailed);
  if (!dir) return dir.error() == Error::NotFound ? Error::WriteFailed : dir.error();
  auto st = stat_entry(dir->get(), n->base);
  if (!st) return st.error();
  if (st->has_value() && !replace) return Error::Exists;
  std::string temp = temp_name();
  UniqueFd file(::openat(dir->get(), temp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.valid()) return Error::WriteFailed;
  return Upload(*this, std::move(*n), std::move(*dir), std::move(file), std::move(temp), replace);
}

Error ModuleFs::write(std::string_view name, std::string_view data, bool replace) const {
  if (data.size() > capacity_) return parse_name(name) ? Error::TooLarge : Error::InvalidName;
  auto up = begin_upload(name, replace);
  if (!up) return up.error();
  if (const Error e = up->append(data); e != Error::None) return e;
  return up->commit();
}

Error ModuleFs::remove(std::string_view name) const {
  auto n = parse_name(name);
  if (!n) return n.error();
  auto dir = open_area(n->area, false, Error::DeleteFailed);
  if (!dir) return dir.error();
  auto st = stat_entry(dir->get(), n->base);
  if (!st) return st.error() == Error::OpenFailed ? Error::DeleteFailed : st.error();
  if (!st->has_value()) return Error::NotFound;
  if (::unlinkat(dir->get(), n->base.c_str(), 0) != 0)
    return errno == ENOENT ? Error::NotFound : Error::DeleteFailed;
  ::fsync(dir->get());
  return Error::None;
}

Result<std::size_t> ModuleFs::remove_matching(std::string_view pattern) const {
  auto p = parse_pattern(pattern);
  if (!p) return p.error();
  auto dir = open_area(p->area, false, Error::DeleteFailed);
  if (!dir) {
    if (dir.error() == Error::NotFound) return std::size_t{0};
    return dir.error();
  }
  std::vector<std::pair<std::string, std::uint64_t>> files;
  if (!scan(dir->get(), files)) return Error::DeleteFailed;
  std::size_t removed = 0;
  for (const auto& [base, size] : files) {
    if (::fnmatch(p->base.c_str(), base.c_str(), FNM_NOESCAPE | FNM_PERIOD) != 0) continue;
    if (::unlinkat(dir->get(), base.c_str(), 0) != 0) return Error::DeleteFailed;
    ++removed;
  }
  ::fsync(dir->get());
  return removed;
}

}  // namespace bg95::fs
