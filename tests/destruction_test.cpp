// Destruction by reference counting (ouro/object.hpp, ouro/ref.hpp,
// docs/semantics.md): an object dies in the call that drops its last reference —
// finalize() (at most once ever), then the destructor, then the memory; a
// finalizer may resurrect its object; arbitrarily long chains die without
// recursion (the trashcan); exceptions escaping finalize() go to the
// unraisable hook; make<T>() whose constructor throws leaks nothing.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <sstream>
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
using ouro_test::FinalizedNode;
using ouro_test::FinalizerOnlyNode;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

// Redirects std::cerr into a string for the lifetime of the guard.
class CaptureCerr {
 public:
  CaptureCerr() : old_(std::cerr.rdbuf(buffer_.rdbuf())) {}
  ~CaptureCerr() { std::cerr.rdbuf(old_); }
  CaptureCerr(const CaptureCerr&) = delete;
  CaptureCerr& operator=(const CaptureCerr&) = delete;
  std::string text() const { return buffer_.str(); }

 private:
  std::ostringstream buffer_;
  std::streambuf* old_;
};

// True when `s` is "<type 0x...>" with at least one lowercase hex digit
// (the default repr; addresses print as %p).
bool is_default_repr(const std::string& s, const std::string& type) {
  const std::string prefix = "<" + type + " 0x";
  if (s.size() < prefix.size() + 2 || s.compare(0, prefix.size(), prefix) != 0 || s.back() != '>') return false;
  for (std::size_t i = prefix.size(); i + 1 < s.size(); ++i)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

std::string percent_p(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// ---------------------------------------------------------------------------
// The order of events at refcount zero
// ---------------------------------------------------------------------------

std::vector<std::string> g_order;

struct OrderLogged : ouro::Object {
  void finalize() override {
    g_order.push_back("finalize value=" + std::to_string(value) + " rc=" + std::to_string(refcount(*this)));
  }
  ~OrderLogged() override { g_order.push_back("destructor"); }
  // The deleting destructor frees through the most derived operator delete:
  // this records the moment the memory goes back.
  static void operator delete(void* p, std::size_t size) noexcept {
    g_order.push_back("memory");
    ouro::Object::operator delete(p, size);
  }
  int value = 17;
};

}  // namespace

TEST(Destruction, FinalizerRunsBeforeDestructorThenMemoryIsFreed) {
  g_order.clear();
  auto a = make<OrderLogged>();
  EXPECT_TRUE(g_order.empty());
  a.reset();
  // All three in the call that dropped the last reference; the finalizer
  // sees an intact object, with the count held at one (decisions.md).
  EXPECT_EQ(g_order, (std::vector<std::string>{"finalize value=17 rc=1", "destructor", "memory"}));
}

TEST(Destruction, ObjectDiesInTheCallThatDropsTheLastReference) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  Ref<PlainNode> b = a;
  a.reset();
  EXPECT_EQ(ev.destroyed, 0);  // deleting one of two references keeps it alive
  EXPECT_EQ(refcount(*b), 1u);
  EXPECT_EQ(b->name, "a");
  b = nullptr;
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "destroy"}));
}

TEST(Destruction, TrackedObjectsAlsoDieAtRefcountZeroWithoutACollection) {
  ouro_test::in_fresh_heap([] {
    ouro::gc::disable();
    Events ev;
    auto a = make<FinalizedNode>(ev, "a");
    auto b = make<TrackedNode>(ev, "b");
    a->next = b;
    b.reset();
    EXPECT_EQ(ev.destroyed, 0);
    a.reset();  // a dies, and with it the only reference to b
    EXPECT_EQ(ev.log, (std::vector<std::string>{"construct a", "construct b", "finalize a", "destroy a", "destroy b"}));
    EXPECT_TRUE(ouro::gc::get_objects().empty());
    EXPECT_EQ(ouro::gc::get_stats()[0].collections, 0u);
  });
}

namespace {
int g_temp_destroyed = 0;
struct Temporary : ouro::Object {
  ~Temporary() override { ++g_temp_destroyed; }
  int destroyed_so_far() const { return g_temp_destroyed; }
};
int observe(const Temporary& t) { return t.destroyed_so_far(); }
}  // namespace

