// member_refs.cpp — checked builds: the registry of the Refs that live in
// managed objects' storage, and the messages that name a traverse() that
// misses one (the rules: ouro/visitor.hpp; the mechanism:
// ouro/detail/member_refs.hpp).
//
// The registry is per thread (objects and their Refs belong to one thread):
// the Refs of each block, and the block of each Ref, so that a Ref's
// destructor unregisters it in constant time. Out of memory, a Ref is not
// registered, and goes unchecked: the checks never make a program fail
// that would otherwise run.
#include "member_refs.hpp"

#include <algorithm>
#include <cstring>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "object_core.hpp"
#include "ouro/detail/header.hpp"

namespace ouro::detail {

#if OURO_CHECKS

thread_local constinit MemberWatch tls_member_watch OURO_TLS_MODEL{};

namespace {

struct MemberRef {
  const void* address;
  const std::type_info* target;
};

thread_local constinit bool tls_registry_gone = false;

struct Registry {
  std::unordered_map<std::uintptr_t, std::vector<MemberRef>> by_block;
  std::unordered_map<const void*, std::uintptr_t> block_of;
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

std::uintptr_t address_of(const void* p) noexcept { return reinterpret_cast<std::uintptr_t>(p); }

// A registered Ref<T> is one pointer, T* (ouro/ref.hpp).
bool holds_something(const MemberRef& m) noexcept {
  const void* target = nullptr;
  std::memcpy(&target, m.address, sizeof target);
  return target != nullptr;
}

std::string ref_name(const MemberRef& m) { return "Ref<" + short_type_name(*m.target) + ">"; }

}  // namespace

void note_member_ref(const void* ref, const std::type_info& target) noexcept {
  Registry* r = registry();
  if (!r) return;
  MemberWatch& w = tls_member_watch;
  if (r->block_of.count(ref) != 0) forget_member_ref(ref);  // storage reused without a destructor: start over
  try {
    std::vector<MemberRef>& refs = r->by_block[w.begin];
    refs.push_back({ref, &target});
    try {
      r->block_of.emplace(ref, w.begin);
    } catch (...) {
      refs.pop_back();
      if (refs.empty()) r->by_block.erase(w.begin);
      return;
    }
  } catch (...) {
    return;
  }
  ++w.found;
  const std::uintptr_t a = address_of(ref);
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
  auto it = r->block_of.find(ref);
  if (it == r->block_of.end()) return;
  auto block = r->by_block.find(it->second);
  if (block != r->by_block.end()) {
    std::vector<MemberRef>& refs = block->second;
    refs.erase(std::remove_if(refs.begin(), refs.end(), [&](const MemberRef& m) { return m.address == ref; }),
               refs.end());
    if (refs.empty()) r->by_block.erase(block);
  }
  r->block_of.erase(it);
  MemberWatch& w = tls_member_watch;
  if (address_of(ref) - w.begin < w.end - w.begin && w.found > 0) --w.found;
}

void note_object_with_member_refs(Object* o, bool tracked) noexcept {
  Registry* r = registry();
  if (!r) return;
  const MemberWatch& w = tls_member_watch;
  auto block = r->by_block.find(w.begin);
  if (block == r->by_block.end() || block->second.empty()) return;
  if (tracked) {
    set(*o, kHasMemberRefs);
    return;
  }
  const MemberRef& first =
      *std::min_element(block->second.begin(), block->second.end(),
                        [](const MemberRef& a, const MemberRef& b) { return address_of(a.address) < address_of(b.address); });
  const std::string type = type_name(*o);
  const std::string ref = ref_name(first);
  const std::string msg = type + " holds a " + ref + " member (at offset " +
                          std::to_string(address_of(first.address) - w.begin) +
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

void check_visited_members(const Object* o, const MemberAudit& audit) noexcept {
  Registry* r = registry();
  if (!r || audit.incomplete) return;
  const auto start = address_of(dynamic_cast<const void*>(o));  // the most derived object: its block
  auto block = r->by_block.find(start);
  if (block == r->by_block.end()) return;
  for (const MemberRef& m : block->second) {
    if (!holds_something(m) ||
        std::find(audit.visited.begin(), audit.visited.end(), m.address) != audit.visited.end())
      continue;
    const std::uintptr_t at = address_of(m.address);
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
    const std::string msg = "traverse() of " + type_name(*o) + " does not visit its " + ref_name(m) +
                            " member at offset " + std::to_string(at - start) + where +
                            ": the collector never sees that Ref, so a cycle through it can never be collected; "
                            "visit it in traverse(), or declare it ouro::Unreported<" +
                            ref_name(m) + "> if leaving it out is deliberate";
    fatal(msg.c_str(), o);
  }
}

#endif  // OURO_CHECKS

}  // namespace ouro::detail
