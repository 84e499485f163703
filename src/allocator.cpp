// allocator.cpp — the slow paths of the pool allocator: pages and arenas,
// frees from other threads, and abandoning a thread's pools at its exit.
// The design and the fast paths are in allocator.hpp.
#include "allocator.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <bit>
#include <cstdlib>
#include <new>
#include <thread>

namespace ouro::detail::pool {

thread_local constinit Pools tls_pools OURO_TLS_MODEL{};

namespace {

constexpr std::uint32_t kAllPages = (std::uint32_t{1} << kPagesPerArena) - 1;
constexpr std::size_t kCarveBatch = 64;  // blocks put on the free list at a time

std::atomic<std::size_t> g_mapped_arenas{0};

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

class PageLock {
 public:
  explicit PageLock(Page* p) noexcept : p_(p) {
    while (p_->lock.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
  }
  ~PageLock() { p_->lock.clear(std::memory_order_release); }
  PageLock(const PageLock&) = delete;
  PageLock& operator=(const PageLock&) = delete;

 private:
  Page* p_;
};

std::size_t index_of(const Arena* a, const Page* p) noexcept { return static_cast<std::size_t>(p - a->pages); }

char* page_start(Arena* a, std::size_t i) noexcept {
  char* base = reinterpret_cast<char*>(a);
  if (i != 0) return base + i * kPageSize;
  constexpr std::size_t header = (sizeof(Arena) + kMaxSmall - 1) / kMaxSmall * kMaxSmall;
  static_assert(header < kPageSize / 2, "the arena header must leave room in page 0");
  return base + header;
}

template <class T>
void unlink(T*& head, T* node, T* T::*next, T* T::*prev) noexcept {
  if (node->*prev) (node->*prev)->*next = node->*next;
  else head = node->*next;
  if (node->*next) (node->*next)->*prev = node->*prev;
  node->*next = node->*prev = nullptr;
}

template <class T>
void push_front(T*& head, T* node, T* T::*next, T* T::*prev) noexcept {
  node->*prev = nullptr;
  node->*next = head;
  if (head) head->*prev = node;
  head = node;
}

// ---------------------------------------------------------------------------
// Arenas: mapped from and given back to the OS
// ---------------------------------------------------------------------------

Arena* map_arena() {
#if OURO_ASAN
  // Heap memory, so that LeakSanitizer scans pooled objects for pointers to
  // what they own.
  void* p = std::aligned_alloc(kArenaSize, kArenaSize);
  if (!p) throw std::bad_alloc();
#else
  void* raw = mmap(nullptr, 2 * kArenaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  auto start = reinterpret_cast<std::uintptr_t>(raw);
  std::uintptr_t aligned = (start + kArenaSize - 1) & ~(kArenaSize - 1);
  if (aligned > start) munmap(raw, aligned - start);
  std::uintptr_t tail = aligned + kArenaSize;
  if (start + 2 * kArenaSize > tail) munmap(reinterpret_cast<void*>(tail), start + 2 * kArenaSize - tail);
  void* p = reinterpret_cast<void*>(aligned);
#endif
  g_mapped_arenas.fetch_add(1, std::memory_order_relaxed);
  auto* a = new (p) Arena();
  a->free_mask = kAllPages;
  return a;
}

void unmap_arena(Arena* a) noexcept {
  a->~Arena();
  g_mapped_arenas.fetch_sub(1, std::memory_order_relaxed);
#if OURO_ASAN
  OURO_UNPOISON(a, kArenaSize);
  std::free(a);
#else
  munmap(a, kArenaSize);
#endif
}

void thread_exit(void*) noexcept;

pthread_key_t exit_key() noexcept {
  static const pthread_key_t key = [] {
    pthread_key_t k;
    if (pthread_key_create(&k, thread_exit) != 0) fatal("ouro: no pthread key for the allocator's thread-exit hook");
    return k;
  }();
  return key;
}

Arena* add_arena(Pools& pools) {
  if (!pools.registered) {
    pthread_setspecific(exit_key(), &pools);
    pools.registered = true;
  }
  Arena* a = map_arena();
  a->owner = &pools;
  push_front(pools.arenas, a, &Arena::next, &Arena::prev);
  push_front(pools.free_arenas, a, &Arena::next_free, &Arena::prev_free);
  a->in_free_list = true;
  ++pools.empty_arenas;
  return a;
}

void drop_arena(Pools& pools, Arena* a) noexcept {
  unlink(pools.arenas, a, &Arena::next, &Arena::prev);
  if (a->in_free_list) unlink(pools.free_arenas, a, &Arena::next_free, &Arena::prev_free);
  unmap_arena(a);
}

// ---------------------------------------------------------------------------
// Pages: taken from an arena for a class, given back when empty
// ---------------------------------------------------------------------------

Page* take_page(Pools& pools, unsigned cls) {
  Arena* a = pools.free_arenas ? pools.free_arenas : add_arena(pools);
  if (a->free_mask == kAllPages) --pools.empty_arenas;
  auto i = static_cast<std::size_t>(std::countr_zero(a->free_mask));
  a->free_mask &= ~(std::uint32_t{1} << i);
  if (a->free_mask == 0) {
    unlink(pools.free_arenas, a, &Arena::next_free, &Arena::prev_free);
    a->in_free_list = false;
  }
  Page* p = &a->pages[i];
  std::size_t size = kClassSize[cls];
  char* start = page_start(a, i);
  std::size_t room = reinterpret_cast<char*>(a) + (i + 1) * kPageSize - start;
  p->free = nullptr;
  p->bump = start;
  p->capacity = static_cast<std::uint32_t>(room / size);
  p->end = start + p->capacity * size;
  p->used = 0;
  p->block_size = static_cast<std::uint16_t>(size);
  p->size_class = static_cast<std::uint8_t>(cls);
  p->in_use = true;
  p->homed = false;
  p->next = p->prev = nullptr;
  p->owner.store(&pools, std::memory_order_release);
  return p;
}

// The owner's page has no block in use and is not the current page.
void release_page(Pools& pools, Page* p) noexcept {
  if (p->homed) unlink(pools.avail[p->size_class], p, &Page::next, &Page::prev);
  p->homed = false;
  p->in_use = false;
  p->free = nullptr;
  Arena* a = arena_of(p);
  a->free_mask |= std::uint32_t{1} << index_of(a, p);
  if (!a->in_free_list) {
    push_front(pools.free_arenas, a, &Arena::next_free, &Arena::prev_free);
    a->in_free_list = true;
  }
  if (a->free_mask != kAllPages) return;
  if (pools.empty_arenas >= kKeepEmptyArenas) {
    drop_arena(pools, a);
    return;
  }
  ++pools.empty_arenas;
}

// A page that is neither current nor listed has room again.
void home_page(Pools& pools, Page* p) noexcept {
  p->homed = true;
  push_front(pools.avail[p->size_class], p, &Page::next, &Page::prev);
}

bool is_current(const Pools& pools, const Page* p) noexcept { return pools.current[p->size_class] == p; }

// Moves the page's remote frees onto its free list; the caller holds the lock.
void splice_remote(Page* p) noexcept {
  std::uint32_t n = p->remote_count.load(std::memory_order_relaxed);
  if (n == 0) return;
  set_next(p->remote_tail, p->free);
  p->free = p->remote;
  p->remote = p->remote_tail = nullptr;
  p->remote_count.store(0, std::memory_order_relaxed);
  p->used -= n;
}

// The owner takes back what other threads freed into its pages.
void drain_remote_frees(Pools& pools) noexcept {
  Page* p = pools.remote_pages.exchange(nullptr, std::memory_order_acquire);
  while (p) {
    Page* next;
    {
      PageLock lock(p);
      next = p->next_remote;
      p->next_remote = nullptr;
      p->in_remote_stack = false;
      splice_remote(p);
    }
    if (p->used == 0 && !is_current(pools, p))
      release_page(pools, p);
    else if (!p->homed)
      home_page(pools, p);
    p = next;
  }
}

// Puts up to kCarveBatch never-used blocks of the page on its free list.
bool carve(Page* p) noexcept {
  if (p->bump == p->end) return false;
  std::size_t size = p->block_size;
  std::size_t n = static_cast<std::size_t>(p->end - p->bump) / size;
  if (n > kCarveBatch) n = kCarveBatch;
  Block* head = p->free;
  char* b = p->bump + (n - 1) * size;
  for (std::size_t k = 0; k < n; ++k, b -= size) {
    auto* blk = reinterpret_cast<Block*>(b);
    OURO_UNPOISON(blk, sizeof(Block));  // the page may have held another class
    blk->next = head;
    OURO_POISON(blk, size);
    head = blk;
  }
  p->free = head;
  p->bump += n * size;
  return true;
}

void* pop(Page* p) noexcept {
  Block* b = p->free;
  p->free = next_of(b);
  ++p->used;
  OURO_UNPOISON(b, p->block_size);
  return b;
}

// Finds or makes a current page with room for class `cls`.
Page* refill(Pools& pools, unsigned cls) {
  Page*& cur = pools.current[cls];
  if (cur) {
    if (cur->free || carve(cur)) return cur;
    cur->homed = false;  // full: it comes back when a block does
    cur = nullptr;
  }
  if (Page* p = pools.avail[cls]) {
    unlink(pools.avail[cls], p, &Page::next, &Page::prev);
    cur = p;  // stays homed, as the current page
    if (p->free || carve(p)) return p;
  }
  Page* p = take_page(pools, cls);
  p->homed = true;
  cur = p;
  carve(p);
  return p;
}

// Frees all of an abandoned arena's pages that are still in use, one by one,
// under each page's lock; the arena itself is given back by whoever frees its
// last page (possibly this thread, now).
void abandon_arena(Arena* a) noexcept {
  std::uint32_t in_use = ~a->free_mask & kAllPages;
  a->owner = nullptr;
  if (in_use == 0) {
    unmap_arena(a);
    return;
  }
  a->live_pages.store(static_cast<std::uint32_t>(std::popcount(in_use)), std::memory_order_relaxed);
  while (in_use) {
    auto i = static_cast<std::size_t>(std::countr_zero(in_use));
    in_use &= in_use - 1;
    Page* p = &a->pages[i];
    bool empty;
    {
      PageLock lock(p);
      splice_remote(p);
      p->in_remote_stack = false;
      p->next_remote = nullptr;
      p->owner.store(nullptr, std::memory_order_relaxed);
      empty = p->used == 0;
      if (empty) p->in_use = false;
    }
    // Pages not yet abandoned keep the count above zero, so only this
    // thread's own release can take it to zero here. Once the last page is
    // unlocked another thread may give the arena back: `a` is not touched
    // after the loop.
    if (empty && a->live_pages.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      unmap_arena(a);
      return;
    }
  }
}

void thread_exit(void* arg) noexcept {
  auto* pools = static_cast<Pools*>(arg);
  Arena* a = pools->arenas;
  pools->remote_pages.store(nullptr, std::memory_order_relaxed);
  while (a) {
    Arena* next = a->next;
    abandon_arena(a);
    a = next;
  }
  // Fresh pools, should this thread allocate again (a later exit hook).
  for (std::size_t c = 0; c < kClasses; ++c) pools->current[c] = pools->avail[c] = nullptr;
  pools->arenas = pools->free_arenas = nullptr;
  pools->empty_arenas = 0;
  pools->registered = false;
}

}  // namespace

// ---------------------------------------------------------------------------
// The slow paths of allocator.hpp
// ---------------------------------------------------------------------------

void* allocate_slow(unsigned cls) {
  Pools& pools = tls_pools;
  if (pools.remote_pages.load(std::memory_order_relaxed)) drain_remote_frees(pools);
  return pop(refill(pools, cls));
}

void free_slow(Page* p) noexcept {
  Pools& pools = tls_pools;
  if (p->used == 0 && !is_current(pools, p)) {
    release_page(pools, p);
    return;
  }
  if (!p->homed) home_page(pools, p);
}

void free_remote(Page* p, Block* b) noexcept {
  bool arena_done = false;
  {
    PageLock lock(p);
    Pools* owner = p->owner.load(std::memory_order_relaxed);
    if (!owner) {  // abandoned: free here and now
      b->next = p->free;
      OURO_POISON(b, p->block_size);
      p->free = b;
      if (--p->used == 0) {
        p->in_use = false;
        arena_done = true;
      }
    } else {
      b->next = p->remote;
      OURO_POISON(b, p->block_size);
      if (!p->remote) p->remote_tail = b;
      p->remote = b;
      p->remote_count.store(p->remote_count.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (!p->in_remote_stack) {
        p->in_remote_stack = true;
        Page* head = owner->remote_pages.load(std::memory_order_relaxed);
        do {
          p->next_remote = head;
        } while (!owner->remote_pages.compare_exchange_weak(head, p, std::memory_order_release,
                                                             std::memory_order_relaxed));
      }
    }
  }
  if (arena_done) {
    Arena* a = arena_of(p);
    if (a->live_pages.fetch_sub(1, std::memory_order_acq_rel) == 1) unmap_arena(a);
  }
}

std::size_t mapped_arenas() noexcept { return g_mapped_arenas.load(std::memory_order_relaxed); }

void release_empty_arenas() noexcept {
  Pools& pools = tls_pools;
  if (pools.remote_pages.load(std::memory_order_relaxed)) drain_remote_frees(pools);
  for (Page*& cur : pools.current) {
    if (!cur || cur->used != 0) continue;
    Page* p = cur;
    cur = nullptr;
    p->homed = false;
    release_page(pools, p);
  }
  Arena* a = pools.free_arenas;
  while (a) {
    Arena* next = a->next_free;
    if (a->free_mask == kAllPages) {
      drop_arena(pools, a);
      --pools.empty_arenas;
    }
    a = next;
  }
}

}  // namespace ouro::detail::pool
