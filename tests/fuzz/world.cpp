// fuzz/world.cpp — the interpreter's objects: how they register with the
// model, what their finalizers do, and the harness-side writes that keep
// the model in step with the real Refs.
#include "world.hpp"

#include "checks.hpp"

#include <stdexcept>
#include <functional>
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
  // The `weak` member goes with the object (its callback never runs).
  world.kill_weak_record(weak_rec);
  weak_rec = -1;
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
  auto& slot = slots[static_cast<std::size_t>(p % kSlots)];
  if (self && (b == Behaviour::allocate || b == Behaviour::drop_slot || b == Behaviour::steal ||
               b == Behaviour::drop_field))
    finalizer_dropped = true;
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
  }
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
  return [world, b, param, rec](ouro::WeakRef<Base>& self) { world->run_weak_callback(b, param, rec, self); };
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
