// parse_scenario(): YAML -> Scenario, with the schema of docs/scenarios.md.

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include "scenarios/engine/scenario.hpp"
#include "scenarios/engine/yaml_reader.hpp"
#include "sim/firmware/image.hpp"
#include "sim/options.hpp"

namespace bg95::scenario {
namespace {

std::string at(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}
std::string at(const std::string& where, std::size_t index) {
  return fmt::format("{}[{}]", where, index);
}

// No value: a null node. (A YAML::Node tests true even when null: test with present().)
YAML::Node none() {
  return YAML::Node();
}
bool present(const YAML::Node& n) {
  return n.IsDefined() && !n.IsNull();
}

// "a, b or c".
std::string or_list(const std::vector<std::string_view>& items, std::string_view last = " or ") {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += std::string(i == 0 ? "" : i + 1 == items.size() ? last : ", ") + std::string(items[i]);
  return out;
}

// Every action a rule can do: the faults of the table (a group by its name), in the order the
// parser has always listed them, then the scenario's own.
std::string known_actions() {
  std::vector<const faults::Fault*> listed;
  for (const faults::Fault& f : faults::table())
    if (!f.name.empty()) listed.push_back(&f);
  std::stable_sort(listed.begin(), listed.end(),
                   [](const faults::Fault* a, const faults::Fault* b) {
                     return a->scenario_rank < b->scenario_rank;
                   });
  std::vector<std::string_view> names;
  for (const faults::Fault* f : listed) {
    const std::string_view name = f->group().empty() ? f->name : f->group();
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const char* own : {"respond", "respond_raw", "delay", "urc", "server", "log", "verdict"})
    names.push_back(own);
  std::string out;
  for (const auto name : names)
    out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// A one-key mapping {name: value}, or a bare name: the form of actions and triggers.
struct Tagged {
  std::string name;
  YAML::Node value = none();  // not there for a bare name
};

class Parser {
 public:
  explicit Parser(const std::filesystem::path& file) : r_(file) {}

  Scenario parse(const YAML::Node& root, std::string source);

 private:
  Tagged tagged(const YAML::Node& node, const std::string& where) const;
  void module(const YAML::Node& n, ModuleSetup& m);
  FirmwareSpec firmware(const YAML::Node& n, const std::string& where) const;
  std::string image_field(const YAML::Node& map, const std::string& where, const char* key,
                          std::size_t max) const;
  void network(const YAML::Node& n, const std::string& where, NetworkState& net) const;
  void timing(const YAML::Node& n, const std::string& where, ModuleConfig& c) const;
  void dialect(const YAML::Node& n, const std::string& where, Dialect& d) const;
  FileSpec file_spec(const YAML::Node& n, const std::string& where) const;
  PackageSpec package(const std::string& name, const YAML::Node& n, const std::string& where) const;
  Rule rule(const YAML::Node& n, const std::string& where) const;
  Trigger trigger(const YAML::Node& n, const std::string& where) const;
  Count count(const YAML::Node& n, const std::string& where) const;
  std::vector<ModuleRange> modules(const YAML::Node& n, const std::string& where) const;
  std::vector<Action> actions(const YAML::Node& n, const std::string& where) const;
  Action action(const YAML::Node& n, const std::string& where) const;
  faults::Call fault(const faults::Fault& f, const YAML::Node& n, const YAML::Node& params,
                     const YAML::Node& scalar, const std::string& where) const;
  std::vector<faults::Call> fault_group(const std::vector<const faults::Fault*>& group,
                                        const YAML::Node& n, const YAML::Node& params,
                                        const std::string& where) const;
  faults::Value fault_value(const faults::Fault& f, const YAML::Node& v,
                            const std::string& where) const;
  at::Reply reply(const YAML::Node& n, const std::string& where) const;
  HostScript host(const YAML::Node& n, const std::string& where) const;
  HostStep step(const YAML::Node& n, const std::string& where) const;
  Expectation expectation(const YAML::Node& n, const std::string& where) const;
  std::optional<RegStatus> reg_status(const YAML::Node& n, const std::string& where) const;
  int csq(const YAML::Node& n, const std::string& where) const;

  YamlReader r_;
};

Tagged Parser::tagged(const YAML::Node& node, const std::string& where) const {
  if (node.IsScalar()) return {node.Scalar(), none()};
  if (!node.IsMap() || node.size() != 1)
    r_.fail(node, where, "expected a name, or one \"name: value\" pair");
  const auto kv = *node.begin();
  return {kv.first.Scalar(), kv.second};
}

Scenario Parser::parse(const YAML::Node& root, std::string source) {
  Scenario s;
  s.file = r_.file();
  s.source = std::move(source);
  r_.expect_map(root, "",
                {"name", "description", "timeout", "module", "packages", "server", "lwm2m_server",
                 "rules", "host", "expect"});
  s.name = root["name"] ? r_.str(root["name"], "name") : r_.file().stem().string();
  if (root["description"]) s.description = r_.str(root["description"], "description");
  if (root["timeout"]) s.timeout = r_.duration(root["timeout"], "timeout");
  if (root["module"]) module(root["module"], s.module);
  if (const auto p = root["packages"]) {
    if (!p.IsMap()) r_.fail(p, "packages", "expected a mapping of package names");
    for (const auto& kv : p) {
      const std::string name = kv.first.Scalar();  // empty for a key that is a list or mapping
      if (name.empty()) r_.fail(kv.first, "packages", "a package needs a name");
      s.packages.push_back(package(name, kv.second, at("packages", name)));
    }
  }
  if (const auto srv = root["server"]) {
    if (!srv.IsMap()) r_.fail(srv, "server", "expected a mapping (docs/package-server.md)");
    s.server = srv;
  }
  if (const auto l = root["lwm2m_server"]) {
    if (l.IsScalar()) {
      s.lwm2m_server = r_.boolean(l, "lwm2m_server");
    } else {
      r_.expect_map(l, "lwm2m_server", {"psk"});
      s.lwm2m_server = true;
      if (const auto psk = l["psk"]) {
        r_.expect_map(psk, "lwm2m_server.psk", {"identity", "key"});
        s.lwm2m_psk = std::make_pair(r_.str(psk["identity"], "lwm2m_server.psk.identity"),
                                     r_.str(psk["key"], "lwm2m_server.psk.key"));
      }
    }
  }
  if (const auto rules = root["rules"]) {
    r_.expect_seq(rules, "rules");
    for (std::size_t i = 0; i < rules.size(); ++i)
      s.rules.push_back(rule(rules[i], at("rules", i)));
  }
  if (root["host"]) s.host = host(root["host"], "host");
  if (root["expect"]) s.expect = expectation(root["expect"], "expect");
  // Names must be unique: a package named twice, or a rule named twice, is a typo.
  for (std::size_t i = 0; i < s.packages.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (s.packages[i].name == s.packages[j].name)
        r_.fail(root["packages"], "packages", "\"" + s.packages[i].name + "\" appears twice");
  auto known_package = [&](const std::string& name, const YAML::Node& node,
                           const std::string& where) {
    for (const auto& p : s.packages)
      if (p.name == name) return;
    r_.fail(node, where, "no package \"" + name + "\" under packages:");
  };
  for (std::size_t i = 0; i < s.module.files.size(); ++i)
    if (s.module.files[i].source == FileSpec::Source::Package)
      known_package(s.module.files[i].value, root["module"]["files"][i],
                    at("module.files", i) + ".package");
  for (std::size_t i = 0; i < s.host.steps.size(); ++i)
    if (s.host.steps[i].package)
      known_package(*s.host.steps[i].package, root["host"]["steps"][i],
                    at("host.steps", i) + ".send.package");
  for (const auto& [key, name] : {std::pair{"firmware.target_of", s.expect.firmware_of},
                                  std::pair{"firmware.source_of", s.expect.firmware_source_of}})
    if (name) known_package(*name, root["expect"], std::string("expect.") + key);
  return s;
}

void Parser::module(const YAML::Node& n, ModuleSetup& m) {
  const std::string w = "module";
  r_.expect_map(n, w,
                {"model", "firmware", "state", "usb_port", "settings", "files", "network", "timing",
                 "dialect", "lwm2m"});
  ModuleConfig& c = m.config;
  if (n["model"])
    c.model = r_.choice(n["model"], at(w, "model"),
                        {"BG95-M1", "BG95-M2", "BG95-M3", "BG95-M4", "BG95-M5", "BG77"});
  if (n["firmware"]) m.firmware = firmware(n["firmware"], at(w, "firmware"));
  if (n["state"]) m.state = r_.path(n["state"], at(w, "state"));
  if (n["usb_port"]) m.usb_port = r_.boolean(n["usb_port"], at(w, "usb_port"));
  if (const auto s = n["settings"]) {
    const std::string ws = at(w, "settings");
    r_.expect_map(s, ws, {"fota_apn", "ipr", "cmee"});
    if (const auto a = s["fota_apn"]) {
      const std::string wa = at(ws, "fota_apn");
      r_.expect_map(a, wa, {"ip_type", "apn", "username", "password"});
      state::FotaApn apn;
      if (a["ip_type"])
        apn.ip_type = static_cast<int>(r_.integer(a["ip_type"], at(wa, "ip_type"), 0, 2));
      apn.apn = r_.opt_str(a, wa, "apn").value_or("");
      apn.username = r_.opt_str(a, wa, "username").value_or("");
      apn.password = r_.opt_str(a, wa, "password").value_or("");
      m.fota_apn = apn;
    }
    if (s["ipr"])
      m.ipr = static_cast<std::uint32_t>(r_.integer(s["ipr"], at(ws, "ipr"), 300, 3000000));
    if (s["cmee"]) m.cmee = static_cast<int>(r_.integer(s["cmee"], at(ws, "cmee"), 0, 2));
  }
  if (const auto f = n["files"]) {
    r_.expect_seq(f, at(w, "files"));
    for (std::size_t i = 0; i < f.size(); ++i)
      m.files.push_back(file_spec(f[i], at(at(w, "files"), i)));
  }
  if (n["network"]) network(n["network"], at(w, "network"), c.network);
  if (n["timing"]) timing(n["timing"], at(w, "timing"), c);
  if (n["dialect"]) dialect(n["dialect"], at(w, "dialect"), c.dialect);
  if (const auto l = n["lwm2m"]) {
    const std::string wl = at(w, "lwm2m");
    r_.expect_map(l, wl, {"server", "endpoint", "psk_id", "psk", "lifetime", "autoreg"});
    c.lwm2m.server = r_.opt_str(l, wl, "server").value_or("");
    c.lwm2m.endpoint = r_.opt_str(l, wl, "endpoint").value_or("");
    c.lwm2m.psk_id = r_.opt_str(l, wl, "psk_id").value_or("");
    c.lwm2m.psk = r_.opt_str(l, wl, "psk").value_or("");
    if (l["lifetime"])
      c.lwm2m.lifetime =
          static_cast<std::uint32_t>(r_.integer(l["lifetime"], at(wl, "lifetime"), 1, 0xffffffff));
    if (l["autoreg"]) c.lwm2m.autoreg = r_.boolean(l["autoreg"], at(wl, "autoreg"));
  }
}

FirmwareSpec Parser::firmware(const YAML::Node& n, const std::string& w) const {
  r_.expect_map(n, w, {"revision", "version", "size", "seed"});
  FirmwareSpec f;
  f.revision = image_field(n, w, "revision", firmware::kImageRevisionSize);
  f.full_version = image_field(n, w, "version", firmware::kImageVersionSize);
  if (n["size"]) {
    f.size = r_.size(n["size"], at(w, "size"));
    if (f.size < 4096 || f.size > firmware::kMaxImageBody + firmware::kImageHeaderSize)
      r_.fail(n["size"], at(w, "size"), "an image is 4 KiB to 32 MiB");
  }
  if (n["seed"])
    f.seed = static_cast<std::uint64_t>(r_.integer(n["seed"], at(w, "seed"), 0, INT64_MAX));
  return f;
}

// A text of the image header (revision, version); empty: the default. The header holds only
// so much, and an image whose header the module cannot read back stops a run deep inside
// (std::bad_variant_access from building the image).
std::string Parser::image_field(const YAML::Node& map, const std::string& w, const char* key,
                                std::size_t max) const {
  const std::string s = r_.opt_str(map, w, key).value_or("");
  const bool printable =
      std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7F; });
  if (s.size() > max || !printable)
    r_.fail(map[key], at(w, key),
            fmt::format("\"{}\": an image header holds 1 to {} printable characters, no spaces", s,
                        max));
  return s;
}

std::optional<RegStatus> Parser::reg_status(const YAML::Node& n, const std::string& w) const {
  std::vector<std::string_view> names;
  for (const auto& [name, stat] : kRegNames)
    names.push_back(name);
  const std::string s = r_.choice(n, w, names);
  for (const auto& [name, stat] : kRegNames)
    if (name == s) return stat;
  return std::nullopt;
}

// AT+CSQ's <rssi>: 0..31, or 99 (not known). What lies between is no signal a module reports
// (AT+QCSQ would turn it into dBm above zero).
int Parser::csq(const YAML::Node& n, const std::string& w) const {
  const auto v = static_cast<int>(r_.integer(n, w, 0, 99));
  if (v > 31 && v != 99) r_.fail(n, w, fmt::format("{} is not an AT+CSQ <rssi> (0-31, 99)", v));
  return v;
}

void Parser::network(const YAML::Node& n, const std::string& w, NetworkState& net) const {
  r_.expect_map(n, w, {"reg", "csq", "rat", "operator", "plmn", "accepted_apn"});
  if (n["reg"]) net.status = *reg_status(n["reg"], at(w, "reg"));
  if (n["csq"]) net.csq_rssi = csq(n["csq"], at(w, "csq"));
  if (n["rat"])
    net.rat =
        r_.choice(n["rat"], at(w, "rat"), {"emtc", "nbiot"}) == "nbiot" ? Rat::NbIot : Rat::EMtc;
  if (n["operator"]) net.operator_name = r_.str(n["operator"], at(w, "operator"));
  if (n["plmn"]) net.plmn = r_.str(n["plmn"], at(w, "plmn"));
  if (n["accepted_apn"]) net.accepted_apn = r_.str(n["accepted_apn"], at(w, "accepted_apn"));
}

void Parser::timing(const YAML::Node& n, const std::string& w, ModuleConfig& c) const {
  r_.expect_map(n, w, {"profile", "scale", "download_timeout", "guard_time"});
  if (n["profile"])
    c.timing.profile =
        r_.choice(n["profile"], at(w, "profile"), {"fast", "realistic"}) == "realistic"
            ? Timing::Profile::Realistic
            : Timing::Profile::Fast;
  if (n["scale"]) {
    c.timing.scale = r_.number(n["scale"], at(w, "scale"));
    if (c.timing.scale <= 0) r_.fail(n["scale"], at(w, "scale"), "must be above 0");
  }
  if (n["download_timeout"]) {
    c.download_idle_timeout = r_.duration(n["download_timeout"], at(w, "download_timeout"));
    if (c.download_idle_timeout.count() < 10)
      r_.fail(n["download_timeout"], at(w, "download_timeout"), "at least 10ms");
  }
  if (n["guard_time"]) {
    c.guard_time = r_.duration(n["guard_time"], at(w, "guard_time"));
    if (c.guard_time.count() < 1) r_.fail(n["guard_time"], at(w, "guard_time"), "at least 1ms");
  }
}

// The keys and their members come from the option table (sim/options.hpp).
void Parser::dialect(const YAML::Node& n, const std::string& w, Dialect& d) const {
  r_.expect_map(n, w, options::dialect_keys());
  options::read_dialect(n, d,
                        {[&](const YAML::Node& v, const options::DialectOption& o) {
                           return static_cast<int>(r_.integer(v, at(w, o.key), o.min, o.max));
                         },
                         [&](const YAML::Node& v, const options::DialectOption& o) {
                           return r_.boolean(v, at(w, o.key));
                         }});
}

FileSpec Parser::file_spec(const YAML::Node& n, const std::string& w) const {
  r_.expect_map(n, w, {"name", "text", "file", "package", "server_ca", "wrong_ca"});
  if (!n["name"]) r_.fail(n, w, "a file needs a name (as AT+QFUPL takes it)");
  FileSpec f;
  f.name = r_.str(n["name"], at(w, "name"));
  int sources = 0;
  if (n["text"])
    f.source = FileSpec::Source::Text, f.value = r_.str(n["text"], at(w, "text")), ++sources;
  if (n["file"])
    f.source = FileSpec::Source::HostFile, f.value = r_.path(n["file"], at(w, "file")).string(),
    ++sources;
  if (n["package"])
    f.source = FileSpec::Source::Package, f.value = r_.str(n["package"], at(w, "package")),
    ++sources;
  if (n["server_ca"] && r_.boolean(n["server_ca"], at(w, "server_ca")))
    f.source = FileSpec::Source::ServerCa, ++sources;
  if (n["wrong_ca"] && r_.boolean(n["wrong_ca"], at(w, "wrong_ca")))
    f.source = FileSpec::Source::WrongCa, ++sources;
  if (sources != 1)
    r_.fail(n, w, "give exactly one of text, file, package, server_ca: true, wrong_ca: true");
  return f;
}

PackageSpec Parser::package(const std::string& name, const YAML::Node& n,
                            const std::string& w) const {
  PackageSpec p;
  p.name = name;
  if (n.IsNull()) return p;  // "update:" alone: the default delta
  r_.expect_map(
      n, w,
      {"source", "change", "seed", "target_revision", "level", "random", "corrupt", "truncate"});
  if (n["random"]) {
    p.kind = PackageSpec::Kind::Random;
    p.size = r_.size(n["random"], at(w, "random"));
    if (p.size > 64 * 1024 * 1024) r_.fail(n["random"], at(w, "random"), "at most 64 MiB");
    if (n["source"] || n["change"] || n["target_revision"])
      r_.fail(n, w, "random bytes have no source, change or target_revision");
  }
  if (n["source"]) p.source = firmware(n["source"], at(w, "source"));
  if (n["change"]) {
    p.change = r_.number(n["change"], at(w, "change"));
    if (p.change < 0 || p.change > 1) r_.fail(n["change"], at(w, "change"), "a fraction 0..1");
  }
  if (n["seed"])
    p.seed = static_cast<std::uint64_t>(r_.integer(n["seed"], at(w, "seed"), 0, INT64_MAX));
  p.target_revision = image_field(n, w, "target_revision", firmware::kImageRevisionSize);
  if (n["level"]) p.level = static_cast<int>(r_.integer(n["level"], at(w, "level"), 1, 22));
  if (const auto c = n["corrupt"]) {
    r_.expect_map(c, at(w, "corrupt"), {"offset", "count"});
    if (c["offset"]) p.corrupt_offset = r_.size(c["offset"], at(w, "corrupt.offset"));
    p.corrupt_count = c["count"] ? r_.size(c["count"], at(w, "corrupt.count")) : 1;
  }
  if (n["truncate"]) p.truncate = r_.size(n["truncate"], at(w, "truncate"));
  return p;
}

// ---- rules -------------------------------------------------------------------------------

Rule Parser::rule(const YAML::Node& n, const std::string& w) const {
  r_.expect_map(n, w, {"name", "when", "count", "do", "modules"});
  Rule rule;
  rule.line = n.Mark().line + 1;
  rule.name = n["name"] ? r_.str(n["name"], at(w, "name")) : fmt::format("rule {}", w);
  if (!n["when"]) r_.fail(n, w, "a rule needs when:");
  if (!n["do"]) r_.fail(n, w, "a rule needs do:");
  rule.when = trigger(n["when"], at(w, "when"));
  if (n["count"]) rule.count = count(n["count"], at(w, "count"));
  rule.actions = actions(n["do"], at(w, "do"));
  if (n["modules"]) rule.modules = modules(n["modules"], at(w, "modules"));
  // Answers can only replace a command, and only flash triggers can decide a flash write.
  for (std::size_t i = 0; i < rule.actions.size(); ++i) {
    const Action::Kind k = rule.actions[i].kind;
    const bool answer =
        k == Action::Kind::Respond || k == Action::Kind::RespondRaw || k == Action::Kind::Delay;
    if (answer && rule.when.kind != Trigger::Kind::Command)
      r_.fail(n["do"], at(w, "do"), "respond, respond_raw and delay need a command trigger");
    for (const faults::Call& c : rule.actions[i].faults)
      if (c.fault->rules_only && rule.when.kind != Trigger::Kind::FlashWrite)
        r_.fail(n["do"], at(w, "do"), std::string(c.fault->name) + " needs a flash_write trigger");
  }
  return rule;
}

Trigger Parser::trigger(const YAML::Node& n, const std::string& w) const {
  Trigger t;
  if (n.IsMap() && n.size() == 2 && n["port"]) {
    // {command: ..., port: usb}: the port narrows a command or host trigger.
    t.port = r_.choice(n["port"], at(w, "port"), {"uart", "usb"});
  }
  Tagged tag;
  if (n.IsMap() && n.size() == 2 && n["port"]) {
    for (const auto& kv : n)
      if (kv.first.Scalar() != "port") tag = {kv.first.Scalar(), kv.second};
  } else {
    tag = tagged(n, w);
  }
  const std::string wt = at(w, tag.name);
  auto need = [&] {
    if (!present(tag.value)) r_.fail(n, wt, "needs a value");
  };
  if (tag.name == "at") {
    need();
    t.kind = Trigger::Kind::Time;
    t.at = r_.duration(tag.value, wt);
  } else if (tag.name == "command" || tag.name == "urc") {
    need();
    t.kind = tag.name == "command" ? Trigger::Kind::Command : Trigger::Kind::Urc;
    t.pattern = r_.pattern(tag.value, wt);
  } else if (tag.name == "download") {
    need();
    t.kind = Trigger::Kind::DownloadPercent;
    if (tag.value.IsScalar()) {
      t.value = static_cast<std::uint64_t>(r_.integer(tag.value, wt, 0, 100));
    } else {
      r_.expect_map(tag.value, wt, {"percent", "bytes"});
      if (tag.value.size() != 1) r_.fail(tag.value, wt, "give percent or bytes");
      if (tag.value["percent"]) {
        t.value =
            static_cast<std::uint64_t>(r_.integer(tag.value["percent"], at(wt, "percent"), 0, 100));
      } else {
        t.kind = Trigger::Kind::DownloadBytes;
        t.value = r_.size(tag.value["bytes"], at(wt, "bytes"));
      }
    }
  } else if (tag.name == "update") {
    need();
    t.kind = Trigger::Kind::UpdatePercent;
    if (tag.value.IsScalar()) {
      t.value = static_cast<std::uint64_t>(r_.integer(tag.value, wt, 0, 100));
    } else {
      r_.expect_map(tag.value, wt, {"percent", "phase"});
      if (!tag.value["percent"]) r_.fail(tag.value, wt, "needs percent");
      t.value =
          static_cast<std::uint64_t>(r_.integer(tag.value["percent"], at(wt, "percent"), 0, 100));
      if (tag.value["phase"])
        t.phase = r_.choice(tag.value["phase"], at(wt, "phase"), {"UPDATING", "RESTORE"});
    }
  } else if (tag.name == "flash_write") {
    need();
    t.kind = Trigger::Kind::FlashWrite;
    t.value = static_cast<std::uint64_t>(r_.integer(tag.value, wt, 1, INT64_MAX));
  } else if (tag.name == "host_open" || tag.name == "host_close") {
    t.kind = tag.name == "host_open" ? Trigger::Kind::HostOpen : Trigger::Kind::HostClose;
    if (present(tag.value)) t.port = r_.choice(tag.value, wt, {"uart", "usb"});
  } else if (tag.name == "power") {
    need();
    t.kind = Trigger::Kind::Power;
    const std::string e = r_.choice(
        tag.value, wt, {"on", "booted", "boot_failed", "dfota", "restart", "reset", "off", "cut"});
    t.power = e == "on"            ? PowerEvent::On
              : e == "booted"      ? PowerEvent::Booted
              : e == "boot_failed" ? PowerEvent::BootFailed
              : e == "dfota"       ? PowerEvent::DfotaMode
              : e == "restart"     ? PowerEvent::Restart
              : e == "reset"       ? PowerEvent::Reset
              : e == "off"         ? PowerEvent::Off
                                   : PowerEvent::Cut;
  } else {
    r_.fail(n, w,
            "unknown trigger \"" + tag.name +
                "\" (known: at, command, urc, download, update, flash_write, host_open, "
                "host_close, power)");
  }
  return t;
}

// 3, "2-5", all, or a list of numbers and ranges; module numbers 1..10000 (--count's limit).
std::vector<ModuleRange> Parser::modules(const YAML::Node& n, const std::string& w) const {
  if (n.IsScalar() && n.Scalar() == "all") return {};
  std::vector<ModuleRange> out;
  auto one = [&](const YAML::Node& item, const std::string& where) {
    if (!item.IsScalar()) r_.fail(item, where, "expected a module number or FIRST-LAST");
    const std::string& text = item.Scalar();
    const std::size_t dash = text.find('-');
    if (dash == std::string::npos) {
      const auto k = static_cast<unsigned>(r_.integer(item, where, 1, kMaxFleetModules));
      out.push_back({k, k});
      return;
    }
    auto number = [&](std::string_view part) {
      unsigned v = 0;
      const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
      if (ec != std::errc{} || end != part.data() + part.size() || v < 1 || v > kMaxFleetModules)
        r_.fail(item, where,
                fmt::format("expected FIRST-LAST with module numbers 1..{}, got \"{}\"",
                            kMaxFleetModules, text));
      return v;
    };
    const unsigned first = number(std::string_view(text).substr(0, dash));
    const unsigned last = number(std::string_view(text).substr(dash + 1));
    if (first > last) r_.fail(item, where, fmt::format("{} is an empty range", text));
    out.push_back({first, last});
  };
  if (n.IsSequence()) {
    if (n.size() == 0) r_.fail(n, w, "an empty list watches no module (leave modules out for all)");
    for (std::size_t i = 0; i < n.size(); ++i)
      one(n[i], fmt::format("{}[{}]", w, i));
  } else {
    one(n, w);
  }
  return out;
}

Count Parser::count(const YAML::Node& n, const std::string& w) const {
  Count c;
  if (n.IsScalar()) {
    const std::string s = r_.choice(n, w, {"first", "every"});
    c.kind = s == "every" ? Count::Kind::Every : Count::Kind::First;
    return c;
  }
  const Tagged t = tagged(n, w);
  if (t.name != "nth" && t.name != "times" && t.name != "every")
    r_.fail(n, w, "expected first, every, {nth: N}, {every: N} or {times: N}");
  c.n = static_cast<std::uint64_t>(r_.integer(t.value, at(w, t.name), 1, INT64_MAX));
  c.kind = t.name == "nth"     ? Count::Kind::Nth
           : t.name == "times" ? Count::Kind::Times
                               : Count::Kind::Every;
  return c;
}

std::vector<Action> Parser::actions(const YAML::Node& n, const std::string& w) const {
  std::vector<Action> out;
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i)
      out.push_back(action(n[i], at(w, i)));
  } else {
    out.push_back(action(n, w));
  }
  return out;
}

