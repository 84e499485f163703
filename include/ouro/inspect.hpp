// ouro/inspect.hpp — leak forensics: why is this object alive, which cycles
// exist, what grew, and pictures of the object graph.
//
//   struct Child : ouro::Object {
//     ouro::Ref<Parent> parent;
//     OURO_TRAVERSE(parent)                       // traverse() with field names
//   };
//   for (const ouro::inspect::Edge& e : ouro::inspect::why_alive(*leaked))
//     std::cout << e.from->repr() << " ." << e.field << " -> " << e.to->repr() << "\n";
//   for (const ouro::inspect::Cycle& c : ouro::inspect::find_cycles())
//     std::cout << c.objects.size() << " objects, " << (c.garbage ? "garbage" : "alive") << "\n";
//
// Every query works on the calling thread's heap, like ouro::gc. None of them
// collects or allocates a tracked object, and every refcount is as it was once
// a query returns: they read the graph through traverse() and keep their
// scratch data in side arrays. They are linear in the number of tracked
// objects and their references. The Refs in their results are strong
// references held from outside the tracked heap: while a result is kept, the
// objects in it count as roots (drop it before asking again, as with
// Python's gc.get_referrers lists).
//
// USER CODE THAT CHANGES THE HEAP DURING A QUERY. why_alive, is_root,
// find_cycles, shortest_cycle, write_dot and write_html call traverse() on every tracked
// object, and write_dot and write_html call repr(): user code, which may make
// objects, drop references or call gc::collect() in the middle of the walk.
// Whatever it does, the query reads no freed memory and:
//  - answers about the heap as it found it: the objects tracked when it
//    started, their refcounts then, and the references each traverse()
//    reported when the query called it. An object made during the query is
//    not part of the answer (if a traverse() reports one, it appears like an
//    untracked object: no references of its own); the next query sees it.
//  - holds a strong reference to every object it reads until it returns, so
//    none is freed under it; roots, chains and garbage flags leave those
//    references out. An object whose last other reference user code dropped
//    during the query is destroyed as the query returns (its finalizer and
//    destructor run then, after the query's own work).
//  - runs no collection: an automatic collection that allocations during
//    the query call for waits for the first tracked make<T>() after it
//    returns, and gc::collect() called during it returns 0 without
//    collecting, as it does during a collection.
// type_stats(), snapshot() and growth() run no user code.
//
// QUERIES FROM INSIDE A COLLECTION. From a finalizer, a destructor, a
// weak-reference callback or a gc callback that a collection runs, every
// query answers about the live heap: the objects that collection found
// unreachable (which it finalizes, then reclaims, or under the legacy policy
// hands to gc::garbage()) are not part of it, as in CPython, until the
// collection has decided their fate; nor is an object whose destruction has
// begun (`*this` in a destructor). For such an object why_alive throws
// std::invalid_argument (it is garbage), is_root is false, find_cycles(o) is
// empty, shortest_cycle(o) is none and write_dot draws it alone, marked "being reclaimed"; the queries
// that list objects (find_cycles(), type_stats, write_html, gc::get_objects,
// gc::get_referrers) leave it out. A gc callback sees the heap before the
// collection at Phase::start, after it at Phase::stop. From a traverse()
// that the collector itself runs (while it counts references) the queries
// that call traverse() throw std::logic_error: traverse() must only report
// references.
//
// ROOTS. The collector's notion, over the whole tracked heap (generations 0-2
// and the permanent one): a tracked object is a root when its refcount is
// larger than the number of references that tracked objects hold to it, i.e.
// something outside the tracked heap holds it (a local Ref, a global, an
// untracked object, gc::garbage()). Immortal tracked objects are roots.
// Everything a root reaches is alive; a tracked object no root reaches is
// cyclic garbage that the next full collection frees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"

namespace ouro::detail {

// The member names of one OURO_TRAVERSE, split once from the macro's
// stringized argument list "left, right" into "left" and "right".
class FieldNames {
 public:
  explicit FieldNames(std::string_view list);
  const char* operator[](std::size_t i) const noexcept { return i < names_.size() ? names_[i] : ""; }

 private:
  std::string text_;
  std::vector<const char*> names_;
};

template <class... Members>
void traverse_named(Visitor& v, const FieldNames& names, Members&... members) {
  std::size_t i = 0;
  (v.named(names[i++], members), ...);
}

}  // namespace ouro::detail

