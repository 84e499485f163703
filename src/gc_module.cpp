// gc_module.cpp — the ouro::gc façade (and ouro::set_unraisable_hook):
// validates arguments, finds the calling thread's heap, and delegates to the
// heap and the collector.
#include <stdexcept>
#include <string>

#include "destruction.hpp"
#include "heap.hpp"
#include "member_registry.hpp"
#include "ouro/detail/schedule_probe.hpp"
#include "ouro/gc.hpp"
#include "ouro/visitor.hpp"
#include "query_scope.hpp"
#include "thread_heap.hpp"
#include "triggers.hpp"

namespace ouro::gc {
namespace {

using detail::Heap;
using detail::Table;

int checked_generation(int generation, const char* function) {
  if (generation < 0 || generation > 2)
    throw std::invalid_argument(std::string("ouro::gc::") + function + ": generation must be 0, 1 or 2, got " +
                                std::to_string(generation));
  return generation;
}

Ref<Object> new_ref(Object* o) {
  detail::incref(o);
  return Ref<Object>(o, detail::adopt_t{});
}

void append_table(Heap& h, Table t, std::vector<Ref<Object>>& out) {
  detail::SlotTable& tab = h.table(t);
  out.reserve(out.size() + tab.size());
  for (std::uint32_t i = 0; i < tab.size(); ++i) out.push_back(new_ref(tab[i]));
}

class CollectReferents final : public Visitor {
 public:
  std::vector<Ref<Object>> found;

 private:
  void visit(Object* target) override { found.push_back(new_ref(target)); }
};

class FindsTarget final : public Visitor {
 public:
  explicit FindsTarget(const Object* target) : target_(target) {}
  bool found = false;

 private:
  void visit(Object* o) override { found = found || o == target_; }
  const Object* target_;
};

Object& mutable_object(const Object& o) { return const_cast<Object&>(o); }

}  // namespace

std::size_t collect(int generation) {
  int g = checked_generation(generation, "collect");
  Heap& h = detail::heap_for_api();
  if (h.collecting || h.queries != 0) return 0;
  h.collecting = true;
  try {
    std::size_t n = detail::collect_with_callbacks(h, g);
    h.collecting = false;
    return n;
  } catch (...) {
    h.collecting = false;
    throw;
  }
}

void enable() {
  Heap& h = detail::heap_for_api();
  h.enabled = true;
  h.sync_trigger();
}
void disable() {
  Heap& h = detail::heap_for_api();
  h.enabled = false;
  h.sync_trigger();
}
bool is_enabled() { return detail::heap_for_api().enabled; }

Thresholds get_threshold() {
  const Heap& h = detail::heap_for_api();
  return Thresholds{h.threshold[0], h.threshold[1], h.threshold[2]};
}
// Under the incremental schedule threshold[0] is the pacer's, and gen0 is
// its floor; both schedules keep the floor, so that switching back restores it.
void set_threshold(std::size_t gen0) {
  Heap& h = detail::heap_for_api();
  h.threshold[0] = gen0;
  h.inc.young_floor = gen0;
  h.inc.young_target = gen0;
  h.sync_trigger();
}
void set_threshold(std::size_t gen0, std::size_t gen1) {
  Heap& h = detail::heap_for_api();
  h.threshold[1] = gen1;
  set_threshold(gen0);
}
void set_threshold(std::size_t gen0, std::size_t gen1, std::size_t gen2) {
  Heap& h = detail::heap_for_api();
  h.threshold[1] = gen1;
  h.threshold[2] = gen2;
  set_threshold(gen0);
}

std::array<std::size_t, 3> get_count() { return detail::heap_for_api().count; }
std::array<GenerationStats, 3> get_stats() { return detail::heap_for_api().stats; }

std::vector<Ref<Object>> get_objects() {
  Heap& h = detail::heap_for_api();
  std::vector<Ref<Object>> out;
  for (Table t : {Table::gen0, Table::gen1, Table::gen2}) append_table(h, t, out);
  return out;
}

std::vector<Ref<Object>> get_objects(int generation) {
  int g = checked_generation(generation, "get_objects");
  Heap& h = detail::heap_for_api();
  Table t = static_cast<Table>(g);
  // The incremental schedule's old halves: 1 = still to visit in this pass, 2 = visited.
  if (h.incremental() && g == 1) t = h.inc.unscanned;
  if (h.incremental() && g == 2) t = h.inc.scanned();
  std::vector<Ref<Object>> out;
  append_table(h, t, out);
  return out;
}

// Both call traverse(), user code that may change the heap: they hold a
// QueryScope and pins (query_scope.hpp).
std::vector<Ref<Object>> get_referents(const Object& o) {
  CollectReferents collect;
  Heap* h = detail::current_heap();
  if (!h) {  // this thread's heap is torn down: no collection can run
    mutable_object(o).traverse(collect);
    return std::move(collect.found);
  }
  Ref<Object> pinned = detail::pin(o, *h);
  detail::QueryScope scope(*h, "ouro::gc::get_referents");
  mutable_object(o).traverse(collect);
  return std::move(collect.found);
}

std::vector<Ref<Object>> get_referrers(const Object& o) {
  Heap& h = detail::heap_for_api();
  std::vector<Ref<Object>> pinned;  // dropped after the scope ends
  detail::QueryScope scope(h, "ouro::gc::get_referrers");
  for (Table t : {Table::gen0, Table::gen1, Table::gen2}) append_table(h, t, pinned);
  std::vector<Ref<Object>> out;
  for (const Ref<Object>& candidate : pinned) {
    FindsTarget finds(&o);
    candidate->traverse(finds);
    if (finds.found) out.push_back(candidate);
  }
  return out;
}

#if OURO_CHECKS
namespace {
class AuditMembers final : public Visitor {
 public:
  explicit AuditMembers(detail::MemberAudit& audit) noexcept { audit_into(&audit); }

