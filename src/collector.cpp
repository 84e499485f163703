// collector.cpp — the generational cycle collector: the driver, which lists
// the phases of a collection, and the phases that decide the garbage's fate.
// Finding the garbage is reachability.cpp's; moving objects between tables,
// generation_tables.cpp's.
//
// WHAT IT FINDS
// Reference counting frees an object when its last Ref goes; it cannot free
// objects that only keep each other alive. The collector finds those groups
// among tracked objects (types that override traverse()) with CPython's
// trial deletion: count, for every object of the generations being
// collected, the references that other objects of the set hold to it (as
// traverse() reports them); its refcount minus that count is the number of
// references from outside the set. Objects with outside references are
// roots; everything reachable from a root is alive; the rest is garbage. A
// reference that traverse() forgets only makes its target look externally
// referenced: a missed reference can leak, never free early. A reference
// reported that the object does not hold can push the internal count above
// the refcount: checked builds abort naming the type; release builds treat
// such an object as a root (again: leak, never free early).
//
// THE HEADER (16 bytes after the vtable pointer; ouro/detail/header.hpp)
//
//   | bytes | field    | meaning                                            |
//   |-------|----------|----------------------------------------------------|
//   | 0-7   | refcnt_  | strong references (>= 2^62: immortal; queue link   |
//   |       |          | while waiting in the destruction queue)            |
//   | 8-11  | slot_    | index in the table of its generation               |
//   | 12-13 | flags_   | table (3 bits), tracked, has-finalizer, finalized, |
//   |       |          | managed, guarded, pending, orphan, weakrefs, ...   |
//   | 14-15 | heap_id_ | owning heap, for misuse checks                     |
//
// THE TABLES: a generation is a chunked table of object pointers
// (ouro/detail/slot_table.hpp), not an intrusive list: removal on death
// swaps the last entry into the hole, a collection walks the table in
// order, and the scratch counts live in a side array indexed by slot. A
// collection's garbage sits in two more tables, `unreachable` and (legacy
// policy) `uncollectable`; their objects are guarded: a refcount reaching
// zero does not destroy them, the collector decides their fate.
//
// GENERATIONS AND TRIGGERS (CPython 3.11; the triggers are triggers.cpp's)
// New tracked objects enter gen0; survivors of a collection of gen g move to
// g+1 (gen2 survivors stay). count[0] is tracked allocations minus deaths
// since the last collection; count[1] and count[2] count collections of the
// next younger generation. An allocation that takes count[0] over
// threshold[0] collects the oldest generation whose count is over its
// threshold, except that a full collection also needs the "pending"
// objects (promoted into gen2 since the last full collection and still
// alive) to exceed 25% of the long-lived total. Our one change: a pending
// object that dies by refcount leaves the pending count (kPending bit).
//
// THE PHASES (the driver below lists them):
//   find the garbage  gens 0..g become one working set (merge_younger);
//                     trial deletion marks what is reachable from outside
//                     it (find_unreachable); the reachable objects go to
//                     the next generation (a full collection keeps them in
//                     gen2), the rest to `unreachable`, guarded
//   run user code     (legacy policy: objects with a finalizer, and all
//                     they reach, move to `uncollectable`) weak references
//                     to the garbage are cleared and their callbacks run,
//                     then every finalizer once, while all of the garbage is
//                     intact; trial deletion inside `unreachable` then sends
//                     back what user code made reachable again
//   reclaim           the cycles are broken (traverse() in clearing mode)
//                     and each object dies once its count is zero
//                     (DEBUG_SAVEALL: all go to garbage() instead); legacy
//                     finalizer objects go to garbage(), and `uncollectable`
//                     joins the old generation
//
// WHEN MEMORY IS SHORT the collection goes on in pieces that fit in the
// room every heap holds from its start (collect_in_pieces, below): a piece
// never frees a live object, and misses only cycles that cross pieces.
//
// INVARIANTS between phases (verify_heap.cpp checks them, after every phase
// in the expensive preset): every tracked, non-orphan object sits in
// exactly one table and its slot_ names its position there; objects in the
// `unreachable` and `uncollectable` tables are guarded and nothing else is;
// gen0 has room for the entries promised to makes in flight
// (HeapCore::gen0_promised); reachability's scratch and the old generation
// have room reserved for the whole working set before the first phase
// changes anything, and the `unreachable` and `uncollectable` tables and
// heap.dying room for the garbage as soon as marking has counted it, before
// any object moves; so running out of memory can only come before an object
// has changed table (the record of references grows while counting, but
// failing to grow it only means marking by traversal), and then the
// collection goes on in pieces, which allocate nothing. An object a piece
// takes out of its table has its room kept there until it goes back.
#include "collector.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <exception>
#include <new>
#include <utility>

