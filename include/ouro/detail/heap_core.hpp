// ouro/detail/heap_core.hpp — the part of a thread's heap that make<T>()
// reads and writes inline: the allocation count that triggers automatic
// collections, the gen0 table and the room promised in it. The rest of the
// heap (src/heap.hpp, which derives from this) stays inside the library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ouro/detail/header.hpp"
#include "ouro/detail/slot_table.hpp"

namespace ouro::detail {

struct HeapCore {
  explicit HeapCore(std::uint16_t heap_id) noexcept : id(heap_id) {}
  HeapCore(const HeapCore&) = delete;
  HeapCore& operator=(const HeapCore&) = delete;

  std::uint16_t id;
  // gen0 entries promised to the tracked makes whose constructors are
  // running (constructors nest: they may make objects). A make reserves its
  // entry before its constructor runs, so that a failure to grow the table
  // comes before any user code and tracking the object afterwards cannot
  // fail. Whatever runs meanwhile (nested makes, a collection, a
  // resurrection) leaves gen0 room for every promised entry:
  // size + gen0_promised <= capacity whenever user code runs.
  std::uint32_t gen0_promised = 0;
  // count[0]: tracked allocations minus deaths since the last collection.
  std::array<std::size_t, 3> count{};
  // A tracked make<T>() while count[0] is below this needs no collection:
  // threshold[0], or SIZE_MAX when automatic collection is off (disabled,
  // threshold 0). Heap::sync_trigger keeps it in step; collecting is not
  // folded in (make's slow path checks it).
  std::size_t collect_below = 700;
  // While allocation sites are on (the thread's MakeFrame has kSampling):
  // the makes left until the next sampled one. make<T>'s inline path counts
  // it down while it is above 1; the general path samples at 1 and draws
  // the next interval (note_made).
  std::size_t sample_countdown = 0;
  // gens 0..2, permanent, and the two sets a collection works on.
  std::array<SlotTable, 6> tables;

  SlotTable& table(Table t) noexcept { return tables[static_cast<std::size_t>(t)]; }
  const SlotTable& table(Table t) const noexcept { return tables[static_cast<std::size_t>(t)]; }
  // Whether gen0 has room for one more entry beyond the promised ones.
  bool gen0_has_free_room() const noexcept {
    const SlotTable& gen0 = table(Table::gen0);
    return std::size_t{gen0.size()} + gen0_promised < gen0.capacity();
  }
  // Appends `o` to table `t`, where the caller made sure there is room.
  void place_reserved(Object* o, Table t) noexcept {
    OURO_ASSERT_INTERNAL(table(t).size() < table(t).capacity(), "an object placed in a table without reserved room", o);
    set_table(*o, t);
    Access::slot(*o) = table(t).push(o);
  }
};

// The calling thread's heap (a Heap, src/heap.hpp): nullptr before its first
// make and after teardown.
extern thread_local constinit HeapCore* tls_heap OURO_TLS_MODEL;

}  // namespace ouro::detail
