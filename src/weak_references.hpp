// weak_references.hpp — the library side of weak references
// (weak_references.cpp): the two moments the weak lists are cleared, and
// their move at thread exit.
#pragma once

#include <vector>

#include "heap.hpp"

namespace ouro::detail {

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
// The same for the weak lists of a graph whose objects become orphans
// (received, or destroyed unreceived, on a thread whose heap is gone).
void orphan_weak_lists(std::vector<WeakLists::node_type>& lists) noexcept;

}  // namespace ouro::detail