TEST(Destruction, TemporaryDiesAtTheEndOfItsFullExpression) {
  g_temp_destroyed = 0;
  int seen_during = observe(*make<Temporary>());
  EXPECT_EQ(seen_during, 0);
  EXPECT_EQ(g_temp_destroyed, 1);
  int comma = (make<Temporary>(), g_temp_destroyed);  // read before the temporary goes
  EXPECT_EQ(comma, 1);
  EXPECT_EQ(g_temp_destroyed, 2);
  make<Temporary>();  // discarded result: dies at the semicolon
  EXPECT_EQ(g_temp_destroyed, 3);
}

TEST(Destruction, UntrackedObjectWithFinalizerIsFinalizedThenDestroyed) {
  Events ev;
  make<FinalizerOnlyNode>(ev, "f");
  EXPECT_EQ(ev.of("f"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
}

TEST(Destruction, FinalizerMayTakeAndDropReferencesToItsObjectWithoutDyingTwice) {
  Events ev;
  auto a = make<FinalizerOnlyNode>(ev, "a");
  a->on_finalize = [](ouro_test::Instrumented& self) {
    auto tmp = ouro::ref(&self);
    EXPECT_EQ(refcount(self), 2u);
    std::vector<Ref<ouro::Object>> more(3, tmp);
  };
  a.reset();
  EXPECT_EQ(ev.finalized, 1);
  EXPECT_EQ(ev.destroyed, 1);
  EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
}

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

// ---------------------------------------------------------------------------
// Iterative destruction (the trashcan)
// ---------------------------------------------------------------------------

namespace {
std::size_t g_links_destroyed = 0;
struct UntrackedLink : ouro::Object {
  explicit UntrackedLink(Ref<UntrackedLink> n) : next(std::move(n)) {}
  ~UntrackedLink() override { ++g_links_destroyed; }
  ouro::Unreported<Ref<UntrackedLink>> next;  // untracked on purpose
};
struct TrackedLink : ouro::Object {
  explicit TrackedLink(Ref<TrackedLink> n) : next(std::move(n)) {}
  ~TrackedLink() override { ++g_links_destroyed; }
  void traverse(ouro::Visitor& v) override { v(next); }
  Ref<TrackedLink> next;
};
std::size_t g_chain_finalized = 0;
std::size_t g_chain_destroyed_before_finalize = 0;
struct FinalizedLink : ouro::Object {
  explicit FinalizedLink(Ref<FinalizedLink> n) : next(std::move(n)) {}
  void finalize() override {
    ++g_chain_finalized;
    finalized = true;
    // The rest of the chain is intact while the finalizer runs.
    if (next && next->finalized) ++g_chain_destroyed_before_finalize;
  }
  ~FinalizedLink() override {
    if (!finalized) ++g_chain_destroyed_before_finalize;
    ++g_links_destroyed;
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Ref<FinalizedLink> next;
  bool finalized = false;
};

template <class Link>
Ref<Link> build_chain(std::size_t n) {
  Ref<Link> head;
  for (std::size_t i = 0; i < n; ++i) head = make<Link>(std::move(head));
  return head;
}

constexpr std::size_t kSmallStack = 256 * 1024;
}  // namespace

TEST(Trashcan, MillionNodeTrackedChainDiesOnA256KiBStack) {
  g_links_destroyed = 0;
  ouro_test::on_thread_with_stack(kSmallStack, [] {
    constexpr std::size_t kNodes = 1'000'000;
    Ref<TrackedLink> head = build_chain<TrackedLink>(kNodes);
    EXPECT_EQ(g_links_destroyed, 0u);
    head.reset();
    EXPECT_EQ(g_links_destroyed, kNodes);  // all of it, in the reset() call
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
  EXPECT_EQ(g_links_destroyed, 1'000'000u);
}

TEST(Trashcan, MillionNodeUntrackedChainDiesOnA256KiBStack) {
  g_links_destroyed = 0;
  ouro_test::on_thread_with_stack(kSmallStack, [] {
    Ref<UntrackedLink> head = build_chain<UntrackedLink>(1'000'000);
    head = nullptr;
    EXPECT_EQ(g_links_destroyed, 1'000'000u);
  });
}

TEST(Trashcan, TenMillionNodeChainDiesOnTheMainThreadStack) {
  ASSERT_EQ(getpid(), static_cast<pid_t>(syscall(SYS_gettid))) << "this test must run on the main thread";
  rlimit stack{};
  ASSERT_EQ(getrlimit(RLIMIT_STACK, &stack), 0);
  RecordProperty("stack_limit_bytes", std::to_string(stack.rlim_cur));
  g_links_destroyed = 0;
  constexpr std::size_t kNodes = 10'000'000;
  Ref<UntrackedLink> head = build_chain<UntrackedLink>(kNodes);
  head.reset();
  EXPECT_EQ(g_links_destroyed, kNodes);
}

TEST(Trashcan, LongChainOfObjectsWithFinalizersFinalizesEachOnceBeforeItsDestructor) {
  g_links_destroyed = 0;
  g_chain_finalized = 0;
  g_chain_destroyed_before_finalize = 0;
  ouro_test::on_thread_with_stack(kSmallStack, [] {
    constexpr std::size_t kNodes = 200'000;
    Ref<FinalizedLink> head = build_chain<FinalizedLink>(kNodes);
    head.reset();
    EXPECT_EQ(g_chain_finalized, kNodes);
    EXPECT_EQ(g_links_destroyed, kNodes);
    EXPECT_EQ(g_chain_destroyed_before_finalize, 0u);
  });
}

TEST(Trashcan, WideTreeDiesCompletely) {
  Events ev;
  {
    // Each node holds many children, and each child a long tail.
    auto root = make<PlainNode>(ev, "root");
    for (int i = 0; i < 100; ++i) {
      Ref<ouro_test::Instrumented> tail;
      for (int j = 0; j < 200; ++j) {
        auto n = make<PlainNode>(ev);
        n->next = std::move(tail);
        tail = std::move(n);
      }
      root->links.push_back(std::move(tail));
    }
  }
  EXPECT_EQ(ev.constructed, 1 + 100 * 200);
  EXPECT_EQ(ev.alive(), 0);
}

// ---------------------------------------------------------------------------
// Destructors and constructors that run user code
// ---------------------------------------------------------------------------

namespace {
Ref<ouro::Object> g_made_in_destructor;
int g_temporaries_in_destructor_destroyed = 0;
struct DiesWithoutHeirs : ouro::Object {
  ~DiesWithoutHeirs() override { ++g_temporaries_in_destructor_destroyed; }
};
struct MakesObjectsWhenDestroyed : ouro::Object {
  ~MakesObjectsWhenDestroyed() override {
    g_made_in_destructor = make<DiesWithoutHeirs>();
    make<DiesWithoutHeirs>();  // dies at once, inside this destructor
  }
};
}  // namespace

TEST(Destruction, DestructorMayMakeNewObjects) {
  g_temporaries_in_destructor_destroyed = 0;
  make<MakesObjectsWhenDestroyed>();
  EXPECT_EQ(g_temporaries_in_destructor_destroyed, 1);
  ASSERT_TRUE(g_made_in_destructor);
  EXPECT_EQ(refcount(*g_made_in_destructor), 1u);
  g_made_in_destructor.reset();
  EXPECT_EQ(g_temporaries_in_destructor_destroyed, 2);
}

namespace {
struct MakesTrackedObjectsWhenDestroyed : ouro::Object {
  MakesTrackedObjectsWhenDestroyed(Events& ev, std::vector<Ref<TrackedNode>>& out, Ref<MakesTrackedObjectsWhenDestroyed> n)
      : events(ev), made(out), next(std::move(n)) {}
  ~MakesTrackedObjectsWhenDestroyed() override {
    // Each make may start an automatic collection (threshold 1) in the
    // middle of the cascade; one of them is garbage at once (a self-cycle).
    made.push_back(make<TrackedNode>(events, "heir"));
    auto loop = make<TrackedNode>(events, "loop");
    loop->next = loop;
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Events& events;
  std::vector<Ref<TrackedNode>>& made;
  Ref<MakesTrackedObjectsWhenDestroyed> next;
};
}  // namespace

TEST(Destruction, DestructorsMakingTrackedObjectsDuringALongCascadeWithAutomaticCollections) {
  ouro_test::in_fresh_heap([] {
    ouro::gc::set_threshold(1, 1, 1);
    Events ev;
    std::vector<Ref<TrackedNode>> made;
    constexpr int kChain = 300;
    {
      Ref<MakesTrackedObjectsWhenDestroyed> head;
      for (int i = 0; i < kChain; ++i) head = make<MakesTrackedObjectsWhenDestroyed>(ev, made, std::move(head));
    }
    EXPECT_EQ(made.size(), static_cast<std::size_t>(kChain));
    EXPECT_EQ(ev.constructed, 2 * kChain);
    ouro::gc::collect();
    EXPECT_EQ(ev.alive(), kChain);  // the heirs; every self-cycle was collected
    for (const auto& h : made) {
      EXPECT_EQ(h->name, "heir");
      EXPECT_EQ(refcount(*h), 1u);
      EXPECT_TRUE(ouro::gc::is_tracked(*h));
    }
    made.clear();
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
}

namespace {
int g_collections_in_destructors = 0;
struct CollectsWhenDestroyed : ouro::Object {
  CollectsWhenDestroyed(Events& ev, Ref<CollectsWhenDestroyed> n) : events(ev), next(std::move(n)) {}
  ~CollectsWhenDestroyed() override {
    // The rest of the chain (reachable only from this dying object, or
    // waiting in the destruction queue) must survive these collections.
    auto loop = make<TrackedNode>(events, "loop");
    loop->next = loop;
    loop.reset();
    ouro::gc::collect(g_collections_in_destructors++ % 3);
  }
  void traverse(ouro::Visitor& v) override { v(next); }
  Events& events;
  Ref<CollectsWhenDestroyed> next;
  int value = 99;
};
}  // namespace

TEST(Destruction, DestructorsMayRunCollectionsInTheMiddleOfALongCascade) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    g_collections_in_destructors = 0;
    constexpr int kChain = 200;
    {
      Ref<CollectsWhenDestroyed> head;
      for (int i = 0; i < kChain; ++i) head = make<CollectsWhenDestroyed>(ev, std::move(head));
    }
    EXPECT_EQ(g_collections_in_destructors, kChain);
    ouro::gc::collect();
    EXPECT_EQ(ev.constructed, kChain);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
}

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

// ---------------------------------------------------------------------------
// Exceptions escaping finalize(): the unraisable hook
// ---------------------------------------------------------------------------

namespace {
struct FinalizerThrows : ouro::Object {
  explicit FinalizerThrows(int* d = nullptr) : destroyed(d) {}
  void finalize() override { throw std::runtime_error("boom in finalize"); }
  ~FinalizerThrows() override {
    if (destroyed) ++*destroyed;
  }
  int* destroyed;
};
struct FinalizerThrowsWithRepr : FinalizerThrows {
  std::string repr() const override { return "<custom repr of a thrower>"; }
};
struct FinalizerThrowsNonStd : ouro::Object {
  void finalize() override { throw 42; }
};

std::string message_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "<not a std::exception>";
  }
}
}  // namespace

TEST(Unraisable, ExceptionFromFinalizeGoesToTheHookWithTheObjectAndTheObjectIsStillDestroyed) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    int calls = 0;
    const ouro::Object* reported = nullptr;
    std::string message;
    std::string repr_in_hook;
    int destroyed_when_hook_ran = -1;
    ouro::set_unraisable_hook([&](std::exception_ptr e, const ouro::Object* o) {
      ++calls;
      reported = o;
      message = message_of(e);
      repr_in_hook = o ? o->repr() : "";
      destroyed_when_hook_ran = destroyed;
    });
    auto a = make<FinalizerThrows>(&destroyed);
    const ouro::Object* expected = a.get();
    std::string expected_repr = a->repr();
    EXPECT_NO_THROW(a.reset());
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(reported, expected);
    EXPECT_EQ(message, "boom in finalize");
    EXPECT_EQ(repr_in_hook, expected_repr);  // the object is intact while the hook runs
    EXPECT_EQ(destroyed_when_hook_ran, 0);
    EXPECT_EQ(destroyed, 1);
  });
}

TEST(Unraisable, HookReceivesExceptionsNotDerivedFromStdException) {
  ouro_test::in_fresh_heap([] {
    int value = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr e, const ouro::Object*) {
      try {
        std::rethrow_exception(e);
      } catch (int v) {
        value = v;
      } catch (...) {
      }
    });
    make<FinalizerThrowsNonStd>();
    EXPECT_EQ(value, 42);
  });
}

