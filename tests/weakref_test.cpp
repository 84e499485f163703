// Weak references on the refcount path (ouro/weakref.hpp;
// docs/design/decisions.md, "Weak references").
//
//   - a WeakRef does not keep its target alive; lock() gives a strong Ref
//     while the target lives, nothing afterwards;
//   - when the target dies by refcount: finalize(), then every weak
//     reference is cleared and the callbacks run (newest first, each once,
//     given its own, already expired, WeakRef), then the destructor;
//   - a WeakRef destroyed before its callback ran never calls back; copies
//     do not duplicate the callback; moves carry it;
//   - callbacks may throw (unraisable hook), drop references, allocate,
//     collect, destroy other weak references.
#include <gtest/gtest.h>

#include <exception>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"
#include "support/weak_logging.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Ref;
using ouro::WeakRef;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::FinalizerOnlyNode;
using ouro_test::in_fresh_heap;
using ouro_test::Instrumented;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

using ouro_test::WeakNode;
const auto logging = ouro_test::logging_callback;

static_assert(sizeof(WeakRef<Instrumented>) <= 2 * sizeof(void*));
// Weak lists live in a side table: objects without weak references pay nothing.
static_assert(sizeof(ouro::Object) == sizeof(void*) + 16);
static_assert(std::is_nothrow_move_constructible_v<WeakRef<Instrumented>>);

TEST(WeakRef, AnEmptyWeakRefIsExpiredAndLocksToNothing) {
  WeakNode w;
  EXPECT_TRUE(w.expired());
  EXPECT_EQ(w.lock(), nullptr);
  WeakNode copy = w;
  EXPECT_TRUE(copy.expired());
}

TEST(WeakRef, LockGivesTheTargetWithoutTheWeakRefKeepingItAlive) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  WeakNode w(a);
  EXPECT_EQ(ouro::refcount(*a), 1u);
  EXPECT_FALSE(w.expired());
  {
    Ref<Instrumented> locked = w.lock();
    EXPECT_EQ(locked, a);
    EXPECT_EQ(ouro::refcount(*a), 2u);
  }
  a.reset();
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_TRUE(w.expired());
  EXPECT_EQ(w.lock(), nullptr);
}

TEST(WeakRef, AWeakRefToAnEmptyRefIsAnInvalidArgument) {
  Ref<Instrumented> none;
  EXPECT_THROW(WeakNode{none}, std::invalid_argument);
  EXPECT_THROW(WeakNode(none, [](WeakNode&) {}), std::invalid_argument);
}

TEST(WeakRef, FinalizeRunsFirstThenTheCallbacksThenTheDestructor) {
  Events ev;
  auto a = make<FinalizerOnlyNode>(ev, "a");
  a->on_finalize = [&](Instrumented& self) {
    // During finalize() the weak reference still works (as in CPython).
    ev.log.push_back(std::string("weak alive in finalize: ") + (ouro::weakref_count(self) == 1 ? "yes" : "no"));
  };
  WeakNode w(a, logging(ev, "w"));
  a.reset();
  EXPECT_EQ(ev.log, (std::vector<std::string>{"construct a", "finalize a", "weak alive in finalize: yes",
                                               "callback w", "destroy a"}));
}

TEST(WeakRef, CallbacksRunNewestFirstEachExactlyOnce) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  WeakNode first(a, logging(ev, "first"));
  WeakNode second(a, logging(ev, "second"));
  WeakNode third(a, logging(ev, "third"));
  WeakNode plain(a);
  EXPECT_EQ(ouro::weakref_count(*a), 4u);
  a.reset();
  EXPECT_EQ(ev.log, (std::vector<std::string>{"construct a", "callback third", "callback second", "callback first",
                                               "destroy a"}));
  EXPECT_TRUE(plain.expired());
}

TEST(WeakRef, TheCallbackReceivesItsOwnWeakRef) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  WeakNode w;
  WeakNode* seen = nullptr;
  w = WeakNode(a, [&](WeakNode& self) { seen = &self; });
  a.reset();
  EXPECT_EQ(seen, &w);
}

TEST(WeakRef, AWeakRefDestroyedBeforeItsTargetNeverCallsBack) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  {
    WeakNode w(a, logging(ev, "w"));
  }
  auto w2 = std::make_optional<WeakNode>(a, logging(ev, "w2"));
  w2->reset();
  a.reset();
  EXPECT_EQ(ev.count("callback w"), 0u);
  EXPECT_EQ(ev.count("callback w2"), 0u);
  EXPECT_EQ(ev.destroyed, 1);
}