at::Reply Parser::reply(const YAML::Node& n, const std::string& w) const {
  std::vector<std::string> lines;
  if (n.IsSequence()) {
    for (std::size_t i = 0; i < n.size(); ++i)
      lines.push_back(r_.str(n[i], at(w, i)));
  } else {
    lines.push_back(r_.str(n, w));
  }
  // An empty list has no final result to take.
  if (lines.empty())
    r_.fail(n, w,
            "expected the answer's lines, the last one OK, ERROR, NO CARRIER or +CME ERROR: <n>");
  at::Reply reply;
  const std::string last = lines.back();
  lines.pop_back();
  if (last == "OK") {
    reply.outcome = at::Outcome::ok();
  } else if (last == "ERROR") {
    reply.outcome = at::Outcome::error();
  } else if (last == "NO CARRIER") {
    reply.outcome = {at::Outcome::Kind::NoCarrier, 0};
  } else if (last.starts_with("+CME ERROR: ")) {
    try {
      reply.outcome = at::Outcome::cme_error(std::stoi(last.substr(12)));
    } catch (const std::exception&) {
      r_.fail(n, w, "+CME ERROR: needs a number");
    }
  } else {
    r_.fail(n, w,
            "the last line is the final result: OK, ERROR, NO CARRIER or +CME ERROR: <n> (for "
            "other bytes use respond_raw)");
  }
  reply.lines = std::move(lines);
  return reply;
}

