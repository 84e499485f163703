// ouro/gc.hpp — Python's gc module, in C++: the cycle collector's controls
// and its view of the heap. Everything here belongs to the calling thread's
// heap (thresholds, debug flags, callbacks, garbage(), frozen objects).
//
//   ouro::gc::set_debug(ouro::gc::DEBUG_STATS);
//   std::size_t found = ouro::gc::collect();   // like gc.collect()
//
// The numbers follow CPython 3.11: three generations (700/10/10), the 25%
// rule for full collections, get_count(), get_stats(), the DEBUG_* text.
// set_schedule(Schedule::incremental) trades them for a young generation
// and an old one collected in increments (see Schedule below).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <vector>

#include "ouro/object.hpp"
#include "ouro/ref.hpp"

namespace ouro::gc {

// Collects generations 0..generation and returns the number of unreachable
// objects found (collected + uncollectable; an object its finalizer
// resurrected is not counted). Works even when automatic collection is
// disabled. Returns 0 without collecting when called while a collection is
// running (from a finalizer or a callback), and while a query runs (from a
// traverse() or repr() that get_referrers, get_referents or an
// ouro::inspect function calls). Throws std::invalid_argument unless
// 0 <= generation <= 2. Out of memory it still frees garbage: it collects
// in pieces that fit in room every heap holds for that from its start
// (116 KiB; docs/design/collector.md, "When memory is short").
std::size_t collect(int generation = 2);

// Automatic collection (triggered by allocations of tracked objects). Never
// inside a collection or a query: an allocation there that calls for one
// leaves it to the first tracked allocation after.
void enable();
void disable();
bool is_enabled();

struct Thresholds {
  std::size_t gen0, gen1, gen2;
};
Thresholds get_threshold();
void set_threshold(std::size_t gen0);  // gen0 == 0 disables automatic collection
void set_threshold(std::size_t gen0, std::size_t gen1);
void set_threshold(std::size_t gen0, std::size_t gen1, std::size_t gen2);

// gc.get_count(): tracked allocations minus deallocations since the last
// collection, and the number of collections of the next younger generation
// since the last collection of generations 1 and 2.
std::array<std::size_t, 3> get_count();

struct GenerationStats {
  std::size_t collections, collected, uncollectable;
};
std::array<GenerationStats, 3> get_stats();

// The collector's view of the heap. From a finalizer, destructor, weak-reference
// or gc callback that a collection runs, they see the live heap only: the
// objects that collection found unreachable are not listed (as in CPython).
// get_referents and get_referrers call traverse(), user code that may make
// objects, drop references or call collect(): they answer about the objects
// tracked when they started, hold a strong reference to each object they
// read until they return (an object dropped meanwhile dies then), and no
// collection runs meanwhile (see collect()). Called from a traverse() that
// the collector runs, they throw std::logic_error.
std::vector<Ref<Object>> get_objects();                // every tracked object, not frozen ones
std::vector<Ref<Object>> get_objects(int generation);  // throws std::invalid_argument unless 0..2
std::vector<Ref<Object>> get_referents(const Object& o);  // what o's traverse visits, in order
std::vector<Ref<Object>> get_referrers(const Object& o);  // tracked objects of gens 0-2 whose traverse visits o
bool is_tracked(const Object& o);
bool is_finalized(const Object& o);

// gc.garbage: uncollectable objects (legacy policy), and everything found
// unreachable under DEBUG_SAVEALL. Clearing it drops those references.
std::vector<Ref<Object>>& garbage();

// Checked builds (OURO_CHECKS): compares, for every tracked object, the Refs
// it holds in its own storage with the ones its traverse() visits, and
// aborts naming the type and the member (its offset, and the name of its
// neighbour under OURO_TRAVERSE) of a non-empty Ref it did not visit. Every
// collection makes the same comparison for the objects it collects; this
// one covers the whole heap at once, for tests. A query (see
// get_referrers): it calls traverse(), and no collection runs meanwhile.
// What is compared, and the exceptions: ouro/visitor.hpp. Release builds:
// does nothing.
void verify_traverse();

enum : unsigned {  // same bit values as CPython
  DEBUG_STATS = 1,
  DEBUG_COLLECTABLE = 2,
  DEBUG_UNCOLLECTABLE = 4,
  DEBUG_SAVEALL = 32,
  DEBUG_LEAK = DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL,
};
void set_debug(unsigned flags);
unsigned get_debug();
void set_debug_stream(std::ostream* os);  // where debug text goes; nullptr = std::cerr

enum class Phase { start, stop };
struct CollectionInfo {
  int generation;
  std::size_t collected, uncollectable;
  double seconds;  // 0 at start; the collection's duration at stop
};
using Callback = std::function<void(Phase, const CollectionInfo&)>;
std::size_t add_callback(Callback cb);  // returns an id; like appending to gc.callbacks
bool remove_callback(std::size_t id);

// Moves every tracked object to the permanent generation, which collections
// ignore (gc.freeze()); unfreeze() moves them back into the oldest one.
// Both throw std::logic_error while the collector counts references (called
// from a traverse(), or from a finalizer or destructor that a traverse()
// set off by dropping a reference): the tables must not move under it.
// From a finalizer or callback of the collection itself they work.
void freeze();
void unfreeze();
std::size_t get_freeze_count();

// The schedule of automatic collections (per heap, like every setting here).
//
// generational (default): CPython 3.11's three generations and thresholds.
//
// incremental: a young generation (gen0), collected by allocation count, and
// one old generation collected a piece at a time: every automatic collection
// is the young generation plus one increment of the old one, sized by the
// pacer below (docs/design/incremental.md). Its two halves are reported as
// generations 1 and 2: get_objects(1) lists the old objects the current
// pass over the old generation has still to visit, get_objects(2) those it
// has visited (young survivors join those). Every garbage group of the old
// generation whose objects reach at most an increment's closure cap there is
// found within one pass; larger ones by a longer increment of a later pass,
// whose length is proportional to what that group reaches, never to the
// heap. collect() is still a full collection, collect(0) the young
// generation, collect(1) one automatic collection (young plus an increment).
// get_count(): {the young generation's size (allocations minus deaths of
// young objects since the last collection), young collections in the
// current pass, passes since the last full collection}; get_stats(): young collections, increments, full
// collections. get_threshold().gen0 is the pacer's current young threshold;
// set_threshold(gen0) sets its floor (0 still disables automatic
// collection); gen1 and gen2 are kept for the generational schedule.
// Finalizers, weak references and callbacks behave as under generational;
// a callback sees generation 1 for an automatic collection.
//
// set_schedule from inside a collection (a finalizer, a weak-reference or gc
// callback, a destructor it runs) throws std::logic_error: the collection
// in progress keeps the schedule it started with.
enum class Schedule { generational, incremental };
void set_schedule(Schedule s);
Schedule get_schedule();

// The pacer of the incremental schedule: each automatic collection is sized
// to take at most the pause target (default 1 ms) at the collector's
// measured cost per object, and collections are spaced so that the
// collector's share of the thread's time stays near the overhead target
// (default 0.10). A run of collections that find nothing makes the next ones
// rarer, collections that find garbage more frequent. While collections find
// nothing, a young generation larger than one pause can examine is examined
// in part and the rest joins the old generation unexamined (its garbage is
// the passes' to find); the young generation never grows beyond the old
// one's size. While more than a fifth of what increments examine is garbage,
// increments take the whole pause and collections come more often, whatever
// the overhead target: memory comes first. Both throw
// std::invalid_argument for a target <= 0 (or a fraction above 1). They are
// kept under the generational schedule, which does not use them.
void set_pause_target(std::chrono::microseconds t);
std::chrono::microseconds get_pause_target();
void set_overhead_target(double fraction);
double get_overhead_target();

// pep442 (default): garbage cycles with finalizers are finalized, once each,
// then reclaimed unless resurrected. legacy: Python 2's rule, such cycles
// are left in garbage() uncollected and unfinalized.
enum class FinalizerPolicy { pep442, legacy };
void set_finalizer_policy(FinalizerPolicy p);
FinalizerPolicy get_finalizer_policy();

}  // namespace ouro::gc
