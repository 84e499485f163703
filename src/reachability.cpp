// reachability.cpp — trial deletion over one table (find_unreachable): on a
// collection's working set, inside `unreachable` once user code has run,
// and on each piece when memory is short.
//
// COUNTING (count_internal_refs; CPython's update_refs + subtract_refs in
// one pass): counts[i] ends as the number of references to object i from
// outside the set. Each object adds its own refcount when it is counted
// (its header is in cache then), each reference that traverse() reports
// from inside the set takes one from its target. Zero: no outside
// reference; above zero: a root; below zero: a traverse() over-reported
// (checked builds abort naming the type; release builds treat the object
// as a root, so the error can only leak).
//
// THE RECORD: counting also writes the references down, as target slots in
// table order (edges, each object's number of them in degrees), so that
// marking runs on those arrays alone: one pass over the objects per
// collection instead of two, for 1 byte per object and 4 per reference.
// Without room for the record, marking traverses the objects again.
//
// MARKING: the roots and all they reach become kReachable, by one scan in
// table order with an explicit stack for references to objects already
// passed: no object is read twice, and there is no recursion on user graphs
// (mark_along_edges over the record, mark_by_traversing without one).
//
// THE SHORTCUT: when every object of the set has an outside reference, all
// are reachable and there is nothing to mark (every_object_is_a_root).
#include "reachability.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include "destruction.hpp"
#include "member_registry.hpp"
#include "ouro/visitor.hpp"

namespace ouro::detail {
namespace {

constexpr std::int32_t kMarkedAhead = INT32_MIN + 1;  // reachable, not traversed yet (see mark_reachable)
constexpr std::uint64_t kScratchCap = std::uint64_t{1} << 30;
constexpr std::uint32_t kNoEdge = UINT32_MAX;  // a recorded reference to an object outside the set
// Recorded references are numbered in int32 scratch entries while marking
// (see mark_along_edges): past this many, marking traverses instead.
constexpr std::size_t kMaxEdges = (std::size_t{1} << 31) - 4;
constexpr std::uint8_t kWideDegree = 255;

// True when `t` is an object of `set` in this heap (an object of another
// heap, misused, must never be mistaken for one of ours).
inline bool in_set(const Heap& h, const Object* t, Table set) noexcept {
  return placed_in(Access::placement(*t), set, h.id);
}
// The same, for a set of the first `n` entries of its table. A young
// collection's set is gen0's own table, and what a traverse() makes while
// the collector counts or marks is appended to it, after the set: outside.
inline bool in_set(const Heap& h, const Object* t, Table set, std::uint32_t n) noexcept {
  return in_set(h, t, set) && Access::slot(*t) < n;
}

// An object's reference count as the scratch arithmetic sees it (capped, so
// immortal counts fit).
inline std::int32_t capped_refcount(const Object* o) noexcept {
  std::uint64_t rc = Access::refcnt(*o);
  return static_cast<std::int32_t>(rc < kScratchCap ? rc : kScratchCap);
}

// The first pass of trial deletion (see count_internal_refs): every
// reference from inside the set takes one from its target's scratch entry,
// and is written down as the target's slot, so that marking can follow the
// references without reading any object again.
//
// traverse() only stores the targets it reports in a batch (inline, no
// virtual call); a full batch is then looked at in a tight loop. On a heap
// bigger than the cache each target's header (is it in the set? which
// slot?) is a miss: the loop prefetches kAhead targets ahead, so that many
// misses are in flight at once instead of one after the other.
// kSettles: the set's headers may need writing while they are read (a
// full collection clears kPending; an adopted table gets its new table
// bits). A young set that adopted nothing has nothing to settle.
template <bool kSettles>
class CountInternalRefs final : public Visitor {
 public:
  // `relabel`: objects of the set whose table bits still name the younger
  // table that became the set's (adopt_younger_table); counting moves them.
  CountInternalRefs(Heap& h, Table set, Table relabel)
      : h_(h),
        set_(set),
        relabel_(relabel),
        scratch_(h.reachability.counts.data()),
        scratch_end_(h.reachability.counts.data() + h.table(set).size()),
        set_size_(h.table(set).size()),
        prefetching_(h.table(set).size() >= kPrefetchFrom) {
    empty_batch();
  }

