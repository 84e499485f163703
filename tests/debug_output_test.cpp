// The collector's debug text (ouro/gc.hpp): CPython 3.11's lines,
// line for line, with the C++ type name (docs/design/decisions.md: no
// namespaces, template arguments kept, addresses as %p):
//
//   gc: collecting generation 2...
//   gc: objects in each generation: 3 0 10
//   gc: objects in permanent generation: 0
//   gc: collectable <Node 0x...>            (DEBUG_COLLECTABLE)
//   gc: uncollectable <Resource 0x...>      (DEBUG_UNCOLLECTABLE)
//   gc: done, 2 unreachable, 0 uncollectable, 0.0011s elapsed
//
// The text goes to gc::set_debug_stream's stream, std::cerr by default.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/nodes.hpp"
#include "support/text.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::in_fresh_heap;

using ouro_test::Node;

struct Resource : Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  void finalize() override {
    if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    if (resurrect_into) resurrect_into->push_back(ouro::ref(this));
  }
  Ref<Object> next;
  int sleep_ms = 0;
  std::vector<Ref<Object>>* resurrect_into = nullptr;
};

}  // namespace

namespace deeply::nested {
struct Graph : ouro::Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  ouro::Ref<ouro::Object> next;
};
}  // namespace deeply::nested

template <class T>
struct Box : ouro::Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  ouro::Ref<ouro::Object> next;
};

namespace {

using ouro_test::address;
using ouro_test::lines_of;

// A two-object garbage cycle of T; returns the addresses of both.
template <class T>
std::set<std::string> make_garbage_pair() {
  Ref<T> a = make<T>();
  Ref<T> b = make<T>();
  a->next = b;
  b->next = a;
  return {address(a.get()), address(b.get())};
}

const std::regex kDoneLine(R"(gc: done, (\d+) unreachable, (\d+) uncollectable, (\d+\.\d{4})s elapsed)");

// Restores std::cerr's buffer when it goes.
using CerrCapture = ouro_test::CaptureCerr;

TEST(DebugStats, FullCollectionPrintsCPythonsFourLinesWithGenerationSizesBeforeCollecting) {
  in_fresh_heap([] {
    std::vector<Ref<Node>> old;
    for (int i = 0; i < 10; ++i) old.push_back(make<Node>());
    gc::collect();  // the ten are in generation 2
    Ref<Node> kept = make<Node>();
    make_garbage_pair<Node>();  // generation 0: kept and the pair
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    EXPECT_EQ(gc::collect(2), 2u);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 4u) << out.str();
    EXPECT_EQ(lines[0], "gc: collecting generation 2...");
    EXPECT_EQ(lines[1], "gc: objects in each generation: 3 0 10");
    EXPECT_EQ(lines[2], "gc: objects in permanent generation: 0");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[3], m, kDoneLine)) << lines[3];
    EXPECT_EQ(m[1], "2");
    EXPECT_EQ(m[2], "0");
    EXPECT_EQ(out.str().back(), '\n');
  });
}

TEST(DebugStats, YoungCollectionsNameTheirGenerationAndShowEveryGenerationsSize) {
  if (ouro_test::incremental_under_test()) GTEST_SKIP() << "the generational schedule's generations";
  in_fresh_heap([] {
    std::vector<Ref<Node>> keep;
    keep.push_back(make<Node>());
    gc::collect(1);  // one in generation 2
    keep.push_back(make<Node>());
    gc::collect(0);  // one in generation 1
    keep.push_back(make<Node>());
    keep.push_back(make<Node>());
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    gc::collect(0);
    gc::collect(1);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 8u) << out.str();
    EXPECT_EQ(lines[0], "gc: collecting generation 0...");
    EXPECT_EQ(lines[1], "gc: objects in each generation: 2 1 1");
    EXPECT_EQ(lines[2], "gc: objects in permanent generation: 0");
    EXPECT_TRUE(std::regex_match(lines[3], std::regex(R"(gc: done, 0 unreachable, 0 uncollectable, \d+\.\d{4}s elapsed)")))
        << lines[3];
    EXPECT_EQ(lines[4], "gc: collecting generation 1...");
    EXPECT_EQ(lines[5], "gc: objects in each generation: 0 3 1");
    EXPECT_EQ(lines[6], "gc: objects in permanent generation: 0");
    EXPECT_TRUE(std::regex_match(lines[7], kDoneLine)) << lines[7];
  });
}

TEST(DebugStats, PermanentGenerationLineCountsFrozenObjects) {
  in_fresh_heap([] {
    std::vector<Ref<Node>> keep;
    for (int i = 0; i < 5; ++i) keep.push_back(make<Node>());
    gc::freeze();
    keep.push_back(make<Node>());
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    gc::collect();
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 4u) << out.str();
    EXPECT_EQ(lines[1], "gc: objects in each generation: 1 0 0");
    EXPECT_EQ(lines[2], "gc: objects in permanent generation: 5");
    gc::unfreeze();
  });
}