Action Parser::action(const YAML::Node& n, const std::string& w) const {
  const Tagged t = tagged(n, w);
  const std::string wa = at(w, t.name);
  Action a;
  // The value: a bare parameter, or a mapping of parameters with "after".
  YAML::Node params = none();
  YAML::Node scalar = none();
  if (t.value.IsDefined() && t.value.IsMap()) {
    params = t.value;
    if (params["after"]) a.after = r_.duration(params["after"], at(wa, "after"));
  } else if (present(t.value)) {
    scalar = t.value;
  }
  auto only = [&](std::initializer_list<std::string_view> keys) {
    if (present(params)) r_.expect_map(params, wa, keys);
  };
  using K = Action::Kind;
  // A fault of the table (sim/faults.hpp), or a group of them ({network: {reg: ..., csq: ...}}).
  std::vector<const faults::Fault*> group;
  for (const faults::Fault& f : faults::table())
    if (!f.name.empty() && f.group() == t.name) group.push_back(&f);
  if (!group.empty()) {
    a.kind = K::Fault;
    a.faults = fault_group(group, n, params, wa);
    return a;
  }
  if (const faults::Fault* f = faults::by_name(t.name); f && f->group().empty()) {
    a.kind = K::Fault;
    a.faults.push_back(fault(*f, n, params, scalar, wa));
    return a;
  }
  if (t.name == "respond") {
    a.kind = K::Respond;
    if (!present(t.value) || present(params))
      r_.fail(n, wa, "expected the answer's lines, the last one OK, ERROR ...");
    a.reply = reply(t.value, wa);
  } else if (t.name == "respond_raw" || t.name == "urc" || t.name == "log") {
    a.kind = t.name == "urc" ? K::Urc : t.name == "log" ? K::Log : K::RespondRaw;
    only({"text", "after"});
    const YAML::Node v = present(scalar) ? scalar : present(params) ? params["text"] : none();
    if (!present(v)) r_.fail(n, wa, "needs the text");
    a.text = r_.str(v, wa);
  } else if (t.name == "delay") {
    a.kind = K::Delay;
    if (!present(scalar)) r_.fail(n, wa, "expected a duration");
    a.duration = r_.duration(scalar, wa);
  } else if (t.name == "server") {
    a.kind = K::Server;
    if (!present(params)) r_.fail(n, wa, "expected {faults: [...]} (docs/package-server.md)");
    only({"faults", "after"});
    if (!params["faults"]) r_.fail(n, wa, "needs faults (an empty list clears them)");
    r_.expect_seq(params["faults"], at(wa, "faults"));
    a.server = params["faults"];
  } else if (t.name == "verdict") {
    a.kind = K::Verdict;
    only({"result", "reason", "after"});
    const YAML::Node v = present(scalar) ? scalar : present(params) ? params["result"] : none();
    if (!present(v)) r_.fail(n, wa, "needs pass or fail");
    a.pass = r_.choice(v, wa, {"pass", "fail"}) == "pass";
    if (present(params)) a.text = r_.opt_str(params, wa, "reason").value_or("");
  } else {
    r_.fail(n, w, "unknown action \"" + t.name + "\" (known: " + known_actions() + ")");
  }
  return a;
}

