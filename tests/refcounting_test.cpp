// Ref<T>: the strong reference, and exact reference counts.
//
// ouro/object.hpp and ouro/ref.hpp: Ref<T> behaves like a smart pointer
// (default/nullptr construction, copy, move, converting copy/move, get, *,
// ->, explicit bool, reset, ==/!= with each other and nullptr, <=> address
// order, std::hash), ref_cast / dynamic_ref_cast, ref(p) for a live managed
// object, refcount(o) the exact number of strong references.
#include <gtest/gtest.h>

#include <array>
#include <compare>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro::refcount;

int g_base_destroyed = 0;

struct Base : ouro::Object {
  explicit Base(int v = 0) : value(v) {}
  ~Base() override { ++g_base_destroyed; }
  virtual int kind() const { return 1; }
  Ref<Base> self() { return ouro::ref(this); }
  int value;
};

struct Derived : Base {
  using Base::Base;
  int kind() const override { return 2; }
  int extra = 7;
};

struct Other : ouro::Object {
  int n = 3;
};

// Object is not the first base: the Object* and the Multi* of one object
// have different addresses, which comparisons and hashing must see through.
struct Mixin {
  virtual ~Mixin() = default;
  long padding[3] = {1, 2, 3};
};
struct Multi : Mixin, Base {
  using Base::Base;
};

struct TrackedBase : ouro::Object {
  Ref<TrackedBase> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

const ouro::Object* obj(const Ref<Base>& r) { return r.get(); }

}  // namespace

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

TEST(RefLayout, RefIsOnePointerWide) {
  static_assert(sizeof(Ref<Base>) == sizeof(void*));
  static_assert(sizeof(Ref<ouro::Object>) == sizeof(void*));
  static_assert(sizeof(Ref<Multi>) == sizeof(void*));
  EXPECT_EQ(sizeof(Ref<Derived>), sizeof(void*));
}

TEST(RefLayout, ObjectHeaderIsAtMostSixteenBytesBeyondTheVtablePointer) {
  static_assert(sizeof(ouro::Object) - sizeof(void*) <= 16);
  EXPECT_LE(sizeof(ouro::Object) - sizeof(void*), 16u);
}

// ---------------------------------------------------------------------------
// Construction, copy, move
// ---------------------------------------------------------------------------

TEST(Ref, DefaultAndNullptrConstructedRefsAreEmpty) {
  Ref<Base> a;
  Ref<Base> b = nullptr;
  Ref<Base> c(nullptr);
  for (const Ref<Base>* r : {&a, &b, &c}) {
    EXPECT_FALSE(*r);
    EXPECT_EQ(r->get(), nullptr);
    EXPECT_TRUE(*r == nullptr);
    EXPECT_TRUE(nullptr == *r);
    EXPECT_FALSE(*r != nullptr);
  }
  EXPECT_TRUE(a == b);
}

TEST(Ref, MakeReturnsTheOnlyReference) {
  auto a = make<Base>(5);
  ASSERT_TRUE(a);
  EXPECT_EQ(refcount(*a), 1u);
  EXPECT_EQ(a->value, 5);
}

TEST(Ref, CopyConstructionAddsOneReferenceAndDestructionRemovesIt) {
  auto a = make<Base>();
  {
    Ref<Base> b = a;
    EXPECT_EQ(b.get(), a.get());
    EXPECT_EQ(refcount(*a), 2u);
    {
      Ref<Base> c(b);
      EXPECT_EQ(refcount(*a), 3u);
    }
    EXPECT_EQ(refcount(*a), 2u);
  }
  EXPECT_EQ(refcount(*a), 1u);
}

TEST(Ref, CopyAssignmentMovesOneReferenceFromOldTargetToNewOne) {
  int before = g_base_destroyed;
  auto a = make<Base>(1);
  auto b = make<Base>(2);
  Ref<Base> keep_b = b;
  EXPECT_EQ(refcount(*b), 2u);
  b = a;  // b's old target drops to 1, a's rises to 2
  EXPECT_EQ(refcount(*a), 2u);
  EXPECT_EQ(refcount(*keep_b), 1u);
  EXPECT_EQ(b->value, 1);
  keep_b = a;  // the old b has no reference left: destroyed right here
  EXPECT_EQ(g_base_destroyed, before + 1);
  EXPECT_EQ(refcount(*a), 3u);
}

