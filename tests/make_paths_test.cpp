// make<T>() has an inline path (the thread has a heap, no other make waits
// for its Object constructor, no collection is due, T has no operator new
// or virtual Object base of its own) and a general one for everything else
// (ouro/detail/make_frame.hpp). These tests mix the two: whichever path a
// make takes, the object is managed, tracked when its type is, counted in
// gc::get_count(), and the automatic collection starts exactly where the
// thresholds say.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/nodes.hpp"

namespace {

using ouro::make;
using ouro::Ref;

using Node = ouro_test::ChainNode;

struct Plain : ouro::Object {
  int n = 0;
};

bool is_managed(ouro::Object* o) {
  try {
    (void)ouro::ref(o);
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}

}  // namespace

TEST(MakePaths, MoreTrackedObjectsThanATableChunkAreAllTrackedAndCounted) {
  ouro_test::in_fresh_heap([] {
    ouro::gc::disable();
    std::vector<Ref<Node>> v;
    for (int i = 0; i < 10000; ++i) v.push_back(make<Node>());
    EXPECT_EQ(ouro::gc::get_count()[0], 10000u);
    for (auto& n : v) ASSERT_TRUE(ouro::gc::is_tracked(*n));
    // A ring across the chunk boundaries is found; the rest survives.
    for (std::size_t i = 4000; i < 9000; ++i) v[i]->next = v[i + 1];
    v[9000]->next = v[4000];
    v.erase(v.begin() + 4000, v.begin() + 9001);
    EXPECT_EQ(ouro::gc::get_count()[0], 10000u);
    EXPECT_EQ(ouro::gc::collect(), 5001u);
    for (auto& n : v) ASSERT_TRUE(ouro::gc::is_tracked(*n));
    v.clear();
    EXPECT_EQ(ouro::gc::collect(), 0u);
  });
}

TEST(MakePaths, EveryThresholdChangeTakesEffectAtTheNextMake) {
  ouro_test::in_fresh_heap([] {
    std::vector<Ref<Node>> keep;
    ouro::gc::set_threshold(5);
    for (int i = 0; i < 5; ++i) keep.push_back(make<Node>());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 0u);
    keep.push_back(make<Node>());  // the sixth takes count[0] over 5
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 1u);

    ouro::gc::disable();
    for (int i = 0; i < 20; ++i) keep.push_back(make<Node>());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 1u);
    ouro::gc::enable();
    keep.push_back(make<Node>());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 2u);

    ouro::gc::set_threshold(0);  // automatic collection off
    for (int i = 0; i < 20; ++i) keep.push_back(make<Node>());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 2u);
    ouro::gc::set_threshold(700, 10);
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 2u);
    ouro::gc::set_threshold(3, 10, 10);
    keep.push_back(make<Node>());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 3u);
    // Untracked objects are not counted and never start a collection.
    for (int i = 0; i < 20; ++i) (void)make<Plain>();
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 3u);
  });
}

namespace {
int g_own_new_calls = 0;
int g_own_delete_calls = 0;
// Its own operator new and delete: make<T> must allocate and free through
// them (the general path).
struct HasItsOwnOperatorNew : ouro::Object {
  static void* operator new(std::size_t size) {
    ++g_own_new_calls;
    return ::operator new(size);
  }
  static void operator delete(void* p, std::size_t) noexcept {
    ++g_own_delete_calls;
    ::operator delete(p);
  }
  Ref<HasItsOwnOperatorNew> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};
}  // namespace

TEST(MakePaths, ATypeWithItsOwnOperatorNewIsAllocatedAndFreedThroughIt) {
  ouro_test::in_fresh_heap([] {
    g_own_new_calls = g_own_delete_calls = 0;
    {
      auto a = make<HasItsOwnOperatorNew>();
      EXPECT_EQ(g_own_new_calls, 1);
      EXPECT_TRUE(is_managed(a.get()));
      EXPECT_TRUE(ouro::gc::is_tracked(*a));
      a->next = make<HasItsOwnOperatorNew>();
      a->next->next = a;  // a cycle: the collector frees it through the same operator delete
    }
    EXPECT_EQ(ouro::gc::collect(), 2u);
    EXPECT_EQ(g_own_new_calls, 2);
    EXPECT_EQ(g_own_delete_calls, 2);
  });
}

