// inspect_html.cpp — ouro::inspect::write_html: one self-contained page (no
// network, no external script or style) about the calling thread's heap.
//
// The tables (types with their allocation sites when recorded, cycles with
// the shortest cycle through one member of each, why-alive chains with the
// sites of their objects) are plain HTML, readable without JavaScript. The explorer is drawn by the inline script from a JSON
// copy of the graph embedded in <script type="application/json">: every
// string in it is escaped so that "<", ">" and "&" never appear raw (a repr
// containing "</script>" cannot end the block).
//
// The page is bounded whatever the heap's shape: heaps larger than
// kMaxHtmlNodes objects are sampled for the explorer (cycle members and
// chains first, then their neighbours), each object lists at most
// kMaxArcsShown referrers and referents (with the count of those left out),
// a why-alive chain shows its first and last kChainEndsShown references, a
// cycle its first kMaxEdgesShown. The work is linear: one graph, one
// breadth-first search for all chains, one pass per table.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <ostream>
#include <string>
#include <typeinfo>
#include <unordered_map>

#include "allocation_sites.hpp"
#include "inspect_html_assets.hpp"
#include "inspect_shared.hpp"
#include "object_core.hpp"
#include "thread_heap.hpp"

namespace ouro::detail {
namespace {

constexpr std::uint32_t kMaxHtmlNodes = 4000;
constexpr std::size_t kMaxCyclesShown = 30, kMaxEdgesShown = 12, kMaxTypesShown = 100, kChains = 5;
constexpr std::size_t kChainEndsShown = 6, kMaxArcsShown = 16, kSitesShown = 3;
// Type and field names in the explorer's data are cut to these lengths (a
// repr to 120 characters): one object's entry stays small.
constexpr std::size_t kMaxTypeChars = 120, kMaxFieldChars = 60;

std::string clipped(std::string text, std::size_t max) {
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

std::string html_escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || c == '<' || c == '>' || c == '&' || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// "dir/file.cpp:12": the last two parts of the path are enough to find it.
std::string site_text(const inspect::Site& s) {
  std::string file = s.file;
  std::size_t cut = file.rfind('/');
  if (cut != std::string::npos && cut > 0) cut = file.rfind('/', cut - 1);
  if (cut != std::string::npos) file = file.substr(cut + 1);
  return file + ":" + std::to_string(s.line);
}

// Where the object was made, when its site was recorded, else "".
std::string site_of_object(const Object& o) {
  std::optional<CallSite> site = site_of(o);
  if (!site) return "";
  std::string text = site_text(public_site(*site));
  return *site->function ? text + " (" + site->function + ")" : text;
}

// The graph as the page sees it: a subset of the heap's nodes, renumbered.
class PageGraph {
 public:
  explicit PageGraph(HeapGraph& g) : g_(g), member_((std::size_t{g.size()} + 63) / 64, 0) {}

  void include(std::uint32_t node) {
    if (full() || is_member(node)) return;
    ids_.emplace(node, static_cast<std::uint32_t>(nodes_.size()));
    nodes_.push_back(node);
    member_[node / 64] |= std::uint64_t{1} << (node % 64);
  }
  bool full() const noexcept { return nodes_.size() >= kMaxHtmlNodes; }
  // The page's id of a heap node, -1 for a node the page leaves out.
  long id(std::uint32_t node) const {
    return is_member(node) ? static_cast<long>(ids_.find(node)->second) : -1;
  }
  // Adds the neighbours of what is included, breadth-first, while room lasts.
  void fill_with_neighbours() {
    for (std::size_t head = 0; head < nodes_.size() && !full(); ++head) {
      for (const HeapGraph::Arc& a : g_.out(nodes_[head])) {
        if (full()) return;
        include(a.node);
      }
      for (const HeapGraph::Arc& a : g_.in(nodes_[head])) {
        if (full()) return;
        include(a.node);
      }
    }
  }
  void write_json(std::ostream& os, long start) const;

 private:
  bool is_member(std::uint32_t node) const noexcept { return (member_[node / 64] >> (node % 64)) & 1; }
  // Each object's referrers that the page shows: the first kMaxArcsShown
  // of those on the page, in the order of the heap's nodes (as
  // HeapGraph::in lists them), read off the included objects' own
  // references; and how many there are in all, from one pass over the
  // referents alone. No index of all referrers is built.
  struct Shown {
    std::vector<std::uint32_t> count;  // by page id
    std::vector<HeapGraph::Arc> arcs;  // kMaxArcsShown by page id; node: the referrer's page id
    std::vector<std::uint32_t> all;    // by page id: every referrer, on the page or not
  };
  Shown referrers_shown() const;
  void write_arc(std::ostream& os, bool first, long to, const char* field) const;
  HeapGraph& g_;
  std::vector<std::uint32_t> nodes_;
  std::unordered_map<std::uint32_t, std::uint32_t> ids_;
  std::vector<std::uint64_t> member_;  // a bit by heap node
};

PageGraph::Shown PageGraph::referrers_shown() const {
  Shown shown{std::vector<std::uint32_t>(nodes_.size(), 0), std::vector<HeapGraph::Arc>(nodes_.size() * kMaxArcsShown),
              std::vector<std::uint32_t>(nodes_.size(), 0)};
  for (std::uint32_t from = 0; from < g_.tracked(); ++from)
    g_.for_each_referent(from, [&](std::uint32_t to) {
      if (is_member(to)) ++shown.all[ids_.find(to)->second];
    });
  std::vector<std::uint32_t> in_node_order = nodes_;
  std::sort(in_node_order.begin(), in_node_order.end());
  for (std::uint32_t from : in_node_order) {
    const auto from_id = static_cast<std::uint32_t>(id(from));
    for (const HeapGraph::Arc& a : g_.out(from)) {
      if (!is_member(a.node)) continue;
      const std::uint32_t to = ids_.find(a.node)->second;
      if (shown.count[to] < kMaxArcsShown) shown.arcs[to * kMaxArcsShown + shown.count[to]++] = {from_id, a.field};
    }
  }
  return shown;
}

void PageGraph::write_arc(std::ostream& os, bool first, long to, const char* field) const {
  os << (first ? "" : ",") << "[" << to << "," << json_string(clipped(field, kMaxFieldChars)) << "]";
}

void PageGraph::write_json(std::ostream& os, long start) const {
  const Shown referrers = referrers_shown();
  os << "{\"start\":" << start << ",\"nodes\":[\n";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    std::uint32_t v = nodes_[i];
    const Object& o = *g_.object(v);
    os << (i ? ",\n" : "") << "{\"type\":" << json_string(clipped(type_name(o), kMaxTypeChars))
       << ",\"repr\":" << json_string(repr_for_report(o, 120)) << ",\"root\":" << (g_.is_root(v) ? "true" : "false")
       << ",\"garbage\":" << (g_.is_alive(v) ? "false" : "true")
       << ",\"tracked\":" << (g_.is_tracked(v) ? "true" : "false") << ",\"refcount\":" << g_.refcount(v);
    if (std::string site = site_of_object(o); !site.empty())
      os << ",\"site\":" << json_string(clipped(site, kMaxTypeChars));
    // The first kMaxArcsShown references to objects on the page, and how
    // many references are left out.
    os << ",\"out\":[";
    std::size_t written = 0;
    const auto out = g_.out(v);
    for (const HeapGraph::Arc& a : out) {
      if (written == kMaxArcsShown) break;
      if (is_member(a.node)) write_arc(os, written++ == 0, id(a.node), a.field);
    }
    os << "],\"outMore\":" << out.size() - written << ",\"in\":[";
    const std::uint32_t shown_in = referrers.count[i];
    for (std::uint32_t k = 0; k < shown_in; ++k) {
      const HeapGraph::Arc& a = referrers.arcs[i * kMaxArcsShown + k];
      write_arc(os, k == 0, a.node, a.field);
    }
    os << "],\"inMore\":" << referrers.all[i] - shown_in << "}";
  }
  os << "\n]}";
}

// A link that selects the object in the explorer (plain text if left out).
std::string object_link(HeapGraph& g, const PageGraph& page, std::uint32_t node) {
  std::string text = html_escaped(repr_for_report(*g.object(node)));
  long id = page.id(node);
  if (id < 0) return "<span class=\"obj\">" + text + "</span>";
  return "<a href=\"#explorer\" class=\"obj" + std::string(g.is_alive(node) ? "" : " garbage") +
         "\" data-node=\"" + std::to_string(id) + "\">" + text + "</a>";
}

// " made at dir/file.cpp:12" after an object, when its site was recorded.
std::string site_note(HeapGraph& g, std::uint32_t node) {
  std::string site = site_of_object(*g.object(node));
  return site.empty() ? "" : " <span class=\"site\">made at " + html_escaped(site) + "</span>";
}

std::string field_text(const char* field) {
  return *field ? "<span class=\"field\">." + html_escaped(field) + "</span>" : "<span class=\"field\">(unnamed)</span>";
}

// With a column of allocation sites (the first kSitesShown of each type)
// when some were recorded.
void write_types(std::ostream& os, const Census& census) {
  const std::vector<inspect::TypeStat>& types = census.types;
  const bool sites = !census.sites.empty();
  // Each type's sites, most first (census.sites is in that order).
  std::unordered_map<std::string, std::vector<const inspect::SiteStat*>> sites_of;
  for (const inspect::SiteStat& s : census.sites) sites_of[s.type].push_back(&s);
  os << "<section id=\"types\"><h2>Objects by type</h2>\n"
        "<table id=\"type-table\"><thead><tr><th>Type</th><th class=\"num\">Count</th>"
        "<th class=\"num\">Bytes</th>"
     << (sites ? "<th>Made at (recorded objects)</th>" : "") << "</tr></thead><tbody>\n";
  for (std::size_t i = 0; i < types.size() && i < kMaxTypesShown; ++i) {
    os << "<tr><td>" << html_escaped(types[i].type) << "</td><td class=\"num\">" << types[i].count
       << "</td><td class=\"num\">" << types[i].bytes << "</td>";
    if (sites) {
      os << "<td class=\"site\">";
      auto found = sites_of.find(types[i].type);
      if (found != sites_of.end()) {
        const std::vector<const inspect::SiteStat*>& at = found->second;
        for (std::size_t k = 0; k < at.size() && k < kSitesShown; ++k)
          os << (k ? "<br>" : "") << html_escaped(site_text(at[k]->site)) << " &times;" << at[k]->count;
        if (at.size() > kSitesShown) os << "<br>&hellip; " << at.size() - kSitesShown << " more sites";
      }
      os << "</td>";
    }
    os << "</tr>\n";
  }
  os << "</tbody></table></section>\n";
}

// The groups the page shows (the first kMaxCyclesShown, largest first),
// each with the shortest cycle through its first member: in a group of
// thousands of objects, the few references that close the loop. Each
// search stays inside its group, so all of them together read each shown
// group once.
struct ShownGroups {
  std::vector<std::uint32_t> group_of;  // node -> index of its shown group, or npos
  std::vector<std::vector<HeapGraph::Step>> shortest;
};

ShownGroups shown_groups(HeapGraph& g, const std::vector<std::vector<std::uint32_t>>& groups) {
  ShownGroups shown{std::vector<std::uint32_t>(g.tracked(), HeapGraph::npos), {}};
  const std::size_t n = std::min(groups.size(), kMaxCyclesShown);
  for (std::size_t i = 0; i < n; ++i)
    for (std::uint32_t v : groups[i]) shown.group_of[v] = static_cast<std::uint32_t>(i);
  for (std::size_t i = 0; i < n; ++i)
    shown.shortest.push_back(g.shortest_cycle(groups[i].front(), shown.group_of, static_cast<std::uint32_t>(i)));
  return shown;
}

// The shortest cycle of a group as one line: "a .f &rarr; b .g &rarr; a",
// its first kMaxEdgesShown references at most.
void write_shortest_cycle(std::ostream& os, HeapGraph& g, const PageGraph& page,
                          const std::vector<HeapGraph::Step>& steps) {
  os << "<p class=\"shortest\">Shortest cycle through " << object_link(g, page, steps.front().from) << " ("
     << steps.size() << (steps.size() == 1 ? " reference" : " references") << "):<br>"
     << object_link(g, page, steps.front().from);
  for (std::size_t k = 0; k < steps.size() && k < kMaxEdgesShown; ++k)
    os << " " << field_text(steps[k].field) << " &rarr; " << object_link(g, page, steps[k].to);
  if (steps.size() > kMaxEdgesShown) os << " &hellip; " << steps.size() - kMaxEdgesShown << " more references";
  os << "</p>\n";
}

// `groups` largest first; only the first kMaxCyclesShown are written, each
// read once (its members' references), so the section is linear however
// large a group is.
void write_cycles(std::ostream& os, HeapGraph& g, const PageGraph& page,
                  const std::vector<std::vector<std::uint32_t>>& groups, const ShownGroups& shown) {
  os << "<section id=\"cycles\"><h2>Cycles</h2>\n";
  if (groups.empty()) os << "<p>No reference cycles among tracked objects.</p>\n";
  const std::vector<std::uint32_t>& group_of = shown.group_of;
  for (std::size_t i = 0; i < groups.size() && i < kMaxCyclesShown; ++i) {
    const std::vector<std::uint32_t>& members = groups[i];
    const auto id = static_cast<std::uint32_t>(i);
    bool garbage = !g.is_alive(members.front());
    os << "<div class=\"cycle" << (garbage ? " garbage" : "") << "\"><h3>Cycle " << i + 1 << ": "
       << members.size() << (members.size() == 1 ? " object" : " objects") << " &mdash; "
       << (garbage ? "<span class=\"badge garbage\">garbage</span> nothing outside keeps it alive"
                   : "<span class=\"badge alive\">alive</span> reachable from a root")
       << "</h3>\n";
    if (!shown.shortest[i].empty()) write_shortest_cycle(os, g, page, shown.shortest[i]);
    os << "<ul class=\"edges\">\n";
    std::size_t shown_edges = 0, total = 0;
    for (std::uint32_t v : members)
      for (const HeapGraph::Arc& a : g.out(v)) {
        if (a.node >= group_of.size() || group_of[a.node] != id) continue;
        if (++total > kMaxEdgesShown) continue;
        ++shown_edges;
        os << "<li>" << object_link(g, page, v) << " " << field_text(a.field) << " &rarr; "
           << object_link(g, page, a.node) << "</li>\n";
      }
    if (total > shown_edges)
      os << "<li class=\"more\">&hellip; and " << total - shown_edges << " more references</li>\n";
    os << "</ul></div>\n";
  }
  if (groups.size() > kMaxCyclesShown)
    os << "<p class=\"more\">&hellip; and " << groups.size() - kMaxCyclesShown << " smaller cycles</p>\n";
  os << "</section>\n";
}

// One why-alive chain of the page: its object, whether a root reaches it,
// and the references shown (all of them, or the first and last
// kChainEndsShown of a longer chain, `length` in all).
struct ChainSubject {
  ChainSubject(std::string t, std::uint32_t n) : title(std::move(t)), node(n) {}
  std::string title;
  std::uint32_t node;
  bool reached = true;
  std::size_t length = 0;
  std::vector<HeapGraph::Step> shown;
};

void read_chain(const HeapGraph& g, const HeapGraph::ChainTree& tree, ChainSubject& s) {
  s.shown = g.chain_ends(tree, s.node, kChainEndsShown, s.length, s.reached);
}

void write_chains(std::ostream& os, HeapGraph& g, const PageGraph& page, const std::vector<ChainSubject>& subjects) {
  os << "<section id=\"chains\"><h2>Why alive</h2>\n"
        "<p>The shortest chain of references from a root (held from outside the tracked heap) to one object of "
        "each of the largest groups.</p>\n";
  for (const ChainSubject& s : subjects) {
    os << "<div class=\"chain\"><h3>" << html_escaped(s.title) << ": " << object_link(g, page, s.node)
       << site_note(g, s.node) << "</h3>";
    if (!s.reached)
      os << "<p><span class=\"badge garbage\">garbage</span> no root reaches it: the next collection reclaims it.</p>";
    else if (s.shown.empty())
      os << "<p><span class=\"badge root\">root</span> it is held from outside the tracked heap itself.</p>";
    else {
      os << "<ol><li><span class=\"badge root\">root</span> " << object_link(g, page, s.shown.front().from)
         << site_note(g, s.shown.front().from) << "</li>";
      for (std::size_t k = 0; k < s.shown.size(); ++k) {
        if (k == kChainEndsShown && s.length > s.shown.size())
          os << "<li class=\"more\">&hellip; " << s.length - s.shown.size() << " more references &hellip;</li>";
        os << "<li>" << field_text(s.shown[k].field) << " &rarr; " << object_link(g, page, s.shown[k].to)
           << site_note(g, s.shown[k].to) << "</li>";
      }
      os << "</ol>";
    }
    os << "</div>\n";
  }
  os << "</section>\n";
}

// One object of each of the most common types (the first in node order),
// in one pass over the nodes.
std::vector<ChainSubject> samples_of_common_types(HeapGraph& g, const std::vector<inspect::TypeStat>& types) {
  const std::size_t wanted = std::min<std::size_t>(types.size(), 3);
  std::vector<std::uint32_t> first(wanted, HeapGraph::npos);
  std::unordered_map<const std::type_info*, std::size_t> rank;  // index in `types`, or `wanted` for none
  std::size_t found = 0;
  for (std::uint32_t v = 0; v < g.tracked() && found < wanted; ++v) {
    const Object& o = *g.object(v);
    const std::type_info& type = typeid(o);
    auto [it, added] = rank.try_emplace(&type, wanted);
    if (added) {
      std::string name = short_type_name(type);
      for (std::size_t t = 0; t < wanted; ++t)
        if (types[t].type == name) it->second = t;
    }
    if (it->second < wanted && first[it->second] == HeapGraph::npos) {
      first[it->second] = v;
      ++found;
    }
  }
  std::vector<ChainSubject> out;
  for (std::size_t t = 0; t < wanted; ++t)
    if (first[t] != HeapGraph::npos)
      out.emplace_back("Most common type " + types[t].type + " (" + std::to_string(types[t].count) + ")", first[t]);
  return out;
}

}  // namespace
}  // namespace ouro::detail

