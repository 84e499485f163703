// weak_references.cpp — where weak references live and how they are cleared.
//
// WHERE THE LISTS LIVE
// The object header has no room for a list head, and most objects never get
// a weak reference. So each heap keeps a side table (Heap::weak_lists): the
// object's address -> the sentinel of a circular, doubly linked list of the
// nodes of its WeakRefs, newest first. The object's kHasWeakrefs bit says
// whether it has an entry; an object without one pays nothing. The entry is
// erased when its last weak reference goes or when the object dies.
//
// Objects that outlive their heap (thread exit) are orphans, usable from any
// thread: their lists move to one process-wide table guarded by a mutex
// (node handles of unordered_map keep their element's address, so the
// sentinels do not move). A weak reference to an orphan stays correct: it is
// cleared, and its callback runs, on whichever thread drops the last Ref.
//
// CLEARING
// A cleared node has target == nullptr. Nodes whose callbacks must still run
// sit in a local "pending" list (same links) until their turn: a WeakRef
// destroyed meanwhile unlinks itself and never calls back, so the callbacks
// that run first may do anything, including destroying later ones.
#include "weak_references.hpp"

#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>

#include "heap.hpp"
#include "ouro/detail/header.hpp"
#include "ouro/visitor.hpp"
#include "ouro/weakref.hpp"
#include "unraisable.hpp"

