// inspect::write_dot and inspect::write_html as text (ouro/inspect.hpp):
// what they contain, that roots and garbage are marked, that
// depth and direction are honoured, and that no repr can break out of its
// quoting (dot strings, HTML text, the page's embedded JSON), and that the
// page stays bounded in size and in the user code it runs whatever the
// heap's shape. The page in a real browser is html_browser_test.
#include <gtest/gtest.h>

#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Ref;
using ouro_test::Box;
using ouro_test::in_fresh_heap;

std::string dot_of(const ouro::Object& center, int depth, bool referrers) {
  std::ostringstream os;
  inspect::write_dot(os, center, depth, referrers);
  return os.str();
}

std::string html() {
  std::ostringstream os;
  inspect::write_html(os);
  return os.str();
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(WriteDot, ReferentsWithFieldLabelsAndTheRootMarked) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->children.push_back(make<Box>("c"));
    std::string dot = dot_of(*a, 5, false);
    EXPECT_TRUE(has(dot, "digraph ouro {")) << dot;
    EXPECT_TRUE(has(dot, "label=\"a\\nBox\\n(root)\"")) << dot;
    EXPECT_TRUE(has(dot, "doubleoctagon")) << dot;
    EXPECT_TRUE(has(dot, "label=\"b\\nBox\"")) << dot;
    EXPECT_TRUE(has(dot, "[label=\"next\"]")) << dot;
    EXPECT_TRUE(has(dot, "[label=\"children\"]")) << dot;
    EXPECT_EQ(dot.back(), '\n');
    EXPECT_TRUE(has(dot, "}\n"));
  });
}

TEST(WriteDot, DepthLimitsTheNeighbourhood) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->next = make<Box>("c");
    std::string dot = dot_of(*a, 1, false);
    EXPECT_TRUE(has(dot, "label=\"b\\nBox\""));
    EXPECT_FALSE(has(dot, "label=\"c\\nBox\""));
    EXPECT_FALSE(has(dot_of(*a, 0, false), "label=\"b\\nBox\""));
  });
}

TEST(WriteDot, ReferrersFollowReferencesBackwards) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("a");
    a->next = make<Box>("b");
    a->next->next = make<Box>("c");
    Box* c = a->next->next.get();
    std::string dot = dot_of(*c, 2, true);
    EXPECT_TRUE(has(dot, "label=\"a\\nBox\\n(root)\"")) << dot;
    EXPECT_TRUE(has(dot, "what refers to c"));
    EXPECT_FALSE(has(dot_of(*c, 2, false), "label=\"a\\nBox"));
  });
}

TEST(WriteDot, ReferrersAreFoundAmongObjectsWithoutReferences) {
  in_fresh_heap([] {
    Ref<Box> c = make<Box>("c");
    std::vector<Ref<Box>> keep;
    for (const char* name : {"e1", "r1", "e2", "e3", "r2", "e4"}) {
      keep.push_back(make<Box>(name));
      if (name[0] == 'r') keep.back()->next = c;
    }
    std::string dot = dot_of(*c, 1, true);
    EXPECT_TRUE(has(dot, "label=\"r1\\nBox\\n(root)\"")) << dot;
    EXPECT_TRUE(has(dot, "label=\"r2\\nBox\\n(root)\"")) << dot;
    EXPECT_FALSE(has(dot, "label=\"e")) << dot;
    std::size_t arcs = 0;
    for (std::size_t at = dot.find("[label=\"next\"]"); at != std::string::npos; at = dot.find("[label=\"next\"]", at + 1))
      ++arcs;
    EXPECT_EQ(arcs, 2u) << dot;
  });
}

TEST(WriteDot, GarbageIsMarkedRed) {
  in_fresh_heap([] {
    Box* raw;
    {
      Ref<Box> a = make<Box>("a");
      a->next = a;
      raw = a.get();
    }
    std::string dot = dot_of(*raw, 1, false);
    EXPECT_TRUE(has(dot, "(garbage)"));
    EXPECT_TRUE(has(dot, "color=red"));
    ouro::gc::collect();
  });
}

