// ouro::share and Shared<T> (ouro/share.hpp): a frozen graph leaves its
// heap, is read by many threads that copy Refs into it without counting,
// and is destroyed, finalizers and cycles included, by the thread that
// drops its last Shared; checked builds catch a copy that outlives every
// Shared and a write that drops a reference the graph holds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro::Shared;

std::atomic<int> nodes_alive{0};
std::atomic<int> nodes_finalized{0};
std::atomic<std::thread::id> last_destroyed_on{};

// A binary tree whose leaves point back at the root (a cycle per leaf).
struct TreeNode : ouro::Object {
  explicit TreeNode(int v) : value(v) { nodes_alive.fetch_add(1, std::memory_order_relaxed); }
  ~TreeNode() override {
    last_destroyed_on.store(std::this_thread::get_id(), std::memory_order_relaxed);
    nodes_alive.fetch_sub(1, std::memory_order_relaxed);
  }
  void finalize() override { nodes_finalized.fetch_add(1, std::memory_order_relaxed); }
  void traverse(ouro::Visitor& v) override { v(left, right, up); }
  int value;
  Ref<TreeNode> left, right, up;
};

Ref<TreeNode> build(int depth, int& next, const Ref<TreeNode>& root) {
  auto n = make<TreeNode>(next++);
  if (depth == 0) {
    n->up = root;
  } else {
    const Ref<TreeNode>& r = root ? root : n;
    n->left = build(depth - 1, next, r);
    n->right = build(depth - 1, next, r);
  }
  return n;
}
Ref<TreeNode> build_tree(int depth) {
  int next = 0;
  return build(depth, next, {});
}

// Walks the tree copying a Ref at every step (what readers do).
long long walk_sum(const TreeNode* root) {
  long long sum = 0;
  std::vector<Ref<TreeNode>> stack{root->left, root->right};
  sum += root->value;
  while (!stack.empty()) {
    Ref<TreeNode> n = std::move(stack.back());
    stack.pop_back();
    if (!n) continue;
    sum += n->value;
    stack.push_back(n->left);
    stack.push_back(n->right);
  }
  return sum;
}

TEST(Share, AFrozenGraphLeavesTheHeapAndCountsNothing) {
  ouro_test::in_fresh_heap([] {
    Ref<TreeNode> root = build_tree(3);
    EXPECT_EQ(ouro::gc::get_objects().size(), 15u);
    Shared<TreeNode> s = ouro::share(std::move(root));
    EXPECT_FALSE(root);
    EXPECT_TRUE(ouro::gc::get_objects().empty()) << "the collector never scans it again";
    EXPECT_EQ(ouro::gc::get_count()[0], 0u);
    Ref<TreeNode> left = s->left;
    EXPECT_EQ(ouro::refcount(*left), ouro::immortal_refcount);
    EXPECT_EQ(ouro::gc::collect(), 0u);
    EXPECT_EQ(walk_sum(s.get()), 0 + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14);
    left.reset();
    int before = nodes_alive.load();
    s.reset();
    EXPECT_EQ(nodes_alive.load(), before - 15) << "the last Shared destroys the graph, its cycles at once";
  });
}

TEST(Share, AGraphHeldFromOutsideIsNotShared) {
  ouro_test::in_fresh_heap([] {
    Ref<TreeNode> root = build_tree(2);
    Ref<TreeNode> kept = root->left->right;
    try {
      (void)ouro::share(std::move(root));
      ADD_FAILURE() << "share did not throw";
    } catch (const ouro::not_isolated& e) {
      EXPECT_NE(std::string(e.what()).find("ouro::share: the graph of the TreeNode is not isolated"),
                std::string::npos)
          << e.what();
    }
    ASSERT_TRUE(root);
    EXPECT_EQ(ouro::refcount(*kept), 2u);
    EXPECT_EQ(ouro::gc::get_objects().size(), 7u);
    EXPECT_THROW((void)ouro::share(Ref<TreeNode>(kept)), ouro::not_isolated);
  });
}

TEST(Share, AFrozenObjectCannotBeWeaklyReferencedOrSharedAgain) {
  ouro_test::in_fresh_heap([] {
    Shared<TreeNode> s = ouro::share(build_tree(1));
    Ref<TreeNode> left = s->left;
    EXPECT_THROW(ouro::WeakRef<TreeNode>{left}, std::invalid_argument);
    EXPECT_THROW((void)ouro::share(std::move(left)), std::invalid_argument);
  });
}

