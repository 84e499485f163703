// ouro::send and Parcel<T> (ouro/send.hpp): an isolated graph leaves its
// thread's heap and is adopted by the receiving thread's; a graph held from
// outside (a local, a global, an object outside it, a weak reference) is
// refused with not_isolated and nothing changes; an unreceived parcel
// destroys its graph, finalizers and cycles included, where it is dropped.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"
#include "support/throwing_traverse.hpp"

namespace {

using ouro::make;
using ouro::Parcel;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::Instrumented;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

bool tracked_here(const ouro::Object& o) {
  for (const Ref<ouro::Object>& r : ouro::gc::get_objects())
    if (r.get() == &o) return true;
  return false;
}

// root -> a -> b, root -> leaf (untracked); b -> root closes a cycle when asked.
struct Tree {
  Ref<Instrumented> root, a, b, leaf;
};
Tree tree(Events& ev, bool cycle) {
  Tree t;
  t.root = make<FinalizedNode>(ev, "root");
  t.a = make<TrackedNode>(ev, "a");
  t.b = make<FinalizedNode>(ev, "b");
  t.leaf = make<PlainNode>(ev, "leaf");
  t.root->next = t.a;
  t.a->next = t.b;
  t.root->links.push_back(t.leaf);
  if (cycle) t.b->next = t.root;
  return t;
}

// Sends the root of `t`, dropping the other locals first.
Parcel<Instrumented> send_tree(Tree t) {
  t.a.reset();
  t.b.reset();
  t.leaf.reset();
  return ouro::send(std::move(t.root));
}

std::string not_isolated_message(Ref<Instrumented>& root) {
  try {
    Parcel<Instrumented> p = ouro::send(std::move(root));
    ADD_FAILURE() << "send did not throw";
    root = std::move(p).receive();
  } catch (const ouro::not_isolated& e) {
    EXPECT_TRUE(root) << "a refused send empties the root";
    return e.what();
  }
  return "";
}

TEST(SendAndReceive, AnIsolatedGraphLeavesTheSendingHeapAndJoinsTheReceivingOne) {
  Events ev;
  Parcel<Instrumented> parcel;
  ouro_test::in_fresh_heap([&] {
    Tree t = tree(ev, false);
    Instrumented* root = t.root.get();
    ASSERT_TRUE(tracked_here(*root));
    Ref<Instrumented> keep_a_name = t.root;
    keep_a_name.reset();
    parcel = send_tree(std::move(t));
    EXPECT_TRUE(parcel);
    EXPECT_TRUE(ouro::gc::get_objects().empty()) << "every tracked object left the heap";
    EXPECT_EQ(ouro::gc::get_count()[0], 0u);
  });
  EXPECT_EQ(ev.destroyed, 0) << "the sending thread ended; the parcel's graph is untouched";
  ouro_test::in_fresh_heap([&] {
    Ref<Instrumented> root = std::move(parcel).receive();
    EXPECT_FALSE(parcel);
    EXPECT_TRUE(tracked_here(*root));
    EXPECT_TRUE(tracked_here(*root->next));
    EXPECT_EQ(ouro::gc::get_count()[0], 3u) << "the received tracked objects count towards a collection";
    EXPECT_EQ(root->next->next->name, "b");
    EXPECT_EQ(ouro::refcount(*root), 1u);
    EXPECT_EQ(ouro::refcount(*root->links[0]), 1u);
    root.reset();
    EXPECT_EQ(ev.destroyed, 4) << "refcounting works on the receiving thread";
  });
  EXPECT_EQ(ev.finalized, 2);
}

TEST(SendAndReceive, TheRootIsEmptyAfterASendAndTheParcelAfterItsReceive) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Ref<Instrumented> root = make<TrackedNode>(ev, "root");
    Parcel<Instrumented> p = ouro::send(std::move(root));
    EXPECT_FALSE(root);
    Parcel<Instrumented> q = std::move(p);
    EXPECT_FALSE(p);
    EXPECT_THROW((void)std::move(p).receive(), std::logic_error);
    Ref<Instrumented> back = std::move(q).receive();
    EXPECT_FALSE(q);
    EXPECT_EQ(back->name, "root");
  });
}

