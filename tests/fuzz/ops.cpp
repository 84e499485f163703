// fuzz/ops.cpp — the operations of the interpreter (see ops.hpp), one small
// function each, and the table that numbers them.
#include "ops.hpp"

#include <array>
#include <mutex>
#include <stdexcept>
#include <string>
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
};

}  // namespace

std::span<const Op> ops() { return kOps; }

}  // namespace ouro_fuzz
