#include "sim/packet/host_resolver.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "sim/util/text.hpp"

namespace bg95::packet {
namespace {

bool is_v4(const std::string& s) {
  in_addr a{};
  return ::inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_v6(const std::string& s) {
  in6_addr a{};
  return ::inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

}  // namespace

std::vector<std::string> resolve_locally(const std::string& name,
                                         const std::filesystem::path& hosts_file) {
  if (name.empty() || name.size() > 255) return {};
  if (is_v4(name) || is_v6(name)) return {name};
  const std::string wanted = util::ascii_lower(name);
  std::vector<std::string> v4, v6;
  // A regular file only (a FIFO or a device in its place must not block the module).
  std::error_code ec;
  if (std::filesystem::is_regular_file(hosts_file, ec)) {
    std::ifstream in(hosts_file);
    std::string line;
    std::size_t lines = 0;
    while (std::getline(in, line) && ++lines < 10000) {
      line = line.substr(0, line.find('#'));
      std::istringstream words(line);
      std::string address, alias;
      if (!(words >> address)) continue;
      while (words >> alias) {
        if (util::ascii_lower(alias) != wanted) continue;
        if (is_v4(address)) v4.push_back(address);
        if (is_v6(address)) v6.push_back(address);
        break;
      }
    }
  }
  if (v4.empty() && v6.empty() && wanted == "localhost") v4.push_back("127.0.0.1");
  // One address once, IPv4 first (what a host expects of a dual-stack answer).
  v4.insert(v4.end(), v6.begin(), v6.end());
  std::vector<std::string> unique;
  for (auto& a : v4)
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
  return unique;
}

}  // namespace bg95::packet