TEST(Ref, SelfCopyAssignmentKeepsTheCount) {
  auto a = make<Base>();
  Ref<Base>& alias = a;
  a = alias;
  EXPECT_EQ(refcount(*a), 1u);
  Ref<Base> b = a;
  b = a;
  EXPECT_EQ(refcount(*a), 2u);
}

TEST(Ref, MoveConstructionTransfersTheReferenceAndEmptiesTheSource) {
  auto a = make<Base>();
  Base* raw = a.get();
  Ref<Base> b(std::move(a));
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from Refs are empty
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(refcount(*b), 1u);
}

TEST(Ref, MoveAssignmentDropsTheOldTargetImmediately) {
  int before = g_base_destroyed;
  auto a = make<Base>(1);
  auto b = make<Base>(2);
  Base* raw_a = a.get();
  b = std::move(a);
  EXPECT_EQ(g_base_destroyed, before + 1);  // the object that b held died in the assignment
  EXPECT_FALSE(a);                          // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.get(), raw_a);
  EXPECT_EQ(refcount(*b), 1u);
}

TEST(Ref, SelfMoveAssignmentKeepsTheObjectAndItsCount) {
  int before = g_base_destroyed;
  auto a = make<Base>(4);
  Ref<Base>& alias = a;
  a = std::move(alias);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->value, 4);
  EXPECT_EQ(refcount(*a), 1u);
  EXPECT_EQ(g_base_destroyed, before);
}

TEST(Ref, ConvertingCopyFromDerivedToBaseSharesTheObject) {
  auto d = make<Derived>(9);
  Ref<Base> b = d;
  EXPECT_EQ(refcount(*d), 2u);
  EXPECT_EQ(b.get(), static_cast<Base*>(d.get()));
  EXPECT_EQ(b->kind(), 2);
  Ref<ouro::Object> o = b;
  EXPECT_EQ(refcount(*d), 3u);
  EXPECT_EQ(o.get(), static_cast<ouro::Object*>(d.get()));
}

TEST(Ref, ConvertingMoveFromDerivedToBaseKeepsTheCount) {
  auto d = make<Derived>(9);
  Derived* raw = d.get();
  Ref<Base> b = std::move(d);
  EXPECT_FALSE(d);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(refcount(*b), 1u);
  Ref<ouro::Object> o;
  o = std::move(b);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(refcount(*o), 1u);
}

TEST(Ref, ConvertingAssignmentReleasesTheOldTarget) {
  int before = g_base_destroyed;
  Ref<Base> b = make<Base>(1);
  auto d = make<Derived>(2);
  b = d;
  EXPECT_EQ(g_base_destroyed, before + 1);
  EXPECT_EQ(refcount(*d), 2u);
  EXPECT_EQ(b->kind(), 2);
}

TEST(Ref, ConvertingThroughANonFirstBaseAdjustsThePointer) {
  auto m = make<Multi>(3);
  Ref<Base> b = m;
  Ref<ouro::Object> o = m;
  EXPECT_EQ(b.get(), static_cast<Base*>(m.get()));
  EXPECT_NE(static_cast<void*>(b.get()), static_cast<void*>(m.get()));  // the layout this test relies on
  EXPECT_EQ(refcount(*m), 3u);
  EXPECT_TRUE(m == b);
  EXPECT_TRUE(b == o);
  EXPECT_FALSE(m != o);
  EXPECT_EQ(std::hash<Ref<Multi>>{}(m), std::hash<Ref<Base>>{}(b));
  EXPECT_EQ(m <=> b, std::strong_ordering::equal);
}

TEST(Ref, ConversionsOnlyWhereThePointersConvert) {
  static_assert(std::is_convertible_v<Ref<Derived>, Ref<Base>>);
  static_assert(std::is_convertible_v<Ref<Derived>&&, Ref<ouro::Object>>);
  static_assert(!std::is_constructible_v<Ref<Derived>, Ref<Base>>);
  static_assert(!std::is_constructible_v<Ref<Other>, Ref<Base>>);
  static_assert(!std::is_assignable_v<Ref<Derived>&, Ref<Base>>);
  static_assert(!std::is_convertible_v<Ref<Base>, bool>);  // explicit operator bool
  static_assert(std::is_constructible_v<bool, Ref<Base>>);
  static_assert(!std::is_convertible_v<Base*, Ref<Base>>);  // no implicit adoption of raw pointers
  static_assert(std::is_nothrow_move_constructible_v<Ref<Base>>);
  SUCCEED();
}

