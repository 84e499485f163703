// generation_tables.hpp — how a collection moves objects between the tables
// of the generations (generation_tables.cpp).
#pragma once

#include <cstdint>

#include "heap.hpp"

namespace ouro::detail {

// Room for everything a collection of gens 0..g, whose survivors go to
// `old`, may move, and for finding its unreachable objects, before anything
// moves. False when there is no memory for it (part of it may be reserved,
// which changes nothing).
bool try_reserve_for(Heap& h, int g, Table old);

// Makes gens 0..g one working set, gen g's table. Returns the younger table
// whose objects that table took over without relabelling them (counting
// does it: find_unreachable's `relabel`), or gen g's own when there is none.
Table merge_younger(Heap& h, int g);

// Which group of the set split_full_set copies into the `unreachable`
// table's storage; the other stays where it is, compacted.
enum class Moves { nothing, garbage, survivors };

// A young collection promotes its survivors (they move anyway) and leaves
// the garbage in the set's table, which becomes `unreachable`: nothing
// moves there. A full collection keeps the larger group in place.
Moves what_full_split_moves(std::uint32_t n, std::uint32_t garbage);

// Room to move the garbage of a set of n objects, once marking has said how
// much there is. False when there is no memory for it.
// `made_meanwhile`: objects a traverse() made into a young set's table
// while the collector counted it (they stay in gen0: room for them too).
bool try_reserve_for_garbage(Heap& h, Moves moves, std::uint32_t n, std::uint32_t garbage,
                             std::uint32_t made_meanwhile = 0);

// Moves an object into `unreachable` at `slot`, guarded; or's its flags into
// garbage_flags on the way (its header is in cache), so that later phases
// can skip a walk over the garbage that would find nothing (no finalizer, no
// weak reference).
inline void guard_as_unreachable(std::uint16_t& garbage_flags, Object* o, std::uint32_t slot) noexcept {
  std::uint16_t flags = Access::flags(*o);
  garbage_flags = static_cast<std::uint16_t>(garbage_flags | flags);
  Access::flags(*o) = flags_in_table(static_cast<std::uint16_t>(flags | kGuarded), Table::unreachable);
  Access::slot(*o) = slot;
}

// After find_unreachable on gen g's table (g < 2): the reachable objects
// move to `old`, the rest is the guarded `unreachable` table. Returns the
// garbage's flags, or'ed.
// `n_set`: the set is the first n_set entries of gen g's table; for gen0,
// objects a traverse() made during the collection follow them and stay in
// gen0.
std::uint16_t split_young_set(Heap& h, int g, Table old, std::uint32_t n_set);

// After a gen0 collection that promoted `promoted` objects: faults in part
// of the gen2 room the next gen1 collection will fill. Best effort.
void prepare_gen2_room(Heap& h, std::uint32_t promoted) noexcept;

// After find_unreachable on gen2's table: the survivors stay in gen2, the
// rest is the guarded `unreachable` table; the pending count restarts.
// Returns the garbage's flags, or'ed.
std::uint16_t split_full_set(Heap& h, Moves moves);

// Moves entries [begin, end) of table `from` into `unreachable`, guarded,
// and closes the gap with the entries after it (from the end of the table).
// Returns the flags of the piece, or'ed. Allocates nothing: the room is
// the caller's (collect_in_pieces).
std::uint16_t take_piece(Heap& h, Table from, std::uint32_t begin, std::uint32_t end) noexcept;

// Under the incremental schedule, before a young collection: gen0's entries
// beyond the first `examined` move to `to` without being examined (their
// garbage is the old generation's passes' to find). False, having moved
// nothing, when there is no memory for them in `to`.
bool try_promote_unexamined(Heap& h, Table to, std::uint32_t examined);

// The tables' storage beyond what they hold goes back (gen0 keeps room for
// the entries promised to makes in flight).
void give_back_memory(Heap& h, int g) noexcept;

}  // namespace ouro::detail
