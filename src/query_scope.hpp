// query_scope.hpp — what a query of the heap (gc::get_referrers,
// gc::get_referents, the ouro::inspect functions) holds while user code runs
// under it.
//
// A query calls traverse() on every tracked object and repr() on some, and
// that user code may do anything: make objects (which could start an
// automatic collection), drop references (freeing objects the query reads
// next), call gc::collect(), freeze. So a query
//  - holds a QueryScope: while any query runs, automatic collection waits
//    and gc::collect() returns 0, as inside a collection; no object moves
//    between tables or dies by the collector under a query;
//  - pins what it reads: a strong reference to every object it looks at,
//    taken before any user code runs and dropped after its scope ends (what
//    user code released meanwhile dies then); whatever it derives from
//    refcounts subtracts its own pins;
//  - reads the live tables only (kLiveTables): the garbage that a running
//    collection works on is not part of the heap it answers about.
// A query is refused (std::logic_error) from a traverse() that the collector
// runs while it counts a working set: those tables are half updated.
#pragma once

#include "heap.hpp"

namespace ouro::detail {

class QueryScope {
 public:
  // `query` names the public function in the refusal's message.
  QueryScope(Heap& h, const char* query);
  ~QueryScope() { --h_.queries; }
  QueryScope(const QueryScope&) = delete;
  QueryScope& operator=(const QueryScope&) = delete;

 private:
  Heap& h_;
};

// The generations and the permanent one. The two working tables of a
// running collection (unreachable, uncollectable) hold its garbage, which it
// finalizes, destroys or hands to gc::garbage(): not part of the live heap.
inline constexpr Table kLiveTables[] = {Table::gen0, Table::gen1, Table::gen2, Table::permanent};

// Whether a query may hold a strong reference to `o`: made by make<T>, its
// destruction not begun, owned by this heap (or by none any more).
bool pinnable(const Object& o, const Heap& h) noexcept;
// A new strong reference to `o` when pinnable, else an empty one.
Ref<Object> pin(const Object& o, const Heap& h) noexcept;

// Part of the garbage that the running collection works on (from its
// finding to its end): guarded.
inline bool is_collection_garbage(const Object& o) noexcept { return has(o, kGuarded); }
// Its refcount reached zero: finalized, waiting in the destruction queue,
// or in its destructor.
inline bool is_being_destroyed(const Object& o) noexcept { return (Access::flags(o) & (kDestroying | kDeferred)) != 0; }

}  // namespace ouro::detail
