// allocation_sites.hpp — where make<T>() made the objects whose site was
// recorded (inspect::set_allocation_sites): a side table keyed by the
// object's address, since the 16-byte header has no room. One table for
// the process, behind a mutex: an object may die on another thread than
// the one that made it (Shared<T>, Parcel<T>), and only sampled makes and
// the deaths of sampled objects come here. An object in the table carries
// kHasSite, which sends its ~Object out of line to leave it; every other
// object pays nothing.
#pragma once

#include <mutex>
#include <optional>

#include "ouro/detail/make.hpp"
#include "ouro/object.hpp"

namespace ouro::detail {

// ~Object (object_destructor_rest) of an object with kHasSite.
void forget_site(const Object* o) noexcept;

// Enters `o`, made at `site`, and sets its kHasSite bit. Without memory for
// the entry nothing is recorded (the site stays unknown).
void record_site(Object& o, const CallSite& site) noexcept;

// The site of `o` when it has kHasSite.
std::optional<CallSite> site_of(const Object& o);

// Entries in the table, all threads together (for tests: an object that
// dies leaves it).
std::size_t recorded_sites() noexcept;

// Many look-ups under one lock (a report over every object). No object may
// die while one lives (its ~Object would wait for the lock): hold it only
// where no user code runs.
class SiteLookup {
 public:
  SiteLookup();
  const CallSite* find(const Object& o) const;  // nullptr when unknown

 private:
  std::unique_lock<std::mutex> lock_;
};

}  // namespace ouro::detail
