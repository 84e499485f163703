// Allocation sites (ouro/inspect.hpp, ALLOCATION SITES): make<T>() records
// the file, line and function of its call when the thread asks for it
// (inspect::set_allocation_sites): every make, or about one in n at random.
// The site lives as long as the object, and shows in allocation_site(),
// site_stats(), site_growth() and write_html(). Off by default; per thread.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "allocation_sites.hpp"  // recorded_sites: the table's entries
#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::Box;
using ouro_test::in_fresh_heap;

bool in_this_file(const inspect::Site& s) { return std::strstr(s.file, "allocation_sites_test.cpp") != nullptr; }

// "line N" of the recorded site, or "none".
std::string line_of(const Object& o) {
  std::optional<inspect::Site> s = inspect::allocation_site(o);
  if (!s) return "none";
  return in_this_file(*s) ? "line " + std::to_string(s->line) : std::string("elsewhere: ") + s->file;
}

std::string line_after(int line) { return "line " + std::to_string(line + 1); }

// The entries of `type` in a site_stats() or site_growth() list, in order.
std::vector<inspect::SiteStat> sites_of(const std::vector<inspect::SiteStat>& sites, const std::string& type) {
  std::vector<inspect::SiteStat> out;
  for (const inspect::SiteStat& s : sites)
    if (s.type == type) out.push_back(s);
  return out;
}

// Untracked, with constructors of 0 to 9 arguments.
struct Args : Object {
  template <class... A>
  explicit Args(A...) {}
};

TEST(AllocationSites, AreOffByDefaultAndThenRecordNothing) {
  in_fresh_heap([] {
    EXPECT_EQ(inspect::get_allocation_sites(), 0u);
    const std::size_t before = ouro::detail::recorded_sites();
    Ref<Box> a = make<Box>("a");
    EXPECT_EQ(line_of(*a), "none");
    EXPECT_TRUE(inspect::site_stats().empty());
    EXPECT_EQ(ouro::detail::recorded_sites(), before);
  });
}

TEST(AllocationSites, EveryMakeRecordsTheFileLineAndFunctionOfItsCall) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    EXPECT_EQ(inspect::get_allocation_sites(), 1u);
    const int line = __LINE__;
    Ref<Box> a = make<Box>("a");
    EXPECT_EQ(line_of(*a), line_after(line));
    std::optional<inspect::Site> s = inspect::allocation_site(*a);
    ASSERT_TRUE(s);
    EXPECT_STREQ(s->function, "operator()");  // the lambda that called make
  });
}

TEST(AllocationSites, EachNumberOfConstructorArgumentsUpToEightHasItsSite) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    const int line = __LINE__;
    std::vector<Ref<Args>> made = {
        make<Args>(),           make<Args>(1),          make<Args>(1, 2),       make<Args>(1, 2, 3),
        make<Args>(1, 2, 3, 4), make<Args>(1, 2, 3, 4, 5), make<Args>(1, 2, 3, 4, 5, 6),
        make<Args>(1, 2, 3, 4, 5, 6, 7), make<Args>(1, 2, 3, 4, 5, 6, 7, 8)};
    for (const Ref<Args>& a : made) {  // each on its own line of the list
      std::optional<inspect::Site> s = inspect::allocation_site(*a);
      ASSERT_TRUE(s);
      EXPECT_TRUE(in_this_file(*s));
      EXPECT_GT(s->line, static_cast<unsigned>(line));
      EXPECT_LE(s->line, static_cast<unsigned>(line + 4));
    }
    // Nine arguments: the variadic make, which has no default argument left.
    EXPECT_EQ(line_of(*make<Args>(1, 2, 3, 4, 5, 6, 7, 8, 9)), "none");
  });
}

// Makes that take make's general path: a virtual base, an own operator new,
// a make nested in a constructor.
struct VirtualBase : virtual Object {
  Ref<Object> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};
struct OwnNew : Object {
  static void* operator new(std::size_t size) { return ::operator new(size); }
  static void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
};
struct MakesInItsConstructor : Object {
  MakesInItsConstructor() : inner(make<Box>("inner")) {}
  Ref<Box> inner;
  OURO_TRAVERSE(inner)
};

