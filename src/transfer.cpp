// transfer.cpp — object graphs that cross threads: the isolation check of
// ouro::send and ouro::share, a graph's way out of one heap and into
// another, frozen graphs and their end (ouro/send.hpp, ouro/share.hpp).
//
// THE CHECK is the collector's trial deletion, over the set of objects the
// root reaches instead of a generation, in three steps:
//  1. the walk, breadth-first from the root through traverse(). Every object
//     found is marked (kInGraph) and pinned (a strong reference: a
//     traverse() that drops references cannot free an object under the
//     walk), under a QueryScope (no collection meanwhile); the references
//     each object reports into the set are recorded, and its weak ones.
//     Objects of shared graphs and orphans are leaves, outside the set.
//  2. the count, running no user code: each object's count field holds its
//     index for a moment, so that each recorded reference adds one to the
//     internal count of its target. The graph is isolated when every count
//     equals its internal count (the root's: plus one), no weak reference
//     crosses the graph's border, and no object is immortal.
//  3. the move, running no user code, after every allocation it needs: each
//     object leaves the heap as a death would (its table, count[0], the
//     pending mark), its weak list leaves the heap's side table, and its
//     heap id becomes 0 (no heap: checked builds abort on any use).
// On any failure the marks and pins go and nothing else has changed.
//
// ARRIVAL (receive, or the end of a graph nobody received) is the reverse
// (a receive first runs the automatic collection its objects' makes would):
// the heap ids, gen0 entries and count[0] of the calling thread's heap (room
// reserved first), the weak lists into its side table; with no heap left
// (thread exit), the objects become orphans.
//
// FROZEN graphs keep their objects' counts in the slot field (unused by an
// object in no table) and put kFrozenBit | the control block's address in
// the count field: incref and decref then touch nothing (header.hpp), so
// readers on many threads never write to the graph. The last Shared thaws
// the counts and ends the graph as an unreceived parcel ends.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "destruction.hpp"
#include "heap.hpp"
#include "ouro/detail/transfer_entry.hpp"
#include "ouro/gc.hpp"
#include "ouro/inspect.hpp"
#include "ouro/send.hpp"
#include "ouro/visitor.hpp"
#include "query_scope.hpp"
#include "thread_heap.hpp"
#include "triggers.hpp"
#include "unraisable.hpp"
#include "weak_references.hpp"

namespace ouro::detail {

struct Graph {
  std::vector<Object*> objects;  // the root first; each holds its count
  std::vector<WeakLists::node_type> weak_lists;
  std::size_t tracked = 0;
  bool cyclic = false;  // some objects keep each other alive
};

namespace {

struct FrozenGraph final : SharedGraph {
  Graph graph;
#if OURO_CHECKS
  // Refs to the graph's objects made outside it minus those dropped.
  std::atomic<std::int64_t> loose{0};
#endif
};

// ---------------------------------------------------------------------------
// 1. The walk
// ---------------------------------------------------------------------------

// What a reference reaches, for the walk.
enum class Kind { member, leaf, foreign };

Kind kind_of(const Object& o, const Heap& h) noexcept {
  if (is_frozen_count(Access::refcnt(o)) || has(o, kOrphan)) return Kind::leaf;
  if ((Access::flags(o) & (kManaged | kDestroying | kDeferred)) != kManaged) return Kind::foreign;
  if (Access::heap_id(o) == h.id) return Kind::member;
  return is_dead_heap_id(Access::heap_id(o)) ? Kind::leaf : Kind::foreign;
}

// The arrays of one check, kept per thread between sends: a pipeline sends
// many small graphs, and allocating them each time would cost more than
// the check. One check at a time per thread: a send from user code that a
// check runs is refused (its QueryScope).
struct Scratch {
  std::vector<Object*> objects, targets;
  std::vector<std::uint32_t> ends, index, in, ready;
  std::vector<std::uint64_t> count, internal;
  std::vector<WeakNode*> weak;
  void clear() noexcept {
    for (auto* v : {&objects, &targets}) v->clear();
    for (auto* v : {&ends, &index, &in, &ready}) v->clear();
    for (auto* v : {&count, &internal}) v->clear();
    weak.clear();
  }
};
thread_local Scratch tls_scratch;

// Gives the arrays back after the check of a large graph (they would hold
// about 50 bytes per object of the largest graph ever sent, for good).
struct ScratchLease {
  ScratchLease() = default;
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  ~ScratchLease() {
    if (tls_scratch.objects.capacity() > kKeptScratch || tls_scratch.targets.capacity() > kKeptScratch)
      tls_scratch = Scratch{};
  }
  static constexpr std::size_t kKeptScratch = 4096;
};

class Walk final : public Visitor {
 public:
  Walk(Heap& h, Scratch& s) noexcept
      : objects(s.objects), targets(s.targets), ends(s.ends), weak(s.weak), heap_(h) {
    s.clear();
  }
  Walk(const Walk&) = delete;
  Walk& operator=(const Walk&) = delete;
  ~Walk() { release(); }