TEST(WriteDot, QuotesBackslashesAndNewlinesInReprsAreEscaped) {
  in_fresh_heap([] {
    Ref<Box> a = make<Box>("say \"hi\"\\\nnext line\t];");
    std::string dot = dot_of(*a, 1, false);
    EXPECT_TRUE(has(dot, "label=\"say \\\"hi\\\"\\\\\\nnext line ];\\nBox")) << dot;
    // Every line is a statement or a brace: the repr's newline did not leak.
    std::istringstream lines(dot);
    for (std::string line; std::getline(lines, line);)
      EXPECT_TRUE(line == "digraph ouro {" || line == "}" || line.rfind("  ", 0) == 0) << line;
  });
}

TEST(WriteDot, UntrackedCenterNobodyHoldsIsDrawnAlone) {
  in_fresh_heap([] {
    Ref<ouro_test::Holder> h = make<ouro_test::Holder>(nullptr);
    std::string dot = dot_of(*h, 3, true);
    EXPECT_TRUE(has(dot, "holder\\nHolder"));
    EXPECT_TRUE(has(dot, "dashed"));
  });
}

TEST(WriteHtml, SelfContainedPageWithTypesCyclesAndChains) {
  in_fresh_heap([] {
    Ref<Box> parent = make<Box>("parent");
    parent->children.push_back(make<Box>("child"));
    parent->children[0]->next = parent;
    std::string page = html();
    EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_TRUE(has(page, "</html>"));
    EXPECT_TRUE(has(page, "<table id=\"type-table\">"));
    EXPECT_TRUE(has(page, "<tr><td>Box</td><td class=\"num\">2</td>"));
    EXPECT_TRUE(has(page, "Cycle 1: 2 objects"));
    EXPECT_TRUE(has(page, "<span class=\"field\">.children</span>"));
    EXPECT_TRUE(has(page, "id=\"heap-data\""));
    EXPECT_TRUE(has(page, "reachable from a root"));
    // Nothing to fetch: no external scripts, styles, images or fonts.
    EXPECT_FALSE(has(page, "src="));
    EXPECT_FALSE(has(page, "<link"));
    EXPECT_FALSE(has(page, "https://"));
    EXPECT_FALSE(has(page, "url(http"));
    EXPECT_FALSE(has(page, "@import"));
  });
}

TEST(WriteHtml, ReprsCannotBreakOutOfTextOrTheEmbeddedJson) {
  in_fresh_heap([] {
    Ref<Box> evil = make<Box>("</script><script>alert(\"x\")</script>&amp;<b>");
    evil->next = evil;
    std::string page = html();
    EXPECT_FALSE(has(page, "<script>alert")) << "raw markup from a repr reached the page";
    EXPECT_FALSE(has(page, "<b>"));
    EXPECT_TRUE(has(page, "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)"));
    EXPECT_TRUE(has(page, "\\u003c/script\\u003e"));
    // Exactly the page's own two script blocks.
    std::size_t scripts = 0;
    for (std::size_t at = 0; (at = page.find("<script", at)) != std::string::npos; ++at) ++scripts;
    EXPECT_EQ(scripts, 2u);
  });
}

TEST(WriteHtml, EmptyHeapStillMakesAPage) {
  in_fresh_heap([] {
    std::string page = html();
    EXPECT_TRUE(has(page, "0 tracked objects"));
    EXPECT_TRUE(has(page, "No reference cycles"));
  });
}

// Counts the user code that a report runs on it.
std::size_t traversals = 0, reprs = 0;
struct Counted : ouro::Object {
  void traverse(ouro::Visitor& v) override {
    ++traversals;
    v.named("next", next);
    v.named("more", more);
  }
  std::string repr() const override {
    ++reprs;
    return "counted";
  }
  Ref<Counted> next;
  std::vector<Ref<Counted>> more;
};

// Heap shapes of n objects, each kept alive (or not) by what it returns.
struct Shape {
  const char* name;
  std::function<std::vector<Ref<Counted>>(std::size_t n)> build;
};

// `count` new objects, each holding the one made before it, the first
// holding `end`: the last one made is the head, `end` the farthest object.
Ref<Counted> chain_onto(Ref<Counted> end, std::size_t count) {
  Ref<Counted> head = std::move(end);
  for (std::size_t i = 0; i < count; ++i) {
    Ref<Counted> h = make<Counted>();
    h->next = std::move(head);
    head = std::move(h);
  }
  return head;
}

