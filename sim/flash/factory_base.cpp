#include "sim/flash/factory_base.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "sim/flash/nand_flash.hpp"

namespace bg95::flash {
namespace {

std::filesystem::path link_file(const std::filesystem::path& flash_file) {
  return flash_file.string() + ".factory";
}
std::filesystem::path map_file(const std::filesystem::path& flash_file) {
  return flash_file.string() + ".blocks";
}

std::string why() {
  return std::strerror(errno);
}

// The factory file, read-only, checked to be a flash of this geometry.
int open_factory(const std::filesystem::path& flash_file, const std::filesystem::path& factory,
                 const Geometry& geometry) {
  const int fd = ::open(factory.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw FlashError(fmt::format("{}: its factory image {} cannot be opened: {}",
                                 flash_file.string(), factory.string(), why()));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != geometry.total_size()) {
    ::close(fd);
    throw FlashError(fmt::format("{}: its factory image {} is not a flash of {} bytes",
                                 flash_file.string(), factory.string(), geometry.total_size()));
  }
  return fd;
}

}  // namespace

FactoryBase::FactoryBase(int fd, int map_fd, std::vector<std::uint8_t> own,
                         std::filesystem::path map_file_path)
    : fd_(fd), map_fd_(map_fd), own_(std::move(own)), map_file_(std::move(map_file_path)) {}

FactoryBase::~FactoryBase() {
  if (fd_ >= 0) ::close(fd_);
  if (map_fd_ >= 0) ::close(map_fd_);
}

std::unique_ptr<FactoryBase> FactoryBase::create(const std::filesystem::path& flash_file,
                                                 const std::filesystem::path& factory,
                                                 const Geometry& geometry) {
  const int fd = open_factory(flash_file, factory, geometry);
  // The block map first, then the name of the factory: a flash file whose folder lost power
  // in between has no factory and is formatted as a flash of its own.
  std::vector<std::uint8_t> own(geometry.block_count, 0);
  const auto map = map_file(flash_file);
  const int map_fd = ::open(map.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (map_fd < 0 ||
      ::pwrite(map_fd, own.data(), own.size(), 0) != static_cast<ssize_t>(own.size())) {
    if (map_fd >= 0) ::close(map_fd);
    ::close(fd);
    throw FlashError(
        fmt::format("{}: cannot write {}: {}", flash_file.string(), map.string(), why()));
  }
  const auto link = link_file(flash_file);
  const auto temp = std::filesystem::path(link.string() + ".new");
  std::error_code ec;
  const auto relative = std::filesystem::relative(
      std::filesystem::absolute(factory), std::filesystem::absolute(flash_file).parent_path(), ec);
  {
    std::ofstream out(temp, std::ios::trunc);
    out << (ec || relative.empty() ? std::filesystem::absolute(factory) : relative).string()
        << "\n";
    if (!out.flush()) ec = std::make_error_code(std::errc::io_error);
  }
  if (!ec) std::filesystem::rename(temp, link, ec);
  if (ec) {
    ::close(map_fd);
    ::close(fd);
    throw FlashError(
        fmt::format("{}: cannot write {}: {}", flash_file.string(), link.string(), ec.message()));
  }
  return std::make_unique<FactoryBase>(fd, map_fd, std::move(own), map);
}

std::unique_ptr<FactoryBase> FactoryBase::open(const std::filesystem::path& flash_file,
                                               const Geometry& geometry) {
  const auto link = link_file(flash_file);
  if (!std::filesystem::exists(link)) return nullptr;
  std::string name;
  {
    std::ifstream in(link);
    std::getline(in, name);
  }
  if (name.empty())
    throw FlashError(
        fmt::format("{}: {} names no factory image", flash_file.string(), link.string()));
  std::filesystem::path factory(name);
  if (factory.is_relative()) factory = flash_file.parent_path() / factory;
  const int fd = open_factory(flash_file, factory, geometry);
  const auto map = map_file(flash_file);
  const int map_fd = ::open(map.c_str(), O_RDWR | O_CLOEXEC);
  std::vector<std::uint8_t> own(geometry.block_count, 0);
  const bool read_ok =
      map_fd >= 0 &&
      ::pread(map_fd, own.data(), own.size(), 0) == static_cast<ssize_t>(own.size()) &&
      std::all_of(own.begin(), own.end(), [](std::uint8_t b) { return b <= 1; });
  if (!read_ok) {
    if (map_fd >= 0) ::close(map_fd);
    ::close(fd);
    throw FlashError(fmt::format("{}: its block map {} is missing or damaged", flash_file.string(),
                                 map.string()));
  }
  return std::make_unique<FactoryBase>(fd, map_fd, std::move(own), map);
}

void FactoryBase::forget(const std::filesystem::path& flash_file) {
  std::error_code ec;
  std::filesystem::remove(link_file(flash_file), ec);
  std::filesystem::remove(map_file(flash_file), ec);
}

bool FactoryBase::holds(const std::filesystem::path& factory, std::uint64_t offset,
                        std::span<const std::uint8_t> logical) {
  const int fd = ::open(factory.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::vector<std::uint8_t> stored(logical.size());
  const bool read_ok = ::pread(fd, stored.data(), stored.size(), static_cast<off_t>(offset)) ==
                       static_cast<ssize_t>(stored.size());
  ::close(fd);
  if (!read_ok) return false;
  for (std::size_t i = 0; i < stored.size(); ++i)
    if (static_cast<std::uint8_t>(~stored[i]) != logical[i]) return false;
  return true;
}

void FactoryBase::detach(std::uint32_t block) {
  if (own_[block] != 0) return;
  const std::uint8_t one = 1;
  if (::pwrite(map_fd_, &one, 1, block) != 1)
    throw HostWriteError(fmt::format("{}: cannot write: {}", map_file_.string(), why()));
  own_[block] = 1;
}

std::uint32_t FactoryBase::factory_blocks() const {
  return static_cast<std::uint32_t>(std::count(own_.begin(), own_.end(), 0));
}

}  // namespace bg95::flash