TEST(Share, EightReadersWalkAFrozenTreeWhileHandlesComeAndGoAndTheLastDropsIt) {
  const int before = nodes_alive.load();
  const int finalized_before = nodes_finalized.load();
  Shared<TreeNode> shared;
  ouro_test::in_fresh_heap([&] { shared = ouro::share(build_tree(8)); });  // 511 nodes
  const long long expected = 510LL * 511 / 2;
  EXPECT_EQ(nodes_alive.load(), before + 511) << "the sharing thread ended: the graph lives on";
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  std::vector<std::thread::id> ids;
  for (int i = 0; i < 8; ++i) {
    readers.emplace_back([copy = shared, &started, expected]() mutable {
      started.fetch_add(1);
      while (started.load() < 8) std::this_thread::yield();
      for (int round = 0; round < 20; ++round) {
        Shared<TreeNode> mine = copy;  // handles come and go
        Ref<TreeNode> kept = mine->right->left;
        EXPECT_EQ(walk_sum(mine.get()), expected);
        EXPECT_EQ(kept->value, mine->right->left->value);
      }
    });
    ids.push_back(readers.back().get_id());
  }
  shared.reset();  // the readers hold the only handles now
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(nodes_alive.load(), before) << "destroyed by the last reader, cycles included";
  EXPECT_EQ(nodes_finalized.load(), finalized_before + 511);
  std::thread::id last = last_destroyed_on.load();
  EXPECT_NE(std::find(ids.begin(), ids.end(), last), ids.end()) << "on a reader's thread";
}

// A reader's own objects may hold Refs to frozen objects; its collector
// ignores them, and breaking its own cycles drops them without counting.
struct Holder : ouro::Object {
  Ref<Holder> self;
  Ref<TreeNode> frozen;
  void traverse(ouro::Visitor& v) override { v(self, frozen); }
};

TEST(Share, AReadersCycleHoldingAFrozenObjectIsCollectedOnTheReader) {
  ouro_test::in_fresh_heap([] {
    Shared<TreeNode> s = ouro::share(build_tree(2));
    {
      Ref<Holder> h = make<Holder>();
      h->self = h;
      h->frozen = s->left;
    }
    EXPECT_EQ(ouro::gc::collect(), 1u);
    EXPECT_EQ(s->left->left->up.get(), s.get());
  });
}

TEST(Share, AnIsolatedGraphCanBeSentThenShared) {
  ouro::Parcel<TreeNode> p;
  ouro_test::in_fresh_heap([&] { p = ouro::send(build_tree(2)); });
  Shared<TreeNode> s;
  ouro_test::in_fresh_heap([&] { s = ouro::share(std::move(p).receive()); });
  EXPECT_EQ(walk_sum(s.get()), 21);
}

#if OURO_CHECKS
using ShareDeathTest = ::testing::Test;

TEST(ShareDeathTest, ACopyOutlivingEveryShared) {
  EXPECT_DEATH(
      {
        Shared<TreeNode> s = ouro::share(build_tree(1));
        Ref<TreeNode> copy = s->left;
        s.reset();
      },
      "ouro: fatal: a Ref to an object of a shared graph outlived every ouro::Shared");
}

TEST(ShareDeathTest, AWriteDroppingAReferenceTheFrozenGraphHolds) {
  EXPECT_DEATH(
      {
        Shared<TreeNode> s = ouro::share(build_tree(1));
        const_cast<TreeNode*>(s.get())->left.reset();
      },
      "ouro: fatal: a reference that a shared \\(frozen\\) graph holds was dropped");
}

TEST(ShareDeathTest, AReadersObjectStoredIntoTheFrozenGraphMakingACycleBackIntoIt) {
  EXPECT_DEATH(
      {
        Shared<TreeNode> s = ouro::share(build_tree(1));
        Ref<TreeNode> mine = make<TreeNode>(99);
        mine->up = s->left;
        const_cast<TreeNode*>(s.get())->up = mine;
        mine.reset();
        s.reset();
      },
      "ouro: fatal: a Ref to an object of a shared graph outlived every ouro::Shared");
}
#endif

}  // namespace
