// ouro/detail/fault_injection.hpp — making the library's own allocations
// fail on purpose, so that tests and the fuzzer can walk its out-of-memory
// paths without exhausting real memory. Internal: not part of the API.
//
//   namespace fault = ouro::detail::fault;
//   fault::fail_after(fault::Site::table, 2);   // the 3rd table chunk from now fails
//   fault::fail_after(fault::Site::scratch, 0, fault::kForever);
//   ... make<T>(), gc::collect() ...
//   long n = fault::failed();                   // failures injected so far
//   fault::clear();
//
// Only checked builds (OURO_CHECKS) have it. In other builds every function
// here is an empty inline stub and the library's hooks are constant false,
// so they compile to nothing; a test that needs injection checks
// fault::kAvailable (and skips itself without it).
//
// Per thread: arming on one thread never makes another thread's allocation
// fail. Each site counts on its own; sites can be armed together.
//
// What counts as one allocation of a site:
//   object   the block of one managed object (Object::operator new, and the
//            inline path of make<T>), whatever allocator is configured
//   table    one chunk of a SlotTable (a generation's table, or one of the
//            collector's working tables) when it grows
//   scratch  one growth of a collector working buffer: the scratch arrays
//            (counts, recorded references, marking stack) and its list of
//            dying objects
// An allocation that needs no new memory (room already there) is not
// counted.
//
// An injected failure is a std::bad_alloc thrown where the real allocation
// would have thrown it (or the "no memory" answer where the library asks
// without throwing, e.g. the growth of recorded references), before
// anything is allocated.
#pragma once

#include <new>

#include "ouro/detail/config.hpp"

namespace ouro::detail::fault {

enum class Site : unsigned { object = 0, table = 1, scratch = 2 };
inline constexpr unsigned kSites = 3;

// `times` for fail_after(): every allocation of the site fails until clear().
inline constexpr long kForever = -1;

inline constexpr bool kAvailable = OURO_CHECKS != 0;

#if OURO_CHECKS

// The next `n` allocations of `site` on this thread succeed; the `times`
// after them fail (kForever: all of them). Replaces what was armed for
// that site before; the failure count is kept.
void fail_after(Site site, long n, long times = 1) noexcept;
// Disarms every site of this thread and resets the failure counts.
void clear() noexcept;
// Failures injected on this thread since the last clear(): in all, or at one site.
long failed() noexcept;
long failed(Site site) noexcept;

// The library's hook, asked before each allocation of `site`: true when
// it must fail (the failure is counted).
bool should_fail(Site site) noexcept;

#else

inline void fail_after(Site, long, long = 1) noexcept {}
inline void clear() noexcept {}
inline long failed() noexcept { return 0; }
inline long failed(Site) noexcept { return 0; }
constexpr bool should_fail(Site) noexcept { return false; }

#endif

// The hook for allocations that report failure by throwing.
inline void check(Site site) {
  if (should_fail(site)) throw std::bad_alloc();
}

}  // namespace ouro::detail::fault
