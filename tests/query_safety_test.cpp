// The queries (gc::get_objects, get_referrers, get_referents and every
// inspect function) when user code changes the heap under them, and when
// they are called from user code that a collection runs.
//
//   - A traverse() that a query calls may make objects (which would start an
//     automatic collection), reset a member (dropping the last reference to
//     an object the walk reaches later) or call gc::collect(): the query
//     still answers about the heap as it was when it started, reads no
//     freed memory, defers automatic collection until it returns, and an
//     explicit collect() inside it returns 0. Refcounts are as before once
//     it returns; what was released meanwhile dies then.
//   - A query from a finalizer, a destructor of collected garbage, a gc
//     callback (start, stop) or a weak-reference callback run by a
//     collection sees the live heap only: the garbage that the collection
//     is working on is not part of it.
//   - A query from a traverse() that the collector runs is refused with
//     std::logic_error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/forensic_nodes.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro::WeakRef;
using ouro_test::Box;
using ouro_test::in_fresh_heap;
using ouro_test::path_of;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string sorted_reprs(const std::vector<Ref<Object>>& objects) {
  std::vector<std::string> names;
  for (const Ref<Object>& o : objects) names.push_back(o->repr());
  std::sort(names.begin(), names.end());
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string cycles_text(const std::vector<inspect::Cycle>& cycles) {
  std::vector<std::string> each;
  for (const inspect::Cycle& c : cycles) each.push_back(sorted_reprs(c.objects) + (c.garbage ? ":garbage" : ":alive"));
  std::sort(each.begin(), each.end());
  std::string out;
  for (const std::string& c : each) out += (out.empty() ? "" : " ") + c;
  return out;
}

std::string types_text(const std::vector<inspect::TypeStat>& types) {
  std::string out;
  for (const inspect::TypeStat& t : types) out += (out.empty() ? "" : " ") + t.type + ":" + std::to_string(t.count);
  return out;
}

// Runs a query, turning an exception into text (hooks run in destructors
// and callbacks, where nothing may escape).
std::string answer_of(const std::function<std::string()>& query) {
  try {
    return query();
  } catch (const std::invalid_argument& e) {
    return std::string("invalid_argument: ") + e.what();
  } catch (const std::logic_error& e) {
    return std::string("logic_error: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  }
}

// ---------------------------------------------------------------------------
// The heap every test asks about
// ---------------------------------------------------------------------------
//
//   live-a <-> live-b          a live cycle (held by a local)
//   live-root -> live-leaf     a live chain (held by a local)
struct LiveHeap {
  Ref<Box> a, root;
  Box* b = nullptr;
  Box* leaf = nullptr;
  LiveHeap() {
    a = make<Box>("live-a");
    a->next = make<Box>("live-b");
    a->next->next = a;
    b = a->next.get();
    root = make<Box>("live-root");
    root->children.push_back(make<Box>("live-leaf"));
    leaf = root->children[0].get();
  }
};

// One query family: how to ask, and what the live heap's answer is. `lists`
// queries enumerate the heap: `doomed` (a repr or type of the garbage)
// shows up in their answer exactly when that garbage is part of the heap.
struct Query {
  const char* name;
  std::function<std::string(const LiveHeap&)> ask;
  std::string live_answer;  // exact answer when !lists, a part of it otherwise
  bool lists;
};

const std::vector<Query>& queries() {
  static const std::vector<Query> all = {
      {"GetObjects", [](const LiveHeap&) { return sorted_reprs(gc::get_objects()); }, "live-a,live-b,live-leaf", true},
      {"GetReferrers", [](const LiveHeap& h) { return sorted_reprs(gc::get_referrers(*h.b)); }, "live-a", false},
      {"GetReferents", [](const LiveHeap& h) { return sorted_reprs(gc::get_referents(*h.root)); }, "live-leaf", false},
      {"WhyAlive", [](const LiveHeap& h) { return path_of(inspect::why_alive(*h.leaf)); }, "live-root -> live-leaf",
       false},
      {"IsRoot",
       [](const LiveHeap& h) {
         return std::string(inspect::is_root(*h.root) ? "root" : "-") + (inspect::is_root(*h.leaf) ? " leaf" : " -");
       },
       "root -", false},
      {"FindCycles", [](const LiveHeap&) { return cycles_text(inspect::find_cycles()); }, "live-a,live-b:alive", true},
      {"FindCyclesOf", [](const LiveHeap& h) { return cycles_text(inspect::find_cycles(*h.b)); },
       "live-a,live-b:alive", false},
      {"TypeStats", [](const LiveHeap&) { return types_text(inspect::type_stats()); }, "Box:4", true},
      {"Snapshot", [](const LiveHeap&) { return types_text(inspect::snapshot().types()); }, "Box:4", true},
      {"WriteDot",
       [](const LiveHeap& h) {
         std::ostringstream os;
         inspect::write_dot(os, *h.root, 2, false);
         return contains(os.str(), "live-leaf") && contains(os.str(), "(root)") ? std::string("leaf, root")
                                                                                : os.str();
       },
       "leaf, root", false},
      {"WriteHtml",
       [](const LiveHeap&) {
         std::ostringstream os;
         inspect::write_html(os);
         return os.str();
       },
       "live-a", true},
  };
  return all;
}

void expect_live_answer(const Query& q, const std::string& answer, bool doomed_visible) {
  if (!q.lists) {
    EXPECT_EQ(answer, q.live_answer);
    return;
  }
  EXPECT_TRUE(contains(answer, q.live_answer)) << answer.substr(0, 2000);
  EXPECT_EQ(contains(answer, "doomed") || contains(answer, "Doomed"), doomed_visible) << answer.substr(0, 2000);
}

// ---------------------------------------------------------------------------
// User code that changes the heap under a query
// ---------------------------------------------------------------------------

// A tracked object whose traverse() runs `once` the first time it is called
// after being armed (any traverse: the query's, or the collector's).
struct Meddler : Object {
  explicit Meddler(std::string n) : name(std::move(n)) {}
  std::string repr() const override { return name; }
  void traverse(ouro::Visitor& v) override {
    v.named("victim", victim);
    if (!once) return;
    std::function<void()> run = std::move(once);
    once = nullptr;
    run();
  }
  std::string name;
  Ref<Box> victim;
  std::function<void()> once;
};

enum class Meddling { makes, resets, collects };

const char* meddling_name(Meddling m) {
  switch (m) {
    case Meddling::makes: return "MakesObjects";
    case Meddling::resets: return "ResetsAMember";
    case Meddling::collects: return "Collects";
  }
  return "?";
}

// The heap for the meddling tests, made with automatic collection off so
// that nothing is collected before the query, in this table order:
//   meddler -> victim -> victim-tail   (the victim is held by the meddler only)
//   the live heap
//   doomed-1 <-> doomed-2              (a garbage cycle)
// then the threshold is 1 and collection enabled: any tracked make collects.
struct MeddledHeap {
  Ref<Meddler> meddler;
  std::unique_ptr<LiveHeap> live;
  WeakRef<Box> victim, doomed;
  std::size_t collected_inside = SIZE_MAX;
  MeddledHeap() {
    gc::disable();
    meddler = make<Meddler>("meddler");
    meddler->victim = make<Box>("victim");
    meddler->victim->next = make<Box>("victim-tail");
    victim = WeakRef<Box>(meddler->victim);
    live = std::make_unique<LiveHeap>();
    Ref<Box> d1 = make<Box>("doomed-1");
    d1->next = make<Box>("doomed-2");
    d1->next->next = d1;
    doomed = WeakRef<Box>(d1);
    gc::set_threshold(1);
    gc::enable();
  }
  void arm(Meddling m) {
    switch (m) {
      case Meddling::makes:
        meddler->once = [] {
          for (int i = 0; i < 3; ++i) {
            Ref<Box> made = make<Box>("newborn");
            made->next = made;  // garbage once dropped: only a collection frees it
          }
        };
        break;
      case Meddling::resets: meddler->once = [this] { meddler->victim.reset(); }; break;
      case Meddling::collects: meddler->once = [this] { collected_inside = gc::collect(); }; break;
    }
  }
};

// The queries that call traverse() (the others never run user code).
const std::vector<const char*> kWalkingQueries = {"GetReferrers", "WhyAlive",  "IsRoot",   "FindCycles",
                                                  "FindCyclesOf", "WriteDot", "WriteHtml"};

const Query& query_named(const std::string& name) {
  for (const Query& q : queries())
    if (q.name == name) return q;
  throw std::out_of_range(name);
}

class QueryWhileTraverseMeddles : public ::testing::TestWithParam<std::tuple<const char*, Meddling>> {};

TEST_P(QueryWhileTraverseMeddles, AnswersAboutTheHeapAsItWasAndReadsNothingFreed) {
  const Query& q = query_named(std::get<0>(GetParam()));
  const Meddling meddling = std::get<1>(GetParam());
  in_fresh_heap([&] {
    MeddledHeap heap;
    const auto collections = gc::get_stats()[0].collections + gc::get_stats()[1].collections +
                             gc::get_stats()[2].collections;
    const std::size_t rc_a = ouro::refcount(*heap.live->a), rc_b = ouro::refcount(*heap.live->b);
    heap.arm(meddling);
    std::string answer = q.ask(*heap.live);
    heap.meddler->once = nullptr;
    // The doomed cycle was part of the heap when the query started.
    expect_live_answer(q, answer, q.name == std::string("FindCycles") || q.name == std::string("WriteHtml"));
    if (q.name == std::string("FindCycles")) {
      EXPECT_TRUE(contains(answer, "doomed-1,doomed-2:garbage")) << answer;
    }
    EXPECT_FALSE(contains(answer, "newborn")) << "an object made during the walk is not part of the answer";
    // No collection ran under the query, refcounts are as they were.
    EXPECT_EQ(gc::get_stats()[0].collections + gc::get_stats()[1].collections + gc::get_stats()[2].collections,
              collections);
    EXPECT_EQ(ouro::refcount(*heap.live->a), rc_a);
    EXPECT_EQ(ouro::refcount(*heap.live->b), rc_b);
    EXPECT_FALSE(heap.doomed.expired());
    if (meddling == Meddling::collects) {
      EXPECT_EQ(heap.collected_inside, 0u);
    }
    if (meddling == Meddling::resets) {
      EXPECT_TRUE(heap.victim.expired()) << "released during the query: dies after";
    }
    // The deferred collection happens at the next tracked allocation.
    make<Box>("after");
    EXPECT_GT(gc::get_stats()[0].collections + gc::get_stats()[1].collections + gc::get_stats()[2].collections,
              collections);
    gc::collect();
    EXPECT_TRUE(heap.doomed.expired());
  });
}

INSTANTIATE_TEST_SUITE_P(Queries, QueryWhileTraverseMeddles,
                         ::testing::Combine(::testing::ValuesIn(kWalkingQueries),
                                            ::testing::Values(Meddling::makes, Meddling::resets, Meddling::collects)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param)) + "_" + meddling_name(std::get<1>(info.param));
                         });

TEST(QueryWhileTraverseMeddles, ACycleMadeDuringTheWalkIsInTheNextAnswer) {
  in_fresh_heap([] {
    MeddledHeap heap;
    Ref<Box> kept;
    heap.meddler->once = [&] {
      kept = make<Box>("new-1");
      kept->next = make<Box>("new-2");
      kept->next->next = kept;
    };
    EXPECT_FALSE(contains(cycles_text(inspect::find_cycles()), "new-1"));
    EXPECT_TRUE(contains(cycles_text(inspect::find_cycles()), "new-1,new-2:alive"));
  });
}

TEST(QueryWhileTraverseMeddles, AnUntrackedSubjectReleasedDuringTheWalkIsStillAnswered) {
  in_fresh_heap([] {
    Ref<ouro_test::Anon> holder = make<ouro_test::Anon>("holder-of-untracked");
    holder->link = make<ouro_test::Holder>(nullptr);
    Object* untracked = holder->link.get();
    Ref<Meddler> late = make<Meddler>("late");  // traversed after the holder
    late->once = [&] { holder->link.reset(); };
    EXPECT_EQ(path_of(inspect::why_alive(*untracked)), "holder-of-untracked -> holder");
    EXPECT_FALSE(holder->link);
  });
}

// ---------------------------------------------------------------------------
// Queries from user code that a collection runs
// ---------------------------------------------------------------------------

// Garbage with hooks: a finalizer and a destructor that run a callable.
struct Doomed : Box {
  using Box::Box;
  void finalize() override {
    if (on_finalize) on_finalize();
  }
  ~Doomed() override {
    if (on_destroy) on_destroy();
  }
  std::function<void()> on_finalize, on_destroy;
};

enum class Context { finalizer, destructor, gc_start, gc_stop, weak_callback };

const char* context_name(Context c) {
  switch (c) {
    case Context::finalizer: return "FromAFinalizer";
    case Context::destructor: return "FromADestructorOfCollectedGarbage";
    case Context::gc_start: return "FromAGcCallbackAtStart";
    case Context::gc_stop: return "FromAGcCallbackAtStop";
    case Context::weak_callback: return "FromAWeakCallbackRunByACollection";
  }
  return "?";
}

// Makes garbage whose reclamation runs `hook` once in the context asked
// for, then collects. In table order: doomed-0 (a self loop, destroyed first
// by the collection), doomed-1 <-> doomed-2 with the hook on doomed-2.
// Returns whether the hook ran.
bool collect_running(Context context, const std::function<void()>& hook) {
  bool ran = false;
  auto once = [&] {
    if (ran) return;
    ran = true;
    hook();
  };
  std::size_t callback = 0;
  WeakRef<Doomed> weak;
  {
    Ref<Doomed> zero = make<Doomed>("doomed-0");
    zero->next = zero;
    Ref<Doomed> one = make<Doomed>("doomed-1");
    Ref<Doomed> two = make<Doomed>("doomed-2");
    one->next = two;
    two->next = one;
    switch (context) {
      case Context::finalizer: two->on_finalize = once; break;
      case Context::destructor: two->on_destroy = once; break;
      case Context::weak_callback: weak = WeakRef<Doomed>(two, [&](WeakRef<Doomed>&) { once(); }); break;
      case Context::gc_start:
      case Context::gc_stop: {
        gc::Phase wanted = context == Context::gc_start ? gc::Phase::start : gc::Phase::stop;
        callback = gc::add_callback([&, wanted](gc::Phase p, const gc::CollectionInfo&) {
          if (p == wanted) once();
        });
        break;
      }
    }
  }
  EXPECT_EQ(gc::collect(), 3u);
  if (callback) gc::remove_callback(callback);
  return ran;
}

class QueryInsideACollection : public ::testing::TestWithParam<std::tuple<Context, int>> {};

TEST_P(QueryInsideACollection, SeesTheLiveHeapOnly) {
  const Context context = std::get<0>(GetParam());
  const Query& q = queries()[static_cast<std::size_t>(std::get<1>(GetParam()))];
  in_fresh_heap([&] {
    LiveHeap live;
    std::string answer = "(not run)";
    EXPECT_TRUE(collect_running(context, [&] { answer = answer_of([&] { return q.ask(live); }); }));
    // Only at the start of a collection is the garbage still part of the heap.
    expect_live_answer(q, answer, context == Context::gc_start);
    // And once it is over, the same answer.
    expect_live_answer(q, answer_of([&] { return q.ask(live); }), false);
  });
}

INSTANTIATE_TEST_SUITE_P(Queries, QueryInsideACollection,
                         ::testing::Combine(::testing::Values(Context::finalizer, Context::destructor,
                                                              Context::gc_start, Context::gc_stop,
                                                              Context::weak_callback),
                                            ::testing::Range(0, 11)),
                         [](const auto& info) {
                           return std::string(queries()[static_cast<std::size_t>(std::get<1>(info.param))].name) +
                                  "_" + context_name(std::get<0>(info.param));
                         });

// A self loop that asks about itself from its finalizer or its destructor.
struct AsksAboutItself : Box {
  using Box::Box;
  void finalize() override {
    if (in_finalizer) ask();
  }
  ~AsksAboutItself() override {
    if (!in_finalizer) ask();
  }
  void ask() {
    auto self = [this]() -> AsksAboutItself& { return *this; };
    answers = {
        answer_of([&] { return path_of(inspect::why_alive(self())); }),
        answer_of([&] { return std::string(inspect::is_root(self()) ? "root" : "not a root"); }),
        answer_of([&] { return cycles_text(inspect::find_cycles(self())); }),
        answer_of([&] { return sorted_reprs(gc::get_referrers(self())); }),
        answer_of([&] { return sorted_reprs(gc::get_referents(self())); }),
        answer_of([&] {
          std::ostringstream os;
          inspect::write_dot(os, self(), 2, true);
          return std::string(contains(os.str(), "doomed-asks") ? "drawn" : "missing");
        }),
        answer_of([] { return cycles_text(inspect::find_cycles()); }),
    };
    *out = answers;
  }
  bool in_finalizer = false;
  std::vector<std::string> answers;
  std::vector<std::string>* out = nullptr;
};

// Collects doomed-0 (a self loop, destroyed first) and doomed-asks (a self
// loop asking about itself); returns its answers.
std::vector<std::string> answers_about_itself(bool in_finalizer) {
  std::vector<std::string> answers;
  {
    Ref<Box> zero = make<Box>("doomed-0");
    zero->next = zero;
    Ref<AsksAboutItself> self = make<AsksAboutItself>("doomed-asks");
    self->next = self;
    self->in_finalizer = in_finalizer;
    self->out = &answers;
  }
  EXPECT_EQ(gc::collect(), 2u);
  return answers;
}

// What each query answers about the object, asked from its finalizer (its
// references intact) or its destructor (cleared by the collector first).
void expect_garbage_answers(const std::vector<std::string>& answers, const std::string& its_referents) {
  ASSERT_EQ(answers.size(), 7u);
  EXPECT_TRUE(contains(answers[0], "invalid_argument")) << answers[0];
  EXPECT_EQ(answers[1], "not a root");
  EXPECT_EQ(answers[2], "");  // in no cycle of the live heap
  EXPECT_EQ(answers[3], "");  // no live object refers to it
  EXPECT_EQ(answers[4], its_referents);
  EXPECT_EQ(answers[5], "drawn");
  EXPECT_EQ(answers[6], "live-a,live-b:alive");
}

TEST(QueryInsideACollection, AnObjectBeingFinalizedIsGarbageToEveryQuery) {
  in_fresh_heap([] {
    LiveHeap live;
    expect_garbage_answers(answers_about_itself(true), "doomed-asks");
  });
}

TEST(QueryInsideACollection, AnObjectBeingDestroyedIsGarbageToEveryQuery) {
  in_fresh_heap([] {
    LiveHeap live;
    expect_garbage_answers(answers_about_itself(false), "");
  });
}

TEST(QueryInsideACollection, AQueryFromATraverseTheCollectorRunsIsRefused) {
  in_fresh_heap([] {
    Ref<Meddler> m = make<Meddler>("meddler");
    std::string answer;
    m->once = [&] { answer = answer_of([] { return cycles_text(inspect::find_cycles()); }); };
    gc::collect();
    EXPECT_TRUE(contains(answer, "logic_error")) << answer;
    EXPECT_TRUE(contains(answer, "traverse()")) << answer;
    m->once = [&] { answer = answer_of([&] { return sorted_reprs(gc::get_referrers(*m)); }); };
    gc::collect();
    EXPECT_TRUE(contains(answer, "logic_error")) << answer;
  });
}

}  // namespace
