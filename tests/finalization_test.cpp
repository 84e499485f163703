// Finalizers and the collector (ouro/gc.hpp, docs/semantics.md;
// docs/design/decisions.md, "Legacy policy" and "collect() count").
//
//   pep442 (default)  every object of the garbage with a finalizer gets
//                     finalize() once, all while the garbage is intact; what
//                     a finalizer makes reachable again survives (and is not
//                     counted); the rest is reclaimed.
//   legacy            garbage holding unfinalized finalizer objects: those
//                     objects and all they reach are uncollectable (counted,
//                     the finalizer objects appended to garbage(), nothing
//                     finalized); the rest is still reclaimed; refcount
//                     deaths still finalize.
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/heap_queries.hpp"
#include "support/instrumented.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::in_fresh_heap;
using ouro_test::Instrumented;
using ouro_test::TrackedNode;

using Saved = std::vector<Ref<Instrumented>>;

using ouro_test::contains;

// Index of the last "finalize ..." entry and of the first "destroy ..." entry.
void expect_all_finalizers_before_any_destructor(const Events& ev) {
  std::ptrdiff_t last_finalize = -1, first_destroy = static_cast<std::ptrdiff_t>(ev.log.size());
  for (std::size_t i = 0; i < ev.log.size(); ++i) {
    if (ev.log[i].rfind("finalize ", 0) == 0) last_finalize = static_cast<std::ptrdiff_t>(i);
    if (ev.log[i].rfind("destroy ", 0) == 0 && first_destroy == static_cast<std::ptrdiff_t>(ev.log.size()))
      first_destroy = static_cast<std::ptrdiff_t>(i);
  }
  EXPECT_LT(last_finalize, first_destroy) << "a destructor ran before the last finalizer";
}

// ---------------------------------------------------------------------------
// pep442
// ---------------------------------------------------------------------------

TEST(Pep442, EveryObjectOfAGarbageCycleIsFinalizedOnceWhileTheCycleIsIntact) {
  in_fresh_heap([] {
    Events ev;
    std::vector<std::string> seen;
    {
      std::vector<Ref<FinalizedNode>> ring;
      for (int i = 0; i < 5; ++i) {
        ring.push_back(make<FinalizedNode>(ev, "n" + std::to_string(i)));
        ring.back()->value = 100 + i;
      }
      for (std::size_t i = 0; i < 5; ++i) {
        ring[i]->next = ring[(i + 1) % 5];
        ring[i]->links.push_back(ring[(i + 2) % 5]);
        ring[i]->on_finalize = [&seen](Instrumented& self) {
          // Every neighbour is intact: its fields readable, its Refs set.
          seen.push_back(self.name + "->" + self.next->name + ":" + std::to_string(self.next->value) + "," +
                         self.links.at(0)->name + ":" + std::to_string(self.links.at(0)->value) +
                         (self.next->next ? ",linked" : ",CLEARED"));
        };
      }
    }
    EXPECT_EQ(ev.finalized, 0);
    EXPECT_EQ(gc::collect(), 5u);
    EXPECT_EQ(ev.finalized, 5);
    EXPECT_EQ(ev.destroyed, 5);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(seen, (std::vector<std::string>{"n0->n1:101,n2:102,linked", "n1->n2:102,n3:103,linked",
                                              "n2->n3:103,n4:104,linked", "n3->n4:104,n0:100,linked",
                                              "n4->n0:100,n1:101,linked"}));
    for (int i = 0; i < 5; ++i)
      EXPECT_EQ(ev.of("n" + std::to_string(i)), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    expect_all_finalizers_before_any_destructor(ev);
  });
}

TEST(Pep442, ObjectsHangingOffTheCycleAreFinalizedOnceToo) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      b->links.push_back(make<FinalizedNode>(ev, "tail"));
      b->links[0]->next = make<FinalizedNode>(ev, "tail2");
    }
    EXPECT_EQ(gc::collect(), 4u);
    EXPECT_EQ(ev.of("tail"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.of("tail2"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "destroy"}));
    expect_all_finalizers_before_any_destructor(ev);
  });
}

