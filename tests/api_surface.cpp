// Compiles only if every name and signature of API.md is there. It checks the
// surface, not the behaviour: copy it into the project's tests/ and build it
// with them (add_executable + target_link_libraries(... ouro::ouro)); copy it
// again when API.md changes. Running it does nothing interesting. Until weak
// references and leak forensics exist, keep their parts behind an #if.
#include <ouro/ouro.hpp>

// Parts of the API that later issues bring (weak references, leak
// forensics) stay behind these switches until they exist.
#ifndef OURO_SURFACE_WEAKREF
#define OURO_SURFACE_WEAKREF 1
#endif
#ifndef OURO_SURFACE_INSPECT
#define OURO_SURFACE_INSPECT 1
#endif

#include <array>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

namespace surface {

struct Node : ouro::Object {
  ouro::Ref<Node> next;
  std::vector<ouro::Ref<Node>> list;
  std::map<int, ouro::Ref<Node>> by_id;
  std::map<ouro::Ref<Node>, int> by_node;
  std::pair<ouro::Ref<Node>, ouro::Ref<Node>> pair;
  std::optional<ouro::Ref<Node>> maybe;
#if OURO_SURFACE_WEAKREF
  ouro::WeakRef<Node> weak;
#endif
  void traverse(ouro::Visitor& v) override {
    v(next);
    v(next, next);
    v(list);
    v(by_id);
    v(by_node);
    v(pair);
    v(maybe);
#if OURO_SURFACE_WEAKREF
    v(weak);
#endif
    v.named("next", next);
  }
  void finalize() override {}
  std::string repr() const override { return "Node"; }
};

struct Derived : Node {};

#if OURO_SURFACE_INSPECT
struct Named : ouro::Object {
  ouro::Ref<Named> left, right;
  OURO_TRAVERSE(left, right)
};
#endif

struct Plain : ouro::Object {};  // untracked: no traverse

static_assert(sizeof(ouro::Ref<Node>) == sizeof(void*));
static_assert(!std::is_copy_constructible_v<ouro::Object>);

inline void objects_and_references() {
  ouro::Ref<Node> a = ouro::make<Node>();
  ouro::Ref<Derived> d = ouro::make<Derived>();
  ouro::Ref<Node> up = d;                  // converting copy
  ouro::Ref<Node> moved = std::move(up);   // move
  ouro::Ref<Node> empty, null = nullptr;
  ouro::Ref<Derived> down = ouro::ref_cast<Derived>(moved);
  ouro::Ref<Derived> checked = ouro::dynamic_ref_cast<Derived>(a);
  ouro::Ref<Node> self = ouro::ref(a.get());
  bool b = a == self && a != empty && empty == nullptr && !(a != self) && bool(a) && (a <=> self) == 0;
  Node& r = *a;
  a->next = a;
  std::size_t h = std::hash<ouro::Ref<Node>>{}(a);
  std::set<ouro::Ref<Node>> ordered{a, self};
  std::unordered_set<ouro::Ref<Node>> hashed{a};
  std::size_t rc = ouro::refcount(r);
  auto p = ouro::make<Plain>();
  ouro::immortalize(*p);
  bool imm = ouro::is_immortal(*p);
  ouro::set_unraisable_hook([](std::exception_ptr, const ouro::Object*) {});
  ouro::set_unraisable_hook(nullptr);
  a.reset();
  (void)b, (void)h, (void)rc, (void)imm, (void)down, (void)checked, (void)null;
}

inline void the_collector() {
  namespace gc = ouro::gc;
  std::size_t n = gc::collect() + gc::collect(0) + gc::collect(1) + gc::collect(2);
  gc::enable();
  gc::disable();
  bool on = gc::is_enabled();
  gc::Thresholds t = gc::get_threshold();
  gc::set_threshold(t.gen0);
  gc::set_threshold(t.gen0, t.gen1);
  gc::set_threshold(t.gen0, t.gen1, t.gen2);
  std::array<std::size_t, 3> count = gc::get_count();
  std::array<gc::GenerationStats, 3> stats = gc::get_stats();
  std::size_t c = stats[0].collections + stats[1].collected + stats[2].uncollectable;
  std::vector<ouro::Ref<ouro::Object>> all = gc::get_objects(), young = gc::get_objects(0);
  auto x = ouro::make<Node>();
  std::vector<ouro::Ref<ouro::Object>> out = gc::get_referents(*x), in = gc::get_referrers(*x);
  bool tracked = gc::is_tracked(*x) && gc::is_finalized(*x);
  std::vector<ouro::Ref<ouro::Object>>& garbage = gc::garbage();
  unsigned flags = gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE | gc::DEBUG_UNCOLLECTABLE | gc::DEBUG_SAVEALL;
  static_assert(gc::DEBUG_STATS == 1 && gc::DEBUG_COLLECTABLE == 2 && gc::DEBUG_UNCOLLECTABLE == 4 &&
                gc::DEBUG_SAVEALL == 32 && gc::DEBUG_LEAK == 38);
  gc::set_debug(flags);
  flags = gc::get_debug();
  gc::set_debug(0);
  std::ostringstream os;
  gc::set_debug_stream(&os);
  gc::set_debug_stream(nullptr);
  gc::Callback cb = [](gc::Phase phase, const gc::CollectionInfo& info) {
    (void)(phase == gc::Phase::start || phase == gc::Phase::stop);
    (void)(info.generation + info.collected + info.uncollectable + info.seconds);
  };
  std::size_t id = gc::add_callback(cb);
  bool removed = gc::remove_callback(id);
  gc::freeze();
  gc::unfreeze();
  std::size_t frozen = gc::get_freeze_count();
  gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  gc::FinalizerPolicy policy = gc::get_finalizer_policy();
  (void)n, (void)on, (void)count, (void)c, (void)all, (void)young, (void)out, (void)in, (void)tracked,
      (void)garbage, (void)removed, (void)frozen, (void)policy;
}

#if OURO_SURFACE_WEAKREF
inline void weak_references() {
  auto a = ouro::make<Node>();
  ouro::WeakRef<Node> none, w(a), cb(a, [](ouro::WeakRef<Node>& self) { (void)self.expired(); });
  ouro::WeakRef<Node> copy = w, moved = std::move(copy);
  ouro::Ref<Node> back = w.lock();
  bool gone = w.expired();
  std::size_t wc = ouro::weakref_count(*a);
  ouro::WeakValueMap<int, Node> cache;
  cache.insert_or_assign(1, a);
  ouro::Ref<Node> hit = cache.get(1);
  bool erased = cache.erase(1);
  std::size_t live = cache.size();
  ouro::WeakKeyMap<Node, std::string> side;
  side.insert_or_assign(a, "data");
  std::string* found = side.find(*a);
  erased = side.erase(*a) || erased;
  live += side.size();
  (void)none, (void)cb, (void)moved, (void)back, (void)gone, (void)wc, (void)hit, (void)found, (void)live;
}
#endif

#if OURO_SURFACE_INSPECT
inline void leak_forensics() {
  namespace inspect = ouro::inspect;
  auto a = ouro::make<Named>();
  a->left = a;
  std::vector<inspect::Edge> chain = inspect::why_alive(*a);
  for (const inspect::Edge& e : chain) (void)(e.from.get() == e.to.get() && e.field.empty());
  bool root = inspect::is_root(*a);
  std::vector<inspect::Cycle> all = inspect::find_cycles(), mine = inspect::find_cycles(*a);
  for (const inspect::Cycle& c : all) (void)(c.objects.size() + c.edges.size() + c.garbage);
  std::vector<inspect::TypeStat> types = inspect::type_stats();
  for (const inspect::TypeStat& t : types) (void)(t.type.size() + t.count + t.bytes);
  inspect::Snapshot before = inspect::snapshot(), after = inspect::snapshot();
  std::vector<inspect::TypeStat> grew = inspect::growth(before, after);
  std::ostringstream os;
  inspect::write_dot(os, *a, 2, false);
  inspect::write_dot(os, *a, 2, true);
  inspect::write_html(os);
  (void)root, (void)mine, (void)grew;
}
#endif

}  // namespace surface

int main(int argc, char**) {
  if (argc > 99) {  // referenced, never run: this program checks names and types only
    surface::objects_and_references();
    surface::the_collector();
#if OURO_SURFACE_WEAKREF
    surface::weak_references();
#endif
#if OURO_SURFACE_INSPECT
    surface::leak_forensics();
#endif
  }
  return 0;
}
