// Destruction by reference counting (ouro/object.hpp, ouro/ref.hpp,
// docs/semantics.md): an object dies in the call that drops its last reference —
// finalize() (at most once ever), then the destructor, then the memory; its
// destructor may make, drop and collect objects. Resurrection, the trashcan,
// the unraisable hook and make<T>() whose constructor throws have test files
// of their own.
#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro::refcount;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::FinalizerOnlyNode;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;


// ---------------------------------------------------------------------------
// The order of events at refcount zero
// ---------------------------------------------------------------------------

std::vector<std::string> g_order;

struct OrderLogged : ouro::Object {
  void finalize() override {
    g_order.push_back("finalize value=" + std::to_string(value) + " rc=" + std::to_string(refcount(*this)));
  }
  ~OrderLogged() override { g_order.push_back("destructor"); }
  // The deleting destructor frees through the most derived operator delete:
  // this records the moment the memory goes back.
  static void operator delete(void* p, std::size_t size) noexcept {
    g_order.push_back("memory");
    ouro::Object::operator delete(p, size);
  }
  int value = 17;
};

}  // namespace

TEST(Destruction, FinalizerRunsBeforeDestructorThenMemoryIsFreed) {
  g_order.clear();
  auto a = make<OrderLogged>();
  EXPECT_TRUE(g_order.empty());
  a.reset();
  // All three in the call that dropped the last reference; the finalizer
  // sees an intact object, with the count held at one (decisions.md).
  EXPECT_EQ(g_order, (std::vector<std::string>{"finalize value=17 rc=1", "destructor", "memory"}));
}

TEST(Destruction, ObjectDiesInTheCallThatDropsTheLastReference) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  Ref<PlainNode> b = a;
  a.reset();
  EXPECT_EQ(ev.destroyed, 0);  // deleting one of two references keeps it alive
  EXPECT_EQ(refcount(*b), 1u);
  EXPECT_EQ(b->name, "a");
  b = nullptr;
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "destroy"}));
}

TEST(Destruction, TrackedObjectsAlsoDieAtRefcountZeroWithoutACollection) {
  ouro_test::in_fresh_heap([] {
    ouro::gc::disable();
    Events ev;
    auto a = make<FinalizedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    a->next = b;
    b.reset();
    EXPECT_EQ(ev.destroyed, 0);
    a.reset();  // a dies, and with it the only reference to b
    EXPECT_EQ(ev.log, (std::vector<std::string>{"construct a", "construct b", "finalize a", "destroy a", "destroy b"}));
    EXPECT_TRUE(ouro::gc::get_objects().empty());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 0u);
  });
}

namespace {
int g_temp_destroyed = 0;
struct Temporary : ouro::Object {
  ~Temporary() override { ++g_temp_destroyed; }
  int destroyed_so_far() const { return g_temp_destroyed; }
};
int observe(const Temporary& t) { return t.destroyed_so_far(); }
}  // namespace

TEST(Destruction, TemporaryDiesAtTheEndOfItsFullExpression) {
  g_temp_destroyed = 0;
  int seen_during = observe(*make<Temporary>());
  EXPECT_EQ(seen_during, 0);
  EXPECT_EQ(g_temp_destroyed, 1);
  int comma = (make<Temporary>(), g_temp_destroyed);  // read before the temporary goes
  EXPECT_EQ(comma, 1);
  EXPECT_EQ(g_temp_destroyed, 2);
  make<Temporary>();  // discarded result: dies at the semicolon
  EXPECT_EQ(g_temp_destroyed, 3);
}