  // Unmarks and unpins (drops, with what user code released meanwhile)
  // every object: after a failure. After a move there is none left.
  void release() noexcept {
    // Unmarked first: destructors that run below see no mark of the walk.
    for (Object* o : objects) unset(*o, kInGraph);
    std::vector<Object*> found;
    found.swap(objects);
    for (Object* o : found) decref(o);
  }

  void add(Object* o) {
    objects.push_back(o);
    set(*o, kInGraph);
    ++Access::refcnt(*o);
  }
  void run() {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      Object* o = objects[i];
      if (has(*o, kTracked)) o->traverse(*this);
      ends.push_back(static_cast<std::uint32_t>(targets.size()));
    }
  }
  std::vector<Object*>& objects;     // marked and pinned, the root first
  std::vector<Object*>& targets;     // references into the set, by source
  std::vector<std::uint32_t>& ends;  // objects[i]'s end in targets
  std::vector<WeakNode*>& weak;      // the weak references reported
  Object* foreign = nullptr;      // a reference to another heap's object

 private:
  void visit(Object* t) override {
    if (!has(*t, kInGraph)) {
      Kind k = kind_of(*t, heap_);
      if (k == Kind::leaf) return;
      if (k == Kind::foreign) {
        if (!foreign) foreign = t;
        return;
      }
      add(t);
    }
    targets.push_back(t);
  }
  void visit_weak_reference(WeakNode* n) override { weak.push_back(n); }

