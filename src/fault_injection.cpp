// fault_injection.cpp — the per-thread state behind
// ouro/detail/fault_injection.hpp (checked builds only).
#include "ouro/detail/fault_injection.hpp"

#if OURO_CHECKS

#include <array>

namespace ouro::detail::fault {
namespace {

struct SiteState {
  long successes_left = 0;  // allocations that still succeed before the failures
  long failures_left = 0;   // 0: disarmed; kForever: every one from then on
  long failed = 0;
};

struct State {
  bool armed = false;  // any site armed: the common case reads this alone
  std::array<SiteState, kSites> sites{};
};

thread_local constinit State tls_fault;

SiteState& state_of(Site site) noexcept { return tls_fault.sites[static_cast<unsigned>(site)]; }

}  // namespace

void fail_after(Site site, long n, long times) noexcept {
  SiteState& s = state_of(site);
  s.successes_left = n > 0 ? n : 0;
  s.failures_left = times == kForever ? kForever : (times > 0 ? times : 0);
  tls_fault.armed = false;
  for (const SiteState& each : tls_fault.sites) tls_fault.armed = tls_fault.armed || each.failures_left != 0;
}

void clear() noexcept { tls_fault = State{}; }

long failed() noexcept {
  long n = 0;
  for (const SiteState& s : tls_fault.sites) n += s.failed;
  return n;
}

long failed(Site site) noexcept { return state_of(site).failed; }

bool should_fail(Site site) noexcept {
  if (!tls_fault.armed) return false;
  SiteState& s = state_of(site);
  if (s.failures_left == 0) return false;
  if (s.successes_left > 0) {
    --s.successes_left;
    return false;
  }
  if (s.failures_left > 0) --s.failures_left;
  ++s.failed;
  return true;
}

}  // namespace ouro::detail::fault

#endif
