// The container image and the Kubernetes manifests (Containerfile, deploy/k8s/,
// docs/scale-out.md) as far as this machine can check them without a cluster: every manifest
// parses, names the image the Containerfile builds and runs its programs with options they
// have; shard counts agree with completions and replicas; what a pod refers to (ConfigMap
// keys, volumes, $(VAR) references) exists; the ConfigMap's fleet file loads.

#include <sys/wait.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sim/fleet/fleet_file.hpp"
#include "tests/support/sim_process.hpp"

namespace bg95::test {
namespace {

const std::filesystem::path kSource = BG95SIM_SOURCE_DIR;
const std::string kImage = std::string("localhost/bg95sim:") + BG95SIM_VERSION;
constexpr const char* kUser = "10001";

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// What a program prints for `args` (its --help).
std::string output_of(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  std::string out;
  char buf[4096];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr)
    out += buf;
  if (p != nullptr) ::pclose(p);
  return out;
}

// The options ("--name") a program's --help lists.
std::set<std::string> options_of(const std::string& help_command) {
  std::set<std::string> out;
  const std::string help = output_of(help_command);
  static const std::regex option(R"((--[a-z][a-z0-9-]*))");
  for (auto it = std::sregex_iterator(help.begin(), help.end(), option);
       it != std::sregex_iterator(); ++it)
    out.insert((*it)[1]);
  return out;
}

struct Manifests {
  std::vector<std::pair<std::string, YAML::Node>> docs;  // file name, document
  std::map<std::string, YAML::Node> config_maps;         // by name
  std::set<std::string> claims;                          // PersistentVolumeClaim names

  Manifests() {
    for (const auto& e : std::filesystem::directory_iterator(kSource / "deploy" / "k8s")) {
      if (e.path().extension() != ".yaml") continue;
      for (const YAML::Node& d : YAML::LoadAllFromFile(e.path().string())) {
        docs.emplace_back(e.path().filename().string(), d);
        const std::string kind = d["kind"].as<std::string>();
        const std::string name = d["metadata"]["name"].as<std::string>();
        if (kind == "ConfigMap") config_maps[name] = d;
        if (kind == "PersistentVolumeClaim") claims.insert(name);
      }
    }
  }

  // The workloads: Jobs and StatefulSets.
  std::vector<std::pair<std::string, YAML::Node>> workloads() const {
    std::vector<std::pair<std::string, YAML::Node>> out;
    for (const auto& [file, d] : docs) {
      const std::string kind = d["kind"].as<std::string>();
      if (kind == "Job" || kind == "StatefulSet") out.emplace_back(file, d);
    }
    return out;
  }
};

std::vector<std::string> strings(const YAML::Node& list) {
  std::vector<std::string> out;
  if (list)
    for (const auto& v : list)
      out.push_back(v.as<std::string>());
  return out;
}

TEST(Deploy, ContainerfileIsMultiStageDebian12NonRootWithBg95simEntrypoint) {
  const std::string file = read_text(kSource / "Containerfile");
  EXPECT_NE(file.find("ARG DEBIAN_IMAGE=docker.io/library/debian:12-slim\n"), std::string::npos);
  EXPECT_NE(file.find("FROM ${DEBIAN_IMAGE} AS build\n"), std::string::npos);
  EXPECT_NE(file.find("\nFROM ${DEBIAN_IMAGE}\n"), std::string::npos);  // the runtime stage
  EXPECT_NE(file.find("-DBG95SIM_BUILD_TESTS=OFF -DBG95SIM_BUILD_BENCH=OFF"), std::string::npos);
  EXPECT_NE(file.find("cpack -G DEB"), std::string::npos);
  EXPECT_NE(file.find(std::string("\nUSER ") + kUser + ":" + kUser + "\n"), std::string::npos);
  EXPECT_NE(file.find("\nVOLUME /var/lib/bg95sim\n"), std::string::npos);
  EXPECT_NE(file.find("\nENTRYPOINT [\"bg95sim\"]\n"), std::string::npos);
  // The tag the manifests use is the one the Containerfile and docs build.
  EXPECT_NE(file.find("podman build -t " + kImage + " "), std::string::npos);
  EXPECT_NE(read_text(kSource / "docs" / "scale-out.md").find("podman build -t " + kImage + " "),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(kSource / ".containerignore"));
}

TEST(Deploy, ManifestsParseAndNameTheImage) {
  const Manifests m;
  std::set<std::string> kinds;
  for (const auto& [file, d] : m.docs) {
    ASSERT_TRUE(d["apiVersion"] && d["kind"] && d["metadata"]["name"]) << file;
    kinds.insert(d["kind"].as<std::string>());
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"ConfigMap", "Job", "PersistentVolumeClaim", "Service",
                                          "StatefulSet"}));
  const auto workloads = m.workloads();
  EXPECT_EQ(workloads.size(), 4u);  // fleet StatefulSet, fleet Job, scenario Job, merge Job
  for (const auto& [file, d] : workloads) {
    const YAML::Node pod = d["spec"]["template"]["spec"];
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>()) << file;
    EXPECT_EQ(pod["securityContext"]["runAsUser"].as<std::string>(), kUser) << file;
    for (const auto& c : pod["containers"])
      EXPECT_EQ(c["image"].as<std::string>(), kImage) << file;
  }
}

