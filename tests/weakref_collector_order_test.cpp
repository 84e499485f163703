// Weak references inside a collection (ouro/weakref.hpp and docs/semantics.md;
// CPython 3.11's handle_weakrefs):
//
//   - every weak reference to an object of the garbage is cleared before any
//     finalizer runs, so finalizers see them expired;
//   - callbacks of weak references owned by the garbage (reported by its
//     traverse) are not called; the others run before the finalizers;
//   - a callback that resurrects (through a raw pointer) is handled like a
//     finalizer that does: the object and what it reaches survive, with
//     their old weak references expired;
//   - callbacks may throw, allocate, drop references, call collect().
#include <gtest/gtest.h>

#include <cstdint>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"
#include "support/weak_logging.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Ref;
using ouro::WeakRef;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::in_fresh_heap;
using ouro_test::Instrumented;
using ouro_test::TrackedNode;

using ouro_test::WeakNode;
const auto logging = ouro_test::logging_callback;

// A tracked node with a finalizer that also owns weak references.
struct WeakOwner : FinalizedNode {
  using FinalizedNode::FinalizedNode;
  std::vector<WeakRef<Instrumented>> weak;
  void traverse(ouro::Visitor& v) override {
    FinalizedNode::traverse(v);
    v(weak);
  }
};

// a <-> b, returned without any outside reference once the caller drops them.
template <class T>
std::pair<Ref<T>, Ref<T>> cycle(Events& ev, const char* a_name, const char* b_name) {
  auto a = make<T>(ev, a_name);
  auto b = make<T>(ev, b_name);
  a->next = b;
  b->next = a;
  return {a, b};
}

