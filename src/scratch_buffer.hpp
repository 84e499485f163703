// scratch_buffer.hpp — an uninitialised array the collector reuses between
// collections (scratch counts, recorded references, the marking stack).
//
// Unlike std::vector::resize it never writes the new room: pages that a
// collection does not use (a marking stack reserved for the worst case)
// are never touched, so they cost address space, not resident memory. It
// grows with realloc, which moves a big block by remapping its pages: a
// heap that grows by a quarter between full collections makes the next one
// fault in a quarter of new scratch pages, not all of them again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <type_traits>

namespace ouro::detail {

template <class T>
class ScratchBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  ScratchBuffer() = default;
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  ~ScratchBuffer() { std::free(data_); }

  T* data() noexcept { return data_; }
  std::size_t capacity() const noexcept { return capacity_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }

  // Room for n elements (the contents are kept). Throws std::bad_alloc.
  void ensure(std::size_t n) {
    if (!try_grow(n)) throw std::bad_alloc();
  }
  // Room for n elements, keeping the contents; false when there is no
  // memory for it (nothing changes then).
  bool try_grow(std::size_t n) noexcept {
    if (n <= capacity_) return true;
    if (n > SIZE_MAX / sizeof(T)) return false;
    void* bigger = std::realloc(data_, n * sizeof(T));
    if (!bigger) return false;
    data_ = static_cast<T*>(bigger);
    capacity_ = n;
    return true;
  }

 private:
  T* data_ = nullptr;
  std::size_t capacity_ = 0;
};

}  // namespace ouro::detail
