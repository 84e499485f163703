// inspect_graph.cpp — building the read-only graph of a heap, and the
// graph algorithms the forensics tools share: external counts (roots),
// breadth-first chains from the roots, shortest cycles through a node, and
// strongly connected groups.
// Every walk uses an explicit queue or stack: user graphs can be millions
// of references deep, and nothing here may recurse on them.
#include "inspect_graph.hpp"

#include <algorithm>

#include "ouro/visitor.hpp"

namespace ouro::detail {

static_assert(static_cast<std::size_t>(kLiveTables[0]) == 0 && static_cast<std::size_t>(kLiveTables[3]) == 3,
              "a live table's value is its index in kLiveTables");

// Resolves each reference as traverse() reports it, while the target is
// surely alive (its referrer holds it): later user code may drop it, but by
// then it has a node, and so a pin.
class HeapGraph::Recorder final : public Visitor {
 public:
  explicit Recorder(HeapGraph& g) : g_(g) {}
  // The arcs so far, as two arrays: smaller blocks than one array of Arcs
  // while they grow (a failed push ends the whole graph).
  std::vector<std::uint32_t> nodes;
  std::vector<const char*> fields;

 private:
  void visit(Object* target) override {
    std::uint32_t node = g_.node_of(target);
    fields.push_back(field());
    nodes.push_back(node);
  }
  HeapGraph& g_;
};

// ---------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------

namespace {

// A node's refcount, read when the graph pins it (for the snapshot, before
// any user code runs): external counts describe the heap as the query found
// it, whatever user code drops or adds during the walk. Immortal: nonzero
// whatever the graph subtracts.
std::int64_t count_before_pin(const Object& o) noexcept {
  std::uint64_t rc = Access::refcnt(o);
  return is_immortal_count(rc) ? std::int64_t{1} << 40 : static_cast<std::int64_t>(rc);
}

}  // namespace

HeapGraph::HeapGraph(Heap& h, const char* query, const Object* subject) : heap_(h), scope_(h, query) {
  take_snapshot();
  if (subject && pinnable(*subject, h) && lookup(subject) == npos) node_of(const_cast<Object*>(subject));
  read_references();
  count_external();
}

// The tracked objects of the live tables, each pinned, before any user code
// runs.
void HeapGraph::take_snapshot() {
  std::uint32_t base = 0;
  for (std::size_t t = 0; t < kTables; ++t) {
    table_base_[t] = base;
    table_size_[t] = heap_.tables[t].size();
    base += table_size_[t];
  }
  tracked_ = base;
  std::vector<Ref<Object>>& objects = nodes_.objects;
  objects.reserve(tracked_);  // the only steps that can fail: before any pin
  external_.reserve(tracked_);
  for (std::size_t t = 0; t < kTables; ++t) {
    const SlotTable& tab = heap_.tables[t];
    for (std::uint32_t slot = 0; slot < table_size_[t]; ++slot) {
      Object* o = tab[slot];
      external_.push_back(count_before_pin(*o));
      incref(o);
      objects.emplace_back(o, adopt_t{});
    }
  }
}

// By the object's table and slot when it still sits where the snapshot saw
// it (comparing addresses: a pinned object's address is its own), else by
// the hash map. A tracked object of this heap found elsewhere has moved (by
// user code: gc::freeze()) or is new since the snapshot: from then on the
// map holds the snapshot's objects too.
std::uint32_t HeapGraph::lookup(const Object* o) {
  auto t = static_cast<std::size_t>(table_of(*o));
  if (t < kTables && Access::heap_id(*o) == heap_.id) {
    std::uint32_t slot = Access::slot(*o);
    if (slot < table_size_[t] && nodes_.objects[table_base_[t] + slot].get() == o) return table_base_[t] + slot;
    if (!snapshot_indexed_) index_snapshot();
  }
  auto it = others_.find(o);
  return it == others_.end() ? npos : it->second;
}

void HeapGraph::index_snapshot() {
  others_.reserve(others_.size() + tracked_);
  for (std::uint32_t i = 0; i < tracked_; ++i) others_.emplace(nodes_.objects[i].get(), i);
  snapshot_indexed_ = true;
}

std::uint32_t HeapGraph::find(const Object& o) { return lookup(&o); }

// The node of a reported object, made (and pinned) on first meeting.
std::uint32_t HeapGraph::node_of(Object* o) {
  std::uint32_t i = lookup(o);
  if (i != npos) return i;
  i = size();
  std::vector<Ref<Object>>& objects = nodes_.objects;
  if (objects.size() == objects.capacity()) objects.reserve(objects.size() * 2 + 16);
  if (external_.size() == external_.capacity()) external_.reserve(external_.size() * 2 + 16);
  const bool pinned = pinnable(*o, heap_);
  if (!pinned) nodes_.unpinned.reserve(nodes_.unpinned.size() + 1);
  others_.emplace(o, i);  // the last step that can fail
  external_.push_back(count_before_pin(*o));
  if (pinned) incref(o);
  objects.emplace_back(o, adopt_t{});
  if (!pinned) nodes_.unpinned.push_back(i);
  return i;
}

// One traverse() per tracked node; nodes met meanwhile are appended, and
// have no references out (untracked objects have no traverse() worth
// calling; objects made during the walk are not part of the snapshot).
void HeapGraph::read_references() {
  first_.reserve(std::size_t{tracked_} + 1);
  Recorder record(*this);
  for (std::uint32_t i = 0; i < tracked_; ++i) {
    first_.push_back(static_cast<std::uint32_t>(record.nodes.size()));
    Object* o = nodes_.objects[i].get();  // not a reference into the vector: traverse() may grow it
    o->traverse(record);
  }
  first_.resize(std::size_t{size()} + 1, static_cast<std::uint32_t>(record.nodes.size()));
  arcs_.resize(record.nodes.size());
  for (std::size_t k = 0; k < arcs_.size(); ++k) arcs_[k] = Arc{record.nodes[k], record.fields[k]};
}

// The collector's update_refs + subtract_refs, over every node: external_
// starts as each node's refcount at its pinning (count_before_pin).
void HeapGraph::count_external() {
  for (const Arc& a : arcs_) --external_[a.node];
}

std::size_t HeapGraph::refcount(std::uint32_t i) const {
  std::size_t rc = ouro::refcount(*object(i));
  if (is_immortal(*object(i)) || std::ranges::find(nodes_.unpinned, i) != nodes_.unpinned.end()) return rc;
  return rc - 1;
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

std::span<const HeapGraph::Arc> HeapGraph::in(std::uint32_t i) {
  if (rfirst_.empty()) {
    rfirst_.assign(std::size_t{size()} + 1, 0);
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
  alive_.assign(size(), 0);
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

HeapGraph::ChainTree HeapGraph::chain_tree(std::uint32_t stop_at) const {
  ChainTree tree;
  tree.parent.assign(size(), npos);
  tree.parent_arc.assign(size(), npos);
  std::vector<std::uint32_t>& parent = tree.parent;
  std::vector<std::uint32_t> queue;
  for (std::uint32_t r = 0; r < tracked_; ++r)
    if (is_root(r)) {
      parent[r] = r;
      queue.push_back(r);
    }
  for (std::size_t head = 0; head < queue.size() && (stop_at == npos || parent[stop_at] == npos); ++head) {
    std::uint32_t v = queue[head];
    for (std::uint32_t k = first_[v]; k < first_[v + 1]; ++k) {
      std::uint32_t w = arcs_[k].node;
      if (parent[w] != npos) continue;
      parent[w] = v;
      tree.parent_arc[w] = k;
      queue.push_back(w);
    }
  }
  return tree;
}

std::vector<HeapGraph::Step> HeapGraph::chain_in(const ChainTree& tree, std::uint32_t target, bool& reached) const {
  reached = true;
  if (held_from_outside(target)) return {};
  if (tree.parent[target] == npos) {
    reached = false;
    return {};
  }
  std::vector<Step> steps;
  for (std::uint32_t v = target; tree.parent[v] != v; v = tree.parent[v])
    steps.push_back(Step{tree.parent[v], arcs_[tree.parent_arc[v]].field, v});
  std::reverse(steps.begin(), steps.end());
  return steps;
}

std::vector<HeapGraph::Step> HeapGraph::chain_ends(const ChainTree& tree, std::uint32_t target, std::size_t keep,
                                                   std::size_t& length, bool& reached) const {
  length = 0;
  reached = true;
  if (held_from_outside(target)) return {};
  if (tree.parent[target] == npos) {
    reached = false;
    return {};
  }
  for (std::uint32_t v = target; tree.parent[v] != v; v = tree.parent[v]) ++length;
  // Walking up from the target meets the last references first: keep the
  // first `keep` met and the last `keep`, then put them in chain order.
  std::vector<Step> steps;
  std::size_t k = 0;
  for (std::uint32_t v = target; tree.parent[v] != v; v = tree.parent[v], ++k)
    if (k < keep || k + keep >= length) steps.push_back(Step{tree.parent[v], arcs_[tree.parent_arc[v]].field, v});
  std::reverse(steps.begin(), steps.end());
  return steps;
}

std::vector<HeapGraph::Step> HeapGraph::chain_to(std::uint32_t target, bool& reached) const {
  if (held_from_outside(target)) {
    reached = true;
    return {};
  }
  return chain_in(chain_tree(target), target, reached);
}

namespace {

thread_local std::uint64_t tls_cycle_search_work = 0;

}  // namespace

std::uint64_t HeapGraph::cycle_search_work() noexcept { return tls_cycle_search_work; }

// The first arc back to `start` that the breadth-first order meets closes a
// shortest cycle: the nodes are met in order of distance from `start`.
std::vector<HeapGraph::Step> HeapGraph::shortest_cycle(std::uint32_t start, std::span<const std::uint32_t> group_of,
                                                       std::uint32_t group) {
  if (start >= tracked_) return {};  // untracked: no references out
  if (search_parent_.size() != size()) {
    search_parent_.assign(size(), npos);
    search_arc_.assign(size(), npos);
  }
  auto enters = [&](std::uint32_t w) {
    return w < tracked_ && search_parent_[w] == npos && (group_of.empty() || group_of[w] == group);
  };
  std::vector<std::uint32_t> queue{start};
  search_parent_[start] = start;
  std::uint32_t last = npos, closing = npos;
  std::uint64_t work = 0;
  for (std::size_t head = 0; head < queue.size() && closing == npos; ++head) {
    const std::uint32_t v = queue[head];
    for (std::uint32_t k = first_[v]; k < first_[v + 1]; ++k) {
      ++work;
      const std::uint32_t w = arcs_[k].node;
      if (w == start) {
        last = v;
        closing = k;
        break;
      }
      if (!enters(w)) continue;
      search_parent_[w] = v;
      search_arc_[w] = k;
      queue.push_back(w);
    }
  }
  std::vector<Step> steps;
  if (closing != npos) {
    steps.push_back(Step{last, arcs_[closing].field, start});
    for (std::uint32_t v = last; v != start; v = search_parent_[v])
      steps.push_back(Step{search_parent_[v], arcs_[search_arc_[v]].field, v});
    std::reverse(steps.begin(), steps.end());
  }
  for (std::uint32_t v : queue) search_parent_[v] = search_arc_[v] = npos;
  tls_cycle_search_work += work;
  return steps;
}

namespace {

// Largest first, groups of one size in their order: a stable counting sort
// by size (a comparison sort of a million small cycles is not linear).
std::vector<std::vector<std::uint32_t>> largest_first(std::vector<std::vector<std::uint32_t>> groups) {
  std::size_t largest = 0;
  for (const auto& g : groups) largest = std::max(largest, g.size());
  std::vector<std::size_t> at(largest + 2, 0);  // by largest - size: where each size starts
  for (const auto& g : groups) ++at[largest - g.size() + 1];
  for (std::size_t k = 1; k < at.size(); ++k) at[k] += at[k - 1];
  std::vector<std::vector<std::uint32_t>> sorted(groups.size());
  for (auto& g : groups) sorted[at[largest - g.size()]++] = std::move(g);
  return sorted;
}

}  // namespace

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
  return largest_first(std::move(groups));
}

}  // namespace ouro::detail
