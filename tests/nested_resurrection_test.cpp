// Thousands of nested resurrections: finalizers that resurrect their
// object, the next one, or make and drop the next, ten thousand deep, on a
// small stack: the library must not recurse once per object, and must
// finalize each object once.
#include <gtest/gtest.h>

#include <cstddef>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;

constexpr int kNested = 10'000;
constexpr std::size_t kSmallStack = 256 * 1024;

struct Chain {
  int finalized = 0;
  int destroyed = 0;
  std::vector<Ref<Object>> store;
};

// Resurrects itself and drops its successor from its finalizer: dropping
// the head of a chain nests one finalizer inside the next, 10'000 deep.
struct ResurrectsAndDropsNext : Object {
  explicit ResurrectsAndDropsNext(Chain& c, Ref<ResurrectsAndDropsNext> n) : chain(c), next(std::move(n)) {}
  ~ResurrectsAndDropsNext() override { ++chain.destroyed; }
  void finalize() override {
    ++chain.finalized;
    chain.store.push_back(ouro::ref(this));
    next.reset();
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Chain& chain;
  Ref<ResurrectsAndDropsNext> next;
};

TEST(NestedResurrection, TenThousandNestedResurrectionsRunOnASmallStackAndFinalizeEachOnce) {
  ouro_test::on_thread_with_stack(kSmallStack, [] {
    Chain c;
    {
      Ref<ResurrectsAndDropsNext> head;
      for (int i = 0; i < kNested; ++i) head = make<ResurrectsAndDropsNext>(c, std::move(head));
    }
    EXPECT_EQ(c.finalized, kNested);
    EXPECT_EQ(c.destroyed, 0);
    EXPECT_EQ(static_cast<int>(c.store.size()), kNested);
    c.store.clear();  // now they die for good, without a second finalize()
    EXPECT_EQ(c.finalized, kNested);
    EXPECT_EQ(c.destroyed, kNested);
    EXPECT_TRUE(gc::get_objects().empty());
  });
}

// Each finalizer resurrects the next object of a garbage ring.
struct ResurrectsItsSuccessor : Object {
  explicit ResurrectsItsSuccessor(Chain& c) : chain(c) {}
  ~ResurrectsItsSuccessor() override { ++chain.destroyed; }
  void finalize() override {
    ++chain.finalized;
    chain.store.push_back(next);
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Chain& chain;
  Ref<ResurrectsItsSuccessor> next;
};

TEST(NestedResurrection, ARingOfTenThousandThatResurrectEachOtherSurvivesThenIsCollectedWithoutFinalizingAgain) {
  ouro_test::on_thread_with_stack(kSmallStack, [] {
    Chain c;
    {
      Ref<ResurrectsItsSuccessor> first = make<ResurrectsItsSuccessor>(c);
      Ref<ResurrectsItsSuccessor> last = first;
      for (int i = 1; i < kNested; ++i) {
        last->next = make<ResurrectsItsSuccessor>(c);
        last = last->next;
      }
      last->next = first;
    }
    EXPECT_EQ(gc::collect(), 0u) << "every object was resurrected";
    EXPECT_EQ(c.finalized, kNested);
    c.store.clear();
    EXPECT_EQ(gc::collect(), static_cast<std::size_t>(kNested));
    EXPECT_EQ(c.finalized, kNested);
    EXPECT_EQ(c.destroyed, kNested);
  });
}

// A finalizer that makes the next object and drops it at once: each death
// runs inside the previous finalizer.
struct SpawnsTheNext : Object {
  SpawnsTheNext(Chain& c, int d) : chain(c), depth(d) {}
  ~SpawnsTheNext() override { ++chain.destroyed; }
  void finalize() override {
    ++chain.finalized;
    if (depth < kNested) make<SpawnsTheNext>(chain, depth + 1);
  }
  Chain& chain;
  int depth;
};

TEST(NestedResurrection, FinalizersThatMakeAndDropTheNextObjectTenThousandDeepRunOnASmallStack) {
  ouro_test::on_thread_with_stack(kSmallStack, [] {
    Chain c;
    make<SpawnsTheNext>(c, 0);
    EXPECT_EQ(c.finalized, kNested + 1);
    EXPECT_EQ(c.destroyed, kNested + 1);
  });
}

}  // namespace
