// inspect::shortest_cycle (ouro/inspect.hpp): the shortest cycle through an
// object, edge by edge with field names, starting and ending at it; none
// when no cycle passes through it. Found breadth-first, so the work is
// linear: it is counted here in arcs looked at (never timed), on a
// 100,000-object strongly connected group whose shortest cycle through the
// subject has three references. The query obeys the rules of every query
// (it pins what it reads; user code that meddles under it; from inside a
// collection; refused from a traverse() that the collector runs).
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "inspect_graph.hpp"  // HeapGraph::cycle_search_work
#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro::WeakRef;
using ouro_test::Anon;
using ouro_test::Box;
using ouro_test::Holder;
using ouro_test::in_fresh_heap;

// "a .next-> b .children-> a": the cycle as the query reports it, in order.
std::string text_of(const std::optional<inspect::Cycle>& c) {
  if (!c) return "none";
  std::string out = c->edges.empty() ? "" : c->edges.front().from->repr();
  for (const inspect::Edge& e : c->edges) out += " ." + e.field + "-> " + e.to->repr();
  return out;
}

// The reported cycle is a closed walk through `o`: objects[i] is the start
// of edges[i], each edge ends where the next begins, the last ends at `o`.
void expect_closed_at(const inspect::Cycle& c, const Object& o) {
  ASSERT_FALSE(c.edges.empty());
  ASSERT_EQ(c.objects.size(), c.edges.size());
  EXPECT_EQ(c.objects.front().get(), &o);
  for (std::size_t i = 0; i < c.edges.size(); ++i) {
    EXPECT_EQ(c.edges[i].from, c.objects[i]);
    EXPECT_EQ(c.edges[i].to.get(), i + 1 < c.edges.size() ? c.objects[i + 1].get() : &o);
  }
}

TEST(ShortestCycle, GivesTheShortestLoopThroughTheObjectNotItsWholeGroup) {
  in_fresh_heap([] {
    // a -> b -> c -> d -> a, and a shortcut c -> a: one group of four, and
    // the shortest cycle through a is a -> b -> c -> a.
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->next = make<Box>("c");
    a->next->next->next = make<Box>("d");
    a->next->next->next->next = a;
    a->next->next->children.push_back(a);
    ASSERT_EQ(inspect::find_cycles(*a).size(), 1u);
    EXPECT_EQ(inspect::find_cycles(*a)[0].objects.size(), 4u);
    std::optional<inspect::Cycle> c = inspect::shortest_cycle(*a);
    EXPECT_EQ(text_of(c), "a .next-> b .next-> c .children-> a");
    ASSERT_TRUE(c);
    expect_closed_at(*c, *a);
    EXPECT_FALSE(c->garbage);
    // Through d, the only cycle is the long one.
    EXPECT_EQ(text_of(inspect::shortest_cycle(*a->next->next->next)), "d .next-> a .next-> b .next-> c .next-> d");
    c.reset();
    a->next->next->children.clear();
    a->next->next->next->next.reset();
  });
}

TEST(ShortestCycle, ASelfReferenceIsOneObjectAndOneEdge) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("self");
    a->next = make<Box>("other");
    a->next->next = a;
    a->by_name["me"] = a;
    std::optional<inspect::Cycle> c = inspect::shortest_cycle(*a);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->objects.size(), 1u);
    EXPECT_EQ(text_of(c), "self .by_name-> self");
    c.reset();
    a->by_name.clear();
    a->next.reset();
  });
}

TEST(ShortestCycle, UnnamedReferencesHaveAnEmptyField) {
  in_fresh_heap([] {
    Ref<Anon> a = make<Anon>("x");
    a->link = make<Anon>("y");
    static_cast<Anon&>(*a->link).extra = a;
    EXPECT_EQ(text_of(inspect::shortest_cycle(*a)), "x .-> y .-> x");
    a->link.reset();
  });
}

