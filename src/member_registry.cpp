// member_registry.cpp — checked builds: the registry of the Refs that live in
// managed objects' storage, and the messages that name a traverse() that
// misses one (the rules: ouro/visitor.hpp; the mechanism:
// ouro/detail/member_refs.hpp).
//
// The registry is per thread (objects and their Refs belong to one thread):
// the block of each registered Ref, and the number of registered Refs of
// each block, in two open-addressing tables keyed by address: a Ref's
// destructor unregisters it in a few steps even in unoptimized builds,
// where the checked test suite runs. Out of memory, a Ref is not
// registered, and goes unchecked: the checks never make a program fail
// that would otherwise run.
#include "member_registry.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <typeinfo>
#include <vector>

#include "object_core.hpp"
#include "ouro/detail/header.hpp"

namespace ouro::detail {

#if OURO_CHECKS

thread_local constinit MemberWatch tls_member_watch OURO_TLS_MODEL{};

namespace {

std::uintptr_t address_of(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

// Address -> V, linear probing, deletion by backward shift (no tombstones).
// Key 0 marks an empty slot: no object lives at address 0.
template <class V>
class AddressMap {
 public:
  V* find(std::uintptr_t key) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == 0) return nullptr;
    }
  }
  // `key` must be absent. nullptr when the table cannot grow.
  V* insert(std::uintptr_t key) noexcept {
    if ((size_ + 1) * 2 > slots_.size() && !grow()) return nullptr;
    std::size_t i = home(key);
    while (slots_[i].key != 0) i = (i + 1) & mask_;
    slots_[i].key = key;
    slots_[i].value = V{};
    ++size_;
    return &slots_[i].value;
  }
  void erase(std::uintptr_t key) noexcept {
    if (size_ == 0) return;
    std::size_t hole = home(key);
    while (slots_[hole].key != key) {
      if (slots_[hole].key == 0) return;
      hole = (hole + 1) & mask_;
    }
    // Entries after the hole whose home is not in (hole, j] move back into it.
    for (std::size_t j = (hole + 1) & mask_; slots_[j].key != 0; j = (j + 1) & mask_) {
      std::size_t k = home(slots_[j].key);
      bool stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].key = 0;
    --size_;
  }

 private:
  struct Slot {
    std::uintptr_t key = 0;
    V value{};
  };
  std::size_t home(std::uintptr_t key) const noexcept {
    return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  bool grow() noexcept {
    std::vector<Slot> old;
    try {
      std::vector<Slot> bigger(slots_.empty() ? 256 : slots_.size() * 2);
      old.swap(slots_);
      slots_.swap(bigger);
    } catch (...) {
      return false;
    }
    mask_ = slots_.size() - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(slots_.size()));
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != 0) *insert(s.key) = s.value;
    return true;
  }
  std::vector<Slot> slots_;
  std::size_t size_ = 0;
  std::size_t mask_ = 0;
  unsigned shift_ = 64;
};

struct RefEntry {
  std::uintptr_t block;
  const std::type_info* target;
};
struct BlockEntry {
  std::size_t refs;  // registered Refs in the block
  std::size_t size;  // sizeof the object built in it
};

thread_local constinit bool tls_registry_gone = false;

struct Registry {
  AddressMap<RefEntry> refs;
  AddressMap<BlockEntry> blocks;
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  // Refs destroyed after the thread's registry (at thread exit) find
  // nothing to unregister from.
  ~Registry() {
    tls_registry_gone = true;
    tls_member_watch.lo = tls_member_watch.hi = 0;
  }
};

Registry* registry() noexcept {
  if (tls_registry_gone) return nullptr;
  thread_local Registry r;
  return &r;
}

// A registered Ref<T> is one pointer, T* (ouro/ref.hpp).
bool holds_something(std::uintptr_t ref) noexcept {
  const void* target = nullptr;
  std::memcpy(&target, reinterpret_cast<const void*>(ref), sizeof target);
  return target != nullptr;
}

std::string ref_name(const RefEntry& e) { return "Ref<" + short_type_name(*e.target) + ">"; }

// Calls f(address, entry) for the Refs registered in the block, in address order.
template <class F>
void for_each_ref_of(Registry& r, std::uintptr_t block, const BlockEntry& b, F f) {
  for (std::uintptr_t a = block; a < block + b.size; a += alignof(void*))
    if (const RefEntry* e = r.refs.find(a); e && e->block == block) f(a, *e);
}

}  // namespace