// The program a container runs and its arguments: the image's ENTRYPOINT (bg95sim) with
// `args`, a `command` ending in bg95sim (timeout … bg95sim), or a shell script.
struct ContainerRun {
  std::string program;
  std::vector<std::string> args;
  std::string script;
};

ContainerRun run_of(const YAML::Node& container) {
  const auto command = strings(container["command"]);
  const auto args = strings(container["args"]);
  if (command.empty()) return {"bg95sim", args, ""};
  if (command.size() == 2 && command[0] == "/bin/sh" && command[1] == "-c")
    return {"sh", {}, args.at(0)};
  return {command.back(), args, ""};
}

TEST(Deploy, ContainersUseOnlyOptionsTheProgramsHave) {
  const auto bg95sim = options_of(std::string(BG95SIM_BINARY) + " --help");
  const auto run = options_of(std::string(BG95_SCENARIO_BINARY) + " run --help");
  const auto merge = options_of(std::string(BG95_SCENARIO_BINARY) + " merge --help");
  ASSERT_TRUE(bg95sim.count("--shard-index") && run.count("--shard-count") &&
              merge.count("--summary"));
  const Manifests m;
  int scripts = 0;
  for (const auto& [file, d] : m.workloads()) {
    for (const auto& c : d["spec"]["template"]["spec"]["containers"]) {
      const ContainerRun r = run_of(c);
      if (r.program == "bg95sim") {
        for (const auto& a : r.args) {
          if (!a.starts_with("--")) continue;
          EXPECT_TRUE(bg95sim.count(a)) << file << ": bg95sim " << a;
        }
        continue;
      }
      ASSERT_EQ(r.program, "sh") << file;
      ++scripts;
      // Each bg95-scenario command of the script, with the options of its subcommand.
      static const std::regex command(R"(bg95-scenario (run|merge)([^\n]*))");
      static const std::regex option(R"((--[a-z][a-z0-9-]*))");
      bool found = false;
      // Continued lines joined: one command a line.
      const std::string script = std::regex_replace(r.script, std::regex(R"(\\\n)"), " ");
      for (auto it = std::sregex_iterator(script.begin(), script.end(), command);
           it != std::sregex_iterator(); ++it) {
        found = true;
        const std::string rest = (*it)[2];
        const auto& known = (*it)[1] == "run" ? run : merge;
        for (auto o = std::sregex_iterator(rest.begin(), rest.end(), option);
             o != std::sregex_iterator(); ++o)
          EXPECT_TRUE(known.count((*o)[1]))
              << file << ": bg95-scenario " << (*it)[1] << " " << (*o)[1];
      }
      EXPECT_TRUE(found) << file << ": a script without bg95-scenario";
    }
  }
  EXPECT_EQ(scripts, 2);
}

// The value of the container's env variable `name`, or "" (a valueFrom is "(from)").
std::string env_value(const YAML::Node& container, const std::string& name) {
  for (const auto& e : container["env"])
    if (e["name"].as<std::string>() == name)
      return e["value"] ? e["value"].as<std::string>() : "(from)";
  return "";
}

