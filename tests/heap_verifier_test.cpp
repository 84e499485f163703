// The heap verifier (ouro/detail/verify.hpp): silent on a heap in any state
// a program can reach, and an abort naming the broken invariant and the
// object when a header or a table says something else. Builds with
// OURO_EXPENSIVE_CHECKS run it between every phase of every collection.
#include <gtest/gtest.h>

#include <vector>

#include <ouro/detail/header.hpp>
#include <ouro/detail/verify.hpp>
#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/nodes.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro::detail::Access;
namespace gc = ouro::gc;

using Node = ouro_test::ChainNode;

struct Finalized : Node {
  void finalize() override {}
};

// A heap with objects in every generation, the permanent one, pending
// objects, garbage collected under both policies and garbage() filled.
std::vector<Ref<Node>> a_heap_in_every_state() {
  std::vector<Ref<Node>> kept;
  for (int i = 0; i < 3; ++i) kept.push_back(make<Node>());
  gc::freeze();
  for (int i = 0; i < 3; ++i) kept.push_back(make<Node>());
  gc::collect(1);  // into gen2, pending
  for (int i = 0; i < 3; ++i) kept.push_back(make<Node>());
  gc::collect(0);  // into gen1
  kept.push_back(make<Node>());
  kept[0]->next = kept.back();
  for (int i = 0; i < 2; ++i) {
    auto a = make<Finalized>();
    a->next = make<Node>();
    a->next->next = a;
  }
  gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
  gc::collect();
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  return kept;
}

TEST(HeapVerifier, AHeapInEveryStateAProgramReachesPassesTheVerifier) {
  ouro_test::in_fresh_heap([] {
    std::vector<Ref<Node>> kept = a_heap_in_every_state();
    EXPECT_FALSE(gc::garbage().empty());
    ouro::detail::verify_this_heap("test");
    gc::garbage().clear();
    kept.clear();
    gc::collect();
    ouro::detail::verify_this_heap("test");
    gc::unfreeze();
    ouro::detail::verify_this_heap("test");
  });
}

TEST(HeapVerifier, CallbacksFinalizersAndDestructorsMaySeeTheVerifierPass) {
  ouro_test::in_fresh_heap([] {
    struct Checks : Node {
      void finalize() override { ouro::detail::verify_this_heap("finalizer"); }
      ~Checks() override { ouro::detail::verify_this_heap("destructor"); }
    };
    gc::add_callback([](gc::Phase, const gc::CollectionInfo&) { ouro::detail::verify_this_heap("callback"); });
    auto a = make<Checks>();
    a->next = make<Checks>();
    a->next->next = a;
    a.reset();
    EXPECT_EQ(gc::collect(), 2u);
  });
}

#if OURO_CHECKS

// Breaks one invariant in the child process of a death test, then verifies.
template <class Break>
void break_then_verify(Break&& breaking) {
  auto kept = std::vector<Ref<Node>>{make<Node>(), make<Node>(), make<Node>()};
  breaking(kept);
  ouro::detail::verify_this_heap("test");
}

TEST(HeapVerifierDeathTest, ASlotThatIsNotTheObjectsIndexIsNamed) {
  EXPECT_DEATH(break_then_verify([](auto& k) { Access::slot(*k[1]) = 2; }),
               "heap verifier \\(test\\): an object's slot is not its index in its table \\(table gen0, slot 1\\).*Node");
}

TEST(HeapVerifierDeathTest, TableBitsNamingAnotherTableAreNamed) {
  EXPECT_DEATH(break_then_verify([](auto& k) { ouro::detail::set_table(*k[0], ouro::detail::Table::gen1); }),
               "heap verifier \\(test\\): an object's table bits name another table");
}

TEST(HeapVerifierDeathTest, AGuardedObjectOutsideTheGarbageTablesIsNamed) {
  EXPECT_DEATH(break_then_verify([](auto& k) { ouro::detail::set(*k[2], ouro::detail::kGuarded); }),
               "heap verifier \\(test\\): a guarded object sits outside the collection's garbage tables");
}

TEST(HeapVerifierDeathTest, APendingMarkOutsideGen2IsNamed) {
  EXPECT_DEATH(break_then_verify([](auto& k) { ouro::detail::set(*k[0], ouro::detail::kPending); }),
               "heap verifier \\(test\\): a pending object outside gen2");
}

TEST(HeapVerifierDeathTest, APendingCountThatDisagreesWithTheMarksIsNamed) {
  EXPECT_DEATH(break_then_verify([](auto& k) {
                 gc::collect(1);  // all three into gen2, pending
                 ouro::detail::unset(*k[0], ouro::detail::kPending);
               }),
               "heap verifier \\(test\\): 2 objects are marked pending, the heap counts 3");
}

TEST(HeapVerifierDeathTest, AnOrphanedEntryIsNamed) {
  EXPECT_DEATH(break_then_verify([](auto& k) { ouro::detail::set(*k[1], ouro::detail::kOrphan); }),
               "heap verifier \\(test\\): an entry names an orphan");
}

#endif  // OURO_CHECKS

}  // namespace
