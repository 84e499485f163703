// WeakValueMap and WeakKeyMap (ouro/weak_map.hpp; Python's
// WeakValueDictionary and WeakKeyDictionary):
//
//   - an entry disappears when its value (key) dies, by refcount or in a
//     collection; size() and contains() see live entries only; dead entries
//     never pile up; clear() removes them all;
//   - iteration visits live entries, holding each one alive while it is
//     looked at; deaths during iteration are fine, inserting, erasing or
//     clearing throws std::logic_error;
//   - the maps may die before or after their referents, and may be moved.
// What user code may do inside the maps: weak_maps_user_code_test.cpp.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"
#include "support/map_holder.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Ref;
using ouro::WeakKeyMap;
using ouro::WeakValueMap;
using ouro_test::Events;
using ouro_test::FinalizedMapHolder;
using ouro_test::FinalizerOnlyNode;
using ouro_test::in_fresh_heap;
using ouro_test::Instrumented;
using ouro_test::MapHolder;
using ouro_test::PlainNode;
using ouro_test::TrackedNode;

// A key or value that counts its live instances.
struct Counted {
  static inline int alive = 0;
  int id;
  explicit Counted(int i) : id(i) { ++alive; }
  Counted(const Counted& o) : id(o.id) { ++alive; }
  Counted(Counted&& o) noexcept : id(o.id) { ++alive; }
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  ~Counted() { --alive; }
  bool operator==(const Counted& o) const { return id == o.id; }
};

}  // namespace

template <>
struct std::hash<Counted> {
  std::size_t operator()(const Counted& c) const noexcept { return std::hash<int>{}(c.id); }
};

namespace {

// ---------------------------------------------------------------------------
// WeakValueMap
// ---------------------------------------------------------------------------

TEST(WeakValueMap, GetReturnsTheLiveValueAndNothingOnceItDied) {
  Events ev;
  WeakValueMap<std::string, Instrumented> cache;
  auto a = make<PlainNode>(ev, "a");
  cache.insert_or_assign("a", a);
  EXPECT_EQ(ouro::refcount(*a), 1u) << "the map does not keep its values alive";
  EXPECT_EQ(cache.get("a"), a);
  EXPECT_EQ(cache.get("missing"), nullptr);
  EXPECT_EQ(cache.size(), 1u);
  a.reset();
  EXPECT_EQ(cache.get("a"), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.empty());
}

TEST(WeakValueMap, EntriesOfValuesReclaimedByTheCollectorDisappear) {
  in_fresh_heap([] {
    Events ev;
    WeakValueMap<int, Instrumented> cache;
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      cache.insert_or_assign(1, a);
      cache.insert_or_assign(2, b);
    }
    EXPECT_EQ(cache.size(), 2u) << "the cycle is alive until collected";
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(cache.size(), 0u);
    EXPECT_EQ(cache.get(1), nullptr);
  });
}

TEST(WeakValueMap, InsertOrAssignReplacesAndEraseRemoves) {
  Events ev;
  WeakValueMap<int, Instrumented> m;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  m.insert_or_assign(1, a);
  m.insert_or_assign(1, b);
  EXPECT_EQ(m.get(1), b);
  EXPECT_EQ(ouro::weakref_count(*a), 0u) << "the replaced entry let go of a";
  a.reset();
  EXPECT_EQ(m.get(1), b) << "a's death does not touch the entry now holding b";
  EXPECT_TRUE(m.erase(1));
  EXPECT_FALSE(m.erase(1));
  EXPECT_EQ(m.size(), 0u);
  EXPECT_THROW(m.insert_or_assign(2, Ref<Instrumented>()), std::invalid_argument);
  EXPECT_EQ(m.size(), 0u);
}

TEST(WeakValueMap, DeadEntriesDoNotAccumulate) {
  Events ev;
  WeakValueMap<Counted, Instrumented> m;
  for (int i = 0; i < 10000; ++i) {
    auto v = make<PlainNode>(ev);
    m.insert_or_assign(Counted(i), v);
  }
  EXPECT_EQ(Counted::alive, 0) << "every key went with its value";
  EXPECT_EQ(m.size(), 0u);
}

TEST(WeakValueMap, IterationVisitsLiveEntriesAndHoldsEachAliveWhileLookedAt) {
  Events ev;
  WeakValueMap<int, Instrumented> m;
  std::vector<Ref<Instrumented>> keep;
  for (int i = 0; i < 6; ++i) {
    auto v = make<PlainNode>(ev, std::to_string(i));
    m.insert_or_assign(i, v);
    if (i % 2 == 0) keep.push_back(v);
  }
  std::map<int, std::string> seen;
  for (auto& [key, value] : m) seen[key] = value->name;
  EXPECT_EQ(seen, (std::map<int, std::string>{{0, "0"}, {2, "2"}, {4, "4"}}));
  // Values dying during the loop are fine; the entries go afterwards.
  int visited = 0;
  for (auto [key, value] : m) {
    ++visited;
    keep.clear();
    EXPECT_NE(value, nullptr) << "the current value is held by the iteration";
  }
  EXPECT_GE(visited, 1);
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(ev.alive(), 0);
}

