#include "sim/fleet/fleet_file.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string_view>

#include <fmt/format.h>

#include "sim/firmware/image.hpp"
#include "sim/fleet/identity_range.hpp"
#include "sim/options.hpp"
#include "sim/state/settings.hpp"

namespace bg95::fleet {
namespace {

constexpr int kMaxModules = 10000;  // as --count
constexpr std::array<std::string_view, 11> kModuleKeys{
    "model",    "firmware", "imei_start",     "imsi_start", "iccid_start", "link",
    "usb_link", "state",    "lwm2m_endpoint", "dialect",    "ports"};
constexpr std::array<std::string_view, 3> kTopKeys{"count", "defaults", "modules"};

// A reason to refuse the file, found while reading it.
struct Refusal {
  std::string message;
};

// A setting as written: its text, and where (for errors about it later).
struct Setting {
  std::string value;
  YAML::Mark mark;
  std::string key;  // "defaults.link", "modules[2].firmware"
};

// `defaults` (all modules) or one `modules` entry (a range of them).
struct Layer {
  int first = 1, last = 0;
  std::map<std::string, Setting, std::less<>> settings;
  // Its `dialect` mapping, checked, and the key path of it ("modules[1].dialect"): each
  // module it holds reads it over what the layers before set, so that it overrides per key.
  std::optional<YAML::Node> dialect;
  std::string dialect_at;
};

class Reader {
 public:
  explicit Reader(std::filesystem::path file) : file_(std::move(file)) {}

  [[noreturn]] void refuse(const YAML::Mark& mark, std::string_view key,
                           const std::string& what) const {
    const std::string at =
        mark.is_null() ? file_.string()
                       : fmt::format("{}:{}:{}", file_.string(), mark.line + 1, mark.column + 1);
    throw Refusal{key.empty() ? fmt::format("{}: {}", at, what)
                              : fmt::format("{}: {}: {}", at, key, what)};
  }

  FleetPlan read(const FleetDefaults& defaults) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(file_.string());
    } catch (const YAML::BadFile&) {
      refuse(YAML::Mark::null_mark(), "", "cannot read the fleet file");
    } catch (const YAML::ParserException& e) {
      refuse(e.mark, "", e.msg);
    }
    if (!root.IsMap())
      refuse(root.Mark(), "", "a fleet file is a map with count, defaults, modules");
    check_keys(root, "", kTopKeys);
    const YAML::Node count = root["count"];
    if (!count) refuse(root.Mark(), "count", "missing (how many modules)");
    count_ = integer(count, "count", 1, kMaxModules);

    std::vector<Layer> layers;
    Layer all;
    all.last = count_;
    if (const YAML::Node d = root["defaults"]) read_settings(d, "defaults", all, false);
    layers.push_back(std::move(all));
    if (const YAML::Node modules = root["modules"]) {
      if (!modules.IsSequence())
        refuse(modules.Mark(), "modules", "a list of entries, each with a range");
      for (std::size_t i = 0; i < modules.size(); ++i) {
        Layer entry;
        read_settings(modules[i], fmt::format("modules[{}]", i), entry, true);
        layers.push_back(std::move(entry));
      }
    }
    FleetPlan plan;
    for (int n = 1; n <= count_; ++n)
      plan.modules.push_back(resolve(n, layers, defaults));
    check_distinct(plan, layers);
    return plan;
  }

