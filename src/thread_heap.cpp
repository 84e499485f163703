// thread_heap.cpp — the calling thread's heap: made on first use, torn
// down at thread exit (a last collection, then its survivors become
// orphans), and the library side of make<T>(), which counts allocations,
// starts automatic collections and samples allocation sites. Above the collector: both call into it.
#include "thread_heap.hpp"

#include <stdexcept>
#include <vector>

#include "allocation_sites.hpp"
#include "collector.hpp"
#include "make_context.hpp"
#include "triggers.hpp"
#include "weak_references.hpp"

namespace ouro::detail {
namespace {

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
  for (int pass = 0; pass < 16 && !h->collecting; ++pass) {
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
  retire_heap_id(h->id);
  detach_from_this_thread();
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
  if (this_thread_heap_is_gone()) return nullptr;
  tls_owner.attach();  // registers the thread-exit teardown
  auto* h = new Heap(new_heap_id());
  try {
    reserve_room_for_pieces(*h);
  } catch (...) {
    retire_heap_id(h->id);
    delete h;
    throw;
  }
  attach_to_this_thread(h);
  return h;
}

Heap& heap_for_api() {
  Heap* h = current_heap();
  if (!h) throw std::logic_error("ouro::gc: this thread's heap was already torn down at thread exit");
  return *h;
}

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
  tls_make.mode = static_cast<std::uint8_t>(kArmed | (caller.mode & kSampling));
  tls_make.flags = flags;
  tls_make.heap_id = h ? h->id : std::uint16_t{0};
  tls_make.object_offset = object_offset;
  return caller;
}

// The caller's frame again, with the sampling bit as it is now: the
// constructor may have called inspect::set_allocation_sites.
static void restore_frame(const MakeFrame& caller) noexcept {
  const auto sampling = static_cast<std::uint8_t>(tls_make.mode & kSampling);
  tls_make = caller;
  tls_make.mode = static_cast<std::uint8_t>((caller.mode & ~kSampling) | sampling);
}

void abandon_make(bool tracked, const MakeFrame& caller) noexcept {
  const bool orphan = (tls_make.flags & kOrphan) != 0;
  restore_frame(caller);
  if (!tracked || orphan) return;
  Heap* h = existing_heap();
  if (h->count[0] > 0) --h->count[0];
  --h->gen0_promised;
}

// The constructor that took the flags is o's own unless Object is a virtual
// base (the address is unknown) and an Object member or base of an earlier
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
  restore_frame(caller);
  give_flags_to(o, made);
  if (!tracked || has(*o, kOrphan)) return;
  Heap* h = existing_heap();
  --h->gen0_promised;
  h->place_reserved(o, Table::gen0);  // the entry begin_make promised
}

// A make of the general path while allocation sites are on: the inline
// path leaves the sampled make to it with sample_countdown at 1 (or 0);
// any other make with a known site counts down here.
void note_made(Object* o, const CallSite& site) noexcept {
  Heap* h = existing_heap();
  if (!h || h->sites_every == 0 || site.file == nullptr) return;
  if (h->sample_countdown > 1) {
    --h->sample_countdown;
    return;
  }
  h->sample_countdown = h->next_sample_interval();
  record_site(*o, site);
}

}  // namespace ouro::detail