faults::Call Parser::fault(const faults::Fault& f, const YAML::Node& n, const YAML::Node& params,
                           const YAML::Node& scalar, const std::string& wa) const {
  faults::Call call{&f, {}};
  const faults::Param& p = f.param;
  const std::string key(p.key);
  if (p.type == faults::Type::None) {
    if (present(scalar)) r_.fail(scalar, wa, "takes no value (only {after: <duration>})");
    if (present(params)) r_.expect_map(params, wa, {"after"});
    return call;
  }
  if (present(params)) r_.expect_map(params, wa, {key, "after"});
  // An optional parameter only in the mapping form: {link_stall: {for: 2s}}.
  if (p.optional) {
    if (present(scalar))
      r_.fail(scalar, wa,
              fmt::format("expected {{{}: {}, after: <duration>}} or nothing", key, p.placeholder));
    if (present(params) && params[key]) call.value = fault_value(f, params[key], at(wa, key));
    return call;
  }
  const YAML::Node v = present(scalar) ? scalar : present(params) ? params[key] : none();
  if (!present(v))
    r_.fail(n, wa, "needs " + (p.type == faults::Type::Choice ? or_list(faults::words(p)) : key));
  call.value = fault_value(f, v, wa);
  return call;
}

// The keys of a group in one mapping: {network: {reg: searching, csq: 5}}.
std::vector<faults::Call> Parser::fault_group(const std::vector<const faults::Fault*>& group,
                                              const YAML::Node& n, const YAML::Node& params,
                                              const std::string& wa) const {
  std::vector<std::string_view> keys;
  for (const faults::Fault* f : group)
    keys.push_back(f->key());
  if (!present(params)) {
    std::string some;
    for (std::size_t i = 0; i < std::min<std::size_t>(3, keys.size()); ++i)
      some += fmt::format("{}{}: ...", i == 0 ? "" : ", ", keys[i]);
    r_.fail(n, wa, "expected {" + some + "}");
  }
  keys.push_back("after");
  r_.expect_map(params, wa, keys);
  keys.pop_back();
  std::vector<faults::Call> calls;
  for (const faults::Fault* f : group) {
    const std::string key(f->key());
    if (params[key]) calls.push_back({f, fault_value(*f, params[key], at(wa, key))});
  }
  if (calls.empty()) r_.fail(n, wa, "give " + or_list(keys));
  return calls;
}