TEST(WeakValueMap, IteratorsCanBeCopiedAndTheSweepWaitsForTheLastOne) {
  Events ev;
  WeakValueMap<int, Instrumented> m;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  m.insert_or_assign(1, a);
  m.insert_or_assign(2, b);
  {
    auto it = m.begin();
    auto copy = it;
    auto other = m.end();
    other = copy;
    EXPECT_TRUE(other == it);
    EXPECT_EQ(ouro::refcount(*it->second), 4u) << "three iterators and a hold the current value";
    ++it;  // the second live entry
    EXPECT_FALSE(it == m.end());
    a.reset();
    b.reset();
    EXPECT_EQ(ev.destroyed, 0) << "both values are held by iterators";
    ++it;  // the end: lets go of the second value, which dies
    EXPECT_TRUE(it == m.end());
    EXPECT_EQ(ev.destroyed, 1);
    EXPECT_EQ(m.size(), 1u);
    EXPECT_THROW(m.erase(1), std::logic_error);
  }
  EXPECT_EQ(ev.destroyed, 2);
  EXPECT_EQ(m.size(), 0u);
  EXPECT_TRUE(m.begin() == m.end());
}

TEST(WeakValueMap, ModifyingTheMapDuringIterationThrows) {
  Events ev;
  WeakValueMap<int, Instrumented> m;
  auto a = make<PlainNode>(ev, "a");
  m.insert_or_assign(1, a);
  for (const auto& entry : m) {
    EXPECT_THROW(m.insert_or_assign(2, a), std::logic_error);
    EXPECT_THROW(m.erase(entry.first), std::logic_error);
  }
  m.insert_or_assign(2, a);
  EXPECT_EQ(m.size(), 2u);
}

TEST(WeakValueMap, TheMapMayDieBeforeItsValuesAndMayBeMoved) {
  Events ev;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  WeakValueMap<int, Instrumented> moved;
  {
    WeakValueMap<int, Instrumented> m;
    m.insert_or_assign(1, a);
    m.insert_or_assign(2, b);
    moved = std::move(m);
  }
  EXPECT_EQ(moved.get(1), a);
  b.reset();
  EXPECT_EQ(moved.size(), 1u);
  {
    WeakValueMap<int, Instrumented> gone;
    gone.insert_or_assign(1, a);
  }
  EXPECT_EQ(ouro::weakref_count(*a), 1u);
  a.reset();  // no callback into the destroyed map
  EXPECT_EQ(moved.size(), 0u);
}

TEST(WeakValueMap, KeysThatAreRefsAreReleasedWithTheirEntryEvenWhenThatCascades) {
  Events ev;
  WeakValueMap<Ref<Instrumented>, Instrumented> m;
  auto value = make<PlainNode>(ev, "value");
  {
    auto key = make<PlainNode>(ev, "key");
    auto key2 = make<PlainNode>(ev, "key2");
    auto value2 = make<PlainNode>(ev, "value2");
    key->next = value2;  // key's death kills value2, whose entry then goes too
    m.insert_or_assign(key, value);
    m.insert_or_assign(key2, value2);
  }
  EXPECT_EQ(ev.destroyed, 0) << "the map holds its keys strongly";
  EXPECT_EQ(m.size(), 2u);
  value.reset();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(ev.alive(), 0);
}

TEST(WeakValueMap, ContainsSeesLiveEntriesOnly) {
  Events ev;
  WeakValueMap<int, Instrumented> m;
  EXPECT_FALSE(m.contains(1));
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  m.insert_or_assign(1, a);
  m.insert_or_assign(2, b);
  EXPECT_TRUE(m.contains(1));
  EXPECT_FALSE(m.contains(3));
  for (auto [key, value] : m) {
    if (key == 1) continue;
    a.reset();  // a's entry is only marked while the iteration lasts
    EXPECT_FALSE(m.contains(1));
    EXPECT_TRUE(m.contains(2));
  }
  EXPECT_FALSE(m.contains(1));
  EXPECT_TRUE(m.contains(2));
}

TEST(WeakValueMap, ClearRemovesEveryEntryAndTheMapStaysUsable) {
  Events ev;
  WeakValueMap<Counted, Instrumented> m;
  m.clear();
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  m.insert_or_assign(Counted(1), a);
  m.insert_or_assign(Counted(2), b);
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_TRUE(m.begin() == m.end());
  EXPECT_EQ(Counted::alive, 0);
  EXPECT_EQ(ouro::weakref_count(*a), 0u);
  m.insert_or_assign(Counted(3), b);
  EXPECT_EQ(m.get(Counted(3)), b);
  b.reset();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(Counted::alive, 0);
}

