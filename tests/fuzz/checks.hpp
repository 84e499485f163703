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
//     holds each legacy finalizer object once, not finalized;
//   * in builds with OURO_EXPENSIVE_CHECKS, the heap verifier's invariants
//     (ouro/detail/verify.hpp) hold too.
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
//
// check_weak() — weak references, part of check_world:
//   * a WeakRef (weak slot or `weak` member) is expired once its target is
//     destroyed, and never while the target lives, unless a collection
//     cleared it and a finalizer resurrected the target (or DEBUG_SAVEALL
//     kept it): then every weak reference made to it before is expired
//     (those in a `weak` member may also be cleared by their owner being
//     garbage, whatever their target). Expired stays expired;
//   * a callback runs at most once, only for a WeakRef that still exists,
//     with an expired WeakRef; one whose WeakRef never lived in a managed
//     object (so was never owned by garbage) has run exactly when it is
//     expired, by the end of the operation;
//   * weakref_count(o) is the number of live weak references to o that the
//     harness holds (slots, members, map entries);
//   * WeakValueMap / WeakKeyMap hold exactly the model's live entries
//     (get, find, size).
//
// check_finalizer_weak_view() — inside every finalizer that a checked
// pep442 collection runs on its garbage: no weak reference to an object of
// that garbage is still alive. check_weak_callback_owner() — in such a
// collection (and no gc callback of the program's could have run first), no
// callback runs for a weak reference held by a member of that garbage.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "world.hpp"

namespace ouro_fuzz {

void check_world(World& w);
void check_weak(World& w, const std::unordered_map<std::uint32_t, std::vector<const Base*>>& map_refs);
// Per live tracked object, the objects its weak maps hold strongly (what
// get_referents reports beyond its fields).
std::unordered_map<std::uint32_t, std::vector<const Base*>> map_references(World& w);
void check_finalizer_weak_view(World& w, Base& self);
void check_weak_callback_owner(World& w, const WeakInfo& callback_of);

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