  // Counts objects [p, end): each adds its refcount to its scratch entry,
  // and the number of references it reported goes to its degrees entry.
  // Pointers rather than indexes: what lives across the virtual call fits
  // in registers.
  void count_objects(Object* const* p, Object* const* end, std::int32_t* scratch, std::uint8_t* degrees) {
    if (prefetching_ && end - p > std::ptrdiff_t{kPrefetchDistance}) {
      Object* const* stop = end - kPrefetchDistance;
      for (; p != stop; ++p, ++scratch, ++degrees) {
        prefetch(p[kPrefetchDistance]);
        if ((reinterpret_cast<std::uintptr_t>(degrees) & 15) == 0 && scratch + kArraysAhead < scratch_end_) {
          __builtin_prefetch(scratch + kArraysAhead, 1);
          __builtin_prefetch(degrees + kArraysAhead, 1);
        }
        count_object(*p, scratch, degrees);
      }
    }
    for (; p != end; ++p, ++scratch, ++degrees) count_object(*p, scratch, degrees);
  }
  // Looks at the references still in the batch (call before reading the counts).
  void finish() { take_batch(); }
  // References reported so far: where the next object's start in h.reachability.edges.
  std::uint32_t edges_so_far() const noexcept {
    return base_ + static_cast<std::uint32_t>(batch_end() - batch_);
  }
  // Whether h.reachability.edges holds every reference reported (false once growing it
  // failed, or past kMaxEdges references).
  bool recorded_all() const noexcept { return recording_; }

 private:
  static constexpr std::uint32_t kBatch = 256;
  static constexpr std::uint32_t kAhead = 16;
  static constexpr std::uint32_t kArraysAhead = 512;  // scratch and degrees entries, fetched ahead

  OURO_ALWAYS_INLINE void count_object(Object* o, std::int32_t* scratch, std::uint8_t* degrees) {
    // Only a full collection meets objects with a kPending bit, and it
    // restarts the pending count: every object of its set loses the bit
    // here, while its header is in cache; so does the table of an adopted
    // one.
    if constexpr (kSettles) {
      std::uint16_t flags = Access::flags(*o);
      auto settled = flags_in_table(static_cast<std::uint16_t>(flags & ~kPending), set_);
      if (OURO_UNLIKELY(flags != settled)) Access::flags(*o) = settled;
    }
    *scratch += capped_refcount(o);
    Object** first = batch_end();
    std::uint32_t base = base_;
#if OURO_CHECKS
    if (OURO_UNLIKELY(has(*o, kHasMemberRefs))) {
      traverse_audited(o);
    } else {
      o->traverse(*this);
    }
#else
    o->traverse(*this);
#endif
    std::uint32_t degree = base_ - base + static_cast<std::uint32_t>(batch_end() - first);
    if (OURO_LIKELY(degree < kWideDegree))
      *degrees = static_cast<std::uint8_t>(degree);
    else
      note_wide(degrees, degree);
  }

#if OURO_CHECKS
  // Checked builds: an object holding Refs in its own storage has its
  // traverse() compared with them (member_registry.hpp), at no extra call.
  OURO_NOINLINE void traverse_audited(Object* o) {
    audit_.clear();
    audit_into(&audit_);
    o->traverse(*this);
    audit_into(nullptr);
    check_visited_members(o, audit_);
  }
  MemberAudit audit_;
#endif

  OURO_NOINLINE void note_wide(std::uint8_t* degree_entry, std::uint32_t degree) noexcept {
    *degree_entry = kWideDegree;
    auto slot = static_cast<std::uint32_t>(degree_entry - h_.reachability.degrees.data());
    try {
      h_.reachability.wide_degrees.emplace_back(slot, degree);
    } catch (...) {
      recording_ = false;  // marking traverses instead
    }
  }