TEST(SendAndReceive, AnEmptyRefIsRefused) {
  Ref<Instrumented> none;
  EXPECT_THROW(ouro::send(std::move(none)), std::invalid_argument);
}

TEST(SendAndReceive, ACycleInsideTheParcelTravelsAndIsCollectedOnTheReceivingThread) {
  Events ev;
  Parcel<Instrumented> parcel;
  ouro_test::in_fresh_heap([&] { parcel = send_tree(tree(ev, true)); });
  EXPECT_EQ(ev.destroyed, 0);
  ouro_test::in_fresh_heap([&] {
    Ref<Instrumented> root = std::move(parcel).receive();
    root.reset();
    EXPECT_EQ(ev.destroyed, 0) << "the cycle keeps the graph alive";
    EXPECT_EQ(ouro::gc::collect(), 3u);
    EXPECT_EQ(ev.destroyed, 4);
  });
}

TEST(SendAndReceive, AnUnreceivedParcelDestroysItsGraphWithFinalizersAndCyclesWhereItIsDropped) {
  Events ev;
  Parcel<Instrumented> parcel;
  ouro_test::in_fresh_heap([&] { parcel = send_tree(tree(ev, true)); });
  ouro_test::in_fresh_heap([&] {
    { Parcel<Instrumented> doomed = std::move(parcel); }
    EXPECT_EQ(ev.finalized, 2);
    EXPECT_EQ(ev.destroyed, 4) << "the cycle is reclaimed at once, not at some later collection";
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
}

TEST(SendAndReceive, AParcelMovedOverAnotherDestroysTheOne) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Parcel<Instrumented> p = ouro::send(Ref<Instrumented>(make<FinalizedNode>(ev, "first")));
    p = ouro::send(Ref<Instrumented>(make<FinalizedNode>(ev, "second")));
    EXPECT_EQ(ev.of("first"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(std::move(p).receive()->name, "second");
  });
}

// --- not isolated: refused, nothing changes -------------------------------

struct Snapshot {
  std::vector<std::size_t> counts;
  std::size_t tracked;
  explicit Snapshot(const Tree& t)
      : counts{ouro::refcount(*t.root), ouro::refcount(*t.a), ouro::refcount(*t.b), ouro::refcount(*t.leaf)},
        tracked(ouro::gc::get_objects().size()) {}
  bool operator==(const Snapshot&) const = default;
};

TEST(NotIsolated, AnObjectHeldThroughALocalIsRefusedAndNothingChanges) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Tree t = tree(ev, true);
    Ref<Instrumented> root = t.root;
    t.root.reset();
    t.a.reset();
    t.leaf.reset();  // t.b stays: a local outside the graph
    Snapshot before{Tree{root, root->next, t.b, root->links[0]}};
    std::string message = not_isolated_message(root);
    EXPECT_NE(message.find("ouro::send"), std::string::npos) << message;
    EXPECT_NE(message.find("FinalizedNode has 1 reference from outside"), std::string::npos) << message;
    EXPECT_NE(message.find("a local"), std::string::npos) << message;
    EXPECT_EQ((Snapshot{Tree{root, root->next, t.b, root->links[0]}}), before);
    EXPECT_TRUE(tracked_here(*t.b));
    t.b.reset();
    EXPECT_EQ(ev.destroyed, 0);
    root.reset();
    EXPECT_EQ(ouro::gc::collect(), 3u) << "the graph is still an ordinary cycle of this heap";
  });
}

TEST(NotIsolated, ASecondReferenceToTheRootIsRefused) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Ref<Instrumented> root = make<TrackedNode>(ev, "root");
    Ref<Instrumented> copy = root;
    std::string message = not_isolated_message(root);
    EXPECT_NE(message.find("TrackedNode is the root and has 1 reference from outside"), std::string::npos)
        << message;
  });
}

Ref<Instrumented>& global_ref() {
  static Ref<Instrumented>* r = new Ref<Instrumented>;
  return *r;
}

