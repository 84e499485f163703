// weak_lists.hpp — the library side of weak references (weakref.cpp): the
// per-object weak lists and the two moments they are cleared.
#pragma once

#include <unordered_map>

#include "ouro/object.hpp"
#include "ouro/weakref.hpp"

namespace ouro::detail {

struct Heap;

// Object -> the sentinel of its circular list of weak references (newest
// first). Entries exist only while the object has weak references (the
// object's kHasWeakrefs bit says so); elements of an unordered_map never
// move, so nodes may point at their sentinel.
using WeakLists = std::unordered_map<const Object*, WeakNode>;

// The refcount path: clears every weak reference to `o` and runs their
// callbacks, newest first (after finalize(), before the destructor).
void clear_weakrefs(Object* o) noexcept;

// The collector's phase (CPython 3.11's handle_weakrefs), on the guarded
// `unreachable` table: clears the weak references owned by the garbage
// (their callbacks never run), then every weak reference to the garbage,
// then runs the callbacks of the latter. Returns whether a callback ran.
bool handle_weakrefs(Heap& h);

// Thread exit: the weak lists of the objects that outlive their heap move
// to the process-wide orphan lists (and the objects are marked orphaned).
void orphan_weak_lists(Heap& h) noexcept;

}  // namespace ouro::detail
