// generation_tables.cpp — how a collection moves objects between the
// tables of the generations: room first, then the working set made one
// table, then the split into survivors and guarded garbage, and the memory
// given back at the end.
//
// Room: everything a collection may move has room reserved before the first
// object moves (try_reserve_for for the working set and the scratch,
// try_reserve_for_garbage once marking has counted the garbage), so running
// out of memory can only come before an object has changed table. Both
// report failure instead of throwing: the collector then goes on in pieces.
//
// No entry of the larger group is copied. A young set's table, its
// survivors promoted, becomes `unreachable` itself; a full collection copies
// the smaller group into the `unreachable` table's storage and, when that
// is the survivors, the two tables swap. When gen g's table is empty and one
// younger table holds the whole working set, that table becomes gen g's as
// it is (merge_younger).
#include "generation_tables.hpp"

#include <algorithm>
#include <cstddef>
#include <new>

#include "ouro/detail/fault_injection.hpp"
#include "reachability.hpp"

namespace ouro::detail {

namespace {

// Room for everything the collection may move, before anything moves.
// Throws std::bad_alloc (having reserved part of it, which changes nothing).
void reserve_for(Heap& h, int g, Table old) {
  std::size_t n = 0;
  for (int i = 0; i <= g; ++i) n += h.table(generation_table(i)).size();
  h.table(generation_table(g)).reserve(n);
  if (old != generation_table(g)) h.table(old).reserve(std::size_t{h.table(old).size()} + n);
  // gen0 must come out with room for the entries promised to makes whose
  // constructors are running (HeapCore::gen0_promised: this collection may
  // run inside one), and for the make that started it: a young set's table
  // becomes `unreachable` and gen0 gets the latter's storage
  // (split_young_set), and a gen0 adopted whole (adopt_younger_table)
  // leaves it gen g's.
  if (g == 0) h.table(Table::unreachable).reserve(std::size_t{h.gen0_promised} + 1);
  if (g > 0 && h.table(generation_table(g)).empty()) h.table(generation_table(g)).reserve(h.gen0_promised);
  h.reachability.reserve(n);
}

}  // namespace

bool try_reserve_for(Heap& h, int g, Table old) {
  try {
    reserve_for(h, g, old);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

Moves what_full_split_moves(std::uint32_t n, std::uint32_t garbage) {
  if (garbage == 0) return Moves::nothing;
  return garbage <= n - garbage ? Moves::garbage : Moves::survivors;
}

namespace {

// Room to move the garbage, once marking has told how much there is (room
// for the whole working set would be allocated and given back by every
// collection of a big live heap). When the survivors move instead, the
// storage they move to becomes gen2's table: settle_dying and release_set
// may put every object of the garbage back there, so it gets room for the
// whole set (allocated, not touched).
// `made_meanwhile`: objects a traverse() made into a young set's table
// during the collection; they move to the table that becomes gen0.
void reserve_for_garbage(Heap& h, Moves moves, std::uint32_t n, std::uint32_t garbage, std::uint32_t made_meanwhile) {
  if (made_meanwhile != 0)
    h.table(Table::unreachable).reserve(std::size_t{h.gen0_promised} + 1 + made_meanwhile);
  if (moves == Moves::garbage) h.table(Table::unreachable).reserve(garbage);
  if (moves == Moves::survivors) h.table(Table::unreachable).reserve(n);
  if (h.policy == gc::FinalizerPolicy::legacy) h.table(Table::uncollectable).reserve(garbage);
  if (garbage > h.dying.capacity()) fault::check(fault::Site::scratch);
  h.dying.reserve(garbage);
}

}  // namespace

bool try_reserve_for_garbage(Heap& h, Moves moves, std::uint32_t n, std::uint32_t garbage,
                             std::uint32_t made_meanwhile) {
  try {
    reserve_for_garbage(h, moves, n, garbage, made_meanwhile);
    return true;
  } catch (const std::bad_alloc&) {
    return false;
  }
}

namespace {

// When gen g's table is empty and one younger table holds the whole working
// set (a collection after gc::disable(), a first full collection), that
// table becomes gen g's as it is: the objects keep their slots and no entry
// is copied (writing, and faulting in, a copy of a large set's table costs
// a sizeable part of its collection). Their table bits still name the
// younger table: counting, which reads every header anyway, corrects them.
// Returns that table, or none.
Table adopt_younger_table(Heap& h, int g) {
  if (!h.table(generation_table(g)).empty()) return Table::none;
  int holder = -1;
  for (int i = 0; i < g; ++i) {
    if (h.table(generation_table(i)).empty()) continue;
    if (holder >= 0) return Table::none;
    holder = i;
  }
  if (holder < 0) return Table::none;
  h.table(generation_table(g)).swap(h.table(generation_table(holder)));
  return generation_table(holder);
}

}  // namespace

// Returns the table whose objects counting must relabel (gen g's own when
// there are none).
Table merge_younger(Heap& h, int g) {
  Table adopted = adopt_younger_table(h, g);
  if (adopted != Table::none) return adopted;
  for (int i = 0; i < g; ++i) h.append_table(generation_table(i), generation_table(g));
  return generation_table(g);
}

// Survivors of a young collection are promoted; their garbage stays in the
// set's table, compacted, and that table becomes `unreachable` (no entry
// copied: for a young set that is mostly garbage, writing and faulting in
// a copy would cost a sizeable part of the collection).
// Returns the garbage's flags, or'ed.
std::uint16_t split_young_set(Heap& h, int g, Table old, std::uint32_t n_set) {
  SlotTable& young = h.table(generation_table(g));
  const std::uint32_t made_meanwhile = young.size() - n_set;
  const Marks marks(h);
  const bool ahead = young.size() >= kPrefetchFrom;
  const bool into_gen2 = old == Table::gen2 && !h.incremental();  // the incremental schedule has no 25% rule
  std::size_t newly_pending = 0;
  std::uint16_t garbage_flags = 0;
  {
    SlotTable::Appender promote(h.table(old));  // room reserved by reserve_for()
    SlotTable::Appender garbage(young, 0);      // writes go to slots at or before the one read
    young.for_each_chunk_below(n_set, [&](Object* const* objects, std::uint32_t n, std::uint32_t base) {
      for (std::uint32_t i = 0; i < n; ++i) {
        if (ahead) prefetch_ahead(objects, i, n);
        Object* o = objects[i];
        if (!marks.reachable(base + i)) {
          guard_as_unreachable(garbage_flags, o, garbage.push(o));
          continue;
        }
        std::uint16_t flags = Access::flags(*o);
        std::uint16_t moved = flags_in_table(flags, old);
        if (into_gen2 && !(flags & kPending)) {
          moved = static_cast<std::uint16_t>(moved | kPending);
          ++newly_pending;
        }
        Access::flags(*o) = moved;
        Access::slot(*o) = promote.push(o);
      }
    });
  }
  h.long_lived_pending += newly_pending;
  SlotTable& unreachable = h.table(Table::unreachable);
  OURO_ASSERT_INTERNAL(unreachable.empty(), "the unreachable table is not empty before a collection", nullptr);
  young.swap(unreachable);
  // The garbage was compacted below n_set, so the objects made meanwhile
  // are still where they were, past the end of the table that is now
  // `unreachable`: they go to the new gen0 (room: reserve_for_garbage).
  for (std::uint32_t i = n_set; i < n_set + made_meanwhile; ++i) h.place_reserved(unreachable[i], Table::gen0);
  return garbage_flags;
}

// gen2's table receives gen1's objects at the next gen1 collection. Its new
// room is faulted in now, a little at each gen0 collection, rather than all
// at once in that gen1 pause, where the page faults would be a visible part
// of the pause of a program whose old generation only grows (young_pause,
// bench/compare).
// A gen0 collection prepares at most twice as many entries as it just
// promoted (about a page per 256; once would lag one gen0 set behind at
// every gen1 collection), so its own pause stays proportional to its set
// even when gen1 is huge; the room wanted includes the next gen0 set.
// h.gen2_touched says where the room already faulted in ends: room that a
// collection reserved, or the spare chunks that give_back_memory keeps, is
// allocated but not touched, and would otherwise fault in the gen1 pause
// after all. Best effort: without memory for the room, the gen1 collection
// reserves it as before; a stale mark (gen2's storage swapped or shrunk
// since) only leaves some pages to fault.
void prepare_gen2_room(Heap& h, std::uint32_t promoted) noexcept {
  SlotTable& gen2 = h.table(Table::gen2);
  std::size_t wanted = std::size_t{gen2.size()} + h.table(Table::gen1).size() + h.threshold[0];
  std::size_t begin = std::max(std::size_t{gen2.size()}, h.gen2_touched);
  std::size_t end = std::min(wanted, begin + 2 * std::size_t{promoted});
  if (end <= begin) return;
  try {
    gen2.reserve(end);
  } catch (...) {
    return;
  }
  gen2.touch_room(begin, end);  // entries at or past size(): unused room
  h.gen2_touched = end;
}

// A full collection keeps its survivors in gen2 and restarts the pending
// count. Counting took the kPending bit off every object of the set,
// so an object is only touched when it moves; when nothing died there is
// nothing to do. The smaller group moves to the `unreachable` table's
// storage, the other is compacted where it is; when the survivors moved,
// the two tables swap. Returns the garbage's flags, or'ed.
std::uint16_t split_full_set(Heap& h, Moves moves) {
  SlotTable& set = h.table(Table::gen2);
  h.long_lived_pending = 0;
  if (moves == Moves::nothing) {
    h.long_lived_total = set.size();
    return 0;
  }
  const Marks marks(h);
  const bool garbage_moves = moves == Moves::garbage;
  std::uint32_t kept = 0;
  std::uint16_t garbage_flags = 0;
  {
    SlotTable::Appender moved(h.table(Table::unreachable));  // room reserved by reserve_for_garbage()
    SlotTable::Appender stays(set, 0);                        // writes go to slots at or before the one read
    set.for_each_chunk([&](Object* const* objects, std::uint32_t n, std::uint32_t base) {
      for (std::uint32_t i = 0; i < n; ++i) {
        prefetch_ahead(objects, i, n);
        Object* o = objects[i];
        bool survives = marks.reachable(base + i);
        if (!survives) {
          guard_as_unreachable(garbage_flags, o, garbage_moves ? moved.push(o) : stays.push(o));
          continue;
        }
        ++kept;
        if (garbage_moves) {
          std::uint32_t at = stays.push(o);
          if (at != base + i) Access::slot(*o) = at;
        } else {
          Access::slot(*o) = moved.push(o);
        }
      }
    });
  }
  if (!garbage_moves) {
    OURO_ASSERT_INTERNAL(h.table(Table::unreachable).size() == kept, "survivors lost while splitting", nullptr);
    set.swap(h.table(Table::unreachable));
  }
  h.long_lived_total = kept;
  return garbage_flags;
}

std::uint16_t take_piece(Heap& h, Table from, std::uint32_t begin, std::uint32_t end) noexcept {
  SlotTable& tab = h.table(from);
  std::uint16_t flags = 0;
  {
    SlotTable::Appender piece(h.table(Table::unreachable));  // room: piece_size()
    for (std::uint32_t i = begin; i < end; ++i) guard_as_unreachable(flags, tab[i], piece.push(tab[i]));
  }
  const std::uint32_t size = tab.size();
  const std::uint32_t n = end - begin;
  const std::uint32_t moved = std::min(n, size - end);
  for (std::uint32_t k = 0; k < moved; ++k) {
    Object* o = tab[size - 1 - k];
    tab[begin + k] = o;
    Access::slot(*o) = begin + k;
  }
  tab.truncate(size - n);
  return flags;
}

bool try_promote_unexamined(Heap& h, Table to, std::uint32_t examined) {
  SlotTable& young = h.table(Table::gen0);
  if (young.size() <= examined) return true;
  SlotTable& old = h.table(to);
  try {
    old.reserve(std::size_t{old.size()} + young.size() - examined);
  } catch (const std::bad_alloc&) {
    return false;
  }
  {
    SlotTable::Appender promote(old);
    for (std::uint32_t i = examined; i < young.size(); ++i) {
      Object* o = young[i];
      set_table(*o, to);
      Access::slot(*o) = promote.push(o);
    }
  }
  young.truncate(examined);
  return true;
}

void give_back_memory(Heap& h, int g) noexcept {
  h.table(Table::gen0).shrink(h.gen0_promised);
  for (int i = 1; i <= g; ++i) h.table(generation_table(i)).shrink();
  h.table(Table::unreachable).shrink();
  h.table(Table::uncollectable).shrink();
}

}  // namespace ouro::detail
