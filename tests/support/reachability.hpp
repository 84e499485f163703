// support/reachability.hpp — the reference model of reachability that the
// model test (model_test.cpp), the marking test (marking_test.cpp) and the
// fuzzer (fuzz/checks.cpp) judge the collector by. Objects are ids 0..n-1; each test turns its own graph (its
// edge lists, or the fields and map entries of its live objects) into
// Edges, names its roots, and asks:
//
//   reach(edges, starts, allowed)      what the starts reach, inside `allowed`;
//   unreachable(edges, roots, among)   what of `among` the roots do not
//                                      reach (the garbage of a collection
//                                      whose working set is `among`).
//
// No GoogleTest and no library here: the fuzzer's libFuzzer target uses it
// too.
#pragma once

#include <cstddef>
#include <vector>

namespace ouro_test {

// The edges of id x: edges[x], the ids its references point at.
using Edges = std::vector<std::vector<int>>;
// A set of ids: s[x] != 0 for a member.
using Set = std::vector<char>;

// The ids reachable from `starts` (those in `allowed` themselves included)
// through edges whose target is in `allowed`.
inline Set reach(const Edges& edges, const std::vector<int>& starts, const Set& allowed) {
  Set seen(allowed.size(), 0);
  std::vector<int> stack;
  for (int s : starts)
    if (allowed[static_cast<std::size_t>(s)] && !seen[static_cast<std::size_t>(s)]) {
      seen[static_cast<std::size_t>(s)] = 1;
      stack.push_back(s);
    }
  while (!stack.empty()) {
    int x = stack.back();
    stack.pop_back();
    for (int t : edges[static_cast<std::size_t>(x)]) {
      auto ti = static_cast<std::size_t>(t);
      if (allowed[ti] && !seen[ti]) {
        seen[ti] = 1;
        stack.push_back(t);
      }
    }
  }
  return seen;
}

// The members of `among` that no path from `roots` reaches without leaving
// `among`.
inline Set unreachable(const Edges& edges, const std::vector<int>& roots, const Set& among) {
  Set reached = reach(edges, roots, among);
  Set out(among.size(), 0);
  for (std::size_t i = 0; i < among.size(); ++i) out[i] = among[i] && !reached[i];
  return out;
}

// The members of `s`, in increasing order.
inline std::vector<int> members(const Set& s) {
  std::vector<int> out;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i]) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace ouro_test
