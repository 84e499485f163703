// scratch_buffer.hpp — an uninitialised array the collector reuses between
// collections (scratch counts, recorded references, the marking stack).
//
// Unlike std::vector::resize it never writes the new room: pages that a
// collection does not use (a marking stack reserved for the worst case)
// are never touched, so they cost address space, not resident memory.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <type_traits>

namespace ouro::detail {

template <class T>
class ScratchBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  T* data() noexcept { return data_.get(); }
  std::size_t capacity() const noexcept { return capacity_; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }

  // Room for n elements; the contents are lost when it grows. Throws
  // std::bad_alloc.
  void ensure(std::size_t n) {
    if (n <= capacity_) return;
    data_.reset(new T[n]);  // default-initialised: not written
    capacity_ = n;
  }
  // Room for n elements, keeping the first `used`; false when there is no
  // memory for it (the contents are then unchanged).
  bool try_grow(std::size_t n, std::size_t used) noexcept {
    if (n <= capacity_) return true;
    std::unique_ptr<T[]> bigger(new (std::nothrow) T[n]);
    if (!bigger) return false;
    if (used != 0) std::memcpy(bigger.get(), data_.get(), used * sizeof(T));
    data_ = std::move(bigger);
    capacity_ = n;
    return true;
  }
  // Gives the memory back when it is much bigger than what was last needed.
  void shrink_to(std::size_t n) noexcept {
    if (capacity_ <= 4 * n + 4096) return;
    data_.reset();
    capacity_ = 0;
  }

 private:
  std::unique_ptr<T[]> data_;
  std::size_t capacity_ = 0;
};

}  // namespace ouro::detail