// ---------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------

TEST(Ref, GetStarAndArrowReachTheSameObject) {
  auto d = make<Derived>(11);
  Derived& viaStar = *d;
  EXPECT_EQ(&viaStar, d.get());
  EXPECT_EQ(d->extra, 7);
  d->extra = 8;
  EXPECT_EQ((*d).extra, 8);
  EXPECT_EQ(d.get()->value, 11);
}

TEST(Ref, ExplicitBoolTellsWhetherTheRefHoldsAnObject) {
  Ref<Base> r;
  EXPECT_FALSE(static_cast<bool>(r));
  r = make<Base>();
  EXPECT_TRUE(static_cast<bool>(r));
  if (!r) ADD_FAILURE() << "a Ref holding an object tested false";
}

TEST(Ref, ResetEmptiesTheRefAndDestroysTheLastReferencedObject) {
  int before = g_base_destroyed;
  auto a = make<Base>();
  Ref<Base> b = a;
  a.reset();
  EXPECT_FALSE(a);
  EXPECT_EQ(refcount(*b), 1u);
  EXPECT_EQ(g_base_destroyed, before);
  b.reset();
  EXPECT_FALSE(b);
  EXPECT_EQ(g_base_destroyed, before + 1);
  b.reset();  // resetting an empty Ref does nothing
  EXPECT_FALSE(b);
  EXPECT_EQ(g_base_destroyed, before + 1);
}

TEST(Ref, AssigningNullptrDropsTheReference) {
  int before = g_base_destroyed;
  auto a = make<Base>();
  a = nullptr;
  EXPECT_FALSE(a);
  EXPECT_EQ(g_base_destroyed, before + 1);
}

namespace {
struct SeesHolderWhileDying;
Ref<SeesHolderWhileDying> g_holder;
bool g_holder_was_empty_in_finalize = false;
bool g_holder_was_empty_in_destructor = false;
struct SeesHolderWhileDying : ouro::Object {
  void finalize() override { g_holder_was_empty_in_finalize = !g_holder; }
  ~SeesHolderWhileDying() override { g_holder_was_empty_in_destructor = !g_holder; }
};
}  // namespace

TEST(Ref, ResetEmptiesTheRefBeforeTheObjectsFinalizerAndDestructorRun) {
  g_holder = make<SeesHolderWhileDying>();
  g_holder.reset();
  EXPECT_TRUE(g_holder_was_empty_in_finalize);
  EXPECT_TRUE(g_holder_was_empty_in_destructor);
}

TEST(Ref, SwapExchangesTargetsWithoutTouchingCounts) {
  auto a = make<Base>(1);
  auto b = make<Base>(2);
  Base* ra = a.get();
  Base* rb = b.get();
  a.swap(b);
  EXPECT_EQ(a.get(), rb);
  EXPECT_EQ(b.get(), ra);
  std::swap(a, b);
  EXPECT_EQ(a.get(), ra);
  EXPECT_EQ(refcount(*a), 1u);
  EXPECT_EQ(refcount(*b), 1u);
}

// ---------------------------------------------------------------------------
// Comparison and hashing
// ---------------------------------------------------------------------------

TEST(RefCompare, EqualityIsIdentityOfTheObject) {
  auto a = make<Base>(1);
  auto b = make<Base>(1);  // same value, another object
  Ref<Base> a2 = a;
  EXPECT_TRUE(a == a2);
  EXPECT_FALSE(a != a2);
  EXPECT_FALSE(a == b);
  EXPECT_TRUE(a != b);
  EXPECT_TRUE(a != nullptr);
  EXPECT_TRUE(nullptr != a);
  EXPECT_FALSE(a == nullptr);
  EXPECT_FALSE(a == Ref<Base>());
}