#include "debug_output.hpp"
#include "destruction.hpp"
#include "generation_tables.hpp"
#include "increments.hpp"
#include "object_core.hpp"
#include "ouro/visitor.hpp"
#include "reachability.hpp"
#include "unraisable.hpp"
#include "verify_heap.hpp"
#include "weak_references.hpp"

namespace ouro::detail {
namespace {

// The phases and steps of a collection, defined below in this order.
bool collect_whole_set(Heap& h, int g, Table old, CollectionResult& result);
CollectionResult collect_guarded_garbage(Heap& h, Table old, std::uint16_t garbage_flags);
void move_legacy_finalizers(Heap& h, std::uint16_t garbage_flags);
bool finalize_garbage(Heap& h, std::uint16_t garbage_flags);
void split_resurrected(Heap& h, Table old);
void save_garbage(Heap& h);
void clear_and_destroy_garbage(Heap& h, Table old) noexcept;
void release_set(Heap& h, Table set, Table old);
void handle_uncollectable(Heap& h, Table old);
CollectionResult collect_in_pieces(Heap& h, int g);
CollectionResult collect_young_and_increment(Heap& h);
CollectionResult collect_set(Heap& h, int g, bool announce);

// Where the survivors of a collection of gens 0..g go: the next generation
// (gen2's stay); under the incremental schedule a young collection's go to
// the half of the old generation that the current pass has visited.
Table survivors_table(const Heap& h, int g) {
  if (g == 2) return Table::gen2;
  return h.incremental() ? h.inc.scanned() : generation_table(g + 1);
}

void update_counts_before(Heap& h, int g) {
  if (g + 1 < kGenerations) ++h.count[static_cast<std::size_t>(g + 1)];
  for (int i = 0; i <= g; ++i) h.count[static_cast<std::size_t>(i)] = 0;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

CollectionResult& operator+=(CollectionResult& a, const CollectionResult& b) noexcept {
  a.collected += b.collected;
  a.uncollectable += b.uncollectable;
  return a;
}

void print_garbage(Heap& h, Table t, unsigned flag, const char* what) {
  if (h.debug & flag) h.table(t).for_each([&](Object* o) { print_object_line(h, what, o); });
}

}  // namespace

// ---------------------------------------------------------------------------
// The driver
// ---------------------------------------------------------------------------

CollectionResult collect_generations(Heap& h, int g) {
  if (g == 1 && h.incremental()) return collect_young_and_increment(h);
  return collect_set(h, g, (h.debug & gc::DEBUG_STATS) != 0);
}

namespace {

// Gens 0..g as one working set; `announce`: DEBUG_STATS text for it (an
// incremental automatic collection prints one text for its young set and
// its increment).
CollectionResult collect_set(Heap& h, int g, bool announce) {
  OURO_VERIFY_HEAP(h, "before a collection", Table::none, false);
  const Table old = survivors_table(h, g);
  if (announce) print_collecting(h, g);
  auto t0 = std::chrono::steady_clock::now();

  update_counts_before(h, g);  // the next collection counts from here, even if this one throws
  CollectionResult result;
  if (!collect_whole_set(h, g, old, result)) {
    // No memory for the whole set: pieces that fit in the room held, then
    // the whole set again if they freed some (cycles across pieces).
    h.gen2_touched = 0;  // gen2's storage may be shrunk below
    result = collect_in_pieces(h, g);
    CollectionResult again;
    if (result.collected != 0 && collect_whole_set(h, g, old, again)) result += again;
  }
  if (announce) print_done(h, result.collected + result.uncollectable, result.uncollectable, seconds_since(t0));
  give_back_memory(h, g);  // room reserved for this set beyond what stays
  OURO_VERIFY_HEAP(h, "after a collection", Table::none, false);

  gc::GenerationStats& stats = h.stats[static_cast<std::size_t>(g)];
  ++stats.collections;
  stats.collected += result.collected;
  stats.uncollectable += result.uncollectable;
  if (g == 2) {  // everything old has just been visited: a new pass starts at the next increment
    h.inc.unscanned = h.table(Table::gen1).empty() ? Table::gen1 : Table::gen2;
    h.inc.pass_cut = false;
    h.inc.cap_scale = 1;
  }
  return result;
}

// The collection of the whole working set (gens 0..g as one). Returns false,
// having reclaimed nothing, when there is no memory for it: then no object
// has moved but within its generations or been guarded (the heap is as
// consistent as before), and the caller collects in pieces.
bool collect_whole_set(Heap& h, int g, Table old, CollectionResult& result) {
  if (!try_reserve_for(h, g, old)) return false;  // room first: no later move allocates
  Table relabel = merge_younger(h, g);             // one working set: gen g's table
  OURO_VERIFY_HEAP(h, "after merge_younger", relabel == generation_table(g) ? Table::none : generation_table(g));
  const std::uint32_t n = h.table(generation_table(g)).size();
  std::uint32_t garbage = find_unreachable(h, generation_table(g), relabel);  // trial deletion
  OURO_VERIFY_HEAP(h, "after find_unreachable", Table::none, true, g < 2);
  std::uint16_t garbage_flags = 0;  // or'ed, to skip walks that would find nothing
  if (g < 2) {
    const std::uint32_t made_meanwhile = h.table(generation_table(g)).size() - n;  // by traverse(), into gen0
    if (!try_reserve_for_garbage(h, Moves::nothing, n, garbage, made_meanwhile)) return false;
    const std::uint32_t before = h.table(old).size();
    garbage_flags = split_young_set(h, g, old, n);  // survivors promoted
    if (g == 0 && !h.incremental()) prepare_gen2_room(h, h.table(old).size() - before);  // spares the next gen1 pause
  } else {
    h.gen2_touched = 0;  // gen2's storage may be swapped or shrunk below
    Moves moves = what_full_split_moves(n, garbage);
    if (!try_reserve_for_garbage(h, moves, n, garbage)) {
      h.long_lived_pending = 0;  // counting took the kPending bit off every object of gen2
      return false;
    }
    garbage_flags = split_full_set(h, moves);  // survivors stay in gen2
  }
  // The garbage is now guarded in `unreachable`.
  OURO_VERIFY_HEAP(h, "after the split");
  result = collect_guarded_garbage(h, old, garbage_flags);
  return true;
}

// From guarded garbage to reclaimed memory: the phases that run user code.
CollectionResult collect_unreachable(Heap& h, Table old, std::uint16_t garbage_flags) {
  if (h.policy == gc::FinalizerPolicy::legacy) move_legacy_finalizers(h, garbage_flags);  // Python 2's rule
  OURO_VERIFY_HEAP(h, "after move_legacy_finalizers");
  // Room in garbage() now, while nothing has been freed: appending the
  // uncollectable objects at the end must not run out of memory after the
  // collectable ones are gone.
  h.garbage.reserve(h.garbage.size() + h.table(Table::uncollectable).size());
  print_garbage(h, Table::unreachable, gc::DEBUG_COLLECTABLE, "collectable");
  bool callbacks_ran = handle_weakrefs(h);  // before any finalizer: they see expired weakrefs
  OURO_VERIFY_HEAP(h, "after handle_weakrefs");
  bool finalizers_ran = finalize_garbage(h, garbage_flags);  // pep442: once each, the garbage intact
  OURO_VERIFY_HEAP(h, "after finalize_garbage");
  if (callbacks_ran || finalizers_ran) split_resurrected(h, old);  // user code may have resurrected some
  OURO_VERIFY_HEAP(h, "after split_resurrected");

  CollectionResult result;
  result.collected = h.table(Table::unreachable).size();
  result.uncollectable = h.table(Table::uncollectable).size();
  if (h.debug & gc::DEBUG_SAVEALL) {
    save_garbage(h);
    release_set(h, Table::unreachable, old);  // nothing dies: garbage() holds it all
  } else {
    clear_and_destroy_garbage(h, old);  // the garbage dies here
  }
  OURO_VERIFY_HEAP(h, "after the garbage was reclaimed");

  print_garbage(h, Table::uncollectable, gc::DEBUG_UNCOLLECTABLE, "uncollectable");
  handle_uncollectable(h, old);  // legacy finalizer objects into garbage(), the rest lives on
  OURO_VERIFY_HEAP(h, "after handle_uncollectable");
  return result;
}

// collect_unreachable(), for garbage guarded in `unreachable`. When it
// throws (a traverse() that threw, no memory for garbage()), nothing more is
// reclaimed: every object not yet released stays alive and tracked.
CollectionResult collect_guarded_garbage(Heap& h, Table old, std::uint16_t garbage_flags) {
  try {
    return collect_unreachable(h, old, garbage_flags);
  } catch (...) {
    release_set(h, Table::unreachable, old);
    release_set(h, Table::uncollectable, old);
    throw;
  }
}

// ---------------------------------------------------------------------------
// The garbage phases
// ---------------------------------------------------------------------------

// A finalizer that has not run yet.
bool is_legacy_finalizer(const Object* o) { return has(*o, kHasFinalizer) && !has(*o, kFinalized); }

// Legacy policy: objects whose finalizer has not run, and everything they
// reach inside the garbage, are uncollectable (Python 2's gc.garbage rule).
void move_legacy_finalizers(Heap& h, std::uint16_t garbage_flags) {
  if (!(garbage_flags & kHasFinalizer)) return;
  if (!mark_reached_from(h, Table::unreachable, is_legacy_finalizer)) return;
  SlotTable& unreachable = h.table(Table::unreachable);
  const Marks marks(h);
  std::uint32_t kept = 0;
  for (std::uint32_t i = 0; i < unreachable.size(); ++i) {
    Object* o = unreachable[i];
    if (marks.reachable(i)) {
      h.place(o, Table::uncollectable);
    } else {
      unreachable[kept] = o;
      Access::slot(*o) = kept++;
    }
  }
  unreachable.truncate(kept);
}

// Returns whether any user code ran (and so whether anything can have been
// resurrected).
bool finalize_garbage(Heap& h, std::uint16_t garbage_flags) {
  if (!(garbage_flags & kHasFinalizer)) return false;
  SlotTable& unreachable = h.table(Table::unreachable);
  bool ran = false;
  for (std::uint32_t i = 0; i < unreachable.size(); ++i) {
    Object* o = unreachable[i];
    if (!is_legacy_finalizer(o)) continue;
    call_finalizer(o);
    ran = true;
  }
  return ran;
}

// Objects a finalizer made reachable again leave the garbage for the old
// generation, with everything they reach.
void split_resurrected(Heap& h, Table old) {
  find_unreachable(h, Table::unreachable, Table::unreachable);
  SlotTable& unreachable = h.table(Table::unreachable);
  const Marks marks(h);
  std::uint32_t kept = 0;
  for (std::uint32_t i = 0; i < unreachable.size(); ++i) {
    Object* o = unreachable[i];
    if (marks.reachable(i)) {
      unset(*o, kGuarded);
      h.put_back(o, old);
    } else {
      unreachable[kept] = o;
      Access::slot(*o) = kept++;
    }
  }
  unreachable.truncate(kept);
}

Ref<Object> new_ref(Object* o) {
  ++Access::refcnt(*o);
  return Ref<Object>(o, adopt_t{});
}

// DEBUG_SAVEALL: the garbage goes to garbage() instead of being cleared.
void save_garbage(Heap& h) {
  SlotTable& unreachable = h.table(Table::unreachable);
  h.garbage.reserve(h.garbage.size() + unreachable.size());
  unreachable.for_each([&](Object* o) { h.garbage.push_back(new_ref(o)); });
}

class ClearRefs final : public Visitor {
 public:
  ClearRefs() : Visitor(/*clearing=*/true) {}