TEST(Pep442, ResurrectedObjectAndWhatItReachesSurviveUncountedAndAreLaterReclaimedWithoutFinalize) {
  in_fresh_heap([] {
    Events ev;
    Saved saved;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<FinalizedNode>(ev, "b");
      a->next = b;
      b->next = a;
      b->links.push_back(make<TrackedNode>(ev, "b-leaf"));
      a->on_finalize = [&saved](Instrumented& self) { saved.push_back(ouro::ref(&self)); };
      auto c = make<TrackedNode>(ev, "c");  // another cycle, pointing at a
      auto d = make<TrackedNode>(ev, "d");
      c->next = d;
      d->next = c;
      c->links.push_back(a);
    }
    EXPECT_EQ(gc::collect(), 2u) << "only c and d: a, b and b-leaf were resurrected";
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(ev.of("c"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.of("d"), (std::vector<std::string>{"construct", "destroy"}));
    ASSERT_EQ(saved.size(), 1u);
    Instrumented& a = *saved[0];
    EXPECT_EQ(a.name, "a");
    ASSERT_TRUE(a.next);
    EXPECT_EQ(a.next->name, "b");
    EXPECT_EQ(a.next->next.get(), &a) << "the resurrected objects were not cleared";
    EXPECT_EQ(a.next->links.at(0)->name, "b-leaf");
    EXPECT_EQ(ev.finalized, 2) << "a and b were finalized once each";
    EXPECT_TRUE(gc::is_finalized(a));
    EXPECT_TRUE(gc::is_finalized(*a.next));
    EXPECT_TRUE(gc::is_tracked(a));

    EXPECT_EQ(gc::collect(), 0u) << "saved keeps them reachable";
    saved.clear();
    EXPECT_EQ(ev.alive(), 3) << "still a cycle";
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_EQ(ev.finalized, 2) << "finalize never runs twice";
    EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.of("b"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
  });
}

TEST(Pep442, ResurrectedObjectsJoinTheNextOlderGeneration) {
  if (ouro_test::incremental_under_test()) GTEST_SKIP() << "the generational schedule's generations";
  in_fresh_heap([] {
    Events ev;
    Saved saved;
    {
      auto a = make<FinalizedNode>(ev, "a");
      a->next = a;
      a->on_finalize = [&saved](Instrumented& self) { saved.push_back(ouro::ref(&self)); };
    }
    EXPECT_EQ(gc::collect(0), 0u);
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_TRUE(contains(gc::get_objects(1), saved[0].get()));
    saved[0]->next.reset();
  });
}

TEST(Pep442, ObjectResurrectedByAnotherObjectsFinalizerSurvivesWithoutBeingCounted) {
  in_fresh_heap([] {
    Events ev;
    Saved saved;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      a->links.push_back(make<FinalizedNode>(ev, "x"));
      a->links[0]->next = make<TrackedNode>(ev, "x-leaf");
      a->on_finalize = [&saved](Instrumented& self) { saved.push_back(self.links.at(0)); };
    }
    EXPECT_EQ(gc::collect(), 2u) << "a and b collected; x and x-leaf resurrected";
    ASSERT_EQ(saved.size(), 1u);
    EXPECT_EQ(saved[0]->name, "x");
    EXPECT_EQ(saved[0]->next->name, "x-leaf");
    EXPECT_EQ(ev.of("x"), (std::vector<std::string>{"construct", "finalize"})) << "x was in the garbage: finalized";
    EXPECT_EQ(ev.alive(), 2);
    saved.clear();
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_EQ(ev.of("x"), (std::vector<std::string>{"construct", "finalize", "destroy"})) << "not finalized again";
  });
}

TEST(Pep442, StoringAReferenceInsideOtherGarbageIsNotAResurrection) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
      a->on_finalize = [](Instrumented& self) { self.next->links.push_back(ouro::ref(&self)); };
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_EQ(ev.finalized, 1);
  });
}

