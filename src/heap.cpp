// heap.cpp — the per-thread heap: how it is found, made and torn down, the
// library side of make<T>(), and the unraisable hook.
#include "heap.hpp"

#include <atomic>
#include <iostream>
#include <stdexcept>
#include <string>
#include <typeinfo>

#include "collector.hpp"
#include "make_context.hpp"

namespace ouro::detail {
thread_local constinit HeapCore* tls_heap OURO_TLS_MODEL = nullptr;

namespace {

thread_local constinit std::uint16_t tls_heap_id = 0;
thread_local constinit bool tls_heap_gone = false;

// Ids of heaps that were torn down: their untracked objects (which the
// teardown cannot enumerate, so cannot mark orphaned) may then be used from
// any thread. Ids wrap after 65535 heaps; the checks are a debugging aid.
std::atomic<std::uint64_t> dead_heaps[65536 / 64];

void mark_heap_id(std::uint16_t id, bool dead) noexcept {
  std::uint64_t bit = std::uint64_t{1} << (id % 64);
  if (dead)
    dead_heaps[id / 64].fetch_or(bit, std::memory_order_relaxed);
  else
    dead_heaps[id / 64].fetch_and(~bit, std::memory_order_relaxed);
}

std::uint16_t next_heap_id() noexcept {
  static std::atomic<std::uint32_t> counter{0};
  std::uint16_t id;
  do {
    id = static_cast<std::uint16_t>(counter.fetch_add(1, std::memory_order_relaxed) + 1);
  } while (id == 0);  // 0 means "no heap"
  mark_heap_id(id, false);
  return id;
}

// Objects still referenced when their heap goes stay valid: refcounted
// only, never collected again, usable from any thread that owns a Ref.
void orphan_remaining_objects(Heap& h) noexcept {
  for (Table t : {Table::gen0, Table::gen1, Table::gen2, Table::permanent}) {
    SlotTable& tab = h.table(t);
    for (std::uint32_t i = 0; i < tab.size(); ++i) {
      Object* o = tab[i];
      set_table(*o, Table::none);
      set(*o, kOrphan);
      unset(*o, kPending);
      Access::slot(*o) = 0;  // no table slot; checked builds note the orphan's user here
    }
    tab.truncate(0);
  }
}

// Thread exit: the heap drops garbage(), collects until nothing more is
// found, orphans what is still referenced from elsewhere (with its weak
// references) and frees itself.
// User hooks may point at objects of the ending thread: they are dropped
// first. Finalizer cycles are reclaimed even under the legacy policy, so
// that RAII resources of a finished thread are released.
void tear_down(Heap* h) noexcept {
  h->tearing_down = true;
  h->debug = 0;
  h->debug_stream = nullptr;
  h->callbacks.clear();
  h->unraisable = nullptr;
  h->policy = gc::FinalizerPolicy::pep442;
  for (int round = 0; round < 16 && !h->collecting; ++round) {
    { std::vector<Ref<Object>> dropped = std::move(h->garbage); }
    h->garbage.clear();
    h->collecting = true;
    CollectionResult r;
    try {
      r = collect_generations(*h, 2);
    } catch (...) {
      h->collecting = false;
      break;
    }
    h->collecting = false;
    if (r.collected + r.uncollectable == 0 && h->garbage.empty()) break;
  }
  { std::vector<Ref<Object>> dropped = std::move(h->garbage); }
  orphan_remaining_objects(*h);
  orphan_weak_lists(*h);  // weak references to the survivors stay valid
  mark_heap_id(h->id, true);
  tls_heap = nullptr;
  tls_heap_id = 0;
  tls_heap_gone = true;
  delete h;
}

struct HeapOwner {
  HeapOwner() = default;
  HeapOwner(const HeapOwner&) = delete;
  HeapOwner& operator=(const HeapOwner&) = delete;
  ~HeapOwner() {
    if (Heap* h = existing_heap()) tear_down(h);
  }
  void attach() noexcept {}
};
thread_local HeapOwner tls_owner;

}  // namespace

OURO_NOINLINE Heap* make_heap() {
  if (tls_heap_gone) return nullptr;
  tls_owner.attach();  // registers the thread-exit teardown
  auto* h = new Heap(next_heap_id());
  try {
    reserve_room_for_pieces(*h);
  } catch (...) {
    mark_heap_id(h->id, true);
    delete h;
    throw;
  }
  tls_heap = h;
  tls_heap_id = h->id;
  return h;
}

namespace {

void print_default_unraisable(std::exception_ptr e, const Object* o, const char* where) {
  std::cerr << "Exception ignored in: " << (o ? o->repr() : std::string(where)) << "\n";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << demangled_name(typeid(ex)) << ": " << ex.what() << "\n";
  } catch (...) {
    std::cerr << "unknown exception (not derived from std::exception)\n";
  }
}

}  // namespace

bool is_dead_heap_id(std::uint16_t id) noexcept {
  return (dead_heaps[id / 64].load(std::memory_order_relaxed) >> (id % 64)) & 1;
}

Heap& heap_for_api() {
  Heap* h = current_heap();
  if (!h) throw std::logic_error("ouro::gc: this thread's heap was already torn down at thread exit");
  return *h;
}

