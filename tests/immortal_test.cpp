// Immortal objects (PEP 683; ouro/object.hpp): immortalize()
// freezes the reference count at ouro::immortal_refcount; the object is never
// freed and never collected, and what it references stays alive with it.
//
// Every immortal object below is a deliberate leak. Each one is also kept in
// a static raw pointer, so that LeakSanitizer sees it as reachable.
#include <gtest/gtest.h>

#include <array>
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
using ouro_test::TrackedNode;

// Where the immortals live for LeakSanitizer's sake.
std::vector<ouro::Object*>& immortals() {
  static auto* list = new std::vector<ouro::Object*>;
  return *list;
}
void keep_for_lsan(ouro::Object* o) { immortals().push_back(o); }

// Counts that outlive every test (immortal objects report into them forever).
Events& immortal_events() {
  static auto* ev = new Events;
  return *ev;
}

int g_counted_destroyed = 0;
int g_counted_finalized = 0;
struct Counted : ouro::Object {
  explicit Counted(int v = 0) : value(v) {}
  ~Counted() override { ++g_counted_destroyed; }
  void finalize() override { ++g_counted_finalized; }
  int value;
};

}  // namespace

TEST(Immortal, ImmortalizeMakesAnObjectImmortal) {
  auto a = make<Counted>();
  auto b = make<Counted>();
  EXPECT_FALSE(ouro::is_immortal(*a));
  ouro::immortalize(*a);
  keep_for_lsan(a.get());
  EXPECT_TRUE(ouro::is_immortal(*a));
  EXPECT_FALSE(ouro::is_immortal(*b));
  ouro::immortalize(*a);  // idempotent
  EXPECT_TRUE(ouro::is_immortal(*a));
  EXPECT_EQ(refcount(*a), ouro::immortal_refcount);
}