TEST(Unraisable, DefaultHookPrintsExceptionIgnoredInReprAndTheMessageToStdCerr) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    CaptureCerr capture;
    auto a = make<FinalizerThrows>(&destroyed);
    const std::string repr = a->repr();
    EXPECT_TRUE(is_default_repr(repr, "FinalizerThrows")) << repr;
    a.reset();
    EXPECT_EQ(destroyed, 1);
    std::string out = capture.text();
    EXPECT_EQ(out.rfind("Exception ignored in: " + repr + "\n", 0), 0u) << out;  // the first line
    EXPECT_NE(out.find("boom in finalize"), std::string::npos) << out;
  });
}

TEST(Unraisable, DefaultHookUsesTheObjectsOwnRepr) {
  ouro_test::in_fresh_heap([] {
    CaptureCerr capture;
    make<FinalizerThrowsWithRepr>();
    std::string out = capture.text();
    EXPECT_NE(out.find("Exception ignored in: <custom repr of a thrower>"), std::string::npos) << out;
    EXPECT_NE(out.find("boom in finalize"), std::string::npos) << out;
  });
}

TEST(Unraisable, SettingTheHookToNullptrRestoresTheDefault) {
  ouro_test::in_fresh_heap([] {
    int calls = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object*) { ++calls; });
    make<FinalizerThrows>();
    EXPECT_EQ(calls, 1);
    ouro::set_unraisable_hook(nullptr);
    CaptureCerr capture;
    make<FinalizerThrows>();
    EXPECT_EQ(calls, 1);
    EXPECT_NE(capture.text().find("Exception ignored in: <FinalizerThrows 0x"), std::string::npos) << capture.text();
  });
}

