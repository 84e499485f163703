// ouro/detail/schedule_probe.hpp — what the incremental schedule's pacer
// decided and what the last automatic collection did, counted in objects,
// for tests (which count work, never time). Internal: not part of the API.
#pragma once

#include <cstddef>

namespace ouro::detail {

struct ScheduleProbe {
  // The last automatic collection (or collect(1)) of the calling thread's heap.
  std::size_t young = 0;       // objects of its young set it examined
  std::size_t unexamined = 0;  // objects of its young set it moved to the old generation unexamined
  std::size_t increment = 0;  // objects in its increment
  std::size_t seeds = 0;      // of which seeds
  bool cut = false;           // some seed's closure was cut at the cap
  // What the pacer decided for the next one.
  std::size_t young_threshold = 0;  // the count that starts the next one (threshold[0])
  std::size_t young_target = 0;     // the young set the pacer aims at
  std::size_t young_ceiling = 0;
  std::size_t seeds_budget = 0;
  std::size_t closure_cap = 0;
  std::size_t pause_budget = 0;  // objects the pause target allows at the cost per object
  std::size_t unscanned = 0;     // old objects the current pass has still to visit
};
ScheduleProbe schedule_probe();

// Fixes the pacer's cost per examined object (nanoseconds; a young object
// moved unexamined costs a quarter of it), so that its decisions depend on
// counts alone; 0 returns to measuring.
void fix_pacer_cost(double ns_per_object);

}  // namespace ouro::detail
