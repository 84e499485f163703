// ouro/detail/make_frame.hpp — how Object's constructor learns that it is
// being built by make<T>() (and for which heap), without a constructor
// parameter that every user type would have to forward.
//
// Two ways, both in one per-thread MakeFrame:
//
//  - the fast one (make<T>'s inline path, detail/make.hpp): the block is allocated
//    before the frame is armed, so the address of T's Object subobject is
//    known; the constructor at exactly that address takes fast_flags. No
//    other Object can live at that address, so a by-value Object member of
//    an earlier base, or a parameter, stays unmanaged.
//  - the general one (begin_make/finish_make, src/thread_heap.cpp and
//    src/make_context.hpp): for nested makes, virtual bases, types with
//    their own operator new, the first make of a thread. It saves and
//    restores the whole frame, so it may run inside either kind.
//
// The two use separate fields: an inline make that runs inside a general
// one (after its Object took the flags) leaves what finish_make() reads
// untouched.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ouro/detail/config.hpp"

namespace ouro {
class Object;
namespace detail {

inline constexpr std::uint8_t kArmed = 1, kSampling = 2;

// Plain data, so make<T> can keep the caller's frame on its own stack while
// a nested make<> runs.
struct MakeFrame {
  // --- the inline path ---
  const Object* fast_expected = nullptr;  // the Object that takes fast_flags
  std::uint16_t fast_flags = 0;
  std::uint16_t fast_heap_id = 0;
  // --- both ---
  // kArmed: the general path waits for its Object constructor. kSampling:
  // allocation sites are on (inspect::set_allocation_sites), and the inline
  // path counts makes down to the next sampled one. One byte, so that the
  // inline path asks "anything unusual?" in one compare.
  std::uint8_t mode = 0;
  // --- the general path ---
  std::uint16_t flags = 0;
  std::uint16_t heap_id = 0;
  std::ptrdiff_t object_offset = -1;  // of T's Object subobject; -1: unknown
  const char* begin = nullptr;        // the block Object::operator new returned
  const char* end = nullptr;
  const Object* expected = nullptr;   // begin + object_offset, once known
  Object* taker = nullptr;            // the Object constructor that took the flags
};

extern thread_local constinit MakeFrame tls_make OURO_TLS_MODEL;

// Object's constructor when the general path is armed.
void take_make_frame(Object* o) noexcept;

}  // namespace detail
}  // namespace ouro
