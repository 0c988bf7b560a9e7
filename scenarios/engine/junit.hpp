#pragma once
// JUnit XML for CI systems: one <testsuite> of the run, one <testcase> per scenario, a
// <failure> where the run did not end with the scenario's expected verdict (the schema that
// Jenkins, GitLab and GitHub Actions read).

#include <filesystem>
#include <string>
#include <vector>

#include "scenarios/engine/runner.hpp"

namespace bg95::scenario {

std::string junit_xml(const std::string& suite, const std::vector<RunResult>& results);
// Escapes text for XML character data and attribute values (and drops what XML 1.0 forbids).
std::string xml_escape(std::string_view text);

}  // namespace bg95::scenario