TEST(WeakRef, ACopyDoesNotDuplicateTheCallbackAndAMoveCarriesIt) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  WeakNode original(a, logging(ev, "original"));
  WeakNode copy = original;
  EXPECT_FALSE(copy.expired());
  EXPECT_EQ(ouro::weakref_count(*a), 2u);
  std::vector<WeakNode> moved;
  moved.push_back(std::move(original));
  moved.reserve(16);  // moves it again
  WeakNode* holder = &moved[0];
  WeakNode* seen = nullptr;
  WeakNode other(a, [&](WeakNode&) {});
  other = WeakNode(a, [&](WeakNode& self) { seen = &self; });
  a.reset();
  EXPECT_EQ(ev.count("callback original"), 1u);
  EXPECT_EQ(seen, &other);
  EXPECT_TRUE(copy.expired());
  EXPECT_TRUE(holder->expired());
  WeakNode copy_of_expired = copy;
  EXPECT_TRUE(copy_of_expired.expired());
}

TEST(WeakRef, WeakrefCountCountsTheWeakReferencesOfAnObject) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  EXPECT_EQ(ouro::weakref_count(*a), 0u);
  WeakNode w1(a);
  {
    WeakNode w2(a, logging(ev, "w2"));
    EXPECT_EQ(ouro::weakref_count(*a), 2u);
  }
  EXPECT_EQ(ouro::weakref_count(*a), 1u);
  w1.reset();
  EXPECT_EQ(ouro::weakref_count(*a), 0u);
}

TEST(WeakRef, AFinalizerThatResurrectsOnTheRefcountPathKeepsTheWeakRefsValid) {
  Events ev;
  Ref<Instrumented> saved;
  auto a = make<FinalizerOnlyNode>(ev, "a");
  a->on_finalize = [&](Instrumented& self) { saved = ouro::ref(&self); };
  WeakNode w(a, logging(ev, "w"));
  a.reset();
  EXPECT_FALSE(w.expired());
  EXPECT_EQ(w.lock(), saved);
  EXPECT_EQ(ev.count("callback w"), 0u);
  saved.reset();  // finalize() does not run twice; now it dies
  EXPECT_TRUE(w.expired());
  EXPECT_EQ(ev.count("callback w"), 1u);
  EXPECT_EQ(ev.destroyed, 1);
}

TEST(WeakRef, ACallbackThatThrowsGoesToTheUnraisableHookWithNoObject) {
  in_fresh_heap([] {
    Events ev;
    std::vector<std::string> reported;
    ouro::set_unraisable_hook([&](std::exception_ptr e, const ouro::Object* o) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        reported.push_back(std::string(ex.what()) + (o ? " with object" : " without object"));
      }
    });
    auto a = make<PlainNode>(ev, "a");
    WeakNode w1(a, [](WeakNode&) { throw std::runtime_error("first"); });
    WeakNode w2(a, [](WeakNode&) { throw std::runtime_error("second"); });
    a.reset();
    EXPECT_EQ(reported, (std::vector<std::string>{"second without object", "first without object"}));
    EXPECT_EQ(ev.destroyed, 1);
  });
}

TEST(WeakRef, ACallbackMayDropReferencesAllocateAndCollect) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<PlainNode>(ev, "a");
    Ref<Instrumented> other = make<FinalizerOnlyNode>(ev, "other");
    WeakNode on_other(other, logging(ev, "on-other"));
    std::vector<Ref<Instrumented>> made;
    std::size_t collected = 99;
    WeakNode w(a, [&](WeakNode&) {
      other.reset();  // dies inside the callback, with its own callback
      for (int i = 0; i < 1000; ++i) made.push_back(make<TrackedNode>(ev, "new"));
      auto x = make<TrackedNode>(ev, "x");
      auto y = make<TrackedNode>(ev, "y");
      x->next = y;
      y->next = x;
      x.reset();
      y.reset();
      collected = gc::collect();
    });
    a.reset();
    EXPECT_EQ(collected, 2u);
    EXPECT_EQ(ev.of("other"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.count("callback on-other"), 1u);
    EXPECT_EQ(made.size(), 1000u);
  });
}

