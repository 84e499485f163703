// Out of memory: allocations that fail inside a collection, inside make<T>,
// and a process whose address space is full.
//
// Covered elsewhere, not repeated here: a constructor that throws inside
// make<T> (make_failure_test.cpp), finalizers that throw, allocate or
// collect (finalization_test.cpp, Pep442.*; unraisable_test.cpp), callbacks
// that throw or collect (callbacks_test.cpp), a traverse that throws
// (collect_test.cpp), user code that freezes or allocates during a
// collection (user_code_in_collections_test.cpp), and every mix of them at
// random (fuzz/).
//
// Out of memory is simulated by replacing the global operator new of this
// test binary: armed on one thread, it throws std::bad_alloc at the Nth
// allocation (once, or from then on). A collection that meets it must
// either finish, or leave every object it has not reclaimed alive, tracked
// once, and collectable by the next collection; finalizers still run at
// most once.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <ouro/detail/fault_injection.hpp>
#include <ouro/ouro.hpp>

#include "support/counted_nodes.hpp"
#include "support/fault_sites.hpp"
#include "support/fresh_heap.hpp"

// ---------------------------------------------------------------------------
// Allocation failure injection
// ---------------------------------------------------------------------------

namespace {

// -1: never fail. Otherwise the number of allocations still allowed.
thread_local long t_allocations_left = -1;
thread_local bool t_fail_forever = false;
thread_local bool t_failed = false;

void* allocate(std::size_t size, std::size_t align) {
  if (t_allocations_left == 0) {
    t_failed = true;
    if (!t_fail_forever) t_allocations_left = -1;
    throw std::bad_alloc();
  }
  if (t_allocations_left > 0) --t_allocations_left;
  if (size == 0) size = 1;
  void* p = nullptr;
  if (align <= alignof(std::max_align_t)) {
    p = std::malloc(size);
  } else if (posix_memalign(&p, align, size) != 0) {
    p = nullptr;
  }
  if (!p) throw std::bad_alloc();
  return p;
}

void* allocate_nothrow(std::size_t size, std::size_t align) noexcept {
  try {
    return allocate(size, align);
  } catch (...) {
    return nullptr;
  }
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n, 0); }
void* operator new[](std::size_t n) { return allocate(n, 0); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n, 0); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n, 0); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::alive;
using ouro_test::ClearFaultsAtExit;
using ouro_test::Graph;
using ouro_test::N;
using ouro_test::Record;

// Arms the failure for the lifetime of the scope (this thread only).
struct FailAllocations {
  FailAllocations(long after, bool forever) {
    t_allocations_left = after;
    t_fail_forever = forever;
    t_failed = false;
  }
  ~FailAllocations() {
    t_allocations_left = -1;
    t_fail_forever = false;
  }
  FailAllocations(const FailAllocations&) = delete;
  FailAllocations& operator=(const FailAllocations&) = delete;
};

// valgrind replaces operator new with its own: then nothing can be
// injected, and the out-of-memory tests skip themselves.
bool injection_works() {
  FailAllocations fail(0, false);
  try {
    delete new int(1);
  } catch (const std::bad_alloc&) {
    return true;
  }
  return false;
}

#define SKIP_UNLESS_INJECTION_WORKS() \
  if (!injection_works()) GTEST_SKIP() << "operator new is not ours (valgrind?): no failure can be injected"

std::string describe_alive(const Record& r) {
  std::string text = "alive:";
  for (int i = 0; i < r.next_id; ++i)
    if (!r.destroyed[static_cast<std::size_t>(i)]) text += " " + std::to_string(i);
  return text;
}

// The heap after a collection that may have failed half-way.
void expect_consistent(const Record& r, const Graph& g, const std::string& when) {
  for (int i = 0; i < r.next_id; ++i) {
    auto ii = static_cast<std::size_t>(i);
    EXPECT_LE(r.finalized[ii], 1) << when << ": node " << i << " finalized twice";
    EXPECT_LE(r.destroyed[ii], 1) << when << ": node " << i << " destroyed twice";
  }
  for (int id : g.reachable) EXPECT_EQ(r.destroyed[static_cast<std::size_t>(id)], 0) << when << ": reachable node died";
  EXPECT_EQ(ouro::refcount(*g.root), 1u) << when;
  EXPECT_EQ(ouro::refcount(*g.root->next->next->next), r.destroyed[10] == 0 ? 2u : 1u) << when;
  std::vector<Ref<Object>> objects = gc::get_objects();
  EXPECT_EQ(static_cast<int>(objects.size()), alive(r)) << when << ": every live node tracked once";
  for (std::size_t i = 0; i < objects.size(); ++i)
    for (std::size_t j = i + 1; j < objects.size(); ++j) EXPECT_NE(objects[i], objects[j]) << when;
}