namespace ouro::detail {
namespace {

// ---------------------------------------------------------------------------
// The lists: which table, under which lock
// ---------------------------------------------------------------------------

struct OrphanLists {
  std::mutex mutex;
  WeakLists lists;
};

// How many weak-reference nodes, in all threads, have a target (set by
// weak_attach, and not cleared or freed since). When there are
// none, no object can own a weak reference that needs clearing, and the
// collector skips traversing its garbage for them (handle_weakrefs).
// Relaxed: a thread's own attaches precede its collections in program
// order, and nodes of other threads are never owned by this one's garbage.
std::atomic<std::size_t> targeted_nodes{0};

void clear_target(WeakNode* n) noexcept {
  n->target = nullptr;
  targeted_nodes.fetch_sub(1, std::memory_order_relaxed);
}

// Never destroyed: orphans may outlive static destructors.
OrphanLists& orphan_lists() {
  static OrphanLists* lists = new OrphanLists;
  return *lists;
}

// The table holding `o`'s list, locked when it is the shared orphan table.
struct ListsOf {
  WeakLists* lists = nullptr;
  std::unique_lock<std::mutex> lock;
};

ListsOf lists_of(const Object* o) noexcept {
  if (has(*o, kOrphan)) {
    OrphanLists& orphans = orphan_lists();
    return {&orphans.lists, std::unique_lock<std::mutex>(orphans.mutex)};
  }
  Heap* h = existing_heap();
  return {h ? &h->weak_lists : nullptr, {}};
}

// Like lists_of(), for a new weak reference: an untracked object of a heap
// that is gone becomes an orphan here (teardown could not enumerate it); an
// object of another live heap is misuse, caught in every build (it is cheap
// here, and a wrong table would mean dangling nodes).
ListsOf lists_for_new_weakref(Object* o) {
  if (!has(*o, kOrphan)) {
    Heap* h = existing_heap();
    if (h && Access::heap_id(*o) == h->id) return {&h->weak_lists, {}};
    if (!is_dead_heap_id(Access::heap_id(*o)))
      fatal("ouro::WeakRef: the object belongs to another thread's heap (objects and their references stay on one "
            "thread)",
            o);
    set(*o, kOrphan);
  }
  return lists_of(o);
}

void make_empty(WeakNode& sentinel) noexcept { sentinel.prev = sentinel.next = &sentinel; }

void link_after(WeakNode& at, WeakNode* n) noexcept {
  n->prev = &at;
  n->next = at.next;
  at.next->prev = n;
  at.next = n;
}

void append(WeakNode& list, WeakNode* n) noexcept { link_after(*list.prev, n); }

void unlink_links(WeakNode* n) noexcept {
  n->prev->next = n->next;
  n->next->prev = n->prev;
  n->prev = n->next = nullptr;
}

// Takes `n` out of its target's list; the list's entry goes with its last
// node. `n` keeps its target (the caller decides).
void unlink_from_target(WeakNode* n) noexcept {
  Object* o = n->target;
#if OURO_CHECKS
  check_owner(o);
#endif
  ListsOf table = lists_of(o);
  bool last = n->prev == n->next;  // only the sentinel remains
  unlink_links(n);
  if (!last) return;
  if (table.lists) table.lists->erase(o);
  unset(*o, kHasWeakrefs);
}

// Clears every weak reference to `o`; those with a callback go to the end
// of `pending`, newest first. The list's entry is erased.
void take_weak_list(Object* o, WeakNode& pending) noexcept {
  ListsOf table = lists_of(o);
  unset(*o, kHasWeakrefs);
  if (!table.lists) return;
  auto it = table.lists->find(o);
  if (it == table.lists->end()) return;
  WeakNode& head = it->second;
  for (WeakNode* n = head.next; n != &head;) {
    WeakNode* next = n->next;
    clear_target(n);
    if (n->has_callback())
      append(pending, n);
    else
      n->prev = n->next = nullptr;
    n = next;
  }
  table.lists->erase(it);
}

// Runs the callbacks of `pending` in order; each leaves the list before its
// callback runs, so a callback may destroy any WeakRef, its own included.
void run_callbacks(WeakNode& pending) noexcept {
  while (pending.next != &pending) {
    WeakNode* n = pending.next;
    unlink_links(n);
    try {
      n->run_callback();
    } catch (...) {
      report_unraisable(std::current_exception(), nullptr, "weakref callback");
    }
  }
}

// Reports the weak references that traverse() shows an object owns, and
// clears each: weak references owned by the garbage never call back.
class ClearOwnedWeakrefs final : public Visitor {
 private:
  void visit(Object*) override {}
  void visit_weak_reference(WeakNode* n) override {
    if (!n->target) return;
    if (n->next) unlink_from_target(n);
    clear_target(n);
  }
};

#if OURO_CHECKS
// Every entry is a non-empty list whose nodes all point at the entry's
// object, which has its kHasWeakrefs bit; the links agree both ways.
void check_weak_lists(const WeakLists& lists) noexcept {
  for (const auto& [o, head] : lists) {
    OURO_ASSERT(has(*o, kHasWeakrefs) && head.target == o && head.next != &head,
                "weak list of an object without its weak-references bit, or an empty one", o);
    for (const WeakNode* n = head.next; n != &head; n = n->next)
      OURO_ASSERT(n->target == o && n->next->prev == n, "weak list with a node of another object or broken links", o);
  }
}
#endif

}  // namespace

// ---------------------------------------------------------------------------
// What WeakRef<T> calls
// ---------------------------------------------------------------------------

void weak_attach(WeakNode* n, Object* o) {
  if (!has(*o, kManaged))
    throw std::invalid_argument("ouro::WeakRef: the " + type_name(*o) +
                                " was not created by ouro::make, so it cannot be weakly referenced");
  if ((Access::flags(*o) & (kDeferred | kDestroying)) != 0)
    fatal("ouro::WeakRef to an object whose destruction has begun", o);
  if (is_frozen_count(Access::refcnt(*o)))
    throw std::invalid_argument("ouro::WeakRef: the " + type_name(*o) +
                                " belongs to a shared (frozen) graph, which lives as long as a Shared of it: it "
                                "cannot be weakly referenced");
  ListsOf table = lists_for_new_weakref(o);
  auto [it, inserted] = table.lists->try_emplace(o);  // may throw: n stays unlinked
  WeakNode& head = it->second;
  if (inserted) {
    head.target = o;
    make_empty(head);
    set(*o, kHasWeakrefs);
  }
  n->target = o;
  targeted_nodes.fetch_add(1, std::memory_order_relaxed);
  link_after(head, n);
}

void weak_release(WeakNode* n) noexcept {
  if (n->next) {
    if (n->target)
      unlink_from_target(n);
    else
      unlink_links(n);  // cleared, its callback still pending
  }
  if (n->target) clear_target(n);
  delete n;
}

// ---------------------------------------------------------------------------
// Clearing
// ---------------------------------------------------------------------------

void clear_weakrefs(Object* o) noexcept {
  WeakNode pending;
  make_empty(pending);
  take_weak_list(o, pending);
  run_callbacks(pending);
}

bool handle_weakrefs(Heap& h) {
  SlotTable& garbage = h.table(Table::unreachable);
  // 1. Owned by the garbage: cleared first, so they never reach `pending`
  //    even when their target is garbage too (CPython also clears those
  //    whose target lives on: bpo-38006).
  ClearOwnedWeakrefs owned;
  if (targeted_nodes.load(std::memory_order_relaxed) != 0) {
    garbage.for_each_chunk([&](Object* const* objects, std::uint32_t n, std::uint32_t) {
      for (std::uint32_t i = 0; i < n; ++i) objects[i]->traverse(owned);
    });
  }
  // 2. Every weak reference to the garbage, before any user code runs, so
  //    no callback can reach the garbage through a weak reference.
  //    (Only an object with an entry in h.weak_lists has kHasWeakrefs.)
  WeakNode pending;
  make_empty(pending);
  if (!h.weak_lists.empty()) {
    garbage.for_each_chunk([&](Object* const* objects, std::uint32_t n, std::uint32_t) {
      for (std::uint32_t i = 0; i < n; ++i)
        if (has(*objects[i], kHasWeakrefs)) take_weak_list(objects[i], pending);
    });
  }
#if OURO_CHECKS
  check_weak_lists(h.weak_lists);  // and none of them belongs to the garbage:
  for (std::uint32_t i = 0; i < garbage.size(); ++i)
    OURO_ASSERT(!has(*garbage[i], kHasWeakrefs), "garbage still weakly referenced before its finalizers", garbage[i]);
#endif
  // 3. The callbacks of the others, before the finalizers.
  bool any = pending.next != &pending;
  run_callbacks(pending);
  return any;
}

namespace {

void insert_orphan_lists(std::size_t how_many, auto&& next_entry) noexcept {
  OrphanLists& orphans = orphan_lists();
  std::lock_guard<std::mutex> lock(orphans.mutex);
  try {
    orphans.lists.reserve(orphans.lists.size() + how_many);
  } catch (...) {
    // inserting below may then rehash; only running out of memory can stop it
  }
  for (std::size_t i = 0; i < how_many; ++i) {
    WeakLists::node_type entry = next_entry();
    set(*const_cast<Object*>(entry.key()), kOrphan);
    orphans.lists.insert(std::move(entry));
  }
}

}  // namespace

void orphan_weak_lists(Heap& h) noexcept {
  insert_orphan_lists(h.weak_lists.size(), [&h] { return h.weak_lists.extract(h.weak_lists.begin()); });
}

void orphan_weak_lists(std::vector<WeakLists::node_type>& lists) noexcept {
  std::size_t i = 0;
  insert_orphan_lists(lists.size(), [&] { return std::move(lists[i++]); });
  lists.clear();
}

}  // namespace ouro::detail

namespace ouro {

std::size_t weakref_count(const Object& o) {
  if (!detail::has(o, detail::kHasWeakrefs)) return 0;
  detail::ListsOf table = detail::lists_of(&o);
  if (!table.lists) return 0;
  auto it = table.lists->find(&o);
  if (it == table.lists->end()) return 0;
  std::size_t n = 0;
  for (const detail::WeakNode* w = it->second.next; w != &it->second; w = w->next) ++n;
  return n;
}

}  // namespace ouro
