// What user code may do while WeakValueMap and WeakKeyMap operate (the
// rules in ouro/weak_map.hpp):
//
//   - keys and values are destroyed last, with the map consistent: their
//     destructors may use the map, or destroy it (the entry held the last
//     Ref to the object that owns the map), and nothing reads it afterwards;
//   - a map destroyed while iterators over it are alive leaves them
//     readable, and its entries go with the last of them;
//   - K's hash or equality throwing propagates from lookups with the map
//     unchanged, and when a value dies is reported to the unraisable hook,
//     the entry removed all the same.
#include <gtest/gtest.h>

#include <exception>
#include <memory>
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
using ouro::WeakValueMap;
using ouro_test::Events;
using ouro_test::FinalizedMapHolder;
using ouro_test::FinalizerOnlyNode;
using ouro_test::in_fresh_heap;
using ouro_test::Instrumented;
using ouro_test::MapHolder;
using ouro_test::PlainNode;

// A key whose hash or equality throws on demand (a std::hash that is not
// noexcept, as a user's may be).
struct FlakyKey {
  static inline bool hash_throws = false;
  static inline bool equality_throws = false;
  static inline int alive = 0;
  int id;
  explicit FlakyKey(int i) : id(i) { ++alive; }
  FlakyKey(const FlakyKey& o) : id(o.id) { ++alive; }
  FlakyKey& operator=(const FlakyKey&) = default;
  ~FlakyKey() { --alive; }
  bool operator==(const FlakyKey& o) const {
    if (equality_throws) throw std::runtime_error("equality");
    return id == o.id;
  }
};

// Makes FlakyKey throw from `hash` or `equality` while alive.
struct FlakyKeyThrows {
  FlakyKeyThrows(bool hash, bool equality) {
    FlakyKey::hash_throws = hash;
    FlakyKey::equality_throws = equality;
  }
  ~FlakyKeyThrows() { FlakyKey::hash_throws = FlakyKey::equality_throws = false; }
  FlakyKeyThrows(const FlakyKeyThrows&) = delete;
  FlakyKeyThrows& operator=(const FlakyKeyThrows&) = delete;
};

}  // namespace

template <>
struct std::hash<FlakyKey> {
  std::size_t operator()(const FlakyKey& k) const {
    if (FlakyKey::hash_throws) throw std::runtime_error("hash");
    return std::hash<int>{}(k.id);
  }
};

namespace {

// ---------------------------------------------------------------------------
// User code that destroys the map: the entry, or the iterator, held the last
// Ref to the object that owns the map
// ---------------------------------------------------------------------------

// The unraisable hook of this thread's heap records the exceptions' messages.
void report_unraisable_messages_into(std::vector<std::string>& messages) {
  ouro::set_unraisable_hook([&messages](std::exception_ptr e, const ouro::Object*) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      messages.emplace_back(x.what());
    }
  });
}