TEST(DebugStats, DoneLineReportsTheElapsedSecondsWithFourDecimals) {
  in_fresh_heap([] {
    {
      Ref<Resource> slow = make<Resource>();
      slow->next = slow;
      slow->sleep_ms = 30;  // its finalizer runs inside the collection
    }
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    EXPECT_EQ(gc::collect(), 1u);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 4u) << out.str();
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[3], m, kDoneLine)) << lines[3];
    EXPECT_EQ(lines[3].substr(0, 41), "gc: done, 1 unreachable, 0 uncollectable,");
    double seconds = std::stod(m[3]);
    EXPECT_GE(seconds, 0.0290) << "the time is in seconds and covers the finalizers";
    EXPECT_LT(seconds, 10.0);
  });
}

TEST(DebugStats, AutomaticCollectionsPrintTheSameLines) {
  if (ouro_test::incremental_under_test()) GTEST_SKIP() << "the generational schedule's generations";
  in_fresh_heap([] {
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    gc::set_threshold(3);
    std::vector<Ref<Node>> keep;
    for (int i = 0; i < 4; ++i) keep.push_back(make<Node>());  // the 4th allocation collects, before it exists
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 4u) << out.str();
    EXPECT_EQ(lines[0], "gc: collecting generation 0...");
    EXPECT_EQ(lines[1], "gc: objects in each generation: 3 0 0");
    EXPECT_EQ(lines[2], "gc: objects in permanent generation: 0");
    EXPECT_TRUE(std::regex_match(lines[3], std::regex(R"(gc: done, 0 unreachable, 0 uncollectable, \d+\.\d{4}s elapsed)")));
  });
}

// ---------------------------------------------------------------------------
// DEBUG_COLLECTABLE / DEBUG_UNCOLLECTABLE
// ---------------------------------------------------------------------------

TEST(DebugCollectable, OneLinePerUnreachableObjectWithTypeNameAndAddress) {
  in_fresh_heap([] {
    std::set<std::string> expected = make_garbage_pair<Node>();
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_COLLECTABLE);
    EXPECT_EQ(gc::collect(), 2u);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2u) << out.str();
    std::set<std::string> seen;
    const std::regex line_re("gc: collectable <Node (0x[0-9a-f]+)>");
    for (const std::string& line : lines) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(line, m, line_re)) << line;
      seen.insert(m[1]);
    }
    EXPECT_EQ(seen, expected);
  });
}

TEST(DebugCollectable, TypeNamesDropNamespacesAndKeepTemplateArguments) {
  in_fresh_heap([] {
    std::set<std::string> graphs = make_garbage_pair<deeply::nested::Graph>();
    std::set<std::string> boxes = make_garbage_pair<Box<int>>();
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_COLLECTABLE);
    EXPECT_EQ(gc::collect(), 4u);
    std::set<std::string> lines;
    for (const std::string& line : lines_of(out.str())) lines.insert(line);
    std::set<std::string> expected;
    for (const std::string& a : graphs) expected.insert("gc: collectable <Graph " + a + ">");
    for (const std::string& a : boxes) expected.insert("gc: collectable <Box<int> " + a + ">");
    EXPECT_EQ(lines, expected);
  });
}

TEST(DebugCollectable, FullTranscriptUnderLegacyWithStatsCollectableAndUncollectable) {
  in_fresh_heap([] {
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    std::set<std::string> nodes = make_garbage_pair<Node>();
    std::set<std::string> resources = make_garbage_pair<Resource>();
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE | gc::DEBUG_UNCOLLECTABLE);
    EXPECT_EQ(gc::collect(), 4u);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 8u) << out.str();
    EXPECT_EQ(lines[0], "gc: collecting generation 2...");
    EXPECT_EQ(lines[1], "gc: objects in each generation: 4 0 0");
    EXPECT_EQ(lines[2], "gc: objects in permanent generation: 0");
    std::set<std::string> collectable{lines[3], lines[4]};
    std::set<std::string> uncollectable{lines[5], lines[6]};
    std::set<std::string> want_collectable, want_uncollectable;
    for (const std::string& a : nodes) want_collectable.insert("gc: collectable <Node " + a + ">");
    for (const std::string& a : resources) want_uncollectable.insert("gc: uncollectable <Resource " + a + ">");
    EXPECT_EQ(collectable, want_collectable);
    EXPECT_EQ(uncollectable, want_uncollectable);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[7], m, kDoneLine)) << lines[7];
    EXPECT_EQ(m[1], "4") << "unreachable counts collectable + uncollectable";
    EXPECT_EQ(m[2], "2");
    gc::set_debug(0);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 2u);
  });
}

