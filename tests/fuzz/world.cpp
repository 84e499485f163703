// fuzz/world.cpp — the interpreter's objects: how they register with the
// model, what their finalizers do, and the harness-side writes that keep
// the model in step with the real Refs.
#include "world.hpp"

#include "checks.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>

namespace ouro_fuzz {

namespace gc = ouro::gc;
using ouro::Ref;

const char* behaviour_name(Behaviour b) {
  switch (b) {
    case Behaviour::none: return "none";
    case Behaviour::resurrect: return "resurrect";
    case Behaviour::throws: return "throw";
    case Behaviour::allocate: return "allocate";
    case Behaviour::drop_slot: return "drop_slot";
    case Behaviour::collect: return "collect";
    case Behaviour::freeze: return "freeze";
    case Behaviour::steal: return "steal";
    case Behaviour::drop_field: return "drop_field";
    case Behaviour::query: return "query";
    case Behaviour::replace_self: return "replace_self";
    case Behaviour::count_: break;
  }
  return "?";
}

Base::Base(World& w, int nfields, Behaviour b, std::uint8_t p)
    : world(w), id(static_cast<std::uint32_t>(w.objects.size())), behaviour(b), param(p) {
  fields.resize(static_cast<std::size_t>(nfields));
  Info info;
  info.alive = true;
  info.born_op = w.op_index;
  info.shadow.assign(static_cast<std::size_t>(nfields), -1);
  w.objects.push_back(std::move(info));
  w.live.emplace(this, id);
  ++w.created;
}

Base::~Base() {
  world.live.erase(this);
  Info& info = world.objects[id];
  if (!info.alive) world.fail("object " + std::to_string(id) + " destroyed twice");
  if (info.immortal) world.fail("immortal object " + std::to_string(id) + " was destroyed");
  if (has_finalizer_kind(info.kind) && info.finalized == 0)
    world.fail("object " + std::to_string(id) + " was destroyed without its finalizer having run");
  info.alive = false;
  info.owned.clear();  // the maps go with the object (their entries never call back)
  // The `weak` member goes with the object (its callback never runs): it is
  // reset here, before the query below can release its target.
  weak.reset();
  world.kill_weak_record(weak_rec);
  weak_rec = -1;
  // Last: the query may drop the last reference to other objects. Out of
  // memory (injected) it throws, and a destructor must not: it is dropped.
  if (destructor_query >= 0) {
    auto q = static_cast<std::uint8_t>(destructor_query);
    try {
      world.run_query(q % kQueries, world.slots[static_cast<std::size_t>((q / kQueries) % kSlots)]);
    } catch (const UserBadAlloc&) {  // a traverse() the query called ran out of memory: it came back out
      ++world.caught;
    } catch (const std::bad_alloc&) {
    }
  }
}

void Base::run_finalizer() {
  Info& info = world.objects[id];
  ++info.finalized;
  if (info.finalized > 1) world.fail("object " + std::to_string(id) + " finalized twice");
  if (!gc::is_finalized(*this)) world.fail("object " + std::to_string(id) + ": is_finalized false inside finalize()");
  world.finalized_during_op.push_back(id);
  check_finalizer_weak_view(world, *this);
  world.run(behaviour, param, this);  // last: may reallocate world.objects
}

void Base::run_traverse_behaviour(ouro::Visitor& v) {
  if (v.clearing() || world.quiet > 0) return;
  --traverse_shots;
  world.traverse_acted = true;
  world.run(traverse_behaviour, traverse_param, this);
}

ThrowingNode::ThrowingNode(World& w, int nfields) : Node(w, nfields, Behaviour::none, 0) {
  w.throwing_id = id;
  if (!w.slots[0]) throw std::runtime_error("constructor failed");
  fields[0] = w.slots[0];  // holds a Ref when it throws: unwinding must drop it
  w.objects[id].shadow[0] = w.id_of(w.slots[0].get());
  throw std::runtime_error("constructor failed");
}

std::int64_t World::slot_id(int s) const {
  const Base* p = slots[static_cast<std::size_t>(s)].get();
  return p ? id_of(p) : -1;
}

void World::set_field(Base& holder, int i, const Ref<Base>& target) {
  auto fi = static_cast<std::size_t>(i);
  if (fi >= holder.fields.size()) {
    fail("object " + std::to_string(holder.id) + " is alive but its fields were emptied (cleared as garbage?)");
    return;
  }
  // The model first: the assignment may run finalizers that read it.
  objects[holder.id].shadow[fi] = target ? id_of(target.get()) : -1;
  holder.fields[fi] = target;
}

void World::run(Behaviour b, std::uint8_t p, Base* self) {
  try {
    run_behaviour(b, p, self);
  } catch (const UserBadAlloc&) {
    throw;
  } catch (const std::bad_alloc&) {  // out of memory (injected) in what the behaviour called: user code lets it go on
    ++thrown;
    throw UserBadAlloc();
  } catch (const std::logic_error&) {  // a call the library refuses at that moment (freeze while it counts)
    ++thrown;
    throw;
  }
}

void World::run_behaviour(Behaviour b, std::uint8_t p, Base* self) {
  auto& slot = slots[static_cast<std::size_t>(p % kSlots)];
  if (self && (b == Behaviour::allocate || b == Behaviour::drop_slot || b == Behaviour::steal ||
               b == Behaviour::drop_field))
    finalizer_dropped = true;
  if (b == Behaviour::resurrect || b == Behaviour::allocate || b == Behaviour::drop_slot || b == Behaviour::steal ||
      b == Behaviour::drop_field || b == Behaviour::freeze)
    user_changed_graph = true;
  switch (b) {
    case Behaviour::none:
    case Behaviour::count_:
      return;
    case Behaviour::resurrect:
      if (self) store.push_back(ouro::ref(self));
      return;
    case Behaviour::throws:
      ++thrown;
      throw std::runtime_error("thrown by the fuzzer");
    case Behaviour::allocate: {
      Ref<Base> a = make_object(*this, Kind::node, 1, Behaviour::none, 0);
      Ref<Base> c = make_object(*this, Kind::node, 1, Behaviour::none, 0);
      if (a && c) {
        set_field(*a, 0, c);
        set_field(*c, 0, a);
      }
      if (Ref<Base> leaf = make_object(*this, Kind::leaf, 0, Behaviour::none, 0)) slot = std::move(leaf);
      return;
    }
    case Behaviour::drop_slot:
      slot.reset();
      return;
    case Behaviour::collect:
      gc::collect(p % 3);
      return;
    case Behaviour::freeze:
      freeze_during_op = true;
      if (p % 2)
        gc::unfreeze();
      else
        gc::freeze();
      return;
    case Behaviour::steal:
      if (self && !self->fields.empty() && self->fields[0]) slot = self->fields[0];
      return;
    case Behaviour::drop_field:
      if (self && !self->fields.empty()) set_field(*self, 0, nullptr);
      return;
    case Behaviour::query: {
      Ref<Base> subject = slots[static_cast<std::size_t>((p / kQueries) % kSlots)];
      run_query(p % kQueries, subject);
      return;
    }
    case Behaviour::replace_self:  // gc and weak callbacks handle it themselves
      return;
  }
}

namespace {

const Base* as_base(const ouro::Object* o) { return static_cast<const Base*>(o); }

const char* const kQueryNames[kQueries] = {"get_referrers", "get_referents", "why_alive", "is_root", "find_cycles()",
                                           "find_cycles(o)", "type_stats", "write_html", "write_dot"};

}  // namespace

void World::run_query(int which, const Ref<Base>& subject) {
  std::vector<Ref<ouro::Object>> found;  // every object the query hands out
  const Base* s = subject.get();
  std::ostream null(nullptr);  // every write fails quietly
  try {
    run_query_into(which, s, found, null);
  } catch (const std::logic_error&) {  // refused where it cannot answer (inside a collection's traverse())
  }
  for (const Ref<ouro::Object>& r : found)
    if (r && id_of(as_base(r.get())) < 0)
      fail(std::string(kQueryNames[which % kQueries]) + " returned an object that is not alive");
}

void World::run_query_into(int which, const Base* s, std::vector<Ref<ouro::Object>>& found, std::ostream& null) {
  namespace inspect = ouro::inspect;
  auto add_cycles = [&](const std::vector<inspect::Cycle>& cycles) {
    for (const inspect::Cycle& c : cycles) {
      found.insert(found.end(), c.objects.begin(), c.objects.end());
      for (const inspect::Edge& e : c.edges) {
        found.push_back(e.from);
        found.push_back(e.to);
      }
    }
  };
  switch (which % kQueries) {
    case 0:
      if (s) found = gc::get_referrers(*s);
      break;
    case 1:
      if (s) found = gc::get_referents(*s);
      break;
    case 2:
      if (!s) break;
      try {
        for (const inspect::Edge& e : inspect::why_alive(*s)) {
          found.push_back(e.from);
          found.push_back(e.to);
        }
      } catch (const std::invalid_argument&) {  // alive only through a garbage cycle
      }
      break;
    case 3:
      if (s) (void)inspect::is_root(*s);
      break;
    case 4:
      add_cycles(inspect::find_cycles());
      break;
    case 5:
      if (s) add_cycles(inspect::find_cycles(*s));
      break;
    case 6:
      (void)inspect::type_stats();
      break;
    case 7:
      inspect::write_html(null);
      break;
    default:
      if (s) inspect::write_dot(null, *s, 2, (which / kQueries) % 2 == 1);
      break;
  }
}

void World::hash_called(bool equality) {
  if (hash_fault < 0 || equality != hash_fault_in_equality) return;
  if (hash_fault-- > 0) return;
  ++thrown;
  throw std::runtime_error(equality ? "HashKey::operator== failed" : "std::hash<HashKey> failed");
}

bool HashKey::operator==(const HashKey& other) const {
  if (world) world->hash_called(true);
  return key == other.key;
}

void World::install_hook(int mode) {
  World* world = this;
  std::string tag(40, 'h');  // on the heap, inside the hook's closure
  ouro::set_unraisable_hook([world, mode, tag](std::exception_ptr, const ouro::Object*) {
    ++world->reported;
    if (mode == 1)
      ouro::set_unraisable_hook(nullptr);
    else if (mode == 2)
      world->install_hook(0);
    else
      return;
    // The hook that runs is no longer installed: its captures must still be
    // there until it returns.
    if (tag != std::string(40, 'h')) world->fail("an unraisable hook that replaced itself lost its captures");
    if (mode == 1) world->install_hook(0);
  });
}

void add_gc_callback(World& w, Behaviour b, std::uint8_t param) {
  World* world = &w;
  auto id = std::make_shared<std::size_t>(0);
  std::string tag(40, 'c');  // on the heap, inside the callback's closure
  *id = gc::add_callback([world, b, param, id, tag](gc::Phase phase, const gc::CollectionInfo&) {
    if ((phase == gc::Phase::start) != (param % 2 == 0)) return;
    if (b != Behaviour::replace_self) {
      world->run(b, param, nullptr);
      return;
    }
    std::vector<std::size_t>& ids = world->callback_ids;
    auto it = std::find(ids.begin(), ids.end(), *id);
    if (it == ids.end()) return;
    ids.erase(it);
    if (!gc::remove_callback(*id)) world->fail("a gc callback could not remove itself");
    if ((param & 2) && ids.size() < kMaxCallbacks)
      add_gc_callback(*world, static_cast<Behaviour>((param >> 2) % kBehaviours), param);
    if (tag != std::string(40, 'c')) world->fail("a gc callback that removed itself lost its captures");
  });
  w.callback_ids.push_back(*id);
}

std::int64_t World::new_weak_record(std::int64_t target, bool has_callback) {
  WeakInfo info;
  info.target = target;
  info.created = op_index;
  info.has_callback = has_callback;
  info.expired_seen = target < 0;
  weak_records.push_back(info);
  return static_cast<std::int64_t>(weak_records.size() - 1);
}

std::function<void(ouro::WeakRef<Base>&)> World::weak_callback(Behaviour b, std::uint8_t param, std::int64_t rec) {
  World* world = this;
  std::string tag(40, 'w');  // on the heap, inside the callback's closure
  return [world, b, param, rec, tag](ouro::WeakRef<Base>& self) {
    world->run_weak_callback(b, param, rec, self);  // may overwrite or destroy `self`
    if (tag != std::string(40, 'w')) world->fail("a weak callback lost its captures");
  };
}

void World::run_weak_callback(Behaviour b, std::uint8_t p, std::int64_t rec, ouro::WeakRef<Base>& self) {
  WeakInfo& info = weak_records[static_cast<std::size_t>(rec)];
  std::string name = "weak reference " + std::to_string(rec);
  if (!info.alive) fail(name + ": callback of a destroyed WeakRef ran");
  if (!info.has_callback) fail(name + ": has no callback but one ran");
  if (++info.calls > 1) fail(name + ": callback ran twice");
  if (!self.expired()) fail(name + ": callback ran while the WeakRef it received is not expired");
  if (self.lock()) fail(name + ": lock() inside its own callback is not empty");
  check_weak_callback_owner(*this, info);
  if (b != Behaviour::none && b != Behaviour::throws && b != Behaviour::query && b != Behaviour::collect)
    user_changed_graph = true;
  ++in_weak_callback;
  struct Leave {
    int& n;
    ~Leave() { --n; }
  } leave{in_weak_callback};
  switch (b) {
    case Behaviour::resurrect: {  // a lock() in the middle of a batch of deaths
      WeakSlot& ws = weak[static_cast<std::size_t>(p % kWeakSlots)];
      slots[static_cast<std::size_t>(p % kSlots)] = ws.ref.lock();
      return;
    }
    case Behaviour::steal: {  // drops a weak reference: one of the same batch, or its own
      WeakSlot& ws = weak[static_cast<std::size_t>(p % kWeakSlots)];
      kill_weak_record(ws.rec);  // `self` may dangle from here on
      ws.rec = -1;
      ws.ref.reset();
      return;
    }
    case Behaviour::drop_field: {
      int key = p % kMapKeys;
      try {
        value_map.erase(key);
        value_model.erase(key);
      } catch (const std::logic_error&) {  // the map is being iterated
      }
      return;
    }
    case Behaviour::replace_self: {  // `self` = a new WeakRef (no callback) to slot[param]'s object
      const Ref<Base>& target = slots[static_cast<std::size_t>(p % kSlots)];
      std::int64_t owner = info.owner;
      std::int64_t fresh = target ? new_weak_record(id_of(target.get()), false) : -1;  // `info` may move
      ouro::WeakRef<Base> made = target ? ouro::WeakRef<Base>(target) : ouro::WeakRef<Base>();
      kill_weak_record(rec);
      if (owner < 0) {
        for (WeakSlot& ws : weak)
          if (ws.rec == rec) ws.rec = fresh;
      } else {
        for (const auto& entry : live)
          if (entry.second == owner) const_cast<Base*>(entry.first)->weak_rec = fresh;
        to_field(fresh, owner);
      }
      self = std::move(made);
      return;
    }
    default:
      run(b, p, nullptr);
      return;
  }
}

Ref<Base> make_object(World& w, Kind kind, int nfields, Behaviour b, std::uint8_t param) {
  if (!w.can_make()) return {};
  Ref<Base> r;
  switch (kind) {
    case Kind::node: r = ouro::make<Node>(w, nfields, b, param); break;
    case Kind::fin_node: r = ouro::make<FinNode>(w, nfields, b, param); break;
    case Kind::leaf: r = ouro::make<Leaf>(w, nfields, b, param); break;
    case Kind::fin_leaf: r = ouro::make<FinLeaf>(w, nfields, b, param); break;
  }
  w.objects[r->id].kind = kind;
  return r;
}

}  // namespace ouro_fuzz

std::size_t std::hash<ouro_fuzz::HashKey>::operator()(const ouro_fuzz::HashKey& k) const {
  if (k.world) k.world->hash_called(false);
  return std::hash<int>{}(k.key);
}
