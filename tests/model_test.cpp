// Property test: random object graphs against a reachability model.
//
// From fixed seeds, each iteration builds N tracked nodes (some with
// finalizers, some of those resurrecting themselves) spread over the
// generations (and, in one variant, the permanent one), links them at
// random, keeps a random subset as roots in a std::vector<Ref>, drops the
// rest, and then applies random operations: collect(0/1/2), dropping a
// root, clearing the resurrected objects or garbage(), freeze/unfreeze.
// After every step the library must agree with a model computed here, on
// the reachability model the fuzzer shares (support/reachability.hpp):
//
//   refcounting  a node stays alive iff it is reachable from a root, a
//                resurrection store, garbage(), or a cycle of live nodes;
//                a dying node with an unrun finalizer is finalized first,
//                and one that resurrects itself keeps what it reaches;
//   collect(g)   the working set is the live nodes of generations 0..g;
//                those referenced from outside it (roots, stores, any live
//                node of another generation) and all they reach inside it
//                survive and move to generation min(g + 1, 2); the rest is
//                garbage: pep442 finalizes every unfinalized finalizer in
//                it and keeps what resurrections reach, legacy keeps what
//                unfinalized finalizers reach (and puts those finalizers in
//                garbage()); the return value is the garbage minus the
//                resurrected part (pep442) or all of it (legacy).
//
// Checked after every step: which nodes were destroyed (destructors record
// ids), how often each was finalized, the generation of every live node
// (get_objects(g), get_freeze_count), the resurrection store and garbage()
// (as multisets of ids), and collect()'s return value.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/reachability.hpp"

namespace {

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;

struct World;

struct MNode : Object {
  MNode(World& w, int node_id) : world(w), id(node_id) {}
  ~MNode() override;
  void traverse(ouro::Visitor& v) override { v(out); }
  World& world;
  int id;
  std::vector<Ref<MNode>> out;
};

struct MFinNode : MNode {
  using MNode::MNode;
  void finalize() override;
};

// The library's side (what actually happened) and the model's side.
struct World {
  explicit World(int n)
      : fin(static_cast<std::size_t>(n)),
        resurrect(static_cast<std::size_t>(n)),
        edges(static_cast<std::size_t>(n)),
        alive(static_cast<std::size_t>(n), 1),
        gen(static_cast<std::size_t>(n), 0),
        finalized(static_cast<std::size_t>(n), 0),
        destroyed(static_cast<std::size_t>(n), 0),
        finalized_actual(static_cast<std::size_t>(n), 0) {}

  int size() const { return static_cast<int>(alive.size()); }