// In a class body: generates the traverse() override that visits each member
// under its own name (Visitor::named), so every report below shows the field
// a reference sits in. Counts as overriding traverse(): the type is tracked.
// Members are visited like v(member) would: Refs, containers, pairs, maps...
//
//   struct Node : ouro::Object {
//     ouro::Ref<Node> next;
//     std::vector<ouro::Ref<Node>> children;
//     OURO_TRAVERSE(next, children)      // no semicolon needed
//   };
#define OURO_TRAVERSE(...)                                                               \
  void traverse(::ouro::Visitor& ouro_visitor_) override {                               \
    static const ::ouro::detail::FieldNames ouro_field_names_(#__VA_ARGS__);             \
    ::ouro::detail::traverse_named(ouro_visitor_, ouro_field_names_, __VA_ARGS__);       \
  }

namespace ouro::inspect {

// One reference: `from` holds `to` in its member `field` ("" when traverse()
// visited it without a name).
struct Edge {
  Ref<Object> from;
  std::string field;
  Ref<Object> to;
};

// The shortest chain of references from a root to `o` (breadth-first over the
// tracked heap): the first edge starts at a root, the last ends at `o`.
//  - Empty when `o` is a root itself (is_root(o)), when `o` is immortal (it
//    needs no reason to live), and when `o` is untracked and something
//    outside the tracked heap holds it (a local, an untracked object), or no
//    tracked object refers to it at all.
//  - An untracked `o` held only by tracked objects gets the chain to its
//    nearest holder.
//  - Throws std::invalid_argument when no root reaches `o` and nothing else
//    holds it: it is alive for no reason but a garbage cycle, and only until
//    the next collection (find_cycles(o) shows that cycle). Also when `o`
//    is garbage that a running collection works on, or its destruction has
//    begun (asked from a finalizer, destructor or callback).
//  - Calls traverse() on every tracked object: if user code changes the heap
//    meanwhile, the chain is the one in the heap as the query found it, and
//    `o` stays alive until the query returns (see above).
//  - allocation_site(*edge.to) says where each object of the chain was
//    made, when sites are recorded (ALLOCATION SITES below).
std::vector<Edge> why_alive(const Object& o);

// True when `o` is a tracked object of this heap that something outside the
// tracked heap refers to (see ROOTS above). False for untracked objects, and
// for garbage that a running collection works on. Calls traverse() on every
// tracked object; user code that changes the heap meanwhile: see above.
bool is_root(const Object& o);

// A strongly connected group of tracked objects: each reaches all others.
// `edges` are the references between members; `garbage` is true when nothing
// outside the group keeps it alive (no root reaches it: the next full
// collection reclaims it, or keeps it in gc::garbage() under the legacy policy).
struct Cycle {
  std::vector<Ref<Object>> objects;
  std::vector<Edge> edges;
  bool garbage;
};

// Every group of more than one object, or of one object that refers to itself,
// largest first. Iterative Tarjan: no recursion on user graphs. Calls
// traverse() on every tracked object: the groups are those of the heap as
// the query found it, whatever user code does meanwhile (see above); inside
// a collection, that collection's garbage is not among them.
std::vector<Cycle> find_cycles();
// Only the group that contains `o` (none, or one; none when `o` is garbage
// that a running collection works on, or being destroyed).
std::vector<Cycle> find_cycles(const Object& o);

// The shortest cycle through `o`: the few references that close the loop
// that keeps `o`, where find_cycles(o) gives the whole strongly connected
// group around it (which can hold every object of a program). `objects`
// starts at `o` and follows the references in order; edges[i] goes from
// objects[i] to the next object, the last edge back to `o`; a self
// reference is one object and one edge. `garbage` as for find_cycles.
// Among cycles of the same length, the one whose references traverse()
// reports first. None when no cycle passes through `o`, when `o` is
// untracked, and when it is garbage that a running collection works on, or
// being destroyed. Breadth-first from `o` back to itself: linear in the
// tracked objects and references, like the other queries. Calls traverse()
// on every tracked object: what user code may do meanwhile, see above.
std::optional<Cycle> shortest_cycle(const Object& o);

// ALLOCATION SITES. make<T>() can record where it was called (file, line,
// function), like Python's tracemalloc records a traceback: off by
// default; set_allocation_sites(n) turns it on for the calling thread.
// With n = 1 every make records its site (exact counts; each make then
// takes make's general path and enters a table: several times the cost of
// a make + drop); with n > 1 about one make in n does, chosen at random
// (the intervals are uniform in [1, 2n - 1]), cheap enough to leave on:
// with n = 256 or more, make + drop costs 2% more at most
// (docs/benchmarks.md). The site is kept while the object lives, whatever
// the setting does meanwhile, and shows in site_stats(), site_growth(),
// allocation_site() (for the objects of a why_alive chain or a cycle) and
// write_html(). Makes with more than eight constructor arguments record
// no site. Whether a make records its site is decided when it returns: a
// constructor that turns sites on makes its own object count. Off,
// make<T>() pays nothing. No user code runs in these functions.
struct Site {
  const char* file;          // the source file of the make<T>() call, as the compiler named it
  std::uint_least32_t line;  // its line
  const char* function;      // the function that called make<T>() ("" when the compiler does not say)
};
// 0: off (the default); 1: every make; n: about one make in n. Per thread,
// like the gc settings; a new thread starts with 0.
void set_allocation_sites(std::size_t every);
std::size_t get_allocation_sites();
// Where `o` was made, when its make recorded the site; none otherwise.
std::optional<Site> allocation_site(const Object& o);

// Live tracked objects by dynamic type (the short name type_name() gives),
// most common first, like objgraph's typestats over gc.get_objects().
// bytes = count * sizeof(the dynamic type), as make<T> recorded it (no memory
// owned by members, such as a vector's buffer, is included). Runs no user
// code; inside a collection, that collection's garbage is not counted.
struct TypeStat {
  std::string type;
  std::size_t count, bytes;
};
std::vector<TypeStat> type_stats();

// Where the live tracked objects were made, by type: `count` objects of
// `type` (the short name, as in TypeStat) whose make recorded `site`.
// Only objects whose site was recorded are counted: all of them when every
// make records its site, about one in n when one make in n does (then the
// counts are samples: compare them with each other, not with TypeStat's).
// One entry per (type, site) with at least one such object; most common
// first, then by type, file and line. Empty while no site was recorded.
// Runs no user code; inside a collection, that collection's garbage is not
// counted.
struct SiteStat {
  std::string type;
  Site site;
  std::size_t count;
};
std::vector<SiteStat> site_stats();

// type_stats() and site_stats() at one moment, to compare with a later one.
class Snapshot {
 public:
  Snapshot() = default;
  const std::vector<TypeStat>& types() const noexcept { return types_; }
  const std::vector<SiteStat>& sites() const noexcept { return sites_; }
  std::size_t objects() const noexcept;  // tracked objects in all

 private:
  friend Snapshot snapshot();
  std::vector<TypeStat> types_;
  std::vector<SiteStat> sites_;
};
Snapshot snapshot();

// Types whose count grew from `before` to `after`, by how much (count and
// bytes are the increases), largest increase first.
std::vector<TypeStat> growth(const Snapshot& before, const Snapshot& after);
// The (type, site) pairs whose count of recorded objects grew from
// `before` to `after`, by how much (`count` is the increase), largest
// increase first, then by type, file and line. Sampled objects only, as in
// site_stats(): with one make in n recorded, an increase of k stands for
// about k * n objects.
std::vector<SiteStat> site_growth(const Snapshot& before, const Snapshot& after);

// Graphviz (dot) picture of what `center` reaches (referrers = false) or of
// what reaches it (true), `depth` references out. Nodes are labelled with
// their repr and type, edges with field names; roots are drawn as double
// octagons (filled light blue), garbage in red, the center in bold, untracked
// objects dashed. A center that a running collection or its refcount is
// reclaiming is drawn alone, marked "being reclaimed". Calls traverse() on
// every tracked object and repr() on the objects drawn: what user code may
// do meanwhile, see above.
void write_dot(std::ostream& os, const Object& center, int depth, bool referrers);

// One self-contained HTML page (no network, inline CSS and JS): a summary, the
// type table, the cycles, why-alive chains for the largest cycles, and a
// graph explorer (click an object to see its referrers and referents). The
// page stays small whatever the heap's shape (a few MB at most, linear time):
// heaps larger than a few thousand objects are sampled for the explorer
// (cycle members and chains first), each object lists at most 16 referrers
// and 16 referents, a long why-alive chain shows its first and last six
// references and how many lie between, and a cycle its first twelve. Calls
// traverse() on every tracked object and repr() on the objects shown: what
// user code may do meanwhile, see above.
void write_html(std::ostream& os);

}  // namespace ouro::inspect
