// Checked builds (OURO_CHECKS) name every Ref member that a traverse()
// misses (ouro/visitor.hpp, "WHAT CHECKED BUILDS VERIFY"): a type that holds
// Refs without overriding traverse() aborts when its first object is made;
// a traverse() that skips a non-empty Ref member aborts at the next
// collection that counts the object, or at gc::verify_traverse(). The
// messages name the type, the member's offset (and its neighbour's name
// under OURO_TRAVERSE) and what the mistake causes. Release builds check
// nothing, and verify_traverse() does nothing.
#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro::Unreported;

// The offset of a member inside its object, found on a plain (unmanaged)
// object on the stack: offsetof is not for types with virtual functions.
template <class T, class M>
std::size_t offset_of(M T::*member) {
  T probe;
  return static_cast<std::size_t>(reinterpret_cast<const char*>(&(probe.*member)) -
                                  reinterpret_cast<const char*>(&probe));
}

// The README's first mistake: a self-referencing type with no traverse().
struct Forgetful : Object {
  Ref<Forgetful> next;
};

// A traverse() that forgets one member of two.
struct HalfVisited : Object {
  Ref<HalfVisited> car;
  Ref<HalfVisited> cdr;
  void traverse(ouro::Visitor& v) override { v(car); }
};

// The same under OURO_TRAVERSE: the message names the member before it.
struct HalfNamed : Object {
  Ref<HalfNamed> car;
  Ref<HalfNamed> cdr;
  OURO_TRAVERSE(car)
};

// Refs held by value inside a member are members too.
struct ArrayHolder : Object {
  std::array<Ref<ArrayHolder>, 2> slots;
  void traverse(ouro::Visitor& v) override { v(slots[0]); }
};

// Visits only what holds something: an empty member it skips is fine.
struct VisitsWhatIsSet : Object {
  Ref<VisitsWhatIsSet> always;
  Ref<VisitsWhatIsSet> sometimes;
  void traverse(ouro::Visitor& v) override {
    v(always);
    if (sometimes) v(sometimes);
  }
};

// An optional member whose Ref is destroyed (reset) while the object lives.
struct MaybeHolder : Object {
  std::optional<Ref<MaybeHolder>> maybe{Ref<MaybeHolder>()};
  void traverse(ouro::Visitor& v) override { v(maybe); }
};

// A back pointer deliberately left out, in a tracked and an untracked type.
struct Child;
struct Parent : Object {
  Ref<Child> child;
  void traverse(ouro::Visitor& v) override { v(child); }
};
struct Child : Object {
  Unreported<Ref<Parent>> parent;
  void traverse(ouro::Visitor&) override {}
};
struct UntrackedLeaf : Object {
  Unreported<Ref<Parent>> owner;
};

// Refs in a container's heap storage are not the object's own storage.
struct ForgetsItsVector : Object {
  std::vector<Ref<ForgetsItsVector>> items;
  void traverse(ouro::Visitor&) override {}
};

// Makes another object in its constructor: each object's members are its own.
struct Inner : Object {
  Ref<Object> held;
  Ref<Object> forgotten;
  void traverse(ouro::Visitor& v) override { v(held); }
};
struct Outer : Object {
  Ref<Inner> inner = make<Inner>();
  Ref<Outer> self;
  void traverse(ouro::Visitor& v) override { v(inner, self); }
};

#if OURO_CHECKS

class TraverseChecksDeath : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(TraverseChecksDeath, ATypeWithARefMemberAndNoTraverseAbortsWhenItsFirstObjectIsMade) {
  const std::string offset = std::to_string(offset_of(&Forgetful::next));
  EXPECT_DEATH((void)make<Forgetful>(),
               "ouro: fatal: Forgetful holds a Ref<Forgetful> member \\(at offset " + offset +
                   "\\) but does not override traverse\\(\\): the collector never sees that Ref, so a cycle "
                   "through it can never be collected");
}

TEST_F(TraverseChecksDeath, ACollectionNamesTheRefMemberThatTraverseForgot) {
  const std::string offset = std::to_string(offset_of(&HalfVisited::cdr));
  EXPECT_DEATH(
      {
        auto a = make<HalfVisited>();
        a->cdr = a;  // a self-cycle through the forgotten member
        gc::collect();
      },
      "ouro: fatal: traverse\\(\\) of HalfVisited does not visit its Ref<HalfVisited> member at offset " +
          offset + ": the collector never sees that Ref, so a cycle through it can never be collected");
}

