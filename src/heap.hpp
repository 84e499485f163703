// heap.hpp — one heap per thread: its tables of tracked objects, its gc
// settings and counters, the operations that move objects between tables,
// and heap ids. The collector (collector.cpp) and the façade
// (gc_module.cpp) work on a Heap; nothing here runs user code. A thread's
// heap is made and torn down a layer above (thread_heap.cpp).
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "ouro/detail/header.hpp"
#include "ouro/detail/heap_core.hpp"
#include "ouro/gc.hpp"
#include "ouro/object.hpp"
#include "reachability_scratch.hpp"
#include "weak_lists.hpp"

namespace ouro::detail {

inline constexpr int kGenerations = 3;
// Generation g (0..2) is table g.
inline Table generation_table(int g) noexcept { return static_cast<Table>(g); }

// Objects a collection can take at a time when there is no memory for its
// whole working set (collect_in_pieces, collector.cpp): every heap holds
// scratch and table room for a piece this large from its start.
inline constexpr std::uint32_t kReservedPiece = SlotTable::kChunkSize;

// The passes over a table read each object's header, but after deaths
// (swap-with-last) and promotions the objects behind a table are not always
// in address order, and even when they are, the hardware prefetcher stops at
// every 4 KiB page: each pass asks for the header this many entries ahead.
inline constexpr std::uint32_t kPrefetchDistance = 32;
// A young set smaller than this is recent, and in the cache:
// prefetching there only costs instructions.
inline constexpr std::uint32_t kPrefetchFrom = 8192;
inline void prefetch(const Object* o) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(o);
#else
  (void)o;
#endif
}
// Prefetches the object kPrefetchDistance entries after objects[i] in a
// chunk of n.
inline void prefetch_ahead(Object* const* objects, std::uint32_t i, std::uint32_t n) noexcept {
  if (i + kPrefetchDistance < n) prefetch(objects[i + kPrefetchDistance]);
}

// The incremental schedule's state (docs/design/incremental.md): which half
// of the old generation the current pass has still to visit, and the
// pacer's measurements and decisions.
struct IncrementalState {
  gc::Schedule schedule = gc::Schedule::generational;
  // The old generation is gen1 and gen2; `unscanned` is the half the current
  // pass has still to visit, the other one what it has visited. The roles
  // swap when `unscanned` is empty: no object is relabelled.
  Table unscanned = Table::gen2;
  Table scanned() const noexcept { return unscanned == Table::gen1 ? Table::gen2 : Table::gen1; }

  std::chrono::microseconds pause_target{1000};
  double overhead_target = 0.10;

  // The pacer (triggers.cpp, pace_after).
  // The collector's measured cost of one object: examined in a young set,
  // examined in an increment (gathered, counted and moved back: dearer), and
  // moved to the old generation unexamined (promote_unexamined).
  double ns_per_young = 50.0;
  double ns_per_increment = 50.0;
  double ns_per_promoted = 12.5;
  bool cost_fixed = false;           // tests fix the cost model (detail::fix_pacer_cost): no timing
  std::size_t young_floor = 700;     // set_threshold(gen0): the least young set the pacer aims at
  std::size_t young_target = 700;    // the young set the pacer aims at, in [young_floor, young_ceiling()]
  std::uint32_t seeds_budget = 256;  // an increment takes seeds until it holds this many objects
  std::uint32_t cap_scale = 1;       // the closure cap's multiplier: doubles after a pass that cut a closure
  bool pass_cut = false;             // the current pass cut some seed's closure at the cap
  double last_end = 0;      // the thread's CPU time when the last automatic collection ended (0: none yet)
  double last_seconds = 0;  // the last collection's CPU time (callbacks left out)

  // The last automatic collection's work, in objects (for tests and stats).
  std::size_t last_young = 0;
  std::size_t last_increment = 0;
  std::size_t last_seeds = 0;
  std::size_t last_promoted = 0;    // young survivors the last automatic collection promoted
  std::size_t last_unexamined = 0;  // young objects it moved to the old generation unexamined
  std::size_t last_increment_found = 0;  // garbage its increment found
  // What increments find: the part of the objects they examine that is
  // garbage, averaged over recent increments.
  double old_garbage_fraction = 0;
  bool last_cut = false;
  // The wall time of its three parts (the pacer shares the thread's CPU time
  // of the whole collection among them in these proportions).
  double last_promote_wall = 0, last_young_wall = 0, last_increment_wall = 0;
};

// The fewest objects the pause budget allows (however small the pause
// target), and the fewest objects an increment takes as seeds.
inline constexpr std::uint32_t kMinIncrement = 256;
inline constexpr std::uint32_t kMinSeeds = kMinIncrement / 4;
// The part of the pause target the pacer plans for: the cost per object
// varies from one collection to the next (garbage found runs destructors).
inline constexpr double kPauseMargin = 0.75;
// The most garbage the pacer lets the old generation hold, as a part of
// what its increments examine: 1/5 of the old generation is garbage when it
// holds a quarter of its live objects in garbage.
inline constexpr double kOldGarbageMost = 0.2;