  void empty_batch() noexcept { batch_into(batch_, batch_ + kBatch); }
  void visit(Object* target) override {  // the batch is full
    take_batch();
    batch_[0] = target;
    batch_into(batch_ + 1, batch_ + kBatch);
  }
  void take_batch() {
    auto k = static_cast<std::uint32_t>(batch_end() - batch_);
    std::uint32_t* out = room_for(k);
    Object* const* batch = batch_;
    std::int32_t* scratch = scratch_;
    const Table set = set_;
    const Table relabel = relabel_;
    const std::uint16_t heap_id = h_.id;
    const std::uint32_t set_size = set_size_;
    auto look_at = [&](std::uint32_t j) {
      std::uint64_t placement = Access::placement(*batch[j]);
      std::uint32_t slot = kNoEdge;
      // in_set(), with the slot in the same load
      if ((placed_in(placement, set, heap_id) && static_cast<std::uint32_t>(placement) < set_size) ||
          (relabel != set && placed_in(placement, relabel, heap_id) && adopted_not_counted_yet(batch[j], placement))) {
        slot = static_cast<std::uint32_t>(placement);
        --scratch[slot];
      }
      out[j] = slot;
    };
    std::uint32_t j = 0;
    if (prefetching_ && k > kAhead) {
      for (; j < kAhead; ++j) prefetch(batch[j]);
      for (j = 0; j + kAhead < k; ++j) {
        prefetch(batch[j + kAhead]);
        look_at(j);
      }
    }
    for (; j < k; ++j) look_at(j);
    base_ += k;
    empty_batch();
  }
  // A target whose table bits name the adopted table is an object of the
  // set not counted yet, or an object made meanwhile (by a traverse()) and
  // placed in that table, which now holds only such objects: the set's
  // table says which.
  bool adopted_not_counted_yet(const Object* target, std::uint64_t placement) const noexcept {
    return h_.table(set_).holds_at(static_cast<std::uint32_t>(placement), target);
  }
  // Where the slots of the next k references go (a scratch area once not
  // recording: the loop above never tests).
  std::uint32_t* room_for(std::uint32_t k) noexcept {
    if (!recording_) return discarded_;
    std::size_t need = std::size_t{base_} + k;
    if (need > h_.reachability.edges.capacity()) {
      std::size_t want = std::max({need, h_.reachability.edges.capacity() * 2, std::size_t{4096}});
      if (need > kMaxEdges || !h_.reachability.edges.try_grow(std::min(want, kMaxEdges))) {
        recording_ = false;  // marking falls back to traversing the objects again
        return discarded_;
      }
    }
    return h_.reachability.edges.data() + base_;
  }
  Heap& h_;
  Table set_;
  Table relabel_;
  std::int32_t* scratch_;
  const std::int32_t* scratch_end_;
  const std::uint32_t set_size_;  // entries [0, set_size_) of the set's table; later ones were made meanwhile
  std::uint32_t base_ = 0;  // references taken out of earlier batches
  bool recording_ = true;
  bool prefetching_;
  Object* batch_[kBatch];
  std::uint32_t discarded_[kBatch];
};

#if OURO_CHECKS
// Slow path of a checked build, when some scratch entry went below zero: an
// object of the set reported a reference it does not hold. Counting again,
// up from zero in table order, finds the referrer whose report took a count
// above its target's refcount: the first suspect.
class FindOverReporter final : public Visitor {
 public:
  FindOverReporter(Heap& h, Table set, std::uint32_t n)
      : h_(h), set_(set), n_(n), counts_(h.reachability.counts.data()) {}
  Object* referrer = nullptr;

