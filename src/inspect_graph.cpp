// inspect_graph.cpp — building the read-only graph of a heap, and the
// graph algorithms the forensics tools share: external counts (roots),
// breadth-first chains from the roots, shortest cycles through a node, and
// strongly connected groups.
// Every walk uses an explicit queue or stack: user graphs can be millions
// of references deep, and nothing here may recurse on them.
#include "inspect_graph.hpp"

#include <algorithm>
#include <stdexcept>

#include "ouro/visitor.hpp"

namespace ouro::detail {

static_assert(static_cast<std::size_t>(kLiveTables[0]) == 0 && static_cast<std::size_t>(kLiveTables[3]) == 3,
              "a live table's value is its index in kLiveTables");

void NarrowArray::push_back(std::uint32_t value) {
  const unsigned needed = value <= UINT8_MAX ? 1 : value <= UINT16_MAX ? 2 : 4;
  if (needed > width_) {  // copy into the wider array; the narrower one stays until the graph goes
    if (needed == 2) {
      words_.reserve(size_ + 1);
      for (std::size_t k = 0; k < size_; ++k) words_.push_back(bytes_[k]);
    } else {
      wide_.reserve(size_ + 1);
      for (std::size_t k = 0; k < size_; ++k) wide_.push_back((*this)[k]);
    }
    width_ = needed;
  }
  switch (width_) {
    case 1: bytes_.push_back(static_cast<std::uint8_t>(value)); break;
    case 2: words_.push_back(static_cast<std::uint16_t>(value)); break;
    default: wide_.push_back(value);
  }
  ++size_;
}

// Resolves each reference as traverse() reports it, while the target is
// surely alive (its referrer holds it): later user code may drop it, but by
// then it has a node, and so a pin. Field names are numbered by address
// (a traverse() passes the same pointers every time: string literals, or
// the names OURO_TRAVERSE split once), through a small cache in front of
// the map; a null name is "".
class HeapGraph::Recorder final : public Visitor {
 public:
  explicit Recorder(HeapGraph& g) : g_(g) {
    g_.field_names_.push_back("");
    ids_.emplace("", 0);
    cache_.fill(Cached{nullptr, 0});
  }

 private:
  struct Cached {
    const char* name;
    std::uint32_t id;
  };
  static constexpr std::size_t kCacheBits = 8;

  // Either both arrays grow or neither does (a traverse() may catch the
  // exception and go on).
  void visit(Object* target) override {
    if (g_.targets_.size() == UINT32_MAX) throw std::length_error("ouro::inspect: more than 2^32 - 1 references");
    std::uint32_t node = g_.node_of(target);
    std::uint32_t name = field_id(field());
    g_.targets_.reserve(g_.targets_.size() + 1);
    g_.field_ids_.push_back(name);
    g_.targets_.push_back(node);
  }
  std::uint32_t field_id(const char* name) {
    auto bits = reinterpret_cast<std::uintptr_t>(name);
    Cached& c = cache_[(bits * 0x9E3779B97F4A7C15u) >> (64 - kCacheBits)];
    if (c.name == name) return c.id;
    auto [it, added] = ids_.try_emplace(name ? name : "", static_cast<std::uint32_t>(g_.field_names_.size()));
    if (added) {
      try {
        g_.field_names_.push_back(it->first);
      } catch (...) {
        ids_.erase(it);
        throw;
      }
    }
    c = Cached{name, it->second};
    return it->second;
  }
  HeapGraph& g_;
  std::unordered_map<const char*, std::uint32_t> ids_;
  std::array<Cached, std::size_t{1} << kCacheBits> cache_;
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
    first_.push_back(static_cast<std::uint32_t>(targets_.size()));
    Object* o = nodes_.objects[i].get();  // not a reference into the vector: traverse() may grow it
    o->traverse(record);
  }
  first_.resize(std::size_t{size()} + 1, static_cast<std::uint32_t>(targets_.size()));
}

// The collector's update_refs + subtract_refs, over every node: external_
// starts as each node's refcount at its pinning (count_before_pin).
void HeapGraph::count_external() {
  for (std::size_t k = 0; k < targets_.size(); ++k) --external_[targets_[k]];
}