void report_unraisable(std::exception_ptr e, const Object* o, const char* where) noexcept {
  try {
    Heap* h = existing_heap();
    if (h && h->unraisable) {
      // A copy runs: the hook may replace or remove itself (set_unraisable_hook)
      // and still use its captures until it returns.
      UnraisableHook hook = h->unraisable;
      hook(e, o);
    } else {
      print_default_unraisable(e, o, where);
    }
  } catch (...) {
    try {
      std::cerr << "ouro: the unraisable hook itself threw; exception dropped\n";
    } catch (...) {
    }
  }
}

#if OURO_CHECKS
namespace {

// A number for the calling thread, made on first use (0 means "none").
std::uint32_t thread_number() noexcept {
  static std::atomic<std::uint32_t> counter{0};
  thread_local std::uint32_t number = 0;
  while (number == 0) number = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  return number;
}

// An orphan's count is not atomic, so one thread at a time may use it: the
// thread that last used it, noted in its slot field (unused by an object in
// no table). Another thread takes it over when it holds the only reference
// (the last Ref was handed over); it using an orphan that a reference on the
// noted thread still holds is two threads sharing one count. The ending
// thread itself, once its heap is gone, uses its former objects without
// taking them over; immortal counts never reach zero, so they are exempt.
void check_orphan_user(const Object* o) noexcept {
  if (tls_heap_gone || is_immortal_count(Access::refcnt(*o))) return;
  std::atomic_ref<std::uint32_t> user(Access::slot(const_cast<Object&>(*o)));
  const std::uint32_t me = thread_number();
  const std::uint32_t last = user.load(std::memory_order_relaxed);
  if (last == me) return;
  if (last == 0 || Access::refcnt(*o) <= 1) {
    user.store(me, std::memory_order_relaxed);
    return;
  }
  fatal("an orphan (an object that outlived the thread that made it) is used on a second thread while another "
        "thread holds references to it; an orphan's count is not atomic: one thread at a time may use it, and it "
        "moves to another thread with its last Ref",
        o);
}

}  // namespace

void check_owner(const Object* o) noexcept {
  std::uint16_t f = Access::flags(*o);
  if (!(f & kManaged)) return;
  if (!(f & kOrphan) && !is_dead_heap_id(Access::heap_id(*o))) {
    if (Access::heap_id(*o) != tls_heap_id)
      fatal("object used on a thread other than the one whose heap owns it (objects and their Refs stay on one "
            "thread)",
            o);
    return;
  }
  check_orphan_user(o);
}
#endif

// --- the library side of make<T>() ---

// Grows gen0 so that it has room for one more entry beyond the promised
// ones, and promises it. Throws std::bad_alloc.
static void promise_gen0_entry(Heap& h) {
  if (!h.gen0_has_free_room()) {
    SlotTable& gen0 = h.table(Table::gen0);
    gen0.reserve(std::size_t{gen0.size()} + h.gen0_promised + 1);
  }
  ++h.gen0_promised;
}

MakeFrame begin_make(bool tracked, bool has_finalizer, std::ptrdiff_t object_offset) {
  Heap* h = current_heap();
  auto flags = static_cast<std::uint16_t>(static_cast<std::uint16_t>(Table::none) | kManaged |
                                          (tracked ? kTracked : 0) | (has_finalizer ? kHasFinalizer : 0));
  if (!h) {
    flags = static_cast<std::uint16_t>(flags | kOrphan);
  } else if (tracked) {
    // Like CPython's gc_alloc: count first, maybe collect, before the new
    // object exists (so a collection never sees it half-built); then the
    // object's gen0 entry, so that no user code runs before the table has
    // grown if it must. Not inside a collection, nor while a query runs:
    // the count stays over the threshold, and the first make after the
    // query collects.
    ++h->count[0];
    try {
      if (h->count[0] > h->threshold[0] && h->enabled && h->threshold[0] != 0 && !h->collecting && h->queries == 0)
        collect_automatically(*h);
      promise_gen0_entry(*h);
    } catch (...) {
      if (h->count[0] > 0) --h->count[0];
      throw;
    }
  }
  MakeFrame caller = tls_make;
  tls_make = MakeFrame{};
  tls_make.armed = true;
  tls_make.flags = flags;
  tls_make.heap_id = h ? h->id : std::uint16_t{0};
  tls_make.object_offset = object_offset;
  return caller;
}

void abandon_make(bool tracked, const MakeFrame& caller) noexcept {
  const bool orphan = (tls_make.flags & kOrphan) != 0;
  tls_make = caller;
  if (!tracked || orphan) return;
  Heap* h = existing_heap();
  if (h->count[0] > 0) --h->count[0];
  --h->gen0_promised;
}

// The constructor that took the flags is o's own unless Object is a virtual
// base (the address was unknown) and an Object member or base of an earlier
// subobject came first: the flags move to o, the other Object goes back to
// being a plain, unmanaged member.
static void give_flags_to(Object* o, const MakeFrame& made) noexcept {
  if (made.taker == o) return;
  if (made.taker) Access::flags(*made.taker) = static_cast<std::uint16_t>(Table::none);
  Access::flags(*o) = made.flags;
  Access::heap_id(*o) = made.heap_id;
}

void finish_make(Object* o, bool tracked, const MakeFrame& caller) noexcept {
  MakeFrame made = tls_make;
  tls_make = caller;
  give_flags_to(o, made);
  if (!tracked || has(*o, kOrphan)) return;
  Heap* h = existing_heap();
  --h->gen0_promised;
  h->place_reserved(o, Table::gen0);  // the entry begin_make promised
}

}  // namespace ouro::detail
