// fuzz/ops.cpp — the operations of the interpreter (see ops.hpp), one small
// function each, and the table that numbers them.
#include "ops.hpp"

#include <array>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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
  World* world = &w;
  w.callback_ids.push_back(gc::add_callback([world, behaviour, param](gc::Phase phase, const gc::CollectionInfo&) {
    if ((phase == gc::Phase::start) == (param % 2 == 0)) world->run(behaviour, param, nullptr);
  }));
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
};

}  // namespace

std::span<const Op> ops() { return kOps; }

}  // namespace ouro_fuzz