TEST(WeakValueMap, ClearThrowsWhileAnIteratorIsAlive) {
  Events ev;
  WeakValueMap<int, Instrumented> m;
  auto a = make<PlainNode>(ev, "a");
  m.insert_or_assign(1, a);
  {
    auto it = m.begin();
    EXPECT_THROW(m.clear(), std::logic_error);
    EXPECT_EQ(it->second, a);
  }
  EXPECT_EQ(m.size(), 1u);
  m.clear();
  EXPECT_EQ(m.size(), 0u);
}

// ---------------------------------------------------------------------------
// WeakKeyMap
// ---------------------------------------------------------------------------

TEST(WeakKeyMap, FindsByIdentityAndDropsTheEntryWhenTheKeyDies) {
  Events ev;
  WeakKeyMap<Instrumented, Counted> notes;
  auto a = make<PlainNode>(ev, "a");
  auto twin = make<PlainNode>(ev, "a");
  notes.insert_or_assign(a, Counted(1));
  ASSERT_NE(notes.find(*a), nullptr);
  EXPECT_EQ(notes.find(*a)->id, 1);
  EXPECT_EQ(notes.find(*twin), nullptr) << "identity, not equality";
  EXPECT_EQ(notes.size(), 1u);
  EXPECT_EQ(ouro::refcount(*a), 1u);
  a.reset();
  EXPECT_EQ(notes.size(), 0u);
  EXPECT_EQ(Counted::alive, 0) << "the value went with its key";
}

TEST(WeakKeyMap, InsertOrAssignReplacesTheValueAndEraseRemovesTheEntry) {
  Events ev;
  WeakKeyMap<Instrumented, std::string> m;
  auto a = make<PlainNode>(ev, "a");
  m.insert_or_assign(a, "one");
  m.insert_or_assign(a, "two");
  EXPECT_EQ(*m.find(*a), "two");
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(ouro::weakref_count(*a), 1u);
  EXPECT_TRUE(m.erase(*a));
  EXPECT_FALSE(m.erase(*a));
  EXPECT_EQ(m.find(*a), nullptr);
  EXPECT_EQ(ouro::weakref_count(*a), 0u);
  EXPECT_THROW(m.insert_or_assign(Ref<Instrumented>(), "x"), std::invalid_argument);
}

TEST(WeakKeyMap, ValuesHoldingRefsAreReleasedWhenTheirKeyIsCollected) {
  in_fresh_heap([] {
    Events ev;
    WeakKeyMap<Instrumented, Ref<Instrumented>> side;
    auto payload = make<PlainNode>(ev, "payload");
    {
      auto a = make<TrackedNode>(ev, "a");
      a->next = a;
      side.insert_or_assign(a, payload);
    }
    payload.reset();
    EXPECT_EQ(ev.destroyed, 0) << "the entry keeps its value alive while the key lives";
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(side.size(), 0u);
    EXPECT_EQ(ev.alive(), 0) << "the payload went with the entry";
  });
}

TEST(WeakKeyMap, IterationYieldsLiveKeysWithTheirValues) {
  Events ev;
  WeakKeyMap<Instrumented, int> m;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  m.insert_or_assign(a, 1);
  m.insert_or_assign(b, 2);
  {
    auto c = make<PlainNode>(ev, "c");
    m.insert_or_assign(c, 3);
  }
  int sum = 0;
  for (auto [key, value] : m) {
    sum += value;
    value *= 10;
    EXPECT_TRUE(key == a || key == b);
    b.reset();  // may die while iterating
  }
  EXPECT_GE(sum, 1);
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(*m.find(*a), 10);
}

TEST(WeakKeyMap, DeadEntriesDoNotAccumulate) {
  Events ev;
  WeakKeyMap<Instrumented, Counted> m;
  for (int i = 0; i < 10000; ++i) {
    auto k = make<PlainNode>(ev);
    m.insert_or_assign(k, Counted(i));
  }
  EXPECT_EQ(Counted::alive, 0);
  EXPECT_EQ(m.size(), 0u);
}

TEST(WeakKeyMap, ContainsSeesLiveKeysOnlyByIdentity) {
  Events ev;
  WeakKeyMap<Instrumented, int> m;
  auto a = make<PlainNode>(ev, "a");
  auto twin = make<PlainNode>(ev, "a");
  EXPECT_FALSE(m.contains(*a));
  m.insert_or_assign(a, 1);
  EXPECT_TRUE(m.contains(*a));
  EXPECT_FALSE(m.contains(*twin));
  m.insert_or_assign(twin, 2);
  EXPECT_TRUE(m.erase(*a));
  EXPECT_FALSE(m.contains(*a));
  EXPECT_TRUE(m.contains(*twin));
}