  Heap& heap_;
};

// ---------------------------------------------------------------------------
// 2. The count
// ---------------------------------------------------------------------------

// Why a graph is not isolated: the object, and what is wrong with it.
struct Finding {
  Object* object = nullptr;
  std::string what;
  bool held_from_outside = false;  // forensics may name the holder
};

struct Counts {
  explicit Counts(Scratch& s) noexcept : count(s.count), index(s.index), internal(s.internal) {}
  std::vector<std::uint64_t>& count;     // each object's count, without the pin
  std::vector<std::uint32_t>& index;     // the index of each of walk.targets
  std::vector<std::uint64_t>& internal;  // references from inside, per object
  Finding finding;
};

std::string plural(std::uint64_t n, const char* one) {
  return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
}

void count(Walk& w, Heap& h, Counts& c) {
  const std::size_t n = w.objects.size();
  c.count.resize(n);
  c.index.resize(w.targets.size());
  std::vector<std::uint64_t>& internal = c.internal;
  internal.assign(n, 0);
  // No user code from here to the restore: the count field holds indices.
  for (std::size_t i = 0; i < n; ++i) {
    c.count[i] = Access::refcnt(*w.objects[i]) - 1;
    Access::refcnt(*w.objects[i]) = i;
  }
  for (std::size_t e = 0; e < w.targets.size(); ++e) {
    auto i = static_cast<std::uint32_t>(Access::refcnt(*w.targets[e]));
    c.index[e] = i;
    ++internal[i];
  }
  for (std::size_t i = 0; i < n; ++i) Access::refcnt(*w.objects[i]) = c.count[i] + 1;

  Finding& f = c.finding;
  if (w.foreign) {
    f.object = w.foreign;
    f.what = "refers to an object of another thread's heap, or to one whose destruction has begun";
    return;
  }
  for (std::size_t i = 0; i < n && !f.object; ++i) {
    Object* o = w.objects[i];
    const std::uint64_t expected = internal[i] + (i == 0 ? 1 : 0);
    if (is_immortal_count(c.count[i])) {
      f.object = o;
      f.what = "is immortal (it belongs to its thread for ever)";
    } else if (c.count[i] < expected) {
      OURO_ASSERT_INTERNAL(false, "traverse() reported a reference that its object does not hold", o);
      f.object = o;
      f.what = "has fewer references than traverse() reports to it";
    } else if (c.count[i] > expected) {
      f.object = o;
      f.held_from_outside = true;
      f.what = std::string(i == 0 ? "is the root and " : "") + "has " + plural(c.count[i] - expected, "reference") +
               " from outside the graph";
    } else if (c.count[i] > UINT32_MAX) {
      f.object = o;
      f.what = "has more than 2^32 references";
    }
  }
  if (f.object) return;

  // Weak references: inside the graph both ways, or expired.
  bool weakly_referenced = false;
  for (Object* o : w.objects) weakly_referenced = weakly_referenced || has(*o, kHasWeakrefs);
  for (const WeakNode* node : w.weak) {
    Object* t = node->target;
    if (t && !has(*t, kInGraph)) {
      f.object = t;
      f.what = "is outside the graph, and weakly referenced from inside it (a weak reference stays with its "
               "target's thread)";
      return;
    }
  }
  if (weakly_referenced) {
    std::unordered_set<const WeakNode*> owned(w.weak.begin(), w.weak.end());
    for (Object* o : w.objects) {
      if (!has(*o, kHasWeakrefs)) continue;
      auto it = h.weak_lists.find(o);
      if (it == h.weak_lists.end()) continue;
      for (const WeakNode* node = it->second.next; node != &it->second; node = node->next) {
        if (!owned.contains(node)) {
          f.object = o;
          f.what = "has a weak reference from outside the graph (a WeakRef that no object of the graph reports in "
                   "traverse())";
          return;
        }
      }
    }
  }
  return;
}

// Kahn's algorithm over the recorded references: whether some objects are
// left that only a cycle keeps alive once the root goes.
bool has_cycle(const Walk& w, const Counts& c, Scratch& s) {
  const std::size_t n = w.objects.size();
  std::vector<std::uint32_t>& in = s.in;
  in.assign(n, 0);
  for (std::uint32_t i : c.index) ++in[i];
  std::vector<std::uint32_t>& ready = s.ready;
  for (std::uint32_t i = 0; i < n; ++i)
    if (in[i] == 0) ready.push_back(i);
  std::size_t done = 0;
  while (!ready.empty()) {
    std::uint32_t i = ready.back();
    ready.pop_back();
    ++done;
    for (std::uint32_t e = i == 0 ? 0 : w.ends[i - 1]; e < w.ends[i]; ++e)
      if (--in[c.index[e]] == 0) ready.push_back(c.index[e]);
  }
  return done != n;
}

// ---------------------------------------------------------------------------
// The failure's message
// ---------------------------------------------------------------------------

std::string describe_chain(const std::vector<inspect::Edge>& chain) {
  std::string s;
  for (const inspect::Edge& e : chain) {
    s += type_name(*e.from);
    if (!e.field.empty()) s += "." + e.field;
    s += " -> ";
  }
  return s;
}

// Who holds `o` from outside the graph, as far as the tracked heap can
// tell. User code runs here: traverse() of every tracked object. What it
// throws comes out of send() or share() in place of not_isolated, as from
// the walk (the graph is left as it was): swallowed, it would be lost.
std::string holder_of(const Object& o, const std::unordered_set<const Object*>& graph) {
  const Object* holder = nullptr;
  std::string s;
  for (const Ref<Object>& r : gc::get_referrers(o)) {
    if (graph.contains(r.get())) continue;
    s = "; it is held by a " + type_name(*r) + " outside the graph";
    // Asked without the referrers' pins (a pin would make it a root),
    // and only of a holder that something else keeps alive meanwhile.
    if (refcount(*r) > 1) holder = r.get();
    break;
  }
  if (s.empty())
    return "; the heap's tracked objects do not hold it: a Ref elsewhere does (a local, a global, a container, an "
           "untracked object, gc::garbage())";
  if (holder) {
    std::vector<inspect::Edge> chain = inspect::why_alive(*holder);
    if (!chain.empty()) s += ", reached by " + describe_chain(chain) + type_name(*holder);
  }
  return s;
}

[[noreturn]] void throw_not_isolated(const char* what, Walk& w, const Finding& f) {
  // Named now, while no user code has run since the count: the object is
  // pinned, or a leaf or a weak target that a pinned object refers to.
  const bool member = has(*f.object, kInGraph);
  std::string message = std::string(what) + ": the graph of the " + type_name(*w.objects.front()) +
                        " is not isolated: its " + (member || !w.foreign ? type_name(*f.object) : "object") + " " +
                        f.what;
  if (f.held_from_outside) {
    Ref<Object> offender(f.object, adopt_t{});
    incref(f.object);
    std::unordered_set<const Object*> graph(w.objects.begin(), w.objects.end());
    w.release();  // the forensics count referrers without the walk's pins
    message += holder_of(*offender, graph);
  }
  throw not_isolated(message);
}

// ---------------------------------------------------------------------------
// 3. The move, and arrival
// ---------------------------------------------------------------------------

Heap& sending_heap(const char* what) {
  Heap* h = current_heap();
  if (!h) throw std::logic_error(std::string(what) + ": this thread's heap is already torn down (thread exit)");
  if (h->collecting)
    throw std::logic_error(std::string(what) +
                           ": called during a collection of this thread (from a finalizer or a callback); send or "
                           "share after it");
  if (h->queries != 0)
    throw std::logic_error(std::string(what) + ": called from user code that a query of the heap runs");
  return *h;
}

// Checks the graph of `root` and takes it out of the heap into `g`.
void detach(Object* root, Graph& g, const char* what) {
  Heap& h = sending_heap(what);
  Kind k = kind_of(*root, h);
  if (k != Kind::member) {
    if (is_frozen_count(Access::refcnt(*root)))
      throw std::invalid_argument(std::string(what) + ": the " + type_name(*root) + " is already shared");
    if (has(*root, kOrphan) || is_dead_heap_id(Access::heap_id(*root)))
      throw std::invalid_argument(std::string(what) + ": the " + type_name(*root) +
                                  " is an orphan (its thread ended): it moves with its last Ref already");
    fatal("ouro::send or ouro::share of an object of another thread's heap", root);
  }
  QueryScope scope(h, what);
  ScratchLease lease;
  Scratch& s = tls_scratch;
  Walk w(h, s);
  w.add(root);
  w.run();
  Counts c(s);
  count(w, h, c);
  if (c.finding.object) throw_not_isolated(what, w, c.finding);
  const bool cyclic = has_cycle(w, c, s);
  std::size_t weakly = 0;
  for (Object* o : w.objects) weakly += has(*o, kHasWeakrefs) ? 1 : 0;
  g.weak_lists.reserve(weakly);
  g.objects.assign(w.objects.begin(), w.objects.end());
  // Nothing below can fail.
  for (Object* o : w.objects) {
    unset(*o, kInGraph);
    --Access::refcnt(*o);
    if (has(*o, kTracked)) {
      h.forget_dying(o);
      ++g.tracked;
    }
    if (has(*o, kHasWeakrefs)) g.weak_lists.push_back(h.weak_lists.extract(o));
    Access::heap_id(*o) = 0;
  }
  g.cyclic = cyclic;
  w.objects.clear();  // moved: nothing left to unpin
}

// The calling thread's heap (nullptr: none, orphans) adopts the graph.
// Throws std::bad_alloc before any change.
void adopt(Graph& g, Heap* h) {
  if (!h) {
    for (Object* o : g.objects) {
      set(*o, kOrphan);
      Access::slot(*o) = 0;  // no user noted yet (checked builds)
    }
    orphan_weak_lists(g.weak_lists);
    return;
  }
  SlotTable& gen0 = h->table(Table::gen0);
  if (g.tracked != 0) gen0.reserve(std::size_t{gen0.size()} + h->gen0_promised + g.tracked);
  if (!g.weak_lists.empty()) h->weak_lists.reserve(h->weak_lists.size() + g.weak_lists.size());
  for (Object* o : g.objects) {
    Access::heap_id(*o) = h->id;
    if (has(*o, kTracked)) h->place_reserved(o, Table::gen0);
  }
  h->count[0] += g.tracked;
  for (WeakLists::node_type& entry : g.weak_lists) h->weak_lists.insert(std::move(entry));
  g.weak_lists.clear();
}

// A young collection now, for the cycles of a graph that just ended.
void collect_its_cycles(Heap& h) noexcept {
  if (h.collecting || h.queries != 0 || counting_now()) return;  // the next collection will
  h.collecting = true;
  try {
    collect_with_callbacks(h, 0);
  } catch (...) {
    report_unraisable(std::current_exception(), nullptr, "the collection after a graph ended");
  }
  h.collecting = false;
}

// The graph dies on the calling thread: adopted, then its reference dropped.
void end(Graph& g) noexcept {
  Heap* h = nullptr;
  try {
    h = current_heap();
    adopt(g, h);
  } catch (...) {
    h = nullptr;
    adopt(g, nullptr);  // no memory to track them: refcounted only
  }
  Object* root = g.objects.front();
  const bool cyclic = g.cyclic && g.tracked != 0;
  g.objects.clear();
  decref(root);
  if (cyclic && h && existing_heap() == h) collect_its_cycles(*h);
}

#if OURO_CHECKS
FrozenGraph* frozen_graph_of(const Object& o) noexcept {
  auto* base = reinterpret_cast<SharedGraph*>(static_cast<std::uintptr_t>(Access::refcnt(o) & ~kFrozenBit));
  return static_cast<FrozenGraph*>(base);
}
#endif

}  // namespace

