// Visitor::named and OURO_TRAVERSE: the member's name reaches every
// reference found inside it (Refs, ranges, maps' keys and values, pairs,
// tuples, optionals, nested), and visits without a name report "".
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"

namespace {

using ouro::make;
using ouro::Object;
using ouro::Ref;

struct Leaf : Object {};

// Records (field, target) for every reference a traverse() reports.
class RecordingVisitor final : public ouro::Visitor {
 public:
  std::vector<std::pair<std::string, const Object*>> seen;

 private:
  void visit(Object* target) override { seen.emplace_back(field(), target); }
};

struct Everything : Object {
  Ref<Leaf> one;
  std::vector<Ref<Leaf>> many;
  std::map<Ref<Leaf>, Ref<Leaf>> map;
  std::pair<Ref<Leaf>, int> pair;
  std::tuple<int, Ref<Leaf>> tuple;
  std::optional<Ref<Leaf>> maybe;
  std::vector<std::vector<Ref<Leaf>>> nested;
  Ref<Leaf> unnamed;
  OURO_TRAVERSE( one,many ,  map,
                pair, tuple, maybe, nested )
};

struct Mixed : Object {
  Ref<Leaf> a, b;
  void traverse(ouro::Visitor& v) override {
    v.named("a", a);
    v(b);
  }
};

std::vector<std::string> fields(const std::vector<std::pair<std::string, const Object*>>& seen) {
  std::vector<std::string> out;
  for (const auto& s : seen) out.push_back(s.first);
  return out;
}

TEST(NamedVisit, EveryReferenceInsideANamedMemberCarriesItsName) {
  ouro_test::in_fresh_heap([] {
    Ref<Everything> e = make<Everything>();
    EXPECT_TRUE(ouro::gc::is_tracked(*e));
    e->one = make<Leaf>();
    e->many = {make<Leaf>(), make<Leaf>()};
    e->map[make<Leaf>()] = make<Leaf>();
    e->pair.first = make<Leaf>();
    std::get<1>(e->tuple) = make<Leaf>();
    e->maybe = make<Leaf>();
    e->nested = {{make<Leaf>()}, {make<Leaf>()}};
    e->unnamed = make<Leaf>();  // not listed in OURO_TRAVERSE: not visited
    RecordingVisitor v;
    e->traverse(v);
    EXPECT_EQ(fields(v.seen), (std::vector<std::string>{"one", "many", "many", "map", "map", "pair", "tuple", "maybe",
                                                         "nested", "nested"}));
    EXPECT_EQ(v.seen[0].second, e->one.get());
    EXPECT_EQ(v.seen[7].second, e->maybe->get());
    EXPECT_STREQ(v.field(), "");
  });
}

TEST(NamedVisit, UnnamedVisitsAfterANamedOneReportAnEmptyField) {
  ouro_test::in_fresh_heap([] {
    Ref<Mixed> m = make<Mixed>();
    m->a = make<Leaf>();
    m->b = make<Leaf>();
    RecordingVisitor v;
    m->traverse(v);
    EXPECT_EQ(fields(v.seen), (std::vector<std::string>{"a", ""}));
  });
}

TEST(NamedVisit, GetReferentsSeesTheMembersOfOuroTraverseInOrder) {
  ouro_test::in_fresh_heap([] {
    Ref<Everything> e = make<Everything>();
    e->maybe = make<Leaf>();
    e->one = make<Leaf>();
    auto referents = ouro::gc::get_referents(*e);
    ASSERT_EQ(referents.size(), 2u);
    EXPECT_EQ(referents[0], e->one);
    EXPECT_EQ(referents[1], *e->maybe);
  });
}

}  // namespace
