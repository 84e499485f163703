// increments.cpp — gathering one increment of the old generation (the
// incremental schedule; docs/design/incremental.md explains the rule and why
// every garbage group is found within one pass).
//
// The increment is built in the `unreachable` table, guarded, which is also
// the queue of the breadth-first walk: entry i's references are followed
// when the walk reaches it. A reported target joins when it sits in either
// half of the old generation of this heap (not yet in the increment: those
// are guarded in `unreachable`); young objects, frozen ones and objects of
// other heaps stay outside, and count as roots when trial deletion runs on
// the increment.
//
// traverse() is user code. While the walk runs, the heap's counting scope
// is open (begin_counting): queries and freeze refuse, and an object of the
// increment that a misbehaving traverse() lets go of stays guarded, for the
// collector to decide. An old object not yet taken that dies meanwhile
// leaves its table as usual, before the walk looks at anything else.
#include "increments.hpp"

#include <new>

#include "destruction.hpp"
#include "generation_tables.hpp"
#include "ouro/visitor.hpp"

namespace ouro::detail {
namespace {

class GatherClosure final : public Visitor {
 public:
  GatherClosure(Heap& h, std::uint16_t& flags) : h_(h), flags_(flags) {}

  // Objects this seed's closure may still add; false once a target was left out.
  std::uint32_t room = 0;
  bool complete = true;

 private:
  void visit(Object* target) override {
    std::uint64_t placement = Access::placement(*target);
    if (!placed_in(placement, Table::gen1, h_.id) && !placed_in(placement, Table::gen2, h_.id)) return;
    if (room == 0) {
      complete = false;
      return;
    }
    --room;
    take(h_, target, flags_);
  }

 public:
  static void take(Heap& h, Object* o, std::uint16_t& flags) noexcept {
    h.unlink(o);
    SlotTable& set = h.table(Table::unreachable);
    guard_as_unreachable(flags, o, set.push(o));  // room: try_reserve_for_increment
  }

 private:
  Heap& h_;
  std::uint16_t& flags_;
};

class CountingScope {
 public:
  explicit CountingScope(Heap& h) noexcept { begin_counting(h, Table::unreachable, Table::unreachable); }
  ~CountingScope() { end_counting(); }
  CountingScope(const CountingScope&) = delete;
  CountingScope& operator=(const CountingScope&) = delete;
};

}  // namespace

bool try_reserve_for_increment(Heap& h, std::uint32_t most) {
  try {
    h.table(Table::unreachable).reserve(most);
    h.reachability.reserve(most);
    h.dying.reserve(most);
    if (h.policy == gc::FinalizerPolicy::legacy) h.table(Table::uncollectable).reserve(most);
    for (Table t : {Table::gen1, Table::gen2}) h.table(t).reserve(std::size_t{h.table(t).size()} + most);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

Gathered gather_increment(Heap& h, std::uint32_t seeds_budget, std::uint32_t cap) {
  Gathered g;
  SlotTable& set = h.table(Table::unreachable);
  SlotTable& unscanned = h.table(h.inc.unscanned);
  GatherClosure closure(h, g.flags);
  CountingScope counting(h);
  std::uint32_t next = 0;  // the walk's position in `set`
  while (set.size() < seeds_budget && !unscanned.empty()) {
    GatherClosure::take(h, unscanned[unscanned.size() - 1], g.flags);
    ++g.seeds;
    closure.room = cap;
    closure.complete = true;
    while (next < set.size() && closure.complete) set[next++]->traverse(closure);
    if (!closure.complete) {
      g.cut = true;
      next = set.size();  // the rest of the cut closure stays unwalked
    }
  }
  return g;
}

}  // namespace ouro::detail
