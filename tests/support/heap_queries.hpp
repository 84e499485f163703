// support/heap_queries.hpp — where the collector keeps an object, and the
// garbage the collector tests feed it.
//
//   contains(gc::get_objects(1), p)   whether a listing holds the object at p;
//   generation_of(p)                  the generation (0..2) whose
//                                     get_objects(g) lists p, -1 for none
//                                     (a failure when two generations do);
//   make_garbage_ring(ev, n)          n TrackedNodes in a ring that nothing
//                                     outside refers to once it returns.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <ouro/ouro.hpp>

#include "support/instrumented.hpp"

namespace ouro_test {

inline bool contains(const std::vector<ouro::Ref<ouro::Object>>& objects, const ouro::Object* o) {
  return std::any_of(objects.begin(), objects.end(), [o](const ouro::Ref<ouro::Object>& r) { return r.get() == o; });
}

// The generation (0..2) whose get_objects(g) lists `o`, or -1 when none does.
inline int generation_of(const ouro::Object* o) {
  int found = -1;
  for (int g = 0; g <= 2; ++g) {
    if (!contains(ouro::gc::get_objects(g), o)) continue;
    EXPECT_EQ(found, -1) << "object listed in two generations";
    found = g;
  }
  return found;
}

// A ring a0 -> a1 -> ... -> a(n-1) -> a0 of TrackedNodes named prefix + i,
// with no reference from outside once the function returns.
inline void make_garbage_ring(Events& ev, int n, const std::string& prefix = "r") {
  std::vector<ouro::Ref<TrackedNode>> ring;
  for (int i = 0; i < n; ++i) ring.push_back(ouro::make<TrackedNode>(ev, prefix + std::to_string(i)));
  for (int i = 0; i < n; ++i) ring[static_cast<std::size_t>(i)]->next = ring[static_cast<std::size_t>((i + 1) % n)];
}

}  // namespace ouro_test