// id, count, tables and the collection trigger are in HeapCore
// (ouro/detail/heap_core.hpp), where make<T>() reads them inline.
struct Heap : HeapCore {
  explicit Heap(std::uint16_t heap_id) : HeapCore(heap_id) { sync_trigger(); }
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  std::array<std::size_t, kGenerations> threshold{700, 10, 10};
  std::array<gc::GenerationStats, kGenerations> stats{};
  bool enabled = true;
  bool collecting = false;
  bool tearing_down = false;
  // Queries running (QueryScope, query_scope.hpp): while any runs, automatic
  // collection waits and gc::collect() returns 0.
  std::uint32_t queries = 0;
  // CPython's 25% rule: a full collection also needs more pending objects
  // (survivors promoted into gen2 since the last full collection, that are
  // still alive) than a quarter of the long-lived total.
  std::size_t long_lived_total = 0;
  std::size_t long_lived_pending = 0;
  // gen2's table room [size, gen2_touched) is faulted in (prepare_gen2_room).
  std::size_t gen2_touched = 0;

  std::vector<Ref<Object>> garbage;
  unsigned debug = 0;
  std::ostream* debug_stream = nullptr;
  std::vector<std::pair<std::size_t, gc::Callback>> callbacks;
  std::size_t next_callback_id = 1;
  gc::FinalizerPolicy policy = gc::FinalizerPolicy::pep442;
  UnraisableHook unraisable;
  IncrementalState inc;
  bool incremental() const noexcept { return inc.schedule == gc::Schedule::incremental; }
  bool young_deaths_only = false;  // the incremental schedule's count[0] (forget_dying)
  // Objects the pause target allows in one automatic collection at `ns`
  // nanoseconds each (never fewer than kMinIncrement).
  std::uint32_t objects_in_pause(double ns) const noexcept {
    double n = kPauseMargin * static_cast<double>(inc.pause_target.count()) * 1000.0 / ns;
    if (n < kMinIncrement) return kMinIncrement;
    return n > 1e9 ? 1000000000u : static_cast<std::uint32_t>(n);
  }
  // The pause budget, in objects of an increment.
  std::uint32_t pause_budget() const noexcept { return objects_in_pause(inc.ns_per_increment); }
  // The most objects one seed's closure may add to an increment: a quarter
  // of the pause budget (the young set takes up to half, the seeds a
  // quarter), times the scale a pass that cut a closure doubles.
  std::uint32_t closure_cap() const noexcept {
    std::uint64_t cap = std::uint64_t{pause_budget() / 4} * inc.cap_scale;
    return cap > 2000000000u ? 2000000000u : static_cast<std::uint32_t>(std::max<std::uint64_t>(cap, kMinSeeds));
  }
  // The young set's half of the pause: a young set up to young_examined_all()
  // objects is examined whole; a larger one has young_examined_in_part()
  // objects examined (a quarter of the pause) and the rest, at most
  // young_unexamined_most() (the other quarter, at the cost of a move), joins
  // the visited half of the old generation unexamined: the old generation's
  // passes find its garbage.
  std::size_t young_examined_all() const noexcept {
    return std::max<std::size_t>(inc.young_floor, objects_in_pause(inc.ns_per_young) / 2);
  }
  std::size_t young_examined_in_part() const noexcept {
    return std::max<std::size_t>(inc.young_floor, objects_in_pause(inc.ns_per_young) / 4);
  }
  std::size_t young_unexamined_most() const noexcept { return objects_in_pause(inc.ns_per_promoted) / 4; }
  // The young threshold's ceiling: a young set the pause allows, and no
  // larger than the old generation (so that young garbage waiting to be
  // found never outgrows it), unless the pause allows examining it whole.
  std::size_t young_ceiling() const noexcept {
    const std::size_t old = std::size_t{table(Table::gen1).size()} + table(Table::gen2).size();
    const std::size_t in_pause = young_examined_in_part() + young_unexamined_most();
    return std::max(young_examined_all(), std::min(old, in_pause));
  }

  // Weak lists of this heap's objects that have weak references (weak_references.cpp).
  WeakLists weak_lists;

  // Kept between collections: what finding the unreachable objects uses
  // (reachability.cpp), and the garbage waiting for its end
  // (collector.cpp, settle_dying).
  ReachabilityScratch reachability;
  std::vector<Object*> dying;
  // Table room that only a collection in pieces uses (as `unreachable`'s
  // storage); never holds an entry otherwise.
  SlotTable spare;
  // While a piece of gen0 is out for a collection in pieces: the part of
  // gen0_promised that is the piece's, for put_back().
  std::uint32_t gen0_promised_to_collector = 0;

