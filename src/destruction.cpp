// destruction.cpp — what happens when a refcount reaches zero.
//
// In order, as in CPython: finalize() unless it already ran (with the count
// held at one meanwhile, so the finalizer may make and drop Refs to its
// object; if it stores one, the object is resurrected and nothing else
// happens), then the heap forgets the object, then its weak references are
// cleared and their callbacks run (newest first; the object is already
// marked as being destroyed, so nothing can reach it again), then the
// virtual destructor, then the memory (the deleting destructor).
//
// Destruction cascades: a destructor drops its members' Refs, which may
// destroy more objects. To survive a 10-million-node chain on any stack,
// cascades deeper than kMaxDestructionDepth are queued instead (CPython's
// "trashcan") and drained, iteratively, by the outermost release. A queued
// object is unlinked from its generation at once, so that a collection
// triggered meanwhile never sees a dead object; its refcount field holds the
// queue's next pointer until it is drained.
//
// An object that does not die by release() (its constructor threw, or user
// code deleted it) ends in object_destructor_rest, called by ~Object.
#include "destruction.hpp"

#include <climits>
#include <cstdint>
#include <exception>

#include "allocation_sites.hpp"
#include "heap.hpp"
#include "object_core.hpp"
#include "ouro/detail/header.hpp"
#include "unraisable.hpp"
#include "weak_references.hpp"

namespace ouro::detail {
namespace {

constexpr unsigned kMaxDestructionDepth = 50;

struct DestructionQueue {
  Object* head = nullptr;
  unsigned depth = 0;
  // While the collector counts a working set (begin_counting): its heap,
  // its table and the table it adopted.
  Heap* counting = nullptr;
  Table counted = Table::none;
  Table adopted = Table::none;
};
thread_local constinit DestructionQueue tls_queue OURO_TLS_MODEL{};

void put_back_in_a_generation(Object* o) noexcept {
  if (!has(*o, kTracked) || has(*o, kOrphan) || table_of(*o) != Table::none) return;
  if (Heap* h = existing_heap()) {
    // Its allocation is still in count[0] (only its death takes it out); it
    // no longer sits in gen2, so it leaves the long-lived pending number.
    if (has(*o, kPending)) {
      unset(*o, kPending);
      if (h->long_lived_pending > 0) --h->long_lived_pending;
    }
    try {
      h->put_back(o, Table::gen0);
    } catch (...) {
      // No room to track it again: it stays alive, untracked (a leak at worst).
    }
  }
}

OURO_ALWAYS_INLINE void forget(Object* o) noexcept {
  if ((Access::flags(*o) & (kTracked | kOrphan)) != kTracked) return;
  if (Heap* h = existing_heap()) h->forget_dying(o);
}

// The object's refcount is zero and nobody else will decide its fate.
OURO_ALWAYS_INLINE void dispose(Object* o) noexcept {
  if (has(*o, kHasFinalizer) && !has(*o, kFinalized)) {
    Access::refcnt(*o) = 1;
    call_finalizer(o);
    if (--Access::refcnt(*o) != 0) {
      put_back_in_a_generation(o);  // resurrected
      return;
    }
  }
  set(*o, kDestroying);
  forget(o);  // untracked first: a callback below may start a collection
  if (has(*o, kHasWeakrefs)) clear_weakrefs(o);
#if OURO_CHECKS
  remember_type_for_checks(*o);  // after forget(): it reuses the slot field
#endif
  delete o;
}

void defer(Object* o) noexcept {
  if (has(*o, kTracked) && !has(*o, kOrphan))
    if (Heap* h = existing_heap()) h->unlink(o);
  set(*o, kDeferred);
  Access::refcnt(*o) = reinterpret_cast<std::uintptr_t>(tls_queue.head);
  tls_queue.head = o;
}

Object* take_deferred() noexcept {
  Object* o = tls_queue.head;
  tls_queue.head = reinterpret_cast<Object*>(static_cast<std::uintptr_t>(Access::refcnt(*o)));
  Access::refcnt(*o) = 0;
  unset(*o, kDeferred);
  return o;
}

}  // namespace

void call_finalizer(Object* o) noexcept {
  set(*o, kFinalized);
  try {
    o->finalize();
  } catch (...) {
    report_unraisable(std::current_exception(), o, "finalize()");
  }
}

namespace {

// The outermost release destroys what deeper ones queued.
OURO_NOINLINE void drain_deferred(DestructionQueue& q) noexcept {
  while (q.head) {
    Object* next = take_deferred();
    ++q.depth;
    dispose(next);
    --q.depth;
  }
}

// An object of the working set whose count reaches zero while the collector
// counts the set: only a traverse() that drops references (it must only
// report them) gets here. Destroying it would take it out of the table
// being walked (and an object of an adopted table still names the table it
// left); it stays, with a zero count, and the collector decides: garbage
// now, or at the next collection if counting had passed it already.
OURO_NOINLINE bool dies_under_the_count(const DestructionQueue& q, const Object* o) noexcept {
  if (Access::heap_id(*o) != q.counting->id || !has(*o, kTracked) || has(*o, kOrphan)) return false;
  Table t = table_of(*o);
  if (t == q.counted) return true;
  if (t != q.adopted) return false;
  return q.counting->table(q.counted).holds_at(Access::slot(*o), o);  // not an object made meanwhile
}

}  // namespace

void begin_counting(Heap& h, Table counted, Table adopted) noexcept {
  tls_queue.counting = &h;
  tls_queue.counted = counted;
  tls_queue.adopted = adopted;
}

void end_counting() noexcept { tls_queue.counting = nullptr; }

bool counting_now() noexcept { return tls_queue.counting != nullptr; }

void object_destructor_rest(Object* o) noexcept {
  if (has(*o, kHasSite)) forget_site(o);
  // Only when the object did not die by release() (a constructor threw).
  if (has(*o, kHasWeakrefs)) clear_weakrefs(o);
  if (!has(*o, kManaged)) return;
  if (!has(*o, kDestroying)) {
    // A managed object's destructor runs outside the library only when its
    // constructor threw (make<T>() unwinds it) or when user code deleted it.
    if (table_of(*o) != Table::none)
      fatal("a managed object was deleted directly; it dies when its last ouro::Ref goes");
    if (Access::refcnt(*o) > 1)
      fatal("a constructor threw after a reference to its object escaped (ouro::ref(this) stored elsewhere)");
  }
#if OURO_CHECKS
  if (!has(*o, kDestroying)) Access::slot(*o) = UINT32_MAX;  // not through dispose(): type unknown
  Access::flags(*o) = kPoisonFlags;  // see detail::check_alive
  Access::heap_id(*o) = kPoisonHeapId;
#endif
}

void release_or_keep(Object* o) noexcept {
  std::uint64_t& rc = Access::refcnt(*o);
  if (rc == 1) {
    rc = 0;
    release(o);
  } else if (!is_frozen_count(rc)) {
    --rc;
  }
}

void release(Object* o) noexcept {
  if (has(*o, kGuarded)) return;  // inside a collection: the collector decides
  DestructionQueue& q = tls_queue;
  if (OURO_UNLIKELY(q.counting != nullptr) && dies_under_the_count(q, o)) return;
  if (OURO_UNLIKELY(q.depth >= kMaxDestructionDepth)) {
    defer(o);
    return;
  }
  ++q.depth;
  dispose(o);
  if (--q.depth == 0 && OURO_UNLIKELY(q.head != nullptr)) drain_deferred(q);
}

}  // namespace ouro::detail