TEST_F(TraverseChecksDeath, UnderOuroTraverseTheMessageNamesTheMemberBeforeTheForgottenOne) {
  const std::string offset = std::to_string(offset_of(&HalfNamed::cdr));
  EXPECT_DEATH(
      {
        auto a = make<HalfNamed>();
        a->cdr = a;
        gc::collect();
      },
      "traverse\\(\\) of HalfNamed does not visit its Ref<HalfNamed> member at offset " + offset +
          ", after member `car`");
}

TEST_F(TraverseChecksDeath, VerifyTraverseChecksEveryGenerationAtOnce) {
  EXPECT_DEATH(
      {
        auto a = make<HalfVisited>();
        gc::collect();  // a survives into gen2
        a->cdr = make<HalfVisited>();
        gc::verify_traverse();
      },
      "traverse\\(\\) of HalfVisited does not visit its Ref<HalfVisited> member");
}

TEST_F(TraverseChecksDeath, AForgottenElementOfAnArrayMemberIsNamed) {
  const std::string offset =
      std::to_string(offset_of(&ArrayHolder::slots) + sizeof(Ref<ArrayHolder>));  // slots[1]
  EXPECT_DEATH(
      {
        auto a = make<ArrayHolder>();
        a->slots[1] = a;
        gc::verify_traverse();
      },
      "traverse\\(\\) of ArrayHolder does not visit its Ref<ArrayHolder> member at offset " + offset);
}

TEST_F(TraverseChecksDeath, AMemberForgottenByAnObjectMadeInsideAnotherConstructorIsItsOwn) {
  EXPECT_DEATH(
      {
        auto o = make<Outer>();
        o->self = o;
        o->inner->forgotten = o;
        gc::collect();
      },
      "traverse\\(\\) of Inner does not visit its Ref<Object> member");
}

#else

TEST(TraverseChecks, ReleaseBuildsVerifyNothing) {
  auto a = make<HalfVisited>();
  a->cdr = a;
  gc::verify_traverse();         // does nothing
  EXPECT_EQ(gc::collect(), 0u);  // the forgotten member keeps the cycle
  a->cdr.reset();
}

#endif

TEST(TraverseChecks, AnEmptyMemberThatTraverseSkipsIsNotJudged) {
  ouro_test::in_fresh_heap([] {
    auto a = make<VisitsWhatIsSet>();
    a->always = a;
    gc::verify_traverse();
    a->always.reset();
    EXPECT_EQ(gc::collect(), 0u);
    a->sometimes = a;  // now visited as well
    gc::verify_traverse();
    a.reset();
    EXPECT_EQ(gc::collect(), 1u);
  });
}

TEST(TraverseChecks, ARefDestroyedWhileItsObjectLivesIsNoLongerJudged) {
  ouro_test::in_fresh_heap([] {
    auto a = make<MaybeHolder>();
    *a->maybe = make<MaybeHolder>();
    a->maybe.reset();  // destroys the member Ref; its bytes still hold the old pointer
    gc::verify_traverse();
    EXPECT_EQ(gc::collect(), 0u);
  });
}

TEST(TraverseChecks, AnUnreportedMemberIsLeftOutOnPurposeAndStaysInvisibleToTheCollector) {
  ouro_test::in_fresh_heap([] {
    auto leaf = make<UntrackedLeaf>();  // untracked, holding a Ref: fine when Unreported
    EXPECT_FALSE(gc::is_tracked(*leaf));
    {
      auto p = make<Parent>();
      p->child = make<Child>();
      p->child->parent = p;
      leaf->owner = p;
    }
    gc::verify_traverse();
    // The cycle parent <-> child passes through the unreported back pointer:
    // the collector sees the parent as referenced from outside the heap.
    EXPECT_EQ(gc::collect(), 0u);
    Ref<Parent> p = leaf->owner;
    EXPECT_EQ(ouro::refcount(*p), 3u);  // p, leaf->owner, the child's back pointer
    p->child->parent.reset();           // breaking it by hand frees both
    leaf->owner.reset();
    p.reset();
    EXPECT_EQ(gc::collect(), 0u);
    EXPECT_TRUE(gc::get_objects().empty());
  });
}

TEST(TraverseChecks, RefsInAContainersHeapStorageAreNotTheObjectsOwn) {
  ouro_test::in_fresh_heap([] {
    auto a = make<ForgetsItsVector>();
    a->items.push_back(a);
    gc::verify_traverse();  // not judged: only the object's own storage is
    EXPECT_EQ(gc::collect(), 0u);
    a->items.clear();
  });
}

TEST(TraverseChecks, ObjectsMadeInsideAConstructorAreCheckedAsThemselves) {
  ouro_test::in_fresh_heap([] {
    auto o = make<Outer>();
    o->self = o;
    o->inner->held = o;
    gc::verify_traverse();
    o.reset();
    EXPECT_EQ(gc::collect(), 2u);
  });
}

}  // namespace