void note_member_ref(const void* ref, const std::type_info& target) noexcept {
  Registry* r = registry();
  if (!r) return;
  MemberWatch& w = tls_member_watch;
  const std::uintptr_t a = address_of(ref);
  if (r->refs.find(a)) forget_member_ref(ref);  // storage reused without a destructor: start over
  BlockEntry* b = r->blocks.find(w.begin);
  if (!b) {
    b = r->blocks.insert(w.begin);
    if (!b) return;
    b->size = w.end - w.begin;
  }
  RefEntry* e = r->refs.insert(a);
  if (!e) {
    if (b->refs == 0) r->blocks.erase(w.begin);
    return;
  }
  *e = {w.begin, &target};
  ++b->refs;
  ++w.found;
  if (w.lo == w.hi) {
    w.lo = a;
    w.hi = a + 1;
  } else {
    w.lo = std::min(w.lo, a);
    w.hi = std::max(w.hi, a + 1);
  }
}

void forget_member_ref(const void* ref) noexcept {
  Registry* r = registry();
  if (!r) return;
  const std::uintptr_t a = address_of(ref);
  const RefEntry* e = r->refs.find(a);
  if (!e) return;
  const std::uintptr_t block = e->block;
  r->refs.erase(a);
  if (BlockEntry* b = r->blocks.find(block); b && --b->refs == 0) r->blocks.erase(block);
  MemberWatch& w = tls_member_watch;
  if (a - w.begin < w.end - w.begin && w.found > 0) --w.found;
}

void note_object_with_member_refs(Object* o, bool tracked) noexcept {
  Registry* r = registry();
  if (!r) return;
  const MemberWatch& w = tls_member_watch;
  const BlockEntry* b = r->blocks.find(w.begin);
  if (!b || b->refs == 0) return;
  if (tracked) {
    set(*o, kHasMemberRefs);
    return;
  }
  std::uintptr_t first = 0;
  const RefEntry* entry = nullptr;
  for_each_ref_of(*r, w.begin, *b, [&](std::uintptr_t a, const RefEntry& e) {
    if (!entry) {
      first = a;
      entry = &e;
    }
  });
  const std::string type = type_name(*o);
  const std::string ref = ref_name(*entry);
  const std::string msg =
      type + " holds a " + ref + " member (at offset " + std::to_string(first - w.begin) +
      ") but does not override traverse(): the collector never sees that Ref, so a cycle through "
      "it can never be collected; visit it in traverse() (or OURO_TRAVERSE), or declare it "
      "ouro::Unreported<" +
      ref + "> if no cycle can pass through it";
  fatal(msg.c_str(), o);
}

void audit_visited(MemberAudit& audit, const void* ref) noexcept {
  try {
    audit.visited.push_back(ref);
  } catch (...) {
    audit.incomplete = true;
  }
}

void audit_named(MemberAudit& audit, const char* name, const void* member, std::size_t size) noexcept {
  try {
    audit.named.push_back({name, address_of(member), address_of(member) + size});
  } catch (...) {
    audit.incomplete = true;
  }
}

void check_visited_members(const Object* o, MemberAudit& audit) noexcept {
  Registry* r = registry();
  if (!r || audit.incomplete) return;
  const auto block = address_of(dynamic_cast<const void*>(o));  // the most derived object: its block
  const BlockEntry* b = r->blocks.find(block);
  if (!b) return;
  // The common case: traverse() visited every registered Ref of the block.
  std::vector<const void*>& seen = audit.visited;
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  std::size_t registered_seen = 0;
  for (const void* v : seen)
    if (const RefEntry* e = r->refs.find(address_of(v)); e && e->block == block) ++registered_seen;
  if (registered_seen == b->refs) return;
  // Some were not visited: an error unless each of them is empty.
  for_each_ref_of(*r, block, *b, [&](std::uintptr_t at, const RefEntry& e) {
    if (!holds_something(at) ||
        std::binary_search(seen.begin(), seen.end(), reinterpret_cast<const void*>(at)))
      return;
    std::string where;
    const MemberAudit::Named* before = nullptr;
    for (const MemberAudit::Named& n : audit.named) {
      if (at >= n.begin && at < n.end) {
        where = ", inside member `" + std::string(n.name) + "`";
        before = nullptr;
        break;
      }
      if (n.end <= at && (!before || n.begin > before->begin)) before = &n;
    }
    if (before) where = ", after member `" + std::string(before->name) + "`";
    const std::string msg =
        "traverse() of " + type_name(*o) + " does not visit its " + ref_name(e) + " member at offset " +
        std::to_string(at - block) + where +
        ": the collector never sees that Ref, so a cycle through it can never be collected; "
        "visit it in traverse(), or declare it ouro::Unreported<" +
        ref_name(e) + "> if leaving it out is deliberate";
    fatal(msg.c_str(), o);
  });
}

#endif  // OURO_CHECKS

}  // namespace ouro::detail
