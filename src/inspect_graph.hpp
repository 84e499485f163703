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
// The references are kept as small as they can be read back: the target's
// node (4 bytes) and the field name's index in a table of the names met (1
// byte while fewer than 256 names are met, 2 or 4 after), each array in
// blocks that never move. A graph of millions of references is mostly this
// memory, and every byte of it is written once: nothing is copied as it
// grows.
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
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "heap.hpp"
#include "query_scope.hpp"

namespace ouro::detail {

// A growable array of numbers in blocks of a fixed size that never move:
// growing copies nothing and remaps nothing, so each value is written once
// however large the array grows. Throws std::bad_alloc when it cannot grow.
template <class T>
class BlockArray {
  static_assert(std::is_trivially_copyable_v<T>);
  static constexpr unsigned kBlockBits = 16;
  static constexpr std::size_t kBlockMask = (std::size_t{1} << kBlockBits) - 1;

 public:
  std::size_t size() const noexcept { return size_; }
  T operator[](std::size_t k) const noexcept { return blocks_[k >> kBlockBits][k & kBlockMask]; }
  // Room for n values: push_back does not throw until size() is n.
  void reserve(std::size_t n) {
    while (blocks_.size() << kBlockBits < n) {
      blocks_.reserve(blocks_.size() + 1);
      blocks_.push_back(std::make_unique_for_overwrite<T[]>(kBlockMask + 1));
    }
  }
  void push_back(T value) {
    reserve(size_ + 1);
    blocks_[size_ >> kBlockBits][size_ & kBlockMask] = value;
    ++size_;
  }

 private:
  std::vector<std::unique_ptr<T[]>> blocks_;
  std::size_t size_ = 0;
};

// Small unsigned numbers, stored in the fewest bytes (1, 2 or 4) that hold
// the largest so far: widened, all at once, when a larger one comes.
class NarrowArray {
 public:
  std::size_t size() const noexcept { return size_; }
  std::uint32_t operator[](std::size_t k) const noexcept {
    switch (width_) {
      case 1: return bytes_[k];
      case 2: return words_[k];
      default: return wide_[k];
    }
  }
  void push_back(std::uint32_t value);

 private:
  unsigned width_ = 1;
  std::size_t size_ = 0;
  BlockArray<std::uint8_t> bytes_;
  BlockArray<std::uint16_t> words_;
  BlockArray<std::uint32_t> wide_;
};

class HeapGraph {
 public:
  static constexpr std::uint32_t npos = UINT32_MAX;

  // One reference: to `node` (the referent in out(), the referrer in in()),
  // from the member `field` ("" when unnamed; names are string literals).
  struct Arc {
    std::uint32_t node;
    const char* field;
  };
  // The references out of or into one node, read back as Arcs.
  template <bool kReferrers>
  class Arcs;

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
  bool is_alive(std::uint32_t i) const;

  Arcs<false> out(std::uint32_t i) const noexcept;
  // Referrers, in node order; the index is built on first use.
  Arcs<true> in(std::uint32_t i);
  // f(referent) for each of the node's references, in out() order: for a
  // pass over many references that needs no field names.
  template <class F>
  void for_each_referent(std::uint32_t i, F&& f) const {
    for (std::uint32_t k = first_[i]; k < first_[i + 1]; ++k) f(targets_[k]);
  }

  // One reference of a why-alive chain.
  struct Step {
    std::uint32_t from;
    const char* field;
    std::uint32_t to;
  };
  // Breadth-first from every root at once (roots in node order): for each
  // node, the node and the arc that first reached it (a root is its own
  // parent; npos: not reached). With `stop_at`, the search ends as soon as
  // that node is reached; without, it also settles is_alive().
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
  void mark_alive() const;
  void index_referrers();
  // The node whose references out include arc `k` (k < first_[size()]).
  std::uint32_t source_of(std::uint32_t k) const noexcept;

  const Heap& heap_;
  Nodes nodes_;
  QueryScope scope_;  // ends before the pins go (members die in reverse order)
  std::array<std::uint32_t, kTables> table_base_{}, table_size_{};
  std::uint32_t tracked_ = 0;
  std::unordered_map<const Object*, std::uint32_t> others_;  // nodes found by address
  bool snapshot_indexed_ = false;                           // others_ holds the tracked nodes too
  std::vector<std::uint32_t> first_;                        // size() + 1 offsets into the arcs
  BlockArray<std::uint32_t> targets_;                       // by arc: the referent's node
  NarrowArray field_ids_;                                   // by arc: an index in field_names_
  std::vector<const char*> field_names_;                    // [0] is ""
  std::vector<std::int64_t> external_;
  std::vector<std::uint32_t> rfirst_;  // size() + 1 offsets into rarcs_, once in() was asked
  std::vector<std::uint32_t> rarcs_;   // arcs by referent, then referrer
  mutable std::vector<std::uint8_t> alive_;
  // shortest_cycle's parent links (npos: not reached), reset after each
  // search to the nodes it reached only: searches of many small groups
  // stay linear in all.
  std::vector<std::uint32_t> search_parent_, search_arc_;
};

template <bool kReferrers>
class HeapGraph::Arcs {
 public:
  class iterator {
   public:
    using value_type = Arc;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const HeapGraph* g, std::uint32_t at) : g_(g), at_(at) {}
    Arc operator*() const noexcept {
      if constexpr (kReferrers) {
        std::uint32_t k = g_->rarcs_[at_];
        return Arc{g_->source_of(k), g_->field_names_[g_->field_ids_[k]]};
      } else {
        return Arc{g_->targets_[at_], g_->field_names_[g_->field_ids_[at_]]};
      }
    }
    iterator& operator++() noexcept {
      ++at_;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator before = *this;
      ++at_;
      return before;
    }
    bool operator==(const iterator& other) const noexcept { return at_ == other.at_; }

   private:
    const HeapGraph* g_ = nullptr;
    std::uint32_t at_ = 0;
  };
  Arcs(const HeapGraph& g, std::uint32_t begin, std::uint32_t end) : g_(&g), begin_(begin), end_(end) {}
  iterator begin() const noexcept { return {g_, begin_}; }
  iterator end() const noexcept { return {g_, end_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }

 private:
  const HeapGraph* g_;
  std::uint32_t begin_, end_;
};

inline HeapGraph::Arcs<false> HeapGraph::out(std::uint32_t i) const noexcept {
  return {*this, first_[i], first_[i + 1]};
}

}  // namespace ouro::detail
