#pragma once
// Name resolution for AT+QIDNSGIP: only what this machine answers without asking a DNS
// server (the emulator sends no traffic beyond loopback): address literals, "localhost", and
// the names in the hosts file. Reads a small file; never blocks on the network.

#include <filesystem>
#include <string>
#include <vector>

namespace bg95::packet {

// The addresses of `name` (IPv4 first, in the file's order), or none when it is unknown.
std::vector<std::string> resolve_locally(const std::string& name,
                                         const std::filesystem::path& hosts_file = "/etc/hosts");

}  // namespace bg95::packet