TEST(RefCompare, EqualityAcrossBaseAndDerivedRefs) {
  auto d = make<Derived>();
  auto other = make<Derived>();
  Ref<Base> b = d;
  Ref<ouro::Object> o = d;
  EXPECT_TRUE(d == b);
  EXPECT_TRUE(b == d);
  EXPECT_TRUE(o == d);
  EXPECT_TRUE(b != other);
  EXPECT_FALSE(o == other);
}

TEST(RefCompare, ThreeWayComparisonIsAddressOrder) {
  std::vector<Ref<Base>> refs;
  for (int i = 0; i < 16; ++i) refs.push_back(make<Base>(i));
  for (const auto& x : refs) {
    for (const auto& y : refs) {
      std::strong_ordering expected = std::compare_three_way{}(obj(x), obj(y));
      EXPECT_EQ(x <=> y, expected);
      EXPECT_EQ(x < y, std::less<const ouro::Object*>{}(obj(x), obj(y)));
      EXPECT_EQ(x == y, obj(x) == obj(y));
    }
  }
  Ref<Base> copy = refs[3];
  EXPECT_EQ(copy <=> refs[3], std::strong_ordering::equal);
  EXPECT_TRUE(copy <= refs[3] && copy >= refs[3]);
  EXPECT_TRUE(Ref<Base>() < refs[0]);  // the empty Ref orders as the null pointer
}

TEST(RefCompare, HashIsTheHashOfTheObjectAddress) {
  auto d = make<Derived>();
  Ref<Base> b = d;
  Ref<ouro::Object> o = d;
  std::size_t h = std::hash<const ouro::Object*>{}(o.get());
  EXPECT_EQ(std::hash<Ref<Derived>>{}(d), h);
  EXPECT_EQ(std::hash<Ref<Base>>{}(b), h);
  EXPECT_EQ(std::hash<Ref<ouro::Object>>{}(o), h);
  EXPECT_EQ(std::hash<Ref<Base>>{}(Ref<Base>()), std::hash<const ouro::Object*>{}(nullptr));
  EXPECT_EQ(refcount(*d), 3u);  // hashing takes no reference
}

TEST(RefContainers, RefKeysAStdSetByIdentity) {
  auto a = make<Base>(1);
  auto b = make<Base>(1);
  std::set<Ref<Base>> s;
  EXPECT_TRUE(s.insert(a).second);
  EXPECT_FALSE(s.insert(a).second);
  EXPECT_TRUE(s.insert(b).second);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(refcount(*a), 2u);
  EXPECT_TRUE(s.contains(a));
  Ref<Base> a2 = a;
  EXPECT_EQ(s.count(a2), 1u);
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(s.erase(a), 1u);
  EXPECT_EQ(refcount(*a), 2u);  // a and a2
  EXPECT_FALSE(s.contains(a));
}

TEST(RefContainers, RefKeysAStdMapAndFindsThroughOtherRefsToTheSameObject) {
  auto a = make<Base>(1);
  auto b = make<Base>(2);
  std::map<Ref<Base>, std::string> names;
  names[a] = "a";
  names[b] = "b";
  names[Ref<Base>(a)] = "A";  // same key: overwrites
  EXPECT_EQ(names.size(), 2u);
  EXPECT_EQ(names.at(a), "A");
  EXPECT_EQ(names.at(b), "b");
  EXPECT_EQ(refcount(*a), 2u);
  names.clear();
  EXPECT_EQ(refcount(*a), 1u);
  EXPECT_EQ(refcount(*b), 1u);
}

TEST(RefContainers, RefKeysUnorderedContainersByIdentity) {
  auto a = make<Base>(1);
  auto b = make<Base>(1);
  std::unordered_set<Ref<Base>> s{a, b, a};
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(refcount(*a), 2u);
  EXPECT_EQ(s.count(a), 1u);
  std::unordered_map<Ref<Base>, int> m;
  m[a] += 1;
  m[a] += 1;
  m[b] += 5;
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m[a], 2);
  EXPECT_EQ(refcount(*a), 3u);
  s.clear();
  m.clear();
  EXPECT_EQ(refcount(*a), 1u);
}