TEST(Deploy, ShardCountsAgreeWithCompletionsAndReplicas) {
  const Manifests m;
  int sharded = 0;
  for (const auto& [file, d] : m.workloads()) {
    const YAML::Node spec = d["spec"];
    for (const auto& c : spec["template"]["spec"]["containers"]) {
      const ContainerRun r = run_of(c);
      const std::string all = r.script + " " + [&] {
        std::string s;
        for (const auto& a : r.args)
          s += a + " ";
        return s;
      }();
      if (all.find("--shard-index env") == std::string::npos) continue;
      ++sharded;
      EXPECT_NE(all.find("--shard-count env"), std::string::npos) << file;
      const std::string count = env_value(c, "BG95_SHARD_COUNT");
      if (d["kind"].as<std::string>() == "Job") {
        EXPECT_EQ(spec["completionMode"].as<std::string>(), "Indexed") << file;
        EXPECT_EQ(spec["completions"].as<std::string>(), count) << file;
        EXPECT_EQ(spec["parallelism"].as<std::string>(), count) << file;
      } else {
        EXPECT_EQ(spec["replicas"].as<std::string>(), count) << file;
        EXPECT_EQ(spec["podManagementPolicy"].as<std::string>(), "Parallel") << file;
      }
    }
  }
  EXPECT_EQ(sharded, 3);  // the fleet StatefulSet, the fleet Job, the scenario Job
}

TEST(Deploy, ReferencesResolve) {
  const Manifests m;
  for (const auto& [file, d] : m.workloads()) {
    const YAML::Node pod = d["spec"]["template"]["spec"];
    std::set<std::string> volumes;
    for (const auto& v : pod["volumes"]) {
      volumes.insert(v["name"].as<std::string>());
      if (v["configMap"]) {
        const auto it = m.config_maps.find(v["configMap"]["name"].as<std::string>());
        ASSERT_NE(it, m.config_maps.end()) << file;
        for (const auto& item : v["configMap"]["items"])
          EXPECT_TRUE(it->second["data"][item["key"].as<std::string>()]) << file;
      }
      if (v["persistentVolumeClaim"]) {
        EXPECT_TRUE(m.claims.count(v["persistentVolumeClaim"]["claimName"].as<std::string>()))
            << file;
      }
    }
    if (d["spec"]["volumeClaimTemplates"])
      for (const auto& t : d["spec"]["volumeClaimTemplates"])
        volumes.insert(t["metadata"]["name"].as<std::string>());
    for (const auto& c : pod["containers"]) {
      for (const auto& mount : c["volumeMounts"])
        EXPECT_TRUE(volumes.count(mount["name"].as<std::string>())) << file;
      for (const auto& e : c["env"])
        if (e["valueFrom"]) {
          const YAML::Node ref = e["valueFrom"]["configMapKeyRef"];
          const auto it = m.config_maps.find(ref["name"].as<std::string>());
          ASSERT_NE(it, m.config_maps.end()) << file;
          EXPECT_TRUE(it->second["data"][ref["key"].as<std::string>()]) << file;
        }
      // Kubernetes expands $(VAR) in command and args only from the container's env.
      static const std::regex reference(R"(\$\(([A-Z_][A-Z0-9_]*)\))");
      auto words = strings(c["command"]);
      const auto args = strings(c["args"]);
      words.insert(words.end(), args.begin(), args.end());
      for (const auto& w : words)
        for (auto it = std::sregex_iterator(w.begin(), w.end(), reference);
             it != std::sregex_iterator(); ++it)
          EXPECT_NE(env_value(c, (*it)[1]), "") << file << ": $(" << (*it)[1] << ")";
    }
  }
}

TEST(Deploy, TheConfigMapsFleetFileLoads) {
  const Manifests m;
  const YAML::Node data = m.config_maps.at("bg95-fleet")["data"];
  EXPECT_TRUE(data["BG95_LWM2M_SERVER"].as<std::string>().starts_with("coap://"));
  TempDir dir;
  std::ofstream(dir.path() / "fleet.yaml") << data["fleet.yaml"].as<std::string>();
  fleet::FleetDefaults defaults;
  defaults.state = dir.path();
  const auto plan = fleet::load_fleet_file(dir.path() / "fleet.yaml", defaults);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->modules.size(), 4000u);
  EXPECT_EQ(plan->modules[1000].lwm2m_endpoint, "bg95-01001");
}

}  // namespace
}  // namespace bg95::test
