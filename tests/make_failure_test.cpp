// make<T>() whose constructor throws (ouro/object.hpp): nothing leaks and
// the heap is left as it was; a constructor that throws after a reference
// to its object escaped aborts with a message.
#include <gtest/gtest.h>

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
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

}  // namespace

namespace {
int g_throwing_constructed = 0;
int g_throwing_destroyed = 0;
struct ThrowsInConstructor : ouro::Object {
  explicit ThrowsInConstructor(Events& ev) : member(make<TrackedNode>(ev, "member")) {
    ++g_throwing_constructed;
    side = make<PlainNode>(ev, "side");
    throw std::runtime_error("constructor failed");
  }
  ~ThrowsInConstructor() override { ++g_throwing_destroyed; }
  void traverse(ouro::Visitor& v) override { v(member); }
  Ref<TrackedNode> member;
  Ref<PlainNode> side;
};
struct UntrackedThrowsInConstructor : ouro::Object {
  explicit UntrackedThrowsInConstructor(Events& ev) : member(make<PlainNode>(ev, "member")) {
    throw std::runtime_error("untracked constructor failed");
  }
  Ref<PlainNode> member;
};
struct ThrowingMember {
  ThrowingMember() { throw std::logic_error("member failed"); }
};
struct MemberThrows : ouro::Object {
  explicit MemberThrows(Events& ev) : before(make<TrackedNode>(ev, "before")) {}
  void traverse(ouro::Visitor& v) override { v(before); }
  Ref<TrackedNode> before;
  ThrowingMember boom;
};
}  // namespace

TEST(MakeFailure, ConstructorThrowingInsideMakeLeaksNothingAndLeavesTheHeapAsItWas) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    auto keep = make<TrackedNode>(ev, "keep");
    const auto count_before = ouro::gc::get_count();
    const auto objects_before = ouro::gc::get_objects().size();
    g_throwing_constructed = g_throwing_destroyed = 0;

    EXPECT_THROW(make<ThrowsInConstructor>(ev), std::runtime_error);
    EXPECT_THROW(make<UntrackedThrowsInConstructor>(ev), std::runtime_error);
    EXPECT_THROW(make<MemberThrows>(ev), std::logic_error);

    EXPECT_EQ(g_throwing_constructed, 1);
    EXPECT_EQ(g_throwing_destroyed, 0);  // a constructor that threw never gets its destructor
    EXPECT_EQ(ev.alive(), 1);            // only "keep": members built before the throw were released
    EXPECT_EQ(ev.count("destroy member"), 2u);
    EXPECT_EQ(ev.count("destroy side"), 1u);
    EXPECT_EQ(ev.count("destroy before"), 1u);
    EXPECT_EQ(ouro::gc::get_count(), count_before);
    EXPECT_EQ(ouro::gc::get_objects().size(), objects_before);
    EXPECT_EQ(refcount(*keep), 1u);

    // The heap still works: make, link, collect.
    auto a = make<TrackedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    a->next = b;
    b->next = a;
    a.reset();
    b.reset();
    EXPECT_EQ(ouro::gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 1);
  });
}

TEST(MakeFailure, ConstructorThrowingAfterItsObjectsReferenceEscapedAborts) {
  ::testing::GTEST_FLAG(death_test_style) = "threadsafe";
  struct Escapes : ouro::Object {
    explicit Escapes(Ref<ouro::Object>& out) {
      out = ouro::ref(this);
      throw std::runtime_error("after escaping");
    }
  };
  EXPECT_DEATH(
      {
        Ref<ouro::Object> out;
        try {
          make<Escapes>(out);
        } catch (...) {
        }
      },
      "constructor threw");
}
