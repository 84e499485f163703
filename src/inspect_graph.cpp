// inspect_graph.cpp — building the read-only graph of a heap, and the three
// graph algorithms the forensics tools share: external counts (roots),
// breadth-first chains from the roots, and strongly connected groups.
// Every walk uses an explicit queue or stack: user graphs can be millions
// of references deep, and nothing here may recurse on them.
#include "inspect_graph.hpp"

#include <algorithm>

#include "ouro/visitor.hpp"

namespace ouro::detail {
namespace {

// Every table a tracked object of this heap can sit in (during a
// collection, finalizers and callbacks may ask about guarded objects too).
constexpr Table kTables[] = {Table::gen0,      Table::gen1,        Table::gen2,
                             Table::permanent, Table::unreachable, Table::uncollectable};

class RecordArcs final : public Visitor {
 public:
  explicit RecordArcs(std::vector<Object*>& targets, std::vector<const char*>& fields)
      : targets_(targets), fields_(fields) {}

 private:
  void visit(Object* target) override {
    targets_.push_back(target);
    fields_.push_back(field());
  }
  std::vector<Object*>& targets_;
  std::vector<const char*>& fields_;
};

}  // namespace

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

HeapGraph::HeapGraph(Heap& h) : heap_(h) {
  std::uint32_t base = 0;
  for (Table t : kTables) {
    table_base_[static_cast<std::size_t>(t)] = base;
    base += h.table(t).size();
  }
  tracked_ = base;
  objects_.reserve(tracked_);
  for (Table t : kTables) h.table(t).for_each([&](Object* o) { objects_.push_back(o); });
  read_references(h);
  count_external();
}

std::uint32_t HeapGraph::index_of_tracked(const Object* o) const noexcept {
  Table t = table_of(*o);
  if (t == Table::none || static_cast<std::size_t>(t) >= std::size(kTables) || Access::heap_id(*o) != heap_.id)
    return npos;
  const SlotTable& tab = heap_.tables[static_cast<std::size_t>(t)];
  std::uint32_t slot = Access::slot(*o);
  if (slot >= tab.size() || tab[slot] != o) return npos;
  return table_base_[static_cast<std::size_t>(t)] + slot;
}

std::uint32_t HeapGraph::intern_untracked(Object* o) {
  auto [it, added] = untracked_.try_emplace(o, static_cast<std::uint32_t>(objects_.size()));
  if (added) objects_.push_back(o);
  return it->second;
}

std::uint32_t HeapGraph::find(const Object& o) const noexcept {
  std::uint32_t i = index_of_tracked(&o);
  if (i != npos) return i;
  auto it = untracked_.find(&o);
  return it == untracked_.end() ? npos : it->second;
}

// One traverse() per tracked object; the referents are resolved to nodes
// afterwards, so an untracked referent first met late still gets a node.
void HeapGraph::read_references(Heap&) {
  std::vector<Object*> targets;
  std::vector<const char*> fields;
  std::vector<std::uint32_t> ends;
  ends.reserve(tracked_);
  RecordArcs record(targets, fields);
  for (std::uint32_t i = 0; i < tracked_; ++i) {
    objects_[i]->traverse(record);
    ends.push_back(static_cast<std::uint32_t>(targets.size()));
  }
  arcs_.resize(targets.size());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    std::uint32_t to = index_of_tracked(targets[k]);
    if (to == npos) to = intern_untracked(targets[k]);
    arcs_[k] = Arc{to, fields[k]};
  }
  // Untracked nodes have no traverse() worth calling: no references out.
  first_.assign(objects_.size() + 1, static_cast<std::uint32_t>(arcs_.size()));
  first_[0] = 0;
  for (std::uint32_t i = 0; i < tracked_; ++i) first_[i + 1] = ends[i];
}