TEST(ShortestCycle, NoneWhenNoCyclePassesThroughTheObject) {
  in_fresh_heap([] {
    // head -> ring member, ring of two, ring -> tail: neither head nor tail
    // is on a cycle.
    Ref<Box> head = make<Box>("head");
    head->next = make<Box>("r1");
    head->next->next = make<Box>("r2");
    head->next->next->next = head->next;
    head->next->children.push_back(make<Box>("tail"));
    EXPECT_EQ(text_of(inspect::shortest_cycle(*head)), "none");
    EXPECT_EQ(text_of(inspect::shortest_cycle(*head->next->children[0])), "none");
    EXPECT_EQ(text_of(inspect::shortest_cycle(*head->next)), "r1 .next-> r2 .next-> r1");
    // Untracked: no references out, never on a cycle.
    Ref<Holder> untracked = make<Holder>(head);
    EXPECT_EQ(text_of(inspect::shortest_cycle(*untracked)), "none");
    head->next->next->next.reset();
  });
}

TEST(ShortestCycle, GarbageWhenNothingOutsideKeepsTheCycle) {
  in_fresh_heap([] {
    gc::disable();
    Box* a;
    {
      Ref<Box> r = make<Box>("g1");
      r->next = make<Box>("g2");
      r->next->next = r;
      a = r.get();
    }
    std::optional<inspect::Cycle> c = inspect::shortest_cycle(*a);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->garbage);
    EXPECT_EQ(text_of(c), "g1 .next-> g2 .next-> g1");
    c.reset();
    EXPECT_EQ(gc::collect(), 2u);
  });
}

TEST(ShortestCycle, LeavesEveryRefcountAsItWas) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->next = a;
    const std::size_t rc_a = ouro::refcount(*a), rc_b = ouro::refcount(*a->next);
    EXPECT_TRUE(inspect::shortest_cycle(*a));
    EXPECT_EQ(ouro::refcount(*a), rc_a);
    EXPECT_EQ(ouro::refcount(*a->next), rc_b);
    a->next.reset();
  });
}

// ---------------------------------------------------------------------------
// Linear work on a large group
// ---------------------------------------------------------------------------

// `next` closes a ring through every node (so all are one strongly
// connected group), `links` are extra references, `hot` plants a cycle.
struct Node : Object {
  explicit Node(std::uint32_t i) : id(i) {}
  std::string repr() const override { return "n" + std::to_string(id); }
  std::uint32_t id;
  Ref<Node> next, hot;
  std::vector<Ref<Node>> links;
  OURO_TRAVERSE(next, links, hot)
};

constexpr std::uint32_t kGroup = 100'000;

std::vector<Ref<Node>> ring_of(std::uint32_t n) {
  std::vector<Ref<Node>> all;
  all.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) all.push_back(make<Node>(i));
  for (std::uint32_t i = 0; i < n; ++i) all[i]->next = all[(i + 1) % n];
  return all;
}

void unlink(std::vector<Ref<Node>>& all) {
  for (Ref<Node>& n : all) {
    n->next.reset();
    n->hot.reset();
    n->links.clear();
  }
  all.clear();
}

// kGroup nodes, four references each: the ring and three pseudo-random
// others. Only the ring's last node and n70001 refer to n0, and nothing but
// the ring refers to the last node, so the one cycle of three through n0 is
// the planted n0 -hot-> n40000 -hot-> n70001 -hot-> n0, and none is
// shorter. `arcs` is the number of references in all.
std::vector<Ref<Node>> dense_group(std::size_t& arcs) {
  std::vector<Ref<Node>> all = ring_of(kGroup);
  const std::uint32_t a = 40'000, b = 70'001, last = kGroup - 1;
  std::uint64_t seed = 12345;
  arcs = kGroup;
  for (std::uint32_t i = 0; i < kGroup; ++i)
    for (int k = 0; k < 3; ++k) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      auto to = static_cast<std::uint32_t>((seed >> 33) % kGroup);
      if (to == 0 || to == b || to == last || (i == 0 && to == last - 1)) continue;
      all[i]->links.push_back(all[to]);
      ++arcs;
    }
  all[0]->hot = all[a];
  all[a]->hot = all[b];
  all[b]->hot = all[0];
  arcs += 3;
  return all;
}