 private:
  void visit(Object* target) override {
    if (!in_set(h_, target, set_, n_)) return;
    if (++counts_[Access::slot(*target)] > capped_refcount(target)) report(target);
  }
  [[noreturn]] void report(Object* target) {
    // An earlier traverse() that over-reported the same target is the
    // other suspect.
    std::string msg = "traverse() of " + type_name(*referrer) + " (or of another object referring to the same " +
                      type_name(*target) + ") reported a reference to a " + type_name(*target) +
                      " that it does not hold (refcount below zero during a collection)";
    fatal(msg.c_str(), referrer);
  }
  Heap& h_;
  Table set_;
  std::uint32_t n_;
  std::int32_t* counts_;
};

// `n`: the objects of the set (a traverse() may have made more since, into
// the same table, outside the set).
void report_over_reporting_traverse(Heap& h, Table set, std::uint32_t n) {
  SlotTable& tab = h.table(set);
  std::fill(h.reachability.counts.data(), h.reachability.counts.data() + n, 0);
  FindOverReporter find(h, set, n);
  for (std::uint32_t i = 0; i < n; ++i) {
    find.referrer = tab[i];
    tab[i]->traverse(find);
  }
  fatal("a traverse() reported a reference that its object does not hold (refcount below zero during a collection)");
}
#endif

// The rule both markers apply to a reference from the object at the scan's
// cursor (or one reached from it) to an object whose scratch entry is s: a
// target the scan has still to come to (`ahead`) is only marked
// (kMarkedAhead), the scan follows it when it gets there; a target the scan
// already passed over as unreachable becomes reachable now and the caller
// follows it (returns true). Each object is pushed at most once.
inline bool reach(std::int32_t& s, bool ahead) noexcept {
  if (s == kReachable || s == kMarkedAhead) return false;
  if (ahead) {
    s = kMarkedAhead;
    return false;
  }
  s = kReachable;
  return true;
}

// Marks what a traversed object reaches, when marking has to traverse the
// objects (no recorded references). A target later in the table than the
// scan's cursor is only marked (kMarkedAhead): the scan traverses it when it
// gets there, in table order. The scan has passed over a target at or
// before the cursor as unreachable, so it goes on the stack now.
class MarkReachable final : public Visitor {
 public:
  MarkReachable(Heap& h, Table set, std::uint32_t n)
      : h_(h),
        set_(set),
        n_(n),
        scratch_(h.reachability.counts.data()),
        stack_(h.reachability.mark_stack.data()) {}
  std::uint32_t cursor = 0;
  std::uint32_t top = 0;        // entries on the stack
  std::uint32_t reachable = 0;  // objects marked kReachable so far