TEST(WeakRef, ACallbackMayDestroyAnotherPendingWeakRefWhichThenNeverCallsBack) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  auto older = std::make_unique<WeakNode>(a, logging(ev, "older"));
  WeakNode newer(a, [&](WeakNode&) {
    ev.log.push_back("callback newer");
    older.reset();
  });
  a.reset();
  EXPECT_EQ(ev.count("callback newer"), 1u);
  EXPECT_EQ(ev.count("callback older"), 0u);
}

TEST(WeakRef, ACallbackMayResetOrReassignItsOwnWeakRef) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  WeakNode reassigned(a, [&](WeakNode& self) { self = WeakNode(b); });
  std::unique_ptr<WeakNode> owned;
  owned = std::make_unique<WeakNode>(a, [&](WeakNode&) {
    ev.log.push_back("callback owned");
    owned.reset();  // destroys the WeakRef being called back
  });
  WeakNode reset(a, [&](WeakNode& self) { self.reset(); });
  a.reset();
  EXPECT_EQ(reassigned.lock(), b);
  EXPECT_EQ(owned, nullptr);
  EXPECT_EQ(ev.count("callback owned"), 1u);
  EXPECT_TRUE(reset.expired());
}

TEST(WeakRef, DeepChainsOfObjectsWithCallbacksAreDestroyedWithoutRecursion) {
  ouro_test::on_thread_with_stack(512 * 1024, [] {
    Events ev;
    constexpr int kLength = 100000;
    std::vector<WeakNode> weak;
    weak.reserve(kLength);
    int called = 0;
    Ref<Instrumented> head;
    for (int i = 0; i < kLength; ++i) {
      auto n = make<PlainNode>(ev);
      n->next = std::move(head);
      weak.emplace_back(n, [&](WeakNode& self) { called += self.expired() ? 1 : 1000; });
      head = std::move(n);
    }
    head.reset();
    EXPECT_EQ(called, kLength);
    EXPECT_EQ(ev.alive(), 0);
  });
}

// A managed type holding weak references in every shape the Visitor accepts.
struct Holder : TrackedNode {
  using TrackedNode::TrackedNode;
  WeakRef<Instrumented> weak;
  std::vector<WeakRef<Instrumented>> many;
  std::optional<WeakRef<Instrumented>> maybe;
  std::map<int, WeakRef<Instrumented>> by_id;
  std::pair<Ref<Instrumented>, WeakRef<Instrumented>> pair;
  std::tuple<int, WeakRef<Instrumented>> tuple;
  void traverse(ouro::Visitor& v) override {
    TrackedNode::traverse(v);
    v(weak, many, maybe, by_id, pair, tuple);
  }
};

TEST(WeakRef, WeakRefMembersAreVisitedButAreNotReferents) {
  in_fresh_heap([] {
    Events ev;
    auto target = make<TrackedNode>(ev, "target");
    auto h = make<Holder>(ev, "h");
    h->weak = target;
    h->many.emplace_back(target);
    h->maybe = WeakNode(target);
    h->by_id.emplace(1, target);
    h->pair = {target, target};
    std::get<1>(h->tuple) = target;
    EXPECT_EQ(ouro::weakref_count(*target), 6u);
    std::vector<Ref<ouro::Object>> referents = gc::get_referents(*h);
    ASSERT_EQ(referents.size(), 1u);  // the pair's strong half only
    EXPECT_EQ(referents[0], target);
    referents.clear();
    h->pair.first.reset();
    target.reset();
    EXPECT_TRUE(h->weak.expired());
    EXPECT_TRUE(h->many[0].expired());
    EXPECT_TRUE(h->maybe->expired());
    EXPECT_TRUE(h->by_id.at(1).expired());
    EXPECT_TRUE(h->pair.second.expired());
    EXPECT_TRUE(std::get<1>(h->tuple).expired());
  });
}

TEST(WeakRef, AnObjectThatWeaklyReferencesItselfIsCollectedWithItsCycle) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<Holder>(ev, "a");
      auto b = make<Holder>(ev, "b");
      a->next = b;
      b->next = a;
      a->weak = WeakNode(a, logging(ev, "a->a"));
      b->many.emplace_back(a, logging(ev, "b->a"));
      b->maybe = WeakNode(b);
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_EQ(ev.count("callback a->a"), 0u);
    EXPECT_EQ(ev.count("callback b->a"), 0u);
  });
}

}  // namespace
