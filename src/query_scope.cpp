// query_scope.cpp — the scope and the pins of a query (query_scope.hpp).
#include "query_scope.hpp"

#include <stdexcept>
#include <string>

#include "destruction.hpp"

namespace ouro::detail {

QueryScope::QueryScope(Heap& h, const char* query) : h_(h) {
  if (counting_now())
    throw std::logic_error(std::string(query) +
                           ": called from a traverse() that the collector runs; traverse() must only report "
                           "references (ask after the collection, from a gc callback or a finalizer)");
  ++h_.queries;
}

bool pinnable(const Object& o, const Heap& h) noexcept {
  if ((Access::flags(o) & (kManaged | kDestroying | kDeferred)) != kManaged) return false;
  std::uint16_t owner = Access::heap_id(o);
  return owner == h.id || has(o, kOrphan) || is_dead_heap_id(owner);
}

Ref<Object> pin(const Object& o, const Heap& h) noexcept {
  if (!pinnable(o, h)) return {};
  Object* p = const_cast<Object*>(&o);
  incref(p);
  return Ref<Object>(p, adopt_t{});
}

}  // namespace ouro::detail
