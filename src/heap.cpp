// heap.cpp — heap ids, which heap is the calling thread's, and (checked
// builds) whether an object is used on its heap's thread.
#include "heap.hpp"

#include <atomic>

namespace ouro::detail {
thread_local constinit HeapCore* tls_heap OURO_TLS_MODEL = nullptr;

namespace {

thread_local constinit std::uint16_t tls_heap_id = 0;
thread_local constinit bool tls_heap_gone = false;

// Ids of heaps torn down: their untracked objects (which the
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

}  // namespace

std::uint16_t new_heap_id() noexcept {
  static std::atomic<std::uint32_t> counter{0};
  std::uint16_t id;
  do {
    id = static_cast<std::uint16_t>(counter.fetch_add(1, std::memory_order_relaxed) + 1);
  } while (id == 0);  // 0 means "no heap"
  mark_heap_id(id, false);
  return id;
}

void retire_heap_id(std::uint16_t id) noexcept { mark_heap_id(id, true); }

bool is_dead_heap_id(std::uint16_t id) noexcept {
  return (dead_heaps[id / 64].load(std::memory_order_relaxed) >> (id % 64)) & 1;
}

void attach_to_this_thread(Heap* h) noexcept {
  tls_heap = h;
  tls_heap_id = h->id;
}

void detach_from_this_thread() noexcept {
  tls_heap = nullptr;
  tls_heap_id = 0;
  tls_heap_gone = true;
}

bool this_thread_heap_is_gone() noexcept { return tls_heap_gone; }

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
// (the last Ref changed hands); it using an orphan that a reference on the
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

}  // namespace ouro::detail
