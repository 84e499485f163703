// allocator.hpp — the pool allocator behind Object::operator new/delete.
//
// WHY
// With glibc's malloc/free, freeing the objects costs more than the rest of
// reclaiming garbage (bench/collector_bench.cpp, and OURO_ALLOCATOR=system
// to compare). Managed objects are small, made and freed by one thread, and
// mostly of few sizes: exactly what size-class pools do best.
//
// LAYOUT
//   arena  1 MiB, aligned to 1 MiB (mmap; malloc under ASan so that LeakSanitizer
//          scans the objects for pointers), cut into 16 pages of 64 KiB. The
//          arena header (and every page's descriptor) sits at the start of page 0.
//   page   64 KiB holding blocks of one size class. Its descriptor is found
//          from any block address by masking: arena = p & ~(1 MiB - 1),
//          page index = (p - arena) >> 16. No per-block header.
//   class  24 sizes: multiples of 8 up to 64, then four steps per doubling up
//          to 1024. Bigger objects go to ::operator new.
//
// OWNERSHIP AND THREADS
// Each thread has its Pools (thread-local, no locks). A page belongs to the
// thread whose Pools carved it. Freeing on the owning thread pushes onto the
// page's free list (no atomics). Freeing on another thread (an orphan whose
// thread ended, an object dropped late) takes the page's spinlock and pushes
// onto the page's remote list; the first such free also pushes the page onto
// the owner's atomic "pages with remote frees" stack, which the owner drains
// on its next slow allocation. When a thread ends (a pthread key destructor,
// which runs after every thread_local destructor, so after the ouro heap's
// teardown) its pages are abandoned: owner = null under each page's lock.
// From then on any thread frees into them directly under the lock, and the
// last free of the last page gives the arena back to the OS.
//
// GIVING MEMORY BACK
// A page whose last block comes back goes back to its arena (unless it is the
// class's current page); an arena with no page in use is unmapped, except
// that a few empty arenas are kept for reuse (kKeepEmptyArenas).
//
// Under AddressSanitizer freed blocks are poisoned, so a use after free of a
// pooled object is reported (as use-after-poison) until the block is reused.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "ouro/detail/config.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define OURO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OURO_ASAN 1
#endif
#endif
#ifndef OURO_ASAN
#define OURO_ASAN 0
#endif

#if OURO_ASAN
#include <sanitizer/asan_interface.h>
#define OURO_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define OURO_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define OURO_POISON(p, n) ((void)(p), (void)(n))
#define OURO_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace ouro::detail::pool {

inline constexpr std::size_t kPageShift = 16;
inline constexpr std::size_t kPageSize = std::size_t{1} << kPageShift;
inline constexpr std::size_t kArenaShift = 20;
inline constexpr std::size_t kArenaSize = std::size_t{1} << kArenaShift;
inline constexpr std::size_t kPagesPerArena = kArenaSize / kPageSize;
inline constexpr std::size_t kMaxSmall = 1024;
inline constexpr std::size_t kBlockAlign = 16;  // every class size that is a multiple of 16 is 16-aligned
inline constexpr std::size_t kKeepEmptyArenas = 8;

inline constexpr std::array<std::uint16_t, 24> kClassSize{8,   16,  24,  32,  40,  48,  56,  64,
                                                          80,  96,  112, 128, 160, 192, 224, 256,
                                                          320, 384, 448, 512, 640, 768, 896, 1024};
inline constexpr std::size_t kClasses = kClassSize.size();

// kClassOf[(size + 7) / 8]: the smallest class that holds `size` bytes.
inline constexpr auto kClassOf = [] {
  std::array<std::uint8_t, kMaxSmall / 8 + 1> t{};
  std::size_t c = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    while (kClassSize[c] < i * 8) ++c;
    t[i] = static_cast<std::uint8_t>(c);
  }
  return t;
}();

// Whether (size, align) is served by the pools. A type's size is a multiple
// of its alignment, so with align <= 16 the class of `size` is aligned
// enough; over-aligned types use the power-of-two class >= max(size, align)
// (page starts are 1024-aligned).
inline constexpr std::size_t pooled_size(std::size_t size, std::size_t align) noexcept {
  if (align <= kBlockAlign) return size;
  std::size_t s = size > align ? size : align;
  std::size_t p = 1;
  while (p < s) p <<= 1;
  return p;
}
inline constexpr bool is_small(std::size_t size, std::size_t align = kBlockAlign) noexcept {
  return pooled_size(size, align) <= kMaxSmall && align <= kMaxSmall;
}
inline constexpr unsigned class_of(std::size_t size) noexcept { return kClassOf[(size + 7) / 8]; }

struct Block {
  Block* next;
};

struct Pools;

