// weak_lists.hpp — the per-object weak lists, a member of each heap (the
// functions that use them are weak_references.cpp's, declared in
// weak_references.hpp).
#pragma once

#include <unordered_map>

#include "ouro/detail/weak_node.hpp"
#include "ouro/object.hpp"

namespace ouro::detail {

// Object -> the sentinel of its circular list of weak references (newest
// first). Entries exist only while the object has weak references (the
// object's kHasWeakrefs bit says so); elements of an unordered_map never
// move, so nodes may point at their sentinel.
using WeakLists = std::unordered_map<const Object*, WeakNode>;

}  // namespace ouro::detail
