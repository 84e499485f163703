// member_registry.hpp — checked builds: the Refs each managed object holds in
// its own storage (registered as ouro/detail/member_refs.hpp describes), and
// the comparison with what its traverse() visits: the collector's counting
// pass (reachability.cpp) and gc::verify_traverse() (gc_module.cpp) audit
// every object flagged kHasMemberRefs. Release builds compile none of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ouro/detail/member_refs.hpp"
#include "ouro/object.hpp"

namespace ouro::detail {

#if OURO_CHECKS

// What one traverse() visited: the addresses of its Ref members (empty ones
// too) and the members OURO_TRAVERSE named, for the message.
class MemberAudit {
 public:
  struct Named {
    const char* name;
    std::uintptr_t begin, end;
  };
  void clear() noexcept {
    visited.clear();
    named.clear();
    incomplete = false;
  }
  std::vector<const void*> visited;
  std::vector<Named> named;
  bool incomplete = false;  // out of memory while recording: nothing is judged
};

// Aborts, naming the type, the member's offset and its neighbour's name,
// when `o` holds a non-empty registered Ref that `audit` does not list
// (it sorts audit.visited).
void check_visited_members(const Object* o, MemberAudit& audit) noexcept;

#endif  // OURO_CHECKS

}  // namespace ouro::detail