TEST(Immortal, ImmortalizeRefusesAnObjectNotMadeByMakeAsRefDoes) {
  Counted on_stack(1);
  try {
    ouro::immortalize(on_stack);
    FAIL() << "immortalize accepted a stack object";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("was not created by ouro::make"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Counted"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(ouro::is_immortal(on_stack));
  EXPECT_EQ(refcount(on_stack), 1u);

  // (`new Counted` does not compile: a member on the heap stands for it.)
  struct Holder {
    Counted member{2};
  };
  auto heap_allocated = std::make_unique<Holder>();
  EXPECT_THROW(ouro::immortalize(heap_allocated->member), std::invalid_argument);
  EXPECT_FALSE(ouro::is_immortal(heap_allocated->member));
}

TEST(Immortal, ImmortalRefcountIsTheDocumentedConstant) {
  static_assert(ouro::immortal_refcount == std::size_t{1} << 62);
  auto a = make<Counted>();
  Ref<Counted> extra = a;
  EXPECT_EQ(refcount(*a), 2u);
  ouro::immortalize(*a);
  keep_for_lsan(a.get());
  EXPECT_EQ(refcount(*a), ouro::immortal_refcount);  // no longer the exact count
}

TEST(Immortal, RefcountStaysFrozenAcrossCopiesAndDrops) {
  auto a = make<Counted>();
  ouro::immortalize(*a);
  keep_for_lsan(a.get());
  std::vector<Ref<Counted>> copies(50, a);
  EXPECT_EQ(refcount(*a), ouro::immortal_refcount);
  copies.resize(10);
  EXPECT_EQ(refcount(*a), ouro::immortal_refcount);
  Ref<ouro::Object> as_object = a;
  Ref<Counted> moved = std::move(a);
  EXPECT_EQ(refcount(*moved), ouro::immortal_refcount);
  copies.clear();
  as_object.reset();
  EXPECT_EQ(refcount(*moved), ouro::immortal_refcount);
}

TEST(Immortal, ImmortalObjectIsNeverDestroyedWhenEveryRefGoes) {
  g_counted_destroyed = 0;
  g_counted_finalized = 0;
  Counted* raw = nullptr;
  {
    auto a = make<Counted>(31);
    raw = a.get();
    keep_for_lsan(raw);
    ouro::immortalize(*a);
    Ref<Counted> b = a;
  }
  EXPECT_EQ(g_counted_destroyed, 0);
  EXPECT_EQ(g_counted_finalized, 0);  // never deallocated, so never finalized either
  EXPECT_EQ(raw->value, 31);
  EXPECT_EQ(refcount(*raw), ouro::immortal_refcount);
  // A new reference can still be made and dropped, any number of times.
  for (int i = 0; i < 3; ++i) {
    Ref<Counted> again = ouro::ref(raw);
    EXPECT_EQ(again->value, 31);
  }
  EXPECT_EQ(g_counted_destroyed, 0);
}

TEST(Immortal, ImmortalTrackedObjectStaysTracked) {
  ouro_test::in_fresh_heap([] {
    auto a = make<TrackedNode>(immortal_events(), "tracked immortal");
    ouro::immortalize(*a);
    keep_for_lsan(a.get());
    EXPECT_TRUE(ouro::gc::is_tracked(*a));
    ouro::Object* raw = a.get();
    a.reset();
    EXPECT_TRUE(ouro::gc::is_tracked(*raw));
    ouro::gc::collect();
    bool listed = false;
    for (const auto& o : ouro::gc::get_objects()) listed = listed || o.get() == raw;
    EXPECT_TRUE(listed);
  });
}

TEST(Immortal, ImmortalObjectInAGarbageCycleIsNeverCollected) {
  ouro_test::in_fresh_heap([] {
    Events& ev = immortal_events();
    const int destroyed_before = ev.destroyed;
    TrackedNode* raw_a = nullptr;
    TrackedNode* raw_b = nullptr;
    {
      auto a = make<TrackedNode>(ev, "immortal in cycle");
      auto b = make<TrackedNode>(ev, "partner");
      a->next = b;
      b->next = a;
      ouro::immortalize(*a);
      keep_for_lsan(a.get());
      raw_a = a.get();
      raw_b = b.get();
    }
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(ev.destroyed, destroyed_before);
    EXPECT_EQ(raw_a->next.get(), raw_b);  // the collector did not clear anything
    EXPECT_EQ(raw_b->next.get(), raw_a);
    EXPECT_EQ(refcount(*raw_b), 1u);
    EXPECT_EQ(raw_b->name, "partner");
  });
}

TEST(Immortal, ImmortalObjectKeepsWhatItReferencesAliveThroughAFullCollection) {
  ouro_test::in_fresh_heap([] {
    Events& ev = immortal_events();
    const int destroyed_before = ev.destroyed;
    TrackedNode* root = nullptr;
    {
      auto r = make<TrackedNode>(ev, "immortal root");
      ouro::immortalize(*r);
      keep_for_lsan(r.get());
      root = r.get();
      // root -> child, and child <-> grandchild form a cycle reachable only
      // through the immortal root.
      auto child = make<TrackedNode>(ev, "child");
      auto grandchild = make<TrackedNode>(ev, "grandchild");
      child->next = grandchild;
      grandchild->next = child;
      r->links.push_back(child);
    }
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(ev.destroyed, destroyed_before);
    ASSERT_EQ(root->links.size(), 1u);
    EXPECT_EQ(root->links[0]->name, "child");
    ASSERT_TRUE(root->links[0]->next);
    EXPECT_EQ(root->links[0]->next->name, "grandchild");
    EXPECT_EQ(ouro::gc::get_objects().size(), 3u);
    // What an immortal object lets go of dies as usual.
    root->links.clear();
    EXPECT_EQ(ouro::gc::collect(), 2u);
    EXPECT_EQ(ev.destroyed, destroyed_before + 2);
  });
}

TEST(Immortal, ImmortalObjectOutlivesTheThreadThatMadeIt) {
  Events& ev = immortal_events();
  const int destroyed_before = ev.destroyed;
  TrackedNode* raw = nullptr;
  ouro_test::in_fresh_heap([&] {
    auto a = make<TrackedNode>(ev, "thread immortal");
    ouro::immortalize(*a);
    keep_for_lsan(a.get());
    a->next = a;  // even a self-cycle: the teardown's collections must not take it
    raw = a.get();
  });
  EXPECT_EQ(ev.destroyed, destroyed_before);
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->name, "thread immortal");
  EXPECT_TRUE(ouro::is_immortal(*raw));
  EXPECT_FALSE(ouro::gc::is_tracked(*raw));  // orphaned with its heap
  Ref<TrackedNode> r = ouro::ref(raw);
  EXPECT_EQ(r->next.get(), raw);
}

// ---------------------------------------------------------------------------
// Python's small ints: a cache of immortal objects handed out repeatedly
// ---------------------------------------------------------------------------

namespace {

int g_int_destroyed = 0;
struct Int : ouro::Object {
  explicit Int(long v) : value(v) {}
  ~Int() override { ++g_int_destroyed; }
  long value;
};

constexpr long kSmallMin = -5;
constexpr long kSmallMax = 256;

// Like CPython's small-int cache: -5..256 are made once, immortal, shared.
Ref<Int> make_int(long v) {
  static std::array<Int*, kSmallMax - kSmallMin + 1>* cache = [] {
    auto* table = new std::array<Int*, kSmallMax - kSmallMin + 1>{};
    for (long i = kSmallMin; i <= kSmallMax; ++i) {
      Ref<Int> r = make<Int>(i);
      ouro::immortalize(*r);
      (*table)[static_cast<std::size_t>(i - kSmallMin)] = r.get();
    }
    return table;
  }();
  if (v >= kSmallMin && v <= kSmallMax) return ouro::ref((*cache)[static_cast<std::size_t>(v - kSmallMin)]);
  return make<Int>(v);
}

Ref<Int> add(const Ref<Int>& a, const Ref<Int>& b) { return make_int(a->value + b->value); }

}  // namespace

TEST(Immortal, SmallIntCacheHandsOutTheSameImmortalObjectEveryTime) {
  auto one = make_int(1);
  g_int_destroyed = 0;
  std::vector<Ref<Int>> ones;
  for (int i = 0; i < 100; ++i) ones.push_back(add(make_int(0), make_int(1)));
  for (const auto& r : ones) {
    EXPECT_EQ(r, one);
    EXPECT_EQ(refcount(*r), ouro::immortal_refcount);
  }
  ones.clear();
  one.reset();
  EXPECT_EQ(g_int_destroyed, 0);
  EXPECT_EQ(make_int(1)->value, 1);
  EXPECT_EQ(make_int(-5), make_int(-5));
  EXPECT_EQ(make_int(256), make_int(256));
  EXPECT_TRUE(ouro::is_immortal(*make_int(-5)));
  EXPECT_EQ(g_int_destroyed, 0);
}

TEST(Immortal, IntsOutsideTheCacheAreOrdinaryMortalObjects) {
  make_int(0);  // the cache exists before counting
  g_int_destroyed = 0;
  auto big = make_int(257);
  auto big2 = make_int(257);
  EXPECT_NE(big, big2);
  EXPECT_FALSE(ouro::is_immortal(*big));
  EXPECT_EQ(refcount(*big), 1u);
  auto sum = add(make_int(200), make_int(100));  // 300: a new object, the operands are cached
  EXPECT_EQ(sum->value, 300);
  EXPECT_EQ(g_int_destroyed, 0);
  big.reset();
  big2.reset();
  sum.reset();
  EXPECT_EQ(g_int_destroyed, 3);
}
