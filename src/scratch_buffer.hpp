// scratch_buffer.hpp — an uninitialised array the collector reuses between
// collections (scratch counts, recorded references, the marking stack).
//
// Unlike std::vector::resize it never writes the new room: pages that a
// collection does not use (a marking stack reserved for the worst case)
// are never touched, so they cost address space, not resident memory. It
// lives in its own mapping and grows with mremap, which moves the pages
// instead of copying them: a heap that grows by a quarter between full
// collections makes the next one fault in a quarter of new scratch pages,
// not all of them again (realloc would copy whenever malloc's mmap
// threshold has risen above the buffer's size, and fault in every page).
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

#include "ouro/detail/fault_injection.hpp"

namespace ouro::detail {

enum class Populate : bool { no, yes };

// Best effort: without MADV_POPULATE_WRITE (Linux < 5.14) the pages fault
// in one by one as they are written, as they would anyway.
inline void populate_pages(void* p, std::size_t bytes) noexcept {
#ifdef MADV_POPULATE_WRITE
  (void)madvise(p, bytes, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)bytes;
#endif
}

template <class T>
class ScratchBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() {
    if (data_) munmap(data_, bytes_);
  }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t capacity() const noexcept { return capacity_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }

  // Room for n elements (the contents are kept). Throws std::bad_alloc.
  void ensure(std::size_t n, Populate populate = Populate::no) {
    if (!try_grow(n, populate)) throw std::bad_alloc();
  }
  // Room for n elements, keeping the contents; false when there is no
  // memory for it (nothing changes then). Populate::yes faults the new
  // pages in at once, for a buffer about to be written in full: one call
  // into the kernel instead of a page fault every 4 KiB, which would be a
  // visible part of a large set's first collection.
  bool try_grow(std::size_t n, Populate populate = Populate::no) noexcept {
    if (n <= capacity_) return true;
    constexpr std::size_t kPage = 4096;
    if (n > (SIZE_MAX - kPage) / sizeof(T) || fault::should_fail(fault::Site::scratch)) return false;
    std::size_t bytes = (n * sizeof(T) + kPage - 1) / kPage * kPage;
    void* p = data_ ? mremap(data_, bytes_, bytes, MREMAP_MAYMOVE)
                    : mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    if (populate == Populate::yes) populate_pages(static_cast<char*>(p) + bytes_, bytes - bytes_);
    data_ = static_cast<T*>(p);
    bytes_ = bytes;
    capacity_ = bytes / sizeof(T);
    return true;
  }

 private:
  T* data_ = nullptr;
  std::size_t bytes_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace ouro::detail