 private:
  void visit(Object*) override {}
};

void clear_refs_of(Object* o, ClearRefs& clear) noexcept {
  try {
    o->traverse(clear);
  } catch (...) {
    report_unraisable(std::current_exception(), o, "traverse() while clearing a cycle");
  }
}

// What dispose() does for a tracked object of this heap whose finalizer ran
// and whose table entry is gone.
inline void destroy_collected(Heap& h, Object* o) noexcept {
  Access::flags(*o) = static_cast<std::uint16_t>((Access::flags(*o) & ~kGuarded) | kDestroying);
  if (h.count[0] > 0) --h.count[0];
  if (OURO_UNLIKELY(has(*o, kPending))) {
    unset(*o, kPending);
    if (h.long_lived_pending > 0) --h.long_lived_pending;
  }
  if (OURO_UNLIKELY(has(*o, kHasWeakrefs))) clear_weakrefs(o);  // a destructor weakly referred to it
#if OURO_CHECKS
  remember_type_for_checks(*o);  // as dispose(): a later use of a dangling Ref names the type
#endif
  delete o;
}

// The objects left in h.dying (guarded, out of every table), in order:
// still referenced ones join the old generation; the others die, by the
// short path unless a finalizer is still due (then release() runs it). Each
// stays guarded until its turn, so a destructor that drops the last
// reference to a later one does not destroy it in the middle of this loop.
void settle_dying(Heap& h, Table old) noexcept {
  for (std::size_t i = 0; i < h.dying.size(); ++i) {
    Object* o = h.dying[i];
    if (Access::refcnt(*o) != 0) {  // referenced again by a destructor
      unset(*o, kGuarded);
      h.put_back(o, old);  // room reserved by reserve_for(), or promised (collect_in_pieces)
    } else if (OURO_UNLIKELY(is_legacy_finalizer(o))) {
      unset(*o, kGuarded);
      release(o);
    } else {
      destroy_collected(h, o);
    }
  }
  h.dying.clear();
}

// Ends the collector's custody of a guarded table: objects still referenced
// join the old generation; the others die one by one (settle_dying).
void release_set(Heap& h, Table set, Table old) {
  SlotTable& tab = h.table(set);
  h.dying.clear();
  for (std::uint32_t i = 0; i < tab.size(); ++i) {
    Object* o = tab[i];
    if (Access::refcnt(*o) > 0) {
      unset(*o, kGuarded);
      h.put_back(o, old);
    } else {
      set_table(*o, Table::none);
      h.dying.push_back(o);
    }
  }
  tab.truncate(0);
  // No collection can start meanwhile (heap.collecting is set), so h.dying
  // stays ours while destructors run.
  settle_dying(h, old);
}

// CPython's delete_garbage: traverse() in clearing mode on each object of
// the garbage breaks the cycles, and an object whose count is zero once its
// own references are cleared dies right then, while it is still in cache
// (the garbage's short path, destroy_collected). One still referenced at its
// turn (by a later object of the garbage, or stored by a destructor) stays
// guarded until the end, so that it never dies in the middle of the loop,
// and is then destroyed, or joins the old generation if a destructor kept
// it. Objects outside the garbage that die meanwhile take the ordinary
// path. Nothing here throws.
void clear_and_destroy_garbage(Heap& h, Table old) noexcept {
  SlotTable& tab = h.table(Table::unreachable);
  ClearRefs clear;
  h.dying.clear();
  tab.for_each_chunk([&](Object* const* objects, std::uint32_t n, std::uint32_t) {
    for (std::uint32_t i = 0; i < n; ++i) {
      prefetch_ahead(objects, i, n);
      Object* o = objects[i];
      clear_refs_of(o, clear);
      set_table(*o, Table::none);  // the table is dropped as a whole below
      if (Access::refcnt(*o) == 0 && !is_legacy_finalizer(o))
        destroy_collected(h, o);
      else
        h.dying.push_back(o);  // capacity reserved by reserve_for_garbage()
    }
  });
  tab.truncate(0);
  settle_dying(h, old);
}

void handle_uncollectable(Heap& h, Table old) {
  SlotTable& uncollectable = h.table(Table::uncollectable);
  bool save_all = (h.debug & gc::DEBUG_SAVEALL) != 0;
  uncollectable.for_each([&](Object* o) {
    if (save_all || is_legacy_finalizer(o)) h.garbage.push_back(new_ref(o));
  });
  release_set(h, Table::uncollectable, old);
}

// ---------------------------------------------------------------------------
// The incremental schedule: the young generation, then one increment
// ---------------------------------------------------------------------------
//
// An increment is a set of old objects gathered in `unreachable`, guarded
// (gather_increment, increments.cpp): seeds from the half of the old
// generation that the current pass has still to visit, each with its
// closure there. Trial deletion inside it (split_resurrected) sends back
// what references from outside it reach, to the visited half; the rest is
// garbage and goes through the same phases as a full collection's. Like a
// piece, an increment never frees a live object: references from outside
// it are roots. When the unvisited half is empty the pass is over and the
// halves swap roles (docs/design/incremental.md).

// Starts a new pass when the current one has visited everything: the
// halves swap roles, and the closure cap doubles if the pass cut a closure
// (so that a garbage group larger than the cap is found by a later pass).
void start_pass_if_done(Heap& h) {
  IncrementalState& s = h.inc;
  if (!h.table(s.unscanned).empty()) return;
  s.unscanned = s.scanned();
  s.cap_scale = s.pass_cut ? std::min<std::uint32_t>(s.cap_scale * 2, 1u << 20) : 1;
  s.pass_cut = false;
  h.count[1] = 0;
  ++h.count[2];
  // The emptied half keeps its storage: it is the visited half now, and
  // fills again during the pass (freeing it here would cost this pause and
  // page faults in the next ones).
}

CollectionResult collect_increment(Heap& h) {
  IncrementalState& s = h.inc;
  start_pass_if_done(h);
  const std::uint32_t budget = s.seeds_budget;
  const std::uint32_t cap = h.closure_cap();
  if (h.table(s.unscanned).empty() || !try_reserve_for_increment(h, budget + cap + 1)) return {};
  const Table scanned = s.scanned();
  Gathered gathered;
  try {
    gathered = gather_increment(h, budget, cap);
  } catch (...) {
    release_set(h, Table::unreachable, s.unscanned);
    throw;
  }
  s.last_increment = h.table(Table::unreachable).size();
  s.last_seeds = gathered.seeds;
  s.last_cut = gathered.cut;
  s.pass_cut = s.pass_cut || gathered.cut;
  OURO_VERIFY_HEAP(h, "after gathering an increment");
  try {
    split_resurrected(h, scanned);  // trial deletion inside the increment
  } catch (...) {
    release_set(h, Table::unreachable, scanned);
    throw;
  }
  OURO_VERIFY_HEAP(h, "after an increment's trial deletion");
  if (h.table(Table::unreachable).empty()) return {};
  return collect_guarded_garbage(h, scanned, gathered.flags);
}

// How many objects of a young set of n the young collection examines: all
// of them while the pacer aims at a young set the pause allows examining
// whole (the set at the trigger may be a little larger than the target).
std::uint32_t young_examined(const Heap& h, std::size_t n) {
  if (n <= h.young_examined_all() || h.inc.young_target <= h.young_examined_all())
    return static_cast<std::uint32_t>(n);
  return static_cast<std::uint32_t>(h.young_examined_in_part());
}

// One automatic collection of the incremental schedule (collect(1)): the
// young set (in part, when it is larger than the pause allows), then one
// increment of the old generation.
CollectionResult collect_young_and_increment(Heap& h) {
  const bool announce = (h.debug & gc::DEBUG_STATS) != 0;
  if (announce) print_collecting(h, 1);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  IncrementalState& s = h.inc;
  const std::size_t young_set = h.table(Table::gen0).size();
  const std::uint32_t examined = young_examined(h, young_set);
  // Without room to move them, the whole young set is examined.
  s.last_unexamined = try_promote_unexamined(h, s.scanned(), examined) ? young_set - examined : 0;
  const auto t1 = Clock::now();
  const std::size_t young = h.table(Table::gen0).size();
  const std::size_t old_before = h.table(Table::gen1).size() + h.table(Table::gen2).size();
  CollectionResult result = collect_set(h, 0, false);
  const std::size_t old_after = h.table(Table::gen1).size() + h.table(Table::gen2).size();
  s.last_promoted = old_after > old_before ? old_after - old_before : 0;
  s.last_young = young;
  s.last_increment = s.last_seeds = 0;
  s.last_cut = false;
  OURO_VERIFY_HEAP(h, "before an increment", Table::none, false);
  const auto t2 = Clock::now();
  CollectionResult found = collect_increment(h);
  s.last_increment_found = found.collected + found.uncollectable;
  h.table(Table::unreachable).shrink();
  h.table(Table::uncollectable).shrink();
  OURO_VERIFY_HEAP(h, "after an increment", Table::none, false);
  const auto t3 = Clock::now();
  s.last_promote_wall = std::chrono::duration<double>(t1 - t0).count();
  s.last_young_wall = std::chrono::duration<double>(t2 - t1).count();
  s.last_increment_wall = std::chrono::duration<double>(t3 - t2).count();
  gc::GenerationStats& stats = h.stats[1];
  ++stats.collections;
  stats.collected += found.collected;
  stats.uncollectable += found.uncollectable;
  result += found;
  if (announce) print_done(h, result.collected + result.uncollectable, result.uncollectable, seconds_since(t0));
  return result;
}

// ---------------------------------------------------------------------------
// Collecting in pieces, when memory is short
// ---------------------------------------------------------------------------
//
// Without memory for the whole working set, the collection takes it piece by
// piece, each piece a run of one generation's table no larger than the room
// the heap already holds. A piece moves into `unreachable`, guarded, and
// trial deletion inside it sends back what is reachable from outside it; the
// rest is garbage and goes through the same phases as the whole set's.
// Survivors stay in their generation. A piece never frees a live object
// (references from outside it are roots); it misses only cycles that cross
// pieces, which the whole set, tried again once pieces have freed memory,
// may find.
//
// A piece allocates nothing: reachability's scratch and `unreachable` keep
// their size between collections, and every heap starts with room for
// kReservedPiece objects in each (reserve_room_for_pieces, with the `spare`
// table lent to `unreachable`); survivors go back to the table they came
// from, which had room for them (for a piece of gen0 that room stays
// promised to the piece, gen0_promised_to_collector, so that makes in its
// finalizers grow the table instead of taking it).

// While collecting in pieces: `unreachable` with the larger of its own
// storage and the spare room (they swap back at the end).
class SpareRoomLent {
 public:
  explicit SpareRoomLent(Heap& h) noexcept : h_(h) {
    if (h.spare.capacity() > h.table(Table::unreachable).capacity()) {
      h.table(Table::unreachable).swap(h.spare);
      lent_ = true;
    }
  }
  ~SpareRoomLent() {
    if (lent_) h_.table(Table::unreachable).swap(h_.spare);
  }
  SpareRoomLent(const SpareRoomLent&) = delete;
  SpareRoomLent& operator=(const SpareRoomLent&) = delete;

