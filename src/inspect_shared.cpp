// inspect_shared.cpp — what the leak-forensics reports share
// (inspect_shared.hpp): the registry of type sizes that make<T> fills, graph
// nodes turned into the public Edge and Cycle values, the count by type and
// by allocation site, reprs cut for a report, an object's neighbourhood.
#include "inspect_shared.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <mutex>
#include <string>
#include <typeindex>
#include <unordered_map>

#include "allocation_sites.hpp"
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

namespace {

// One (type, site) pair of recorded objects, by the addresses make<T> and
// its CallSite gave (the same text can sit at several addresses: merged by
// value afterwards).
struct SiteKey {
  const std::type_info* type;
  const char* file;
  const char* function;
  std::uint_least32_t line;
  bool operator==(const SiteKey&) const = default;
};
struct SiteKeyHash {
  std::size_t operator()(const SiteKey& k) const noexcept {
    std::size_t h = std::hash<const void*>()(k.type);
    for (std::size_t part : {std::hash<const void*>()(k.file), std::hash<const void*>()(k.function), std::size_t{k.line}})
      h = h * 1000003u ^ part;
    return h;
  }
};

// Adds `count` objects made at `site` to the sites of one type (merged by
// value).
void add_site(std::vector<inspect::SiteStat>& sites, const std::string& type, const inspect::Site& site,
              std::size_t count) {
  for (inspect::SiteStat& s : sites)
    if (same_site(s.site, site)) {
      s.count += count;
      return;
    }
  sites.push_back({type, site, count});
}

}  // namespace

bool same_site(const inspect::Site& a, const inspect::Site& b) noexcept {
  return a.line == b.line && std::strcmp(a.file, b.file) == 0 && std::strcmp(a.function, b.function) == 0;
}

inspect::Site public_site(const CallSite& s) noexcept { return inspect::Site{s.file, s.line, s.function}; }

void sort_sites(std::vector<inspect::SiteStat>& sites) {
  std::ranges::sort(sites, [](const inspect::SiteStat& a, const inspect::SiteStat& b) {
    if (a.count != b.count) return a.count > b.count;
    if (a.type != b.type) return a.type < b.type;
    if (int c = std::strcmp(a.site.file, b.site.file)) return c < 0;
    if (a.site.line != b.site.line) return a.site.line < b.site.line;
    return std::strcmp(a.site.function, b.site.function) < 0;
  });
}

Census take_census(Heap& h) {
  struct Count {
    const std::type_info* type = nullptr;
    std::size_t count = 0;
  };
  std::unordered_map<std::type_index, Count> by_type;
  std::unordered_map<SiteKey, std::size_t, SiteKeyHash> by_site;
  const std::type_info* last = nullptr;
  Count* last_count = nullptr;
  {
    const SiteLookup sites;  // no user code and no death below
    for (Table t : {Table::gen0, Table::gen1, Table::gen2, Table::permanent}) {
      h.table(t).for_each([&](Object* o) {
        const std::type_info& type = typeid(*o);
        if (&type != last) {
          last = &type;
          last_count = &by_type[type];
          last_count->type = &type;
        }
        ++last_count->count;
        if (const CallSite* site = sites.find(*o)) ++by_site[SiteKey{&type, site->file, site->function, site->line}];
      });
    }
  }
  // Short names of different types merge, in both lists.
  std::unordered_map<std::string, inspect::TypeStat> by_name;
  std::unordered_map<const std::type_info*, const std::string*> name_of;
  for (auto& [index, count] : by_type) {
    std::string name = short_type_name(*count.type);
    auto [it, _] = by_name.try_emplace(name, inspect::TypeStat{name, 0, 0});
    it->second.count += count.count;
    it->second.bytes += count.count * made_type_size(*count.type);
    name_of[count.type] = &it->first;
  }
  std::unordered_map<std::string, std::vector<inspect::SiteStat>> sites_by_name;
  for (const auto& [key, count] : by_site) {
    const std::string& name = *name_of.at(key.type);
    add_site(sites_by_name[name], name, inspect::Site{key.file, key.line, key.function}, count);
  }
  Census out;
  out.types.reserve(by_name.size());
  for (auto& [name, s] : by_name) out.types.push_back(std::move(s));
  std::ranges::sort(out.types, [](const inspect::TypeStat& a, const inspect::TypeStat& b) {
    return a.count != b.count ? a.count > b.count : a.type < b.type;
  });
  for (auto& [name, sites] : sites_by_name)
    out.sites.insert(out.sites.end(), std::make_move_iterator(sites.begin()), std::make_move_iterator(sites.end()));
  sort_sites(out.sites);
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