// One page's descriptor (in its arena's header).
struct Page {
  // --- the owner's side (no synchronisation) ---
  Block* free = nullptr;  // blocks ready to hand out
  char* bump = nullptr;   // start of the part never carved yet
  char* end = nullptr;
  std::uint32_t used = 0;  // blocks handed out and not yet back (remote frees count until collected)
  std::uint32_t capacity = 0;
  std::uint16_t block_size = 0;
  std::uint8_t size_class = 0;
  bool in_use = false;  // carved for a class (else a free page of its arena)
  bool homed = false;   // its class's current page, or in the class's list of pages with room
  Page* next = nullptr;
  Page* prev = nullptr;
  // --- shared with other threads ---
  std::atomic<Pools*> owner{nullptr};  // null once abandoned; changed only under `lock` by the owner
  std::atomic_flag lock = ATOMIC_FLAG_INIT;
  std::atomic<std::uint32_t> remote_count{0};  // written under `lock`
  Block* remote = nullptr;                     // under `lock`
  Block* remote_tail = nullptr;                // under `lock`
  bool in_remote_stack = false;                // under `lock`
  Page* next_remote = nullptr;                 // under `lock`
};

struct alignas(64) Arena {
  Pools* owner = nullptr;                      // the thread that mapped it (null once abandoned)
  std::atomic<std::uint32_t> live_pages{0};   // after abandonment: pages still in use
  std::uint32_t free_mask = 0;                 // owner's view: bit i = page i free
  Arena* next = nullptr;                       // owner's list of its arenas
  Arena* prev = nullptr;
  Arena* next_free = nullptr;                  // owner's list of arenas with a free page
  Arena* prev_free = nullptr;
  bool in_free_list = false;
  Page pages[kPagesPerArena];
};

// A thread's pools. constinit and trivially destructible, so a thread_local
// of it needs no guard and no destructor registration.
struct Pools {
  Page* current[kClasses] = {};  // where allocation of each class happens
  Page* avail[kClasses] = {};    // other pages of each class with room
  Arena* arenas = nullptr;
  Arena* free_arenas = nullptr;  // arenas with at least one free page
  std::size_t empty_arenas = 0;
  std::atomic<Page*> remote_pages{nullptr};  // pages other threads freed into
  bool registered = false;                   // the thread-exit hook is set
};

extern thread_local constinit Pools tls_pools OURO_TLS_MODEL;

inline Arena* arena_of(const void* p) noexcept {
  return reinterpret_cast<Arena*>(reinterpret_cast<std::uintptr_t>(p) & ~(kArenaSize - 1));
}
inline Page* page_of(const void* p) noexcept {
  Arena* a = arena_of(p);
  return &a->pages[(reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(a)) >> kPageShift];
}

// The link of a free block (which is poisoned under ASan).
inline Block* next_of(Block* b) noexcept {
  OURO_UNPOISON(b, sizeof(Block));
  Block* n = b->next;
  OURO_POISON(b, sizeof(Block));
  return n;
}
inline void set_next(Block* b, Block* n) noexcept {
  OURO_UNPOISON(b, sizeof(Block));
  b->next = n;
  OURO_POISON(b, sizeof(Block));
}

void* allocate_slow(unsigned cls);
void free_slow(Page* page) noexcept;  // the owner's page became empty, or has room again
void free_remote(Page* page, Block* b) noexcept;

// A block of at least `size` bytes aligned to `align` (is_small(size, align)
// must hold). Throws std::bad_alloc.
OURO_ALWAYS_INLINE void* allocate(std::size_t size, std::size_t align = kBlockAlign) {
  unsigned cls = class_of(pooled_size(size, align));
  Page* page = tls_pools.current[cls];
  if (OURO_LIKELY(page != nullptr)) {
    if (Block* b = page->free; OURO_LIKELY(b != nullptr)) {
      page->free = next_of(b);
      ++page->used;
      OURO_UNPOISON(b, page->block_size);
      return b;
    }
  }
  return allocate_slow(cls);
}

// Gives back a block that allocate() returned, from any thread.
OURO_ALWAYS_INLINE void deallocate(void* p) noexcept {
  Page* page = page_of(p);
  auto* b = static_cast<Block*>(p);
  if (OURO_LIKELY(page->owner.load(std::memory_order_relaxed) == &tls_pools)) {
    b->next = page->free;
    OURO_POISON(b, page->block_size);
    page->free = b;
    if (OURO_LIKELY(--page->used != 0 && page->homed)) return;
    free_slow(page);
    return;
  }
  free_remote(page, b);
}

// The usable size of a pooled block (for tests).
inline std::size_t block_size(const void* p) noexcept { return page_of(p)->block_size; }

// Process-wide: arenas mapped now (owned or abandoned), for tests and stats.
std::size_t mapped_arenas() noexcept;
// Gives back this thread's empty arenas now (tests use it to see give-back).
void release_empty_arenas() noexcept;

}  // namespace ouro::detail::pool