TEST(NotIsolated, AnObjectHeldThroughAGlobalIsRefused) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Tree t = tree(ev, false);
    global_ref() = t.leaf;
    Ref<Instrumented> root = t.root;
    t = Tree{};
    std::string message = not_isolated_message(root);
    EXPECT_NE(message.find("PlainNode has 1 reference from outside"), std::string::npos) << message;
    global_ref().reset();
    EXPECT_NO_THROW(std::move(ouro::send(std::move(root))).receive());
  });
}

TEST(NotIsolated, AnObjectHeldByAnObjectOutsideTheGraphIsRefusedNamingTheHolderAndItsChain) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    Tree t = tree(ev, false);
    Ref<Instrumented> outside = make<TrackedNode>(ev, "outside");
    Ref<Instrumented> owner = make<TrackedNode>(ev, "owner");
    owner->next = outside;
    outside->next = t.b;
    outside.reset();
    Ref<Instrumented> root = t.root;
    t = Tree{};
    std::string message = not_isolated_message(root);
    EXPECT_NE(message.find("FinalizedNode has 1 reference from outside"), std::string::npos) << message;
    EXPECT_NE(message.find("held by a TrackedNode outside the graph, reached by TrackedNode -> TrackedNode"),
              std::string::npos)
        << message;
  });
}

// --- weak references --------------------------------------------------------

struct WeakHolder : ouro::Object {
  Ref<WeakHolder> child;
  ouro::WeakRef<WeakHolder> parent;
  void traverse(ouro::Visitor& v) override { v(child, parent); }
};

TEST(NotIsolated, AnObjectWeaklyReferencedFromOutsideIsRefused) {
  ouro_test::in_fresh_heap([] {
    Ref<WeakHolder> root = make<WeakHolder>();
    root->child = make<WeakHolder>();
    ouro::WeakRef<WeakHolder> outside(root->child);
    try {
      (void)ouro::send(std::move(root));
      ADD_FAILURE() << "send did not throw";
    } catch (const ouro::not_isolated& e) {
      EXPECT_NE(std::string(e.what()).find("WeakHolder has a weak reference from outside the graph"),
                std::string::npos)
          << e.what();
    }
    EXPECT_EQ(ouro::weakref_count(*root->child), 1u);
    EXPECT_FALSE(outside.expired());
  });
}

