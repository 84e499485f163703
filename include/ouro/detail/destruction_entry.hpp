// ouro/detail/destruction_entry.hpp — what inline code (decref, ~Object)
// calls in src/destruction.cpp, the end of an object's life.
#pragma once

#include "ouro/detail/config.hpp"

namespace ouro::detail {

// Refcount reached zero: finalize, destroy, free (or defer when the
// destruction stack is deep, or leave it to the collector when guarded).
void release(Object* o) noexcept;

// decref's rare cases: a count of 1 (the last reference goes: release), a
// frozen count (nothing), 0 (a count already wrong: it wraps, as a plain
// decrement would).
void release_or_keep(Object* o) noexcept;

// What ~Object does beyond the common case (object.hpp): weak references
// of an object that did not die by release(), misuse checks, checked
// builds' poisoning.
void object_destructor_rest(Object* o) noexcept;

}  // namespace ouro::detail