 private:
  void check_keys(const YAML::Node& map, const std::string& where,
                  std::span<const std::string_view> known, bool range_too = false) const {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const std::string path = where.empty() ? key : where + "." + key;
      if (!seen.insert(key).second) refuse(kv.first.Mark(), path, "given twice");
      const bool ok = std::find(known.begin(), known.end(), key) != known.end() ||
                      (range_too && key == "range");
      if (!ok) {
        std::string list;
        for (const auto k : known)
          list += (list.empty() ? "" : ", ") + std::string(k);
        refuse(kv.first.Mark(), path,
               fmt::format("unknown key (known: {}{})", range_too ? "range, " : "", list));
      }
    }
  }

  std::string scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) refuse(node.Mark(), key, "must be a single value");
    return node.Scalar();
  }

  int integer(const YAML::Node& node, const std::string& key, int low, int high) const {
    const std::string text = scalar(node, key);
    int v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < low || v > high)
      refuse(node.Mark(), key, fmt::format("\"{}\" is not a number in {}..{}", text, low, high));
    return v;
  }

  bool boolean(const YAML::Node& node, const std::string& key) const {
    const std::string text = scalar(node, key);
    if (text == "true" || text == "yes" || text == "on") return true;
    if (text == "false" || text == "no" || text == "off") return false;
    refuse(node.Mark(), key, fmt::format("\"{}\" is not true or false", text));
  }

  // "7" or "3-10", within 1..count.
  void read_range(const YAML::Node& node, const std::string& key, Layer& layer) const {
    const std::string text = scalar(node, key);
    const auto dash = text.find('-');
    auto number = [&](std::string_view part) {
      int v = 0;
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
      if (ec != std::errc() || end != part.data() + part.size() || part.empty())
        refuse(node.Mark(), key, fmt::format("\"{}\" is not N or FIRST-LAST", text));
      return v;
    };
    const std::string_view t(text);
    layer.first = number(t.substr(0, dash));
    layer.last = dash == std::string::npos ? layer.first : number(t.substr(dash + 1));
    if (layer.first < 1 || layer.last > count_ || layer.first > layer.last)
      refuse(node.Mark(), key, fmt::format("{} is not within 1..{} (count)", text, count_));
  }

  void read_settings(const YAML::Node& map, const std::string& where, Layer& layer,
                     bool ranged) const {
    if (!map.IsMap())
      refuse(map.Mark(), where,
             ranged ? "an entry is a map with a range and settings" : "a map of settings");
    check_keys(map, where, kModuleKeys, ranged);
    if (ranged) {
      const YAML::Node range = map["range"];
      if (!range) refuse(map.Mark(), where + ".range", "missing (which modules: N or FIRST-LAST)");
      read_range(range, where + ".range", layer);
    }
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      if (key == "range") continue;
      const std::string path = where + "." + key;
      if (key == "dialect") {
        read_dialect_map(kv.second, path, layer);
        continue;
      }
      Setting s{scalar(kv.second, path), kv.second.Mark(), path};
      check_value(key, s);
      layer.settings[key] = std::move(s);
    }
  }

  // The module options of sim/options.hpp, by their scenario keys, checked now: a module
  // reads them later (apply_dialect).
  void read_dialect_map(const YAML::Node& map, const std::string& where, Layer& layer) const {
    if (!map.IsMap())
      refuse(map.Mark(), where, "a map of module options (docs/scenarios.md, \"Dialects\")");
    check_keys(map, where, options::dialect_keys());
    layer.dialect = map;
    layer.dialect_at = where;
    Dialect checked;
    apply_dialect(layer, checked);
  }

  void apply_dialect(const Layer& layer, Dialect& d) const {
    const auto at = [&](const options::DialectOption& o) {
      return layer.dialect_at + "." + std::string(o.key);
    };
    options::read_dialect(
        *layer.dialect, d,
        {[&](const YAML::Node& v, const options::DialectOption& o) {
           return integer(v, at(o), o.min, o.max);
         },
         [&](const YAML::Node& v, const options::DialectOption& o) { return boolean(v, at(o)); }});
  }

  // What can be checked of a value alone.
  void check_value(const std::string& key, const Setting& s) const {
    util::Expected<bool> ok = true;
    if (key == "model") {
      if (!firmware::known_model(s.value))
        ok = util::Error{fmt::format(
            "unknown model \"{}\" (BG95-M1, BG95-M2, BG95-M3, BG95-M4, BG95-M5 or BG77)", s.value)};
    } else if (key == "firmware") {
      ok = check_firmware(s.value);
    } else if (key == "imei_start") {
      ok = check_imei(s.value);
    } else if (key == "imsi_start") {
      ok = check_imsi(s.value);
    } else if (key == "iccid_start") {
      ok = check_iccid(s.value);
    } else if (key == options::ports_option().key) {
      if (!options::ports_option().allows(s.value))
        ok =
            util::Error{fmt::format("\"{}\" is not {}", s.value, options::ports_option().listed())};
    } else {  // patterns
      try {
        (void)expand(s.value, 1);
      } catch (const fmt::format_error& e) {
        ok = util::Error{fmt::format(
            "bad pattern \"{}\" ({}); {{}} or {{:04}} is the module number", s.value, e.what())};
      }
    }
    if (!ok) refuse(s.mark, s.key, ok.error());
  }

  // REVISION_VERSION as ATI and AT+QGMR print them, e.g. BG95M3LAR02A03_01.011.01.011.
  static util::Expected<bool> check_firmware(const std::string& v) {
    const auto bad = [](char c) { return c <= 0x20 || c >= 0x7F; };
    const auto underscore = v.find('_');
    if (underscore == std::string::npos || underscore == 0 || underscore + 1 == v.size() ||
        std::any_of(v.begin(), v.end(), bad))
      return util::Error{
          fmt::format("\"{}\" is not REVISION_VERSION (e.g. BG95M3LAR02A03_01.011.01.011)", v)};
    if (underscore > 31 || v.size() > 63)
      return util::Error{"too long: a revision has at most 31 characters, the full version 63"};
    return true;
  }

  const Setting* find(int n, const std::vector<Layer>& layers, std::string_view key,
                      const Layer** from = nullptr) const {
    const Setting* found = nullptr;
    for (const Layer& l : layers) {
      if (n < l.first || n > l.last) continue;
      if (auto it = l.settings.find(key); it != l.settings.end()) {
        found = &it->second;
        if (from != nullptr) *from = &l;
      }
    }
    return found;
  }

  ModulePlan resolve(int n, const std::vector<Layer>& layers, const FleetDefaults& d) const {
    ModulePlan m;
    m.number = n;
    const Setting* model = find(n, layers, "model");
    m.model = model ? model->value : d.model;
    if (const Setting* fw = find(n, layers, "firmware")) {
      m.firmware_revision = fw->value.substr(0, fw->value.find('_'));
      m.firmware_full_version = fw->value;
      // A BG77 runs BG77… firmware, a BG95-M3 BG95M3…: a mix-up is a mistake in the file.
      std::string family = m.model.empty() ? "BG95-M3" : m.model;
      family.erase(std::remove(family.begin(), family.end(), '-'), family.end());
      if (!m.firmware_revision.starts_with(family))
        refuse(fw->mark, fw->key,
               fmt::format("module {} is a {}, whose firmware revisions start with {}", n,
                           m.model.empty() ? "BG95-M3" : m.model, family));
    }
    const auto identity = [&](std::string_view key, auto nth) -> std::optional<std::string> {
      const Layer* from = nullptr;
      const Setting* s = find(n, layers, key, &from);
      if (s == nullptr) return std::nullopt;
      auto v = nth(s->value, static_cast<std::uint64_t>(n - from->first));
      if (!v) refuse(s->mark, s->key, v.error());
      return *v;
    };
    m.imei = identity("imei_start", nth_imei);
    m.imsi = identity("imsi_start", nth_imsi);
    m.iccid = identity("iccid_start", nth_iccid);
    const auto pattern = [&](std::string_view key, const std::string& fallback) {
      const Setting* s = find(n, layers, key);
      return expand(s ? s->value : fallback, n);
    };
    const Setting* ports = find(n, layers, options::ports_option().key);
    m.pty = ports ? ports->value == options::kPortsPty : d.pty;
    // A headless module has no port: the link patterns are for the others.
    if (m.pty) {
      m.link = pattern("link", d.link);
      m.usb_link = pattern("usb_link", d.usb_link);
    }
    m.lwm2m_endpoint = pattern("lwm2m_endpoint", d.lwm2m_endpoint);
    const Setting* state = find(n, layers, "state");
    m.state_dir =
        state ? std::filesystem::path(expand(state->value, n)) : d.state / fmt::format("{:04}", n);
    m.dialect = d.dialect;
    for (const Layer& l : layers)
      if (n >= l.first && n <= l.last && l.dialect) apply_dialect(l, m.dialect);
    return m;
  }

  // Two modules on one link, state folder, endpoint name or IMEI would trip over each other.
  void check_distinct(const FleetPlan& plan, const std::vector<Layer>& layers) const {
    const auto unique = [&](std::string_view key, std::string_view what, auto value_of) {
      std::map<std::string, int> owner;
      for (const ModulePlan& m : plan.modules) {
        const std::string v = value_of(m);
        if (v.empty()) continue;
        const auto [it, fresh] = owner.emplace(v, m.number);
        if (fresh) continue;
        const Setting* s = find(m.number, layers, key);
        refuse(s ? s->mark : YAML::Mark::null_mark(), s ? s->key : std::string(key),
               fmt::format("modules {} and {} would have the same {} {}", it->second, m.number,
                           what, v));
      }
    };
    unique("link", "link", [](const ModulePlan& m) { return m.link; });
    unique("usb_link", "USB link", [](const ModulePlan& m) { return m.usb_link; });
    unique("state", "state folder", [](const ModulePlan& m) { return m.state_dir.string(); });
    unique("lwm2m_endpoint", "LwM2M endpoint name",
           [](const ModulePlan& m) { return m.lwm2m_endpoint; });
    unique("imei_start", "IMEI", [](const ModulePlan& m) {
      return m.imei.value_or(
          state::default_identity(static_cast<std::uint32_t>(m.number - 1)).imei);
    });
  }

  std::filesystem::path file_;
  int count_ = 0;
};

}  // namespace

util::Expected<FleetPlan> load_fleet_file(const std::filesystem::path& file,
                                          const FleetDefaults& defaults) {
  try {
    return Reader(file).read(defaults);
  } catch (const Refusal& r) {
    return util::Error{r.message};
  } catch (const YAML::Exception& e) {
    return util::Error{
        fmt::format("{}:{}:{}: {}", file.string(), e.mark.line + 1, e.mark.column + 1, e.msg)};
  }
}

}  // namespace bg95::fleet