TEST(WeakKeyMap, ClearRemovesEveryEntryBeforeDestroyingAny) {
  Events ev;
  WeakKeyMap<Instrumented, Ref<Instrumented>> m;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  auto payload = make<FinalizerOnlyNode>(ev, "payload");
  std::size_t size_seen = 99;
  bool contains_seen = true;
  payload->on_finalize = [&](Instrumented&) {
    size_seen = m.size();
    contains_seen = m.contains(*a);
  };
  m.insert_or_assign(a, payload);
  m.insert_or_assign(b, make<PlainNode>(ev, "other"));
  payload.reset();
  m.clear();
  EXPECT_EQ(size_seen, 0u) << "the payload died with the map already empty";
  EXPECT_FALSE(contains_seen);
  EXPECT_EQ(ev.count("destroy payload"), 1u);
  EXPECT_EQ(ev.count("destroy other"), 1u);
  EXPECT_EQ(ouro::weakref_count(*a), 0u);
  {
    auto it = m.begin();
    EXPECT_NO_THROW(m.clear()) << "an empty map";
  }
  m.insert_or_assign(a, Ref<Instrumented>());
  {
    auto it = m.begin();
    EXPECT_THROW(m.clear(), std::logic_error);
  }
  EXPECT_EQ(m.size(), 1u);
}

// ---------------------------------------------------------------------------
// As members of managed objects
// ---------------------------------------------------------------------------

TEST(WeakMapsAsMembers, TheirStrongKeysAndValuesAreSeenByTheCollector) {
  in_fresh_heap([] {
    Events ev;
    auto outside = make<PlainNode>(ev, "outside");
    {
      auto a = make<MapHolder>(ev, "a");
      auto b = make<MapHolder>(ev, "b");
      a->by_key.insert_or_assign(b, outside);     // a -> b through a key
      b->by_object.insert_or_assign(outside, a);  // b -> a through a value
      std::vector<Ref<ouro::Object>> referents = gc::get_referents(*a);
      ASSERT_EQ(referents.size(), 1u);
      EXPECT_EQ(referents[0], b);
      EXPECT_EQ(ouro::weakref_count(*outside), 2u);
    }
    EXPECT_EQ(gc::collect(), 2u) << "the cycle through the maps is found";
    EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ouro::weakref_count(*outside), 0u) << "the maps' weak references went with them";
    outside.reset();
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakMapsAsMembers, EntriesOfAMapOwnedByTheGarbageDoNotCallBack) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<MapHolder>(ev, "a");
      auto value = make<TrackedNode>(ev, "value");
      a->next = value;
      value->next = a;  // the value dies with the map's owner, in one collection
      a->by_key.insert_or_assign(make<PlainNode>(ev, "key"), value);
      a->by_object.insert_or_assign(value, make<PlainNode>(ev, "payload"));
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

// Under the legacy policy a map whose owner has a finalizer is not part of
// the collectable garbage even when the owner is unreachable: its entries'
// weak references to keys the collection found call back, and the values go
// (CPython: the callbacks of a WeakKeyDictionary reached from an object with
// __del__). DEBUG_SAVEALL keeps what the collection found, not an
// untracked value that only such an entry held.
TEST(WeakMapsAsMembers, AnUncollectableOwnersMapLetsGoOfTheValueOfACollectedKey) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    gc::set_debug(gc::DEBUG_SAVEALL);
    Instrumented* owner_seen = nullptr;
    Instrumented* key_seen = nullptr;
    {
      auto owner = make<FinalizedMapHolder>(ev, "owner");
      owner->next = owner;
      auto key = make<TrackedNode>(ev, "key");
      key->next = key;  // garbage the owner does not reach: the map holds it weakly
      owner->by_object.insert_or_assign(key, make<FinalizerOnlyNode>(ev, "value"));
      owner_seen = owner.get();
      key_seen = key.get();
    }
    EXPECT_EQ(gc::collect(), 2u) << "the key collected, the owner uncollectable";
    EXPECT_EQ(ev.of("value"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.of("owner"), (std::vector<std::string>{"construct"})) << "the owner's finalizer never ran";
    EXPECT_EQ(ev.of("key"), (std::vector<std::string>{"construct"}));
    std::vector<Ref<ouro::Object>>& saved = gc::garbage();
    ASSERT_EQ(saved.size(), 2u);
    EXPECT_TRUE((saved[0].get() == key_seen && saved[1].get() == owner_seen)) << "the collectable first, as CPython";
    auto& owner = static_cast<FinalizedMapHolder&>(*owner_seen);
    EXPECT_EQ(owner.by_object.size(), 0u);
    EXPECT_EQ(owner.by_object.find(*key_seen), nullptr);
    gc::set_debug(0);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    saved.clear();
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

}  // namespace
