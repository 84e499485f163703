// The generation table (ouro/detail/slot_table.hpp): a chunked array of
// object pointers. touch_room() writes into unused room only, one entry per
// page, to fault pages in ahead of a collection that will fill them
// (prepare_gen2_room); each chunk is its own allocation, so every chunk the
// room spans must be touched from its own first entry on.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <ouro/detail/slot_table.hpp>
#include <vector>

namespace {

using ouro::Object;
using ouro::detail::SlotTable;

constexpr std::uint32_t kChunk = SlotTable::kChunkSize;

// A table whose whole capacity holds recognisable non-null entries, of
// which the first `size` are in use.
struct FilledTable {
  SlotTable table;
  std::vector<char> marks;  // entry i points at marks[i]
  FilledTable(std::uint32_t size, std::uint32_t capacity) : marks(capacity) {
    table.reserve(capacity);
    for (std::uint32_t i = 0; i < table.capacity(); ++i) table.push(sentinel(i));
    table.truncate(size);
  }
  Object* sentinel(std::uint32_t i) { return reinterpret_cast<Object*>(&marks[i % marks.size()]); }
};

TEST(SlotTable, TouchRoomWritesOnlyTheRoomAndTheFirstEntryOfEveryChunkItSpans) {
  const std::uint32_t size = 100;
  FilledTable t(size, 4 * kChunk);
  const std::uint32_t from = size;
  const std::uint32_t to = 3 * kChunk + 77;
  t.table.touch_room(from, to);
  for (std::uint32_t i = 0; i < from; ++i) ASSERT_EQ(t.table[i], t.sentinel(i)) << "entry in use overwritten: " << i;
  for (std::uint32_t i = to; i < t.table.capacity(); ++i) ASSERT_EQ(t.table[i], t.sentinel(i)) << "past the room: " << i;
  EXPECT_EQ(t.table[from], nullptr);
  EXPECT_EQ(t.table[to - 1], nullptr);
  for (std::uint32_t chunk = 1; chunk * kChunk < to; ++chunk)
    EXPECT_EQ(t.table[chunk * kChunk], nullptr) << "the first page of chunk " << chunk << " was skipped";
  // One entry per page within each chunk: no run of 512 untouched entries.
  constexpr std::uint32_t kPerPage = 4096 / sizeof(Object*);
  std::uint32_t untouched_run = 0;
  for (std::uint32_t i = from; i < to; ++i) {
    untouched_run = t.table[i] == nullptr ? 0 : untouched_run + 1;
    ASSERT_LT(untouched_run, kPerPage) << "a page of the room was not touched, near entry " << i;
  }
}

TEST(SlotTable, TouchRoomOfNothingWritesNothing) {
  FilledTable t(10, kChunk);
  t.table.touch_room(10, 10);
  for (std::uint32_t i = 0; i < t.table.capacity(); ++i) ASSERT_EQ(t.table[i], t.sentinel(i));
}

}  // namespace
