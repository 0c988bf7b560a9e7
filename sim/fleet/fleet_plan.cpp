#include "sim/fleet/fleet_plan.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

#include "sim/firmware/image.hpp"
#include "sim/flash/factory_base.hpp"
#include "sim/flash/layout.hpp"
#include "sim/state/settings.hpp"
#include "sim/state/state_dir.hpp"
#include "sim/util/sha256.hpp"

namespace bg95::fleet {

std::string expand(const std::string& pattern, int n) {
  if (pattern.empty()) return {};
  if (pattern.find('{') == std::string::npos) return pattern + "-" + std::to_string(n);
  return fmt::format(fmt::runtime(pattern), n);
}

FleetPlan plan_from_options(int count, const FleetDefaults& defaults) {
  FleetPlan plan;
  for (int n = 1; n <= count; ++n) {
    ModulePlan m;
    m.number = n;
    m.model = defaults.model;
    m.pty = defaults.pty;
    if (m.pty) {
      m.link = expand(defaults.link, n);
      m.usb_link = expand(defaults.usb_link, n);
    }
    m.lwm2m_endpoint = expand(defaults.lwm2m_endpoint, n);
    m.state_dir = defaults.state / fmt::format("{:04}", n);
    m.dialect = defaults.dialect;
    plan.modules.push_back(std::move(m));
  }
  return plan;
}

std::shared_ptr<const std::vector<std::uint8_t>> DefaultImages::get(const std::string& model,
                                                                    const std::string& revision,
                                                                    const std::string& full_version,
                                                                    std::uint64_t size) {
  auto& image = images_[{model, revision, full_version, size}];
  if (!image)
    image = std::make_shared<const std::vector<std::uint8_t>>(
        make_default_image(model, size, revision, full_version));
  return image;
}

std::filesystem::path DefaultImages::factory_flash(const std::string& model,
                                                   const std::string& revision,
                                                   const std::string& full_version,
                                                   std::uint64_t size) {
  if (factory_folder_.empty()) return {};
  auto& path = factories_[{model, revision, full_version, size}];
  if (!path.empty()) return path;
  const auto image = get(model, revision, full_version, size);
  const auto header = firmware::decode_image_header(*image);
  const auto layout = flash::Layout::standard();
  const std::uint64_t active =
      std::uint64_t{layout.active.first_block} * layout.geometry.block_size();
  const auto file = factory_folder_ / fmt::format("{}-{}.flash", header->full_version,
                                                  util::to_hex(util::sha256(*image)).substr(0, 16));
  if (std::filesystem::exists(file)) {
    // Named by its image's SHA-256: another process made the same one. Anything else in it
    // would change every module that reads from it.
    if (!flash::FactoryBase::holds(file, active, *image))
      throw state::StateError(fmt::format(
          "{}: this factory flash does not hold the image its name says (damaged?); the state "
          "folders made from it depend on it",
          file.string()));
  } else {
    std::filesystem::create_directories(factory_folder_);
    // Made aside and renamed into place: a process that stops half-way leaves no factory.
    const auto temp = std::filesystem::path(file.string() + fmt::format(".{}.new", ::getpid()));
    std::filesystem::remove(temp);
    make_factory_flash(temp, *image);
    ::chmod(temp.c_str(), 0444);
    std::filesystem::rename(temp, file);
  }
  path = file;
  return path;
}

Budget budget(const FleetPlan& plan, const DescriptorCosts& costs,
              const std::filesystem::path& locked_root, bool lwm2m, std::uint64_t descriptor_limit,
              std::optional<std::uint64_t> ptys_free) {
  Budget b;
  b.descriptor_limit = descriptor_limit;
  b.ptys_free = ptys_free;
  b.count = plan.modules.size();
  b.descriptors = static_cast<std::uint64_t>(costs.process);
  // The modules' folders the root's lock covers, as state::FleetLock::covers() says (that needs
  // the lock itself, taken only after this check passed).
  const auto root = locked_root.empty() ? std::filesystem::path{}
                                        : std::filesystem::absolute(locked_root).lexically_normal();
  const auto covered = [&](const std::filesystem::path& dir) {
    if (root.empty()) return false;
    const auto d = std::filesystem::absolute(dir).lexically_normal().string();
    const auto r = root.string();
    return d.size() > r.size() && d.starts_with(r) && (r.ends_with('/') || d[r.size()] == '/');
  };
  bool fitting = true;
  std::uint64_t flash_files = 0;
  for (const ModulePlan& m : plan.modules) {
    // The cache holds at most its capacity, and a small fleet's flash files (its flash.bin, its
    // block map, a factory flash) fewer.
    const auto held =
        std::min<std::uint64_t>(static_cast<std::uint64_t>(costs.flash_files), flash_files + 3);
    b.descriptors += held - flash_files;
    flash_files = held;
    const std::uint64_t ptys = m.pty ? 1 + (m.usb_link.empty() ? 0 : 1) : 0;
    b.ptys += ptys;
    b.descriptors += static_cast<std::uint64_t>((covered(m.state_dir) ? 0 : costs.state) +
                                                (lwm2m ? costs.lwm2m : 0)) +
                     ptys * static_cast<std::uint64_t>(costs.pty);
    fitting = fitting && b.descriptors <= descriptor_limit && (!ptys_free || b.ptys <= *ptys_free);
    if (fitting) ++b.fitting;
  }
  return b;
}

std::string Budget::refusal(const DescriptorCosts& costs) const {
  std::string limits =
      fmt::format("this process may open {} files (RLIMIT_NOFILE)", descriptor_limit);
  if (ptys_free)
    limits += fmt::format(" and the kernel has {} ptys free (kernel.pty.max - kernel.pty.nr)",
                          *ptys_free);
  return fmt::format(
      "{} modules need about {} open files and {} ptys (per module: {} per pty, {} for an LwM2M "
      "client, {} for a state folder outside the fleet's locked --state folder; {} for the "
      "process and up to {} open flash files), but {}: {} of them fit. Raise the limit (e.g. "
      "prlimit --nofile={}:{} bg95sim ..., as root, or nofile in /etc/security/limits.conf), "
      "{}or run fewer modules per process.",
      count, descriptors, ptys, costs.pty, costs.lwm2m, costs.state, costs.process,
      costs.flash_files, limits, fitting, descriptors, descriptors,
      ptys == 0 ? ""
                : fmt::format("give modules without a host --ports none (no pty, {} files less "
                              "each), ",
                              costs.pty));
}

std::size_t flash_file_capacity(const Budget& budget, const DescriptorCosts& costs) {
  const auto least = static_cast<std::uint64_t>(costs.flash_files);
  const std::uint64_t spare = budget.descriptor_limit > budget.descriptors
                                  ? budget.descriptor_limit - budget.descriptors
                                  : 0;
  const std::uint64_t all = 3 * static_cast<std::uint64_t>(budget.count);  // flash, map, factory
  return static_cast<std::size_t>(std::max(least, std::min(all, least + spare / 4)));
}

std::optional<std::uint64_t> free_ptys() {
  const auto read = [](const char* file) -> std::optional<std::uint64_t> {
    std::ifstream in(file);
    std::uint64_t v = 0;
    if (in >> v) return v;
    return std::nullopt;
  };
  const auto max = read("/proc/sys/kernel/pty/max");
  const auto used = read("/proc/sys/kernel/pty/nr");
  if (!max || !used) return std::nullopt;
  return *max > *used ? *max - *used : 0;
}

void configure(const ModulePlan& plan, ModuleConfig& config, PortOptions& ports,
               DefaultImages& images) {
  config.index = static_cast<std::uint32_t>(plan.number - 1);
  config.state_dir = plan.state_dir;
  if (!plan.model.empty()) config.model = plan.model;
  config.firmware_revision = plan.firmware_revision;
  config.firmware_full_version = plan.firmware_full_version;
  if (plan.imei || plan.imsi || plan.iccid) {
    state::Identity id = state::default_identity(config.index);
    if (plan.imei) id.imei = *plan.imei;
    if (plan.imsi) id.imsi = *plan.imsi;
    if (plan.iccid) id.iccid = *plan.iccid;
    config.identity = id;
  }
  config.lwm2m.endpoint = plan.lwm2m_endpoint;
  config.dialect = plan.dialect;
  ports.pty = plan.pty;
  ports.link = plan.link;
  ports.usb_link = plan.usb_link;
  ports.log_prefix = fmt::format("bg95sim[{}]", plan.number);
  // The image a new state of this module gets, shared with every module that gets the same.
  const std::string model = config.model.empty() ? "BG95-M3" : config.model;
  config.default_image = images.get(model, plan.firmware_revision, plan.firmware_full_version,
                                    config.default_image_size);
  config.factory_flash = images.factory_flash(
      model, plan.firmware_revision, plan.firmware_full_version, config.default_image_size);
}

}  // namespace bg95::fleet
