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

// The factory file, checked to be a flash of this geometry; the process's one descriptor of it.
std::shared_ptr<OpenFiles::File> open_factory(const std::filesystem::path& flash_file,
                                              const std::filesystem::path& factory,
                                              const Geometry& geometry, OpenFiles& files) {
  auto file = files.file(factory, O_RDONLY);
  const int fd = file->fd();
  if (fd < 0)
    throw FlashError(fmt::format("{}: its factory image {} cannot be opened: {}",
                                 flash_file.string(), factory.string(), why()));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != geometry.total_size())
    throw FlashError(fmt::format("{}: its factory image {} is not a flash of {} bytes",
                                 flash_file.string(), factory.string(), geometry.total_size()));
  return file;
}

}  // namespace

FactoryBase::FactoryBase(std::shared_ptr<OpenFiles::File> factory,
                         std::shared_ptr<OpenFiles::File> map, std::vector<std::uint8_t> own)
    : factory_(std::move(factory)), map_(std::move(map)), own_(std::move(own)) {}

int FactoryBase::fd() const {
  const int fd = factory_->fd();
  if (fd < 0)
    throw FlashError(
        fmt::format("{}: cannot open the factory image: {}", factory_->path().string(), why()));
  return fd;
}

std::unique_ptr<FactoryBase> FactoryBase::create(const std::filesystem::path& flash_file,
                                                 const std::filesystem::path& factory,
                                                 const Geometry& geometry, OpenFiles& files) {
  auto factory_file = open_factory(flash_file, factory, geometry, files);
  // The block map first, then the name of the factory: a flash file whose folder lost power
  // in between has no factory and is formatted as a flash of its own.
  std::vector<std::uint8_t> own(geometry.block_count, 0);
  const auto map = map_file(flash_file);
  const int map_fd = ::open(map.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool written = map_fd >= 0 && ::pwrite(map_fd, own.data(), own.size(), 0) ==
                                          static_cast<ssize_t>(own.size());
  const std::string map_error = why();
  if (map_fd >= 0) ::close(map_fd);
  if (!written)
    throw FlashError(
        fmt::format("{}: cannot write {}: {}", flash_file.string(), map.string(), map_error));
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
  if (ec)
    throw FlashError(
        fmt::format("{}: cannot write {}: {}", flash_file.string(), link.string(), ec.message()));
  return std::make_unique<FactoryBase>(std::move(factory_file), files.file(map, O_RDWR),
                                       std::move(own));
}

std::unique_ptr<FactoryBase> FactoryBase::open(const std::filesystem::path& flash_file,
                                               const Geometry& geometry, OpenFiles& files) {
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
  auto factory_file = open_factory(flash_file, factory, geometry, files);
  // Read here and closed: the map is opened again only to write it (detach()).
  const auto map = map_file(flash_file);
  const int map_fd = ::open(map.c_str(), O_RDONLY | O_CLOEXEC);
  std::vector<std::uint8_t> own(geometry.block_count, 0);
  const bool read_ok =
      map_fd >= 0 &&
      ::pread(map_fd, own.data(), own.size(), 0) == static_cast<ssize_t>(own.size()) &&
      std::all_of(own.begin(), own.end(), [](std::uint8_t b) { return b <= 1; });
  if (map_fd >= 0) ::close(map_fd);
  if (!read_ok)
    throw FlashError(fmt::format("{}: its block map {} is missing or damaged", flash_file.string(),
                                 map.string()));
  return std::make_unique<FactoryBase>(std::move(factory_file), files.file(map, O_RDWR),
                                       std::move(own));
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
  const int fd = map_->fd();
  if (fd < 0 || ::pwrite(fd, &one, 1, block) != 1)
    throw HostWriteError(fmt::format("{}: cannot write: {}", map_->path().string(), why()));
  own_[block] = 1;
}

std::uint32_t FactoryBase::factory_blocks() const {
  return static_cast<std::uint32_t>(std::count(own_.begin(), own_.end(), 0));
}

}  // namespace bg95::flash
