// The shortest path through the library: make, cycle, collect.
#include <gtest/gtest.h>
#include <ouro/ouro.hpp>

#include "support/nodes.hpp"

namespace {
using ouro_test::Node;
}  // namespace

TEST(Smoke, TwoObjectCycleIsCollected) {
  {
    auto a = ouro::make<Node>();
    auto b = ouro::make<Node>();
    a->next = b;
    b->next = a;
  }
  EXPECT_EQ(ouro::gc::collect(), 2u);
  EXPECT_EQ(ouro::gc::collect(), 0u);
}