  // Fixed per node.
  std::vector<char> fin, resurrect;
  std::vector<std::vector<int>> edges;
  // The model.
  std::vector<char> alive;
  std::vector<int> gen;  // 0..2, 3 = permanent (frozen)
  std::vector<int> finalized;
  std::vector<int> root_ids, saved_ids, garbage_ids;
  bool legacy = false;
  // The library.
  std::vector<int> destroyed, finalized_actual;
  std::vector<Ref<MNode>> roots;
  std::vector<Ref<MNode>> saved;  // where resurrecting finalizers store themselves
};

MNode::~MNode() { ++world.destroyed[static_cast<std::size_t>(id)]; }

void MFinNode::finalize() {
  ++world.finalized_actual[static_cast<std::size_t>(id)];
  if (world.resurrect[static_cast<std::size_t>(id)]) world.saved.push_back(ouro::ref<MNode>(this));
}

// ---------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------

using ouro_test::members;
using ouro_test::Set;

// Nodes reachable from `starts` through edges whose target is in `allowed`.
Set reach(const World& w, const std::vector<int>& starts, const Set& allowed) {
  return ouro_test::reach(w.edges, starts, allowed);
}

std::vector<int> external_ids(const World& w) {
  std::vector<int> ext = w.root_ids;
  ext.insert(ext.end(), w.saved_ids.begin(), w.saved_ids.end());
  ext.insert(ext.end(), w.garbage_ids.begin(), w.garbage_ids.end());
  return ext;
}

// Refcounting to a fixed point: what no root, store, or cycle keeps dies;
// unfinalized resurrecting finalizers at the top of a dying chain come back.
void settle(World& w) {
  const Set& alive = w.alive;
  std::vector<int> starts = external_ids(w);
  for (int x : members(alive)) {
    std::vector<int> succ;
    for (int t : w.edges[static_cast<std::size_t>(x)]) succ.push_back(t);
    if (reach(w, succ, alive)[static_cast<std::size_t>(x)]) starts.push_back(x);  // on a cycle
  }
  Set keep = reach(w, starts, alive);
  Set dead(alive.size(), 0);
  for (std::size_t i = 0; i < alive.size(); ++i) dead[i] = alive[i] && !keep[i];
  if (members(dead).empty()) return;
  std::vector<int> top;
  for (int x : members(dead)) {
    auto xi = static_cast<std::size_t>(x);
    if (!(w.fin[xi] && w.resurrect[xi] && w.finalized[xi] == 0)) continue;
    bool reached_from_another = false;
    for (int y : members(dead)) {
      auto yi = static_cast<std::size_t>(y);
      if (y == x || !(w.fin[yi] && w.resurrect[yi] && w.finalized[yi] == 0)) continue;
      std::vector<int> succ(w.edges[yi].begin(), w.edges[yi].end());
      if (reach(w, succ, dead)[xi]) reached_from_another = true;
    }
    if (!reached_from_another) top.push_back(x);
  }
  Set revived = reach(w, top, dead);
  for (int x : members(dead)) {
    auto xi = static_cast<std::size_t>(x);
    if (revived[xi]) continue;
    if (w.fin[xi] && w.finalized[xi] == 0) ++w.finalized[xi];
    w.alive[xi] = 0;
  }
  for (int x : top) {
    ++w.finalized[static_cast<std::size_t>(x)];
    w.saved_ids.push_back(x);
  }
}

std::size_t model_collect(World& w, int g) {
  const int old = g < 2 ? g + 1 : 2;
  const std::size_t n = w.alive.size();
  Set in_w(n, 0), ext(n, 0);
  for (std::size_t i = 0; i < n; ++i) in_w[i] = w.alive[i] && w.gen[i] <= g;
  for (int x : external_ids(w)) ext[static_cast<std::size_t>(x)] = 1;
  for (std::size_t y = 0; y < n; ++y)
    if (w.alive[y] && !in_w[y])
      for (int t : w.edges[y]) ext[static_cast<std::size_t>(t)] = 1;
  std::vector<int> roots;
  for (std::size_t i = 0; i < n; ++i)
    if (in_w[i] && ext[i]) roots.push_back(static_cast<int>(i));
  Set garbage = ouro_test::unreachable(w.edges, roots, in_w);
  for (std::size_t i = 0; i < n; ++i)
    if (in_w[i] && !garbage[i]) w.gen[i] = old;
  std::vector<int> newly;
  for (int x : members(garbage))
    if (w.fin[static_cast<std::size_t>(x)] && w.finalized[static_cast<std::size_t>(x)] == 0) newly.push_back(x);
  std::size_t result = 0;
  Set stays;
  if (w.legacy) {
    stays = reach(w, newly, garbage);
    w.garbage_ids.insert(w.garbage_ids.end(), newly.begin(), newly.end());
    result = members(garbage).size();
  } else {
    std::vector<int> resurrected;
    for (int x : newly) {
      ++w.finalized[static_cast<std::size_t>(x)];
      if (w.resurrect[static_cast<std::size_t>(x)]) {
        w.saved_ids.push_back(x);
        resurrected.push_back(x);
      }
    }
    stays = reach(w, resurrected, garbage);
    result = members(garbage).size() - members(stays).size();
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!garbage[i]) continue;
    if (stays[i])
      w.gen[i] = old;
    else
      w.alive[i] = 0;
  }
  settle(w);
  return result;
}

// ---------------------------------------------------------------------------
// Comparing the library with the model
// ---------------------------------------------------------------------------

