// Visitor (ouro/object.hpp): what traverse() may visit — single Refs,
// several at once, ranges, associative containers with Ref keys and/or
// values (recursively), pairs, tuples and optionals — each shape once for
// get_referents (exact objects, in order) and once for a cycle through it
// that collect() reclaims, by resetting the Refs and emptying the
// containers that traverse() reports.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

}  // namespace

// ---------------------------------------------------------------------------
// What Visitor accepts: each shape once for get_referents (exact objects,
// in order) and once for a cycle through it that collect() reclaims.
// ---------------------------------------------------------------------------

namespace {

using Leaf = TrackedNode;
using LeafRef = Ref<TrackedNode>;
using ouro_test::Instrumented;

// A tracked object whose only member is `Member`, visited as a whole.
template <class Member>
struct HolderOf : Instrumented {
  using Instrumented::Instrumented;
  void traverse(ouro::Visitor& v) override { v(member); }
  Member member{};
};

std::vector<const ouro::Object*> addresses(const std::vector<Ref<ouro::Object>>& refs) {
  std::vector<const ouro::Object*> out;
  for (const auto& r : refs) out.push_back(r.get());
  return out;
}

template <class... Rs>
std::vector<const ouro::Object*> expect_order(const Rs&... rs) {
  return {static_cast<const ouro::Object*>(rs.get())...};
}

std::vector<const ouro::Object*> referents(const ouro::Object& o) { return addresses(ouro::gc::get_referents(o)); }

// Builds a holder with `fill`, points every leaf back at the holder, drops
// every outside reference, and checks that one collect() reclaims holder +
// leaves (with the expected referents first).
template <class Member, class Fill>
void check_cycle_through(Fill fill, std::size_t leaves) {
  ouro_test::in_fresh_heap([&] {
    Events ev;
    {
      auto holder = make<HolderOf<Member>>(ev, "holder");
      std::vector<LeafRef> made;
      for (std::size_t i = 0; i < leaves; ++i) made.push_back(make<Leaf>(ev, "leaf" + std::to_string(i)));
      fill(holder->member, made);
      for (auto& leaf : made) leaf->next = holder;  // leaf -> holder -> (container) -> leaf
      EXPECT_EQ(ouro::gc::get_referrers(*holder).size(), leaves);
    }
    EXPECT_EQ(ev.destroyed, 0);
    EXPECT_EQ(ouro::gc::collect(), leaves + 1);
    EXPECT_EQ(ev.destroyed, static_cast<int>(leaves + 1));
    EXPECT_TRUE(ouro::gc::get_objects().empty());
  });
}

}  // namespace

TEST(Visitor, SingleRefsAndSeveralAtOnce) {
  struct Three : Instrumented {
    using Instrumented::Instrumented;
    void traverse(ouro::Visitor& v) override { v(a, b, c); }
    Ref<Leaf> a, b, c;
  };
  Events ev;
  auto t = make<Three>(ev);
  t->a = make<Leaf>(ev, "a");
  t->c = make<Leaf>(ev, "c");
  EXPECT_EQ(referents(*t), expect_order(t->a, t->c));  // empty Refs are skipped
  t->b = make<Leaf>(ev, "b");
  EXPECT_EQ(referents(*t), expect_order(t->a, t->b, t->c));
  t->b = t->a;  // the same object twice: reported twice
  EXPECT_EQ(referents(*t), expect_order(t->a, t->a, t->c));

  ouro_test::in_fresh_heap([] {
    Events ev2;
    {
      auto x = make<Three>(ev2);
      x->a = make<Leaf>(ev2, "a");
      x->b = make<Leaf>(ev2, "b");
      x->c = make<Leaf>(ev2, "c");
      x->a->next = x;
      x->b->next = x->c;
      x->c->next = x;
    }
    EXPECT_EQ(ouro::gc::collect(), 4u);
    EXPECT_EQ(ev2.alive(), 0);
  });
}

TEST(Visitor, VectorOfRefs) {
  Events ev;
  auto h = make<HolderOf<std::vector<LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {b, nullptr, a, b};
  EXPECT_EQ(referents(*h), expect_order(b, a, b));
  check_cycle_through<std::vector<LeafRef>>([](auto& m, auto& made) { m.assign(made.begin(), made.end()); }, 3);
}