faults::Value Parser::fault_value(const faults::Fault& f, const YAML::Node& v,
                                  const std::string& w) const {
  using faults::Type;
  const faults::Param& p = f.param;
  faults::Value out;
  out.given = true;
  switch (p.type) {
    case Type::None:
      break;
    case Type::Choice:
    case Type::Rat: {
      const auto words = faults::words(p);
      const std::string s = r_.choice(v, w, words);
      out.number = std::find(words.begin(), words.end(), s) - words.begin();
      break;
    }
    case Type::Integer:
      out.number = r_.integer(v, w, p.min, p.max);
      break;
    case Type::Csq:
      out.number = csq(v, w);
      break;
    case Type::Reg:
      out.number = static_cast<int>(*reg_status(v, w));
      break;
    case Type::Apn:
      out.text = r_.str(v, w);
      break;
    case Type::Size:
      out.number = static_cast<std::int64_t>(r_.size(v, w));
      break;
    case Type::Duration:
      out.number = r_.duration(v, w).count();
      break;
  }
  return out;
}

// ---- host --------------------------------------------------------------------------------

HostScript Parser::host(const YAML::Node& n, const std::string& w) const {
  HostScript h;
  h.present = true;
  r_.expect_map(n, w, {"timeout", "steps"});
  if (n["timeout"]) h.timeout = r_.duration(n["timeout"], at(w, "timeout"));
  if (!n["steps"]) r_.fail(n, w, "needs steps");
  r_.expect_seq(n["steps"], at(w, "steps"));
  for (std::size_t i = 0; i < n["steps"].size(); ++i)
    h.steps.push_back(step(n["steps"][i], at(at(w, "steps"), i)));
  return h;
}

