// verify_heap.cpp — the heap verifier (verify_heap.hpp).
#include "verify_heap.hpp"

#include <cstdio>

#include "ouro/detail/verify.hpp"

namespace ouro::detail {
namespace {

constexpr Table kTables[] = {Table::gen0,      Table::gen1,        Table::gen2,
                             Table::permanent, Table::unreachable, Table::uncollectable};

const char* table_name(Table t) noexcept {
  switch (t) {
    case Table::gen0: return "gen0";
    case Table::gen1: return "gen1";
    case Table::gen2: return "gen2";
    case Table::permanent: return "permanent";
    case Table::unreachable: return "unreachable";
    case Table::uncollectable: return "uncollectable";
    case Table::none: return "none";
  }
  return "?";
}

bool is_guarded_table(Table t) noexcept { return t == Table::unreachable || t == Table::uncollectable; }

[[noreturn]] void broken(const VerifyAt& at, Table t, std::uint32_t slot, const char* what, const Object* o) noexcept {
  static char message[512];
  std::snprintf(message, sizeof message, "heap verifier (%s): %s (table %s, slot %u)", at.where, what, table_name(t),
                static_cast<unsigned>(slot));
  fatal(message, o);
}

[[noreturn]] void broken(const VerifyAt& at, const char* what) noexcept {
  static char message[512];
  std::snprintf(message, sizeof message, "heap verifier (%s): %s", at.where, what);
  fatal(message);
}

// The entry `slot` of table `t` holds `o`: what must be true of it.
void verify_entry(const Heap& h, const VerifyAt& at, Table t, std::uint32_t slot, const Object* o) noexcept {
  if (!o) broken(at, t, slot, "an empty entry below the table's size", nullptr);
#if OURO_CHECKS
  if (Access::flags(*o) == kPoisonFlags) broken(at, t, slot, "an entry names a destroyed object", nullptr);
#endif
  const std::uint16_t f = Access::flags(*o);
  if ((f & (kManaged | kTracked)) != (kManaged | kTracked))
    broken(at, t, slot, "an entry names an object that is not a managed, tracked object", o);
  if (f & (kOrphan | kDestroying | kDeferred))
    broken(at, t, slot, "an entry names an orphan or an object whose destruction has begun", o);
  if (Access::heap_id(*o) != h.id) broken(at, t, slot, "an entry names an object of another heap", o);
  if (Access::slot(*o) != slot) broken(at, t, slot, "an object's slot is not its index in its table", o);
  if (t != at.relabelling && table_of(*o) != t)
    broken(at, t, slot, "an object's table bits name another table than the one holding it", o);
  if (((f & kGuarded) != 0) != is_guarded_table(t))
    broken(at, t, slot,
           is_guarded_table(t) ? "an object of a collection's garbage tables is not guarded"
                               : "a guarded object sits outside the collection's garbage tables",
           o);
  if ((f & kPending) && t != Table::gen2 && !is_guarded_table(t) && t != at.relabelling)
    broken(at, t, slot, "a pending object outside gen2", o);
}

}  // namespace

void verify_heap(const Heap& h, const VerifyAt& at) noexcept {
  std::size_t pending = 0;
  for (Table t : kTables) {
    const SlotTable& tab = h.tables[static_cast<std::size_t>(t)];
    if (!at.guarded_tables_may_hold && is_guarded_table(t) && !tab.empty())
      broken(at, "a collection's garbage table holds objects outside a collection");
    if (!at.guarded_tables_read && is_guarded_table(t)) continue;
    for (std::uint32_t i = 0; i < tab.size(); ++i) {
      const Object* o = tab[i];
      verify_entry(h, at, t, i, o);
      if (has(*o, kPending)) ++pending;
    }
  }
  if (h.incremental() && pending != 0) broken(at, "an object is marked pending under the incremental schedule");
  if (h.incremental() && h.inc.unscanned != Table::gen1 && h.inc.unscanned != Table::gen2)
    broken(at, "the incremental schedule's unvisited half is not gen1 or gen2");
  if (at.pending_tallied && pending != h.long_lived_pending) {
    static char what[160];
    std::snprintf(what, sizeof what, "%zu objects are marked pending, the heap counts %zu", pending,
                  h.long_lived_pending);
    broken(at, what);
  }
}

void verify_this_heap(const char* where) noexcept {
  const Heap* h = existing_heap();
  if (!h) return;
  // From user code that a collection runs (a finalizer, a destructor, a
  // callback), the live tables are checked; the collection's garbage
  // tables change under it as objects die.
  const bool at_rest = !h->collecting;
  verify_heap(*h, VerifyAt{where, Table::none, !at_rest, at_rest, at_rest});
}

}  // namespace ouro::detail
