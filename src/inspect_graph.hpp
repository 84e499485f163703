// inspect_graph.hpp — a read-only picture of one heap's object graph, the
// common core of the leak-forensics tools (inspect.cpp, inspect_dot.cpp,
// inspect_html.cpp).
//
// Building it calls traverse() once on every tracked object and keeps the
// references in a compressed adjacency array (CSR). Nodes are numbered:
// the tracked objects first (table by table, in slot order, so finding the
// node of a tracked object is table base + slot, no hashing), then the
// untracked objects that tracked ones refer to (a hash map, usually small).
//
// The external count of a node is its refcount minus the references the
// graph holds to it (the collector's trial deletion, over all tables, in a
// side array: no object is written). A tracked node with an external count
// other than zero is a root; an untracked one is "held from outside". Roots
// and everything they reach are alive; the rest is cyclic garbage.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "heap.hpp"

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

  explicit HeapGraph(Heap& h);

  std::uint32_t size() const noexcept { return static_cast<std::uint32_t>(objects_.size()); }
  std::uint32_t tracked() const noexcept { return tracked_; }
  Object* object(std::uint32_t i) const noexcept { return objects_[i]; }
  bool is_tracked(std::uint32_t i) const noexcept { return i < tracked_; }
  // The node of `o`, or npos when no tracked object is or refers to it.
  std::uint32_t find(const Object& o) const noexcept;

  // refcount minus the graph's references to the node (immortal: nonzero).
  bool held_from_outside(std::uint32_t i) const noexcept { return external_[i] != 0; }
  bool is_root(std::uint32_t i) const noexcept { return is_tracked(i) && held_from_outside(i); }
  // Reachable from a root, or an untracked object held from outside.
  bool is_alive(std::uint32_t i) noexcept;

  std::span<const Arc> out(std::uint32_t i) const noexcept {
    return {arcs_.data() + first_[i], arcs_.data() + first_[i + 1]};
  }
  // Referrers; built on first use.
  std::span<const Arc> in(std::uint32_t i);

  // The arcs of a shortest path from some root to `target` (breadth-first,
  // roots in node order). Empty when `target` is a root or held from
  // outside; npos-free. Sets `reached` to false when no root reaches it.
  struct Step {
    std::uint32_t from;
    const char* field;
    std::uint32_t to;
  };
  std::vector<Step> chain_to(std::uint32_t target, bool& reached) const;

  // Strongly connected groups of more than one node, or of one node with a
  // reference to itself (iterative Tarjan), in order of completion.
  std::vector<std::vector<std::uint32_t>> cycle_groups() const;

 private:
  std::uint32_t index_of_tracked(const Object* o) const noexcept;
  std::uint32_t intern_untracked(Object* o);
  void read_references(Heap& h);
  void count_external();
  void mark_alive();

  const Heap& heap_;
  std::array<std::uint32_t, 7> table_base_{};
  std::vector<Object*> objects_;
  std::uint32_t tracked_ = 0;
  std::unordered_map<const Object*, std::uint32_t> untracked_;
  std::vector<std::uint32_t> first_;  // size() + 1 offsets into arcs_
  std::vector<Arc> arcs_;
  std::vector<std::int64_t> external_;
  std::vector<std::uint32_t> rfirst_;
  std::vector<Arc> rarcs_;
  std::vector<std::uint8_t> alive_;
};

}  // namespace ouro::detail
