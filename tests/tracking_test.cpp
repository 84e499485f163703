// Which objects the collector tracks (ouro/object.hpp): a type that does
// not override traverse is refcounted only and never tracked (like Python's
// ints and strings); a type that does is tracked. What traverse() can
// report is in visitor_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::FinalizerOnlyNode;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

// ---------------------------------------------------------------------------
// Compile-time detection
// ---------------------------------------------------------------------------

struct Plain : ouro::Object {
  int x = 0;
};
struct Overriding : ouro::Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  Ref<Overriding> next;
};
struct DerivedFromOverriding : Overriding {
  int y = 0;
};
struct FinalizeOnly : ouro::Object {
  void finalize() override {}
};
struct Both : ouro::Object {
  void traverse(ouro::Visitor&) override {}
  void finalize() override {}
};
struct DerivedFromPlain : Plain {};

static_assert(!ouro::detail::overrides_traverse<ouro::Object>());
static_assert(!ouro::detail::overrides_finalize<ouro::Object>());
static_assert(!ouro::detail::overrides_traverse<Plain>());
static_assert(!ouro::detail::overrides_finalize<Plain>());
static_assert(!ouro::detail::overrides_traverse<DerivedFromPlain>());
static_assert(ouro::detail::overrides_traverse<Overriding>());
static_assert(!ouro::detail::overrides_finalize<Overriding>());
static_assert(ouro::detail::overrides_traverse<DerivedFromOverriding>());
static_assert(!ouro::detail::overrides_finalize<DerivedFromOverriding>());
static_assert(!ouro::detail::overrides_traverse<FinalizeOnly>());
static_assert(ouro::detail::overrides_finalize<FinalizeOnly>());
static_assert(ouro::detail::overrides_traverse<Both>());
static_assert(ouro::detail::overrides_finalize<Both>());
static_assert(!ouro::detail::overrides_traverse<PlainNode>());
static_assert(!ouro::detail::overrides_traverse<FinalizerOnlyNode>());
static_assert(ouro::detail::overrides_finalize<FinalizerOnlyNode>());
static_assert(ouro::detail::overrides_traverse<TrackedNode>());
static_assert(ouro::detail::overrides_finalize<ouro_test::FinalizedNode>());

bool listed(const ouro::Object& o) {
  for (const auto& r : ouro::gc::get_objects())
    if (r.get() == &o) return true;
  return false;
}

}  // namespace

TEST(Tracking, TypesThatDoNotOverrideTraverseAreUntracked) {
  ouro_test::in_fresh_heap([] {
    const auto count_before = ouro::gc::get_count();
    auto p = make<Plain>();
    auto d = make<DerivedFromPlain>();
    auto f = make<FinalizeOnly>();
    for (const ouro::Object* o : {static_cast<ouro::Object*>(p.get()), static_cast<ouro::Object*>(d.get()),
                                  static_cast<ouro::Object*>(f.get())}) {
      EXPECT_FALSE(ouro::gc::is_tracked(*o)) << ouro::type_name(*o);
      EXPECT_FALSE(listed(*o)) << ouro::type_name(*o);
    }
    EXPECT_EQ(ouro::gc::get_count(), count_before);
    EXPECT_TRUE(ouro::gc::get_objects().empty());
    p.reset();
    EXPECT_EQ(ouro::gc::get_count(), count_before);
  });
}

TEST(Tracking, TypesThatOverrideTraverseAreTrackedAndCountedInGenerationZero) {
  ouro_test::in_fresh_heap([] {
    EXPECT_EQ(ouro::gc::get_count()[0], 0u);
    auto a = make<Overriding>();
    EXPECT_EQ(ouro::gc::get_count()[0], 1u);
    auto b = make<DerivedFromOverriding>();
    auto c = make<Both>();
    EXPECT_EQ(ouro::gc::get_count()[0], 3u);
    EXPECT_TRUE(ouro::gc::is_tracked(*a));
    EXPECT_TRUE(ouro::gc::is_tracked(*b));
    EXPECT_TRUE(ouro::gc::is_tracked(*c));
    EXPECT_TRUE(listed(*a));
    EXPECT_TRUE(listed(*b));
    EXPECT_TRUE(listed(*c));
    EXPECT_EQ(ouro::gc::get_objects(0).size(), 3u);
    b.reset();  // a death by refcount counts down (allocations minus deallocations)
    EXPECT_EQ(ouro::gc::get_count()[0], 2u);
    EXPECT_EQ(ouro::gc::get_objects().size(), 2u);
  });
}

TEST(Tracking, UntrackedTypesFinalizerStillRunsAtRefcountZero) {
  Events ev;
  auto f = make<FinalizerOnlyNode>(ev, "f");
  EXPECT_FALSE(ouro::gc::is_tracked(*f));
  f.reset();
  EXPECT_EQ(ev.of("f"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
}

TEST(Tracking, CycleThroughAnUntrackedObjectIsNeverCollected) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Ref<TrackedNode> keep_a;
    {
      auto a = make<TrackedNode>(ev, "tracked");
      auto u = make<PlainNode>(ev, "untracked");
      a->next = u;
      u->next = a;  // the collector cannot see this reference
      keep_a = a;
    }
    TrackedNode* a = keep_a.get();
    keep_a.reset();
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_EQ(a->next->name, "untracked");
    // Break it by hand: refcounting frees both.
    Ref<ouro_test::Instrumented> u = std::move(a->next);
    u->next.reset();
    EXPECT_EQ(ev.destroyed, 1);
    u.reset();
    EXPECT_EQ(ev.destroyed, 2);
  });
}
