// Resurrection (ouro/object.hpp, docs/semantics.md): a finalizer may
// resurrect its object by storing a new reference to it; finalize() runs
// at most once ever, also for an object that was resurrected and dies again.
#include <gtest/gtest.h>

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
using ouro_test::TrackedNode;

}  // namespace

// ---------------------------------------------------------------------------
// Resurrection and finalize-at-most-once
// ---------------------------------------------------------------------------

namespace {
struct Phoenix;
Ref<Phoenix> g_phoenix_holder;
struct Phoenix : ouro::Object {
  explicit Phoenix(int* fin, int* dtor, int copies = 1) : finalized(fin), destroyed(dtor), copies_(copies) {}
  void finalize() override {
    ++*finalized;
    g_phoenix_holder = ouro::ref(this);
    for (int i = 1; i < copies_; ++i) extra.push_back(ouro::ref(this));
  }
  ~Phoenix() override { ++*destroyed; }
  int* finalized;
  int* destroyed;
  int copies_;
  int value = 42;
  std::vector<Ref<Phoenix>> extra;  // a self-cycle when copies > 1; untracked, so released by hand
};
}  // namespace

TEST(Resurrection, FinalizerStoringARefToItsObjectResurrectsIt) {
  int finalized = 0, destroyed = 0;
  Phoenix* raw = nullptr;
  {
    auto p = make<Phoenix>(&finalized, &destroyed);
    raw = p.get();
  }
  EXPECT_EQ(finalized, 1);
  EXPECT_EQ(destroyed, 0);
  ASSERT_EQ(g_phoenix_holder.get(), raw);
  EXPECT_EQ(refcount(*g_phoenix_holder), 1u);
  EXPECT_TRUE(ouro::gc::is_finalized(*g_phoenix_holder));
  // Still a usable object: fields, new references, repr.
  EXPECT_EQ(g_phoenix_holder->value, 42);
  g_phoenix_holder->value = 43;
  Ref<Phoenix> again = ouro::ref(raw);
  EXPECT_EQ(refcount(*raw), 2u);
  EXPECT_EQ(again->value, 43);
  again.reset();
  // Its second death runs no finalizer.
  g_phoenix_holder.reset();
  EXPECT_EQ(finalized, 1);
  EXPECT_EQ(destroyed, 1);
}

TEST(Resurrection, ResurrectedObjectKeepsEveryReferenceTheFinalizerMade) {
  int finalized = 0, destroyed = 0;
  make<Phoenix>(&finalized, &destroyed, 3);
  ASSERT_TRUE(g_phoenix_holder);
  EXPECT_EQ(refcount(*g_phoenix_holder), 3u);
  EXPECT_EQ(destroyed, 0);
  Phoenix* raw = g_phoenix_holder.get();
  g_phoenix_holder.reset();
  EXPECT_EQ(destroyed, 0);
  std::vector<Ref<Phoenix>> extra = std::move(raw->extra);
  extra.clear();
  EXPECT_EQ(finalized, 1);
  EXPECT_EQ(destroyed, 1);
}

TEST(Resurrection, FinalizeNeverRunsTwiceEvenAfterManyDeaths) {
  int finalized = 0, destroyed = 0;
  make<Phoenix>(&finalized, &destroyed);
  ASSERT_TRUE(g_phoenix_holder);
  Ref<Phoenix> p = std::move(g_phoenix_holder);
  for (int i = 0; i < 3; ++i) {
    Ref<Phoenix> copy = p;
    copy.reset();
  }
  p.reset();
  EXPECT_EQ(finalized, 1);
  EXPECT_EQ(destroyed, 1);
  EXPECT_FALSE(g_phoenix_holder);
}

TEST(Resurrection, ResurrectedTrackedObjectIsStillTrackedAndSurvivesCollections) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Ref<ouro_test::Instrumented> holder;
    {
      auto a = make<FinalizedNode>(ev, "a");
      a->next = make<TrackedNode>(ev, "child");
      a->on_finalize = [&holder](ouro_test::Instrumented& self) { holder = ouro::ref(&self); };
    }
    ASSERT_TRUE(holder);
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_TRUE(ouro::gc::is_tracked(*holder));
    EXPECT_TRUE(ouro::gc::is_tracked(*holder->next));
    EXPECT_EQ(ouro::gc::get_objects().size(), 2u);
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_EQ(holder->next->name, "child");
    // Later it becomes cyclic garbage: the collector reclaims it without
    // finalizing it again.
    holder->next->next = holder;
    holder.reset();
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_EQ(ouro::gc::collect(), 2u);
    EXPECT_EQ(ev.destroyed, 2);
    EXPECT_EQ(ev.count("finalize a"), 1u);
  });
}

TEST(Resurrection, NodeDeepInADyingChainCanResurrectItselfAndWhatItHolds) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    constexpr int kLength = 200;  // deeper than the destruction-depth limit: the deferred path
    constexpr int kPhoenix = 150;
    Ref<ouro_test::Instrumented> holder;
    Ref<ouro_test::Instrumented> head;
    for (int i = kLength - 1; i >= 0; --i) {
      Ref<ouro_test::Instrumented> n;
      if (i == kPhoenix) {
        n = make<FinalizedNode>(ev, std::to_string(i));
        n->on_finalize = [&holder](ouro_test::Instrumented& self) { holder = ouro::ref(&self); };
      } else {
        n = make<TrackedNode>(ev, std::to_string(i));
      }
      n->next = std::move(head);
      head = std::move(n);
    }
    head.reset();
    ASSERT_TRUE(holder);
    EXPECT_EQ(holder->name, std::to_string(kPhoenix));
    EXPECT_EQ(ev.destroyed, kPhoenix);          // 0..149 died
    EXPECT_EQ(ev.alive(), kLength - kPhoenix);  // the phoenix and everything after it live
    EXPECT_TRUE(ouro::gc::is_tracked(*holder));
    EXPECT_EQ(ouro::gc::get_objects().size(), static_cast<std::size_t>(kLength - kPhoenix));
    int walked = 0;
    for (auto* n = holder.get(); n; n = n->next.get()) ++walked;
    EXPECT_EQ(walked, kLength - kPhoenix);
    EXPECT_EQ(ouro::gc::collect(), 0u);
    holder.reset();
    EXPECT_EQ(ev.destroyed, kLength);
    EXPECT_EQ(ev.finalized, 1);
  });
}