TEST(WeakKeyMap, AMapFreedByTheSweepAfterItsIterationIsNotReadAfterwards) {
  in_fresh_heap([] {
    Events ev;
    auto owner = make<MapHolder>(ev, "owner");
    auto key = make<PlainNode>(ev, "key");
    auto& map = owner->by_object;
    map.insert_or_assign(key, owner);  // the owner lives on in its own map's value
    owner.reset();
    for (auto [k, v] : map) {
      EXPECT_EQ(k, key);
      key.reset();  // dies when the iteration lets go: the sweep destroys the owner
    }
    EXPECT_EQ(ev.of("owner"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakValueMap, AMapFreedByTheSweepAfterItsIterationIsNotReadAfterwards) {
  in_fresh_heap([] {
    Events ev;
    auto owner = make<MapHolder>(ev, "owner");
    auto value = make<PlainNode>(ev, "value");
    auto& map = owner->by_key;
    map.insert_or_assign(owner, value);  // the owner lives on in its own map's key
    owner.reset();
    for (auto [k, v] : map) {
      EXPECT_EQ(v, value);
      value.reset();
    }
    EXPECT_EQ(ev.of("owner"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakValueMap, AMapFreedByTheSweepOfAnInsertionIsNotReadAfterwards) {
  in_fresh_heap([] {
    Events ev;
    auto filler = make<PlainNode>(ev, "filler");
    auto owner = make<MapHolder>(ev, "owner");
    MapHolder* raw = owner.get();
    auto value = make<PlainNode>(ev, "value");
    raw->by_key.insert_or_assign(owner, value);
    owner.reset();
    int insertions = 0;
    // Newer than the map's weak reference, so it runs first: the map's entry
    // is dead but still there, and one of these insertions sweeps it away.
    ouro::WeakRef<Instrumented> first(value, [&](ouro::WeakRef<Instrumented>&) {
      while (ev.count("destroy owner") == 0 && insertions < 1000) {
        raw->by_key.insert_or_assign(make<PlainNode>(ev), filler);
        ++insertions;
      }
    });
    value.reset();
    EXPECT_EQ(ev.count("destroy owner"), 1u);
    EXPECT_LT(insertions, 1000);
    filler.reset();
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakValueMap, ClearingAMapWhoseEntryHeldItsOwnerIsSafe) {
  in_fresh_heap([] {
    Events ev;
    auto owner = make<MapHolder>(ev, "owner");
    MapHolder* raw = owner.get();
    auto value = make<PlainNode>(ev, "value");
    raw->by_key.insert_or_assign(owner, value);
    raw->by_object.insert_or_assign(value, owner);
    owner.reset();
    raw->by_key.clear();  // the other map still holds the owner
    EXPECT_EQ(ev.count("destroy owner"), 0u);
    EXPECT_EQ(raw->by_key.size(), 0u);
    raw->by_object.clear();  // destroys the owner, and both maps
    EXPECT_EQ(ev.count("destroy owner"), 1u);
    EXPECT_EQ(ouro::weakref_count(*value), 0u);
  });
}

TEST(WeakValueMap, KeysDestroyedByTheSweepAfterAnIterationMayUseTheMap) {
  in_fresh_heap([] {
    Events ev;
    std::vector<std::string> reported;
    report_unraisable_messages_into(reported);
    WeakValueMap<Ref<Instrumented>, Instrumented> m;
    auto value = make<PlainNode>(ev, "value");
    auto kept = make<PlainNode>(ev, "kept");
    auto kept_key = make<PlainNode>(ev, "kept key");
    auto late_key = make<PlainNode>(ev, "late key");
    {
      auto key = make<FinalizerOnlyNode>(ev, "key");
      key->on_finalize = [&](Instrumented&) {  // runs when the sweep destroys the entry
        m.insert_or_assign(late_key, kept);
        EXPECT_TRUE(m.erase(kept_key));
      };
      m.insert_or_assign(key, value);
      m.insert_or_assign(kept_key, kept);
    }
    for (auto [key, v] : m) value.reset();
    EXPECT_EQ(reported, std::vector<std::string>{});
    EXPECT_EQ(ev.count("destroy key"), 1u);
    EXPECT_TRUE(m.contains(late_key));
    EXPECT_FALSE(m.contains(kept_key));
    EXPECT_EQ(m.size(), 1u);
  });
}

TEST(WeakKeyMap, ReplacingADeadEntryThatHeldTheMapsOwnerDoesNotUseTheFreedMap) {
  in_fresh_heap([] {
    Events ev;
    Ref<Instrumented> saved;
    auto owner = make<FinalizedMapHolder>(ev, "owner");
    MapHolder* raw = owner.get();
    owner->on_finalize = [&saved](Instrumented& self) { saved = ouro::ref(&self); };
    auto key = make<PlainNode>(ev, "key");
    owner->by_object.insert_or_assign(key, owner);  // a cycle through the map's value
    owner.reset();
    // The owner is garbage: its map's weak reference to `key` is cleared with
    // it (and never calls back), then the finalizer resurrects it.
    gc::collect();
    ASSERT_EQ(saved.get(), raw);
    raw->on_finalize = nullptr;
    saved.reset();
    const void* address = key.get();
    key.reset();  // the entry stays, dead, until something replaces or sweeps it
    auto reused = make<PlainNode>(ev, "reused");
    ASSERT_EQ(static_cast<const void*>(reused.get()), address) << "the pool hands out the freed block again";
    // Replaces the dead entry, whose destruction destroys the owner and its map.
    raw->by_object.insert_or_assign(reused, Ref<Instrumented>());
    EXPECT_EQ(ev.count("destroy owner"), 1u);
    EXPECT_EQ(ouro::weakref_count(*reused), 0u);
    reused.reset();
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakKeyMap, ErasingAnEntryWhoseValueHeldTheMapsOwnerDoesNotCallBackIntoTheFreedMap) {
  in_fresh_heap([] {
    Events ev;
    auto owner = make<MapHolder>(ev, "owner");
    MapHolder* raw = owner.get();
    auto key = make<PlainNode>(ev, "key");
    Instrumented& key_object = *key;
    raw->by_object.insert_or_assign(key, owner);
    raw->next = std::move(key);  // the key dies with the owner, after its map
    owner.reset();
    EXPECT_TRUE(raw->by_object.erase(key_object));
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakValueMap, AMapWhoseOwnerDiesWhenTheIteratorMovesOnIsNotReadAfterwards) {
  in_fresh_heap([] {
    Events ev;
    auto owner = make<MapHolder>(ev, "owner");
    MapHolder* raw = owner.get();
    raw->by_key.insert_or_assign(make<PlainNode>(ev, "key"), owner);  // the owner is its map's value
    {
      auto it = raw->by_key.begin();
      auto end = raw->by_key.end();
      owner.reset();  // the iterator holds the owner now
      EXPECT_EQ(it->second.get(), raw);
      ++it;  // lets go of the owner, which destroys its map
      EXPECT_TRUE(it == end);
      EXPECT_EQ(ev.count("destroy owner"), 1u);
      EXPECT_EQ(ev.count("destroy key"), 0u) << "the entries go with the last iterator";
    }
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakValueMap, AssigningAnIteratorThatHeldTheLastRefToTheMapsOwnerIsSafe) {
  in_fresh_heap([] {
    Events ev;
    auto owner = make<MapHolder>(ev, "owner");
    MapHolder* raw = owner.get();
    raw->by_key.insert_or_assign(make<PlainNode>(ev, "key"), owner);
    auto it = raw->by_key.begin();
    owner.reset();
    it = decltype(it)();  // drops the owner, and its map, while still over it
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(WeakValueMap, AMapDestroyedWhileAnIteratorIsAliveLeavesTheIteratorReadable) {
  Events ev;
  auto value = make<PlainNode>(ev, "value");
  auto map = std::make_unique<WeakValueMap<Ref<Instrumented>, Instrumented>>();
  map->insert_or_assign(make<PlainNode>(ev, "key"), value);
  {
    auto it = map->begin();
    auto end = map->end();
    map.reset();
    EXPECT_EQ(it->first->name, "key");
    EXPECT_EQ(it->second, value);
    EXPECT_EQ(ev.count("destroy key"), 0u) << "the entries go with the last iterator";
    ++it;
    EXPECT_TRUE(it == end);
  }
  EXPECT_EQ(ev.count("destroy key"), 1u);
  EXPECT_EQ(ouro::weakref_count(*value), 0u);
}

TEST(WeakValueMap, AMapMovedOverWhileAnIteratorIsAliveLeavesTheIteratorReadable) {
  Events ev;
  auto value = make<PlainNode>(ev, "value");
  WeakValueMap<std::string, Instrumented> map;
  map.insert_or_assign("old", value);
  {
    auto it = map.begin();
    auto end = map.end();
    map = WeakValueMap<std::string, Instrumented>();
    EXPECT_EQ(it->first, "old");
    ++it;
    EXPECT_TRUE(it == end);
    map.insert_or_assign("new", value);  // the map has a new state, no iterator over it
  }
  EXPECT_EQ(map.size(), 1u);
  EXPECT_EQ(map.get("new"), value);
  EXPECT_EQ(ouro::weakref_count(*value), 1u);
}

TEST(WeakMapsAsMembers, TheCollectorMayClearAMapWhileAnIteratorOverItIsAlive) {
  in_fresh_heap([] {
    Events ev;
    auto value = make<PlainNode>(ev, "value");
    auto holder = make<MapHolder>(ev, "holder");
    holder->next = holder;
    holder->by_key.insert_or_assign(make<PlainNode>(ev, "key"), value);
    auto& map = holder->by_key;
    {
      auto it = map.begin();
      auto end = map.end();
      holder.reset();
      EXPECT_EQ(gc::collect(), 1u);
      EXPECT_EQ(ev.count("destroy holder"), 1u);
      EXPECT_EQ(it->first->name, "key");
      ++it;
      EXPECT_TRUE(it == end);
    }
    EXPECT_EQ(ev.count("destroy key"), 1u);
    EXPECT_EQ(ouro::weakref_count(*value), 0u);
  });
}

// ---------------------------------------------------------------------------
// A hash or equality that throws
// ---------------------------------------------------------------------------

// A value dies while K's hash (or equality) throws: its entry is removed all
// the same, and the exception is reported as a weak-reference callback's.
void expect_a_death_while_throwing_is_reported(bool hash, bool equality, const std::string& message) {
  in_fresh_heap([&] {
    Events ev;
    std::vector<std::string> reported;
    report_unraisable_messages_into(reported);
    WeakValueMap<FlakyKey, Instrumented> m;
    auto a = make<PlainNode>(ev, "a");
    auto b = make<PlainNode>(ev, "b");
    m.insert_or_assign(FlakyKey(1), a);
    m.insert_or_assign(FlakyKey(2), b);
    ASSERT_EQ(FlakyKey::alive, 2);
    {
      FlakyKeyThrows throwing(hash, equality);
      a.reset();
    }
    EXPECT_EQ(reported, std::vector<std::string>{message});
    EXPECT_EQ(FlakyKey::alive, 1) << "a's entry is gone, with its key";
    EXPECT_EQ(m.size(), 1u);
    EXPECT_EQ(m.get(FlakyKey(1)), nullptr);
    EXPECT_EQ(m.get(FlakyKey(2)), b);
    int visited = 0;
    for (auto [key, value] : m) {
      EXPECT_EQ(key.id, 2);
      ++visited;
    }
    EXPECT_EQ(visited, 1);
  });
}

TEST(WeakValueMap, AHashThrowingWhenAValueDiesIsReportedAndTheEntryStillGoes) {
  expect_a_death_while_throwing_is_reported(/*hash=*/true, /*equality=*/false, "hash");
}

TEST(WeakValueMap, AnEqualityThrowingWhenAValueDiesIsReportedAndTheEntryStillGoes) {
  expect_a_death_while_throwing_is_reported(/*hash=*/false, /*equality=*/true, "equality");
}

TEST(WeakValueMap, AHashOrEqualityThrowingInALookupPropagatesAndLeavesTheMapUnchanged) {
  Events ev;
  WeakValueMap<FlakyKey, Instrumented> m;
  auto a = make<PlainNode>(ev, "a");
  auto b = make<PlainNode>(ev, "b");
  m.insert_or_assign(FlakyKey(1), a);
  for (bool hash : {true, false}) {
    FlakyKeyThrows throwing(hash, !hash);
    EXPECT_THROW(m.insert_or_assign(FlakyKey(1), b), std::runtime_error);
    if (hash) {
      EXPECT_THROW(m.insert_or_assign(FlakyKey(2), b), std::runtime_error);
    }
    EXPECT_THROW(m.get(FlakyKey(1)), std::runtime_error);
    EXPECT_THROW(m.contains(FlakyKey(1)), std::runtime_error);
    EXPECT_THROW(m.erase(FlakyKey(1)), std::runtime_error);
  }
  EXPECT_EQ(m.size(), 1u);
  EXPECT_EQ(m.get(FlakyKey(1)), a);
  EXPECT_EQ(m.get(FlakyKey(2)), nullptr);
  EXPECT_EQ(ouro::weakref_count(*b), 0u);
  EXPECT_EQ(FlakyKey::alive, 1);
  a.reset();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_EQ(FlakyKey::alive, 0);
}

}  // namespace

namespace {

// The collector clears the weak references owned by garbage without calling
// back; a finalizer that then resurrects the map's owner leaves the map with
// entries it was never told are dead. size() must still count live entries
// only, like get(), contains() and iteration.
TEST(WeakMapsAsMembers, AMapWhoseOwnerWasResurrectedCountsOnlyItsLiveEntries) {
  in_fresh_heap([] {
    Events ev;
    Ref<Instrumented> resurrected;
    Ref<Instrumented> key = make<PlainNode>(ev, "key");
    {
      auto owner = make<FinalizedMapHolder>(ev, "owner");
      auto value = make<PlainNode>(ev, "value");
      owner->by_key.insert_or_assign(key, value);
      owner->links.push_back(value);  // the value belongs to the garbage too
      owner->next = owner;            // a cycle: garbage once dropped
      owner->on_finalize = [&resurrected](Instrumented& self) {
        resurrected = ouro::ref(&self);
        static_cast<MapHolder&>(self).links.clear();  // the value dies now: its entry is dead
      };
    }
    EXPECT_EQ(gc::collect(), 0u) << "the owner resurrected itself, and so everything it reaches";
    ASSERT_TRUE(resurrected);
    auto& map = static_cast<MapHolder&>(*resurrected).by_key;
    EXPECT_FALSE(map.get(key)) << "the value died";
    EXPECT_FALSE(map.contains(key));
    EXPECT_EQ(map.size(), 0u);
    EXPECT_TRUE(map.empty());
    std::size_t seen = 0;
    for ([[maybe_unused]] auto entry : map) ++seen;
    EXPECT_EQ(seen, 0u);
    resurrected->next.reset();
    resurrected.reset();
  });
}

}  // namespace
