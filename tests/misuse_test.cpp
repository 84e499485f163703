// Misuse that would corrupt memory gets a clear error: each case
// aborts with "ouro: fatal: <the problem>" naming the type. The checks of
// OURO_CHECKS builds (Debug) and the ones kept in release builds are listed
// in docs/reliability.md. Two more live next to their subject:
// tests/threads_test.cpp (an object used on another thread) and
// tests/death_test.cpp (a traverse that over-reports).
//
// Under AddressSanitizer a use after free is reported by ASan itself before
// ouroboros' own check can look, so those expectations accept either.
#include <gtest/gtest.h>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;

struct Victim : Object {
  int value = 7;
};

struct Ring : Object {
  Ref<Ring> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

// A garbage cycle member whose finalizer makes itself immortal.
struct ImmortalizesItselfAsGarbage : Ring {
  void finalize() override { ouro::immortalize(*this); }
};

// Immortalizes an object of the garbage it belongs to from its destructor.
struct ImmortalizesANeighbourWhenDestroyed : Ring {
  Object* neighbour = nullptr;
  ~ImmortalizesANeighbourWhenDestroyed() override {
    if (neighbour) ouro::immortalize(*neighbour);
  }
};

struct ImmortalizesItselfWhenDestroyed : Object {
  ~ImmortalizesItselfWhenDestroyed() override { ouro::immortalize(*this); }
};

// A Ref that was never counted: what a double release, a memcpy'd Ref or a
// Ref rebuilt from a raw pointer amounts to.
[[maybe_unused]] Ref<Victim> uncounted_ref_to(Victim* raw) { return ouro::subtle::adopt_ref(raw); }

[[maybe_unused]] constexpr const char* kDestroyedVictim =
    "(ouro: fatal: a Ref to a Victim that was already destroyed was used \\(use after free|heap-use-after-free|use-after-poison)";

class MisuseDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

#if OURO_CHECKS

TEST_F(MisuseDeathTest, CopyingARefToADestroyedObjectAbortsNamingTheType) {
  EXPECT_DEATH(
      {
        Ref<Victim> owner = make<Victim>();
        Ref<Victim> dangling = uncounted_ref_to(owner.get());
        owner.reset();  // the only counted reference: destroyed and freed here
        Ref<Victim> copy = dangling;
      },
      kDestroyedVictim);
}

TEST_F(MisuseDeathTest, DroppingARefToADestroyedObjectAborts) {
  EXPECT_DEATH(
      {
        Ref<Victim> owner = make<Victim>();
        Ref<Victim> dangling = uncounted_ref_to(owner.get());
        owner.reset();
        dangling.reset();
      },
      kDestroyedVictim);
}

TEST_F(MisuseDeathTest, DereferencingARefToADestroyedObjectAborts) {
  EXPECT_DEATH(
      {
        Ref<Victim> owner = make<Victim>();
        Ref<Victim> dangling = uncounted_ref_to(owner.get());
        owner.reset();
        std::printf("%d\n", dangling->value);
      },
      kDestroyedVictim);
}

TEST_F(MisuseDeathTest, RefOfARawPointerToADestroyedObjectAborts) {
  EXPECT_DEATH(
      {
        Victim* raw = make<Victim>().get();  // the temporary was the only reference
        Ref<Victim> revived = ouro::ref(raw);
      },
      kDestroyedVictim);
}

TEST_F(MisuseDeathTest, AnObjectFreedByACollectionIsNamedToo) {
  EXPECT_DEATH(
      {
        Ring* raw = nullptr;
        {
          Ref<Ring> a = make<Ring>();
          a->next = a;  // a garbage self-cycle once `a` goes
          raw = a.get();
        }
        ouro::gc::collect();
        Ref<Ring> revived = ouro::ref(raw);
      },
      "(a Ref to a Ring that was already destroyed was used|heap-use-after-free|use-after-poison)");
}

TEST_F(MisuseDeathTest, ADestroyedObjectOfATrackedTypeIsNamedToo) {
  EXPECT_DEATH(
      {
        Ref<Ring> owner = make<Ring>();
        Ref<Ring> dangling = ouro::subtle::adopt_ref(owner.get());
        owner.reset();
        Ref<Ring> copy = dangling;
      },
      "(a Ref to a Ring that was already destroyed was used|heap-use-after-free|use-after-poison)");
}

// A destructor that copies a Ref to its own object (one it never counted):
// the object's destruction has begun, so this can only be a dangling Ref.
struct CopiesAnUncountedRefToItselfWhenDestroyed : Object {
  ~CopiesAnUncountedRefToItselfWhenDestroyed() override {
    Ref<CopiesAnUncountedRefToItselfWhenDestroyed> uncounted = ouro::subtle::adopt_ref(this);
    Ref<CopiesAnUncountedRefToItselfWhenDestroyed> copy = uncounted;
  }
};

TEST_F(MisuseDeathTest, CopyingARefToAnObjectWhoseDestructorRunsAbortsNamingTheType) {
  EXPECT_DEATH(
      { make<CopiesAnUncountedRefToItselfWhenDestroyed>(); },
      "ouro: fatal: a Ref to an object whose destruction has begun was used \\(its refcount had reached zero: a raw "
      "pointer, or a Ref made from one, outlived it\\) \\(object of type CopiesAnUncountedRefToItselfWhenDestroyed");
}

#endif  // OURO_CHECKS

// Always checked, in release builds too: immortalize is rare, and both
// cases would keep a half-destroyed object forever.

TEST_F(MisuseDeathTest, ImmortalizeOfGarbageFromItsFinalizerAbortsNamingTheType) {
  EXPECT_DEATH(
      {
        Ref<ImmortalizesItselfAsGarbage> a = make<ImmortalizesItselfAsGarbage>();
        a->next = a;
        a.reset();
        gc::collect();
      },
      "ouro: fatal: ouro::immortalize of an object that the running collection found to be garbage \\(an "
      "unreachable cycle\\); immortalize objects while they are reachable \\(object of type "
      "ImmortalizesItselfAsGarbage at 0x");
}

TEST_F(MisuseDeathTest, ImmortalizeOfACycleNeighbourFromADestructorAborts) {
  EXPECT_DEATH(
      {
        // b first: clearing b drops the last reference to a, which dies as
        // soon as its own turn comes, while b (still referenced by a until
        // then) waits, guarded, for the end of the loop.
        Ref<Ring> b = make<Ring>();
        Ref<ImmortalizesANeighbourWhenDestroyed> a = make<ImmortalizesANeighbourWhenDestroyed>();
        a->next = b;
        b->next = a;
        a->neighbour = b.get();
        a.reset();
        b.reset();
        gc::collect();  // a's destructor runs while b waits, guarded
      },
      "ouro: fatal: ouro::immortalize of an object (that the running collection found to be garbage|whose "
      "destruction has begun).*object of type Ring");
}

TEST_F(MisuseDeathTest, ImmortalizeInItsOwnDestructorAbortsNamingTheType) {
  EXPECT_DEATH(
      { Ref<ImmortalizesItselfWhenDestroyed> a = make<ImmortalizesItselfWhenDestroyed>(); },
      "ouro: fatal: ouro::immortalize of an object whose destruction has begun \\(its refcount reached zero\\) "
      "\\(object of type ImmortalizesItselfWhenDestroyed at 0x");
}

struct RefsItselfWhenDestroyed : Object {
  ~RefsItselfWhenDestroyed() override { Ref<RefsItselfWhenDestroyed> again = ouro::ref(this); }
};

TEST_F(MisuseDeathTest, RefOfThisInADestructorAbortsNamingTheType) {
  EXPECT_DEATH(
      { Ref<RefsItselfWhenDestroyed> a = make<RefsItselfWhenDestroyed>(); },
      "ouro: fatal: ouro::ref of an object whose destruction has begun \\(a Ref must not be made in a destructor\\) "
      "\\(object of type RefsItselfWhenDestroyed at 0x");
}

TEST_F(MisuseDeathTest, DeletingATrackedObjectDirectlyAborts) {
  EXPECT_DEATH(
      {
        Ref<Ring> a = make<Ring>();
        delete ouro::subtle::release_ref(a);
      },
      "ouro: fatal: a managed object was deleted directly; it dies when its last ouro::Ref goes");
}

const Object* g_immortal_forever = nullptr;  // never freed: kept reachable for LeakSanitizer

TEST(Misuse, ImmortalizeOfAReachableObjectInsideACollectionIsFine) {
  ouro_test::in_fresh_heap([] {
    Ref<Ring> kept = make<Ring>();
    kept->next = kept;
    struct ImmortalizesAnother : Ring {
      Ring* other = nullptr;
      void finalize() override { ouro::immortalize(*other); }
    };
    {
      Ref<ImmortalizesAnother> garbage = make<ImmortalizesAnother>();
      garbage->other = kept.get();
      garbage->next = garbage;
    }
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_TRUE(ouro::is_immortal(*kept));
    kept->next.reset();
    g_immortal_forever = kept.get();
  });
}

}  // namespace