TEST(AllocationSites, MakesOfTheGeneralPathRecordTheirSitesToo) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    const int line = __LINE__;
    Ref<VirtualBase> v = make<VirtualBase>();
    Ref<OwnNew> o = make<OwnNew>();
    EXPECT_EQ(line_of(*v), line_after(line));
    EXPECT_EQ(line_of(*o), "line " + std::to_string(line + 2));
    const int outer = __LINE__;
    Ref<MakesInItsConstructor> m = make<MakesInItsConstructor>();
    EXPECT_EQ(line_of(*m), line_after(outer));
    std::optional<inspect::Site> inner = inspect::allocation_site(*m->inner);
    ASSERT_TRUE(inner);
    EXPECT_STREQ(inner->function, "MakesInItsConstructor");
  });
}

// Turns sites on from its constructor (the make that builds it is armed).
struct TurnsSitesOn : Object {
  TurnsSitesOn() { inspect::set_allocation_sites(1); }
};

TEST(AllocationSites, TurnedOnInsideAConstructorTheyStayOnAfterItsMake) {
  in_fresh_heap([] {
    const int line = __LINE__;
    Ref<TurnsSitesOn> t = make<TurnsSitesOn>();
    Ref<Box> after = make<Box>("after");
    EXPECT_EQ(line_of(*t), line_after(line)) << "its make ends with sites on";
    EXPECT_EQ(line_of(*after), "line " + std::to_string(line + 2));
  });
}

TEST(AllocationSites, AnObjectLeavesTheTableWhenItDiesByRefcountOrByCollection) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    const std::size_t before = ouro::detail::recorded_sites();
    {
      Ref<Box> a = make<Box>("a");
      Ref<Args> untracked = make<Args>();
      EXPECT_EQ(ouro::detail::recorded_sites(), before + 2);
    }
    EXPECT_EQ(ouro::detail::recorded_sites(), before);
    {
      Ref<Box> a = make<Box>("c1");
      a->next = make<Box>("c2");
      a->next->next = a;
    }
    EXPECT_EQ(ouro::detail::recorded_sites(), before + 2);
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ouro::detail::recorded_sites(), before);
  });
}

TEST(AllocationSites, AConstructorThatThrowsRecordsNothingAndTheNextMakeIsRecorded) {
  struct Throws : Object {
    Throws() { throw std::runtime_error("no"); }
  };
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    const std::size_t before = ouro::detail::recorded_sites();
    EXPECT_THROW(make<Throws>(), std::runtime_error);
    EXPECT_EQ(ouro::detail::recorded_sites(), before);
    const int line = __LINE__;
    Ref<Box> a = make<Box>("a");
    EXPECT_EQ(line_of(*a), line_after(line));
  });
}

TEST(AllocationSites, TurningThemOffKeepsTheSitesAlreadyRecorded) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    const int line = __LINE__;
    Ref<Box> a = make<Box>("a");
    inspect::set_allocation_sites(0);
    Ref<Box> b = make<Box>("b");
    EXPECT_EQ(line_of(*a), line_after(line));
    EXPECT_EQ(line_of(*b), "none");
  });
}

TEST(AllocationSites, BelongToTheThreadThatSetsThem) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    in_fresh_heap([] {
      EXPECT_EQ(inspect::get_allocation_sites(), 0u);
      EXPECT_EQ(line_of(*make<Box>("other thread")), "none");
    });
    EXPECT_EQ(inspect::get_allocation_sites(), 1u);
  });
}

TEST(AllocationSites, AnObjectThatOutlivesItsThreadLeavesTheTableWhereItDies) {
  const std::size_t before = ouro::detail::recorded_sites();
  Ref<Args> kept;
  in_fresh_heap([&] {
    inspect::set_allocation_sites(1);
    kept = make<Args>();
  });
  EXPECT_EQ(ouro::detail::recorded_sites(), before + 1);
  EXPECT_TRUE(inspect::allocation_site(*kept));
  kept.reset();  // dies on this thread
  EXPECT_EQ(ouro::detail::recorded_sites(), before);
}