TEST(Visitor, ArrayOfRefs) {
  Events ev;
  auto h = make<HolderOf<std::array<LeafRef, 3>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {a, b, a};
  EXPECT_EQ(referents(*h), expect_order(a, b, a));
  check_cycle_through<std::array<LeafRef, 3>>(
      [](auto& m, auto& made) { std::copy(made.begin(), made.end(), m.begin()); }, 3);
}

TEST(Visitor, DequeOfRefs) {
  Events ev;
  auto h = make<HolderOf<std::deque<LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member.push_back(a);
  h->member.push_front(b);
  EXPECT_EQ(referents(*h), expect_order(b, a));
  check_cycle_through<std::deque<LeafRef>>([](auto& m, auto& made) { m.assign(made.begin(), made.end()); }, 4);
}

TEST(Visitor, ListOfRefs) {
  Events ev;
  auto h = make<HolderOf<std::list<LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {a, b};
  EXPECT_EQ(referents(*h), expect_order(a, b));
  check_cycle_through<std::list<LeafRef>>([](auto& m, auto& made) { m.assign(made.begin(), made.end()); }, 2);
}

TEST(Visitor, MapWithRefValues) {
  Events ev;
  auto h = make<HolderOf<std::map<int, LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {{2, a}, {1, b}, {3, nullptr}};
  EXPECT_EQ(referents(*h), expect_order(b, a));  // key order: 1, 2
  check_cycle_through<std::map<int, LeafRef>>(
      [](auto& m, auto& made) {
        for (std::size_t i = 0; i < made.size(); ++i) m[static_cast<int>(i)] = made[i];
      },
      3);
}

TEST(Visitor, MapWithRefKeys) {
  Events ev;
  auto h = make<HolderOf<std::map<LeafRef, int>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {{a, 1}, {b, 2}};
  std::vector<const ouro::Object*> expected{a.get(), b.get()};
  std::sort(expected.begin(), expected.end(), std::less<const ouro::Object*>{});  // address order
  EXPECT_EQ(referents(*h), expected);
  check_cycle_through<std::map<LeafRef, int>>(
      [](auto& m, auto& made) {
        for (auto& leaf : made) m[leaf] = 0;
      },
      3);
}

TEST(Visitor, MapWithRefKeysAndRefValues) {
  Events ev;
  auto h = make<HolderOf<std::map<LeafRef, LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev), c = make<Leaf>(ev);
  h->member[a] = c;
  h->member[b] = a;
  std::vector<const ouro::Object*> expected;
  for (const auto& [k, v] : h->member) {
    expected.push_back(k.get());
    expected.push_back(v.get());
  }
  EXPECT_EQ(referents(*h), expected);  // key, value, key, value in map order
  check_cycle_through<std::map<LeafRef, LeafRef>>(
      [](auto& m, auto& made) {
        for (std::size_t i = 0; i < made.size(); ++i) m[made[i]] = made[(i + 1) % made.size()];
      },
      3);
}

TEST(Visitor, SetOfRefs) {
  Events ev;
  auto h = make<HolderOf<std::set<LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {a, b, a};
  std::vector<const ouro::Object*> expected{a.get(), b.get()};
  std::sort(expected.begin(), expected.end(), std::less<const ouro::Object*>{});
  EXPECT_EQ(referents(*h), expected);
  check_cycle_through<std::set<LeafRef>>([](auto& m, auto& made) { m.insert(made.begin(), made.end()); }, 3);
}

TEST(Visitor, UnorderedMapFromStringToRef) {
  Events ev;
  auto h = make<HolderOf<std::unordered_map<std::string, LeafRef>>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {{"a", a}, {"b", b}, {"none", nullptr}};
  std::vector<const ouro::Object*> expected;
  for (const auto& [k, v] : h->member)
    if (v) expected.push_back(v.get());
  EXPECT_EQ(referents(*h), expected);  // iteration order
  EXPECT_EQ(expected.size(), 2u);
  check_cycle_through<std::unordered_map<std::string, LeafRef>>(
      [](auto& m, auto& made) {
        for (auto& leaf : made) m[leaf->name] = leaf;
      },
      3);
}