// ---------------------------------------------------------------------------
// What ouro/send.hpp and ouro/share.hpp call
// ---------------------------------------------------------------------------

Graph* send_graph(Object* root) {
  auto g = std::make_unique<Graph>();
  detach(root, *g, "ouro::send");
  return g.release();
}

void receive_graph(Graph* g) {
  Heap* h = current_heap();
  // Like the makes it stands for: collect first when the received objects
  // would take count[0] over the threshold, before they are in the heap (a
  // thread that only receives and drops graphs has no other trigger).
  if (h && g->tracked != 0 && h->count[0] + g->tracked > h->collect_below && !h->collecting && h->queries == 0)
    collect_automatically(*h);
  adopt(*g, h);
  delete g;
}

void drop_graph(Graph* g) noexcept {
  end(*g);
  delete g;
}

SharedGraph* share_graph(Object* root) {
  auto fg = std::make_unique<FrozenGraph>();
  detach(root, fg->graph, "ouro::share");
  const auto frozen = kFrozenBit | reinterpret_cast<std::uintptr_t>(static_cast<SharedGraph*>(fg.get()));
  for (Object* o : fg->graph.objects) {
    Access::slot(*o) = static_cast<std::uint32_t>(Access::refcnt(*o));
    Access::refcnt(*o) = frozen;
  }
  return fg.release();
}

void destroy_shared_graph(SharedGraph* sg) noexcept {
  std::unique_ptr<FrozenGraph> fg(static_cast<FrozenGraph*>(sg));
#if OURO_CHECKS
  if (fg->loose.load(std::memory_order_acquire) != 0)
    fatal("a Ref to an object of a shared graph outlived every ouro::Shared of the graph (a copy of a Ref to a "
          "frozen object is valid only while its thread holds a Shared of the graph)",
          fg->graph.objects.front());
#endif
  for (Object* o : fg->graph.objects) {
    Access::refcnt(*o) = Access::slot(*o);
    Access::slot(*o) = 0;
  }
  end(fg->graph);
}

#if OURO_CHECKS
void copy_of_frozen(Object* o) noexcept { frozen_graph_of(*o)->loose.fetch_add(1, std::memory_order_relaxed); }

void drop_of_frozen(Object* o) noexcept {
  if (frozen_graph_of(*o)->loose.fetch_sub(1, std::memory_order_release) <= 0)
    fatal("a reference that a shared (frozen) graph holds was dropped: a frozen graph is read-only (a Ref member of "
          "one of its objects was assigned or reset)",
          o);
}
#endif

}  // namespace ouro::detail