TEST(AllocationSites, SampledOneInNAtRandomWithoutMissingAPeriodicSite) {
  in_fresh_heap([] {
    gc::disable();
    constexpr std::size_t kEvery = 16, kMade = 64'000;
    inspect::set_allocation_sites(kEvery);
    EXPECT_EQ(inspect::get_allocation_sites(), kEvery);
    std::vector<Ref<Box>> even, odd;
    const int line = __LINE__;
    for (std::size_t i = 0; i < kMade / 2; ++i) {
      even.push_back(make<Box>("even"));
      odd.push_back(make<Box>("odd"));
    }
    const std::vector<inspect::SiteStat> box = sites_of(inspect::site_stats(), "Box");
    ASSERT_EQ(box.size(), 2u);
    std::size_t recorded = 0;
    for (const inspect::SiteStat& s : box) {
      EXPECT_TRUE(in_this_file(s.site));
      EXPECT_TRUE(s.site.line == static_cast<unsigned>(line + 2) || s.site.line == static_cast<unsigned>(line + 3));
      // A loop of period 2 with a fixed interval of 16 would catch one
      // line only; each gets about half.
      EXPECT_GT(s.count, kMade / kEvery / 4);
      recorded += s.count;
    }
    EXPECT_GT(recorded, kMade / kEvery / 2);
    EXPECT_LT(recorded, kMade / kEvery * 2);
  });
}

TEST(AllocationSites, SiteStatsAndSiteGrowthCountTheObjectsOfEachSiteMostFirst) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    std::vector<Ref<Box>> keep;
    const int line = __LINE__;
    for (int i = 0; i < 3; ++i) keep.push_back(make<Box>("x"));
    keep.push_back(make<Box>("y"));
    inspect::Snapshot before = inspect::snapshot();
    for (int i = 0; i < 2; ++i) keep.push_back(make<Box>("y"));  // line + 4
    inspect::Snapshot after = inspect::snapshot();

    const std::vector<inspect::SiteStat> box = sites_of(inspect::site_stats(), "Box");
    ASSERT_EQ(box.size(), 3u);
    EXPECT_EQ(box[0].site.line, static_cast<unsigned>(line + 1));
    EXPECT_EQ(box[0].count, 3u);
    EXPECT_EQ(box[1].site.line, static_cast<unsigned>(line + 4));
    EXPECT_EQ(box[1].count, 2u);
    EXPECT_EQ(box[2].site.line, static_cast<unsigned>(line + 2));
    EXPECT_EQ(box[2].count, 1u);
    EXPECT_EQ(after.sites().size(), 3u) << "the snapshot keeps them";

    std::vector<inspect::TypeStat> grew = inspect::growth(before, after);
    ASSERT_EQ(grew.size(), 1u);
    EXPECT_EQ(grew[0].count, 2u);
    std::vector<inspect::SiteStat> grew_at = inspect::site_growth(before, after);
    ASSERT_EQ(grew_at.size(), 1u);
    EXPECT_EQ(grew_at[0].type, "Box");
    EXPECT_EQ(grew_at[0].site.line, static_cast<unsigned>(line + 4));
    EXPECT_EQ(grew_at[0].count, 2u);
  });
}

TEST(AllocationSites, LeaveTypeStatsTheThreeMembersThatCodeUnpacks) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    Ref<Box> a = make<Box>("a"), b = make<Box>("b");
    std::size_t boxes = 0;
    for (const auto& [type, count, bytes] : inspect::type_stats())  // compiles with exactly three members
      if (type == "Box") {
        EXPECT_EQ(count, 2u);
        EXPECT_EQ(bytes, 2 * sizeof(Box));
        ++boxes;
      }
    EXPECT_EQ(boxes, 1u);
    EXPECT_EQ(sites_of(inspect::site_stats(), "Box").size(), 1u) << "the sites are their own query";
  });
}

TEST(AllocationSites, TheHtmlReportShowsThemInTheTypeTableAndTheChains) {
  in_fresh_heap([] {
    inspect::set_allocation_sites(1);
    const int line = __LINE__;
    Ref<Box> a = make<Box>("parent");
    a->children.push_back(make<Box>("child"));
    a->children[0]->next = a;
    std::ostringstream os;
    inspect::write_html(os);
    const std::string page = os.str(), site = "allocation_sites_test.cpp:" + std::to_string(line + 1);
    const std::size_t types = page.find("id=\"type-table\""), chains = page.find("id=\"chains\"");
    ASSERT_NE(types, std::string::npos);
    ASSERT_NE(chains, std::string::npos);
    EXPECT_NE(page.find(site, types), std::string::npos);
    EXPECT_LT(page.find(site, types), chains) << "in the type table";
    EXPECT_NE(page.find(site, chains), std::string::npos) << "in a why-alive chain";
    a->children.clear();
  });
}

}  // namespace