std::vector<int> ids_of(const std::vector<Ref<MNode>>& refs) {
  std::vector<int> ids;
  for (const auto& r : refs) ids.push_back(r->id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<int> ids_of_objects(const std::vector<Ref<Object>>& refs) {
  std::vector<int> ids;
  for (const auto& r : refs) {
    auto* node = dynamic_cast<MNode*>(r.get());
    ids.push_back(node ? node->id : -1);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Empty when the library agrees with the model, else what differs.
std::string differences(const World& w) {
  std::ostringstream out;
  const int n = w.size();
  std::vector<int> actual_gen(static_cast<std::size_t>(n), -1);
  for (int g = 0; g <= 2; ++g)
    for (int id : ids_of_objects(gc::get_objects(g))) {
      if (id < 0 || id >= n) {
        out << " get_objects(" << g << ") holds a foreign object;";
        continue;
      }
      actual_gen[static_cast<std::size_t>(id)] = g;
    }
  std::size_t frozen = 0;
  for (int i = 0; i < n; ++i) {
    auto ii = static_cast<std::size_t>(i);
    int want_destroyed = w.alive[ii] ? 0 : 1;
    if (w.destroyed[ii] != want_destroyed)
      out << " node " << i << " destroyed " << w.destroyed[ii] << " times, model says " << want_destroyed << ";";
    if (w.finalized_actual[ii] != w.finalized[ii])
      out << " node " << i << " finalized " << w.finalized_actual[ii] << " times, model says " << w.finalized[ii]
          << ";";
    if (!w.alive[ii]) continue;
    if (w.gen[ii] == 3) {
      ++frozen;
      if (actual_gen[ii] != -1) out << " node " << i << " in generation " << actual_gen[ii] << ", model: frozen;";
    } else if (actual_gen[ii] != w.gen[ii]) {
      out << " node " << i << " in generation " << actual_gen[ii] << ", model says " << w.gen[ii] << ";";
    }
  }
  if (gc::get_freeze_count() != frozen)
    out << " get_freeze_count " << gc::get_freeze_count() << ", model says " << frozen << ";";
  if (ids_of(w.saved) != sorted(w.saved_ids)) out << " resurrection store differs;";
  if (ids_of_objects(gc::garbage()) != sorted(w.garbage_ids)) out << " garbage() differs;";
  return out.str();
}

// Drops every Ref of `v` (moved out first: finalizers may append to it).
template <class V>
void drop_all(V& v) {
  V doomed = std::move(v);
  v.clear();
  doomed.clear();
}

struct Options {
  int iterations;
  bool random_generations;  // nodes spread over gens 0..2 and collect(g) random; else collect(2) only
  int finalizer_percent;    // chance that a node has a finalizer
  int resurrect_percent;    // chance that a finalizer resurrects its object
  bool freeze;              // nodes frozen at the start, and freeze/unfreeze operations
  bool legacy;
};

std::uint32_t pick(std::mt19937& rng, std::uint32_t n) { return static_cast<std::uint32_t>(rng() % n); }
bool chance(std::mt19937& rng, int percent) { return static_cast<int>(pick(rng, 100)) < percent; }

// One iteration; returns "" or a description of the first disagreement.
// On disagreement the World is leaked, since live nodes still point at it.
std::string run_iteration(std::mt19937& rng, const Options& opt) {
  const int n = 5 + static_cast<int>(pick(rng, 36));  // chains stay below the trashcan depth (50)
  auto* w = new World(n);
  std::ostringstream trace;
  trace << "n=" << n;
  w->legacy = opt.legacy;
  gc::set_finalizer_policy(opt.legacy ? gc::FinalizerPolicy::legacy : gc::FinalizerPolicy::pep442);

  if (!gc::get_objects().empty() || gc::get_freeze_count() != 0 || !gc::garbage().empty())
    return "the heap was not empty at the start of the iteration";

  // Creation, in stages: permanent, gen2, gen1, gen0.
  std::vector<Ref<MNode>> all(static_cast<std::size_t>(n));
  std::vector<int> stage(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    auto ii = static_cast<std::size_t>(i);
    w->fin[ii] = chance(rng, opt.finalizer_percent);
    w->resurrect[ii] = w->fin[ii] && chance(rng, opt.resurrect_percent);
    int s = 0;
    if (opt.freeze && chance(rng, 20))
      s = 3;
    else if (opt.random_generations)
      s = static_cast<int>(pick(rng, 3));
    stage[ii] = s;
    w->gen[ii] = s;
  }
  for (int s : {3, 2, 1, 0}) {
    for (int i = 0; i < n; ++i) {
      auto ii = static_cast<std::size_t>(i);
      if (stage[ii] != s) continue;
      if (w->fin[ii])
        all[ii] = make<MFinNode>(*w, i);
      else
        all[ii] = make<MNode>(*w, i);
    }
    if (s == 3) gc::freeze();
    if (s == 2) gc::collect(1);
    if (s == 1) gc::collect(0);
  }
  for (int i = 0; i < n; ++i) {
    auto ii = static_cast<std::size_t>(i);
    int k = static_cast<int>(pick(rng, 4));
    for (int e = 0; e < k; ++e) {
      int t = static_cast<int>(pick(rng, static_cast<std::uint32_t>(n)));
      w->edges[ii].push_back(t);
      all[ii]->out.push_back(all[static_cast<std::size_t>(t)]);
    }
    if (chance(rng, 15)) {
      w->root_ids.push_back(i);
      w->roots.push_back(all[ii]);
    }
  }
  drop_all(all);
  settle(*w);
  std::string diff = differences(*w);
  if (!diff.empty()) return trace.str() + " after dropping the construction refs:" + diff;

  auto step = [&](const std::string& what, std::size_t got, std::size_t want) -> std::string {
    trace << ", " << what;
    std::string d = differences(*w);
    if (got != want) d += " collect() returned " + std::to_string(got) + ", model says " + std::to_string(want) + ";";
    return d.empty() ? "" : trace.str() + ":" + d;
  };

  const int ops = 3 + static_cast<int>(pick(rng, 6));
  for (int op = 0; op < ops; ++op) {
    std::uint32_t kind = pick(rng, 10);
    std::string d;
    if (kind < 5) {
      int g = opt.random_generations ? static_cast<int>(pick(rng, 3)) : 2;
      std::size_t want = model_collect(*w, g);
      std::size_t got = gc::collect(g);
      d = step("collect(" + std::to_string(g) + ")", got, want);
    } else if (kind < 7) {
      if (w->roots.empty()) continue;
      auto k = static_cast<std::size_t>(pick(rng, static_cast<std::uint32_t>(w->roots.size())));
      Ref<MNode> victim = std::move(w->roots[k]);
      w->roots.erase(w->roots.begin() + static_cast<std::ptrdiff_t>(k));
      w->root_ids.erase(w->root_ids.begin() + static_cast<std::ptrdiff_t>(k));
      victim.reset();
      settle(*w);
      d = step("drop root", 0, 0);
    } else if (kind == 7) {
      w->saved_ids.clear();
      drop_all(w->saved);
      settle(*w);
      w->garbage_ids.clear();
      drop_all(gc::garbage());
      settle(*w);
      d = step("drop stores", 0, 0);
    } else if (kind == 8 && opt.freeze) {
      for (int i = 0; i < n; ++i)
        if (w->alive[static_cast<std::size_t>(i)] && w->gen[static_cast<std::size_t>(i)] < 3)
          w->gen[static_cast<std::size_t>(i)] = 3;
      gc::freeze();
      d = step("freeze", 0, 0);
    } else if (kind == 9 && opt.freeze) {
      for (int i = 0; i < n; ++i)
        if (w->alive[static_cast<std::size_t>(i)] && w->gen[static_cast<std::size_t>(i)] == 3)
          w->gen[static_cast<std::size_t>(i)] = 2;
      gc::unfreeze();
      d = step("unfreeze", 0, 0);
    }
    if (!d.empty()) return d;
  }

  // Teardown: drop every reference, thaw, collect under pep442 until the
  // model has nothing left; the library must agree at every round.
  w->root_ids.clear();
  drop_all(w->roots);
  settle(*w);
  for (int i = 0; i < n; ++i)
    if (w->gen[static_cast<std::size_t>(i)] == 3) w->gen[static_cast<std::size_t>(i)] = 2;
  gc::unfreeze();
  w->legacy = false;
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  for (int round = 0; round < n + 3; ++round) {
    w->saved_ids.clear();
    drop_all(w->saved);
    settle(*w);
    w->garbage_ids.clear();
    drop_all(gc::garbage());
    settle(*w);
    std::size_t want = model_collect(*w, 2);
    std::size_t got = gc::collect(2);
    std::string d = step("final collect", got, want);
    if (!d.empty()) return d;
    if (members(w->alive).empty() && w->saved.empty()) break;
  }
  if (!members(w->alive).empty()) return trace.str() + ": the model kept nodes alive after teardown";
  delete w;
  return "";
}

void run(std::uint32_t seed, const Options& opt) {
  ouro_test::in_fresh_heap([seed, opt] {
    gc::disable();  // only the collections the test asks for
    std::mt19937 rng(seed);
    for (int it = 0; it < opt.iterations; ++it) {
      std::string diff = run_iteration(rng, opt);
      if (!diff.empty()) {
        ADD_FAILURE() << "seed " << seed << ", iteration " << it << ": " << diff;
        return;
      }
    }
  });
}

TEST(Model, FullCollectionsFreeExactlyTheUnreachableNodes) {
  run(1, Options{80, false, 0, 0, false, false});
}

TEST(Model, YoungerCollectionsTreatOlderGenerationsAsRootsAndPromoteSurvivors) {
  run(2, Options{80, true, 0, 0, false, false});
}

TEST(Model, Pep442FinalizersRunOnceAndResurrectionsKeepWhatTheyReach) {
  run(3, Options{80, true, 40, 50, false, false});
}

TEST(Model, FrozenNodesAreOutsideEveryCollectionUntilUnfrozen) {
  run(4, Options{60, true, 25, 40, true, false});
}

TEST(Model, LegacyFinalizersAndWhatTheyReachAreUncollectable) {
  run(5, Options{60, true, 35, 30, false, true});
}

}  // namespace
