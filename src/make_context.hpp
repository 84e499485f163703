// make_context.hpp — how make<T>() tells Object's constructor that the
// object being built is managed (and by which heap), without a constructor
// parameter that every user type would have to forward.
//
// begin_make() arms the context; Object::operator new notes the block it
// returned; the first Object constructor that runs inside that block takes
// the flags and disarms it. An Object built elsewhere meanwhile (a by-value
// parameter, say) lies outside the block and is left unmanaged.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ouro::detail {

struct MakeContext {
  bool armed = false;
  std::uint16_t flags = 0;
  std::uint16_t heap_id = 0;
  const char* begin = nullptr;
  const char* end = nullptr;

  void note_allocation(void* p, std::size_t size) noexcept {
    if (!armed) return;
    begin = static_cast<const char*>(p);
    end = begin + size;
  }
};

extern thread_local constinit MakeContext tls_make;

}  // namespace ouro::detail