TEST(DebugCollectable, ResurrectedObjectsKeepTheirCollectableLineButAreNotCountedInDone) {
  in_fresh_heap([] {
    std::vector<Ref<Object>> saved;
    std::set<std::string> expected;
    {
      Ref<Resource> a = make<Resource>();
      Ref<Node> b = make<Node>();
      a->next = b;
      b->next = a;
      a->resurrect_into = &saved;
      expected = {address(a.get()), address(b.get())};
    }
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_COLLECTABLE);
    EXPECT_EQ(gc::collect(), 0u);
    std::vector<std::string> lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 6u) << out.str();
    std::set<std::string> seen;
    for (int i : {3, 4}) {
      std::smatch m;
      ASSERT_TRUE(std::regex_match(lines[static_cast<std::size_t>(i)], m,
                                   std::regex("gc: collectable <(?:Node|Resource) (0x[0-9a-f]+)>")))
          << lines[static_cast<std::size_t>(i)];
      seen.insert(m[1]);
    }
    EXPECT_EQ(seen, expected);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(lines[5], m, kDoneLine)) << lines[5];
    EXPECT_EQ(m[1], "0");
    ASSERT_EQ(saved.size(), 1u);
    ouro::ref_cast<Resource>(saved[0])->next.reset();
    ouro::ref_cast<Resource>(saved[0])->resurrect_into = nullptr;
  });
}

TEST(DebugCollectable, FlagsAreIndependent) {
  in_fresh_heap([] {
    std::ostringstream out;
    gc::set_debug_stream(&out);
    gc::set_debug(gc::DEBUG_STATS);
    make_garbage_pair<Node>();
    gc::collect();
    for (const std::string& line : lines_of(out.str()))
      EXPECT_EQ(line.find("collectable <"), std::string::npos) << "DEBUG_STATS alone: " << line;
    out.str("");
    gc::set_debug(gc::DEBUG_UNCOLLECTABLE);
    make_garbage_pair<Node>();
    gc::collect();
    EXPECT_EQ(out.str(), "") << "nothing uncollectable, no stats";
    gc::set_debug(gc::DEBUG_COLLECTABLE);
    make_garbage_pair<Node>();
    gc::collect();
    for (const std::string& line : lines_of(out.str()))
      EXPECT_EQ(line.rfind("gc: collectable <Node 0x", 0), 0u) << "DEBUG_COLLECTABLE alone: " << line;
  });
}

// ---------------------------------------------------------------------------
// Where the text goes
// ---------------------------------------------------------------------------

TEST(DebugStream, NothingIsPrintedWithoutDebugFlags) {
  in_fresh_heap([] {
    std::ostringstream out;
    gc::set_debug_stream(&out);
    EXPECT_EQ(gc::get_debug(), 0u);
    CerrCapture err;
    make_garbage_pair<Node>();
    gc::collect();
    EXPECT_EQ(out.str(), "");
    EXPECT_EQ(err.text(), "");
  });
}

TEST(DebugStream, DefaultIsStdCerr) {
  in_fresh_heap([] {
    CerrCapture err;
    gc::set_debug(gc::DEBUG_STATS);
    gc::collect();
    gc::set_debug(0);
    std::vector<std::string> lines = lines_of(err.text());
    ASSERT_EQ(lines.size(), 4u) << err.text();
    EXPECT_EQ(lines[0], "gc: collecting generation 2...");
  });
}

TEST(DebugStream, SettingNullptrReturnsToStdCerr) {
  in_fresh_heap([] {
    std::ostringstream out;
    CerrCapture err;
    gc::set_debug(gc::DEBUG_STATS);
    gc::set_debug_stream(&out);
    gc::collect(0);
    EXPECT_EQ(err.text(), "");
    EXPECT_EQ(lines_of(out.str()).size(), 4u);
    gc::set_debug_stream(nullptr);
    gc::collect(1);
    gc::set_debug(0);
    EXPECT_EQ(lines_of(out.str()).size(), 4u) << "nothing more goes to the old stream";
    std::vector<std::string> lines = lines_of(err.text());
    ASSERT_EQ(lines.size(), 4u) << err.text();
    EXPECT_EQ(lines[0], "gc: collecting generation 1...");
  });
}

TEST(DebugStream, SwitchingStreamsSendsLaterTextToTheNewOne) {
  in_fresh_heap([] {
    std::ostringstream first, second;
    gc::set_debug(gc::DEBUG_STATS);
    gc::set_debug_stream(&first);
    gc::collect(0);
    gc::set_debug_stream(&second);
    gc::collect(2);
    gc::set_debug(0);
    EXPECT_EQ(lines_of(first.str()).at(0), "gc: collecting generation 0...");
    EXPECT_EQ(lines_of(second.str()).at(0), "gc: collecting generation 2...");
    EXPECT_EQ(lines_of(first.str()).size(), 4u);
    EXPECT_EQ(lines_of(second.str()).size(), 4u);
  });
}

TEST(DebugStream, DebugFlagsRoundTrip) {
  in_fresh_heap([] {
    EXPECT_EQ(gc::get_debug(), 0u);
    gc::set_debug(gc::DEBUG_STATS | gc::DEBUG_SAVEALL);
    EXPECT_EQ(gc::get_debug(), 33u);
    gc::set_debug(0);
    EXPECT_EQ(gc::get_debug(), 0u);
  });
}

}  // namespace
