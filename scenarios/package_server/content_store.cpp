#include "scenarios/package_server/content_store.hpp"

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace bg95::pkgserver {
namespace fs = std::filesystem;

std::uint64_t content_tag(const Bytes& bytes) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (const std::uint8_t b : bytes) {
    hash ^= b;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
    if (end > start) segments.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

std::string join_path(const std::vector<std::string>& segments) {
  std::string path;
  for (const std::string& segment : segments) {
    if (segment.empty()) continue;
    path += '/';
    path += segment;
  }
  return path.empty() ? "/" : path;
}

ContentStore::ContentStore(fs::path root, const std::map<std::string, Bytes>& files) {
  if (!root.empty()) {
    std::error_code ec;
    root_ = fs::canonical(root, ec);
    if (ec || !fs::is_directory(root_)) {
      throw std::invalid_argument("root: \"" + root.string() + "\" is not a folder");
    }
  }
  for (const auto& [path, bytes] : files) {
    set_file(path, bytes);
  }
}

void ContentStore::set_file(const std::string& path, Bytes bytes) {
  Content content;
  content.tag = content_tag(bytes);
  content.bytes = std::make_shared<const Bytes>(std::move(bytes));
  memory_[join_path(split_path(path))] = std::move(content);
}

void ContentStore::remove_file(const std::string& path) {
  memory_.erase(join_path(split_path(path)));
}

Lookup ContentStore::find(const std::vector<std::string>& segments) {
  std::string relative;
  for (const std::string& segment : segments) {
    if (segment.empty()) continue;
    if (segment == "." || segment == ".." || segment.find('\0') != std::string::npos ||
        segment.find('/') != std::string::npos) {
      return {Lookup::Status::Forbidden, {}, "path segment \"" + segment + "\" refused"};
    }
    if (!relative.empty()) relative += '/';
    relative += segment;
  }
  if (const auto it = memory_.find("/" + relative); it != memory_.end()) {
    return {Lookup::Status::Found, it->second, {}};
  }
  if (root_.empty() || relative.empty()) return {Lookup::Status::NotFound, {}, "no such file"};
  return find_on_disk(relative);
}

Lookup ContentStore::find_on_disk(const std::string& relative) {
  std::error_code ec;
  const fs::path real = fs::canonical(root_ / relative, ec);
  if (ec) return {Lookup::Status::NotFound, {}, "no such file"};
  // Inside the folder: the canonical path (links resolved) starts with the folder's.
  auto r = root_.begin();
  auto p = real.begin();
  for (; r != root_.end(); ++r, ++p) {
    if (p == real.end() || *p != *r) {
      return {Lookup::Status::Forbidden, {}, "leads outside the served folder"};
    }
  }
  const fs::file_status status = fs::status(real, ec);
  if (ec || !fs::is_regular_file(status)) return {Lookup::Status::NotFound, {}, "not a file"};
  const std::uintmax_t size = fs::file_size(real, ec);
  const fs::file_time_type mtime = fs::last_write_time(real, ec);
  if (ec) return {Lookup::Status::NotFound, {}, "cannot stat: " + ec.message()};
  if (size > kMaxFileSize) return {Lookup::Status::Forbidden, {}, "file too large to serve"};

  if (const auto it = cache_.find(real);
      it != cache_.end() && it->second.size == size && it->second.mtime == mtime) {
    it->second.last_use = ++uses_;
    return {Lookup::Status::Found, it->second.content, {}};
  }
  std::ifstream in(real, std::ios::binary);
  Bytes bytes(static_cast<std::size_t>(size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in || in.gcount() != static_cast<std::streamsize>(size)) {
    return {Lookup::Status::NotFound, {}, "cannot read the file"};
  }
  Content content;
  content.tag = content_tag(bytes);
  content.bytes = std::make_shared<const Bytes>(std::move(bytes));
  Cached& cached = cache_[real];
  cached_bytes_ -= cached.size;  // 0 for a new entry
  cached = Cached{mtime, size, content, ++uses_};
  cached_bytes_ += size;
  trim_cache(real);
  return {Lookup::Status::Found, std::move(content), {}};
}

void ContentStore::trim_cache(const fs::path& keep) {
  while (cached_bytes_ > kCacheBytes && cache_.size() > 1) {
    auto oldest = cache_.end();
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first != keep &&
          (oldest == cache_.end() || it->second.last_use < oldest->second.last_use)) {
        oldest = it;
      }
    }
    if (oldest == cache_.end()) return;
    cached_bytes_ -= oldest->second.size;
    cache_.erase(oldest);
  }
}

}  // namespace bg95::pkgserver