TEST(NotIsolated, AGraphWeaklyReferencingAnObjectOutsideItIsRefused) {
  ouro_test::in_fresh_heap([] {
    Ref<WeakHolder> elsewhere = make<WeakHolder>();
    Ref<WeakHolder> root = make<WeakHolder>();
    root->parent = elsewhere;
    try {
      (void)ouro::send(std::move(root));
      ADD_FAILURE() << "send did not throw";
    } catch (const ouro::not_isolated& e) {
      EXPECT_NE(std::string(e.what()).find("is outside the graph, and weakly referenced from inside it"),
                std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(root);
  });
}

TEST(SendAndReceive, WeakReferencesInsideTheGraphTravelWithItAndCallBackOnTheReceivingThread) {
  Parcel<WeakHolder> parcel;
  int callbacks = 0;
  ouro_test::in_fresh_heap([&] {
    Ref<WeakHolder> root = make<WeakHolder>();
    root->child = make<WeakHolder>();
    root->child->parent = ouro::WeakRef<WeakHolder>(root, [&callbacks](ouro::WeakRef<WeakHolder>&) { ++callbacks; });
    Ref<WeakHolder> expired_target = make<WeakHolder>();
    root->parent = expired_target;
    expired_target.reset();  // an expired weak reference may point anywhere
    parcel = ouro::send(std::move(root));
  });
  ouro_test::in_fresh_heap([&] {
    Ref<WeakHolder> root = std::move(parcel).receive();
    EXPECT_EQ(ouro::weakref_count(*root), 1u);
    EXPECT_EQ(root->child->parent.lock(), root);
    Ref<WeakHolder> child = root->child;
    root.reset();
    EXPECT_TRUE(child->parent.expired());
    EXPECT_EQ(callbacks, 1);
  });
}

// A self-cycle whose finalizer stores it in `keep`, once.
struct Phoenix : ouro::Object {
  explicit Phoenix(Ref<Phoenix>& k) : keep(k) {}
  void traverse(ouro::Visitor& v) override { v(self); }
  void finalize() override {
    if (!keep) keep = ouro::ref(this);
  }
  Ref<Phoenix>& keep;
  Ref<Phoenix> self;
};

struct WeakToPhoenix : ouro::Object {
  ouro::WeakRef<Phoenix> weak;
  void traverse(ouro::Visitor& v) override { v(weak); }
};

// A collection clears the weak references to its garbage before finalizers
// run: one that a finalizer resurrects stays expired for good, so the graph
// holding it refers to nothing outside and may leave.
TEST(SendAndReceive, AWeakReferenceExpiredByACollectionTravelsWhileItsResurrectedTargetStays) {
  Parcel<WeakToPhoenix> parcel;
  ouro_test::in_fresh_heap([&] {
    Ref<Phoenix> resurrected;
    Ref<Phoenix> target = make<Phoenix>(resurrected);
    target->self = target;
    Ref<WeakToPhoenix> root = make<WeakToPhoenix>();
    root->weak = target;
    target.reset();
    ouro::gc::collect();
    ASSERT_TRUE(resurrected) << "the finalizer did not run";
    ASSERT_TRUE(root->weak.expired());
    parcel = ouro::send(std::move(root));
    EXPECT_FALSE(root);
    EXPECT_TRUE(tracked_here(*resurrected));
    EXPECT_EQ(ouro::weakref_count(*resurrected), 0u);
    resurrected->self.reset();
  });
  ouro_test::in_fresh_heap([&] {
    Ref<WeakToPhoenix> root = std::move(parcel).receive();
    EXPECT_TRUE(root->weak.expired());
    EXPECT_FALSE(root->weak.lock());
  });
}

// Immortal objects live for ever: kept reachable here for LeakSanitizer,
// with the Events they report into.
std::vector<const ouro::Object*>& immortals() {
  static auto* kept = new std::vector<const ouro::Object*>;
  return *kept;
}

TEST(NotIsolated, AnImmortalObjectIsNeverIsolated) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    static Events* forever = new Events;
    Ref<Instrumented> root = make<TrackedNode>(ev, "root");
    root->next = make<PlainNode>(*forever, "immortal");
    ouro::immortalize(*root->next);
    immortals().push_back(root->next.get());
    std::string message = not_isolated_message(root);
    EXPECT_NE(message.find("PlainNode is immortal"), std::string::npos) << message;
  });
}

TEST(SendAndReceive, RefusedDuringACollectionOfTheSendingThread) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    bool refused = false;
    {
      Ref<Instrumented> a = make<FinalizedNode>(ev, "a");
      a->next = a;
      a->on_finalize = [&](Instrumented&) {
        Ref<Instrumented> other = make<TrackedNode>(ev, "other");
        try {
          (void)ouro::send(std::move(other));
        } catch (const std::logic_error& e) {
          refused = std::string(e.what()).find("during a collection") != std::string::npos;
        }
      };
    }
    ouro::gc::collect();
    EXPECT_TRUE(refused);
  });
}

struct ThrowsOnSecondTraverse : ouro::Object {
  Ref<ouro::Object> child;
  int traversals = 0;
  void traverse(ouro::Visitor& v) override {
    if (++traversals == 2) throw std::runtime_error("traverse failed");
    v(child);
  }
};

TEST(SendAndReceive, ATraverseThatThrowsLeavesTheGraphAsItWas) {
  ouro_test::in_fresh_heap([] {
    Ref<ThrowsOnSecondTraverse> root = make<ThrowsOnSecondTraverse>();
    root->child = root;  // reached twice: traversed once
    root->traversals = 1;
    EXPECT_THROW((void)ouro::send(std::move(root)), std::runtime_error);
    ASSERT_TRUE(root);
    EXPECT_EQ(ouro::refcount(*root), 2u);
    EXPECT_TRUE(tracked_here(*root));
    root->child.reset();
  });
}