TEST(ShortestCycle, FindsThreeEdgesInsideAHundredThousandObjectGroupInLinearWork) {
  in_fresh_heap([] {
    gc::disable();
    std::size_t arcs = 0;
    std::vector<Ref<Node>> all = dense_group(arcs);
    const std::uint64_t before = ouro::detail::HeapGraph::cycle_search_work();
    std::optional<inspect::Cycle> c = inspect::shortest_cycle(*all[0]);
    const std::uint64_t work = ouro::detail::HeapGraph::cycle_search_work() - before;
    EXPECT_EQ(text_of(c), "n0 .hot-> n40000 .hot-> n70001 .hot-> n0");
    ASSERT_TRUE(c);
    expect_closed_at(*c, *all[0]);
    EXPECT_FALSE(c->garbage);
    // Each arc is looked at once at most; this one stops two levels out.
    EXPECT_GT(work, 0u);
    EXPECT_LE(work, arcs);
    c.reset();
    // find_cycles(o) still gives the whole group.
    std::vector<inspect::Cycle> groups = inspect::find_cycles(*all[0]);
    ASSERT_EQ(groups.size(), 1u);
    EXPECT_EQ(groups[0].objects.size(), kGroup);
    groups.clear();
    unlink(all);
  });
}

TEST(ShortestCycle, TheHtmlReportShowsTheThreeEdgesOfAHundredThousandObjectGroup) {
  in_fresh_heap([] {
    gc::disable();
    std::size_t arcs = 0;
    std::vector<Ref<Node>> all = dense_group(arcs);
    std::ostringstream page;
    inspect::write_html(page);
    // The group's first member is n0, the first object made.
    const std::string html = page.str();
    const std::size_t at = html.find("Shortest cycle through ");
    ASSERT_NE(at, std::string::npos);
    const std::string line = html.substr(at, html.find("</p>", at) - at);
    EXPECT_NE(line.find("(3 references)"), std::string::npos) << line;
    for (const char* part : {">n0<", ">n40000<", ">n70001<"}) EXPECT_NE(line.find(part), std::string::npos) << line;
    std::size_t hot = 0;
    for (std::size_t p = 0; (p = line.find("<span class=\"field\">.hot</span>", p)) != std::string::npos; ++p) ++hot;
    EXPECT_EQ(hot, 3u) << line;
    unlink(all);
  });
}

TEST(ShortestCycle, AHundredThousandObjectRingIsWalkedOnce) {
  in_fresh_heap([] {
    gc::disable();
    std::vector<Ref<Node>> all = ring_of(kGroup);
    const std::uint64_t before = ouro::detail::HeapGraph::cycle_search_work();
    std::optional<inspect::Cycle> c = inspect::shortest_cycle(*all[7]);
    const std::uint64_t work = ouro::detail::HeapGraph::cycle_search_work() - before;
    ASSERT_TRUE(c);
    EXPECT_EQ(c->edges.size(), kGroup);
    expect_closed_at(*c, *all[7]);
    EXPECT_EQ(work, kGroup);  // every reference of the ring, once
    c.reset();
    unlink(all);
  });
}

// ---------------------------------------------------------------------------
// The rules every query follows
// ---------------------------------------------------------------------------

// A tracked object whose traverse() runs `once` the first time it is called
// after being armed.
struct Meddler : Object {
  std::string repr() const override { return "meddler"; }
  void traverse(ouro::Visitor& v) override {
    v.named("victim", victim);
    if (std::function<void()> run = std::exchange(once, nullptr)) run();
  }
  Ref<Box> victim;
  std::function<void()> once;
};

// live-a <-> live-b, held by a local; a meddler made first (traversed
// first) holding victim -> victim-tail; automatic collection due at the
// next tracked make.
struct MeddledHeap {
  Ref<Meddler> meddler = make<Meddler>();
  Ref<Box> a;
  WeakRef<Box> victim;
  MeddledHeap() {
    gc::disable();
    meddler->victim = make<Box>("victim");
    meddler->victim->next = make<Box>("victim-tail");
    victim = WeakRef<Box>(meddler->victim);
    a = make<Box>("live-a");
    a->next = make<Box>("live-b");
    a->next->next = a;
    gc::set_threshold(1);
    gc::enable();
  }
  ~MeddledHeap() { a->next.reset(); }
};

std::size_t collections() {
  std::size_t n = 0;
  for (const gc::GenerationStats& s : gc::get_stats()) n += s.collections;
  return n;
}

