// inspect::type_stats, snapshot and growth (ouro/inspect.hpp): live
// tracked objects by type (the short type name), most common first, bytes =
// count * sizeof the dynamic type as make<T> recorded it; growth lists the
// types whose count grew, by how much, largest first.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Ref;
using ouro_test::Anon;
using ouro_test::Box;
using ouro_test::Holder;
using ouro_test::in_fresh_heap;

struct Big : Box {
  char payload[1000] = {};
};

const inspect::TypeStat* find(const std::vector<inspect::TypeStat>& stats, const std::string& type) {
  for (const inspect::TypeStat& s : stats)
    if (s.type == type) return &s;
  return nullptr;
}

TEST(TypeStats, CountsTrackedObjectsByDynamicTypeMostCommonFirst) {
  in_fresh_heap([] {
    std::vector<Ref<Box>> keep = {make<Box>(), make<Box>(), make<Box>(), make<Big>()};
    Ref<Anon> anon = make<Anon>();
    Ref<Anon> anon2 = make<Anon>();
    Ref<Holder> untracked = make<Holder>(nullptr);
    std::vector<inspect::TypeStat> stats = inspect::type_stats();
    ASSERT_EQ(stats.size(), 3u);
    EXPECT_EQ(stats[0].type, "Box");
    EXPECT_EQ(stats[0].count, 3u);
    EXPECT_EQ(stats[0].bytes, 3 * sizeof(Box));
    EXPECT_EQ(stats[1].type, "Anon");
    EXPECT_EQ(stats[1].count, 2u);
    EXPECT_EQ(stats[1].bytes, 2 * sizeof(Anon));
    EXPECT_EQ(stats[2].type, "Big");  // its dynamic type, with its own size
    EXPECT_EQ(stats[2].bytes, sizeof(Big));
    EXPECT_EQ(find(stats, "Holder"), nullptr);  // untracked objects are not listed
  });
}

TEST(TypeStats, FrozenObjectsAreCounted) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>();
    gc::freeze();
    Ref<Box> b = make<Box>();
    ASSERT_NE(find(inspect::type_stats(), "Box"), nullptr);
    EXPECT_EQ(find(inspect::type_stats(), "Box")->count, 2u);
    gc::unfreeze();
  });
}

TEST(TypeStats, GrowthListsOnlyTypesThatGrewLargestFirst) {
  in_fresh_heap([] {
    std::vector<Ref<Box>> boxes = {make<Box>(), make<Box>()};
    inspect::Snapshot before = inspect::snapshot();
    EXPECT_EQ(before.objects(), 2u);
    boxes.pop_back();
    std::vector<Ref<Anon>> leak;
    for (int i = 0; i < 5; ++i) leak.push_back(make<Anon>());
    Ref<Big> big = make<Big>();
    inspect::Snapshot after = inspect::snapshot();
    std::vector<inspect::TypeStat> grew = inspect::growth(before, after);
    ASSERT_EQ(grew.size(), 2u);
    EXPECT_EQ(grew[0].type, "Anon");
    EXPECT_EQ(grew[0].count, 5u);
    EXPECT_EQ(grew[0].bytes, 5 * sizeof(Anon));
    EXPECT_EQ(grew[1].type, "Big");
    EXPECT_EQ(grew[1].count, 1u);
    std::vector<inspect::TypeStat> back = inspect::growth(after, before);  // the other way round
    ASSERT_EQ(back.size(), 1u);
    EXPECT_EQ(back[0].type, "Box");
    EXPECT_EQ(back[0].count, 1u);
    EXPECT_TRUE(inspect::growth(after, after).empty());
  });
}

TEST(TypeStats, EmptyHeapHasNoTypes) {
  in_fresh_heap([] {
    EXPECT_TRUE(inspect::type_stats().empty());
    EXPECT_EQ(inspect::snapshot().objects(), 0u);
  });
}

}  // namespace