namespace {
// Made inline, while a general make (virtual base) is between its Object
// constructor and finish_make: the inner make must leave the outer frame's
// fields alone.
struct VLeft : virtual ouro::Object {};
struct VRight : virtual ouro::Object {};
struct DiamondMakingMembers : VLeft, VRight {
  Ref<Node> first = make<Node>();
  Ref<Plain> second = make<Plain>();
  void traverse(ouro::Visitor& v) override { v(first); }
};

// Made inline, with a nested make in a base that precedes Object (general,
// while the inline frame waits) and in a member (inline, after it).
struct MakesFirst {
  Ref<Node> early = make<Node>();
};
struct NestsBothWays : MakesFirst, ouro::Object {
  Ref<Node> late = make<Node>();
  void traverse(ouro::Visitor& v) override { v(early, late); }
};
}  // namespace

TEST(MakePaths, NestedMakesOfEitherPathInsideEitherPathAreAllManaged) {
  ouro_test::in_fresh_heap([] {
    auto d = make<DiamondMakingMembers>();
    EXPECT_TRUE(is_managed(d.get()));
    EXPECT_TRUE(ouro::gc::is_tracked(*d));
    EXPECT_TRUE(is_managed(d->first.get()));
    EXPECT_TRUE(ouro::gc::is_tracked(*d->first));
    EXPECT_TRUE(is_managed(d->second.get()));
    EXPECT_FALSE(ouro::gc::is_tracked(*d->second));
    EXPECT_EQ(ouro::refcount(*d), 1u);

    auto n = make<NestsBothWays>();
    EXPECT_TRUE(is_managed(n.get()));
    EXPECT_TRUE(ouro::gc::is_tracked(*n));
    EXPECT_TRUE(is_managed(n->early.get()));
    EXPECT_TRUE(is_managed(n->late.get()));
    EXPECT_EQ(ouro::gc::get_count()[0], 5u);
    d.reset();
    n.reset();
    EXPECT_EQ(ouro::gc::get_count()[0], 0u);
  });
}

namespace {
struct ThrowsFirst {
  explicit ThrowsFirst(bool fail) {
    if (fail) throw std::runtime_error("base before Object");
  }
};
// The base before Object throws: Object's constructor never ran, so the
// address the inline path armed must not stay armed.
struct BaseThrowsBeforeObject : ThrowsFirst, ouro::Object {
  explicit BaseThrowsBeforeObject(bool fail) : ThrowsFirst(fail) {}
  void traverse(ouro::Visitor&) override {}
};
struct BodyThrows : ouro::Object {
  Ref<Node> made = make<Node>();
  explicit BodyThrows(bool fail) {
    if (fail) throw std::runtime_error("after Object");
  }
  void traverse(ouro::Visitor& v) override { v(made); }
};
// Same size as BaseThrowsBeforeObject, so it may reuse the freed block.
struct SameSizeUnmanagedHolder : ThrowsFirst, ouro::Object {
  SameSizeUnmanagedHolder() : ThrowsFirst(false) {}
};
}  // namespace

TEST(MakePaths, AConstructorThatThrowsLeavesNoCountAndNoArmedAddressBehind) {
  ouro_test::in_fresh_heap([] {
    (void)make<Plain>();  // the thread's first make takes the general path
    EXPECT_THROW(make<BaseThrowsBeforeObject>(true), std::runtime_error);
    EXPECT_EQ(ouro::gc::get_count()[0], 0u);
    EXPECT_THROW(make<BodyThrows>(true), std::runtime_error);
    EXPECT_EQ(ouro::gc::get_count()[0], 0u);  // the member it made died with it

    // An Object built outside make afterwards is not managed, wherever it is.
    // (`new T` does not compile for a managed type: the block is taken from
    // the same allocator by hand.)
    for (int i = 0; i < 4; ++i) {
      void* block = ouro::detail::allocate_managed(sizeof(SameSizeUnmanagedHolder));
      auto* raw = ::new (block) SameSizeUnmanagedHolder();
      EXPECT_FALSE(is_managed(raw));
      raw->~SameSizeUnmanagedHolder();
      ouro::Object::operator delete(block, sizeof(SameSizeUnmanagedHolder));
    }
    auto ok = make<BaseThrowsBeforeObject>(false);
    EXPECT_TRUE(is_managed(ok.get()));
    EXPECT_TRUE(ouro::gc::is_tracked(*ok));
    auto ok2 = make<BodyThrows>(false);
    EXPECT_TRUE(is_managed(ok2.get()));
    EXPECT_EQ(ouro::gc::get_count()[0], 3u);
  });
}
