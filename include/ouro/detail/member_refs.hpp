// ouro/detail/member_refs.hpp — checked builds: which Refs live inside each
// managed object, so that a traverse() that misses one is named (the rules
// are in ouro/visitor.hpp, "WHAT CHECKED BUILDS VERIFY"). Internal: not part
// of the API. Release builds compile none of it.
//
// While make<T>() constructs T in its block, a Ref whose constructor runs at
// an address inside the block is a member of the new object (directly, or
// inside a member held by value: a struct, std::array, std::pair,
// std::optional). It registers itself (src/member_registry.cpp) and unregisters
// when it is destroyed, so the registry always lists Refs that exist. A
// tracked object that has any gets the kHasMemberRefs flag; the collector's
// counting pass and gc::verify_traverse() then compare the registered Refs
// with the ones its traverse() visits. An untracked type that holds any
// aborts at make<T>().
//
// What is not seen: Refs in storage the object points to (a std::vector's
// elements, a map's nodes), Refs constructed in the object's storage after
// its constructor returned (std::optional::emplace), and types with an
// operator new of their own (make<T> does not know their block).
#pragma once

#include <cstddef>
#include <cstdint>
#include <typeinfo>

#include "ouro/detail/config.hpp"

namespace ouro {
class Object;
namespace detail {

#if OURO_CHECKS

// Per thread, plain data (read by every Ref constructor and destructor).
struct MemberWatch {
  std::uintptr_t begin = 0;  // the block make<T>() constructs a T in now, [begin, end)
  std::uintptr_t end = 0;
  std::size_t found = 0;  // Refs registered in that block so far
  std::uintptr_t lo = 0;  // every registered Ref lies in [lo, hi)
  std::uintptr_t hi = 0;
};
extern thread_local constinit MemberWatch tls_member_watch OURO_TLS_MODEL;

void note_member_ref(const void* ref, const std::type_info& target) noexcept;
void forget_member_ref(const void* ref) noexcept;

// Ref's constructors and destructor: two compares each when the Ref is not
// a member of a managed object.
OURO_ALWAYS_INLINE void watch_ref(const void* ref, const std::type_info& target) noexcept {
  const MemberWatch& w = tls_member_watch;
  if (OURO_UNLIKELY(reinterpret_cast<std::uintptr_t>(ref) - w.begin < w.end - w.begin))
    note_member_ref(ref, target);
}
OURO_ALWAYS_INLINE void unwatch_ref(const void* ref) noexcept {
  const MemberWatch& w = tls_member_watch;
  if (OURO_UNLIKELY(reinterpret_cast<std::uintptr_t>(ref) - w.lo < w.hi - w.lo)) forget_member_ref(ref);
}

// make<T>()'s side. The block being built is saved and restored around
// T's constructor, which may itself call make<>().
struct MemberBuild {
  std::uintptr_t begin, end;
  std::size_t found;
};
inline MemberBuild begin_member_build(const void* block, std::size_t size) noexcept {
  MemberWatch& w = tls_member_watch;
  const MemberBuild outer{w.begin, w.end, w.found};
  w.begin = reinterpret_cast<std::uintptr_t>(block);
  w.end = w.begin + size;
  w.found = 0;
  return outer;
}
inline void end_member_build(const MemberBuild& outer) noexcept {
  MemberWatch& w = tls_member_watch;
  w.begin = outer.begin;
  w.end = outer.end;
  w.found = outer.found;
}
// After T's constructor returned: a tracked object that holds Refs is
// marked for the collector's comparison; an untracked one aborts, naming
// its type and the first such member.
void note_object_with_member_refs(Object* o, bool tracked) noexcept;
inline void check_member_build(Object* o, bool tracked, const MemberBuild& outer) noexcept {
  if (OURO_UNLIKELY(tls_member_watch.found != 0)) note_object_with_member_refs(o, tracked);
  end_member_build(outer);
}

// Where a traverse() under audit reports what it visits (ouro/visitor.hpp).
class MemberAudit;
void audit_visited(MemberAudit& audit, const void* ref) noexcept;
void audit_named(MemberAudit& audit, const char* name, const void* member, std::size_t size) noexcept;

#endif  // OURO_CHECKS

}  // namespace detail
}  // namespace ouro
