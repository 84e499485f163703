// The library's own fault-injection sites (ouro/detail/fault_injection.hpp):
// armed on one thread, a site fails the allocation after the next N of its
// kind (once, or from then on); the tests that run out of memory use them.
#include <gtest/gtest.h>

#include <new>
#include <thread>
#include <vector>

#include <ouro/detail/fault_injection.hpp>
#include <ouro/ouro.hpp>

#include "support/counted_nodes.hpp"
#include "support/fault_sites.hpp"
#include "support/fresh_heap.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Ref;
using ouro_test::alive;
using ouro_test::ClearFaultsAtExit;
using ouro_test::Graph;
using ouro_test::N;
using ouro_test::Record;

namespace fault = ouro::detail::fault;

TEST(FaultInjection, TheObjectSiteFailsTheAllocationAfterTheNextNAndOnlyOnThisThread) {
  SKIP_UNLESS_FAULT_SITES();
  ouro_test::in_fresh_heap([] {
    ClearFaultsAtExit clear;
    Record r;
    fault::fail_after(fault::Site::object, 2);
    Ref<N> a = make<N>(r);
    Ref<N> b = make<N>(r);
    bool other_thread_failed = false;
    std::thread([&] {
      try {
        Record other;
        make<N>(other);
      } catch (const std::bad_alloc&) {
        other_thread_failed = true;
      }
    }).join();
    EXPECT_FALSE(other_thread_failed);
    EXPECT_THROW(make<N>(r), std::bad_alloc);
    EXPECT_EQ(fault::failed(), 1);
    EXPECT_EQ(fault::failed(fault::Site::object), 1);
    Ref<N> d = make<N>(r);  // once only
    EXPECT_EQ(fault::failed(), 1);
  });
}

TEST(FaultInjection, TheTableSiteFailsTheChunkAfterTheNextNAndForeverWhenAsked) {
  SKIP_UNLESS_FAULT_SITES();
  using ouro::detail::SlotTable;
  ClearFaultsAtExit clear;
  SlotTable table;
  fault::fail_after(fault::Site::table, 1, fault::kForever);
  table.reserve(SlotTable::kChunkSize);
  EXPECT_EQ(table.capacity(), SlotTable::kChunkSize);
  EXPECT_THROW(table.reserve(2 * SlotTable::kChunkSize), std::bad_alloc);
  EXPECT_THROW(table.reserve(2 * SlotTable::kChunkSize), std::bad_alloc);
  table.reserve(SlotTable::kChunkSize);  // room already there: not an allocation
  EXPECT_EQ(fault::failed(fault::Site::table), 2);
  fault::clear();
  EXPECT_EQ(fault::failed(), 0);
  table.reserve(2 * SlotTable::kChunkSize);
  EXPECT_EQ(table.capacity(), 2 * SlotTable::kChunkSize);
}

TEST(FaultInjection, TheScratchSiteReachesTheCollectorsWorkingMemory) {
  SKIP_UNLESS_FAULT_SITES();
  ouro_test::in_fresh_heap([] {
    ClearFaultsAtExit clear;
    Record r;
    { Graph g(r); }
    fault::fail_after(fault::Site::scratch, 0, fault::kForever);
    try {
      gc::collect();
    } catch (const std::bad_alloc&) {
    }
    EXPECT_GT(fault::failed(fault::Site::scratch), 0);
    EXPECT_EQ(fault::failed(fault::Site::object), 0);
    fault::clear();
    gc::collect();  // the garbage's finalizers use `r`
    r.store.clear();
    gc::collect();
    EXPECT_EQ(alive(r), 0);
  });
}

}  // namespace
