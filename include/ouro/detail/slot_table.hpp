// ouro/detail/slot_table.hpp — a chunked array of object pointers: one per
// generation. Public only because make<T>() appends to gen0 inline
// (heap_core.hpp); nothing outside the library should use it.
//
// Each tracked object knows its index (its slot) in the table of its
// generation, so removal on death is a swap with the last entry, and a
// collection walks its generation sequentially. Chunks never move, so
// growing the table never copies the old generation (DESIGN.md, "Pauses"):
// the only thing that grows is the small vector of chunk pointers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <utility>
#include <vector>

#include "ouro/detail/fault_injection.hpp"
#include "ouro/object.hpp"

namespace ouro::detail {

class SlotTable {
 public:
  static constexpr std::uint32_t kChunkBits = 12;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;

  SlotTable() = default;
  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;
  ~SlotTable() = default;

  std::uint32_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return capacity_; }

  Object*& operator[](std::uint32_t i) noexcept { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }
  Object* operator[](std::uint32_t i) const noexcept { return chunks_[i >> kChunkBits][i & (kChunkSize - 1)]; }

  // Makes room for `n` entries in all; afterwards pushes up to that size
  // cannot fail. Throws std::bad_alloc or std::length_error.
  void reserve(std::size_t n) {
    if (n > kMaxSize) throw std::length_error("ouro: more than 2^32-2 tracked objects in one generation");
    while (capacity_ < n) {
      fault::check(fault::Site::table);
      chunks_.push_back(std::unique_ptr<Object*[]>(new Object*[kChunkSize]));  // not zeroed: only [0, size) is ever read
      capacity_ += kChunkSize;
    }
  }
  // Writes one entry per 4 KiB page of the room [from, to) (to <= capacity):
  // the pages are then faulted in now rather than when entries land there.
  // Chunk by chunk: a chunk is its own allocation, not page-aligned, so a
  // stride carried over a chunk's start would skip its first page.
  void touch_room(std::size_t from, std::size_t to) noexcept {
    constexpr std::size_t kEntriesPerPage = 4096 / sizeof(Object*);
    while (from < to) {
      std::size_t chunk_end = (from / kChunkSize + 1) * kChunkSize;
      std::size_t end = chunk_end < to ? chunk_end : to;
      for (std::size_t i = from; i < end; i += kEntriesPerPage) (*this)[static_cast<std::uint32_t>(i)] = nullptr;
      (*this)[static_cast<std::uint32_t>(end - 1)] = nullptr;
      from = end;
    }
  }
  // Whether entry `slot` exists and is `o` (an object whose table bits may
  // be stale names a slot; this says whether it is really there).
  bool holds_at(std::uint32_t slot, const Object* o) const noexcept {
    return slot < size_ && (*this)[slot] == o;
  }

  std::uint32_t push(Object* o) noexcept {
    (*this)[size_] = o;
    return size_++;
  }
  Object* pop() noexcept { return (*this)[--size_]; }

  // Appends one entry after the other into room reserved beforehand, with
  // the size and the chunk array kept in registers (push() reloads them
  // after every store into an object: the compiler cannot tell the two
  // apart). The table's size is right again when the appender goes.
  class Appender {
   public:
    explicit Appender(SlotTable& t) noexcept : Appender(t, t.size_) {}
    // Rewrites the table from entry `from` on (each write at or before the
    // entry the caller reads next: compaction in place); the table ends
    // where the appender stopped.
    Appender(SlotTable& t, std::uint32_t from) noexcept : table_(t), chunks_(t.chunks_.data()), next_(from) {}
    ~Appender() { table_.size_ = next_; }
    Appender(const Appender&) = delete;
    Appender& operator=(const Appender&) = delete;
    std::uint32_t push(Object* o) noexcept {
      chunks_[next_ >> kChunkBits][next_ & (kChunkSize - 1)] = o;
      return next_++;
    }

   private:
    SlotTable& table_;
    std::unique_ptr<Object*[]>* chunks_;
    std::uint32_t next_;
  };
  // Exchanges the contents (entries and room) of two tables.
  void swap(SlotTable& other) noexcept {
    chunks_.swap(other.chunks_);
    std::swap(capacity_, other.capacity_);
    std::swap(size_, other.size_);
  }
  void truncate(std::uint32_t n) noexcept { size_ = n; }

  // Gives back the chunks beyond the current size (and `kept` more
  // entries), keeping three spare: the young tables trade storage with
  // `unreachable` at every collection, and with one spare each a chunk
  // would go back to malloc and be faulted in again a few collections later.
  void shrink(std::size_t kept = 0) noexcept {
    std::size_t needed = (std::size_t{size_} + kept + kChunkSize - 1) / kChunkSize + 3;
    if (chunks_.size() > needed) {
      chunks_.resize(needed);
      capacity_ = needed * kChunkSize;
    }
  }

  // f(entries, count, index of entries[0]) for each chunk's used part, in
  // order: the collector's passes walk a chunk as a plain array.
  template <class F>
  void for_each_chunk(F&& f) const {
    for (std::uint32_t base = 0; base < size_; base += kChunkSize) {
      std::uint32_t n = size_ - base < kChunkSize ? size_ - base : kChunkSize;
      f(chunks_[base >> kChunkBits].get(), n, base);
    }
  }

  // The same over entries [0, n) only, n <= size(), with n fixed when it
  // starts: entries appended meanwhile (by user code the callback runs) are
  // not visited.
  template <class F>
  void for_each_chunk_below(std::uint32_t n, F&& f) const {
    for (std::uint32_t base = 0; base < n; base += kChunkSize) {
      std::uint32_t len = n - base < kChunkSize ? n - base : kChunkSize;
      f(chunks_[base >> kChunkBits].get(), len, base);
    }
  }

  template <class F>
  void for_each(F&& f) const {
    for (std::uint32_t i = 0; i < size_; ++i) f((*this)[i]);
  }

 private:
  static constexpr std::size_t kMaxSize = 0xFFFFFFFEu;
  std::vector<std::unique_ptr<Object*[]>> chunks_;
  std::size_t capacity_ = 0;  // chunks_.size() * kChunkSize, kept for make<T>'s inline room check
  std::uint32_t size_ = 0;
};

}  // namespace ouro::detail