// Collects with the Nth allocation failing, for N = 0, 1, ... until a
// collection no longer meets the failure; after each, checks the heap and
// that an ordinary collection then reclaims all the garbage.
void collect_running_out_of_memory(gc::FinalizerPolicy policy, unsigned debug, bool forever) {
  int failures_met = 0;
  for (long n = 0; n < 500; ++n) {
    bool met = false;
    ouro_test::in_fresh_heap([&] {
      gc::disable();
      gc::set_finalizer_policy(policy);
      gc::set_debug(debug);
      int reported = 0;
      ouro::set_unraisable_hook([&reported](std::exception_ptr, const Object*) { ++reported; });
      std::array<char, 64> big{};  // a callback too large for std::function's buffer: copying it allocates
      gc::add_callback([big](gc::Phase, const gc::CollectionInfo&) { (void)big; });
      Record r;
      {
        Graph g(r);
        std::string when = "allocation " + std::to_string(n) + (forever ? " and later ones" : "") + " failing";
        bool threw = false;
        {
          FailAllocations fail(n, forever);
          try {
            gc::collect();
          } catch (const std::bad_alloc&) {
            threw = true;
          }
          met = t_failed;
        }
        if (threw) {
          EXPECT_EQ(alive(r), r.next_id) << when << ": a collection that throws frees nothing";
        }
        expect_consistent(r, g, when);
        // An ordinary collection finishes the job.
        gc::set_debug(0);
        gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
        for (int round = 0; round < 3; ++round) {
          r.store.clear();
          gc::garbage().clear();
          gc::collect();
        }
        expect_consistent(r, g, when + ", then collected again");
        EXPECT_EQ(alive(r), 4) << when << ": only the reachable nodes are left";
        for (int id : g.fin_ids) EXPECT_EQ(r.finalized[static_cast<std::size_t>(id)], 1) << when;
      }
      ouro::set_unraisable_hook(nullptr);
    });
    if (!met) break;
    ++failures_met;
  }
  EXPECT_GT(failures_met, 3) << "the injection never reached the collection";
}

TEST(OutOfMemory, CollectionMeetingOneFailedAllocationFinishesOrKeepsEverythingAlive) {
  SKIP_UNLESS_INJECTION_WORKS();
  collect_running_out_of_memory(gc::FinalizerPolicy::pep442, 0, false);
}

TEST(OutOfMemory, CollectionMeetingOnlyFailedAllocationsFinishesOrKeepsEverythingAlive) {
  SKIP_UNLESS_INJECTION_WORKS();
  collect_running_out_of_memory(gc::FinalizerPolicy::pep442, 0, true);
}

TEST(OutOfMemory, LegacyCollectionFillingGarbageSurvivesFailedAllocations) {
  SKIP_UNLESS_INJECTION_WORKS();
  collect_running_out_of_memory(gc::FinalizerPolicy::legacy, 0, false);
  collect_running_out_of_memory(gc::FinalizerPolicy::legacy, 0, true);
}

TEST(OutOfMemory, SaveAllCollectionSurvivesFailedAllocations) {
  SKIP_UNLESS_INJECTION_WORKS();
  collect_running_out_of_memory(gc::FinalizerPolicy::pep442, gc::DEBUG_SAVEALL, false);
  collect_running_out_of_memory(gc::FinalizerPolicy::legacy, gc::DEBUG_SAVEALL, true);
}

