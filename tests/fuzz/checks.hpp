// fuzz/checks.hpp — the reference model's verdicts, run after every
// operation of the interpreter (and usable by any test that builds a World).
//
// check_world() — always true between two operations:
//   * every Ref the harness can see (slots, the resurrection store,
//     gc::garbage(), the fields of every live object) points at a live
//     object: nothing reachable from a slot was ever destroyed;
//   * every live object's fields are what the model wrote (the collector
//     never broke a cycle it then let survive);
//   * refcount(o) is exactly the number of those Refs that point at o (the
//     immortal constant for immortal objects), and never zero;
//   * finalize() ran at most once per object, and is_finalized agrees;
//   * every exception thrown by a finalizer or callback was reported;
//   * the generations hold every live tracked object exactly once and no
//     untracked one, the permanent generation holds the rest
//     (get_freeze_count), is_tracked agrees with the type;
//   * garbage() (unless DEBUG_SAVEALL was on since it was last emptied)
//     holds each legacy finalizer object once, not finalized.
//
// unreachable() + check_collected() — around a full collection:
//   an object unreachable before collect(2) (from slots, the store,
//   garbage(), frozen and immortal objects, and what untracked objects
//   hold, the references the collector cannot see) must be destroyed
//   afterwards, unless user code that ran meanwhile made it reachable. The
//   check runs in the first Phase::stop callback, so later callbacks cannot
//   spoil it; it is skipped when a finalizer dropped a Ref (a resurrected
//   object may legally become garbage again) or when user code froze or
//   unfroze the heap (then only check_world applies). Under DEBUG_SAVEALL
//   none of them is freed (they all end up in garbage()).
//   Under the legacy policy, none of those objects was finalized.
#pragma once

#include <vector>

#include "world.hpp"

namespace ouro_fuzz {

void check_world(World& w);

// Per id: 1 when the object is alive and unreachable from every root.
std::vector<char> unreachable(World& w);

void check_collected(World& w, const std::vector<char>& unreachable_before, bool legacy);

// gc::collect(2), checked by check_collected() from the harness callback
// (install_collection_check, called once per program before any other
// callback is added). Returns collect()'s result.
std::size_t collect_and_check(World& w);
void install_collection_check(World& w);

// get_referrers / get_referents of one object against the fields the
// harness can read.
void check_referrers_and_referents(World& w, Base& target);

}  // namespace ouro_fuzz