TEST(RefContainers, MixedRefTypesOfOneObjectAreOneKey) {
  auto d = make<Derived>();
  std::set<Ref<ouro::Object>, std::less<>> s;
  s.insert(Ref<ouro::Object>(d));
  Ref<Base> b = d;
  EXPECT_EQ(s.count(Ref<ouro::Object>(b)), 1u);
  EXPECT_TRUE(s.contains(d));  // heterogeneous lookup through <=> of Ref<Derived> and Ref<Object>
}

// ---------------------------------------------------------------------------
// Exact counts through containers and wrappers
// ---------------------------------------------------------------------------

TEST(Refcount, CountsEveryCopyHeldInContainersExactly) {
  auto a = make<Base>();
  std::vector<Ref<Base>> v;
  for (int i = 0; i < 5; ++i) v.push_back(a);
  EXPECT_EQ(refcount(*a), 6u);
  v.reserve(1000);  // reallocation moves the Refs: no change
  EXPECT_EQ(refcount(*a), 6u);
  std::vector<Ref<Base>> copy = v;
  EXPECT_EQ(refcount(*a), 11u);
  std::vector<Ref<Base>> moved = std::move(copy);
  EXPECT_EQ(refcount(*a), 11u);
  v.erase(v.begin(), v.begin() + 2);
  EXPECT_EQ(refcount(*a), 9u);
  std::array<Ref<Base>, 3> arr{a, a, nullptr};
  EXPECT_EQ(refcount(*a), 11u);
  std::optional<Ref<Base>> opt = a;
  EXPECT_EQ(refcount(*a), 12u);
  std::function<int()> fn = [a] { return a->value; };
  EXPECT_EQ(refcount(*a), 13u);
  auto shared = std::make_shared<Ref<Base>>(a);
  EXPECT_EQ(refcount(*a), 14u);
  shared.reset();
  fn = nullptr;
  opt.reset();
  arr = {};
  moved.clear();
  v.clear();
  EXPECT_EQ(refcount(*a), 1u);
}

TEST(Refcount, TheLastOfManyCopiesDestroysTheObject) {
  int before = g_base_destroyed;
  std::vector<Ref<Base>> v(100, make<Base>());
  EXPECT_EQ(refcount(*v.front()), 100u);
  while (v.size() > 1) {
    v.pop_back();
    EXPECT_EQ(g_base_destroyed, before);
  }
  EXPECT_EQ(refcount(*v.front()), 1u);
  v.pop_back();
  EXPECT_EQ(g_base_destroyed, before + 1);
}

TEST(Refcount, TrackedObjectsCountReferencesFromOtherObjects) {
  auto a = make<TrackedBase>();
  auto b = make<TrackedBase>();
  a->next = b;
  EXPECT_EQ(refcount(*b), 2u);
  b->next = b;  // a self reference counts like any other
  EXPECT_EQ(refcount(*b), 3u);
  b->next.reset();
  a->next.reset();
  EXPECT_EQ(refcount(*b), 1u);
}

// ---------------------------------------------------------------------------
// Casts
// ---------------------------------------------------------------------------

