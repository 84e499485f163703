// ouro/detail/heap_entry.hpp — what inline code (incref, decref) calls in
// src/heap.cpp: the check that an object is used on its heap's thread.
#pragma once

#include "ouro/detail/config.hpp"

namespace ouro::detail {

#if OURO_CHECKS
// Aborts when `o` belongs to another thread's heap.
void check_owner(const Object* o) noexcept;
#endif

}  // namespace ouro::detail