 private:
  Heap& h_;
  bool lent_ = false;
};

// While a piece of gen0 is out: the room of its entries stays promised to
// it (see above).
class Gen0RoomPromised {
 public:
  Gen0RoomPromised(Heap& h, std::uint32_t entries) noexcept : h_(h) {
    h.gen0_promised += entries;
    h.gen0_promised_to_collector = entries;
  }
  ~Gen0RoomPromised() {
    h_.gen0_promised -= h_.gen0_promised_to_collector;
    h_.gen0_promised_to_collector = 0;
  }
  Gen0RoomPromised(const Gen0RoomPromised&) = delete;
  Gen0RoomPromised& operator=(const Gen0RoomPromised&) = delete;

 private:
  Heap& h_;
};

// The largest piece that the room held now allows (the legacy policy also
// needs room in `uncollectable`: set_finalizer_policy reserves it).
std::uint32_t piece_size(const Heap& h) {
  std::size_t room =
      std::min({h.table(Table::unreachable).capacity(), h.reachability.room(), h.dying.capacity()});
  if (h.policy == gc::FinalizerPolicy::legacy) room = std::min(room, h.table(Table::uncollectable).capacity());
  return static_cast<std::uint32_t>(std::min<std::size_t>(room, UINT32_MAX));
}

// One piece: entries [begin, end) of table `from`.
CollectionResult collect_piece(Heap& h, Table from, std::uint32_t begin, std::uint32_t end) {
  const std::uint16_t garbage_flags = take_piece(h, from, begin, end);
  Gen0RoomPromised promised(h, from == Table::gen0 ? end - begin : 0);
  try {
    split_resurrected(h, from);  // trial deletion inside the piece: what outside reaches goes back
  } catch (...) {
    release_set(h, Table::unreachable, from);
    throw;
  }
  OURO_VERIFY_HEAP(h, "after a piece's trial deletion");
  if (h.table(Table::unreachable).empty()) return {};
  return collect_guarded_garbage(h, from, garbage_flags);
}

// Collects gens 0..g piece by piece, each in place (no promotion). A
// generation's table is taken from its end: [0, todo) is still to be looked
// at, and what a piece sends back is appended after it. A death meanwhile
// moves the table's last entry into the hole, which is never an entry still
// to be looked at unless all of them are.
CollectionResult collect_in_pieces(Heap& h, int g) {
  SpareRoomLent lent(h);
  const std::uint32_t piece = piece_size(h);
  if (piece == 0) throw std::bad_alloc();  // a heap starts with room (reserve_room_for_pieces)
  CollectionResult result;
  for (int i = g; i >= 0; --i) {
    const Table from = generation_table(i);
    std::uint32_t todo = h.table(from).size();
    while (todo > 0) {
      const std::uint32_t begin = todo > piece ? todo - piece : 0;
      result += collect_piece(h, from, begin, todo);
      todo = std::min(begin, h.table(from).size());
    }
  }
  if (g == 2) h.long_lived_total = h.table(Table::gen2).size();
  return result;
}

}  // namespace

void reserve_room_for_pieces(Heap& h) {
  h.spare.reserve(kReservedPiece);
  h.reachability.hold_room_for_pieces(kReservedPiece);
  h.dying.reserve(kReservedPiece);
}

}  // namespace ouro::detail
