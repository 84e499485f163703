// A traverse() that reports a reference its object does not hold (docs/semantics.md,
// "The collector"): checked builds (OURO_CHECKS) detect the count going below zero
// during a collection and abort with a message naming the type. Release
// builds treat the over-reported object as referenced from outside: it
// leaks, it is never freed early (src/collector.cpp, "WHAT IT FINDS").
#include <gtest/gtest.h>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;

struct Target : Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  Ref<Object> next;
};

// Holds nothing, but its traverse reports the global's Ref, twice.
Ref<Target>& global_target() {
  static Ref<Target> r;
  return r;
}

struct VisitsAGlobal : Object {
  void traverse(ouro::Visitor& v) override { v(global_target(), global_target()); }
};

// Reports the Ref that its neighbour holds, as if it were its own.
struct Holder : Object {
  void traverse(ouro::Visitor& v) override { v(held); }
  Ref<Target> held;
};
struct Borrower : Object {
  void traverse(ouro::Visitor& v) override {
    if (holder) v(holder->held);
  }
  Holder* holder = nullptr;  // not a reference
};

#if OURO_CHECKS

class OverReportingTraverseDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(OverReportingTraverseDeathTest, VisitingAGlobalsRefAbortsNamingTheTypeAndBelowZero) {
  EXPECT_DEATH(
      {
        global_target() = make<Target>();  // refcount 1: the global
        Ref<VisitsAGlobal> bad = make<VisitsAGlobal>();
        gc::collect();
      },
      "VisitsAGlobal.*below zero");
}

TEST_F(OverReportingTraverseDeathTest, VisitingAnotherObjectsRefAbortsNamingTheType) {
  EXPECT_DEATH(
      {
        Ref<Holder> holder = make<Holder>();
        holder->held = make<Target>();  // refcount 1: holder's Ref
        Ref<Borrower> borrower = make<Borrower>();
        borrower->holder = holder.get();
        gc::collect(0);
      },
      "Borrower.*below zero");
}

TEST_F(OverReportingTraverseDeathTest, TheMessageNamesTheOverCountedTypeToo) {
  EXPECT_DEATH(
      {
        global_target() = make<Target>();
        Ref<VisitsAGlobal> bad = make<VisitsAGlobal>();
        gc::collect();
      },
      "Target");
}

TEST(OverReportingTraverse, CorrectTraversesDoNotAbort) {
  ouro_test::in_fresh_heap([] {
    Ref<Holder> holder = make<Holder>();
    holder->held = make<Target>();
    holder->held->next = holder;
    EXPECT_EQ(gc::collect(), 0u);
    holder->held->next.reset();
  });
}

#else  // release builds

TEST(OverReportingTraverse, ReleaseBuildsKeepTheOverCountedObjectAlive) {
  ouro_test::in_fresh_heap([] {
    Ref<Target> t = make<Target>();
    Target* raw = t.get();
    global_target() = std::move(t);
    {
      Ref<VisitsAGlobal> bad = make<VisitsAGlobal>();
      raw->next = bad;  // the target keeps the liar alive: a real cycle for the collector to judge
      EXPECT_EQ(gc::collect(), 0u);
    }
    EXPECT_EQ(ouro::refcount(*raw), 1u) << "the target was not freed early";
    raw->next.reset();
    global_target().reset();
  });
}

#endif

}  // namespace
