// inspect_dot.cpp — ouro::inspect::write_dot: a Graphviz picture of the
// neighbourhood of one object, for `dot -Tsvg`.
//
// Nodes are "n<node number>", labelled "repr\nType"; every string goes
// through dot_quoted(), so a repr with quotes, backslashes, newlines or
// braces can neither break the file nor inject attributes.
#include <ostream>
#include <string>
#include <unordered_set>

#include "inspect_shared.hpp"
#include "thread_heap.hpp"

namespace ouro::detail {
namespace {

// At most this many nodes: a picture of more is unreadable anyway.
constexpr std::size_t kMaxDotNodes = 400;

// A dot double-quoted string (the quotes included). Backslash escapes are
// dot's own (\n is a line break, \" a quote); other control characters
// become spaces.
std::string dot_quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    }
  }
  return out + "\"";
}

std::string node_id(std::uint32_t node) {
  std::string id = "n";  // appended, not "n" + ...: GCC 12 -O3 warns (-Wrestrict) on that form
  id += std::to_string(node);
  return id;
}

void write_node(std::ostream& os, HeapGraph& g, std::uint32_t v, bool center) {
  const Object& o = *g.object(v);
  std::string label = repr_for_report(o), type = type_name(o);
  if (label.rfind(type, 0) != 0) label += "\n" + type;  // "Page(1)" needs no "Page" below it
  std::string style = "filled";
  std::string fill = "white", color = "black", shape = "box";
  if (!g.is_tracked(v)) style += ",dashed";
  if (g.is_root(v)) {
    shape = "doubleoctagon";
    fill = "lightblue";
    label += "\n(root)";
  }
  if (!g.is_alive(v)) {
    fill = "mistyrose";
    color = "red";
    label += "\n(garbage)";
  }
  os << "  " << node_id(v) << " [label=" << dot_quoted(label) << ", shape=" << shape << ", style=" << dot_quoted(style)
     << ", fillcolor=" << fill << ", color=" << color << (center ? ", penwidth=3" : "") << "];\n";
}

}  // namespace
}  // namespace ouro::detail

namespace ouro::inspect {

void write_dot(std::ostream& os, const Object& center, int depth, bool referrers) {
  using detail::HeapGraph;
  // An object that a collection or its refcount is reclaiming is not part of
  // the live heap: drawn alone.
  const bool reclaimed = detail::is_being_destroyed(center) || detail::is_collection_garbage(center);
  HeapGraph g(detail::heap_for_api(), "ouro::inspect::write_dot", reclaimed ? nullptr : &center);
  os << "digraph ouro {\n"
     << "  graph [rankdir=LR, fontname=\"Helvetica\", label="
     << detail::dot_quoted(std::string(referrers ? "what refers to " : "what is referred to by ") +
                           detail::repr_for_report(center) +
                           "  (double octagon: root, red: garbage, dashed: untracked, bold: center)")
     << "];\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n";
  std::uint32_t c = reclaimed ? HeapGraph::npos : g.find(center);
  if (c == HeapGraph::npos) {  // reclaimed, or not made by make<T>: nothing in the heap around it
    os << "  center [label="
       << detail::dot_quoted(detail::repr_for_report(center) + "\n" + type_name(center) +
                             (reclaimed ? "\n(being reclaimed)" : ""))
       << ", shape=box, style=dashed, " << (reclaimed ? "color=red, " : "") << "penwidth=3];\n}\n";
    return;
  }
  std::vector<detail::Reached> nodes =
      detail::neighbourhood(g, c, depth < 0 ? 0 : depth, referrers, detail::kMaxDotNodes);
  std::unordered_set<std::uint32_t> included;
  for (const detail::Reached& r : nodes) {
    included.insert(r.node);
    detail::write_node(os, g, r.node, r.node == c);
  }
  for (const detail::Reached& r : nodes)
    for (const HeapGraph::Arc& a : g.out(r.node))
      if (included.count(a.node))
        os << "  " << detail::node_id(r.node) << " -> " << detail::node_id(a.node)
           << " [label=" << detail::dot_quoted(a.field) << "];\n";
  if (nodes.size() >= detail::kMaxDotNodes)
    os << "  more [label=\"(stopped at " << detail::kMaxDotNodes << " objects)\", shape=plaintext];\n";
  os << "}\n";
}

}  // namespace ouro::inspect