TEST(Pep442, FinalizerThatThrowsGoesToTheUnraisableHookAndTheCollectionContinues) {
  in_fresh_heap([] {
    Events ev;
    std::vector<std::string> reports;
    ouro::set_unraisable_hook([&reports](std::exception_ptr e, const Object* o) {
      std::string what;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        what = ex.what();
      }
      const auto* node = dynamic_cast<const Instrumented*>(o);
      reports.push_back((node ? node->name : std::string("?")) + ": " + what);
    });
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<FinalizedNode>(ev, "b");
      auto c = make<FinalizedNode>(ev, "c");
      a->next = b;
      b->next = c;
      c->next = a;
      b->on_finalize = [](Instrumented&) { throw std::runtime_error("boom from b"); };
    }
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(reports, (std::vector<std::string>{"b: boom from b"}));
    EXPECT_EQ(ev.finalized, 3);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Pep442, FinalizerThatCallsCollectGetsZeroAndNoNestedCallbacks) {
  in_fresh_heap([] {
    Events ev;
    std::vector<std::size_t> results;
    int starts = 0;
    gc::add_callback([&starts](gc::Phase p, const gc::CollectionInfo&) { starts += p == gc::Phase::start; });
    {
      auto a = make<FinalizedNode>(ev, "a");
      a->next = a;
      a->on_finalize = [&results](Instrumented&) {
        results.push_back(gc::collect());
        results.push_back(gc::collect(0));
      };
      make<TrackedNode>(ev, "other")->next = make<TrackedNode>(ev, "other2");
      auto x = make<TrackedNode>(ev, "x");
      x->next = x;
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(results, (std::vector<std::size_t>{0, 0}));
    EXPECT_EQ(starts, 1);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Pep442, FinalizerThatAllocatesManyTrackedObjectsStartsNoNestedCollection) {
  in_fresh_heap([] {
    Events ev;
    Saved made;
    int starts = 0;
    gc::add_callback([&starts](gc::Phase p, const gc::CollectionInfo&) { starts += p == gc::Phase::start; });
    gc::set_threshold(10);
    {
      auto a = make<FinalizedNode>(ev, "a");
      a->next = a;
      a->on_finalize = [&made, &ev](Instrumented&) {
        for (int i = 0; i < 1000; ++i) {
          made.push_back(make<TrackedNode>(ev, "new"));
          make<TrackedNode>(ev, "temp");  // dies at once
        }
      };
    }
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(starts, 1);
    EXPECT_EQ(made.size(), 1000u);
    EXPECT_EQ(ev.alive(), 1000);
    EXPECT_EQ(gc::get_objects(0).size(), 1000u) << "what the finalizer made is tracked in generation 0";
    made.clear();
  });
}

TEST(Pep442, FinalizerThatDropsTheLastReferenceToAnotherCycleMember) {
  // Both orders: the member whose last reference goes may be finalized
  // before or after the drop; either way it is finalized once, intact, and
  // destroyed once.
  for (bool dropper_first : {true, false}) {
    in_fresh_heap([dropper_first] {
      Events ev;
      std::vector<std::string> seen;
      {
        Ref<FinalizedNode> dropper, victim;
        if (dropper_first) {
          dropper = make<FinalizedNode>(ev, "dropper");
          victim = make<FinalizedNode>(ev, "victim");
        } else {
          victim = make<FinalizedNode>(ev, "victim");
          dropper = make<FinalizedNode>(ev, "dropper");
        }
        victim->value = 42;
        victim->links.push_back(make<TrackedNode>(ev, "victim-leaf"));
        dropper->next = victim;  // the only reference to victim
        victim->next = dropper;
        dropper->on_finalize = [](Instrumented& self) { self.next.reset(); };
        victim->on_finalize = [&seen](Instrumented& self) {
          seen.push_back(std::to_string(self.value) + " " + self.links.at(0)->name);
        };
      }
      EXPECT_EQ(gc::collect(), 3u) << "dropper_first=" << dropper_first;
      EXPECT_EQ(seen, (std::vector<std::string>{"42 victim-leaf"}));
      EXPECT_EQ(ev.of("victim"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
      EXPECT_EQ(ev.of("dropper"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
      EXPECT_EQ(ev.alive(), 0);
      expect_all_finalizers_before_any_destructor(ev);
    });
  }
}

TEST(Pep442, FinalizerThatBreaksTheWholeCycleStillCountsItsObjects) {
  in_fresh_heap([] {
    Events ev;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      auto c = make<TrackedNode>(ev, "c");
      a->next = b;
      b->next = c;
      c->next = a;
      a->on_finalize = [](Instrumented& self) { self.next->next->next.reset(); };  // c -> a goes
    }
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Pep442, AlreadyFinalizedObjectsInLaterGarbageAreNotFinalizedAgain) {
  in_fresh_heap([] {
    Events ev;
    auto a = make<FinalizedNode>(ev, "a");
    a->finalize();  // user code may call it; the library does not know
    ASSERT_EQ(ev.finalized, 1);
    {
      Saved saved;
      auto b = make<FinalizedNode>(ev, "b");
      b->next = b;
      b->on_finalize = [&saved](Instrumented& self) { saved.push_back(ouro::ref(&self)); };
      b.reset();
      EXPECT_EQ(gc::collect(), 0u);
      ASSERT_EQ(saved.size(), 1u);
      saved[0]->on_finalize = nullptr;
    }
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(ev.count("finalize b"), 1u);
  });
}

TEST(Pep442, DebugSaveAllFinalizesOnceThenKeepsTheGarbageInGarbage) {
  in_fresh_heap([] {
    Events ev;
    gc::set_debug(gc::DEBUG_SAVEALL);
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<FinalizedNode>(ev, "b");
      a->next = b;
      b->next = a;
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.finalized, 2);
    EXPECT_EQ(ev.alive(), 2);
    EXPECT_EQ(gc::garbage().size(), 2u);
    gc::set_debug(0);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 2u) << "the cycle was kept intact";
    EXPECT_EQ(ev.finalized, 2) << "and is not finalized again";
    EXPECT_EQ(ev.alive(), 0);
  });
}

// ---------------------------------------------------------------------------
// legacy
// ---------------------------------------------------------------------------

TEST(Legacy, FinalizerCyclesGoToGarbageUnfinalizedAndCountAsUncollectable) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    EXPECT_EQ(gc::get_finalizer_policy(), gc::FinalizerPolicy::legacy);
    std::vector<const Object*> members;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<FinalizedNode>(ev, "b");
      auto c = make<TrackedNode>(ev, "c");
      a->next = b;
      b->next = c;
      c->next = a;
      members = {a.get(), b.get(), c.get()};
    }
    EXPECT_EQ(gc::collect(), 3u);
    auto stats = gc::get_stats()[2];
    EXPECT_EQ(stats.collections, 1u);
    EXPECT_EQ(stats.collected, 0u);
    EXPECT_EQ(stats.uncollectable, 3u);
    EXPECT_EQ(ev.finalized, 0);
    EXPECT_EQ(ev.alive(), 3);
    ASSERT_EQ(gc::garbage().size(), 2u) << "only the objects with a finalizer";
    EXPECT_TRUE(contains(gc::garbage(), members[0]));
    EXPECT_TRUE(contains(gc::garbage(), members[1]));
    for (const Ref<Object>& o : gc::garbage()) EXPECT_FALSE(gc::is_finalized(*o));
    // They stay tracked, in the oldest generation, with their Refs intact.
    std::vector<Ref<Object>> gen2 = gc::get_objects(2);
    for (const Object* m : members) EXPECT_TRUE(contains(gen2, m));
    gen2.clear();
    EXPECT_EQ(gc::get_referents(*members[2]).size(), 1u);

    EXPECT_EQ(gc::collect(), 0u) << "garbage() holds them now";
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 3u);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(ev.finalized, 2);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Legacy, UncollectableCountsBelongToTheCollectedGeneration) {
  if (ouro_test::incremental_under_test()) GTEST_SKIP() << "the generational schedule's generations";
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    {
      auto a = make<FinalizedNode>(ev, "a");
      a->next = a;
    }
    EXPECT_EQ(gc::collect(0), 1u);
    EXPECT_EQ(gc::get_stats()[0].uncollectable, 1u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 0u);
    ASSERT_EQ(gc::garbage().size(), 1u);
    EXPECT_TRUE(contains(gc::get_objects(1), gc::garbage()[0].get())) << "it joined the next generation";
    gc::garbage()[0].reset();  // leaves a null entry; the object is still a cycle
    gc::garbage().clear();
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    EXPECT_EQ(gc::collect(), 1u);
  });
}

TEST(Legacy, CyclesWithoutFinalizersAreStillReclaimed) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    {
      auto a = make<TrackedNode>(ev, "a");
      auto b = make<TrackedNode>(ev, "b");
      a->next = b;
      b->next = a;
    }
    EXPECT_EQ(gc::collect(), 2u);
    EXPECT_EQ(ev.alive(), 0);
    EXPECT_TRUE(gc::garbage().empty());
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 0u);
  });
}