TEST(WeakRefCollection, FinalizersOfTheGarbageSeeEveryWeakRefToTheGarbageExpired) {
  in_fresh_heap([] {
    Events ev;
    std::vector<WeakNode> outside;
    {
      auto [a, b] = cycle<WeakOwner>(ev, "a", "b");
      outside.emplace_back(a);
      outside.emplace_back(b);
      a->weak.emplace_back(b);  // owned by the garbage, to the garbage
      auto check = [&](Instrumented& self) {
        bool all_expired = outside[0].expired() && outside[1].expired();
        for (auto& w : static_cast<WeakOwner&>(self).weak) all_expired = all_expired && w.expired();
        ev.log.push_back(std::string("in finalize ") + self.name + ": " + (all_expired ? "expired" : "alive"));
        EXPECT_EQ(ouro::weakref_count(self), 0u);
      };
      a->on_finalize = check;
      b->on_finalize = check;
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.count("in finalize a: expired"), 1u);
    EXPECT_EQ(ev.count("in finalize b: expired"), 1u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, CallbacksOfOutsideWeakRefsRunAfterClearingAndBeforeAnyFinalizer) {
  in_fresh_heap([] {
    Events ev;
    std::vector<WeakNode> outside;
    {
      auto [a, b] = cycle<FinalizedNode>(ev, "a", "b");
      // The first callback checks that the weak reference to b, whose own
      // callback has not run yet, is already cleared.
      outside.reserve(3);
      outside.emplace_back(a, [&](WeakNode&) {
        ev.log.push_back(std::string("callback a; b's weakref ") + (outside[1].expired() ? "cleared" : "alive"));
      });
      outside.emplace_back(b, logging(ev, "b"));
      outside.emplace_back(b, logging(ev, "b again"));
    }
    gc::collect();
    ASSERT_NE(ev.position("finalize a"), -1);
    ASSERT_NE(ev.position("finalize b"), -1);
    for (const char* cb : {"callback a; b's weakref cleared", "callback b", "callback b again"}) {
      ASSERT_NE(ev.position(cb), -1) << cb;
      EXPECT_LT(ev.position(cb), ev.position("finalize a")) << cb;
      EXPECT_LT(ev.position(cb), ev.position("finalize b")) << cb;
    }
    EXPECT_LT(ev.position("callback b again"), ev.position("callback b")) << "newest first for one object";
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, CallbacksOfWeakRefsOwnedByTheGarbageAreNotCalled) {
  in_fresh_heap([] {
    Events ev;
    auto survivor = make<TrackedNode>(ev, "survivor");
    {
      auto [a, b] = cycle<WeakOwner>(ev, "a", "b");
      a->weak.emplace_back(b, logging(ev, "a->b"));                // to the garbage
      a->weak.emplace_back(a, logging(ev, "a->a"));                // to itself
      b->weak.emplace_back(survivor, logging(ev, "b->survivor"));  // to a live object
    }
    EXPECT_EQ(ouro::weakref_count(*survivor), 1u);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ouro::weakref_count(*survivor), 0u) << "weakrefs owned by the garbage are cleared";
    survivor.reset();
    for (const char* cb : {"callback a->b", "callback a->a", "callback b->survivor"}) EXPECT_EQ(ev.count(cb), 0u) << cb;
    EXPECT_EQ(ev.alive(), 0);
  });
}

// The collector skips looking for weak references owned by the garbage when
// no weak reference in the process has a target; the count behind that must
// survive every way a weak reference ends (its target dies, it is reset, its
// owner is garbage).
TEST(WeakRefCollection, WeakRefsOwnedByTheGarbageAreClearedAfterOtherWeakRefsCameAndWent) {
  in_fresh_heap([] {
    Events ev;
    {
      auto t = make<TrackedNode>(ev, "t");
      WeakNode by_death(t);
      WeakNode by_reset(t);
      by_reset = WeakNode();
      t.reset();
      EXPECT_TRUE(by_death.expired());
      auto [a, b] = cycle<WeakOwner>(ev, "a0", "b0");
      a->weak.emplace_back(b);
    }
    EXPECT_EQ(gc::collect(), 2u);
    auto survivor = make<TrackedNode>(ev, "survivor");
    {
      auto [a, b] = cycle<WeakOwner>(ev, "a", "b");
      b->weak.emplace_back(survivor, logging(ev, "b->survivor"));
      // The survivor dies during the finalizers: b's weak reference must be
      // cleared (without its callback) before they run.
      a->on_finalize = [&survivor](Instrumented&) { survivor.reset(); };
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.count("callback b->survivor"), 0u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, ACallbackThatResurrectsIsHandledLikeAFinalizerThatDoes) {
  in_fresh_heap([] {
    Events ev;
    Ref<Instrumented> saved;
    WeakNode watcher;
    WeakNode old_weak;
    {
      auto [a, b] = cycle<TrackedNode>(ev, "a", "b");
      Instrumented* raw = a.get();
      old_weak = WeakNode(b);
      // Nothing reaches the garbage weakly any more; a raw pointer still can.
      watcher = WeakNode(a, [&saved, raw](WeakNode&) { saved = ouro::ref(raw); });
    }
    EXPECT_EQ(gc::collect(), 0u) << "the resurrected cycle is not counted";
    ASSERT_NE(saved, nullptr);
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_TRUE(watcher.expired());
    EXPECT_TRUE(old_weak.expired()) << "survivors of a resurrection keep their old weakrefs expired";
    EXPECT_TRUE(gc::is_tracked(*saved));
    WeakNode fresh(saved->next);
    EXPECT_FALSE(fresh.expired()) << "new weak references to a survivor work";
    saved.reset();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_TRUE(fresh.expired());
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, ObjectsResurrectedByAFinalizerLiveOnWithTheirWeakRefsExpired) {
  in_fresh_heap([] {
    Events ev;
    Ref<Instrumented> saved;
    WeakNode to_a, to_b;
    {
      auto [a, b] = cycle<FinalizedNode>(ev, "a", "b");
      a->on_finalize = [&](Instrumented& self) { saved = ouro::ref(&self); };
      to_a = WeakNode(a, logging(ev, "to_a"));
      to_b = WeakNode(b);
    }
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_TRUE(to_a.expired());
    EXPECT_TRUE(to_b.expired());
    EXPECT_EQ(ev.count("callback to_a"), 1u);
    saved.reset();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.count("callback to_a"), 1u) << "a callback runs once";
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, AWeakRefThatAFinalizerMakesToTheGarbageIsClearedWhenTheObjectIsReclaimed) {
  in_fresh_heap([] {
    Events ev;
    WeakNode late;
    {
      auto [a, b] = cycle<FinalizedNode>(ev, "a", "b");
      a->on_finalize = [&](Instrumented& self) { late = WeakNode(ouro::ref(&self), logging(ev, "late")); };
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_TRUE(late.expired());
    EXPECT_EQ(ev.count("callback late"), 1u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, CallbacksMayThrowAllocateDropReferencesAndCallCollect) {
  in_fresh_heap([] {
    Events ev;
    int reported = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object* o) {
      EXPECT_EQ(o, nullptr);
      ++reported;
    });
    gc::set_threshold(5);
    std::size_t nested = 99;
    Ref<Instrumented> other = make<FinalizedNode>(ev, "other");
    WeakNode on_other(other, logging(ev, "on-other"));
    std::vector<Ref<Instrumented>> made;
    std::vector<WeakNode> outside;
    {
      auto [a, b] = cycle<TrackedNode>(ev, "a", "b");
      outside.emplace_back(a, [](WeakNode&) { throw std::runtime_error("boom"); });
      outside.emplace_back(b, [&](WeakNode&) {
        nested = gc::collect();  // a collection is running: 0
        other.reset();           // dies now, by refcount, with its own callback
        for (int i = 0; i < 50; ++i) made.push_back(make<TrackedNode>(ev, "new"));
        auto x = make<TrackedNode>(ev, "x");
        x->next = x;  // a new cycle: garbage for the next collection
      });
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(nested, 0u);
    EXPECT_EQ(reported, 1);
    EXPECT_EQ(ev.of("other"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.count("callback on-other"), 1u);
    EXPECT_EQ(gc::collect(), 1u);  // x
    made.clear();
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakRefCollection, WeakRefsToUncollectableLegacyGarbageAreNotCleared) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    WeakNode to_a;
    {
      auto [a, b] = cycle<FinalizedNode>(ev, "a", "b");
      to_a = WeakNode(a, logging(ev, "to_a"));
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_FALSE(to_a.expired()) << "uncollectable objects are alive (in garbage())";
    EXPECT_EQ(ev.count("callback to_a"), 0u);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    gc::collect();
    EXPECT_TRUE(to_a.expired());
    EXPECT_EQ(ev.count("callback to_a"), 1u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

// Not a benchmark: a random mix of cycles, chains, weak references with and
// without callbacks (some owned by the garbage), resurrecting finalizers and
// collections, checked against what must hold after each step.
TEST(WeakRefCollection, StressThousandsOfWeakRefsCallbacksAndCycles) {
  in_fresh_heap([] {
    Events ev;
    std::mt19937 rng(442);
    std::vector<Ref<Instrumented>> roots;
    std::vector<WeakNode> weak;
    std::vector<Ref<Instrumented>> resurrected;
    long outside_callbacks = 0, owned_callbacks = 0, expected_callbacks = 0;
    // Moved out first: dying objects' finalizers may push to it meanwhile.
    auto drop_resurrected = [&] { auto doomed = std::move(resurrected); resurrected.clear(); };
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 100; ++i) {
        Ref<Instrumented> n;
        if (rng() % 3 == 0) {
          auto f = make<FinalizedNode>(ev);
          if (rng() % 8 == 0)
            f->on_finalize = [&resurrected](Instrumented& self) { resurrected.push_back(ouro::ref(&self)); };
          n = f;
        } else {
          auto o = make<WeakOwner>(ev);
          if (!roots.empty() && rng() % 2) o->weak.emplace_back(roots[pick(roots.size())], [&](WeakNode&) {
            ++owned_callbacks;
          });
          n = o;
        }
        if (!roots.empty()) n->next = roots[pick(roots.size())];
        if (!roots.empty() && rng() % 2) roots[pick(roots.size())]->links.push_back(n);
        if (rng() % 2) {
          weak.emplace_back(n, [&](WeakNode& self) {
            EXPECT_TRUE(self.expired());
            EXPECT_EQ(self.lock(), nullptr);
            ++outside_callbacks;
          });
          ++expected_callbacks;
        } else {
          weak.emplace_back(n);
        }
        roots.push_back(n);
      }
      // Drop a random half of the roots, cut some links, collect sometimes.
      for (std::size_t k = roots.size() / 2; k > 0; --k) {
        std::size_t i = pick(roots.size());
        roots[i] = std::move(roots.back());
        roots.pop_back();
      }
      if (rng() % 3 == 0 && !roots.empty()) roots[pick(roots.size())]->links.clear();
      if (rng() % 4 == 0) drop_resurrected();
      if (rng() % 2) gc::collect(static_cast<int>(rng() % 3));
      for (const WeakNode& w : weak) {
        if (Ref<Instrumented> t = w.lock()) {
          EXPECT_GT(ouro::refcount(*t), 1u) << "a weakref outlived the last strong reference";
        }
      }
    }
    roots.clear();
    for (int i = 0; i < 5 && ev.alive() > 0; ++i) {
      drop_resurrected();
      gc::collect();
    }
    EXPECT_EQ(ev.alive(), 0);
    for (const WeakNode& w : weak) EXPECT_TRUE(w.expired());
    EXPECT_EQ(outside_callbacks, expected_callbacks) << "every outside callback ran exactly once";
    EXPECT_GT(owned_callbacks, 0) << "weakrefs owned by live objects call back";
    weak.clear();
  });
}

}  // namespace
