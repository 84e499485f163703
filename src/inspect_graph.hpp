// inspect_graph.hpp — a read-only picture of one heap's object graph, the
// common core of the leak-forensics tools (inspect.cpp, inspect_dot.cpp,
// inspect_html.cpp).
//
// Building it takes the tracked objects of the live tables (kLiveTables,
// query_scope.hpp) and pins each (a strong reference for the graph's life),
// then calls traverse() once on each and keeps the references in a
// compressed adjacency array (CSR). Nodes are numbered: the tracked objects
// first (table by table, in slot order, so finding the node of a tracked
// object is table base + slot, no hashing), then the other objects that
// tracked ones refer to (untracked ones, and any a traverse() reports that
// the snapshot lacks), pinned when first met, in a hash map.
//
// The traverse() calls are user code: the graph holds a QueryScope while it
// lives, so no collection moves or frees anything under it, and the pins
// keep every object it reads alive even if user code drops its references.
// A node is found by its address only (two live objects never share one),
// so objects that user code moves between tables meanwhile are still found.
//
// The external count of a node is its refcount, read just before the graph
// pinned it, minus the references the graph holds to it (the collector's
// trial deletion, over the live tables, in a side array: no object is
// written). A tracked node with an external count other than zero is a
// root; another one is "held from outside". Roots and everything they reach
// are alive; the rest is cyclic garbage.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "heap.hpp"
#include "query_scope.hpp"

namespace ouro::detail {

class HeapGraph {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  // One reference: to `node` (the referent in out(), the referrer in in()),
  // from the member `field` ("" when unnamed; names are string literals).
  struct Arc {
    std::uint32_t node;
    const char* field;
  };

  // `query` names the public function (for a refusal, QueryScope). The
  // `subject` of the query, when given and pinnable, is pinned and gets a
  // node even if nothing refers to it: it stays readable however user code
  // changes the heap during the walk.
  HeapGraph(Heap& h, const char* query, const Object* subject = nullptr);

  std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(nodes_.objects.size()); }
  std::uint32_t tracked() const noexcept { return tracked_; }
  Object* object(std::uint32_t i) const noexcept { return nodes_.objects[i].get(); }
  bool is_tracked(std::uint32_t i) const noexcept { return i < tracked_; }
  // The node of `o`, or npos when `o` is neither in the snapshot nor met.
  std::uint32_t find(const Object& o);
  // The node's refcount (as ouro::refcount says), without the graph's pin.
  std::size_t refcount(std::uint32_t i) const;

  // refcount (before the pin) minus the graph's references to the node
  // (immortal: nonzero).
  bool held_from_outside(std::uint32_t i) const noexcept { return external_[i] != 0; }
  bool is_root(std::uint32_t i) const noexcept { return is_tracked(i) && held_from_outside(i); }
  // Reachable from a root, or held from outside.
  bool is_alive(std::uint32_t i) noexcept;

  std::span<const Arc> out(std::uint32_t i) const noexcept {
    return {arcs_.data() + first_[i], arcs_.data() + first_[i + 1]};
  }
  // Referrers; built on first use.
  std::span<const Arc> in(std::uint32_t i);

  // One reference of a why-alive chain.
  struct Step {
    std::uint32_t from;
    const char* field;
    std::uint32_t to;
  };
  // Breadth-first from every root at once (roots in node order): for each
  // node, the node and the arc that first reached it (a root is its own
  // parent; npos: not reached). With `stop_at`, the search ends as soon as
  // that node is reached.
  struct ChainTree {
    std::vector<std::uint32_t> parent, parent_arc;
  };
  ChainTree chain_tree(std::uint32_t stop_at = npos) const;
  // The arcs of a shortest path from some root to `target`, read off `tree`.
  // Empty when `target` is a root or held from outside. Sets `reached` to
  // false when no root reaches it.
  std::vector<Step> chain_in(const ChainTree& tree, std::uint32_t target, bool& reached) const;
  // The same, when only its ends are wanted: the first `keep` and the last
  // `keep` references of the chain (all of a shorter one); `length` is the
  // number of references in all. Memory for those only.
  std::vector<Step> chain_ends(const ChainTree& tree, std::uint32_t target, std::size_t keep, std::size_t& length,
                               bool& reached) const;
  // The same as chain_in for one target, searching only as far as needed.
  std::vector<Step> chain_to(std::uint32_t target, bool& reached) const;

  // The references of a shortest cycle through the tracked node `start`, in
  // order: the first leaves `start`, the last comes back to it; empty when
  // no cycle passes through it. Breadth-first from `start` over out(), so
  // each node and arc is looked at once at most: O(nodes + arcs). With
  // `group_of`, only nodes v with group_of[v] == `group` are entered (pass
  // start's strongly connected group: it holds every cycle through start,
  // and the search then costs that group only).
  std::vector<Step> shortest_cycle(std::uint32_t start, std::span<const std::uint32_t> group_of = {},
                                   std::uint32_t group = npos);
  // Arcs looked at by shortest_cycle on this thread so far (a work count
  // for tests: it grows with the arcs read, never with time).
  static std::uint64_t cycle_search_work() noexcept;

  // Strongly connected groups of more than one node, or of one node with a
  // reference to itself (iterative Tarjan): largest first, groups of one
  // size in order of completion (a counting sort: linear).
  std::vector<std::vector<std::uint32_t>> cycle_groups() const;

 private:
  class Recorder;
  // Every node's object, pinned, except an object that no query may hold
  // (not pinnable: another live heap's), which is only pointed at.
  struct Nodes {
    Nodes() = default;
    Nodes(const Nodes&) = delete;
    Nodes& operator=(const Nodes&) = delete;
    ~Nodes() {
      for (std::uint32_t i : unpinned) (void)subtle::release_ref(objects[i]);
    }
    std::vector<Ref<Object>> objects;
    std::vector<std::uint32_t> unpinned;
  };
  static constexpr std::size_t kTables = std::size(kLiveTables);

  void take_snapshot();
  std::uint32_t lookup(const Object* o);
  std::uint32_t node_of(Object* o);
  void index_snapshot();
  void read_references();
  void count_external();
  void mark_alive();

  const Heap& heap_;
  Nodes nodes_;
  QueryScope scope_;  // ends before the pins go (members die in reverse order)
  std::array<std::uint32_t, kTables> table_base_{}, table_size_{};
  std::uint32_t tracked_ = 0;
  std::unordered_map<const Object*, std::uint32_t> others_;  // nodes found by address
  bool snapshot_indexed_ = false;                           // others_ holds the tracked nodes too
  std::vector<std::uint32_t> first_;                        // size() + 1 offsets into arcs_
  std::vector<Arc> arcs_;
  std::vector<std::int64_t> external_;
  std::vector<std::uint32_t> rfirst_;
  std::vector<Arc> rarcs_;
  std::vector<std::uint8_t> alive_;
  // shortest_cycle's parent links (npos: not reached), reset after each
  // search to the nodes it reached only: searches of many small groups
  // stay linear in all.
  std::vector<std::uint32_t> search_parent_, search_arc_;
};

}  // namespace ouro::detail
