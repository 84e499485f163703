// triggers.cpp — when a collection runs, and what runs around it: the
// thresholds of automatic collection (CPython's gc_collect_generations) and
// the gc callbacks around every collection that collect() or the thresholds
// start. Above the collector; made heaps (thread_heap.cpp) and the façade
// (gc_module.cpp) call it.
#include "triggers.hpp"

#include <algorithm>
#include <time.h>

#include <chrono>
#include <exception>

#include "collector.hpp"
#include "unraisable.hpp"

namespace ouro::detail {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The calling thread's CPU time: the pacer's clock, so that time the
// thread spent preempted counts neither as the collector's nor as the
// program's.
double thread_seconds() noexcept {
#if defined(CLOCK_THREAD_CPUTIME_ID)
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
#endif
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

namespace {

void invoke_callbacks(Heap& h, gc::Phase phase, const gc::CollectionInfo& info) {
  // By index, on a copy: a callback may add or remove callbacks. Copying
  // may run out of memory: that is reported like an exception of the
  // callback, since at Phase::stop the collection has already happened and
  // collect() must not throw after doing its work.
  for (std::size_t i = 0; i < h.callbacks.size(); ++i) {
    try {
      gc::Callback cb = h.callbacks[i].second;
      if (cb) cb(phase, info);
    } catch (...) {
      report_unraisable(std::current_exception(), nullptr, "gc callback");
    }
  }
}

}  // namespace

std::size_t collect_with_callbacks(Heap& h, int g) {
  invoke_callbacks(h, gc::Phase::start, gc::CollectionInfo{g, 0, 0, 0.0});
  auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = h.incremental() ? thread_seconds() : 0.0;
  CollectionResult r;
  try {
    r = collect_generations(h, g);
  } catch (...) {
    // Every start gets its stop, as in CPython: a callback that measures or
    // locks something at start must be able to undo it. Nothing is reported
    // as collected, since the collection did not finish.
    invoke_callbacks(h, gc::Phase::stop, gc::CollectionInfo{g, 0, 0, seconds_since(t0)});
    throw;
  }
  const double seconds = seconds_since(t0);
  if (h.incremental()) h.inc.last_seconds = thread_seconds() - cpu0;
  invoke_callbacks(h, gc::Phase::stop, gc::CollectionInfo{g, r.collected, r.uncollectable, seconds});
  return r.collected + r.uncollectable;
}

namespace {

// One measured cost per object: up at once, down slowly (a collection that
// found garbage runs destructors and costs more per object, and the next one
// must still fit). Counts too small to time are left out.
void learn_cost(double& ns_per, double seconds, std::size_t objects) {
  if (objects < 1024) return;
  const double ns = std::clamp(seconds * 1e9 / static_cast<double>(objects), 0.5, 100000.0);
  ns_per = ns > ns_per ? ns : 0.9 * ns_per + 0.1 * ns;
}

// The collection's CPU time, shared among its parts in the proportions of
// their wall time.
void learn_costs(IncrementalState& s, double collector_seconds) {
  const double wall = s.last_promote_wall + s.last_young_wall + s.last_increment_wall;
  if (s.cost_fixed || wall <= 0) return;
  const double cpu_per_wall = collector_seconds / wall;
  learn_cost(s.ns_per_promoted, s.last_promote_wall * cpu_per_wall, s.last_unexamined);
  learn_cost(s.ns_per_young, s.last_young_wall * cpu_per_wall, s.last_young);
  learn_cost(s.ns_per_increment, s.last_increment_wall * cpu_per_wall, s.last_increment);
}

// The old generation's garbage, as its increments measure it, above what
// the pacer allows: increments take all the pause allows, and collections
// come more often, whatever the overhead target.
bool old_garbage_over_bound(const IncrementalState& s) { return s.old_garbage_fraction > kOldGarbageMost; }

void learn_old_garbage(IncrementalState& s) {
  if (s.last_increment < kMinSeeds) return;
  const double f = static_cast<double>(s.last_increment_found) / static_cast<double>(s.last_increment);
  s.old_garbage_fraction = 0.75 * s.old_garbage_fraction + 0.25 * f;
}

// The spacing of collections: the young target doubles after a collection
// that found nothing, up to its ceiling; after one that found garbage it
// doubles if that collection took more than the overhead target's share,
// and halves otherwise, within what one collection examines whole: young
// objects go to the old generation unexamined only while collections find
// nothing.
void space_collections(Heap& h, bool over_share, std::size_t found) {
  IncrementalState& s = h.inc;
  std::size_t y = std::max<std::size_t>(s.young_target, 1);
  if (found == 0)
    y = std::min(y * 2, h.young_ceiling());  // nothing found: rarer
  else if (over_share && !old_garbage_over_bound(s))
    y = std::min(y * 2, h.young_examined_all());  // over the share: rarer, every young object examined
  else
    y = std::max(std::min(y / 2, h.young_examined_all()), s.young_floor);  // garbage found within the share
  s.young_target = std::clamp(y, s.young_floor, h.young_ceiling());
  if (h.threshold[0] != 0) {  // 0: automatic collection is off
    h.threshold[0] = s.young_target;
    h.sync_trigger();
  }
}

// The next increment: the collector's share of the time the mutator ran,
// less the young set's examination, within [floor, a quarter of the pause
// budget] (the young set takes at most half, the closure cap a quarter);
// the floor keeps a pass over n old objects within n / kMinSeeds
// collections, and within 64 when the pause allows.
void size_increment(Heap& h, double mutator_seconds) {
  IncrementalState& s = h.inc;
  const double o = s.overhead_target;
  const double quarter = static_cast<double>(h.pause_budget() / 4);
  const double old = static_cast<double>(h.table(Table::gen1).size() + h.table(Table::gen2).size());
  const double floor = std::min(quarter, std::max<double>(kMinSeeds, old / 64));
  const double young_ns = static_cast<double>(std::min(h.threshold[0], h.young_examined_all())) * s.ns_per_young;
  const double share = o >= 1 || old_garbage_over_bound(s)
                           ? quarter
                           : (mutator_seconds * 1e9 * o / (1 - o) - young_ns) / s.ns_per_increment;
  s.seeds_budget = static_cast<std::uint32_t>(std::clamp(share, floor, quarter));
}

// The pacer of the incremental schedule, after each automatic collection
// (docs/design/incremental.md, "The pacer"): the costs per object from what
// the collection measured, then the spacing of collections (the young
// threshold) and the size of the next increment.
void pace_after(Heap& h, double collector_seconds, double mutator_seconds, std::size_t found) {
  learn_costs(h.inc, collector_seconds);
  learn_old_garbage(h.inc);
  const double o = h.inc.overhead_target;
  const bool over = mutator_seconds > 0 && collector_seconds > o * (collector_seconds + mutator_seconds);
  space_collections(h, over, found);
  size_increment(h, mutator_seconds);
}

}  // namespace

void collect_automatically(Heap& h) {
  struct Collecting {
    Heap& h;
    explicit Collecting(Heap& heap) : h(heap) { h.collecting = true; }
    ~Collecting() { h.collecting = false; }
    Collecting(const Collecting&) = delete;
    Collecting& operator=(const Collecting&) = delete;
  } scope(h);
  if (h.incremental()) {
    const double start = thread_seconds();
    const double mutator = h.inc.last_end == 0 ? 0.0 : start - h.inc.last_end;
    const std::size_t found = collect_with_callbacks(h, 1);
    pace_after(h, h.inc.last_seconds, mutator, found);
    h.inc.last_end = thread_seconds();
    return;
  }
  for (int g = kGenerations - 1; g >= 0; --g) {
    auto i = static_cast<std::size_t>(g);
    if (h.count[i] <= h.threshold[i]) continue;
    if (g == kGenerations - 1 && h.long_lived_pending < h.long_lived_total / 4) continue;
    collect_with_callbacks(h, g);
    return;
  }
}
}  // namespace ouro::detail