TEST(ShortestCycle, UserCodeThatMakesObjectsDuringTheWalkChangesNothingItAnswers) {
  in_fresh_heap([] {
    MeddledHeap heap;
    const std::size_t before = collections(), rc_a = ouro::refcount(*heap.a);
    heap.meddler->once = [] {
      for (int i = 0; i < 3; ++i) {
        Ref<Box> made = make<Box>("newborn");
        made->next = made;
      }
    };
    EXPECT_EQ(text_of(inspect::shortest_cycle(*heap.a)), "live-a .next-> live-b .next-> live-a");
    EXPECT_EQ(collections(), before) << "no collection under the query";
    EXPECT_EQ(ouro::refcount(*heap.a), rc_a);
    make<Box>("after");  // the deferred collection runs now
    EXPECT_GT(collections(), before);
  });
}

TEST(ShortestCycle, AnObjectReleasedDuringTheWalkDiesAfterIt) {
  in_fresh_heap([] {
    MeddledHeap heap;
    heap.meddler->once = [&] { heap.meddler->victim.reset(); };  // victim and tail: no other reference
    EXPECT_EQ(text_of(inspect::shortest_cycle(*heap.a)), "live-a .next-> live-b .next-> live-a");
    EXPECT_TRUE(heap.victim.expired()) << "released during the query: dies as it returns";
  });
}

TEST(ShortestCycle, CollectCalledDuringTheWalkReturnsZero) {
  in_fresh_heap([] {
    MeddledHeap heap;
    std::size_t collected_inside = SIZE_MAX;
    heap.meddler->once = [&] { collected_inside = gc::collect(); };
    EXPECT_EQ(text_of(inspect::shortest_cycle(*heap.a)), "live-a .next-> live-b .next-> live-a");
    EXPECT_EQ(collected_inside, 0u);
  });
}

// A self loop with a finalizer and a destructor that ask about a live
// cycle and about themselves.
struct Asker : Box {
  using Box::Box;
  void finalize() override { ask("finalize"); }
  ~Asker() override { ask("destroy"); }
  void ask(const std::string& when) {
    answers->push_back(when + ": live " + text_of(inspect::shortest_cycle(*live)) + "; self " +
                       text_of(inspect::shortest_cycle(*this)));
  }
  Box* live = nullptr;
  std::vector<std::string>* answers = nullptr;
};

TEST(ShortestCycle, FromAFinalizerOrDestructorOfGarbageItSeesTheLiveHeapOnly) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("live-a");
    a->next = make<Box>("live-b");
    a->next->next = a;
    std::vector<std::string> answers;
    {
      Ref<Asker> doomed = make<Asker>("doomed");
      doomed->next = doomed;
      doomed->live = a.get();
      doomed->answers = &answers;
    }
    EXPECT_EQ(gc::collect(), 1u);
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[0], "finalize: live live-a .next-> live-b .next-> live-a; self none");
    EXPECT_EQ(answers[1], "destroy: live live-a .next-> live-b .next-> live-a; self none");
    a->next.reset();
  });
}

TEST(ShortestCycle, FromAGcCallbackItSeesTheHeapBeforeAndAfterTheCollection) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("live-a");
    a->next = make<Box>("live-b");
    a->next->next = a;
    Box* doomed;
    {
      Ref<Box> d = make<Box>("doomed");
      d->next = d;
      doomed = d.get();
    }
    std::vector<std::string> answers;
    std::size_t id = gc::add_callback([&](gc::Phase p, const gc::CollectionInfo&) {
      answers.push_back(text_of(inspect::shortest_cycle(*a)));
      if (p == gc::Phase::start) answers.push_back(text_of(inspect::shortest_cycle(*doomed)));
    });
    EXPECT_EQ(gc::collect(), 1u);
    gc::remove_callback(id);
    EXPECT_EQ(answers, (std::vector<std::string>{"live-a .next-> live-b .next-> live-a", "doomed .next-> doomed",
                                                 "live-a .next-> live-b .next-> live-a"}));
    a->next.reset();
  });
}

TEST(ShortestCycle, IsRefusedFromATraverseTheCollectorRuns) {
  in_fresh_heap([] {
    Ref<Meddler> m = make<Meddler>();
    std::string answer;
    m->once = [&] {
      try {
        answer = text_of(inspect::shortest_cycle(*m));
      } catch (const std::logic_error& e) {
        answer = std::string("logic_error: ") + e.what();
      }
    };
    gc::collect();
    EXPECT_NE(answer.find("logic_error"), std::string::npos) << answer;
    EXPECT_NE(answer.find("shortest_cycle"), std::string::npos) << answer;
  });
}

}  // namespace
