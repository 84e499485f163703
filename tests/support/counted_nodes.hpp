// support/counted_nodes.hpp — tracked nodes that count, per id, how often
// they were finalized and whether they were destroyed, and allocate nothing
// in finalize() or their destructor (apart from the resurrection store): a
// test that makes allocations fail cannot make them throw where C++ forbids
// it.
//
//   ouro_test::Record r;
//   Ref<N> a = make<N>(r);          // id 0: traverse visits next, other
//   Ref<FinN> b = make<FinN>(r);    // id 1, with a finalizer
//   b->resurrect = true;            // its finalizer stores it in r.store
//   EXPECT_EQ(alive(r), 2);
//   Graph g(r);                     // a mixed heap of those: roots and garbage
//
// A Record holds 64 ids; a test that makes more resizes both vectors first.
#pragma once

#include <cstddef>
#include <vector>

#include <ouro/ouro.hpp>

namespace ouro_test {

// Per node id: how often it was finalized and whether it was destroyed.
struct Record {
  std::vector<int> finalized = std::vector<int>(64, 0);
  std::vector<int> destroyed = std::vector<int>(64, 0);
  std::vector<ouro::Ref<ouro::Object>> store;
  int next_id = 0;
};

struct N : ouro::Object {
  explicit N(Record& r) : record(r), id(r.next_id++) {}
  ~N() override { ++record.destroyed[static_cast<std::size_t>(id)]; }
  void traverse(ouro::Visitor& v) override { v(next, other); }
  Record& record;
  int id;
  ouro::Ref<N> next, other;
};

struct FinN : N {
  using N::N;
  void finalize() override {
    ++record.finalized[static_cast<std::size_t>(id)];
    if (resurrect) record.store.push_back(ouro::ref(this));  // may throw bad_alloc: reported, not resurrected
  }
  bool resurrect = false;
};

// Reachable: a root and a chain of three. Garbage: a plain 2-cycle, a cycle
// with finalizers, a resurrecting self-cycle, and a cycle that holds the
// chain's last node.
struct Graph {
  ouro::Ref<N> root;
  std::vector<int> reachable;
  std::vector<int> fin_ids;

  explicit Graph(Record& r) {
    root = ouro::make<N>(r);
    root->next = ouro::make<N>(r);
    root->next->next = ouro::make<N>(r);
    root->next->next->next = ouro::make<N>(r);
    for (int i = 0; i < 4; ++i) reachable.push_back(i);
    {
      ouro::Ref<N> a = ouro::make<N>(r), b = ouro::make<N>(r);
      a->next = b;
      b->next = a;
    }
    {
      ouro::Ref<FinN> a = ouro::make<FinN>(r);
      ouro::Ref<N> b = ouro::make<N>(r);
      a->next = b;
      b->next = a;
      fin_ids.push_back(a->id);
    }
    {
      ouro::Ref<FinN> a = ouro::make<FinN>(r);
      a->resurrect = true;
      a->next = a;
      fin_ids.push_back(a->id);
    }
    {
      ouro::Ref<N> a = ouro::make<N>(r), b = ouro::make<N>(r);
      a->next = b;
      b->next = a;
      b->other = root->next->next->next;
    }
  }
};

// How many of the nodes made with `r` are not destroyed.
inline int alive(const Record& r) {
  int n = 0;
  for (int i = 0; i < r.next_id; ++i) n += r.destroyed[static_cast<std::size_t>(i)] == 0;
  return n;
}

}  // namespace ouro_test