  // inspect::set_allocation_sites: 0 (off), or the mean number of makes
  // from one sampled make to the next (1: every make); the sampling's
  // random state (xorshift64).
  std::size_t sites_every = 0;
  std::uint64_t sites_random = 0x9E3779B97F4A7C15u;
  // The makes from one sampled make to the next: uniform in
  // [1, 2 * sites_every - 1], mean sites_every, so that no loop whose
  // period divides the interval is always missed or always caught.
  std::size_t next_sample_interval() noexcept {
    if (sites_every <= 1) return 1;
    sites_random ^= sites_random << 13;
    sites_random ^= sites_random >> 7;
    sites_random ^= sites_random << 17;
    return 1 + static_cast<std::size_t>(sites_random % (2 * sites_every - 1));
  }

  // After any change of threshold[0] or enabled.
  void sync_trigger() noexcept { collect_below = enabled && threshold[0] != 0 ? threshold[0] : SIZE_MAX; }

  // --- moving objects between tables (no user code runs) ---

  // Appends `o` to table `t`, growing it if need be; gen0 keeps the room
  // promised to makes in flight (gen0_promised). Throws std::bad_alloc only
  // when the caller did not reserve room (the collector always does).
  void place(Object* o, Table t) {
    SlotTable& tab = table(t);
    std::size_t wanted = std::size_t{tab.size()} + 1 + (t == Table::gen0 ? gen0_promised : 0);
    if (wanted > tab.capacity()) tab.reserve(wanted);
    place_reserved(o, t);
  }
  // Returns an object that a collection took out of table `t` (its room
  // is reserved, or for a piece of gen0 promised: collect_in_pieces). Like
  // place(), for any other object.
  void put_back(Object* o, Table t) {
    if (t == Table::gen0 && gen0_promised_to_collector > 0) {
      --gen0_promised_to_collector;
      --gen0_promised;
      place_reserved(o, t);
      return;
    }
    place(o, t);
  }
  // Removes `o` from its table by moving the last entry into its slot.
  void unlink(Object* o) noexcept {
    Table t = table_of(*o);
    if (t == Table::none) return;
    SlotTable& tab = table(t);
    std::uint32_t slot = Access::slot(*o);
    Object* last = tab.pop();
    if (last != o) {
      tab[slot] = last;
      Access::slot(*last) = slot;
    }
    set_table(*o, Table::none);
  }
  // Bookkeeping for a tracked object that is about to be freed.
  void forget_dying(Object* o) noexcept {
    // Under the incremental schedule count[0] is the young set's size: only
    // young deaths take from it (an old object's death would let the young
    // set grow past the pacer's target in a program whose old objects die
    // by refcount as fast as new ones are made).
    const bool counted = table_of(*o) == Table::gen0 || !young_deaths_only;
    unlink(o);
    if (counted && count[0] > 0) --count[0];
    if (has(*o, kPending)) {
      unset(*o, kPending);
      if (long_lived_pending > 0) --long_lived_pending;
    }
  }
  // Moves every object of table `from` to the end of table `to`.
  void append_table(Table from, Table to) {
    SlotTable& src = table(from);
    table(to).reserve(std::size_t{table(to).size()} + src.size());
    src.for_each_chunk([&](Object* const* objects, std::uint32_t n, std::uint32_t) {
      for (std::uint32_t i = 0; i < n; ++i) {
        prefetch_ahead(objects, i, n);
        place_reserved(objects[i], to);
      }
    });
    src.truncate(0);
  }
  std::size_t tracked_in(Table t) noexcept { return table(t).size(); }
};

// The calling thread's heap if it exists, without making one (tls_heap,
// heap_core.hpp, is read inline on the make and release paths; the heap is
// made and torn down by thread_heap.cpp).
inline Heap* existing_heap() noexcept { return static_cast<Heap*>(tls_heap); }

// --- heap ids and the calling thread's heap (heap.cpp) ---

// A fresh id for a new heap (never 0, which means "no heap").
std::uint16_t new_heap_id() noexcept;
// From now on objects with this id are orphans, usable from any thread.
void retire_heap_id(std::uint16_t id) noexcept;
// True when the heap with this id is torn down (its objects are orphans).
bool is_dead_heap_id(std::uint16_t id) noexcept;
// `h` becomes the calling thread's heap (existing_heap()).
void attach_to_this_thread(Heap* h) noexcept;
// The calling thread's heap is gone for good (thread exit): existing_heap()
// is nullptr again and this_thread_heap_is_gone() true.
void detach_from_this_thread() noexcept;
bool this_thread_heap_is_gone() noexcept;

}  // namespace ouro::detail