TEST(Legacy, ObjectsOutsideCyclesAreStillFinalizedAtRefcountZero) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    make<FinalizedNode>(ev, "tracked");
    make<ouro_test::FinalizerOnlyNode>(ev, "untracked");
    EXPECT_EQ(ev.of("tracked"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.of("untracked"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_TRUE(gc::garbage().empty());
  });
}

TEST(Legacy, FinalizerObjectReachedFromAFinalizerFreeCycleIsUncollectableWithWhatItReaches) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    {
      auto p = make<TrackedNode>(ev, "p");
      auto q = make<TrackedNode>(ev, "q");
      p->next = q;
      q->next = p;
      p->links.push_back(make<FinalizedNode>(ev, "f"));
      p->links[0]->next = make<TrackedNode>(ev, "r");
    }
    EXPECT_EQ(gc::collect(), 4u) << "2 collected (p, q) + 2 uncollectable (f and r)";
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 2u);
    EXPECT_EQ(ev.of("p"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.of("q"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.of("f"), (std::vector<std::string>{"construct"})) << "not finalized, not freed";
    EXPECT_EQ(ev.of("r"), (std::vector<std::string>{"construct"}));
    ASSERT_EQ(gc::garbage().size(), 1u);
    auto f = ouro::ref_cast<Instrumented>(gc::garbage()[0]);
    EXPECT_EQ(f->name, "f");
    EXPECT_EQ(ouro::refcount(*f), 2u) << "garbage() and f; p's reference was cleared with p";
    EXPECT_EQ(f->next->name, "r");
    f.reset();
    gc::garbage().clear();  // refcount death: finalized now, then r goes with it
    EXPECT_EQ(ev.of("f"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Legacy, AnObjectWhoseFinalizerAlreadyRanIsCollectable) {
  in_fresh_heap([] {
    Events ev;
    Saved saved;
    {
      auto a = make<FinalizedNode>(ev, "a");
      a->next = a;
      a->on_finalize = [&saved](Instrumented& self) { saved.push_back(ouro::ref(&self)); };
    }
    EXPECT_EQ(gc::collect(), 0u);  // pep442: finalized and resurrected
    ASSERT_EQ(saved.size(), 1u);
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    saved.clear();
    EXPECT_EQ(gc::collect(), 1u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 0u);
    EXPECT_TRUE(gc::garbage().empty());
    EXPECT_EQ(ev.of("a"), (std::vector<std::string>{"construct", "finalize", "destroy"}));
  });
}

TEST(Legacy, MixedGarbageReclaimsOnlyWhatNoFinalizerReaches) {
  in_fresh_heap([] {
    Events ev;
    gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
    {
      // f <-> g (f has a finalizer), g -> shared; x <-> y (plain), y -> shared
      auto f = make<FinalizedNode>(ev, "f");
      auto g = make<TrackedNode>(ev, "g");
      auto x = make<TrackedNode>(ev, "x");
      auto y = make<TrackedNode>(ev, "y");
      auto shared = make<TrackedNode>(ev, "shared");
      f->next = g;
      g->next = f;
      g->links.push_back(shared);
      x->next = y;
      y->next = x;
      y->links.push_back(shared);
    }
    EXPECT_EQ(gc::collect(), 5u);
    EXPECT_EQ(gc::get_stats()[2].collected, 2u);
    EXPECT_EQ(gc::get_stats()[2].uncollectable, 3u);
    EXPECT_EQ(ev.of("x"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.of("y"), (std::vector<std::string>{"construct", "destroy"}));
    EXPECT_EQ(ev.alive(), 3);
    EXPECT_EQ(ev.finalized, 0);
    gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
    gc::garbage().clear();
    EXPECT_EQ(gc::collect(), 3u);
    EXPECT_EQ(ev.alive(), 0);
  });
}

}  // namespace
