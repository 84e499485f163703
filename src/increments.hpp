// increments.hpp — which objects of the old generation one increment of the
// incremental schedule takes (increments.cpp; the rule is in
// docs/design/incremental.md).
#pragma once

#include <cstdint>

#include "heap.hpp"

namespace ouro::detail {

struct Gathered {
  std::uint32_t seeds = 0;    // objects taken from the unscanned half as seeds
  std::uint16_t flags = 0;    // the increment's flags, or'ed (guard_as_unreachable)
  bool cut = false;           // some seed's closure was cut at the cap
};

// Room for an increment of up to `most` objects: in `unreachable`, the
// reachability scratch, heap.dying, `uncollectable` (legacy policy) and both
// halves of the old generation (where its survivors go back). False, having
// reserved part of it (which changes nothing), when there is no memory.
bool try_reserve_for_increment(Heap& h, std::uint32_t most);

// Moves one increment into `unreachable`, guarded: seeds taken one at a time
// from the end of the unscanned half of the old generation, each followed
// by its closure (the objects of either half that it reaches, through the
// references traverse() reports) before the next seed is taken; no more
// seeds once the increment holds `seeds_budget` objects; a seed's closure
// that would add more than `cap` objects is cut there. Runs traverse() (user
// code) on the increment's objects; throws what it throws, with the objects
// taken so far still in `unreachable` (the caller releases them).
Gathered gather_increment(Heap& h, std::uint32_t seeds_budget, std::uint32_t cap);

}  // namespace ouro::detail