 private:
  void visit(Object*) override {}
};
}  // namespace
#endif

void verify_traverse() {
#if OURO_CHECKS
  Heap* h = detail::current_heap();
  if (!h) return;
  std::vector<Ref<Object>> pinned;  // dropped after the scope ends
  detail::QueryScope scope(*h, "ouro::gc::verify_traverse");
  for (Table t : detail::kLiveTables) {
    detail::SlotTable& tab = h->table(t);
    for (std::uint32_t i = 0; i < tab.size(); ++i)
      if (detail::has(*tab[i], detail::kHasMemberRefs)) pinned.push_back(new_ref(tab[i]));
  }
  detail::MemberAudit audit;
  for (const Ref<Object>& o : pinned) {
    audit.clear();
    AuditMembers v(audit);
    o->traverse(v);
    detail::check_visited_members(o.get(), audit);
  }
#endif
}

bool is_tracked(const Object& o) {
  return detail::has(o, detail::kTracked) && !detail::has(o, detail::kOrphan) &&
         detail::table_of(o) != Table::none;
}

bool is_finalized(const Object& o) { return detail::has(o, detail::kFinalized); }

std::vector<Ref<Object>>& garbage() { return detail::heap_for_api().garbage; }

void set_debug(unsigned flags) { detail::heap_for_api().debug = flags; }
unsigned get_debug() { return detail::heap_for_api().debug; }
void set_debug_stream(std::ostream* os) { detail::heap_for_api().debug_stream = os; }

std::size_t add_callback(Callback cb) {
  if (!cb) throw std::invalid_argument("ouro::gc::add_callback: the callback is empty");
  Heap& h = detail::heap_for_api();
  std::size_t id = h.next_callback_id++;
  h.callbacks.emplace_back(id, std::move(cb));
  return id;
}

bool remove_callback(std::size_t id) {
  Heap& h = detail::heap_for_api();
  for (auto it = h.callbacks.begin(); it != h.callbacks.end(); ++it) {
    if (it->first != id) continue;
    h.callbacks.erase(it);
    return true;
  }
  return false;
}

namespace {

// While the collector counts references, the tables it reads must not move
// under it: user code that a traverse() sets off (a destructor or finalizer
// of an object it let go of) may not freeze or unfreeze then.
void refuse_while_counting(const char* what) {
  if (detail::counting_now())
    throw std::logic_error(std::string(what) +
                           ": called while the collector counts references (from a traverse(), or a finalizer or "
                           "destructor that one set off); call it after the collection");
}

}  // namespace

void freeze() {
  refuse_while_counting("ouro::gc::freeze");
  Heap& h = detail::heap_for_api();
  detail::SlotTable& gen2 = h.table(Table::gen2);
  // Frozen objects are out of every collection's reach: none stays pending.
  for (std::uint32_t i = 0; i < gen2.size(); ++i) detail::unset(*gen2[i], detail::kPending);
  h.long_lived_pending = 0;
  for (Table t : {Table::gen0, Table::gen1, Table::gen2}) h.append_table(t, Table::permanent);
  h.count[0] = 0;
}

void unfreeze() {
  refuse_while_counting("ouro::gc::unfreeze");
  Heap& h = detail::heap_for_api();
  h.append_table(Table::permanent, Table::gen2);
}

std::size_t get_freeze_count() { return detail::heap_for_api().table(Table::permanent).size(); }

void set_schedule(Schedule s) {
  if (s != Schedule::generational && s != Schedule::incremental)
    throw std::invalid_argument("ouro::gc::set_schedule: unknown schedule");
  Heap& h = detail::heap_for_api();
  if (h.collecting)
    throw std::logic_error(
        "ouro::gc::set_schedule: called from inside a collection (a finalizer, a callback, or a destructor or "
        "traverse() it runs); call it after the collection");
  if (s == h.inc.schedule) return;
  detail::IncrementalState& inc = h.inc;
  if (s == Schedule::incremental) {
    // No 25% rule: nothing is pending. gen1 and gen2 become the old
    // generation's halves, gen1's objects not yet visited.
    detail::SlotTable& gen2 = h.table(Table::gen2);
    for (std::uint32_t i = 0; i < gen2.size(); ++i) detail::unset(*gen2[i], detail::kPending);
    h.long_lived_pending = 0;
    inc.unscanned = Table::gen1;
    inc.pass_cut = false;
    inc.cap_scale = 1;
    inc.last_end = 0;
    inc.young_target = inc.young_floor;
  } else {
    h.threshold[0] = inc.young_floor;
    h.long_lived_total = h.table(Table::gen2).size();
    h.long_lived_pending = 0;
  }
  inc.schedule = s;
  h.young_deaths_only = s == Schedule::incremental;
  h.sync_trigger();
}
Schedule get_schedule() { return detail::heap_for_api().inc.schedule; }

void set_pause_target(std::chrono::microseconds t) {
  if (t.count() <= 0)
    throw std::invalid_argument("ouro::gc::set_pause_target: the pause target must be positive, got " +
                                std::to_string(t.count()) + " us");
  detail::heap_for_api().inc.pause_target = t;
}
std::chrono::microseconds get_pause_target() { return detail::heap_for_api().inc.pause_target; }

void set_overhead_target(double fraction) {
  if (!(fraction > 0.0 && fraction <= 1.0))
    throw std::invalid_argument("ouro::gc::set_overhead_target: the fraction must be in (0, 1], got " +
                                std::to_string(fraction));
  detail::heap_for_api().inc.overhead_target = fraction;
}
double get_overhead_target() { return detail::heap_for_api().inc.overhead_target; }

void set_finalizer_policy(FinalizerPolicy p) {
  if (p != FinalizerPolicy::pep442 && p != FinalizerPolicy::legacy)
    throw std::invalid_argument("ouro::gc::set_finalizer_policy: unknown policy");
  Heap& h = detail::heap_for_api();
  // The legacy policy's collections in pieces need room in `uncollectable`
  // too (collector.cpp, piece_size); the table never gives it back.
  if (p == FinalizerPolicy::legacy) h.table(Table::uncollectable).reserve(detail::kReservedPiece);
  h.policy = p;
}
FinalizerPolicy get_finalizer_policy() { return detail::heap_for_api().policy; }

}  // namespace ouro::gc

