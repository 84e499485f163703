// Iterative destruction (the trashcan): arbitrarily long chains die, by
// refcount or by collection, without recursion proportional to their
// length (proved on a small stack).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
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

}  // namespace

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