 private:
  void visit(Object* target) override {
    if (!in_set(h_, target, set_, n_)) return;
    std::uint32_t slot = Access::slot(*target);
    if (!reach(scratch_[slot], slot > cursor)) return;
    ++reachable;
    stack_[top++].slot = slot;  // room for the whole set
  }
  Heap& h_;
  Table set_;
  std::uint32_t n_;
  std::int32_t* scratch_;
  MarkTask* stack_;
};


// ---------------------------------------------------------------------------
// Counting, and the record of references
// ---------------------------------------------------------------------------

inline std::uint32_t degree_of(const Heap& h, const std::uint8_t* degrees, std::uint32_t slot) noexcept {
  if (OURO_LIKELY(degrees[slot] != kWideDegree)) return degrees[slot];
  const auto& wide = h.reachability.wide_degrees;
  auto it = std::lower_bound(wide.begin(), wide.end(), std::make_pair(slot, std::uint32_t{0}));
  return it->second;
}

// While traverse() runs on the objects of the working set (counting, and
// marking by traversal), an object of the set that a misbehaving traverse()
// lets go of is left for the collector (begin_counting, destruction.hpp).
class CountingScope {
 public:
  CountingScope(Heap& h, Table set, Table adopted) noexcept { begin_counting(h, set, adopted); }
  ~CountingScope() { end_counting(); }
  CountingScope(const CountingScope&) = delete;
  CountingScope& operator=(const CountingScope&) = delete;
};

// What counting leaves for marking: whether the record holds every reference,
// how many there are, and a few places in the record (the first object of
// some chunks, and where its references start) to sample their direction.
struct Record {
  static constexpr std::uint32_t kMaxSamples = 64;
  bool complete = false;
  std::uint32_t edges = 0;
  std::uint32_t samples = 0;
  std::uint32_t sample_slot[kMaxSamples];
  std::uint32_t sample_edge[kMaxSamples];
};

template <bool kSettles>
Record count_with(Heap& h, Table set, Table relabel) {
  SlotTable& tab = h.table(set);
  CountInternalRefs<kSettles> count(h, set, relabel);
  Record record;
  const std::uint32_t chunks = (tab.size() + SlotTable::kChunkSize - 1) / SlotTable::kChunkSize;
  const std::uint32_t sample_every = (chunks + Record::kMaxSamples - 1) / Record::kMaxSamples;
  CountingScope counting(h, set, relabel);
  try {
    tab.for_each_chunk_below(tab.size(), [&](Object* const* objects, std::uint32_t n, std::uint32_t base) {
      if ((base / SlotTable::kChunkSize) % sample_every == 0 && record.samples < Record::kMaxSamples) {
        record.sample_slot[record.samples] = base;
        record.sample_edge[record.samples++] = count.edges_so_far();
      }
      count.count_objects(objects, objects + n, h.reachability.counts.data() + base,
                          h.reachability.degrees.data() + base);
    });
    count.finish();
  } catch (...) {
    // A traverse() threw: the collection ends here, and the objects not
    // counted yet must still name the table they are in.
    if (relabel != set) tab.for_each([&](Object* o) { set_table(*o, set); });
    throw;
  }
  record.complete = count.recorded_all();
  record.edges = count.edges_so_far();
  return record;
}

OURO_NOINLINE Record count_internal_refs(Heap& h, Table set, Table relabel) {
  SlotTable& tab = h.table(set);
  // The set is what the table holds now: objects that a traverse() makes
  // while counting join gen0's table after it, outside the set.
  const std::uint32_t n = tab.size();
  std::fill(h.reachability.counts.data(), h.reachability.counts.data() + n, 0);
  h.reachability.wide_degrees.clear();
  // Only gen2 holds kPending bits (split_young_set sets them on promotion).
  const bool settles = set == Table::gen2 || relabel != set;
  Record record = settles ? count_with<true>(h, set, relabel) : count_with<false>(h, set, relabel);
#if OURO_CHECKS
  for (std::uint32_t i = 0; i < n; ++i)
    if (h.reachability.counts[i] < 0) report_over_reporting_traverse(h, set, n);
#endif
  return record;
}

// Whether the recorded references mostly lead to objects earlier in the
// table: objects made before their referrers (a tree built children first,
// a list each of whose items holds the one made before it). Looks at the
// first 16 objects of each sampled chunk: a few hundred instructions for a
// young collection, whose set is one chunk.
bool references_point_back(const Heap& h, const Record& record, std::uint32_t n) {
  const std::uint8_t* degrees = h.reachability.degrees.data();
  const std::uint32_t* edges = h.reachability.edges.data();
  std::uint64_t back = 0;
  std::uint64_t forward = 0;
  for (std::uint32_t k = 0; k < record.samples; ++k) {
    std::uint32_t e = record.sample_edge[k];
    std::uint32_t end = std::min(n, record.sample_slot[k] + 16);
    for (std::uint32_t i = record.sample_slot[k]; i < end; ++i) {
      for (std::uint32_t stop = e + degree_of(h, degrees, i); e < stop; ++e) {
        if (edges[e] == kNoEdge) continue;
        back += edges[e] < i;
        forward += edges[e] > i;
      }
    }
  }
  return back > forward;
}

// Marking's sequential arrays, fetched this many entries ahead of its scan.
constexpr std::uint32_t kScanAhead = 512;
inline void prefetch_scan(const std::uint8_t* degree, const std::int32_t* count, const std::uint32_t* edge) noexcept {
  __builtin_prefetch(degree);
  __builtin_prefetch(count, 1);
  __builtin_prefetch(edge);
}

// A root, or (kMarkedAhead) an object known to be reachable.
inline bool starts_marking(std::int32_t s) noexcept { return s != 0 && s != kReachable; }

// Where an object's references start, kept in its scratch entry once the
// scan has passed it unmarked (its count is no longer needed then): below
// zero, distinct from kReachable and kMarkedAhead (kMaxEdges keeps it so).
inline std::int32_t passed_at(std::uint32_t first_edge) noexcept { return -1 - static_cast<std::int32_t>(first_edge); }
inline std::uint32_t first_edge_of_passed(std::int32_t s) noexcept { return static_cast<std::uint32_t>(-1 - s); }

// Marking along the recorded references, over the arrays alone: no object
// is read. One scan over the table, reading the references sequentially: a
// root, or an object marked by an earlier one, has its references followed
// where it stands. A reference to an object the scan has still to come to is
// only marked (kMarkedAhead) and followed when the scan gets there; a
// reference to an object the scan passed unmarked goes on the stack with the
// place of its references (kept in its scratch entry). The scan runs
// forwards, or backwards when references mostly lead back in the table
// (references_point_back), so that referrers tend to come before their
// referents in scan order: the arrays are then read mostly in order, and the
// stack stays short, in both allocation orders. There is no recursion on
// user graphs. On exit scratch[i] == kReachable for every object reachable
// from a root; returns how many they are.
template <bool kBackwards, bool kPrefetch>
OURO_NOINLINE std::uint32_t mark_along_edges(Heap& h, std::uint32_t n, std::uint32_t total_edges) {
  std::int32_t* scratch = h.reachability.counts.data();
  const std::uint8_t* degrees = h.reachability.degrees.data();
  const std::uint32_t* edges = h.reachability.edges.data();
  MarkTask* stack = h.reachability.mark_stack.data();
  std::uint32_t top = 0;
  std::uint32_t reachable = 0;
  auto follow = [&](std::uint32_t first_edge, std::uint32_t degree, std::uint32_t cursor) {
    for (std::uint32_t e = first_edge, end = first_edge + degree; e < end; ++e) {
      std::uint32_t t = edges[e];
      if (t == kNoEdge) continue;
      std::int32_t passed = scratch[t];  // where t's references are, if reach() pushes it
      if (!reach(scratch[t], kBackwards ? t < cursor : t > cursor)) continue;
      stack[top++] = MarkTask{t, first_edge_of_passed(passed)};  // room for all
      ++reachable;
    }
  };
  auto scan = [&](std::uint32_t i, std::uint32_t first_edge, std::uint32_t degree) {
    std::int32_t s = scratch[i];
    if (starts_marking(s)) {
      scratch[i] = kReachable;
      ++reachable;
      follow(first_edge, degree, i);
      while (top != 0) {
        MarkTask task = stack[--top];
        follow(task.first_edge, degree_of(h, degrees, task.slot), i);
      }
    } else if (s != kReachable) {
      scratch[i] = passed_at(first_edge);
    }
  };
  // The scan reads three arrays in order (degrees, scratch, the record)
  // while it writes marks at random places ahead: on a set bigger than the
  // cache the hardware prefetcher does not keep up with all of them, so the
  // three are fetched kScanAhead entries ahead, once per 16 objects (the
  // large trees of bench/collector_bench.cpp). Young sets, in the cache,
  // run an instantiation without it: there it only costs instructions.
  if constexpr (kBackwards) {
    std::uint32_t end_edge = total_edges;
    for (std::uint32_t i = n; i-- > 0;) {
      if (kPrefetch && i % 16 == 0 && i >= kScanAhead && end_edge >= kScanAhead)
        prefetch_scan(degrees + i - kScanAhead, scratch + i - kScanAhead, edges + end_edge - kScanAhead);
      std::uint32_t degree = degree_of(h, degrees, i);
      end_edge -= degree;
      scan(i, end_edge, degree);
    }
  } else {
    std::uint32_t next_edge = 0;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (kPrefetch && i % 16 == 0 && i + kScanAhead < n && next_edge + kScanAhead < total_edges)
        prefetch_scan(degrees + i + kScanAhead, scratch + i + kScanAhead, edges + next_edge + kScanAhead);
      std::uint32_t degree = degree_of(h, degrees, i);
      scan(i, next_edge, degree);
      next_edge += degree;
    }
  }
  return reachable;
}

std::uint32_t mark_along_edges(Heap& h, const Record& record, std::uint32_t n) {
  const bool back = references_point_back(h, record, n);
  if (n >= kPrefetchFrom)
    return back ? mark_along_edges<true, true>(h, n, record.edges) : mark_along_edges<false, true>(h, n, record.edges);
  return back ? mark_along_edges<true, false>(h, n, record.edges) : mark_along_edges<false, false>(h, n, record.edges);
}

// Marking by traversing the objects again, when the references could not
// all be recorded (and for the legacy policy's seeds). On entry scratch[i]
// is object i's count of outside references (a root when not zero), or
// kMarkedAhead for an object known to be reachable; on exit, as above.
//
// One scan in table order: a root or an object marked by an earlier one is
// traversed where it stands. Only references to objects the scan already
// passed go through the explicit stack. So when referrers come before their
// referents (parent-first allocation) the pass is a sequential walk; when
// they come after (children-first) the stack walks the referents back down,
// again mostly in address order. No recursion on user graphs. Returns how
// many objects are reachable.
// `n_set`: the set is the first n_set entries of its table (see in_set).
std::uint32_t mark_by_traversing(Heap& h, Table set, std::uint32_t n_set) {
  SlotTable& tab = h.table(set);
  CountingScope counting(h, set, set);
  MarkReachable mark(h, set, n_set);
  const MarkTask* stack = h.reachability.mark_stack.data();
  std::int32_t* scratch = h.reachability.counts.data();
  tab.for_each_chunk_below(n_set, [&](Object* const* objects, std::uint32_t n, std::uint32_t base) {
    std::int32_t* counts = scratch + base;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (i + kPrefetchDistance < n) prefetch(objects[i + kPrefetchDistance]);
      if (!starts_marking(counts[i])) continue;
      counts[i] = kReachable;
      ++mark.reachable;
      mark.cursor = base + i;
      objects[i]->traverse(mark);
      while (mark.top != 0) tab[stack[--mark.top].slot]->traverse(mark);
    }
  });
  return mark.reachable;
}

