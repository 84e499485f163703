// fuzz/ops.cpp — the operations of the interpreter (see ops.hpp), one small
// function each, and the table that numbers them.
#include "ops.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <ouro/detail/fault_injection.hpp>

#include "checks.hpp"

namespace ouro_fuzz {

namespace gc = ouro::gc;
using ouro::Ref;

namespace {

std::string str(int x) { return std::to_string(x); }

int slot_arg(Reader& in) { return in.next() % kSlots; }
Ref<Base>& slot(World& w, int s) { return w.slots[static_cast<std::size_t>(s)]; }

// make slot kind/nfields/init behaviour param: a new object in `slot`;
// field j starts as itself (j == 0 and bit 3 of init) or as the object of
// slot (param + j), when bit j of init is set.
std::string op_make(World& w, Reader& in) {
  int s = slot_arg(in);
  std::uint8_t spec = in.next();
  auto behaviour = static_cast<Behaviour>(in.next() % kBehaviours);
  std::uint8_t param = in.next();
  auto kind = static_cast<Kind>(spec & 3);
  int nfields = (spec >> 2) % (kMaxFields + 1);
  int init = spec >> 4;
  Ref<Base> r = make_object(w, kind, nfields, behaviour, param);
  if (!r) return "make (full)";
  for (int j = 0; j < nfields; ++j) {
    if (!(init & (1 << j))) continue;
    if (j == 0 && (init & 8))
      w.set_field(*r, 0, r);
    else
      w.set_field(*r, j, slot(w, (param + j) % kSlots));
  }
  std::string d = "make s" + str(s) + " id" + std::to_string(r->id) + " kind" + str(spec & 3) + " fields" +
                  str(nfields) + " init" + str(init) + " " + behaviour_name(behaviour) + "(" + str(param) + ")";
  slot(w, s) = std::move(r);
  return d;
}

// set a.fields[i] = object of slot b (b == kSlots: a itself).
std::string op_set_field(World& w, Reader& in) {
  int a = slot_arg(in);
  int i = in.next();
  int b = in.next() % (kSlots + 1);
  Base* holder = slot(w, a).get();
  if (!holder || holder->fields.empty()) return "set_field (none)";
  i %= static_cast<int>(holder->fields.size());
  Ref<Base> target = b == kSlots ? slot(w, a) : slot(w, b);
  w.set_field(*holder, i, target);
  return "set s" + str(a) + ".f" + str(i) + " = " + (b == kSlots ? "self" : "s" + str(b));
}

std::string op_clear_field(World& w, Reader& in) {
  int a = slot_arg(in);
  int i = in.next();
  Base* holder = slot(w, a).get();
  if (!holder || holder->fields.empty()) return "clear_field (none)";
  i %= static_cast<int>(holder->fields.size());
  w.set_field(*holder, i, nullptr);
  return "clear s" + str(a) + ".f" + str(i);
}

std::string op_drop(World& w, Reader& in) {
  int a = slot_arg(in);
  slot(w, a).reset();
  return "drop s" + str(a);
}

std::string op_copy(World& w, Reader& in) {
  int a = slot_arg(in);
  int b = slot_arg(in);
  slot(w, b) = slot(w, a);
  return "copy s" + str(a) + " -> s" + str(b);
}

// slot b = a.fields[i]: reaches objects that no slot holds any more.
std::string op_load(World& w, Reader& in) {
  int a = slot_arg(in);
  int i = in.next();
  int b = slot_arg(in);
  Base* holder = slot(w, a).get();
  if (!holder || holder->fields.empty()) return "load (none)";
  i %= static_cast<int>(holder->fields.size());
  Ref<Base> target = holder->fields[static_cast<std::size_t>(i)];
  slot(w, b) = std::move(target);
  return "load s" + str(b) + " = s" + str(a) + ".f" + str(i);
}

// collect(g); a full collection is checked against the model.
std::string op_collect(World& w, Reader& in) {
  int g = in.next() % 4;
  if (g == 3) g = 2;
  if (g != 2) {
    gc::collect(g);
    return "collect(" + str(g) + ")";
  }
  std::size_t n = collect_and_check(w);
  return "collect(2) = " + std::to_string(n) + (w.collect_legacy ? " legacy" : "");
}

std::string op_freeze(World& w, Reader& in) {
  if (in.next() % 2) {
    gc::unfreeze();
    return "unfreeze";
  }
  gc::freeze();
  w.freeze_during_op = true;
  return "freeze";
}

std::string op_threshold(World&, Reader& in) {
  static constexpr std::array<std::size_t, 8> gen0{0, 1, 2, 3, 5, 10, 50, 700};
  static constexpr std::array<std::size_t, 4> older{1, 2, 3, 10};
  std::uint8_t a = in.next();
  std::uint8_t b = in.next();
  gc::set_threshold(gen0[a % 8], older[(a >> 3) % 4], older[(a >> 5) % 4]);
  if (b % 4 == 0)
    gc::disable();
  else
    gc::enable();
  return "threshold " + std::to_string(gen0[a % 8]) + (b % 4 == 0 ? " disabled" : "");
}

std::string op_policy(World&, Reader& in) {
  bool legacy = in.next() % 2;
  gc::set_finalizer_policy(legacy ? gc::FinalizerPolicy::legacy : gc::FinalizerPolicy::pep442);
  return legacy ? "policy legacy" : "policy pep442";
}

std::string op_debug(World& w, Reader& in) {
  bool save_all = in.next() % 2;
  gc::set_debug(save_all ? gc::DEBUG_SAVEALL : 0u);
  if (save_all) w.saveall_since_clear = true;
  return save_all ? "debug SAVEALL" : "debug 0";
}

std::string op_referrers(World& w, Reader& in) {
  int a = slot_arg(in);
  if (!slot(w, a)) return "referrers (none)";
  Ref<Base> keep = slot(w, a);  // the check must not kill it
  check_referrers_and_referents(w, *keep);
  return "referrers s" + str(a);
}

// Holds a Ref to every tracked object across a collection: nothing of it
// may be freed, and dropping them afterwards is a burst of refcount deaths.
std::string op_hold_all(World&, Reader& in) {
  int g = in.next() % 3;
  std::vector<Ref<ouro::Object>> all = gc::get_objects();
  gc::collect(g);
  std::vector<Ref<ouro::Object>> doomed = std::move(all);
  doomed.clear();
  return "hold_all collect(" + str(g) + ")";
}

std::string op_clear_store(World& w, Reader&) {
  std::vector<Ref<Base>> doomed = std::move(w.store);
  w.store.clear();
  doomed.clear();  // finalizers may append to the store meanwhile
  return "clear store";
}

std::string op_clear_garbage(World& w, Reader&) {
  std::vector<Ref<ouro::Object>> doomed = std::move(gc::garbage());
  gc::garbage().clear();
  w.saveall_since_clear = (gc::get_debug() & gc::DEBUG_SAVEALL) != 0;
  doomed.clear();
  return "clear garbage";
}

// Immortal objects are never freed: their addresses are kept here so that
// LeakSanitizer sees them as reachable.
void keep_forever(const void* p) {
  static std::mutex m;
  static std::vector<const void*>* kept = new std::vector<const void*>;
  std::lock_guard lock(m);
  kept->push_back(p);
}

std::string op_immortalize(World& w, Reader& in) {
  int a = slot_arg(in);
  Base* b = slot(w, a).get();
  if (!b || w.objects[b->id].immortal) return "immortalize (none)";
  for (const Info& info : w.objects)
    if (info.immortal) return "immortalize (one per program)";
  ouro::immortalize(*b);
  w.objects[b->id].immortal = true;
  keep_forever(b);
  return "immortalize s" + str(a);
}

std::string op_add_callback(World& w, Reader& in) {
  auto behaviour = static_cast<Behaviour>(in.next() % kBehaviours);
  std::uint8_t param = in.next();
  if (w.callback_ids.size() >= kMaxCallbacks) return "add_callback (full)";
  add_gc_callback(w, behaviour, param);
  return std::string("add_callback ") + behaviour_name(behaviour) + "(" + str(param) + ")";
}

std::string op_remove_callback(World& w, Reader&) {
  if (w.callback_ids.empty()) return "remove_callback (none)";
  if (!gc::remove_callback(w.callback_ids.front())) w.fail("remove_callback did not find a callback it added");
  w.callback_ids.erase(w.callback_ids.begin());
  return "remove_callback";
}

// make<T> whose constructor throws: the object is gone (no leak, nothing
// tracked: check_world sees any stale table entry).
std::string op_make_throwing(World& w, Reader&) {
  if (!w.can_make()) return "make_throwing (full)";
  w.throwing_id = -1;
  try {
    (void)ouro::make<ThrowingNode>(w, 1);
    w.fail("make<ThrowingNode> did not throw");
  } catch (const std::runtime_error&) {
  }
  if (w.throwing_id >= 0 && w.objects[static_cast<std::size_t>(w.throwing_id)].alive)
    w.fail("a throwing constructor left its object alive");
  return "make_throwing";
}

std::string op_drop_all(World& w, Reader&) {
  for (Ref<Base>& r : w.slots) r.reset();
  return "drop all slots";
}


// ---- weak references ------------------------------------------------------

WeakSlot& wslot(World& w, int i) { return w.weak[static_cast<std::size_t>(i % kWeakSlots)]; }

// A WeakRef to slot s's object; spec bit 0: with a callback, whose behaviour
// is spec >> 1 (see World::run_weak_callback).
ouro::WeakRef<Base> make_weak(World& w, int s, std::uint8_t spec, std::uint8_t param, std::int64_t& rec) {
  Ref<Base>& target = slot(w, s);
  rec = -1;
  if (!target) {
    try {
      ouro::WeakRef<Base> bad(target);
      w.fail("WeakRef of an empty Ref did not throw");
    } catch (const std::invalid_argument&) {
    }
    return {};
  }
  bool cb = spec & 1;
  auto behaviour = static_cast<Behaviour>((spec >> 1) % kBehaviours);
  rec = w.new_weak_record(w.id_of(target.get()), cb);
  if (!cb) return ouro::WeakRef<Base>(target);
  return ouro::WeakRef<Base>(target, w.weak_callback(behaviour, param, rec));
}

std::string weak_desc(std::uint8_t spec, std::uint8_t param) {
  if (!(spec & 1)) return "";
  return std::string(" cb ") + behaviour_name(static_cast<Behaviour>((spec >> 1) % kBehaviours)) + "(" +
         std::to_string(param) + ")";
}

// weak[ws] = WeakRef(slot s [, callback]).
std::string op_weak_make(World& w, Reader& in) {
  int ws = in.next() % kWeakSlots;
  int s = slot_arg(in);
  std::uint8_t spec = in.next();
  std::uint8_t param = in.next();
  std::int64_t rec = -1;
  ouro::WeakRef<Base> made = make_weak(w, s, spec, param, rec);
  WeakSlot& dst = wslot(w, ws);
  w.kill_weak_record(dst.rec);
  dst.rec = rec;
  dst.ref = std::move(made);
  return "weak w" + str(ws) + " = s" + str(s) + (rec < 0 ? " (empty)" : " rec" + std::to_string(rec)) +
         weak_desc(spec, param);
}

// slot a's object.weak = WeakRef(slot s [, callback]) (s may be a itself).
std::string op_weak_field(World& w, Reader& in) {
  int a = slot_arg(in);
  int s = slot_arg(in);
  std::uint8_t spec = in.next();
  std::uint8_t param = in.next();
  Base* holder = slot(w, a).get();
  if (!holder) return "weak_field (none)";
  std::int64_t rec = -1;
  ouro::WeakRef<Base> made = make_weak(w, s, spec, param, rec);
  w.to_field(rec, holder->id);
  w.kill_weak_record(holder->weak_rec);
  holder->weak_rec = rec;
  holder->weak = std::move(made);
  return "s" + str(a) + ".weak = s" + str(s) + (rec < 0 ? " (empty)" : " rec" + std::to_string(rec)) +
         weak_desc(spec, param);
}

std::string op_weak_drop(World& w, Reader& in) {
  int ws = in.next() % kWeakSlots;
  WeakSlot& d = wslot(w, ws);
  w.kill_weak_record(d.rec);
  d.rec = -1;
  if (in.next() % 2)
    d.ref.reset();
  else
    d.ref = ouro::WeakRef<Base>();
  return "weak drop w" + str(ws);
}

// mode 0: copy weak[a] to weak[b]; 1: move weak[a] to weak[b]; 2: move
// weak[a] into slot b's object.weak; 3: move slot b's object.weak into weak[a].
std::string op_weak_transfer(World& w, Reader& in) {
  int mode = in.next() % 4;
  int a = in.next() % kWeakSlots;
  int b = in.next();
  WeakSlot& src = wslot(w, a);
  switch (mode) {
    case 0: {
      WeakSlot& dst = wslot(w, b);
      if (&dst == &src) return "weak copy (same)";
      std::int64_t target = src.rec >= 0 && !src.ref.expired() ? w.weak_records[static_cast<std::size_t>(src.rec)].target : -1;
      std::int64_t rec = w.new_weak_record(target, false);
      w.kill_weak_record(dst.rec);
      dst.rec = rec;
      dst.ref = src.ref;
      return "weak copy w" + str(a) + " -> w" + str(b % kWeakSlots) + " rec" + std::to_string(rec);
    }
    case 1: {
      WeakSlot& dst = wslot(w, b);
      if (&dst == &src) return "weak move (same)";
      w.kill_weak_record(dst.rec);
      dst.rec = std::exchange(src.rec, -1);
      dst.ref = std::move(src.ref);
      if (!src.ref.expired()) w.fail("a moved-from WeakRef is not empty");
      return "weak move w" + str(a) + " -> w" + str(b % kWeakSlots);
    }
    case 2: {
      Base* holder = slot(w, b % kSlots).get();
      if (!holder) return "weak move to field (none)";
      w.to_field(src.rec, holder->id);
      w.kill_weak_record(holder->weak_rec);
      holder->weak_rec = std::exchange(src.rec, -1);
      holder->weak = std::move(src.ref);
      return "weak move w" + str(a) + " -> s" + str(b % kSlots) + ".weak";
    }
    default: {
      Base* holder = slot(w, b % kSlots).get();
      if (!holder) return "weak move from field (none)";
      w.kill_weak_record(src.rec);
      src.rec = std::exchange(holder->weak_rec, -1);
      src.ref = std::move(holder->weak);
      w.to_field(src.rec, -1);
      return "weak move s" + str(b % kSlots) + ".weak -> w" + str(a);
    }
  }
}

// slot s = weak[ws].lock() (or slot a's object.weak.lock() when the mode bit is set).
std::string op_weak_lock(World& w, Reader& in) {
  int ws = in.next();
  int s = slot_arg(in);
  const ouro::WeakRef<Base>* ref = nullptr;
  std::string from;
  if (ws & 0x80) {
    Base* holder = slot(w, ws % kSlots).get();
    if (!holder) return "lock (none)";
    ref = &holder->weak;
    from = "s" + str(ws % kSlots) + ".weak";
  } else {
    ref = &wslot(w, ws).ref;
    from = "w" + str(ws % kWeakSlots);
  }
  bool expired = ref->expired();
  Ref<Base> got = ref->lock();
  if (static_cast<bool>(got) == expired) w.fail(from + ": lock() and expired() disagree");
  slot(w, s) = std::move(got);  // may kill the holder of *ref
  return "s" + str(s) + " = " + from + ".lock()";
}

// value_map[key] = slot s (WeakValueMap<int, Base>).
std::string op_vmap_insert(World& w, Reader& in) {
  int key = in.next() % kMapKeys;
  int s = slot_arg(in);
  Ref<Base> value = slot(w, s);
  if (!value) {
    try {
      w.value_map.insert_or_assign(key, value);
      w.fail("WeakValueMap::insert_or_assign of an empty Ref did not throw");
    } catch (const std::invalid_argument&) {
    }
    return "vmap insert (none)";
  }
  w.value_model[key] = MapEntry{w.id_of(value.get()), w.op_index, 0};
  w.value_map.insert_or_assign(key, value);
  return "vmap[" + str(key) + "] = s" + str(s);
}

std::string op_vmap_get(World& w, Reader& in) {
  int key = in.next() % kMapKeys;
  int s = slot_arg(in);
  Ref<Base> got = w.value_map.get(key);
  if (got) {
    auto it = w.value_model.find(key);
    if (it == w.value_model.end() || it->second.target != w.id_of(got.get()))
      w.fail("WeakValueMap::get(" + str(key) + ") returned an object the model does not have there");
  }
  slot(w, s) = std::move(got);
  return "s" + str(s) + " = vmap.get(" + str(key) + ")";
}

std::string op_vmap_erase(World& w, Reader& in) {
  int key = in.next() % kMapKeys;
  bool live = static_cast<bool>(w.value_map.get(key));
  bool erased = w.value_map.erase(key);
  if (erased != live) w.fail("WeakValueMap::erase(" + str(key) + ") returned " + (erased ? "true" : "false"));
  w.value_model.erase(key);
  return "vmap erase " + str(key);
}

// key_map[slot s] = value.
std::string op_kmap_insert(World& w, Reader& in) {
  int s = slot_arg(in);
  int value = in.next();
  Ref<Base> key = slot(w, s);
  if (!key) {
    try {
      w.key_map.insert_or_assign(key, value);
      w.fail("WeakKeyMap::insert_or_assign of an empty Ref did not throw");
    } catch (const std::invalid_argument&) {
    }
    return "kmap insert (none)";
  }
  auto id = static_cast<std::uint32_t>(w.id_of(key.get()));
  bool live = w.key_map.find(*key) != nullptr;
  auto it = w.key_model.find(id);
  if (live && it != w.key_model.end())
    it->second.value = value;  // the entry keeps its weak reference
  else
    w.key_model[id] = MapEntry{static_cast<std::int64_t>(id), w.op_index, value};
  w.key_map.insert_or_assign(key, value);
  return "kmap[s" + str(s) + "] = " + str(value);
}

std::string op_kmap_erase(World& w, Reader& in) {
  int s = slot_arg(in);
  Ref<Base> key = slot(w, s);
  if (!key) return "kmap erase (none)";
  bool live = w.key_map.find(*key) != nullptr;
  bool erased = w.key_map.erase(*key);
  if (erased != live) w.fail("WeakKeyMap::erase returned " + std::string(erased ? "true" : "false"));
  w.key_model.erase(static_cast<std::uint32_t>(w.id_of(key.get())));
  return "kmap erase s" + str(s);
}

// Iterates both maps (live entries only, each once, as the model has
// them); when the argument says so, drops a slot in the middle (values
// dying meanwhile are fine) and tries an insertion (must throw logic_error).
std::string op_map_iterate(World& w, Reader& in) {
  std::uint8_t arg = in.next();
  std::size_t seen = 0;
  bool dropped = false;
  for (auto [key, value] : w.value_map) {
    ++seen;
    auto it = w.value_model.find(key);
    if (!value || it == w.value_model.end() || it->second.target != w.id_of(value.get()))
      w.fail("WeakValueMap iteration yields key " + str(key) + " the model does not have");
    if ((arg & 1) && !dropped) {
      dropped = true;
      slot(w, (arg >> 1) % kSlots).reset();
      try {
        w.value_map.insert_or_assign(key, value);
        w.fail("WeakValueMap::insert_or_assign while iterating did not throw");
      } catch (const std::logic_error&) {
      }
    }
  }
  std::size_t seen_keys = 0;
  for (auto [key, value] : w.key_map) {
    ++seen_keys;
    std::int64_t id = w.id_of(key.get());
    auto it = id < 0 ? w.key_model.end() : w.key_model.find(static_cast<std::uint32_t>(id));
    if (it == w.key_model.end() || it->second.value != value)
      w.fail("WeakKeyMap iteration yields an entry the model does not have");
    if ((arg & 2) && !dropped) {
      dropped = true;
      slot(w, (arg >> 2) % kSlots).reset();
      try {
        (void)w.key_map.erase(*key);
        w.fail("WeakKeyMap::erase while iterating did not throw");
      } catch (const std::logic_error&) {
      }
    }
  }
  if (!dropped && (seen != w.value_map.size() || seen_keys != w.key_map.size()))
    w.fail("iterating the weak maps yields " + std::to_string(seen) + " and " + std::to_string(seen_keys) +
           " entries, size() says " + std::to_string(w.value_map.size()) + " and " + std::to_string(w.key_map.size()));
  return "iterate maps" + std::string(dropped ? " dropping a slot" : "");
}

// ---- user code inside traverse(), destructors and queries -------------------

// What a traverse() may do (one-shot, so that every collection and query
// ends): make objects (an automatic collection may start inside), drop a
// slot or its own first field (a member it then reports empty), run a
// query, collect. It never adds a reference to an existing object.
constexpr Behaviour kTraverseBehaviours[] = {Behaviour::none,       Behaviour::allocate, Behaviour::drop_slot,
                                             Behaviour::drop_field, Behaviour::query,    Behaviour::collect};
constexpr int kTraverseKinds = static_cast<int>(std::size(kTraverseBehaviours));

// arm_traverse a b param: the next one or two traverse() calls of slot a's
// object (tracked kinds) run behaviour b.
std::string op_arm_traverse(World& w, Reader& in) {
  int a = slot_arg(in);
  std::uint8_t b = in.next();
  std::uint8_t param = in.next();
  Base* holder = slot(w, a).get();
  if (!holder || !is_tracked_kind(w.objects[holder->id].kind)) return "arm_traverse (none)";
  holder->traverse_behaviour = kTraverseBehaviours[b % kTraverseKinds];
  holder->traverse_param = param;
  holder->traverse_shots = 1 + (b / kTraverseKinds) % 2;
  return "arm_traverse s" + str(a) + " " + behaviour_name(holder->traverse_behaviour) + "(" + str(param) + ") x" +
         str(holder->traverse_shots);
}

// on_destroy a q: slot a's object's destructor runs query q (as
// Behaviour::query with parameter q).
std::string op_on_destroy(World& w, Reader& in) {
  int a = slot_arg(in);
  std::uint8_t q = in.next();
  Base* holder = slot(w, a).get();
  if (!holder) return "on_destroy (none)";
  holder->destructor_query = q;
  return "on_destroy s" + str(a) + " query(" + str(q) + ")";
}

// query q: a query from the program itself, with traverse() user code live.
std::string op_query(World& w, Reader& in) {
  std::uint8_t q = in.next();
  w.run(Behaviour::query, q, nullptr);
  return "query(" + str(q) + ")";
}

// hook m: the unraisable hook counts; mode 1 removes itself when called,
// mode 2 replaces itself (World::install_hook).
std::string op_hook(World& w, Reader& in) {
  int mode = in.next() % 3;
  w.install_hook(mode);
  return "hook mode " + str(mode);
}

// ---- weak maps owned by objects --------------------------------------------

std::int64_t id_or_none(const World& w, const Ref<Base>& r) { return r ? w.id_of(r.get()) : -1; }

template <class F>
void expect_invalid_argument(World& w, F f, const std::string& what) {
  try {
    f();
    w.fail(what + " did not throw");
  } catch (const std::invalid_argument&) {
  }
}

// omap_insert a mode s t: slot a's object (tracked) gets, in its kmap,
// key slot s -> value slot t, or in its vmap (mode odd), key slot s ->
// value slot t. Either may be a itself: an entry that keeps its own map's
// owner alive.
std::string op_omap_insert(World& w, Reader& in) {
  int a = slot_arg(in);
  bool value_map = in.next() % 2;
  int s = slot_arg(in);
  int t = slot_arg(in);
  Ref<Base> owner = slot(w, a);
  if (!owner || !is_tracked_kind(w.objects[owner->id].kind)) return "omap_insert (none)";
  Ref<Base> key = slot(w, s);
  Ref<Base> value = slot(w, t);
  std::vector<OwnedEntry>& owned = w.objects[owner->id].owned;
  if (!value_map) {
    if (!key) {
      expect_invalid_argument(w, [&] { owner->kmap.insert_or_assign(key, value); }, "WeakKeyMap::insert_or_assign of an empty key");
      return "omap_insert (no key)";
    }
    std::int64_t k = w.id_of(key.get());
    std::uint64_t created = w.op_index;
    if (owner->kmap.find(*key))  // the live entry keeps its weak reference
      for (const OwnedEntry& e : owned)
        if (e.in_kmap && e.weak == k && !e.lingering) created = e.created;
    std::erase_if(owned, [&](const OwnedEntry& e) { return e.in_kmap && e.weak == k; });
    owned.push_back(OwnedEntry{true, k, id_or_none(w, value), created, false});
    owner->kmap.insert_or_assign(key, value);  // the old value dies after the model says so
  } else {
    if (!value) {
      expect_invalid_argument(w, [&] { owner->vmap.insert_or_assign(key, value); }, "WeakValueMap::insert_or_assign of an empty value");
      return "omap_insert (no value)";
    }
    std::int64_t k = id_or_none(w, key);
    std::erase_if(owned, [&](const OwnedEntry& e) { return !e.in_kmap && e.strong == k; });
    owned.push_back(OwnedEntry{false, w.id_of(value.get()), k, w.op_index, false});
    owner->vmap.insert_or_assign(key, value);
  }
  return std::string("s") + str(a) + (value_map ? ".vmap[s" : ".kmap[s") + str(s) + "] = s" + str(t);
}

std::string op_omap_erase(World& w, Reader& in) {
  int a = slot_arg(in);
  bool value_map = in.next() % 2;
  int s = slot_arg(in);
  Ref<Base> owner = slot(w, a);
  if (!owner || !is_tracked_kind(w.objects[owner->id].kind)) return "omap_erase (none)";
  Ref<Base> key = slot(w, s);
  std::vector<OwnedEntry>& owned = w.objects[owner->id].owned;
  std::int64_t k = id_or_none(w, key);
  bool live = false;
  bool erased = false;
  if (!value_map) {
    if (!key) return "omap_erase (no key)";
    live = owner->kmap.find(*key) != nullptr;
    std::erase_if(owned, [&](const OwnedEntry& e) { return e.in_kmap && e.weak == k; });
    erased = owner->kmap.erase(*key);
  } else {
    live = static_cast<bool>(owner->vmap.get(key));
    std::erase_if(owned, [&](const OwnedEntry& e) { return !e.in_kmap && e.strong == k; });
    erased = owner->vmap.erase(key);
  }
  if (erased != live) w.fail(std::string(value_map ? "WeakValueMap" : "WeakKeyMap") + "::erase returned " + (erased ? "true" : "false"));
  return std::string("s") + str(a) + (value_map ? ".vmap" : ".kmap") + " erase s" + str(s);
}

// omap_iterate a arg: iterates slot a's object's kmap (arg even) or vmap
// without any other reference to the owner than the program's: at the
// first entry it drops slot victim = (arg >> 1) % 8, with arg & 64 every
// slot that holds the entry's weakly held object, and with arg & 16 slot
// a itself; arg & 32 tries an insertion (must throw logic_error).
// After the loop the harness lets go of the owner before the last
// iterator ends, when something else still holds it: if that is one of
// the map's own dead entries, the sweep the iterator's end runs destroys
// the owner, and the map, from inside the map.
template <class Map, class Check>
void iterate_owned(World& w, Base* owner, Map Base::*map, bool weak_is_key, std::uint8_t arg, Check check) {
  Ref<Base> keep = ouro::ref(owner);
  int a = -1;
  for (int i = 0; i < kSlots; ++i)
    if (slot(w, i).get() == owner) a = i;
  std::optional<typename Map::iterator> it((owner->*map).begin());
  const typename Map::iterator end = (owner->*map).end();
  bool first = true;
  for (; *it != end; ++*it) {
    auto [key, value] = **it;
    check(key, value);
    if (!first) continue;
    first = false;
    slot(w, (arg >> 1) % kSlots).reset();
    if (arg & 64) {  // every slot that holds the entry's weak referent
      const Base* referent = weak_is_key ? key.get() : value.get();
      for (Ref<Base>& r : w.slots)
        if (r.get() == referent && referent != owner) r.reset();
    }
    if ((arg & 16) && a >= 0) slot(w, a).reset();
    if (arg & 32) {
      try {
        (owner->*map).insert_or_assign(key, value);
        w.fail("insert_or_assign into an owned map being iterated did not throw");
      } catch (const std::logic_error&) {
      }
    }
  }
  if (ouro::refcount(*keep) > 1) keep.reset();
  it.reset();  // the last iterator: a sweep may run here
}

std::string op_omap_iterate(World& w, Reader& in) {
  int a = slot_arg(in);
  std::uint8_t arg = in.next();
  Base* owner = slot(w, a).get();
  if (!owner || !is_tracked_kind(w.objects[owner->id].kind)) return "omap_iterate (none)";
  const std::uint32_t oid = owner->id;
  auto find = [&](bool in_kmap, std::int64_t weak, std::int64_t strong) {
    for (const OwnedEntry& e : w.objects[oid].owned)
      if (e.in_kmap == in_kmap && !e.lingering && e.weak == weak && e.strong == strong) return true;
    return false;
  };
  if (arg % 2 == 0) {
    iterate_owned(w, owner, &Base::kmap, true, arg, [&](const Ref<Base>& key, const Ref<Base>& value) {
      if (!find(true, id_or_none(w, key), id_or_none(w, value)))
        w.fail("an owned WeakKeyMap's iteration yields an entry the model does not have");
    });
  } else {
    iterate_owned(w, owner, &Base::vmap, false, arg, [&](const Ref<Base>& key, const Ref<Base>& value) {
      if (!find(false, id_or_none(w, value), id_or_none(w, key)))
        w.fail("an owned WeakValueMap's iteration yields an entry the model does not have");
    });
  }
  return "iterate s" + str(a) + (arg % 2 ? ".vmap" : ".kmap") + " dropping s" + str((arg >> 1) % kSlots) +
         (arg & 64 ? ", the entry's weak referent" : "") + (arg & 16 ? " and s" + str(a) : "") +
         (w.objects[oid].alive ? "" : " (the owner died)");
}

// ---- a map whose key type's hash and equality throw ------------------------

std::string op_hmap_insert(World& w, Reader& in) {
  int key = in.next() % kMapKeys;
  int s = slot_arg(in);
  Ref<Base> value = slot(w, s);
  if (!value) return "hmap insert (none)";
  w.hash_model[key] = MapEntry{w.id_of(value.get()), w.op_index, 0};
  w.hash_map.insert_or_assign(HashKey{key, &w}, value);
  return "hmap[" + str(key) + "] = s" + str(s);
}

// hmap_kill mode s: the (mode >> 2) % 3-th call of the key's hash (or of
// its operator==, mode & 1) from now throws; then slot s is dropped (or,
// mode & 2, a collection runs; or, mode & 16, every slot holding the value
// of key s % 4 is dropped), so values may die and the map's callbacks meet
// the throw. The exception must reach the unraisable hook.
std::string op_hmap_kill(World& w, Reader& in) {
  std::uint8_t mode = in.next();
  int s = slot_arg(in);
  Ref<Base> value = (mode & 16) ? w.hash_map.get(HashKey{s % kMapKeys, &w}) : Ref<Base>();
  w.hash_fault = (mode >> 2) % 3;
  w.hash_fault_in_equality = mode & 1;
  struct Disarm {  // also when the op leaves by an exception (out of memory, injected)
    World& w;
    ~Disarm() { w.hash_fault = -1; }
  } disarm{w};
  if (mode & 16) {
    for (Ref<Base>& r : w.slots)
      if (value && r == value) r.reset();
    value.reset();
  } else if (mode & 2) {
    gc::collect(2);
  } else {
    slot(w, s).reset();
  }
  return std::string("hmap kill: ") + (mode & 1 ? "operator==" : "hash") + " throws at call " + str((mode >> 2) % 3) +
         (mode & 16 ? ", drop the value of key " + str(s % kMapKeys) : mode & 2 ? ", collect" : ", drop s" + str(s));
}

// ---- graphs that cross threads ------------------------------------------------

// Whether the model sees a reason why the graph of `root` is not isolated:
// something outside it (a slot, the store, gc::garbage(), a field or a weak
// map's strong half of an object outside it, a weak reference from outside
// or to outside) refers to one of its objects, or one of them is immortal.
// `root_holders` references to the root are the one handed over.
bool model_sees_outside_holder(World& w, std::int64_t root, int root_holders) {
  std::vector<char> in(w.objects.size(), 0);
  std::vector<std::int64_t> todo{root};
  in[static_cast<std::size_t>(root)] = 1;
  auto reach = [&](std::int64_t t) {
    if (t >= 0 && w.objects[static_cast<std::size_t>(t)].alive && !in[static_cast<std::size_t>(t)]) {
      in[static_cast<std::size_t>(t)] = 1;
      todo.push_back(t);
    }
  };
  while (!todo.empty()) {
    const Info& info = w.objects[static_cast<std::size_t>(todo.back())];
    todo.pop_back();
    if (!is_tracked_kind(info.kind)) continue;  // untracked kinds report nothing
    for (std::int64_t t : info.shadow) reach(t);
    for (const OwnedEntry& e : info.owned) reach(e.strong);
  }
  auto inside = [&](std::int64_t t) { return t >= 0 && in[static_cast<std::size_t>(t)]; };
  int root_refs = 0;
  for (int i = 0; i < kSlots; ++i) {
    std::int64_t t = w.slot_id(i);
    if (t == root) ++root_refs;
    else if (inside(t)) return true;
  }
  if (root_refs > root_holders) return true;
  for (const Ref<Base>& r : w.store)
    if (r && inside(w.id_of(r.get()))) return true;
  for (const Ref<ouro::Object>& r : gc::garbage())
    if (inside(w.id_of(dynamic_cast<const Base*>(r.get())))) return true;
  for (std::size_t id = 0; id < w.objects.size(); ++id) {
    const Info& info = w.objects[id];
    if (!info.alive) continue;
    if (in[id]) {
      if (info.immortal) return true;
      for (const OwnedEntry& e : info.owned)
        if (!e.lingering && e.weak >= 0 && w.objects[static_cast<std::size_t>(e.weak)].alive && !inside(e.weak))
          return true;
      continue;
    }
    for (std::int64_t t : info.shadow)
      if (inside(t)) return true;
    for (const OwnedEntry& e : info.owned)
      if (inside(e.strong) || inside(e.weak)) return true;
  }
  for (const WeakInfo& rec : w.weak_records) {
    if (!rec.alive || rec.target < 0) continue;
    const Info& target = w.objects[static_cast<std::size_t>(rec.target)];
    if (!target.alive || rec.created < target.cleared_before) continue;  // expired
    // Seen expired by the checks: an expired WeakRef never refers again, and
    // send() lets it go along. A member can expire while its target lives
    // without the target's cleared_before moving (a collection found the
    // target garbage, cleared the weak references to it, and a finalizer
    // resurrected it): the checks cannot tell that from the clearing of the
    // weak references that garbage owners hold, so they record no clearing
    // of the target for a member.
    if (rec.expired_seen) continue;
    // The WeakRef member of an untracked object is not reported: it goes
    // along unseen (the rule for any reference traverse() does not report).
    if (inside(rec.owner) && !is_tracked_kind(w.objects[static_cast<std::size_t>(rec.owner)].kind)) continue;
    if (inside(rec.target) != inside(rec.owner)) return true;
  }
  for (const auto* model : {&w.value_model, &w.hash_model})
    for (const auto& entry : *model)
      if (inside(entry.second.target)) return true;
  for (const auto& entry : w.key_model)
    if (inside(entry.second.target)) return true;
  return false;
}

// send slot mode: the graph of slot's object goes to a second thread, which
// receives it and sends it back (the harness's traverse() code quiet there),
// and is received again. The library and the model must agree: a graph the
// model sees held from outside is never sent (when no user code changed the
// graph meanwhile), and a round trip changes nothing the checks can see.
std::string op_send(World& w, Reader& in) {
  int s = slot_arg(in);
  Ref<Base> root = std::move(slot(w, s));
  if (!root) return "send (none)";
  const std::int64_t id = root->id;
  w.user_changed_graph = false;
  const bool held = model_sees_outside_holder(w, id, 0);
  std::string what = "send s" + str(s) + " id" + std::to_string(id);
  try {
    ouro::Parcel<Base> parcel = ouro::send(std::move(root));
    ++w.quiet;
    std::string away;
    std::thread there([&parcel, &away] {
      try {
        parcel = ouro::send(std::move(parcel).receive());
      } catch (const std::exception& e) {
        away = e.what();
      }
    });
    there.join();
    --w.quiet;
    if (!away.empty()) w.fail("a graph received on another thread could not be sent back: " + away);
    if (parcel) root = std::move(parcel).receive();
    if (held && !w.user_changed_graph && !w.traverse_acted)
      w.fail("send accepted the graph of object " + std::to_string(id) + ", which the model sees held from outside");
    what += ": there and back";
  } catch (const ouro::not_isolated&) {
    what += ": not isolated";
  } catch (const std::logic_error&) {
    what += ": refused";  // during a collection or a query: not from an op
  }
  slot(w, s) = std::move(root);
  return what;
}

// share slot: the graph of slot's object, frozen, is walked by two reader
// threads that copy the Refs of every field as they go; the harness drops
// the last Shared, which destroys the graph (finalizers included) here.
std::string op_share(World& w, Reader& in) {
  int s = slot_arg(in);
  Ref<Base> root = std::move(slot(w, s));
  if (!root) return "share (none)";
  const std::int64_t id = root->id;
  std::string what = "share s" + str(s) + " id" + std::to_string(id);
  try {
    ouro::Shared<Base> shared = ouro::share(std::move(root));
    ++w.quiet;
    std::atomic<int> seen{0};
    // Only the fields that traverse() reports belong to the graph: those of
    // the tracked kinds (an untracked object's fields stay on this thread).
    auto reported = [](const Base& b) { return dynamic_cast<const Node*>(&b) != nullptr; };
    auto reader = [&seen, &reported](ouro::Shared<Base> mine) {
      std::vector<Ref<Base>> todo;
      if (reported(*mine)) todo.assign(mine->fields.begin(), mine->fields.end());
      for (int steps = 0; !todo.empty() && steps < 256; ++steps) {
        Ref<Base> n = std::move(todo.back());
        todo.pop_back();
        if (!n) continue;
        seen.fetch_add(1, std::memory_order_relaxed);
        if (reported(*n)) todo.insert(todo.end(), n->fields.begin(), n->fields.end());
      }
    };
    std::thread a(reader, shared);
    std::thread b(reader, shared);
    a.join();
    b.join();
    --w.quiet;
    what += ": read " + std::to_string(seen.load()) + " times, dropped";
  } catch (const ouro::not_isolated&) {
    what += ": not isolated";
  } catch (const std::logic_error&) {
    what += ": refused";
  }
  slot(w, s) = std::move(root);
  return what;
}

// ---- out of memory ----------------------------------------------------------

std::string op_oom(World& w, Reader& in);

constexpr Op kOps[] = {
    {"make", op_make, 4, 12},
    {"set_field", op_set_field, 3, 12},
    {"clear_field", op_clear_field, 2, 3},
    {"drop", op_drop, 1, 6},
    {"copy", op_copy, 2, 4},
    {"load", op_load, 3, 6},
    {"collect", op_collect, 1, 6},
    {"make", op_make, 4, 0},  // twice: random bytes need objects more than anything
    {"set_field", op_set_field, 3, 0},
    {"freeze", op_freeze, 1, 1},
    {"threshold", op_threshold, 2, 1},
    {"policy", op_policy, 1, 1},
    {"debug", op_debug, 1, 1},
    {"referrers", op_referrers, 1, 2},
    {"hold_all", op_hold_all, 1, 1},
    {"clear_store", op_clear_store, 0, 2},
    {"clear_garbage", op_clear_garbage, 0, 1},
    {"immortalize", op_immortalize, 1, 1},
    {"add_callback", op_add_callback, 2, 1},
    {"remove_callback", op_remove_callback, 0, 1},
    {"make_throwing", op_make_throwing, 0, 1},
    {"drop_all", op_drop_all, 0, 1},
    {"collect", op_collect, 1, 0},
    {"weak_make", op_weak_make, 4, 6},
    {"weak_field", op_weak_field, 4, 4},
    {"weak_drop", op_weak_drop, 2, 2},
    {"weak_transfer", op_weak_transfer, 3, 3},
    {"weak_lock", op_weak_lock, 2, 3},
    {"vmap_insert", op_vmap_insert, 2, 3},
    {"vmap_get", op_vmap_get, 2, 2},
    {"vmap_erase", op_vmap_erase, 1, 1},
    {"kmap_insert", op_kmap_insert, 2, 3},
    {"kmap_erase", op_kmap_erase, 1, 1},
    {"map_iterate", op_map_iterate, 1, 2},
    {"arm_traverse", op_arm_traverse, 3, 3},
    {"on_destroy", op_on_destroy, 2, 2},
    {"query", op_query, 1, 2},
    {"hook", op_hook, 1, 1},
    {"omap_insert", op_omap_insert, 4, 4},
    {"omap_erase", op_omap_erase, 3, 1},
    {"omap_iterate", op_omap_iterate, 2, 2},
    {"hmap_insert", op_hmap_insert, 2, 2},
    {"hmap_kill", op_hmap_kill, 2, 2},
    {"oom", op_oom, 3, 3},
    {"send", op_send, 1, 2},
    {"share", op_share, 1, 1},
};

// oom spec after op...: runs the next operation of the program with the
// library's own allocations failing (ouro/detail/fault_injection.hpp, checked
// builds): site spec % 4 (object blocks, table chunks, the collector's
// scratch, or all three), after `after` % 8 successes, once, twice, three
// times or (spec & 4) for ever. The operation completes, or throws
// std::bad_alloc with the model unchanged: when no user code changed the
// graph meanwhile, no object made by it is alive, every object reachable
// before is alive, the slots hold what they held. Then, without injection,
// a full collection must reclaim everything unreachable (unless a
// traverse() ran user code).
std::string op_oom(World& w, Reader& in) {
  namespace fault = ouro::detail::fault;
  std::uint8_t spec = in.next();
  std::uint8_t after = in.next();
  std::size_t index = in.next() % std::size(kOps);
  if (kOps[index].run == op_oom) index = 0;  // make
  const Op& inner = kOps[index];
  const int site = spec % 4;
  const long times = (spec & 4) ? fault::kForever : 1 + (spec >> 3) % 3;
  std::string what = std::string("oom ") + (site == 3 ? "all" : site == 0 ? "object" : site == 1 ? "table" : "scratch") +
                     " after " + str(after % 8) + (times < 0 ? " for ever" : " x" + str(static_cast<int>(times))) + ": ";

  std::vector<char> reachable_before = unreachable(w);  // per id: alive and reachable
  for (const auto& entry : w.live) reachable_before[entry.second] = !reachable_before[entry.second];
  std::array<std::int64_t, kSlots> slots_before{};
  for (int i = 0; i < kSlots; ++i) slots_before[static_cast<std::size_t>(i)] = w.slot_id(i);
  const std::size_t ids_before = w.objects.size();
  w.user_changed_graph = false;

  // OURO_FUZZ_NO_OOM=1: the inner op runs without injection, to tell a
  // finding under injection from one that does not need it.
  static const bool no_injection = std::getenv("OURO_FUZZ_NO_OOM") != nullptr;
  for (int s = 0; s < 3 && !no_injection; ++s)
    if (site == 3 || site == s) fault::fail_after(static_cast<fault::Site>(s), after % 8, times);
  bool threw = false;
  what += inner.name;
  what += ": ";
  try {
    what += inner.run(w, in);
  } catch (const UserBadAlloc&) {
    ++w.caught;
    threw = true;
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  const long failed = fault::failed();
  fault::clear();
  if (w.collection_running) w.fail("a collection that ran out of memory called Phase::start and no Phase::stop");
  what += " [" + std::to_string(failed) + " failed" + (threw ? ", threw bad_alloc]" : "]");

  if (threw && !w.user_changed_graph && w.failure.empty()) {
    for (std::size_t id = ids_before; id < w.objects.size(); ++id)
      if (w.objects[id].alive) w.fail("object " + std::to_string(id) + " was made by an operation that threw std::bad_alloc");
    for (std::size_t id = 0; id < ids_before; ++id)
      if (reachable_before[id] && !w.objects[id].alive)
        w.fail("object " + std::to_string(id) + ", reachable, was freed by an operation that threw std::bad_alloc");
    for (int i = 0; i < kSlots; ++i)
      if (w.slot_id(i) != slots_before[static_cast<std::size_t>(i)])
        w.fail("slot " + str(i) + " changed in an operation that threw std::bad_alloc");
  }
  // A traverse() that ran user code may have left objects alive at a zero
  // count; the checks would pin them (get_referents, get_objects) and so
  // destroy them under their loops. settle_zombies collects them after the
  // operation instead.
  // Without an injected failure the op was its inner op, and the checks
  // after every op judge it as such.
  if (w.failure.empty() && !w.traverse_acted && failed > 0) {
    // The checked collection judges only what it did itself; what the inner
    // op finalized stays on record for the checks after this op (weak
    // references it cleared may belong to objects a finalizer resurrected).
    std::vector<std::uint32_t> finalized_by_the_op = std::move(w.finalized_during_op);
    w.finalized_during_op.clear();
    w.freeze_during_op = false;
    collect_and_check(w);
    w.finalized_during_op.insert(w.finalized_during_op.end(), finalized_by_the_op.begin(), finalized_by_the_op.end());
  }
  return what;
}

}  // namespace

std::span<const Op> ops() { return kOps; }

}  // namespace ouro_fuzz
