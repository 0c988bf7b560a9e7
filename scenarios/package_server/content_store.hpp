#pragma once
// The files the package server serves: in-memory files by URL path, then a folder on disk,
// read-only, never anything outside it. Bytes are shared: every transfer of one version of a
// file holds the same buffer (a thousand modules fetching one package hold it once), and a
// transfer keeps the version it started with even if the file is replaced meanwhile.
//
// Files on disk are read when asked for, on the caller's thread: packages are a few MiB and
// come from the page cache. What was read stays cached (up to kCacheBytes, the least recently
// used going first) and is read again only when the file's size or modification time changed:
// a CoAP transfer asks for the file once per block.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bg95::pkgserver {

using Bytes = std::vector<std::uint8_t>;

struct Content {
  std::shared_ptr<const Bytes> bytes;
  std::uint64_t tag = 0;  // FNV-1a 64 of the bytes: an ETag for this version
};

struct Lookup {
  enum class Status { Found, NotFound, Forbidden };
  Status status = Status::NotFound;
  Content content;
  std::string detail;  // why not found / forbidden, for the event
};

// The FNV-1a 64 hash of `bytes`.
std::uint64_t content_tag(const Bytes& bytes);

class ContentStore {
 public:
  // Files larger than this are not served from the folder (a package is at most 6 MiB).
  static constexpr std::uintmax_t kMaxFileSize = 256u * 1024u * 1024u;
  // Bytes of files from the folder kept in memory between requests.
  static constexpr std::uintmax_t kCacheBytes = 256u * 1024u * 1024u;

  ContentStore(std::filesystem::path root, const std::map<std::string, Bytes>& files);

  // `path` is a decoded URL path ("/a/b.bin"); set_file() replaces (or adds) an in-memory
  // file, remove_file() drops one.
  void set_file(const std::string& path, Bytes bytes);
  void remove_file(const std::string& path);

  // `segments` are the decoded path segments ("a", "b.bin"). A "." or ".." segment, a segment
  // with a NUL or "/" in it, or a file outside the folder (through a symbolic link) is
  // Forbidden; empty segments are skipped.
  Lookup find(const std::vector<std::string>& segments);

 private:
  struct Cached {
    std::filesystem::file_time_type mtime;
    std::uintmax_t size = 0;
    Content content;
    std::uint64_t last_use = 0;
  };
  Lookup find_on_disk(const std::string& relative);
  // Drops the least recently used files until the cache fits kCacheBytes (`keep` stays).
  void trim_cache(const std::filesystem::path& keep);

  std::filesystem::path root_;  // canonical, or empty when there is no folder
  std::map<std::string, Content> memory_;
  std::map<std::filesystem::path, Cached> cache_;
  std::uintmax_t cached_bytes_ = 0;
  std::uint64_t uses_ = 0;
};

// Splits "/a/b.bin" into {"a", "b.bin"} without decoding (HTTP decodes first, CoAP has its
// segments as options).
std::vector<std::string> split_path(std::string_view path);

// "/" + the segments joined by "/" (empty ones left out): the path an event reports.
std::string join_path(const std::vector<std::string>& segments);

}  // namespace bg95::pkgserver