TEST(RefCast, StaticRefCastFromACopyAddsAReference) {
  Ref<Base> b = make<Derived>(5);
  Ref<Derived> d = ouro::ref_cast<Derived>(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(d.get(), static_cast<Derived*>(b.get()));
  EXPECT_EQ(d->extra, 7);
  EXPECT_EQ(refcount(*b), 2u);
  EXPECT_FALSE(ouro::ref_cast<Derived>(Ref<Base>()));
}

TEST(RefCast, StaticRefCastFromAnRvalueTransfersTheReference) {
  Ref<Base> b = make<Derived>(5);
  Base* raw = b.get();
  Ref<Derived> d = ouro::ref_cast<Derived>(std::move(b));
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(static_cast<Base*>(d.get()), raw);
  EXPECT_EQ(refcount(*d), 1u);
  Ref<Derived> none = ouro::ref_cast<Derived>(Ref<Base>());
  EXPECT_FALSE(none);
}

TEST(RefCast, StaticRefCastAdjustsForANonFirstBase) {
  auto m = make<Multi>(1);
  Ref<Base> b = m;
  Ref<Multi> back = ouro::ref_cast<Multi>(b);
  EXPECT_EQ(back.get(), m.get());
  EXPECT_EQ(refcount(*m), 3u);
}

TEST(RefCast, DynamicRefCastSucceedsForTheRightTypeAndAddsAReference) {
  Ref<ouro::Object> o = make<Derived>(6);
  Ref<Base> b = ouro::dynamic_ref_cast<Base>(o);
  Ref<Derived> d = ouro::dynamic_ref_cast<Derived>(o);
  ASSERT_TRUE(b);
  ASSERT_TRUE(d);
  EXPECT_EQ(b->value, 6);
  EXPECT_EQ(d->extra, 7);
  EXPECT_EQ(refcount(*o), 3u);
}

TEST(RefCast, DynamicRefCastIsEmptyOnFailureAndLeavesTheCount) {
  Ref<ouro::Object> o = make<Base>();
  EXPECT_FALSE(ouro::dynamic_ref_cast<Derived>(o));
  EXPECT_FALSE(ouro::dynamic_ref_cast<Other>(o));
  EXPECT_EQ(refcount(*o), 1u);
  EXPECT_FALSE(ouro::dynamic_ref_cast<Base>(Ref<ouro::Object>()));
}

// ---------------------------------------------------------------------------
// ouro::subtle: a reference carried through a raw pointer
// ---------------------------------------------------------------------------

TEST(Subtle, AReferenceReleasedToARawPointerAndAdoptedBackIsCountedOnce) {
  int before = g_base_destroyed;
  Ref<Base> a = make<Base>(4);
  Ref<Base> other = a;
  void* carried = ouro::subtle::release_ref(a);  // e.g. a C API's user data
  EXPECT_FALSE(a);
  EXPECT_EQ(refcount(*other), 2u);  // the released reference is still counted
  Ref<Base> back = ouro::subtle::adopt_ref(static_cast<Base*>(carried));
  EXPECT_EQ(back, other);
  EXPECT_EQ(refcount(*other), 2u);  // adopting takes it over without counting again
  back.reset();
  other.reset();
  EXPECT_EQ(g_base_destroyed, before + 1);
}

TEST(Subtle, ReleasingAnEmptyRefGivesNullptrAndAdoptingNullptrAnEmptyRef) {
  Ref<Base> none;
  EXPECT_EQ(ouro::subtle::release_ref(none), nullptr);
  EXPECT_FALSE(ouro::subtle::adopt_ref<Base>(nullptr));
}

// ---------------------------------------------------------------------------
// ref(p)
// ---------------------------------------------------------------------------

TEST(RefOfPointer, RefOfThisFromAMethodIsANewStrongReference) {
  auto a = make<Base>(3);
  Ref<Base> self = a->self();
  EXPECT_EQ(self, a);
  EXPECT_EQ(refcount(*a), 2u);
  Ref<Derived> d = make<Derived>();
  Ref<Base> dself = d->self();
  EXPECT_EQ(dself, d);
  EXPECT_EQ(refcount(*d), 2u);
}

TEST(RefOfPointer, RefKeepsTheObjectAliveAfterTheOriginalGoes) {
  int before = g_base_destroyed;
  Ref<Base> survivor;
  {
    auto a = make<Base>(12);
    Base* raw = a.get();
    survivor = ouro::ref(raw);
  }
  EXPECT_EQ(g_base_destroyed, before);
  EXPECT_EQ(survivor->value, 12);
  EXPECT_EQ(refcount(*survivor), 1u);
}

TEST(RefOfPointer, RefOfNullIsEmpty) {
  Base* none = nullptr;
  EXPECT_FALSE(ouro::ref(none));
}

TEST(RefOfPointer, RefOfAnObjectNotMadeByMakeThrowsInvalidArgument) {
  Base on_stack(1);
  EXPECT_THROW((void)ouro::ref(&on_stack), std::invalid_argument);
  EXPECT_THROW((void)on_stack.self(), std::invalid_argument);
  EXPECT_EQ(refcount(on_stack), 1u);  // decisions.md: an unmanaged object reports 1

  // (`new Derived` does not compile: a member on the heap stands for it.)
  struct Holder {
    Derived member{2};
  };
  auto heap_allocated = std::make_unique<Holder>();
  EXPECT_THROW((void)ouro::ref(&heap_allocated->member), std::invalid_argument);
  EXPECT_THROW((void)ouro::ref(static_cast<ouro::Object*>(&heap_allocated->member)), std::invalid_argument);
}

namespace {
Ref<ouro::Object> g_escaped_from_constructor;
struct RefsItselfInConstructor : ouro::Object {
  RefsItselfInConstructor() { g_escaped_from_constructor = ouro::ref(this); }
  int n = 5;
};
}  // namespace

TEST(RefOfPointer, RefOfThisInAConstructorIsCountedWithTheReferenceMakeReturns) {
  auto a = make<RefsItselfInConstructor>();
  EXPECT_EQ(g_escaped_from_constructor.get(), a.get());
  EXPECT_EQ(refcount(*a), 2u);
  g_escaped_from_constructor.reset();
  EXPECT_EQ(refcount(*a), 1u);
  EXPECT_EQ(a->n, 5);
}

namespace {
// A non-Object base that builds a managed object before the Object base of
// the object being made exists.
struct BuildsASideObjectFirst {
  BuildsASideObjectFirst() : side(make<Other>()) {}
  Ref<Other> side;
};
int g_late_object_finalized = 0;
struct ObjectBaseSecond : BuildsASideObjectFirst, ouro::Object {
  void finalize() override { ++g_late_object_finalized; }
  void traverse(ouro::Visitor& v) override { v(side); }
};
}  // namespace

TEST(RefOfPointer, AnObjectWhoseEarlierBaseMakesObjectsIsStillManaged) {
  ouro_test::in_fresh_heap([] {
    g_late_object_finalized = 0;
    auto a = make<ObjectBaseSecond>();
    ASSERT_TRUE(a->side);
    EXPECT_EQ(refcount(*a->side), 1u);
    Ref<ObjectBaseSecond> again;
    EXPECT_NO_THROW(again = ouro::ref(a.get()));  // made by make: ref() must accept it
    EXPECT_TRUE(ouro::gc::is_tracked(*a));
    again.reset();
    a.reset();
    EXPECT_EQ(g_late_object_finalized, 1);
  });
}

namespace {
// Same family: an Object embedded by value in a base that precedes the
// Object base of the type being made.
struct Embedded : ouro::Object {
  int n = 1;
};
struct HoldsAnEmbeddedObject {
  Embedded embedded;
};
int g_embedding_finalized = 0;
struct EmbedsBeforeItsObjectBase : HoldsAnEmbeddedObject, ouro::Object {
  void finalize() override { ++g_embedding_finalized; }
  void traverse(ouro::Visitor&) override {}
};
}  // namespace

TEST(RefOfPointer, AnObjectWhoseEarlierBaseEmbedsAnObjectIsStillManaged) {
  ouro_test::in_fresh_heap([] {
    g_embedding_finalized = 0;
    auto a = make<EmbedsBeforeItsObjectBase>();
    EXPECT_NO_THROW((void)ouro::ref(a.get()));
    EXPECT_THROW((void)ouro::ref(&a->embedded), std::invalid_argument);  // a member, not made by make
    EXPECT_TRUE(ouro::gc::is_tracked(*a));
    a.reset();
    EXPECT_EQ(g_embedding_finalized, 1);
  });
}

namespace {
// Object reached through virtual bases: its offset is only known at run
// time, and an embedded Object comes first in the block.
int g_diamond_finalized = 0;
struct LeftInterface : virtual ouro::Object {};
struct RightInterface : virtual ouro::Object {};
struct Diamond : HoldsAnEmbeddedObject, LeftInterface, RightInterface {
  void finalize() override { ++g_diamond_finalized; }
  void traverse(ouro::Visitor&) override {}
};
}  // namespace

TEST(RefOfPointer, AnObjectReachedThroughVirtualBasesIsManagedAndItsEmbeddedObjectIsNot) {
  ouro_test::in_fresh_heap([] {
    g_diamond_finalized = 0;
    auto a = make<Diamond>();
    EXPECT_NO_THROW((void)ouro::ref(a.get()));
    EXPECT_THROW((void)ouro::ref(&a->embedded), std::invalid_argument);
    EXPECT_TRUE(ouro::gc::is_tracked(*a));
    EXPECT_EQ(refcount(*a), 1u);
    a.reset();
    EXPECT_EQ(g_diamond_finalized, 1);
  });
}

// ---------------------------------------------------------------------------
// More of make and assignment
// ---------------------------------------------------------------------------

TEST(Ref, RefToConstSharesTheCountOfTheObject) {
  auto a = make<Derived>(4);
  Ref<const Base> c = a;
  Ref<const ouro::Object> co = c;
  EXPECT_EQ(refcount(*a), 3u);
  EXPECT_EQ(c->value, 4);
  EXPECT_TRUE(c == a);
  EXPECT_EQ(std::hash<Ref<const Base>>{}(c), std::hash<Ref<Derived>>{}(a));
  Ref<const Derived> cd = ouro::dynamic_ref_cast<const Derived>(c);
  ASSERT_TRUE(cd);
  EXPECT_EQ(cd->extra, 7);
  static_assert(!std::is_convertible_v<Ref<const Base>, Ref<Base>>);
  c.reset();
  co.reset();
  cd.reset();
  EXPECT_EQ(refcount(*a), 1u);
}

namespace {
int g_overaligned_destroyed = 0;
struct alignas(128) OverAligned : ouro::Object {
  ~OverAligned() override { ++g_overaligned_destroyed; }
  unsigned char payload[200] = {};
};
}  // namespace

TEST(Ref, OverAlignedTypesAreMadeAlignedAndFreed) {
  g_overaligned_destroyed = 0;
  {
    std::vector<Ref<OverAligned>> v;
    for (int i = 0; i < 10; ++i) {
      v.push_back(make<OverAligned>());
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(v.back().get()) % 128, 0u);
      v.back()->payload[199] = 1;
      EXPECT_EQ(refcount(*v.back()), 1u);
      EXPECT_NO_THROW((void)ouro::ref(v.back().get()));
    }
  }
  EXPECT_EQ(g_overaligned_destroyed, 10);
}