HostStep Parser::step(const YAML::Node& n, const std::string& w) const {
  HostStep s;
  s.line = n.Mark().line + 1;
  YAML::Node port;
  Tagged t;
  if (n.IsMap() && n.size() == 2 && n["port"]) {
    port = n["port"];
    for (const auto& kv : n)
      if (kv.first.Scalar() != "port") t = {kv.first.Scalar(), kv.second};
  } else {
    t = tagged(n, w);
  }
  const std::string ws = at(w, t.name);
  if (present(port)) s.port = r_.choice(port, at(w, "port"), {"uart", "usb"});
  const YAML::Node v = t.value;
  if (t.name == "send") {
    s.kind = HostStep::Kind::Send;
    if (!present(v)) r_.fail(n, ws, "needs the text to send");
    if (v.IsScalar()) {
      s.text = r_.str(v, ws);
    } else {
      r_.expect_map(v, ws, {"text", "package", "chunk", "pad"});
      if (v["text"]) s.text = r_.str(v["text"], at(ws, "text"));
      if (v["package"]) s.package = r_.str(v["package"], at(ws, "package"));
      if (!v["text"] == !v["package"]) r_.fail(v, ws, "give text or package");
      if (v["chunk"])
        s.chunk = static_cast<std::size_t>(r_.integer(v["chunk"], at(ws, "chunk"), 1, 1 << 20));
      if (v["pad"]) s.pad = static_cast<std::uint8_t>(r_.integer(v["pad"], at(ws, "pad"), 0, 255));
    }
  } else if (t.name == "expect" || t.name == "expect_not") {
    s.kind = t.name == "expect" ? HostStep::Kind::Expect : HostStep::Kind::ExpectNot;
    if (!present(v)) r_.fail(n, ws, "needs what to wait for");
    if (v.IsScalar()) {
      s.pattern = r_.literal_text(v, ws);  // a plain string is literal text
      s.literal = true;
    } else {
      const char* within = s.kind == HostStep::Kind::Expect ? "timeout" : "within";
      r_.expect_map(v, ws, {"text", "pattern", within});
      if (!v["text"] == !v["pattern"]) r_.fail(v, ws, "give text or pattern");
      if (v["pattern"]) {
        s.pattern = r_.pattern(v["pattern"], at(ws, "pattern"));
      } else {
        s.pattern = r_.literal_text(v["text"], at(ws, "text"));
        s.literal = true;
      }
      s.timeout = r_.opt_duration(v, ws, within);
    }
    if (s.kind == HostStep::Kind::ExpectNot && !s.timeout)
      r_.fail(n, ws, "expect_not needs {pattern: ..., within: <duration>}");
  } else if (t.name == "pause") {
    s.kind = HostStep::Kind::Pause;
    if (!present(v)) r_.fail(n, ws, "needs a duration");
    s.duration = r_.duration(v, ws);
  } else if (t.name == "open" || t.name == "close") {
    s.kind = t.name == "open" ? HostStep::Kind::Open : HostStep::Kind::Close;
    if (present(v)) s.port = r_.choice(v, ws, {"uart", "usb"});
  } else if (t.name == "baud") {
    s.kind = HostStep::Kind::Baud;
    s.baud = static_cast<std::uint32_t>(r_.integer(v, ws, 300, 4000000));
  } else if (t.name == "do") {
    s.kind = HostStep::Kind::Do;
    if (!present(v)) r_.fail(n, ws, "needs actions");
    s.actions = actions(v, ws);
    std::vector<std::string_view> rules_only = {"respond", "respond_raw", "delay"};
    for (const faults::Fault& f : faults::table())
      if (f.rules_only) rules_only.push_back(f.name);
    for (const auto& a : s.actions)
      if (a.kind == Action::Kind::Respond || a.kind == Action::Kind::RespondRaw ||
          a.kind == Action::Kind::Delay ||
          std::any_of(a.faults.begin(), a.faults.end(),
                      [](const faults::Call& c) { return c.fault->rules_only; }))
        r_.fail(v, ws, or_list(rules_only, " and ") + " belong in rules");
  } else if (t.name == "lwm2m") {
    s.kind = HostStep::Kind::Lwm2m;
    if (!present(v) || !v.IsMap())
      r_.fail(n, ws, "expected {write: /5/0/1, value: ...} and the like");
    r_.expect_map(v, ws,
                  {"write", "execute", "read", "observe", "wait_registration", "wait_notification",
                   "value", "timeout", "count"});
    for (const char* op : {"write", "execute", "read", "observe", "wait_notification"})
      if (v[op]) s.op = op, s.path = r_.str(v[op], at(ws, op));
    if (v["wait_registration"]) {
      s.op = "wait_registration";
      s.count = static_cast<std::uint64_t>(
          r_.integer(v["wait_registration"], at(ws, "wait_registration"), 1, 1000));
    }
    if (s.op.empty())
      r_.fail(v, ws,
              "give one of write, execute, read, observe, wait_registration, wait_notification");
    s.value = r_.opt_str(v, ws, "value").value_or("");
    if ((s.op == "write" || s.op == "wait_notification") && !v["value"])
      r_.fail(v, ws, s.op + " needs value");
    s.timeout = r_.opt_duration(v, ws, "timeout");
  } else {
    r_.fail(n, w,
            "unknown step \"" + t.name +
                "\" (known: send, expect, expect_not, pause, open, close, baud, do, lwm2m)");
  }
  return s;
}