TEST(Unraisable, HookThatRemovesItselfCanStillUseItsCapturesUntilItReturns) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    std::vector<std::string> seen;
    // A capture that owns heap memory: reading it after the hook's
    // std::function was destroyed is a use after free.
    auto label = std::make_shared<std::string>("a label long enough to live on the heap, not in the SSO buffer");
    ouro::set_unraisable_hook([&seen, label](std::exception_ptr e, const ouro::Object*) {
      ouro::set_unraisable_hook(nullptr);
      seen.push_back(*label + ": " + message_of(e));
    });
    label.reset();  // the hook's copy is now the only owner
    make<FinalizerThrows>(&destroyed);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], "a label long enough to live on the heap, not in the SSO buffer: boom in finalize");
    CaptureCerr capture;  // the default hook is back for the next exception
    make<FinalizerThrows>(&destroyed);
    EXPECT_EQ(seen.size(), 1u);
    EXPECT_NE(capture.text().find("boom in finalize"), std::string::npos) << capture.text();
    EXPECT_EQ(destroyed, 2);
  });
}

TEST(Unraisable, HookThatReplacesItselfRunsToTheEndAndTheNewHookGetsTheNextException) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    std::vector<std::string> seen;
    auto first_name = std::make_shared<std::string>("the first hook, with a name too long for the SSO buffer");
    ouro::set_unraisable_hook([&seen, first_name](std::exception_ptr, const ouro::Object*) {
      ouro::set_unraisable_hook([&seen](std::exception_ptr, const ouro::Object*) { seen.push_back("second"); });
      seen.push_back(*first_name);
    });
    first_name.reset();
    make<FinalizerThrows>(&destroyed);
    make<FinalizerThrows>(&destroyed);
    EXPECT_EQ(seen, (std::vector<std::string>{"the first hook, with a name too long for the SSO buffer", "second"}));
  });
}

