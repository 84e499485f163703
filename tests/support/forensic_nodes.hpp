// support/forensic_nodes.hpp — managed types for the leak-forensics tests
// (why_alive, find_cycles, type_stats, dot/html): one with every kind of
// member under a name (OURO_TRAVERSE), one that visits without names, and an
// untracked holder, each with a fixed repr so reports can be compared.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <ouro/ouro.hpp>

namespace ouro_test {

// Tracked; every member visited under its own name.
struct Box : ouro::Object {
  explicit Box(std::string n = "box") : name(std::move(n)) {}
  std::string repr() const override { return name; }
  std::string name;
  ouro::Ref<Box> next;
  std::vector<ouro::Ref<Box>> children;
  std::map<std::string, ouro::Ref<Box>> by_name;
  std::optional<ouro::Ref<Box>> maybe;
  std::pair<ouro::Ref<Box>, int> pair;
  OURO_TRAVERSE(next, children, by_name, maybe, pair)
};

// Tracked; visits its links without a name (field "").
struct Anon : ouro::Object {
  explicit Anon(std::string n = "anon") : name(std::move(n)) {}
  std::string repr() const override { return name; }
  void traverse(ouro::Visitor& v) override { v(link, extra); }
  std::string name;
  ouro::Ref<ouro::Object> link, extra;
};

// Untracked (no traverse): whatever it holds is held from outside the
// tracked heap, like a Python object without GC support would.
struct Holder : ouro::Object {
  explicit Holder(ouro::Ref<ouro::Object> h) : held(std::move(h)) {}
  std::string repr() const override { return "holder"; }
  ouro::Unreported<ouro::Ref<ouro::Object>> held;  // untracked on purpose
};

// A Box with a finalizer: under the legacy policy its cycles are uncollectable.
struct FinalizedBox : Box {
  using Box::Box;
  void finalize() override {}
};

// Under the legacy policy (left set), an unreferenced cycle f <-> n where f
// has a finalizer, collected once: f sits in gc::garbage(). Returns what
// collect() found (2).
inline std::size_t leave_uncollectable_cycle() {
  ouro::gc::set_finalizer_policy(ouro::gc::FinalizerPolicy::legacy);
  {
    ouro::Ref<Box> f = ouro::make<FinalizedBox>("f");
    f->next = ouro::make<Box>("n");
    f->next->next = f;
  }
  return ouro::gc::collect();
}

// Just the field names of a chain, "next/children/by_name".
inline std::string fields_of(const std::vector<ouro::inspect::Edge>& chain) {
  std::string out;
  for (const ouro::inspect::Edge& e : chain) out += (out.empty() ? "" : "/") + e.field;
  return out;
}

// "a -> b -> c" from the reprs of a chain.
inline std::string path_of(const std::vector<ouro::inspect::Edge>& chain) {
  if (chain.empty()) return "";
  std::string out = chain.front().from->repr();
  for (const ouro::inspect::Edge& e : chain) out += " -> " + e.to->repr();
  return out;
}

}  // namespace ouro_test