namespace {
struct WatchesAHolder;
Ref<WatchesAHolder> g_watched_holder;
const ouro::Object* g_holder_seen_by_dying = nullptr;
struct WatchesAHolder : ouro::Object {
  ~WatchesAHolder() override { g_holder_seen_by_dying = g_watched_holder.get(); }
};
}  // namespace

TEST(Ref, AssignmentInstallsTheNewTargetBeforeTheOldOneDies) {
  g_watched_holder = make<WatchesAHolder>();
  auto replacement = make<WatchesAHolder>();
  const ouro::Object* expected = replacement.get();
  g_watched_holder = replacement;  // copy assignment
  EXPECT_EQ(g_holder_seen_by_dying, expected);
  auto third = make<WatchesAHolder>();
  expected = third.get();
  replacement.reset();
  g_watched_holder = std::move(third);  // move assignment
  EXPECT_EQ(g_holder_seen_by_dying, expected);
  g_watched_holder.reset();
  EXPECT_EQ(g_holder_seen_by_dying, nullptr);
}

TEST(Ref, AssigningFromAMemberOfTheOldTargetIsSafe) {
  ouro_test::Events ev;
  auto build = [&ev] {
    Ref<ouro_test::Instrumented> head;
    for (int i = 4; i >= 0; --i) {
      auto n = make<ouro_test::PlainNode>(ev, std::to_string(i));
      n->next = std::move(head);
      head = std::move(n);
    }
    return head;
  };
  Ref<ouro_test::Instrumented> head = build();
  head = head->next;  // copy from a member of the object about to die
  EXPECT_EQ(head->name, "1");
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_EQ(refcount(*head), 1u);
  head = std::move(head->next);  // move from it
  EXPECT_EQ(head->name, "2");
  EXPECT_EQ(ev.destroyed, 2);
  EXPECT_EQ(refcount(*head), 1u);
  Ref<ouro::Object> as_object = head;
  head.reset();
  as_object = ouro::ref_cast<ouro_test::Instrumented>(as_object)->next;  // converting, through a temporary
  EXPECT_EQ(ev.destroyed, 3);
  EXPECT_EQ(ouro::ref_cast<ouro_test::Instrumented>(as_object)->name, "3");
  as_object.reset();
  EXPECT_EQ(ev.alive(), 0);
}