TEST(Unraisable, HookThatThrowsDoesNotPropagateAndTheObjectIsStillDestroyed) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    ouro::set_unraisable_hook([](std::exception_ptr, const ouro::Object*) { throw std::runtime_error("hook"); });
    CaptureCerr capture;  // whatever the library says about it goes here
    EXPECT_NO_THROW(make<FinalizerThrows>(&destroyed));
    EXPECT_EQ(destroyed, 1);
  });
}

TEST(Unraisable, EveryThrowingFinalizerOfALongDyingChainIsReportedAndEveryNodeDestroyed) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    int reports = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object* o) {
      if (o) ++reports;
    });
    {
      Ref<ouro_test::Instrumented> head;
      for (int i = 0; i < 500; ++i) {
        auto n = make<FinalizerOnlyNode>(ev, std::to_string(i));
        n->on_finalize = [](ouro_test::Instrumented&) { throw std::runtime_error("chain boom"); };
        n->next = std::move(head);
        head = std::move(n);
      }
    }
    EXPECT_EQ(reports, 500);
    EXPECT_EQ(ev.finalized, 500);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Unraisable, ExceptionsFromFinalizersInAGarbageCycleGoToTheHookAndTheCycleIsReclaimed) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    std::vector<const ouro::Object*> reported;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object* o) { reported.push_back(o); });
    const ouro::Object* pa;
    const ouro::Object* pb;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<FinalizedNode>(ev, "b");
      a->on_finalize = b->on_finalize = [](ouro_test::Instrumented&) { throw std::runtime_error("cyclic boom"); };
      a->next = b;
      b->next = a;
      pa = a.get();
      pb = b.get();
    }
    std::size_t found = 0;
    EXPECT_NO_THROW(found = ouro::gc::collect());
    EXPECT_EQ(found, 2u);
    EXPECT_EQ(reported.size(), 2u);
    EXPECT_NE(std::find(reported.begin(), reported.end(), pa), reported.end());
    EXPECT_NE(std::find(reported.begin(), reported.end(), pb), reported.end());
    EXPECT_EQ(ev.destroyed, 2);
  });
}