std::size_t HeapGraph::refcount(std::uint32_t i) const {
  std::size_t rc = ouro::refcount(*object(i));
  if (is_immortal(*object(i)) || std::ranges::find(nodes_.unpinned, i) != nodes_.unpinned.end()) return rc;
  return rc - 1;
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

HeapGraph::Arcs<true> HeapGraph::in(std::uint32_t i) {
  if (rfirst_.empty()) index_referrers();
  return {*this, rfirst_[i], rfirst_[i + 1]};
}

// Arc numbers by referent (a counting sort of the arcs): 4 bytes a
// reference; the referrer is found from the arc number when read.
void HeapGraph::index_referrers() {
  std::vector<std::uint32_t> first(std::size_t{size()} + 1, 0);
  for (std::size_t k = 0; k < targets_.size(); ++k) ++first[targets_[k] + 1];
  for (std::size_t i = 1; i < first.size(); ++i) first[i] += first[i - 1];
  std::vector<std::uint32_t> fill(first.begin(), first.end() - 1);
  rarcs_.resize(targets_.size());
  for (std::uint32_t k = 0; k < targets_.size(); ++k) rarcs_[fill[targets_[k]]++] = k;
  rfirst_ = std::move(first);
}

std::uint32_t HeapGraph::source_of(std::uint32_t k) const noexcept {
  // The last node whose first arc is at or before k: nodes without arcs
  // share their offset with the next one, and upper_bound skips them.
  auto after = std::upper_bound(first_.begin(), first_.end(), k);
  return static_cast<std::uint32_t>(after - first_.begin() - 1);
}

bool HeapGraph::is_alive(std::uint32_t i) const {
  if (alive_.empty()) mark_alive();
  return alive_[i] != 0;
}

void HeapGraph::mark_alive() const {
  std::vector<std::uint8_t> alive(size(), 0);
  std::vector<std::uint32_t> stack;
  stack.reserve(size());  // touched only as it fills
  for (std::uint32_t r = 0; r < size(); ++r) {
    if (!held_from_outside(r) || alive[r]) continue;
    alive[r] = 1;
    stack.push_back(r);
    while (!stack.empty()) {
      std::uint32_t v = stack.back();
      stack.pop_back();
      for (std::uint32_t k = first_[v]; k < first_[v + 1]; ++k) {
        std::uint32_t w = targets_[k];
        if (alive[w]) continue;
        alive[w] = 1;
        stack.push_back(w);
      }
    }
  }
  alive_ = std::move(alive);
}

HeapGraph::ChainTree HeapGraph::chain_tree(std::uint32_t stop_at) const {
  ChainTree tree;
  tree.parent.assign(size(), npos);
  tree.parent_arc.assign(size(), npos);
  std::vector<std::uint32_t>& parent = tree.parent;
  std::vector<std::uint32_t> queue;
  queue.reserve(size());  // touched only as it fills
  for (std::uint32_t r = 0; r < tracked_; ++r)
    if (is_root(r)) {
      parent[r] = r;
      queue.push_back(r);
    }
  for (std::size_t head = 0; head < queue.size() && (stop_at == npos || parent[stop_at] == npos); ++head) {
    std::uint32_t v = queue[head];
    for (std::uint32_t k = first_[v]; k < first_[v + 1]; ++k) {
      std::uint32_t w = targets_[k];
      if (parent[w] != npos) continue;
      parent[w] = v;
      tree.parent_arc[w] = k;
      queue.push_back(w);
    }
  }
  // A complete search reached all that the roots reach; untracked nodes
  // have no references out, so the rest of what is alive is held from
  // outside itself (mark_alive, without a second walk).
  if (stop_at == npos && alive_.empty()) {
    std::vector<std::uint8_t> alive(size());
    for (std::uint32_t i = 0; i < size(); ++i) alive[i] = parent[i] != npos || held_from_outside(i);
    alive_ = std::move(alive);
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
    steps.push_back(Step{tree.parent[v], field_names_[field_ids_[tree.parent_arc[v]]], v});
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
    if (k < keep || k + keep >= length) steps.push_back(Step{tree.parent[v], field_names_[field_ids_[tree.parent_arc[v]]], v});
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
      const std::uint32_t w = targets_[k];
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
    steps.push_back(Step{last, field_names_[field_ids_[closing]], start});
    for (std::uint32_t v = last; v != start; v = search_parent_[v])
      steps.push_back(Step{search_parent_[v], field_names_[field_ids_[search_arc_[v]]], v});
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

// Tarjan's algorithm with an explicit call stack: a frame is a node, the
// position of the next arc to look at and the node's low link. Indices are
// 1-based (0: not visited; kDone: its group is complete, so a visited node
// not done is on the Tarjan stack). The stacks are reserved for the worst
// case: memory is touched only as they grow, and nothing is copied.
std::vector<std::vector<std::uint32_t>> HeapGraph::cycle_groups() const {
  struct Frame {
    std::uint32_t node, next_arc, low;
  };
  constexpr std::uint32_t kDone = UINT32_MAX;
  const std::uint32_t n = tracked_;
  std::vector<std::uint32_t> index(n, 0);
  std::vector<std::uint32_t> tarjan_stack;
  std::vector<Frame> calls;
  tarjan_stack.reserve(n);
  calls.reserve(n);
  std::vector<std::vector<std::uint32_t>> groups;
  std::uint32_t counter = 0;
  auto enter = [&](std::uint32_t v) {
    index[v] = ++counter;
    tarjan_stack.push_back(v);
    calls.push_back(Frame{v, first_[v], counter});
  };
  for (std::uint32_t s = 0; s < n; ++s) {
    if (index[s] != 0) continue;
    enter(s);
    while (!calls.empty()) {
      Frame& f = calls.back();
      if (f.next_arc < first_[f.node + 1]) {
        std::uint32_t w = targets_[f.next_arc++];
        if (w >= n) continue;  // untracked: no references out, never in a cycle
        if (index[w] == 0)
          enter(w);  // invalidates f
        else if (index[w] != kDone)
          f.low = std::min(f.low, index[w]);
        continue;
      }
      const Frame done = f;
      calls.pop_back();
      if (!calls.empty()) calls.back().low = std::min(calls.back().low, done.low);
      const std::uint32_t v = done.node;
      if (done.low != index[v]) continue;
      // The group: v and all above it on the Tarjan stack, in discovery order.
      auto first = tarjan_stack.end();
      do --first;
      while (*first != v);
      for (auto it = first; it != tarjan_stack.end(); ++it) index[*it] = kDone;
      const bool self_loop = first + 1 == tarjan_stack.end() &&
                             std::ranges::any_of(out(v), [v](const Arc& a) { return a.node == v; });
      if (first + 1 != tarjan_stack.end() || self_loop) groups.emplace_back(first, tarjan_stack.end());
      tarjan_stack.erase(first, tarjan_stack.end());
    }
  }
  return largest_first(std::move(groups));
}

}  // namespace ouro::detail