// Naming the holder of a graph that is not isolated runs the traverse() of
// every tracked object: what one throws comes out of send() (not lost in
// favour of not_isolated), and the graph is left as it was.
TEST(SendAndReceive, ATraverseThatThrowsWhileTheHolderIsNamedComesOutOfSend) {
  ouro_test::in_fresh_heap([] {
    Ref<WeakHolder> root = make<WeakHolder>();
    root->child = make<WeakHolder>();
    Ref<ouro_test::ThrowingTraverse> holder = make<ouro_test::ThrowingTraverse>();
    holder->next = root->child;
    ouro_test::ThrowingTraverse::armed = true;
    EXPECT_THROW((void)ouro::send(std::move(root)), std::runtime_error);
    ouro_test::ThrowingTraverse::armed = false;
    ASSERT_TRUE(root);
    EXPECT_EQ(ouro::refcount(*root), 1u);
    EXPECT_EQ(ouro::refcount(*root->child), 2u);
    EXPECT_TRUE(tracked_here(*root));
    EXPECT_TRUE(tracked_here(*root->child));
    EXPECT_THROW((void)ouro::send(std::move(root)), ouro::not_isolated);
  });
}

TEST(SendAndReceive, AThreadThatOnlyReceivesAndDropsCyclesCollectsThemAutomatically) {
  std::vector<Parcel<Instrumented>> parcels;
  Events ev;
  ouro_test::in_fresh_heap([&] {
    for (int i = 0; i < 50; ++i) parcels.push_back(send_tree(tree(ev, true)));
  });
  ouro_test::in_fresh_heap([&] {
    ouro::gc::set_threshold(10);
    for (Parcel<Instrumented>& p : parcels) std::move(p).receive().reset();
    EXPECT_GT(ouro::gc::get_stats()[0].collections, 0u) << "receiving counts as making";
    EXPECT_LE(ouro::gc::get_objects().size(), 10u + 3u);
  });
  EXPECT_EQ(ev.destroyed, 4 * 50);
}

// --- a pipeline: one producer, two consumers ---------------------------------

std::atomic<int> pipeline_alive{0};

// A small graph with a cycle: head -> tail -> head.
struct PipelineNode : ouro::Object {
  PipelineNode() { pipeline_alive.fetch_add(1, std::memory_order_relaxed); }
  ~PipelineNode() override { pipeline_alive.fetch_sub(1, std::memory_order_relaxed); }
  Ref<PipelineNode> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

TEST(SendAndReceive, AProducerHandsGraphsWithCyclesToTwoConsumersAndEveryCycleIsReclaimed) {
  std::mutex m;
  std::condition_variable cv;
  std::deque<Parcel<PipelineNode>> queue;
  bool done = false;
  constexpr int kGraphs = 500;
  std::atomic<int> received{0};
  auto consumer = [&] {
    for (;;) {
      Parcel<PipelineNode> p;
      {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return !queue.empty() || done; });
        if (queue.empty()) break;
        p = std::move(queue.front());
        queue.pop_front();
      }
      Ref<PipelineNode> head = std::move(p).receive();
      EXPECT_EQ(head->next->next, head);
      received.fetch_add(1, std::memory_order_relaxed);
    }
    ouro::gc::collect();
  };
  std::thread c1(consumer);
  std::thread c2(consumer);
  std::thread producer([&] {
    for (int i = 0; i < kGraphs; ++i) {
      Ref<PipelineNode> head = make<PipelineNode>();
      head->next = make<PipelineNode>();
      head->next->next = head;
      Parcel<PipelineNode> p = ouro::send(std::move(head));
      std::lock_guard<std::mutex> lock(m);
      queue.push_back(std::move(p));
      cv.notify_one();
    }
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_all();
  });
  producer.join();
  c1.join();
  c2.join();
  EXPECT_EQ(received.load(), kGraphs);
  EXPECT_EQ(pipeline_alive.load(), 0) << "every cycle reclaimed on the consumers";
}

}  // namespace