const std::vector<Shape>& shapes() {
  static const std::vector<Shape> all = {
      // The first object made is the farthest from the root: a why-alive
      // chain of n - 1 references.
      {"LongChainHeldAtTheLastObjectMade", [](std::size_t n) { return std::vector{chain_onto(make<Counted>(), n - 1)}; }},
      // The same, with five cycles at the far end: six chains of n - 10.
      {"LongChainWithCyclesAtItsFarEnd",
       [](std::size_t n) {
         Ref<Counted> end = make<Counted>();
         for (int c = 0; c < 5; ++c) {
           Ref<Counted> a = make<Counted>();
           a->next = make<Counted>();
           a->next->next = a;
           end->more.push_back(a);
         }
         return std::vector{chain_onto(std::move(end), n - 11)};
       }},
      {"OneRingOfEveryObject",
       [](std::size_t n) {
         Ref<Counted> first = make<Counted>();
         Counted* at = first.get();
         for (std::size_t i = 1; i < n; ++i) at = (at->next = make<Counted>()).get();
         at->next = first;
         return std::vector<Ref<Counted>>{first};
       }},
      {"ManySmallGarbageCycles",
       [](std::size_t n) {
         for (std::size_t i = 0; i + 1 < n; i += 2) {
           Ref<Counted> a = make<Counted>();
           a->next = make<Counted>();
           a->next->next = a;
         }
         return std::vector<Ref<Counted>>{};
       }},
      {"OneObjectHoldingAllOthers",
       [](std::size_t n) {
         Ref<Counted> hub = make<Counted>();
         for (std::size_t i = 1; i < n; ++i) hub->more.push_back(make<Counted>());
         return std::vector<Ref<Counted>>{hub};
       }},
      {"DenseGroupEachReferringToEightOthers",
       [](std::size_t n) {
         std::vector<Ref<Counted>> all;
         for (std::size_t i = 0; i < n; ++i) all.push_back(make<Counted>());
         for (std::size_t i = 0; i < n; ++i)
           for (std::size_t k = 1; k <= 8; ++k) all[i]->more.push_back(all[(i + k * 7919) % n]);
         return std::vector<Ref<Counted>>{all[0]};
       }},
  };
  return all;
}

// The page's caps (4000 objects in the explorer, 30 cycles of 12 references,
// 8 chains of 12 references) bound its size and its repr() calls; 4 MB and
// 6000 leave room for the page's own text and the object links.
constexpr std::size_t kPageBytesBound = 4 << 20;
constexpr std::size_t kReprCallsBound = 6000;

class WriteHtmlOnAShape : public ::testing::TestWithParam<std::size_t> {};

TEST_P(WriteHtmlOnAShape, PageSizeAndUserCodeRunAreBoundedTraverseRunsOncePerObject) {
  const Shape& shape = shapes()[GetParam()];
  constexpr std::size_t kObjects = 300'000;
  in_fresh_heap([&] {
    ouro::gc::disable();
    std::vector<Ref<Counted>> keep = shape.build(kObjects);
    traversals = reprs = 0;
    std::string page = html();
    EXPECT_LT(page.size(), kPageBytesBound);
    EXPECT_LE(reprs, kReprCallsBound);
    EXPECT_EQ(traversals, kObjects);  // one traverse() per object: the graph is read once
    EXPECT_TRUE(has(page, "</html>"));
    keep.clear();
    ouro::gc::collect();
  });
}

INSTANTIATE_TEST_SUITE_P(Shapes, WriteHtmlOnAShape, ::testing::Range<std::size_t>(0, 6),
                         [](const auto& info) { return std::string(shapes()[info.param].name); });

TEST(WriteHtml, ALongChainShowsItsEndsAndHowManyReferencesLieBetween) {
  in_fresh_heap([] {
    ouro::gc::disable();
    std::vector<Ref<Counted>> keep = shapes()[0].build(1000);
    std::string page = html();
    EXPECT_TRUE(has(page, "&hellip; 987 more references &hellip;")) << "999 references, 12 shown";
    keep.clear();
  });
}

}  // namespace
