// allocator_test.cpp — the pool allocator behind make<T>(): size classes,
// alignment, frees from other threads (also after the allocating thread
// ended), arenas given back to the OS, many objects, and (under ASan) a use
// after free inside a pool is still reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <ouro/ouro.hpp>
#include <random>
#include <thread>
#include <vector>

#include "allocator.hpp"

namespace {

namespace pool = ouro::detail::pool;

struct Node : ouro::Object {
  ouro::Ref<Node> next;
  int value = 7;
  void traverse(ouro::Visitor& v) override { v(next); }
};

struct alignas(64) Wide : ouro::Object {
  char bytes[40] = {};
};

struct alignas(256) Wider : ouro::Object {
  ouro::Ref<Wider> self;
  void traverse(ouro::Visitor& v) override { v(self); }
};

void fill(void* p, std::size_t n, std::uint8_t tag) { std::memset(p, tag, n); }
bool holds(const void* p, std::size_t n, std::uint8_t tag) {
  const auto* b = static_cast<const std::uint8_t*>(p);
  return std::all_of(b, b + n, [&](std::uint8_t x) { return x == tag; });
}

std::size_t largest_power_of_two_dividing(std::size_t n) { return n & (~n + 1); }

TEST(Allocator, EverySmallSizeGetsTheSmallestClassThatHoldsIt) {
  for (std::size_t size = 1; size <= pool::kMaxSmall; ++size) {
    void* p = pool::allocate(size);
    std::size_t got = pool::block_size(p);
    EXPECT_GE(got, size);
    auto smaller = std::find_if(pool::kClassSize.rbegin(), pool::kClassSize.rend(),
                                [&](std::size_t c) { return c < got; });
    if (smaller != pool::kClassSize.rend()) {
      EXPECT_LT(*smaller, size) << "a smaller class would do for " << size;
    }
    fill(p, size, 0xab);
    pool::deallocate(p);
  }
  EXPECT_FALSE(pool::is_small(pool::kMaxSmall + 1));
}

TEST(Allocator, BlocksAreAlignedAsTheirSizeRequires) {
  for (std::size_t size = 8; size <= pool::kMaxSmall; size += 8) {
    std::vector<void*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(pool::allocate(size));
    std::size_t need = std::min<std::size_t>(16, largest_power_of_two_dividing(size));
    for (void* p : blocks) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % need, 0u) << "size " << size;
    for (void* p : blocks) pool::deallocate(p);
  }
}

TEST(Allocator, OverAlignedRequestsAreHonoured) {
  for (std::size_t align = 32; align <= pool::kMaxSmall; align *= 2) {
    for (std::size_t size : {std::size_t{8}, align / 2, align}) {
      ASSERT_TRUE(pool::is_small(size, align));
      std::vector<void*> blocks;
      for (int i = 0; i < 300; ++i) blocks.push_back(pool::allocate(size, align));
      for (void* p : blocks) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % align, 0u) << size << "/" << align;
      for (void* p : blocks) pool::deallocate(p);
    }
  }
}

TEST(Allocator, OverAlignedManagedTypesAreAligned) {
  std::vector<ouro::Ref<Wide>> wide;
  std::vector<ouro::Ref<Wider>> wider;
  for (int i = 0; i < 1000; ++i) {
    wide.push_back(ouro::make<Wide>());
    wider.push_back(ouro::make<Wider>());
    wider.back()->self = wider.back();  // a cycle, for the collector
  }
  for (auto& w : wide) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w.get()) % 64, 0u);
  for (auto& w : wider) EXPECT_EQ(reinterpret_cast<std::uintptr_t>(w.get()) % 256, 0u);
  wider.clear();
  EXPECT_GE(ouro::gc::collect(), 1000u);
}

TEST(Allocator, ManyObjectsOfMixedSizesNeverOverlap) {
  std::mt19937 rng(42);
  struct Live {
    void* p;
    std::size_t size;
    std::uint8_t tag;
  };
  std::vector<Live> live;
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 200'000; ++i) {
      std::size_t size = 1 + rng() % 300;
      auto tag = static_cast<std::uint8_t>(rng());
      void* p = pool::allocate(size);
      fill(p, size, tag);
      live.push_back({p, size, tag});
    }
    std::shuffle(live.begin(), live.end(), rng);
    std::size_t keep = live.size() / 3;
    for (std::size_t i = keep; i < live.size(); ++i) {
      ASSERT_TRUE(holds(live[i].p, live[i].size, live[i].tag));
      pool::deallocate(live[i].p);
    }
    live.resize(keep);
  }
  for (auto& l : live) {
    ASSERT_TRUE(holds(l.p, l.size, l.tag));
    pool::deallocate(l.p);
  }
}