namespace ouro::inspect {

void write_html(std::ostream& os) {
  using detail::HeapGraph;
  detail::Heap& h = detail::heap_for_api();
  const detail::Census census = detail::take_census(h);
  const std::vector<TypeStat>& types = census.types;
  HeapGraph g(h, "ouro::inspect::write_html");
  std::vector<std::vector<std::uint32_t>> groups = g.cycle_groups();  // largest first

  std::vector<detail::ChainSubject> subjects;
  for (std::size_t i = 0; i < groups.size() && i < detail::kChains; ++i)
    subjects.emplace_back("Cycle " + std::to_string(i + 1), groups[i].front());
  for (detail::ChainSubject& s : detail::samples_of_common_types(g, types)) subjects.push_back(std::move(s));
  if (!subjects.empty()) {
    HeapGraph::ChainTree tree = g.chain_tree();
    for (detail::ChainSubject& s : subjects) detail::read_chain(g, tree, s);
  }

  detail::ShownGroups shown = detail::shown_groups(g, groups);
  detail::PageGraph page(g);
  for (const detail::ChainSubject& s : subjects) {
    for (const HeapGraph::Step& step : s.shown) page.include(step.from);
    page.include(s.node);
  }
  for (const std::vector<HeapGraph::Step>& steps : shown.shortest)
    for (std::size_t k = 0; k < steps.size() && k < detail::kMaxEdgesShown; ++k) page.include(steps[k].from);
  for (std::size_t i = 0; i < groups.size() && i < detail::kMaxCyclesShown && !page.full(); ++i)
    for (std::size_t k = 0; k < groups[i].size() && !page.full(); ++k) page.include(groups[i][k]);
  if (g.size() <= detail::kMaxHtmlNodes)
    for (std::uint32_t v = 0; v < g.size(); ++v) page.include(v);
  page.fill_with_neighbours();

  std::size_t roots = 0, garbage_cycles = 0;
  for (std::uint32_t v = 0; v < g.tracked(); ++v) roots += g.is_root(v);
  for (const auto& grp : groups) garbage_cycles += !g.is_alive(grp.front());

  os << detail::kHtmlHead << "<header><h1>ouroboros heap report</h1><p id=\"summary\">" << g.tracked()
     << " tracked objects, " << roots << " roots, " << groups.size() << " cycles (" << garbage_cycles
     << " garbage). <span class=\"legend\"><span class=\"badge root\">root</span> held from outside the tracked "
        "heap <span class=\"badge garbage\">garbage</span> no root reaches it <span class=\"badge untracked\">"
        "untracked</span> no traverse()</span></p></header>\n<main>\n<div class=\"reports\">\n";
  detail::write_types(os, census);
  detail::write_cycles(os, g, page, groups, shown);
  detail::write_chains(os, g, page, subjects);
  os << "</div>\n" << detail::kHtmlExplorer << "</main>\n<script type=\"application/json\" id=\"heap-data\">";
  page.write_json(os, subjects.empty() ? (g.size() ? 0 : -1) : page.id(subjects.front().node));
  os << "</script>\n" << detail::kHtmlScript << "</body></html>\n";
}

}  // namespace ouro::inspect
