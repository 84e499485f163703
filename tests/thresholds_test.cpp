// Thresholds and enable/disable (ouro/gc.hpp): the settings of automatic
// collection, CPython 3.11's defaults (700, 10, 10; enabled), changed
// generation by generation. What they trigger is in
// automatic_collection_test.cpp.
#include <gtest/gtest.h>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro_test::in_fresh_heap;

TEST(Thresholds, DefaultIs700TenTen) {
  in_fresh_heap([] {
    gc::Thresholds t = gc::get_threshold();
    EXPECT_EQ(t.gen0, 700u);
    EXPECT_EQ(t.gen1, 10u);
    EXPECT_EQ(t.gen2, 10u);
    EXPECT_TRUE(gc::is_enabled());
  });
}

TEST(Thresholds, SetThresholdChangesOnlyTheGenerationsGiven) {
  in_fresh_heap([] {
    gc::set_threshold(100);
    EXPECT_EQ(gc::get_threshold().gen0, 100u);
    EXPECT_EQ(gc::get_threshold().gen1, 10u);
    EXPECT_EQ(gc::get_threshold().gen2, 10u);
    gc::set_threshold(50, 3);
    EXPECT_EQ(gc::get_threshold().gen0, 50u);
    EXPECT_EQ(gc::get_threshold().gen1, 3u);
    EXPECT_EQ(gc::get_threshold().gen2, 10u);
    gc::set_threshold(1, 2, 4);
    EXPECT_EQ(gc::get_threshold().gen0, 1u);
    EXPECT_EQ(gc::get_threshold().gen1, 2u);
    EXPECT_EQ(gc::get_threshold().gen2, 4u);
  });
}

TEST(Thresholds, EnableDisableAndIsEnabled) {
  in_fresh_heap([] {
    EXPECT_TRUE(gc::is_enabled());
    gc::disable();
    EXPECT_FALSE(gc::is_enabled());
    gc::disable();
    EXPECT_FALSE(gc::is_enabled());
    gc::enable();
    EXPECT_TRUE(gc::is_enabled());
  });
}


}  // namespace