TEST(OutOfMemory, MakeWhoseAutomaticCollectionRunsOutOfMemoryThrowsAndLeavesTheHeapUsable) {
  SKIP_UNLESS_INJECTION_WORKS();
  for (long n = 0; n < 200; ++n) {
    bool met = false;
    ouro_test::in_fresh_heap([&] {
      Record r;
      Graph g(r);
      gc::set_threshold(1);
      Ref<N> made;
      {
        FailAllocations fail(n, true);
        try {
          made = make<N>(r);
        } catch (const std::bad_alloc&) {
        }
        met = t_failed;
      }
      expect_consistent(r, g, "make with allocation " + std::to_string(n) + " failing");
      made.reset();
      for (int round = 0; round < 2; ++round) {  // the resurrected node needs a second one
        r.store.clear();
        gc::collect();
      }
      EXPECT_EQ(alive(r), 4) << "allocation " << n << " failing: " << describe_alive(r);
    });
    if (!met) break;
  }
}

// An object with 255 references or more has its count kept aside while
// counting (a small vector). When that vector cannot grow, the record of
// references is incomplete and marking traverses the objects instead: the
// collection must reach the same verdict. Two hubs of 300 leaves, each leaf
// pointing back to its hub: one hub held from outside, the other dropped.
struct Hub : Object {
  explicit Hub(int& d) : destroyed(d) {}
  ~Hub() override { ++destroyed; }
  void traverse(ouro::Visitor& v) override { v(out); }
  int& destroyed;
  std::vector<Ref<Hub>> out;
};

TEST(OutOfMemory, AWideObjectWhoseCountCannotBeKeptAsideIsMarkedByTraversing) {
  SKIP_UNLESS_INJECTION_WORKS();
  constexpr int kLeaves = 300;
  int failures_met = 0;
  for (long n = 0; n < 50; ++n) {
    bool met = false;
    ouro_test::in_fresh_heap([&] {
      gc::disable();
      int kept_destroyed = 0;
      int dropped_destroyed = 0;
      auto make_hub = [](int& destroyed) {
        Ref<Hub> hub = make<Hub>(destroyed);
        hub->out.reserve(kLeaves);
        for (int i = 0; i < kLeaves; ++i) {
          hub->out.push_back(make<Hub>(destroyed));
          hub->out.back()->out.push_back(hub);
        }
        return hub;
      };
      Ref<Hub> kept = make_hub(kept_destroyed);
      make_hub(dropped_destroyed);  // garbage from here on
      std::size_t found = 0;
      {
        FailAllocations fail(n, false);
        try {
          found = gc::collect();
        } catch (const std::bad_alloc&) {
          found = 0;  // nothing reclaimed: the next collection does it
        }
        met = t_failed;
      }
      EXPECT_EQ(kept_destroyed, 0) << "allocation " << n << " failing: a reachable object died";
      if (found != 0) {
        EXPECT_EQ(found, std::size_t{kLeaves + 1}) << "allocation " << n << " failing";
        EXPECT_EQ(dropped_destroyed, kLeaves + 1) << "allocation " << n << " failing";
      }
      gc::collect();
      EXPECT_EQ(dropped_destroyed, kLeaves + 1) << "allocation " << n << " failing, then collected again";
      EXPECT_EQ(kept_destroyed, 0);
      kept.reset();
      EXPECT_EQ(gc::collect(), std::size_t{kLeaves + 1});
    });
    if (!met) break;
    ++failures_met;
  }
  EXPECT_GE(failures_met, 1) << "the injection never reached the collection";
}

// The library's own fault-injection sites (ouro/detail/fault_injection.hpp).
namespace fault = ouro::detail::fault;

// ---------------------------------------------------------------------------
// make<T> when the generation table cannot grow
// ---------------------------------------------------------------------------
//
// A tracked object must be tracked, or its cycles leak for ever: make<T>
// either returns a tracked object or throws std::bad_alloc with nothing
// made, before the constructor has run.

struct Lifetimes {
  int constructed = 0;
  int destroyed = 0;
};

template <class Base>
struct TrackedOn : Base {
  explicit TrackedOn(Lifetimes& l) : lifetimes(l) { ++l.constructed; }
  ~TrackedOn() override { ++lifetimes.destroyed; }
  void traverse(ouro::Visitor& v) override { v(next); }
  Lifetimes& lifetimes;
  Ref<Object> next;
};
using Tracked = TrackedOn<Object>;
// Object as a virtual base: make<T> takes its general path.
struct VirtualObject : virtual Object {};
using TrackedViaVirtualBase = TrackedOn<VirtualObject>;

const ouro::detail::SlotTable& gen0_table() {
  return ouro::detail::tls_heap->table(ouro::detail::Table::gen0);
}

