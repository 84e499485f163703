// inspect_shared.cpp — what the leak-forensics reports share
// (inspect_shared.hpp): the registry of type sizes that make<T> fills, graph
// nodes turned into the public Edge and Cycle values, the type count, reprs
// cut for a report, an object's neighbourhood.
#include "inspect_shared.hpp"

#include <algorithm>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>

#include "object_core.hpp"

namespace ouro::detail {

namespace {

struct TypeRegistry {
  std::mutex mutex;
  std::unordered_map<std::type_index, std::size_t> sizes;
};

// Never destroyed: make<T> may run during static destruction, and threads
// may outlive main.
TypeRegistry& type_registry() {
  static TypeRegistry* registry = new TypeRegistry;
  return *registry;
}

}  // namespace

void register_made_type(const std::type_info& type, std::size_t size) noexcept {
  try {
    TypeRegistry& r = type_registry();
    std::lock_guard lock(r.mutex);
    r.sizes.emplace(type, size);
  } catch (...) {
    // Out of memory at static initialization: the type reports 0 bytes.
  }
}

std::size_t made_type_size(const std::type_info& type) {
  TypeRegistry& r = type_registry();
  std::lock_guard lock(r.mutex);
  auto it = r.sizes.find(type);
  return it == r.sizes.end() ? 0 : it->second;
}

// ---------------------------------------------------------------------------
// Shared by the reports
// ---------------------------------------------------------------------------

std::vector<inspect::Edge> edges_of(const HeapGraph& g, const std::vector<HeapGraph::Step>& steps) {
  std::vector<inspect::Edge> out;
  out.reserve(steps.size());
  for (const HeapGraph::Step& s : steps) out.push_back({ouro::ref(g.object(s.from)), s.field, ouro::ref(g.object(s.to))});
  return out;
}

inspect::Cycle cycle_of(HeapGraph& g, const std::vector<std::uint32_t>& members, std::vector<std::uint32_t>& group_of,
                        std::uint32_t id) {
  inspect::Cycle c{{}, {}, !g.is_alive(members.front())};
  c.objects.reserve(members.size());
  for (std::uint32_t v : members) group_of[v] = id;
  for (std::uint32_t v : members) {
    c.objects.push_back(ouro::ref(g.object(v)));
    for (const HeapGraph::Arc& a : g.out(v))
      if (a.node < group_of.size() && group_of[a.node] == id)
        c.edges.push_back({ouro::ref(g.object(v)), a.field, ouro::ref(g.object(a.node))});
  }
  return c;
}

std::vector<inspect::Cycle> cycles_of(HeapGraph& g, const Object* only) {
  std::vector<std::vector<std::uint32_t>> groups = g.cycle_groups();  // largest first
  std::uint32_t wanted = only ? g.find(*only) : HeapGraph::npos;
  if (only)
    std::erase_if(groups, [&](const auto& members) { return std::ranges::find(members, wanted) == members.end(); });
  std::vector<std::uint32_t> group_of(g.tracked(), HeapGraph::npos);
  std::vector<inspect::Cycle> out;
  out.reserve(groups.size());
  for (std::uint32_t id = 0; id < groups.size(); ++id) out.push_back(cycle_of(g, groups[id], group_of, id));
  return out;
}

std::vector<inspect::TypeStat> count_types(Heap& h) {
  struct Count {
    const std::type_info* type = nullptr;
    std::size_t count = 0;
  };
  std::unordered_map<std::type_index, Count> by_type;
  const std::type_info* last = nullptr;
  Count* last_count = nullptr;
  for (Table t : {Table::gen0, Table::gen1, Table::gen2, Table::permanent}) {
    h.table(t).for_each([&](Object* o) {
      const std::type_info& type = typeid(*o);
      if (&type != last) {
        last = &type;
        last_count = &by_type[type];
        last_count->type = &type;
      }
      ++last_count->count;
    });
  }
  std::unordered_map<std::string, inspect::TypeStat> by_name;  // short names of different types merge
  for (auto& [index, count] : by_type) {
    std::string name = short_type_name(*count.type);
    inspect::TypeStat& s = by_name.try_emplace(name, inspect::TypeStat{name, 0, 0}).first->second;
    s.count += count.count;
    s.bytes += count.count * made_type_size(*count.type);
  }
  std::vector<inspect::TypeStat> out;
  out.reserve(by_name.size());
  for (auto& [name, s] : by_name) out.push_back(std::move(s));
  std::ranges::sort(out, [](const inspect::TypeStat& a, const inspect::TypeStat& b) {
    return a.count != b.count ? a.count > b.count : a.type < b.type;
  });
  return out;
}

std::string repr_for_report(const Object& o, std::size_t max) {
  std::string text;
  try {
    text = o.repr();
  } catch (...) {
    return "<repr() threw>";
  }
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

std::vector<Reached> neighbourhood(HeapGraph& g, std::uint32_t center, int depth, bool backwards, std::size_t limit) {
  std::vector<Reached> found{{center, 0}};
  std::unordered_map<std::uint32_t, int> seen{{center, 0}};
  auto reach = [&](const auto& arcs, int distance) {
    for (const HeapGraph::Arc& a : arcs) {
      if (!seen.emplace(a.node, distance).second) continue;
      found.push_back({a.node, distance});
      if (found.size() >= limit) break;
    }
  };
  for (std::size_t head = 0; head < found.size() && found.size() < limit; ++head) {
    Reached r = found[head];
    if (r.distance >= depth) continue;
    if (backwards)
      reach(g.in(r.node), r.distance + 1);
    else
      reach(g.out(r.node), r.distance + 1);
  }
  return found;
}

}  // namespace ouro::detail