// The collector's update_refs + subtract_refs, over every node.
void HeapGraph::count_external() {
  external_.resize(objects_.size());
  for (std::uint32_t i = 0; i < size(); ++i) {
    std::uint64_t rc = Access::refcnt(*objects_[i]);
    external_[i] = is_immortal_count(rc) ? std::int64_t{1} << 40 : static_cast<std::int64_t>(rc);
  }
  for (const Arc& a : arcs_) --external_[a.node];
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

std::span<const HeapGraph::Arc> HeapGraph::in(std::uint32_t i) {
  if (rfirst_.empty()) {
    rfirst_.assign(objects_.size() + 1, 0);
    for (const Arc& a : arcs_) ++rfirst_[a.node + 1];
    for (std::size_t k = 1; k < rfirst_.size(); ++k) rfirst_[k] += rfirst_[k - 1];
    rarcs_.resize(arcs_.size());
    std::vector<std::uint32_t> fill(rfirst_.begin(), rfirst_.end() - 1);
    for (std::uint32_t from = 0; from < tracked_; ++from)
      for (const Arc& a : out(from)) rarcs_[fill[a.node]++] = Arc{from, a.field};
  }
  return {rarcs_.data() + rfirst_[i], rarcs_.data() + rfirst_[i + 1]};
}

bool HeapGraph::is_alive(std::uint32_t i) noexcept {
  if (alive_.empty()) mark_alive();
  return alive_[i] != 0;
}

void HeapGraph::mark_alive() {
  alive_.assign(objects_.size(), 0);
  std::vector<std::uint32_t> stack;
  for (std::uint32_t r = 0; r < size(); ++r) {
    if (!held_from_outside(r) || alive_[r]) continue;
    alive_[r] = 1;
    stack.push_back(r);
    while (!stack.empty()) {
      std::uint32_t v = stack.back();
      stack.pop_back();
      for (const Arc& a : out(v))
        if (!alive_[a.node]) {
          alive_[a.node] = 1;
          stack.push_back(a.node);
        }
    }
  }
}

std::vector<HeapGraph::Step> HeapGraph::chain_to(std::uint32_t target, bool& reached) const {
  reached = true;
  if (held_from_outside(target)) return {};
  // parent[v] = the arc index that first reached v; npos: not yet reached.
  std::vector<std::uint32_t> parent_arc(objects_.size(), npos);
  std::vector<std::uint32_t> parent(objects_.size(), npos);
  std::vector<std::uint32_t> queue;
  for (std::uint32_t r = 0; r < tracked_; ++r)
    if (is_root(r)) {
      parent[r] = r;
      queue.push_back(r);
    }
  for (std::size_t head = 0; head < queue.size() && parent[target] == npos; ++head) {
    std::uint32_t v = queue[head];
    for (std::uint32_t k = first_[v]; k < first_[v + 1]; ++k) {
      std::uint32_t w = arcs_[k].node;
      if (parent[w] != npos) continue;
      parent[w] = v;
      parent_arc[w] = k;
      queue.push_back(w);
    }
  }
  if (parent[target] == npos) {
    reached = false;
    return {};
  }
  std::vector<Step> steps;
  for (std::uint32_t v = target; parent[v] != v; v = parent[v]) steps.push_back(Step{parent[v], arcs_[parent_arc[v]].field, v});
  std::reverse(steps.begin(), steps.end());
  return steps;
}

// Tarjan's algorithm with an explicit call stack: a frame is a node and the
// position of the next arc to look at. index/low numbers are 1-based (0 =
// not visited); a node leaves the Tarjan stack when its group is complete.
std::vector<std::vector<std::uint32_t>> HeapGraph::cycle_groups() const {
  struct Frame {
    std::uint32_t node, next_arc;
  };
  const std::uint32_t n = tracked_;
  std::vector<std::uint32_t> index(n, 0), low(n, 0);
  std::vector<std::uint8_t> on_stack(n, 0);
  std::vector<std::uint32_t> tarjan_stack;
  std::vector<Frame> calls;
  std::vector<std::vector<std::uint32_t>> groups;
  std::uint32_t counter = 0;
  auto enter = [&](std::uint32_t v) {
    index[v] = low[v] = ++counter;
    on_stack[v] = 1;
    tarjan_stack.push_back(v);
    calls.push_back(Frame{v, first_[v]});
  };
  for (std::uint32_t s = 0; s < n; ++s) {
    if (index[s] != 0) continue;
    enter(s);
    while (!calls.empty()) {
      Frame& f = calls.back();
      std::uint32_t v = f.node;
      if (f.next_arc < first_[v + 1]) {
        std::uint32_t w = arcs_[f.next_arc++].node;
        if (w >= n) continue;  // untracked: no references out, never in a cycle
        if (index[w] == 0)
          enter(w);  // invalidates f
        else if (on_stack[w])
          low[v] = std::min(low[v], index[w]);
        continue;
      }
      calls.pop_back();
      if (!calls.empty()) low[calls.back().node] = std::min(low[calls.back().node], low[v]);
      if (low[v] != index[v]) continue;
      std::vector<std::uint32_t> group;
      std::uint32_t w;
      do {
        w = tarjan_stack.back();
        tarjan_stack.pop_back();
        on_stack[w] = 0;
        group.push_back(w);
      } while (w != v);
      bool self_loop = group.size() == 1 && std::ranges::any_of(out(v), [v](const Arc& a) { return a.node == v; });
      if (group.size() > 1 || self_loop) {
        std::reverse(group.begin(), group.end());  // in discovery order
        groups.push_back(std::move(group));
      }
    }
  }
  return groups;
}

}  // namespace ouro::detail
