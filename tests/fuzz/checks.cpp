// fuzz/checks.cpp — the model's verdicts (see checks.hpp for the list).
#include "checks.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

#include <ouro/detail/verify.hpp>

#include "support/reachability.hpp"

namespace ouro_fuzz {

namespace gc = ouro::gc;
using ouro::Object;
using ouro::Ref;

namespace {

// Every object in this heap is a Base; the cast only adjusts the address
// (it never reads the object, which may be freed if the library is wrong).
const Base* as_base(const Object* o) { return static_cast<const Base*>(o); }
Base& object_at(const std::pair<const Base* const, std::uint32_t>& entry) { return const_cast<Base&>(*entry.first); }

std::string describe(const World& w, std::uint32_t id) {
  static const char* const kinds[] = {"Node", "FinNode", "Leaf", "FinLeaf"};
  const Info& info = w.objects[id];
  return "object " + std::to_string(id) + " (" + kinds[static_cast<int>(info.kind)] + ")";
}

// Refcount, generation and referrers of a live object, for failure reports.
std::string state(World& w, std::size_t id) {
  for (const auto& entry : w.live) {
    if (entry.second != id) continue;
    const Base& b = *entry.first;
    std::string text = ": refcount " + std::to_string(ouro::refcount(b)) + ", finalized " +
                       std::to_string(w.objects[id].finalized) + ", generation";
    for (int g = 0; g <= 2; ++g)
      for (const Ref<Object>& r : gc::get_objects(g))
        if (r.get() == &b) text += " " + std::to_string(g);
    text += ", referrers";
    ++w.quiet;
    for (const Ref<Object>& r : gc::get_referrers(b)) text += " " + std::to_string(w.id_of(as_base(r.get())));
    --w.quiet;
    text += ", table " + std::to_string(static_cast<int>(ouro::detail::table_of(b))) + " flags " +
            std::to_string(ouro::detail::Access::flags(b));
    text += ", full collections so far " + std::to_string(gc::get_stats()[2].collections);
    text += ", fields";
    for (const Ref<Base>& f : b.fields) text += " " + std::to_string(f ? w.id_of(f.get()) : -1);
    return text;
  }
  return ": not alive";
}

// Quiet: the harness's own questions run no traverse() user code.
struct Quiet {
  World& w;
  explicit Quiet(World& world) : w(world) { ++w.quiet; }
  ~Quiet() { --w.quiet; }
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;
};

}  // namespace

std::unordered_map<std::uint32_t, std::vector<const Base*>> map_references(World& w) {
  Quiet quiet(w);
  std::unordered_map<std::uint32_t, std::vector<const Base*>> out;
  for (const auto& entry : w.live) {
    const Base& b = *entry.first;
    if (!is_tracked_kind(w.objects[entry.second].kind)) continue;
    std::vector<Ref<Object>> referents = gc::get_referents(b);
    std::size_t i = 0;
    for (const Ref<Base>& f : b.fields) {
      if (!f) continue;
      if (i >= referents.size() || referents[i].get() != f.get()) {
        w.fail("get_referents of " + describe(w, entry.second) + " does not start with its fields");
        return out;
      }
      ++i;
    }
    for (; i < referents.size(); ++i) out[entry.second].push_back(as_base(referents[i].get()));
  }
  return out;
}

namespace {

// Counts the Refs to each live object that the harness can see; reports
// Refs to destroyed objects and fields that differ from the model.
std::vector<std::size_t> count_references(World& w, const std::unordered_map<std::uint32_t, std::vector<const Base*>>& map_refs) {
  std::vector<std::size_t> counts(w.objects.size(), 0);
  auto count = [&](const Base* p, const std::string& where) {
    if (!p) return;
    std::int64_t id = w.id_of(p);
    if (id < 0)
      w.fail(where + " refers to a destroyed object");
    else
      ++counts[static_cast<std::size_t>(id)];
  };
  for (int s = 0; s < kSlots; ++s) count(w.slots[static_cast<std::size_t>(s)].get(), "slot " + std::to_string(s));
  for (const Ref<Base>& r : w.store) count(r.get(), "the resurrection store");
  for (const Ref<Object>& r : gc::garbage()) count(as_base(r.get()), "gc::garbage()");
  for (const auto& [id, refs] : map_refs)
    for (const Base* p : refs) count(p, "a weak map of " + describe(w, id));
  for (const auto& entry : w.live) {
    Base& b = object_at(entry);
    const Info& info = w.objects[b.id];
    if (b.fields.size() != info.shadow.size()) {
      w.fail(describe(w, b.id) + " is alive but its fields were emptied (cleared as garbage?)");
      continue;
    }
    for (std::size_t i = 0; i < b.fields.size(); ++i) {
      count(b.fields[i].get(), describe(w, b.id) + " field " + std::to_string(i));
      std::int64_t actual = b.fields[i] ? w.id_of(b.fields[i].get()) : -1;
      if (actual != info.shadow[i])
        w.fail(describe(w, b.id) + " field " + std::to_string(i) + " points at " + std::to_string(actual) +
               ", the model says " + std::to_string(info.shadow[i]));
    }
  }
  return counts;
}

void check_counts_and_finalization(World& w, const std::vector<std::size_t>& counts) {
  for (const auto& entry : w.live) {
    Base& b = object_at(entry);
    const Info& info = w.objects[b.id];
    std::size_t rc = ouro::refcount(b);
    if (info.immortal) {
      if (rc != ouro::immortal_refcount) w.fail(describe(w, b.id) + " is immortal but refcount says " + std::to_string(rc));
    } else if (rc != counts[b.id]) {
      w.fail(describe(w, b.id) + ": refcount " + std::to_string(rc) + ", the model counts " +
             std::to_string(counts[b.id]) + " references");
    } else if (rc == 0) {
      w.fail(describe(w, b.id) + " is alive with no reference to it");
    }
    if (gc::is_finalized(b) != (info.finalized > 0))
      w.fail(describe(w, b.id) + ": is_finalized disagrees with " + std::to_string(info.finalized) + " finalize() calls");
    if (gc::is_tracked(b) != is_tracked_kind(info.kind)) w.fail(describe(w, b.id) + ": is_tracked disagrees with its type");
  }
}

// Each live tracked object is in exactly one of generations 0..2, or frozen.
// Returns, per id, whether the object is frozen.
std::vector<char> check_generations(World& w) {
  std::vector<char> in_gen(w.objects.size(), 0);
  for (int g = 0; g <= 2; ++g) {
    for (const Ref<Object>& r : gc::get_objects(g)) {
      std::int64_t id = w.id_of(as_base(r.get()));
      if (id < 0) {
        w.fail("get_objects(" + std::to_string(g) + ") lists an object that is not alive");
        continue;
      }
      auto i = static_cast<std::size_t>(id);
      if (in_gen[i]) w.fail(describe(w, static_cast<std::uint32_t>(id)) + " is listed twice by get_objects");
      if (!is_tracked_kind(w.objects[i].kind)) w.fail(describe(w, static_cast<std::uint32_t>(id)) + " is untracked but listed");
      in_gen[i] = 1;
    }
  }
  std::vector<char> frozen(w.objects.size(), 0);
  std::size_t n_frozen = 0;
  for (const auto& entry : w.live) {
    std::uint32_t id = entry.second;
    if (is_tracked_kind(w.objects[id].kind) && !in_gen[id]) {
      frozen[id] = 1;
      ++n_frozen;
    }
  }
  if (gc::get_freeze_count() != n_frozen)
    w.fail("get_freeze_count() is " + std::to_string(gc::get_freeze_count()) + " but " + std::to_string(n_frozen) +
           " live tracked objects are in no generation");
  return frozen;
}

void check_garbage_list(World& w) {
  if (w.saveall_since_clear) return;
  std::vector<char> seen(w.objects.size(), 0);
  for (const Ref<Object>& r : gc::garbage()) {
    std::int64_t id = w.id_of(as_base(r.get()));
    if (id < 0) continue;  // reported by count_references
    auto i = static_cast<std::size_t>(id);
    const Info& info = w.objects[i];
    if (seen[i]) w.fail(describe(w, static_cast<std::uint32_t>(id)) + " is in garbage() twice");
    seen[i] = 1;
    if (!has_finalizer_kind(info.kind) || !is_tracked_kind(info.kind))
      w.fail(describe(w, static_cast<std::uint32_t>(id)) + " is in garbage() but is no tracked finalizer object");
    if (info.finalized != 0) w.fail(describe(w, static_cast<std::uint32_t>(id)) + " is in garbage() but was finalized");
  }
}

// The maps objects own (Base::kmap, vmap) against OwnedEntry models: each
// model entry is live (get/find agree) or lingering (its weak reference is
// dead: its target died, or was cleared by a collection that found the
// target, or the map's owner, garbage); size() counts the live ones; the
// strong references the maps report in traverse() are those of the live
// entries plus some of the lingering ones (a lingering entry the map no
// longer reports leaves the model).
template <class LiveNow>
void check_owned_maps(World& w, const std::unordered_map<std::uint32_t, std::vector<const Base*>>& map_refs,
                      bool clearing_possible, LiveNow live_now, std::vector<std::size_t>& weak_counts) {
  std::vector<const Base*> by_id(w.objects.size(), nullptr);
  for (const auto& entry : w.live) by_id[entry.second] = entry.first;
  for (const auto& entry : w.live) {
    Base& owner = object_at(entry);
    std::vector<OwnedEntry>& owned = w.objects[entry.second].owned;
    if (owned.empty() && !map_refs.contains(entry.second)) continue;
    const std::string name = describe(w, entry.second);
    std::size_t live_k = 0, live_v = 0;
    for (OwnedEntry& e : owned) {
      if (e.lingering) continue;
      if (!live_now(e.weak, e.created)) {
        e.lingering = true;
        continue;
      }
      const Base* target = by_id[static_cast<std::size_t>(e.weak)];
      std::int64_t found = -2;  // -2: no live entry
      if (e.in_kmap) {
        if (const Ref<Base>* v = owner.kmap.find(*target)) found = *v ? w.id_of(v->get()) : -1;
      } else {
        Ref<Base> key = e.strong >= 0 ? ouro::ref(const_cast<Base*>(by_id[static_cast<std::size_t>(e.strong)])) : Ref<Base>();
        if (Ref<Base> v = owner.vmap.get(key)) found = w.id_of(v.get());
      }
      if (found == -2) {
        if (!clearing_possible)
          w.fail("an entry of " + name + "'s " + (e.in_kmap ? "kmap" : "vmap") + " is gone while object " +
                 std::to_string(e.weak) + " lives and no collection could have cleared it");
        e.lingering = true;
        continue;
      }
      if (found != (e.in_kmap ? e.strong : e.weak))
        w.fail("an entry of " + name + "'s " + (e.in_kmap ? "kmap" : "vmap") + " holds object " + std::to_string(found) +
               ", the model says " + std::to_string(e.in_kmap ? e.strong : e.weak));
      ++(e.in_kmap ? live_k : live_v);
      ++weak_counts[static_cast<std::size_t>(e.weak)];
    }
    if (owner.kmap.size() != live_k || owner.vmap.size() != live_v)
      w.fail(name + "'s maps: size() " + std::to_string(owner.kmap.size()) + " and " + std::to_string(owner.vmap.size()) +
             ", the model has " + std::to_string(live_k) + " and " + std::to_string(live_v) + " live entries");
    // The strong references: every live entry's, then lingering ones.
    std::unordered_map<std::int64_t, int> held;
    if (auto it = map_refs.find(entry.second); it != map_refs.end())
      for (const Base* p : it->second) ++held[w.id_of(p)];
    for (const OwnedEntry& e : owned)
      if (!e.lingering && e.strong >= 0 && held[e.strong]-- <= 0)
        w.fail(name + "'s " + (e.in_kmap ? "kmap" : "vmap") + " no longer holds object " + std::to_string(e.strong) +
               " for a live entry");
    std::erase_if(owned, [&](const OwnedEntry& e) { return e.lingering && (e.strong < 0 || held[e.strong]-- <= 0); });
    for (const auto& [id, n] : held)
      if (n > 0) w.fail(name + "'s maps hold object " + std::to_string(id) + " for no entry of the model");
  }
}

}  // namespace

void check_world(World& w) {
  if (!w.failure.empty()) return;
#if OURO_EXPENSIVE_CHECKS
  // The library's own invariants (tables, slots, guarded and pending marks)
  // after every operation; between every phase of every collection the
  // library checks them itself at this level.
  ouro::detail::verify_this_heap("after a fuzzer operation");
#endif
  if (w.thrown != w.reported + w.caught)
    w.fail(std::to_string(w.thrown) + " exceptions thrown by user code, " + std::to_string(w.reported) +
           " reported to the unraisable hook, " + std::to_string(w.caught) + " came back out of the library");
  if (w.collection_running)
    w.fail("a collection's callbacks saw Phase::start and no Phase::stop");
  std::unordered_map<std::uint32_t, std::vector<const Base*>> map_refs = map_references(w);
  if (!w.failure.empty()) return;
  std::vector<std::size_t> counts = count_references(w, map_refs);
  if (!w.failure.empty()) return;  // never read an object through a bad Ref
  check_counts_and_finalization(w, counts);
  check_generations(w);
  check_garbage_list(w);
  check_weak(w, map_refs);
}

void check_weak(World& w, const std::unordered_map<std::uint32_t, std::vector<const Base*>>& map_refs) {
  if (!w.failure.empty()) return;
  struct Seen {
    std::int64_t rec;
    bool expired;
    bool in_field;
  };
  std::vector<Seen> seen;
  for (int i = 0; i < kWeakSlots; ++i) {
    const WeakSlot& ws = w.weak[static_cast<std::size_t>(i)];
    if (ws.rec < 0) {
      if (!ws.ref.expired()) w.fail("weak slot " + std::to_string(i) + " is empty in the model but not expired");
      continue;
    }
    seen.push_back({ws.rec, ws.ref.expired(), false});
  }
  for (const auto& entry : w.live) {
    const Base& b = *entry.first;
    if (b.weak_rec >= 0) seen.push_back({b.weak_rec, b.weak.expired(), true});
  }
  // A weak reference expired while its target lives: legal only when a
  // collection cleared it (a finalizer ran, or DEBUG_SAVEALL kept the
  // garbage) in this operation; then all older ones to it are cleared too.
  const bool clearing_possible = !w.finalized_during_op.empty() || w.saveall_since_clear;
  auto alive = [&](std::int64_t t) { return t >= 0 && w.objects[static_cast<std::size_t>(t)].alive; };
  auto note_cleared = [&](std::int64_t t, std::uint64_t created, const std::string& what) {
    Info& info = w.objects[static_cast<std::size_t>(t)];
    if (created < info.cleared_before) return;
    if (clearing_possible)
      info.cleared_before = w.op_index;  // every weak reference made so far
    else
      w.fail(what + " is expired but its target, " + describe(w, static_cast<std::uint32_t>(t)) +
             ", is alive and no collection could have cleared it");
  };
  for (const Seen& s : seen) {
    const WeakInfo& r = w.weak_records[static_cast<std::size_t>(s.rec)];
    if (!r.alive) w.fail("weak reference " + std::to_string(s.rec) + " is held but the model says it was destroyed");
    if (!s.in_field && !r.expired_seen && s.expired && alive(r.target))
      note_cleared(r.target, r.created, "weak reference " + std::to_string(s.rec));
  }
  for (const auto& [key, e] : w.value_model)
    if (alive(e.target) && !w.value_map.get(key)) note_cleared(e.target, e.created, "WeakValueMap entry " + std::to_string(key));
  for (const auto& [key, e] : w.hash_model)
    if (alive(e.target) && !w.hash_map.get(HashKey{key, &w}))
      note_cleared(e.target, e.created, "hash map entry " + std::to_string(key));
  for (const auto& [id, e] : w.key_model) {
    const Base* key = nullptr;
    for (const auto& entry : w.live)
      if (entry.second == id) key = entry.first;
    if (key && !w.key_map.find(*key)) note_cleared(e.target, e.created, "WeakKeyMap entry of " + std::to_string(id));
  }
  if (!w.failure.empty()) return;

  auto live_now = [&](std::int64_t t, std::uint64_t created) {
    return alive(t) && created >= w.objects[static_cast<std::size_t>(t)].cleared_before;
  };
  std::vector<std::size_t> weak_counts(w.objects.size(), 0);
  for (const Seen& s : seen) {
    WeakInfo& r = w.weak_records[static_cast<std::size_t>(s.rec)];
    std::string name = "weak reference " + std::to_string(s.rec) + (s.in_field ? " (a member)" : "");
    bool expect_expired = r.expired_seen || !live_now(r.target, r.created);
    if (!s.expired && expect_expired)
      w.fail(name + " is not expired but its target " + std::to_string(r.target) +
             (alive(r.target) ? " was cleared by a collection" : " is destroyed"));
    if (s.expired && !expect_expired && !(s.in_field && clearing_possible))
      w.fail(name + " is expired but its target " + std::to_string(r.target) + " is alive");
    r.expired_seen = s.expired;
    if (r.calls > 1) w.fail(name + ": callback ran " + std::to_string(r.calls) + " times");
    if (r.calls > 0 && !s.expired) w.fail(name + ": callback ran but it is not expired");
    if (r.has_callback && !r.ever_in_field && r.target >= 0 && r.calls != (s.expired ? 1 : 0))
      w.fail(name + ": expired " + (s.expired ? "true" : "false") + " but its callback ran " + std::to_string(r.calls) +
             " times");
    if (!s.expired && r.target >= 0) ++weak_counts[static_cast<std::size_t>(r.target)];
  }
  // A WeakValueMap keyed by ints against its model: dead entries leave the model.
  auto check_values = [&](std::unordered_map<int, MapEntry>& model, auto get, const std::string& name) {
    for (auto it = model.begin(); it != model.end();) {
      Ref<Base> got = get(it->first);
      if (!live_now(it->second.target, it->second.created)) {
        if (got) w.fail(name + "::get(" + std::to_string(it->first) + ") finds a dead or cleared value");
        it = model.erase(it);
        continue;
      }
      if (!got || w.id_of(got.get()) != it->second.target)
        w.fail(name + "::get(" + std::to_string(it->first) + ") is not object " + std::to_string(it->second.target));
      ++weak_counts[static_cast<std::size_t>(it->second.target)];
      ++it;
    }
  };
  check_values(w.value_model, [&](int key) { return w.value_map.get(key); }, "WeakValueMap");
  check_values(w.hash_model, [&](int key) { return w.hash_map.get(HashKey{key, &w}); }, "the hash map");
  for (auto it = w.key_model.begin(); it != w.key_model.end();) {
    if (!live_now(it->second.target, it->second.created)) {
      it = w.key_model.erase(it);
      continue;
    }
    const Base* key = nullptr;
    for (const auto& entry : w.live)
      if (entry.second == it->first) key = entry.first;
    const int* value = key ? w.key_map.find(*key) : nullptr;
    if (!value || *value != it->second.value)
      w.fail("WeakKeyMap::find(object " + std::to_string(it->first) + ") disagrees with the model");
    ++weak_counts[it->first];
    ++it;
  }
  if (w.hash_map.size() != w.hash_model.size())
    w.fail("the hash map's size() is " + std::to_string(w.hash_map.size()) + ", the model has " +
           std::to_string(w.hash_model.size()) + " live entries");
  check_owned_maps(w, map_refs, clearing_possible, live_now, weak_counts);
  if (w.value_map.size() != w.value_model.size())
    w.fail("WeakValueMap::size() is " + std::to_string(w.value_map.size()) + ", the model has " +
           std::to_string(w.value_model.size()) + " live entries");
  if (w.key_map.size() != w.key_model.size())
    w.fail("WeakKeyMap::size() is " + std::to_string(w.key_map.size()) + ", the model has " +
           std::to_string(w.key_model.size()) + " live entries");
  for (const auto& entry : w.live) {
    std::size_t n = ouro::weakref_count(*entry.first);
    if (n != weak_counts[entry.second])
      w.fail(describe(w, entry.second) + ": weakref_count " + std::to_string(n) + ", the model counts " +
             std::to_string(weak_counts[entry.second]));
  }
}

namespace {

// Whether object `id` is part of the garbage of the checked pep442
// collection now running (false when that cannot be told).
bool in_checked_garbage(const World& w, std::int64_t id) {
  if (!w.collect_check_armed || w.collect_legacy || w.collect_save_all || w.freeze_during_op) return false;
  const std::vector<char>& before = w.unreachable_before;
  return id >= 0 && static_cast<std::size_t>(id) < before.size() && before[static_cast<std::size_t>(id)] &&
         is_tracked_kind(w.objects[static_cast<std::size_t>(id)].kind);
}

}  // namespace

void check_weak_callback_owner(World& w, const WeakInfo& r) {
  if (w.callback_ids.empty() && in_checked_garbage(w, r.owner))
    w.fail("the callback of a weak reference held by " + describe(w, static_cast<std::uint32_t>(r.owner)) +
           ", garbage of the running collection, ran (target " + std::to_string(r.target) + ", " +
           std::to_string(w.finalized_during_op.size()) + " finalizers ran so far in this operation, owner finalized " +
           std::to_string(w.objects[static_cast<std::size_t>(r.owner)].finalized) + ")");
}

void check_finalizer_weak_view(World& w, Base& self) {
  // A traverse() that acted during the collection changed the graph under
  // its count: the model's garbage is not the collection's (check_collected
  // stands aside for the same reason).
  if (w.traverse_acted) return;
  auto garbage = [&](std::int64_t id) { return in_checked_garbage(w, id); };
  if (!garbage(self.id)) return;
  auto look = [&](const ouro::WeakRef<Base>& ref, std::int64_t rec, const std::string& where) {
    if (rec < 0 || ref.expired()) return;
    std::int64_t t = w.weak_records[static_cast<std::size_t>(rec)].target;
    if (garbage(t))
      w.fail("the finalizer of " + describe(w, self.id) + " sees " + where + " alive, to " +
             describe(w, static_cast<std::uint32_t>(t)) + " of the same garbage");
  };
  for (int i = 0; i < kWeakSlots; ++i)
    look(w.weak[static_cast<std::size_t>(i)].ref, w.weak[static_cast<std::size_t>(i)].rec, "weak slot " + std::to_string(i));
  for (const auto& entry : w.live) look(entry.first->weak, entry.first->weak_rec, "the weak member of " + describe(w, entry.second));
}

std::vector<char> unreachable(World& w) {
  std::unordered_map<std::uint32_t, std::vector<const Base*>> map_refs = map_references(w);
  std::vector<char> frozen = check_generations(w);
  // The live objects as the shared model's graph: an edge per field and per
  // entry of a map the object owns, to a live object.
  ouro_test::Edges edges(w.objects.size());
  ouro_test::Set live(w.objects.size(), 0);
  std::vector<int> roots;
  auto root = [&](const Base* p) {
    if (std::int64_t id = p ? w.id_of(p) : -1; id >= 0) roots.push_back(static_cast<int>(id));
  };
  auto edge = [&](std::vector<int>& out, const Base* p) {
    if (std::int64_t id = p ? w.id_of(p) : -1; id >= 0) out.push_back(static_cast<int>(id));
  };
  for (const Ref<Base>& r : w.slots) root(r.get());
  for (const Ref<Base>& r : w.store) root(r.get());
  for (const Ref<Object>& r : gc::garbage()) root(as_base(r.get()));
  for (const auto& entry : w.live) {
    const Base& b = *entry.first;
    const Info& info = w.objects[entry.second];
    live[entry.second] = 1;
    if (info.immortal || frozen[entry.second]) root(&b);
    if (!is_tracked_kind(info.kind))
      for (const Ref<Base>& f : b.fields) root(f.get());  // invisible to the collector
    std::vector<int>& out = edges[entry.second];
    for (const Ref<Base>& f : b.fields) edge(out, f.get());
    if (auto it = map_refs.find(b.id); it != map_refs.end())
      for (const Base* p : it->second) edge(out, p);
  }
  return ouro_test::unreachable(edges, roots, live);
}

void check_collected(World& w, const std::vector<char>& before, bool legacy) {
  // A freeze() by a callback before the collection hides the garbage from
  // it; an unfreeze() after it brings the garbage back. Both are legal.
  if (!w.failure.empty() || w.freeze_during_op || w.finalizer_dropped || w.traverse_acted) return;
  std::vector<char> after = unreachable(w);
  for (std::size_t id = 0; id < before.size(); ++id) {
    if (before[id] && w.collect_save_all && !w.objects[id].alive && !w.saveall_may_free[id])
      w.fail(describe(w, static_cast<std::uint32_t>(id)) + " was garbage under DEBUG_SAVEALL and was freed");
    if (before[id] && w.objects[id].alive && after[id])
      w.fail(describe(w, static_cast<std::uint32_t>(id)) +
             " was unreachable before collect(2) and is still alive and unreachable after it" + state(w, id));
  }
  if (!legacy) return;
  for (std::uint32_t id : w.finalized_during_op)
    if (id < before.size() && before[id] && is_tracked_kind(w.objects[id].kind))
      w.fail(describe(w, id) + " was finalized by a collection under the legacy policy");
}

void install_collection_check(World& w) {
  World* world = &w;
  gc::add_callback([world](gc::Phase phase, const gc::CollectionInfo& info) {
    if (phase == gc::Phase::start) {
      if (world->collection_running)
        world->fail("Phase::start of a collection while the callbacks of an earlier one saw no Phase::stop");
      world->collection_running = true;
      return;
    }
    world->collection_running = false;
    if (!world->collect_check_armed) return;
    world->collect_check_armed = false;
    if (info.generation != 2) world->fail("the collection checked was not a full one");
    check_collected(*world, world->unreachable_before, world->collect_legacy);
  });
}

namespace {

// DEBUG_SAVEALL keeps what a collection finds (tracked objects) from being
// freed; an untracked object is not among it. One held only by entries of
// weak maps whose weak referents are that garbage dies when those entries
// go, and they go during the collection when the map's owner is not in
// `unreachable` itself (legacy policy: the owner has a finalizer or is
// reached from one, so it is uncollectable): the entries' weak references
// then call back and erase them. CPython 3.11 does the same: handle_weakrefs
// calls back the weakrefs that a WeakKeyDictionary reached from an object
// with __del__ holds (move_legacy_finalizer_reachable took them out of the
// collecting set), and the dict lets go of the value.
std::vector<char> held_only_by_dying_entries(World& w, const std::vector<char>& unreachable_now) {
  std::vector<std::size_t> held(w.objects.size(), 0);
  for (const auto& entry : w.live)
    for (const OwnedEntry& e : w.objects[entry.second].owned)
      if (!e.lingering && e.strong >= 0 && e.weak >= 0 && unreachable_now[static_cast<std::size_t>(e.weak)])
        ++held[static_cast<std::size_t>(e.strong)];
  std::vector<char> out(w.objects.size(), 0);
  for (const auto& entry : w.live) {
    std::uint32_t id = entry.second;
    out[id] = unreachable_now[id] && !is_tracked_kind(w.objects[id].kind) && held[id] > 0 &&
              held[id] >= ouro::refcount(*entry.first);
  }
  return out;
}

}  // namespace

std::size_t collect_and_check(World& w) {
  w.collect_legacy = gc::get_finalizer_policy() == gc::FinalizerPolicy::legacy;
  w.collect_save_all = (gc::get_debug() & gc::DEBUG_SAVEALL) != 0;
  w.unreachable_before = unreachable(w);
  w.saveall_may_free = held_only_by_dying_entries(w, w.unreachable_before);
  w.finalizer_dropped = false;
  w.collect_check_armed = true;
  std::size_t n = 0;
  try {
    n = gc::collect(2);
  } catch (...) {  // out of memory (injected): the check has nothing to compare
    w.collect_check_armed = false;
    throw;
  }
  if (w.collect_check_armed) w.fail("collect(2) ran no Phase::stop callback");
  w.collect_check_armed = false;
  return n;
}

void check_referrers_and_referents(World& w, Base& target) {
  std::vector<std::int64_t> want, got;
  std::unordered_map<std::uint32_t, std::vector<const Base*>> map_refs = map_references(w);
  std::vector<char> frozen = check_generations(w);
  Quiet quiet(w);
  for (const auto& entry : w.live) {
    const Base& b = *entry.first;
    if (!is_tracked_kind(w.objects[entry.second].kind) || frozen[entry.second]) continue;
    auto it = map_refs.find(entry.second);
    if (std::any_of(b.fields.begin(), b.fields.end(), [&](const Ref<Base>& f) { return f.get() == &target; }) ||
        (it != map_refs.end() && std::find(it->second.begin(), it->second.end(), &target) != it->second.end()))
      want.push_back(entry.second);
  }
  for (const Ref<Object>& r : gc::get_referrers(target)) got.push_back(w.id_of(as_base(r.get())));
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  if (want != got) w.fail("get_referrers of " + describe(w, target.id) + " differs from the fields that hold it");

  std::vector<const Object*> referents;
  for (const Ref<Object>& r : gc::get_referents(target)) referents.push_back(r.get());
  std::vector<const Object*> expected;
  if (is_tracked_kind(w.objects[target.id].kind)) {
    for (const Ref<Base>& f : target.fields)
      if (f) expected.push_back(f.get());
    if (auto it = map_refs.find(target.id); it != map_refs.end()) expected.insert(expected.end(), it->second.begin(), it->second.end());
  }
  if (referents != expected) w.fail("get_referents of " + describe(w, target.id) + " differs from its fields and maps");
}

}  // namespace ouro_fuzz
