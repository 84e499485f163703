// inspect.cpp — ouro::inspect: why_alive, is_root, find_cycles,
// shortest_cycle, type_stats, snapshots and growth; the field names of
// OURO_TRAVERSE. The graph work is in inspect_graph.cpp, what the reports
// share in inspect_shared.cpp, the pictures in inspect_dot.cpp and
// inspect_html.cpp.
#include "ouro/inspect.hpp"

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <typeindex>
#include <unordered_map>
#include <utility>

#include "allocation_sites.hpp"
#include "inspect_graph.hpp"
#include "inspect_shared.hpp"
#include "ouro/detail/make.hpp"  // register_made_type
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

std::optional<Cycle> shortest_cycle(const Object& o) {
  if (!gc::is_tracked(o) || detail::is_collection_garbage(o)) return std::nullopt;
  detail::HeapGraph g(detail::heap_for_api(), "ouro::inspect::shortest_cycle", &o);
  std::uint32_t start = g.find(o);
  if (start == detail::HeapGraph::npos) return std::nullopt;
  std::vector<detail::HeapGraph::Step> steps = g.shortest_cycle(start);
  if (steps.empty()) return std::nullopt;
  Cycle c{{}, detail::edges_of(g, steps), !g.is_alive(start)};
  c.objects.reserve(steps.size());
  for (const detail::HeapGraph::Step& s : steps) c.objects.push_back(ouro::ref(g.object(s.from)));
  return c;
}

// The sampling interval's draw doubles it: a cap keeps 2n - 1 in range.
constexpr std::size_t kMaxSitesEvery = std::size_t{1} << 40;

void set_allocation_sites(std::size_t every) {
  detail::Heap& h = detail::heap_for_api();
  h.sites_every = std::min(every, kMaxSitesEvery);
  h.sample_countdown = every ? h.next_sample_interval() : 0;
  std::uint8_t& mode = detail::tls_make.mode;
  mode = static_cast<std::uint8_t>(every ? mode | detail::kSampling : mode & ~detail::kSampling);
}

std::size_t get_allocation_sites() { return detail::heap_for_api().sites_every; }

std::optional<Site> allocation_site(const Object& o) {
  std::optional<detail::CallSite> site = detail::site_of(o);
  if (!site) return std::nullopt;
  return detail::public_site(*site);
}

std::vector<TypeStat> type_stats() { return detail::take_census(detail::heap_for_api()).types; }

std::vector<SiteStat> site_stats() { return detail::take_census(detail::heap_for_api()).sites; }

std::size_t Snapshot::objects() const noexcept {
  std::size_t n = 0;
  for (const TypeStat& t : types_) n += t.count;
  return n;
}

Snapshot snapshot() {
  detail::Census census = detail::take_census(detail::heap_for_api());
  Snapshot s;
  s.types_ = std::move(census.types);
  s.sites_ = std::move(census.sites);
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
    if (t.count > count) grew.push_back({t.type, t.count - count, t.bytes > bytes ? t.bytes - bytes : 0});
  }
  std::ranges::sort(grew, [](const TypeStat& a, const TypeStat& b) {
    return a.count != b.count ? a.count > b.count : a.type < b.type;
  });
  return grew;
}

std::vector<SiteStat> site_growth(const Snapshot& before, const Snapshot& after) {
  // A type's sites are few: matched by value within the type.
  std::unordered_map<std::string, std::vector<const SiteStat*>> old;
  for (const SiteStat& s : before.sites()) old[s.type].push_back(&s);
  std::vector<SiteStat> grew;
  for (const SiteStat& s : after.sites()) {
    std::size_t was = 0;
    if (auto it = old.find(s.type); it != old.end())
      for (const SiteStat* b : it->second)
        if (detail::same_site(b->site, s.site)) was = b->count;
    if (s.count > was) grew.push_back({s.type, s.site, s.count - was});
  }
  detail::sort_sites(grew);
  return grew;
}

}  // namespace inspect
}  // namespace ouro