namespace ouro::detail {

ScheduleProbe schedule_probe() {
  Heap& h = heap_for_api();
  ScheduleProbe p;
  p.young = h.inc.last_young;
  p.unexamined = h.inc.last_unexamined;
  p.increment = h.inc.last_increment;
  p.seeds = h.inc.last_seeds;
  p.cut = h.inc.last_cut;
  p.young_threshold = h.threshold[0];
  p.young_target = h.inc.young_target;
  p.young_ceiling = h.young_ceiling();
  p.seeds_budget = h.inc.seeds_budget;
  p.closure_cap = h.closure_cap();
  p.pause_budget = h.pause_budget();
  p.unscanned = h.incremental() ? h.table(h.inc.unscanned).size() : 0;
  return p;
}

void fix_pacer_cost(double ns_per_object) {
  Heap& h = heap_for_api();
  h.inc.cost_fixed = ns_per_object > 0;
  if (ns_per_object > 0) {
    h.inc.ns_per_young = h.inc.ns_per_increment = ns_per_object;
    h.inc.ns_per_promoted = ns_per_object / 4;
  }
}

}  // namespace ouro::detail

namespace ouro {

void set_unraisable_hook(UnraisableHook hook) { detail::heap_for_api().unraisable = std::move(hook); }

}  // namespace ouro
