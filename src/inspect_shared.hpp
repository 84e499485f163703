// inspect_shared.hpp — what the leak-forensics reports share
// (inspect_shared.cpp): graph nodes turned into the public Edge and Cycle
// values, the type count and allocation sites, reprs cut for a report,
// neighbourhoods.
#pragma once

#include <cstdint>
#include <typeinfo>
#include <vector>

#include "heap.hpp"
#include "inspect_graph.hpp"
#include "ouro/detail/make.hpp"
#include "ouro/inspect.hpp"

namespace ouro::detail {

// sizeof the type as make<T> registered it; 0 for a type never registered.
std::size_t made_type_size(const std::type_info& type);

std::vector<inspect::Edge> edges_of(const HeapGraph& g, const std::vector<HeapGraph::Step>& steps);

// The cycles of `g`, largest first; only those containing `only` unless null.
std::vector<inspect::Cycle> cycles_of(HeapGraph& g, const Object* only);

// type_stats() and site_stats() of the heap, from one pass: tracked objects
// of all generations by short type name, and the recorded allocation sites
// by (short type name, site), each in the order its query returns.
struct Census {
  std::vector<inspect::TypeStat> types;
  std::vector<inspect::SiteStat> sites;
};
Census take_census(Heap& h);

// Allocation sites as the reports show them: equal by value (file,
// line, function), a make's CallSite as the public Site, in site_stats()
// order (most objects first, then type, file, line).
bool same_site(const inspect::Site& a, const inspect::Site& b) noexcept;
inspect::Site public_site(const CallSite& s) noexcept;
void sort_sites(std::vector<inspect::SiteStat>& sites);

}  // namespace ouro::detail

namespace ouro::detail {

// o.repr() cut to `max` characters ("..." marks the cut); a repr that throws
// reads "<repr() threw>". User code runs here, so callers hold no iterators
// into the heap's tables across it.
std::string repr_for_report(const Object& o, std::size_t max = 80);

// The nodes within `depth` references of `center` (following referrers when
// `backwards`), with their distance, in breadth-first order; at most `limit`.
struct Reached {
  std::uint32_t node;
  int distance;
};
std::vector<Reached> neighbourhood(HeapGraph& g, std::uint32_t center, int depth, bool backwards, std::size_t limit);

}  // namespace ouro::detail