Expectation Parser::expectation(const YAML::Node& n, const std::string& w) const {
  r_.expect_map(n, w,
                {"verdict", "revision", "version", "firmware", "package_size", "power", "boots"});
  Expectation e;
  if (n["verdict"]) e.pass = r_.choice(n["verdict"], at(w, "verdict"), {"pass", "fail"}) == "pass";
  e.revision = r_.opt_str(n, w, "revision");
  e.full_version = r_.opt_str(n, w, "version");
  if (const auto f = n["firmware"]) {
    r_.expect_map(f, at(w, "firmware"), {"target_of", "source_of"});
    e.firmware_of = r_.opt_str(f, at(w, "firmware"), "target_of");
    e.firmware_source_of = r_.opt_str(f, at(w, "firmware"), "source_of");
  }
  if (n["package_size"]) e.package_size = r_.size(n["package_size"], at(w, "package_size"));
  if (n["power"])
    e.power = r_.choice(n["power"], at(w, "power"), {"normal", "off", "dfota", "booting"});
  if (n["boots"])
    e.boots = static_cast<std::uint64_t>(r_.integer(n["boots"], at(w, "boots"), 0, 1000000));
  return e;
}

}  // namespace

Scenario parse_scenario_text(const std::string& text, const std::filesystem::path& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp guards its recursive parser itself, with the message "bad file".
    throw ScenarioError(
        fmt::format("{}:{}: not valid YAML: nested too deeply (yaml-cpp stops at "
                    "depth {})",
                    name.string(), e.mark.line + 1, e.depth()));
  } catch (const YAML::Exception& e) {
    throw ScenarioError(
        fmt::format("{}:{}: not valid YAML: {}", name.string(), e.mark.line + 1, e.msg));
  }
  if (!root || root.IsNull()) throw ScenarioError(name.string() + ": the file is empty");
  Scenario s = Parser(name).parse(root, text);
  check_variable_names(s);
  return s;
}

Scenario parse_scenario(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ScenarioError(file.string() + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > 4 * 1024 * 1024)
    throw ScenarioError(file.string() + ": larger than 4 MiB");
  return parse_scenario_text(text.str(), file);
}

bool Pattern::matches(std::string_view s) const {
  return std::regex_search(s.begin(), s.end(), regex);
}

}  // namespace bg95::scenario