// Makes tracked objects (one at least) until gen0's table is full: the
// next tracked make needs a new chunk.
void fill_gen0(std::vector<Ref<Object>>& keep, Lifetimes& l) {
  do {
    keep.push_back(make<Tracked>(l));
  } while (gen0_table().size() < gen0_table().capacity());
}

template <class T>
void expect_make_to_throw_before_constructing_when_gen0_cannot_grow() {
  ouro_test::in_fresh_heap([] {
    ClearFaultsAtExit clear;
    gc::disable();
    Lifetimes l;
    std::vector<Ref<Object>> keep;
    fill_gen0(keep, l);
    const std::size_t count = gc::get_count()[0];
    const std::size_t tracked = gc::get_objects().size();
    const int constructed = l.constructed;
    fault::fail_after(fault::Site::table, 0);
    Ref<T> made;
    bool threw = false;
    try {
      made = make<T>(l);
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    ASSERT_EQ(fault::failed(fault::Site::table), 1) << "gen0 had to grow";
    EXPECT_TRUE(threw) << (gc::is_tracked(*made) ? "made and tracked" : "made, but not tracked");
    EXPECT_EQ(l.constructed, constructed) << "the constructor ran";
    EXPECT_EQ(l.destroyed, 0);
    EXPECT_EQ(gc::get_count()[0], count);
    EXPECT_EQ(gc::get_objects().size(), tracked);
    made = make<T>(l);  // the table can grow again
    EXPECT_TRUE(gc::is_tracked(*made));
  });
}

TEST(OutOfMemory, MakeThatCannotGrowTheGenerationTableThrowsBeforeTheConstructorRuns) {
  SKIP_UNLESS_FAULT_SITES();
  expect_make_to_throw_before_constructing_when_gen0_cannot_grow<Tracked>();
}

TEST(OutOfMemory, MakeByTheGeneralPathThatCannotGrowTheGenerationTableThrowsBeforeTheConstructorRuns) {
  SKIP_UNLESS_FAULT_SITES();
  expect_make_to_throw_before_constructing_when_gen0_cannot_grow<TrackedViaVirtualBase>();
}

// Its constructor makes one tracked object, and carries on without it when
// that make fails.
template <class Base>
struct MakesOneInside : Base {
  MakesOneInside(Lifetimes& l, bool& inner_failed) : Base(l) {
    try {
      this->next = make<Tracked>(l);
    } catch (const std::bad_alloc&) {
      inner_failed = true;
    }
  }
};

template <class Base>
void expect_the_object_being_made_to_keep_its_entry() {
  ouro_test::in_fresh_heap([] {
    ClearFaultsAtExit clear;
    gc::disable();
    Lifetimes l;
    std::vector<Ref<Object>> keep;
    fill_gen0(keep, l);
    keep.pop_back();  // one entry free
    fault::fail_after(fault::Site::table, 0, fault::kForever);
    bool inner_failed = false;
    Ref<MakesOneInside<Base>> outer = make<MakesOneInside<Base>>(l, inner_failed);
    EXPECT_TRUE(gc::is_tracked(*outer)) << "the nested make took the outer object's entry";
    if (inner_failed)
      EXPECT_FALSE(outer->next);
    else
      EXPECT_TRUE(gc::is_tracked(*outer->next));
    fault::clear();
    // A cycle through it is found.
    outer->next = outer;
    outer.reset();
    EXPECT_EQ(gc::collect(), 1u);
  });
}

TEST(OutOfMemory, ANestedMakeThatWouldTakeTheEntryOfTheObjectBeingMadeFailsInsteadOfLeavingItUntracked) {
  SKIP_UNLESS_FAULT_SITES();
  expect_the_object_being_made_to_keep_its_entry<Tracked>();
}

TEST(OutOfMemory, ANestedMakeInsideAGeneralPathMakeLeavesTheOuterObjectItsEntry) {
  SKIP_UNLESS_FAULT_SITES();
  expect_the_object_being_made_to_keep_its_entry<TrackedViaVirtualBase>();
}

// ---------------------------------------------------------------------------
// Collecting when memory is short
// ---------------------------------------------------------------------------
//
// With no memory for a collection's working set, collect() must still free
// garbage (in pieces that fit in the room the heap holds), never free what
// is reachable, and leave every survivor tracked once.

struct Tally {
  explicit Tally(std::size_t n) : finalized(n, 0), destroyed(n, 0) {}
  std::vector<int> finalized;
  std::vector<int> destroyed;
  int next_id = 0;
};

struct Pair : Object {
  explicit Pair(Tally& t) : tally(t), id(t.next_id++) {}
  ~Pair() override { ++tally.destroyed[static_cast<std::size_t>(id)]; }
  void traverse(ouro::Visitor& v) override { v(other); }
  Tally& tally;
  int id;
  Ref<Pair> other;
};

struct FinPair : Pair {
  using Pair::Pair;
  void finalize() override { ++tally.finalized[static_cast<std::size_t>(id)]; }
};

// 2-cycles, made one after the other: every eighth kept (in `kept`), every
// fifth of the others with a finalizer. Returns the number of garbage objects.
std::size_t make_pairs(Tally& t, int pairs, std::vector<Ref<Pair>>& kept) {
  std::size_t garbage = 0;
  for (int i = 0; i < pairs; ++i) {
    Ref<Pair> a = i % 5 == 1 ? Ref<Pair>(make<FinPair>(t)) : make<Pair>(t);
    Ref<Pair> b = make<Pair>(t);
    a->other = b;
    b->other = a;
    if (i % 8 == 0)
      kept.push_back(a);
    else
      garbage += 2;
  }
  return garbage;
}

void expect_kept_pairs_intact(const Tally& t, const std::vector<Ref<Pair>>& kept, const std::string& when) {
  for (const Ref<Pair>& a : kept) {
    EXPECT_EQ(t.destroyed[static_cast<std::size_t>(a->id)], 0) << when << ": a reachable object died";
    EXPECT_EQ(t.destroyed[static_cast<std::size_t>(a->other->id)], 0) << when << ": a reachable object died";
  }
  std::vector<Ref<Object>> objects = gc::get_objects();
  EXPECT_EQ(objects.size(), 2 * kept.size()) << when << ": every survivor tracked once, and nothing else";
  std::sort(objects.begin(), objects.end());
  EXPECT_EQ(std::adjacent_find(objects.begin(), objects.end()), objects.end()) << when << ": tracked twice";
}

// Collects 20'000 objects (several pieces of the heap's reserved room) with
// every allocation of `sites` failing.
void expect_collect_to_free_all_garbage_with_failing(std::vector<fault::Site> sites, gc::FinalizerPolicy policy) {
  ouro_test::in_fresh_heap([&] {
    ClearFaultsAtExit clear;
    gc::disable();
    gc::set_finalizer_policy(policy);
    constexpr int kPairs = 10'000;
    Tally t(2 * kPairs);
    std::vector<Ref<Pair>> kept;
    const std::size_t garbage = make_pairs(t, kPairs, kept);
    for (fault::Site site : sites) fault::fail_after(site, 0, fault::kForever);
    std::size_t found = 0;
    EXPECT_NO_THROW(found = gc::collect());
    EXPECT_GT(fault::failed(), 0) << "the collection never asked for memory";
    fault::clear();
    EXPECT_EQ(found, garbage);
    std::size_t destroyed = 0;
    for (int i = 0; i < t.next_id; ++i) {
      auto ii = static_cast<std::size_t>(i);
      EXPECT_LE(t.finalized[ii], 1) << "object " << i << " finalized twice";
      destroyed += static_cast<std::size_t>(t.destroyed[ii]);
    }
    if (policy == gc::FinalizerPolicy::pep442) {
      EXPECT_EQ(destroyed, garbage);
    }
    gc::garbage().clear();  // legacy: the finalizer cycles wait there
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::collect();
    expect_kept_pairs_intact(t, kept, "after collecting without memory");
    EXPECT_EQ(gc::collect(), 0u);
    for (int i = 0; i < t.next_id; ++i) EXPECT_LE(t.finalized[static_cast<std::size_t>(i)], 1);
    kept.clear();
    EXPECT_EQ(gc::collect(), static_cast<std::size_t>(2 * kPairs) - garbage);
  });
}

TEST(OutOfMemory, CollectWithoutScratchMemoryStillFreesEveryGarbageCycle) {
  SKIP_UNLESS_FAULT_SITES();
  expect_collect_to_free_all_garbage_with_failing({fault::Site::scratch}, gc::FinalizerPolicy::pep442);
}

TEST(OutOfMemory, CollectWhereEveryAllocationOfTheLibraryFailsStillFreesEveryGarbageCycle) {
  SKIP_UNLESS_FAULT_SITES();
  expect_collect_to_free_all_garbage_with_failing({fault::Site::scratch, fault::Site::table, fault::Site::object},
                                                  gc::FinalizerPolicy::pep442);
}

TEST(OutOfMemory, LegacyCollectWithoutScratchOrTableMemoryStillFreesTheCyclesWithoutFinalizers) {
  SKIP_UNLESS_FAULT_SITES();
  expect_collect_to_free_all_garbage_with_failing({fault::Site::scratch, fault::Site::table},
                                                  gc::FinalizerPolicy::legacy);
}

TEST(OutOfMemory, YoungCollectionsWithoutScratchMemoryStillFreeGarbageCycles) {
  SKIP_UNLESS_FAULT_SITES();
  ouro_test::in_fresh_heap([] {
    ClearFaultsAtExit clear;
    gc::disable();
    constexpr int kPairs = 5'000;
    Tally t(2 * kPairs);
    std::vector<Ref<Pair>> kept;
    const std::size_t garbage = make_pairs(t, kPairs, kept);
    fault::fail_after(fault::Site::scratch, 0, fault::kForever);
    std::size_t found = 0;
    EXPECT_NO_THROW(found = gc::collect(0));
    EXPECT_NO_THROW(found += gc::collect(1));
    fault::clear();
    EXPECT_EQ(found, garbage);
    expect_kept_pairs_intact(t, kept, "after young collections without memory");
    kept.clear();
    EXPECT_EQ(gc::collect(), static_cast<std::size_t>(2 * kPairs) - garbage);
  });
}

// A finalizer that makes tracked objects while its piece of gen0 is out,
// and resurrects its object: the objects it makes must not take the room
// its object goes back to (they grow gen0, or fail to).
struct MakesAndResurrects : Pair {
  using Pair::Pair;
  static constexpr int kMakes = 3;
  void finalize() override {
    ++tally.finalized[static_cast<std::size_t>(id)];
    for (int i = 0; i < kMakes; ++i) {
      try {
        made.push_back(make<Pair>(tally));
      } catch (const std::bad_alloc&) {
        ++refused;
      }
    }
    resurrected.push_back(ouro::ref(this));
  }
  static inline std::vector<Ref<Pair>> made;
  static inline std::vector<Ref<Pair>> resurrected;
  static inline int refused = 0;
};

TEST(OutOfMemory, FinalizersThatMakeObjectsDuringACollectionInPiecesLeaveTheResurrectedTheirRoom) {
  SKIP_UNLESS_FAULT_SITES();
  ouro_test::in_fresh_heap([] {
    ClearFaultsAtExit clear;
    gc::disable();
    constexpr int kPairs = 3 * ouro::detail::SlotTable::kChunkSize / 2;  // gen0 full: tight room
    constexpr int kFinalized = kPairs / 3;
    constexpr int kMakes = MakesAndResurrects::kMakes;
    Tally t(2 * kPairs + kMakes * kFinalized);
    std::vector<Ref<Pair>> kept;
    MakesAndResurrects::resurrected.reserve(kFinalized);
    MakesAndResurrects::made.reserve(kMakes * kFinalized);
    for (int i = 0; i < kPairs; ++i) {
      Ref<Pair> a = i % 3 == 1 ? Ref<Pair>(make<MakesAndResurrects>(t)) : make<Pair>(t);
      Ref<Pair> b = make<Pair>(t);
      a->other = b;
      b->other = a;
      if (i % 3 == 0) kept.push_back(a);
    }
    ASSERT_EQ(gen0_table().size(), gen0_table().capacity());
    fault::fail_after(fault::Site::scratch, 0, fault::kForever);
    fault::fail_after(fault::Site::table, 0, fault::kForever);
    std::size_t found = 0;
    EXPECT_NO_THROW(found = gc::collect());
    fault::clear();
    EXPECT_GT(found, 0u) << "the plain cycles are garbage";
    EXPECT_EQ(MakesAndResurrects::resurrected.size(), static_cast<std::size_t>(kFinalized));
    EXPECT_EQ(MakesAndResurrects::made.size() + static_cast<std::size_t>(MakesAndResurrects::refused),
              static_cast<std::size_t>(kMakes * kFinalized));
    for (const Ref<Pair>& r : MakesAndResurrects::resurrected) {
      ASSERT_TRUE(gc::is_tracked(*r)) << "a resurrected object lost its entry";
      EXPECT_TRUE(gc::is_tracked(*r->other));
    }
    const auto& gen0 = gen0_table();
    EXPECT_EQ(ouro::detail::tls_heap->gen0_promised, 0u);
    EXPECT_LE(gen0.size(), gen0.capacity());
    for (int i = 0; i < t.next_id; ++i) EXPECT_LE(t.finalized[static_cast<std::size_t>(i)], 1);
    MakesAndResurrects::made.clear();
    MakesAndResurrects::resurrected.clear();
    kept.clear();
    gc::collect();
    EXPECT_TRUE(gc::get_objects().empty());
  });
}

// The real thing: a child process whose address space is limited fills it
// with garbage cycles until make<T> throws std::bad_alloc; collect() must
// then free them, and making objects must work again. RLIMIT_AS means
// nothing under AddressSanitizer or ThreadSanitizer (their shadow memory
// takes terabytes of address space) or valgrind (its own allocator), so
// those runs skip it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

struct Ballast : Object {
  void traverse(ouro::Visitor& v) override { v(other); }
  Ref<Ballast> other;
  char bytes[200] = {};
};

std::size_t address_space_in_use() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long pages = 0;
  int read = std::fscanf(f, "%lu", &pages);
  std::fclose(f);
  return read == 1 ? pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) : 0;
}