TEST(Destruction, UntrackedObjectWithFinalizerIsFinalizedThenDestroyed) {
  Events ev;
  make<FinalizerOnlyNode>(ev, "f");
  EXPECT_EQ(ev.of("f"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
}

TEST(Destruction, FinalizerMayTakeAndDropReferencesToItsObjectWithoutDyingTwice) {
  Events ev;
  auto a = make<FinalizerOnlyNode>(ev, "a");
  a->on_finalize = [](ouro_test::Instrumented& self) {
    auto tmp = ouro::ref(&self);
    EXPECT_EQ(refcount(self), 2u);
    std::vector<Ref<ouro::Object>> more(3, tmp);
  };
  a.reset();
  EXPECT_EQ(ev.finalized, 1);
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
}

// ---------------------------------------------------------------------------
// Destructors and constructors that run user code
// ---------------------------------------------------------------------------

namespace {
Ref<ouro::Object> g_made_in_destructor;
int g_temporaries_in_destructor_destroyed = 0;
struct DiesWithoutHeirs : ouro::Object {
  ~DiesWithoutHeirs() override { ++g_temporaries_in_destructor_destroyed; }
};
struct MakesObjectsWhenDestroyed : ouro::Object {
  ~MakesObjectsWhenDestroyed() override {
    g_made_in_destructor = make<DiesWithoutHeirs>();
    make<DiesWithoutHeirs>();  // dies at once, inside this destructor
  }
};
}  // namespace

TEST(Destruction, DestructorMayMakeNewObjects) {
  g_temporaries_in_destructor_destroyed = 0;
  make<MakesObjectsWhenDestroyed>();
  EXPECT_EQ(g_temporaries_in_destructor_destroyed, 1);
  ASSERT_TRUE(g_made_in_destructor);
  EXPECT_EQ(refcount(*g_made_in_destructor), 1u);
  g_made_in_destructor.reset();
  EXPECT_EQ(g_temporaries_in_destructor_destroyed, 2);
}

namespace {
struct MakesTrackedObjectsWhenDestroyed : ouro::Object {
  MakesTrackedObjectsWhenDestroyed(Events& ev, std::vector<Ref<TrackedNode>>& out, Ref<MakesTrackedObjectsWhenDestroyed> n)
      : events(ev), made(out), next(std::move(n)) {}
  ~MakesTrackedObjectsWhenDestroyed() override {
    // Each make may start an automatic collection (threshold 1) in the
    // middle of the cascade; one of them is garbage at once (a self-cycle).
    made.push_back(make<TrackedNode>(events, "heir"));
    auto loop = make<TrackedNode>(events, "loop");
    loop->next = loop;
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Events& events;
  std::vector<Ref<TrackedNode>>& made;
  Ref<MakesTrackedObjectsWhenDestroyed> next;
};
}  // namespace

TEST(Destruction, DestructorsMakingTrackedObjectsDuringALongCascadeWithAutomaticCollections) {
  ouro_test::in_fresh_heap([] {
    ouro::gc::set_threshold(1, 1, 1);
    Events ev;
    std::vector<Ref<TrackedNode>> made;
    constexpr int kChain = 300;
    {
      Ref<MakesTrackedObjectsWhenDestroyed> head;
      for (int i = 0; i < kChain; ++i) head = make<MakesTrackedObjectsWhenDestroyed>(ev, made, std::move(head));
    }
    EXPECT_EQ(made.size(), static_cast<std::size_t>(kChain));
    EXPECT_EQ(ev.constructed, 2 * kChain);
    ouro::gc::collect();
    EXPECT_EQ(ev.alive(), kChain);  // the heirs; every self-cycle was collected
    for (const auto& h : made) {
      EXPECT_EQ(h->name, "heir");
      EXPECT_EQ(refcount(*h), 1u);
      EXPECT_TRUE(ouro::gc::is_tracked(*h));
    }
    made.clear();
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
}

namespace {
int g_collections_in_destructors = 0;
struct CollectsWhenDestroyed : ouro::Object {
  CollectsWhenDestroyed(Events& ev, Ref<CollectsWhenDestroyed> n) : events(ev), next(std::move(n)) {}
  ~CollectsWhenDestroyed() override {
    // The rest of the chain (reachable only from this dying object, or
    // waiting in the destruction queue) must survive these collections.
    auto loop = make<TrackedNode>(events, "loop");
    loop->next = loop;
    loop.reset();
    ouro::gc::collect(g_collections_in_destructors++ % 3);
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Events& events;
  Ref<CollectsWhenDestroyed> next;
  int value = 99;
};
}  // namespace

TEST(Destruction, DestructorsMayRunCollectionsInTheMiddleOfALongCascade) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    g_collections_in_destructors = 0;
    constexpr int kChain = 200;
    {
      Ref<CollectsWhenDestroyed> head;
      for (int i = 0; i < kChain; ++i) head = make<CollectsWhenDestroyed>(ev, std::move(head));
    }
    EXPECT_EQ(g_collections_in_destructors, kChain);
    ouro::gc::collect();
    EXPECT_EQ(ev.constructed, kChain);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
}