TEST(Unraisable, HookBelongsToTheThreadThatSetIt) {
  int calls = 0;
  ouro_test::in_fresh_heap([&] {
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object*) { ++calls; });
    ouro_test::in_fresh_heap([] {
      CaptureCerr capture;
      make<FinalizerThrows>();
      EXPECT_NE(capture.text().find("Exception ignored in:"), std::string::npos);
    });
    EXPECT_EQ(calls, 0);
    make<FinalizerThrows>();
    EXPECT_EQ(calls, 1);
  });
}

// ---------------------------------------------------------------------------
// repr() and type_name()
// ---------------------------------------------------------------------------

namespace outer_ns::inner_ns {
struct Namespaced : ouro::Object {};
struct Tag {};
template <class T>
struct Box : ouro::Object {};
}  // namespace outer_ns::inner_ns

namespace {
struct Anonymous : ouro::Object {};
struct Derives : Anonymous {};
}  // namespace

TEST(Repr, DefaultReprIsTypeNameAndAddress) {
  auto a = make<Anonymous>();
  std::string r = a->repr();
  EXPECT_TRUE(is_default_repr(r, "Anonymous")) << r;
  EXPECT_EQ(r, "<Anonymous " + percent_p(static_cast<ouro::Object*>(a.get())) + ">");
}

TEST(Repr, ReprAndTypeNameUseTheDynamicType) {
  Ref<ouro::Object> d = make<Derives>();
  EXPECT_EQ(ouro::type_name(*d), "Derives");
  EXPECT_TRUE(is_default_repr(d->repr(), "Derives")) << d->repr();
}

TEST(Repr, TypeNameDropsNamespacesButKeepsTemplateArguments) {
  EXPECT_EQ(ouro::type_name(*make<outer_ns::inner_ns::Namespaced>()), "Namespaced");
  EXPECT_EQ(ouro::type_name(*make<outer_ns::inner_ns::Box<outer_ns::inner_ns::Tag>>()),
            "Box<outer_ns::inner_ns::Tag>");
  EXPECT_EQ(ouro::type_name(*make<Anonymous>()), "Anonymous");  // "(anonymous namespace)::" dropped
}

TEST(Repr, TypeNameOfAClassLocalToAFunction) {
  struct LocalGraph : ouro::Object {};
  EXPECT_EQ(ouro::type_name(*make<LocalGraph>()), "LocalGraph");
  EXPECT_TRUE(is_default_repr(make<LocalGraph>()->repr(), "LocalGraph"));
}