// Whether every object of the set has a reference from outside it (no
// scratch entry is zero after counting): then all of them are reachable
// and marking has nothing to find. That is the young set of a program that
// keeps what it makes in a container of an older generation (objects
// appended to a long-lived list, a registry, a cache), CPython's own
// young_pause shape (bench/compare). Blocks of 64 entries without an early
// exit inside, counted in an int so that g++ -O2 compares four at once (a
// bool or'ed per entry stays a scalar loop); a set where some object has no
// outside reference (a tree's inner nodes, a cycle) stops at the first
// block that holds one.
bool every_object_is_a_root(const std::int32_t* scratch, std::uint32_t n) noexcept {
  constexpr std::uint32_t kBlock = 64;
  std::uint32_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    const std::int32_t* block = scratch + i;
    int zeros = 0;
    for (int j = 0; j < static_cast<int>(kBlock); ++j) zeros += block[j] == 0;
    if (zeros != 0) return false;
  }
  for (; i < n; ++i)
    if (scratch[i] == 0) return false;
  return true;
}

// In blocks of 64 too, for the same reason (std::fill of a 4-byte pattern
// stays a scalar loop at -O2).
void mark_all_reachable(std::int32_t* scratch, std::uint32_t n) noexcept {
  constexpr std::uint32_t kBlock = 64;
  std::uint32_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    std::int32_t* block = scratch + i;
    for (int j = 0; j < static_cast<int>(kBlock); ++j) block[j] = kReachable;
  }
  for (; i < n; ++i) scratch[i] = kReachable;
}

}  // namespace

std::uint32_t find_unreachable(Heap& h, Table set, Table relabel) {
  // The set is the table's entries when it starts: what traverse() makes
  // meanwhile and lands in the same table (gen0's, in a young collection)
  // is after them, outside the set.
  const std::uint32_t n = h.table(set).size();
  Record record = count_internal_refs(h, set, relabel);
  std::int32_t* scratch = h.reachability.counts.data();
  if (every_object_is_a_root(scratch, n)) {
    mark_all_reachable(scratch, n);  // what marking would have left
    return 0;
  }
  return n - (record.complete ? mark_along_edges(h, record, n) : mark_by_traversing(h, set, n));
}

bool mark_reached_from(Heap& h, Table set, bool (*is_seed)(const Object*)) {
  SlotTable& tab = h.table(set);
  std::int32_t* scratch = h.reachability.counts.data();
  bool any = false;
  for (std::uint32_t i = 0; i < tab.size(); ++i) {
    bool seed = is_seed(tab[i]);
    scratch[i] = seed ? kMarkedAhead : 0;  // seeds are "reachable", nothing else is a root
    any = any || seed;
  }
  if (any) mark_by_traversing(h, set, tab.size());
  return any;
}

}  // namespace ouro::detail
