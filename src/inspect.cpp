// inspect.cpp — ouro::inspect: why_alive, is_root, find_cycles, type_stats,
// snapshots and growth; the registry of type sizes that make<T> fills; the
// field names of OURO_TRAVERSE. The graph work is in inspect_graph.cpp, the
// pictures in inspect_dot.cpp and inspect_html.cpp.
#include "inspect.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <typeindex>
#include <unordered_map>

#include "inspect_graph.hpp"
#include "object.hpp"
#include "thread_heap.hpp"

namespace ouro {
namespace detail {

// ---------------------------------------------------------------------------
// Field names and type sizes
// ---------------------------------------------------------------------------

FieldNames::FieldNames(std::string_view list) : text_(list) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::vector<std::size_t> starts;
  std::size_t begin = 0;
  for (std::size_t i = 0; i <= text_.size(); ++i) {
    if (i < text_.size() && text_[i] != ',') continue;
    std::size_t b = begin, e = i;
    while (b < e && is_space(text_[b])) ++b;
    while (e > b && is_space(text_[e - 1])) --e;
    if (e < text_.size()) text_[e] = '\0';
    starts.push_back(b);
    begin = i + 1;
  }
  // Pointers only once text_ no longer changes.
  for (std::size_t s : starts) names_.push_back(text_.c_str() + s);
}

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

}  // namespace detail

// ---------------------------------------------------------------------------
// The public functions
// ---------------------------------------------------------------------------

namespace inspect {

std::vector<Edge> why_alive(const Object& o) {
  if (is_immortal(o)) return {};
  detail::Heap& h = detail::heap_for_api();
  if (detail::is_being_destroyed(o))
    throw std::invalid_argument("ouro::inspect::why_alive: the " + type_name(o) +
                                " is being destroyed (its refcount reached zero): nothing keeps it alive");
  if (detail::is_collection_garbage(o))
    throw std::invalid_argument("ouro::inspect::why_alive: the running collection found " + o.repr() +
                                " unreachable: it is garbage that this collection reclaims");
  detail::HeapGraph g(h, "ouro::inspect::why_alive", &o);
  std::uint32_t target = g.find(o);
  if (target == detail::HeapGraph::npos) return {};  // not made by make<T>: only the outside can hold it
  bool reached = false;
  std::vector<detail::HeapGraph::Step> steps = g.chain_to(target, reached);
  if (!reached)
    throw std::invalid_argument("ouro::inspect::why_alive: no root reaches " + o.repr() +
                                ": it is cyclic garbage that the next collection reclaims (see find_cycles)");
  return detail::edges_of(g, steps);
}

bool is_root(const Object& o) {
  if (!gc::is_tracked(o) || detail::is_collection_garbage(o)) return false;
  detail::HeapGraph g(detail::heap_for_api(), "ouro::inspect::is_root", &o);
  std::uint32_t i = g.find(o);
  return i != detail::HeapGraph::npos && g.is_root(i);
}

std::vector<Cycle> find_cycles() {
  detail::HeapGraph g(detail::heap_for_api(), "ouro::inspect::find_cycles");
  return detail::cycles_of(g, nullptr);
}

std::vector<Cycle> find_cycles(const Object& o) {
  if (!gc::is_tracked(o) || detail::is_collection_garbage(o)) return {};
  detail::HeapGraph g(detail::heap_for_api(), "ouro::inspect::find_cycles", &o);
  return detail::cycles_of(g, &o);
}

std::vector<TypeStat> type_stats() { return detail::count_types(detail::heap_for_api()); }

std::size_t Snapshot::objects() const noexcept {
  std::size_t n = 0;
  for (const TypeStat& t : types_) n += t.count;
  return n;
}

Snapshot snapshot() {
  Snapshot s;
  s.types_ = type_stats();
  return s;
}

std::vector<TypeStat> growth(const Snapshot& before, const Snapshot& after) {
  std::unordered_map<std::string, const TypeStat*> old;
  for (const TypeStat& t : before.types()) old.emplace(t.type, &t);
  std::vector<TypeStat> grew;
  for (const TypeStat& t : after.types()) {
    auto it = old.find(t.type);
    std::size_t count = it == old.end() ? 0 : it->second->count;
    std::size_t bytes = it == old.end() ? 0 : it->second->bytes;
    if (t.count > count) grew.push_back(TypeStat{t.type, t.count - count, t.bytes > bytes ? t.bytes - bytes : 0});
  }
  std::ranges::sort(grew, [](const TypeStat& a, const TypeStat& b) {
    return a.count != b.count ? a.count > b.count : a.type < b.type;
  });
  return grew;
}

}  // namespace inspect
}  // namespace ouro

namespace ouro::detail {

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
  for (std::size_t head = 0; head < found.size() && found.size() < limit; ++head) {
    Reached r = found[head];
    if (r.distance >= depth) continue;
    for (const HeapGraph::Arc& a : backwards ? g.in(r.node) : g.out(r.node)) {
      if (!seen.emplace(a.node, r.distance + 1).second) continue;
      found.push_back({a.node, r.distance + 1});
      if (found.size() >= limit) break;
    }
  }
  return found;
}

}  // namespace ouro::detail
