#pragma once
// Test support: the tests' certificates are the package server's PKI
// (scenarios/package_server/pki.hpp), which generates them with OpenSSL at run time.

#include "scenarios/package_server/pki.hpp"

namespace bg95::test {

using TestPki = pkgserver::Pki;

}  // namespace bg95::test