TEST(Allocator, EmptyArenasGoBackToTheOs) {
  pool::release_empty_arenas();
  std::size_t before = pool::mapped_arenas();
  std::vector<void*> blocks;
  for (int i = 0; i < 500'000; ++i) blocks.push_back(pool::allocate(48));  // 24 MB: about 24 arenas
  std::size_t peak = pool::mapped_arenas();
  EXPECT_GE(peak, before + 20);
  for (void* p : blocks) pool::deallocate(p);
  // A few empty arenas are kept for reuse (and the class's current page).
  EXPECT_LE(pool::mapped_arenas(), before + pool::kKeepEmptyArenas + 1);
  pool::release_empty_arenas();
  EXPECT_LE(pool::mapped_arenas(), before);
}

TEST(Allocator, BlocksFreedOnAnotherThreadAreReusedByTheirOwner) {
  std::vector<void*> blocks;
  for (int i = 0; i < 100'000; ++i) {
    blocks.push_back(pool::allocate(40));
    fill(blocks.back(), 40, 0x5a);
  }
  std::thread other([&] {
    for (void* p : blocks) pool::deallocate(p);
  });
  other.join();
  // The owner takes them back on its next slow allocation: allocating as
  // many again maps no new arena beyond the ones kept.
  std::size_t mapped = pool::mapped_arenas();
  std::vector<void*> again;
  for (int i = 0; i < 100'000; ++i) again.push_back(pool::allocate(40));
  EXPECT_LE(pool::mapped_arenas(), mapped + 1);
  for (void* p : again) pool::deallocate(p);
}

TEST(Allocator, ObjectsOrphanedByThreadExitAreFreedLaterOnAnyThread) {
  pool::release_empty_arenas();
  std::size_t before = pool::mapped_arenas();
  std::vector<ouro::Ref<Node>> survivors;
  std::thread maker([&] {
    std::vector<ouro::Ref<Node>> mine;
    for (int i = 0; i < 200'000; ++i) mine.push_back(ouro::make<Node>());
    for (std::size_t i = 0; i + 1 < mine.size(); i += 2) mine[i]->next = mine[i + 1];
    survivors = std::move(mine);  // outlive the thread: orphaned at its exit
  });
  maker.join();
  EXPECT_GE(pool::mapped_arenas(), before + 5);
  for (auto& n : survivors) EXPECT_EQ(n->value, 7);
  // Freed by this thread, out of order; the last free of each abandoned
  // arena gives it back.
  std::mt19937 rng(1);
  std::shuffle(survivors.begin(), survivors.end(), rng);
  survivors.clear();
  EXPECT_LE(pool::mapped_arenas(), before);
}

TEST(Allocator, ConcurrentRemoteFreesWhileOwnersComeAndGo) {
  pool::release_empty_arenas();
  std::size_t before = pool::mapped_arenas();
  std::mutex m;
  std::vector<void*> handed;
  bool done = false;
  std::thread consumer([&] {
    for (;;) {
      std::vector<void*> batch;
      {
        std::lock_guard<std::mutex> lock(m);
        batch.swap(handed);
        if (batch.empty() && done) return;
      }
      for (void* p : batch) {
        EXPECT_TRUE(holds(p, 24, 0x77));
        pool::deallocate(p);
      }
      if (batch.empty()) std::this_thread::yield();
    }
  });
  std::vector<std::thread> producers;
  for (int t = 0; t < 4; ++t) {
    producers.emplace_back([&] {
      std::vector<void*> local;
      for (int i = 0; i < 50'000; ++i) {
        void* p = pool::allocate(24);
        fill(p, 24, 0x77);
        if (i % 3 == 0) {
          local.push_back(p);  // freed by this thread later
        } else {
          std::lock_guard<std::mutex> lock(m);
          handed.push_back(p);
        }
      }
      for (void* p : local) pool::deallocate(p);
    });
  }
  for (auto& t : producers) t.join();  // owners gone while frees are still in flight
  {
    std::lock_guard<std::mutex> lock(m);
    done = true;
  }
  consumer.join();
  EXPECT_LE(pool::mapped_arenas(), before);
}

#if OURO_ASAN
TEST(AllocatorDeathTest, UseAfterFreeInsideAPoolIsReportedUnderAsan) {
  EXPECT_DEATH(
      {
        auto n = ouro::make<Node>();
        Node* raw = n.get();
        n.reset();
        volatile int v = raw->value;  // the block is back in its page, poisoned
        (void)v;
      },
      "use-after-poison");
}
#endif

}  // namespace