// Exit codes of the child.
enum ChildExit : int {
  kDone = 0,
  kNoLimit = 10,
  kNeverRanOut = 11,
  kCollectThrew = 12,
  kFreedTooLittle = 13,
  kCannotMakeAgain = 14,
};

int fill_the_address_space_then_collect() {
  int code = kDone;
  ouro_test::in_fresh_heap([&] {
    gc::disable();
    std::size_t in_use = address_space_in_use();
    rlimit limit{};
    limit.rlim_cur = limit.rlim_max = in_use + (std::size_t{96} << 20);
    if (in_use == 0 || setrlimit(RLIMIT_AS, &limit) != 0) {
      code = kNoLimit;
      return;
    }
    std::size_t made = 0;
    bool ran_out = false;
    try {
      for (std::size_t i = 0; i < (std::size_t{1} << 24); ++i) {
        Ref<Ballast> a = make<Ballast>();
        Ref<Ballast> b = make<Ballast>();
        a->other = b;
        b->other = a;
        made += 2;
      }
    } catch (const std::bad_alloc&) {
      ran_out = true;
    }
    std::size_t freed = 0;
    bool threw = false;
    try {
      freed = gc::collect();
    } catch (const std::bad_alloc&) {
      threw = true;
    }
    char line[160];
    int n = std::snprintf(line, sizeof line, "child: made %zu objects in cycles, ran out: %d, collect() freed %zu%s\n",
                          made, ran_out ? 1 : 0, freed, threw ? " (threw bad_alloc)" : "");
    if (n > 0) (void)!write(2, line, static_cast<std::size_t>(n));
    if (!ran_out) {
      code = kNeverRanOut;
    } else if (threw) {
      code = kCollectThrew;
    } else if (freed != made) {
      code = kFreedTooLittle;
    } else {
      try {
        for (int i = 0; i < 10'000; ++i) {
          Ref<Ballast> a = make<Ballast>();
          a->other = a;
        }
        if (gc::collect() != 10'000u) code = kFreedTooLittle;
      } catch (const std::bad_alloc&) {
        code = kCannotMakeAgain;
      }
    }
  });
  return code;
}

TEST(OutOfMemory, AProcessThatFilledItsAddressSpaceWithGarbageCyclesRecoversByCollecting) {
  if (kSanitized) GTEST_SKIP() << "RLIMIT_AS is meaningless under a sanitizer's shadow memory";
  SKIP_UNLESS_INJECTION_WORKS();
  std::fflush(nullptr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(fill_the_address_space_then_collect());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), kDone) << "10: no limit set, 11: never ran out, 12: collect() threw bad_alloc, "
                                           "13: collect() freed too little, 14: could not make objects again";
}

}  // namespace