TEST(Visitor, PairOfRefAndNonRef) {
  Events ev;
  auto h = make<HolderOf<std::pair<int, LeafRef>>>(ev);
  auto a = make<Leaf>(ev);
  h->member = {5, a};
  EXPECT_EQ(referents(*h), expect_order(a));
  auto h2 = make<HolderOf<std::pair<LeafRef, LeafRef>>>(ev);
  auto b = make<Leaf>(ev);
  h2->member = {b, a};
  EXPECT_EQ(referents(*h2), expect_order(b, a));
  check_cycle_through<std::pair<LeafRef, LeafRef>>(
      [](auto& m, auto& made) { m = {made[0], made[1]}; }, 2);
}

TEST(Visitor, TupleWithRefsAmongOtherMembers) {
  using T = std::tuple<LeafRef, int, std::string, LeafRef>;
  Events ev;
  auto h = make<HolderOf<T>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = T{b, 1, "x", a};
  EXPECT_EQ(referents(*h), expect_order(b, a));
  check_cycle_through<T>([](auto& m, auto& made) { m = T{made[0], 7, "y", made[1]}; }, 2);
}

TEST(Visitor, OptionalRef) {
  Events ev;
  auto h = make<HolderOf<std::optional<LeafRef>>>(ev);
  EXPECT_TRUE(referents(*h).empty());
  auto a = make<Leaf>(ev);
  h->member = a;
  EXPECT_EQ(referents(*h), expect_order(a));
  h->member = LeafRef();  // engaged but empty
  EXPECT_TRUE(referents(*h).empty());
  check_cycle_through<std::optional<LeafRef>>([](auto& m, auto& made) { m = made[0]; }, 1);
}

TEST(Visitor, VectorOfPairsOfIntAndRef) {
  using M = std::vector<std::pair<int, LeafRef>>;
  Events ev;
  auto h = make<HolderOf<M>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member = {{1, a}, {2, b}, {3, a}};
  EXPECT_EQ(referents(*h), expect_order(a, b, a));
  check_cycle_through<M>(
      [](auto& m, auto& made) {
        for (std::size_t i = 0; i < made.size(); ++i) m.emplace_back(static_cast<int>(i), made[i]);
      },
      3);
}

TEST(Visitor, MapOfVectorsOfRefs) {
  using M = std::map<int, std::vector<LeafRef>>;
  Events ev;
  auto h = make<HolderOf<M>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev), c = make<Leaf>(ev);
  h->member[2] = {c};
  h->member[1] = {a, b};
  h->member[3] = {};
  EXPECT_EQ(referents(*h), expect_order(a, b, c));
  check_cycle_through<M>(
      [](auto& m, auto& made) {
        m[0] = {made[0], made[1]};
        m[1] = {made[2]};
      },
      3);
}

TEST(Visitor, DeeplyNestedContainers) {
  using M = std::vector<std::map<std::string, std::optional<std::tuple<int, LeafRef>>>>;
  Events ev;
  auto h = make<HolderOf<M>>(ev);
  auto a = make<Leaf>(ev), b = make<Leaf>(ev);
  h->member.resize(2);
  h->member[0]["x"] = std::tuple<int, LeafRef>{1, a};
  h->member[0]["y"] = std::nullopt;
  h->member[1]["z"] = std::tuple<int, LeafRef>{2, b};
  EXPECT_EQ(referents(*h), expect_order(a, b));
  check_cycle_through<M>(
      [](auto& m, auto& made) {
        m.resize(1);
        m[0]["p"] = std::tuple<int, LeafRef>{0, made[0]};
        m[0]["q"] = std::tuple<int, LeafRef>{1, made[1]};
      },
      2);
}

TEST(Visitor, ContainerHoldingTheHolderItself) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    {
      auto h = make<HolderOf<std::vector<Ref<Instrumented>>>>(ev, "self");
      h->member.push_back(h);
      h->member.push_back(h);
      EXPECT_EQ(ouro::refcount(*h), 3u);
      EXPECT_EQ(referents(*h), expect_order(h, h));
    }
    EXPECT_EQ(ouro::gc::collect(), 1u);
    EXPECT_EQ(ev.destroyed, 1);
  });
}

TEST(Visitor, ReferentsOfAnUntrackedObjectAreEmpty) {
  Events ev;
  auto p = make<PlainNode>(ev);
  p->next = make<PlainNode>(ev);  // held, but not reported: Plain does not override traverse
  EXPECT_TRUE(ouro::gc::get_referents(*p).empty());
}
