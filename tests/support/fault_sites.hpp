// support/fault_sites.hpp — the library's own fault-injection sites
// (ouro/detail/fault_injection.hpp) in tests: they exist in checked builds
// (OURO_CHECKS) only, so a test that arms one starts with
// SKIP_UNLESS_FAULT_SITES(), and disarms them all when it ends, also when
// it fails, with a ClearFaultsAtExit in scope.
#pragma once

#include <gtest/gtest.h>

#include <ouro/detail/fault_injection.hpp>

#define SKIP_UNLESS_FAULT_SITES() \
  if (!ouro::detail::fault::kAvailable) GTEST_SKIP() << "fault injection needs a checked build (OURO_CHECKS)"

namespace ouro_test {

// Disarms every site at the end of the scope, also when a test fails.
struct ClearFaultsAtExit {
  ClearFaultsAtExit() = default;
  ~ClearFaultsAtExit() { ouro::detail::fault::clear(); }
  ClearFaultsAtExit(const ClearFaultsAtExit&) = delete;
  ClearFaultsAtExit& operator=(const ClearFaultsAtExit&) = delete;
};

}  // namespace ouro_test
