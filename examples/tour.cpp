// tour.cpp — Python's memory-management documentation, replayed in C++.
//
// Each section is one scenario from the gc module's documentation, from the
// "reference counting" and "garbage collection" explanations, or from the
// tutorials built on them, written with ouroboros. Build and run it with
//
//   cmake --workflow --preset tour
//
// The output is deterministic except for the addresses and timings in the
// collector's debug lines, which CPython prints too. Every section leaves
// the gc settings at their defaults and the heap empty, so each one can be
// read (and moved) on its own.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <ouro/ouro.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace gc = ouro::gc;
using ouro::make;
using ouro::Object;
using ouro::Ref;
using ouro::refcount;

namespace {

// ===========================================================================
// The types of the tour
// ===========================================================================

// Holds no Ref, so it is refcounted only and never tracked by the collector,
// like a Python str. It announces its birth and its death.
struct Noisy : Object {
  explicit Noisy(std::string n) : name(std::move(n)) { std::cout << "  " << repr() << " created\n"; }
  ~Noisy() override { std::cout << "  " << repr() << " destroyed\n"; }
  void greet() const { std::cout << "  " << repr() << ".greet()\n"; }
  std::string repr() const override { return "Noisy('" + name + "')"; }
  std::string name;
};

// A graph node: tracked (OURO_TRAVERSE overrides traverse, naming the member
// for the leak-forensics reports of section 17), silent, counted.
struct Node : Object {
  explicit Node(std::string n) : name(std::move(n)) { ++alive; }
  ~Node() override { --alive; }
  OURO_TRAVERSE(links)
  std::string repr() const override { return name; }
  std::string name;
  std::vector<Ref<Object>> links;
  static inline int alive = 0;
};

// An object with a finalizer (Python's __del__) and one link.
struct Resource : Object {
  explicit Resource(std::string n) : name(std::move(n)) {}
  ~Resource() override { std::cout << "  ~Resource " << name << "\n"; }
  OURO_TRAVERSE(link)
  void finalize() override {
    std::cout << "  finalize " << name << " (its link: " << (link ? link->repr() : "none") << ")\n";
  }
  std::string repr() const override { return name; }
  std::string name;
  Ref<Object> link;
};

// An int-like value object; small ones are cached and immortal (section 15).
struct SmallInt : Object {
  explicit SmallInt(long v) : value(v) {}
  long value;
};

// Owns a std::FILE*: closed by the destructor, i.e. when the last Ref goes.
struct LogFile : Object {
  explicit LogFile(const std::filesystem::path& p)
      : name(p.filename().string()), file(std::fopen(p.string().c_str(), "w")) {
    if (!file) throw std::runtime_error("cannot open " + p.string());
  }
  ~LogFile() override {
    std::fclose(file);
    std::cout << "  LogFile " << name << " closed\n";
  }
  void write(const std::string& line) { std::fprintf(file, "%s\n", line.c_str()); }
  std::string name;
  std::FILE* file;
};

// Keeps a log file, and keeps itself alive through a reference cycle.
struct Session : Object {
  void traverse(ouro::Visitor& v) override { v(log, self); }
  Ref<LogFile> log;
  Ref<Session> self;
};

// ===========================================================================
// Helpers
// ===========================================================================

int failures = 0;

void banner(int number, const char* title, const char* what) {
  std::string head = "== " + std::to_string(number) + ". " + title + " ";
  head.resize(78, '=');
  std::cout << "\n" << head << "\n" << what << "\n\n";
}

// The tour states what Python would print; a different result is a bug.
void expect(bool ok, const char* what) {
  if (ok) return;
  ++failures;
  std::cout << "  !! UNEXPECTED: " << what << "\n";
}

std::string names(const std::vector<Ref<Object>>& objects) {
  std::string text = "[";
  for (const Ref<Object>& o : objects) text += (text.size() > 1 ? ", " : "") + o->repr();
  return text + "]";
}

// "  left" padded to a column, so the values of consecutive lines line up.
std::string row(const std::string& left) {
  std::string text = "  " + left;
  text.resize(std::max<std::size_t>(text.size() + 1, 32), ' ');
  return text;
}

void link(const Ref<Node>& from, const Ref<Object>& to) { from->links.push_back(to); }

// Nodes named names[0] -> names[1] -> ... -> names[0].
std::vector<Ref<Node>> make_ring(const std::vector<std::string>& ring_names) {
  std::vector<Ref<Node>> ring;
  ring.reserve(ring_names.size());
  for (const std::string& n : ring_names) ring.push_back(make<Node>(n));
  for (std::size_t i = 0; i < ring.size(); ++i) link(ring[i], ring[(i + 1) % ring.size()]);
  return ring;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Each line of `text` as "    | line".
std::string indented(const std::string& text) {
  std::string out;
  std::size_t begin = 0;
  for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1)
    out += "    | " + text.substr(begin, end - begin) + "\n";
  return out;
}

// Back to the defaults after every section, and make sure it left nothing.
void reset_gc() {
  gc::set_debug(0);
  gc::set_debug_stream(nullptr);
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  gc::set_threshold(700, 10, 10);
  gc::enable();
  expect(gc::garbage().empty(), "the section left objects in gc::garbage()");
  expect(gc::get_objects().empty(), "the section left tracked objects alive");
  gc::garbage().clear();
  gc::collect();
}

// ===========================================================================
// The sections
// ===========================================================================

void references_and_refcounts() {
  banner(1, "References and reference counts",
         "Every Ref is one reference to its object. ouro::refcount is sys.getrefcount\n"
         "without the +1 that Python's call adds for its own argument.");
  Ref<Noisy> a = make<Noisy>("spam");
  std::cout << row("a = make<Noisy>(\"spam\")") << "refcount " << refcount(*a) << "\n";
  Ref<Noisy> b = a;
  std::cout << row("b = a") << "refcount " << refcount(*a) << "\n";
  std::vector<Ref<Noisy>> list{a, a};
  std::cout << row("list = {a, a}") << "refcount " << refcount(*a) << "\n";
  list.clear();
  std::cout << row("list.clear()") << "refcount " << refcount(*a) << "\n";
  auto inside = [](Ref<Noisy> arg) { return refcount(*arg); };  // by value: one more
  std::cout << row("inside f(Ref<Noisy> arg)") << "refcount " << inside(a) << "\n";
  std::cout << row("a == b") << std::boolalpha << (a == b) << " (Python's `a is b`)\n";
  std::cout << "  leaving the function drops a and b:\n";
}

void temporary_dies() {
  banner(2, "A temporary dies at the end of its statement",
         "Python's Noisy('temporary').greet(): nothing names the object, so it is\n"
         "destroyed as soon as the statement is over, before the next one runs.");
  make<Noisy>("temporary")->greet();
  std::cout << "  next statement\n";
}

void del_two_references() {
  banner(3, "del of one reference, then of the other",
         "The object lives while any reference is left, and dies the moment the last\n"
         "one goes: in the same call, not at some later collection.");
  Ref<Noisy> a = make<Noisy>("eggs");
  Ref<Noisy> b = a;
  a.reset();
  std::cout << row("del a   (a.reset())") << "refcount " << refcount(*b) << ", still alive\n";
  std::cout << "  del b   (b.reset())\n";
  b.reset();
  std::cout << "  after del b\n";
}

void two_object_cycle() {
  banner(4, "A two-object cycle outlives its names",
         "a.other = b; b.other = a; del a, b: each still holds the other, refcounting\n"
         "alone never frees them. gc.collect() finds the pair and frees it.");
  Ref<Node> a = make<Node>("a");
  Ref<Node> b = make<Node>("b");
  link(a, b);
  link(b, a);
  std::cout << "  refcount(a) = " << refcount(*a) << ", refcount(b) = " << refcount(*b) << "\n";
  a.reset();
  b.reset();
  std::cout << row("del a, b") << "Nodes alive: " << Node::alive << "\n";
  std::size_t found = gc::collect();
  std::cout << row("gc::collect() -> " + std::to_string(found)) << "Nodes alive: " << Node::alive << "\n";
  expect(found == 2 && Node::alive == 0, "collect() should free the pair and return 2");
}

void ring_of_ten() {
  banner(5, "A ring of ten objects",
         "Ten nodes, each referencing the next, the last the first. Dropping the list\n"
         "leaves them all alive; one collection finds all ten.");
  { std::vector<Ref<Node>> ring = make_ring({"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"}); }
  std::cout << row("ring dropped") << "Nodes alive: " << Node::alive << "\n";
  std::size_t found = gc::collect();
  std::cout << row("gc::collect() -> " + std::to_string(found)) << "Nodes alive: " << Node::alive << "\n";
  expect(found == 10, "collect() should return 10");
}

void referents_of_a_ring() {
  banner(6, "gc.get_referents on a three-node ring",
         "get_referents(o) lists what o's traverse() visits: the objects o refers to.");
  std::vector<Ref<Node>> ring = make_ring({"a", "b", "c"});
  for (const Ref<Node>& n : ring)
    std::cout << "  gc::get_referents(" << n->name << ") -> " << names(gc::get_referents(*n)) << "\n";
  std::cout << "  cleanup: c.links.clear() breaks the ring, refcounting frees all three\n";
  ring[2]->links.clear();
}

// Breadth-first over get_referents from `start` until a path leads back to
// it; returns start, ..., start (empty when start is on no cycle).
std::vector<Ref<Object>> find_cycle(const Ref<Object>& start) {
  std::map<const Object*, Ref<Object>> parent;  // how BFS first reached each object
  std::deque<Ref<Object>> queue{start};
  while (!queue.empty()) {
    Ref<Object> current = queue.front();
    queue.pop_front();
    for (Ref<Object>& next : gc::get_referents(*current)) {
      if (next == start) {
        std::vector<Ref<Object>> path{start};
        for (Ref<Object> p = current; p != start; p = parent.at(p.get())) path.insert(path.begin() + 1, p);
        path.push_back(start);
        return path;
      }
      if (parent.emplace(next.get(), current).second) queue.push_back(next);
    }
  }
  return {};
}

void search_for_the_cycle() {
  banner(7, "Finding the cycle: breadth-first search over get_referents",
         "The tutorials' cycle finder: walk referents breadth-first from a start object\n"
         "and stop when an edge leads back to it; the parents give the path.");
  std::vector<Ref<Node>> ring = make_ring({"a", "b", "c"});
  link(ring[0], make<Node>("leaf x"));  // side branches the search must not confuse
  link(ring[1], make<Node>("leaf y"));
  std::vector<Ref<Object>> path = find_cycle(ring[0]);
  std::cout << "  a's referents: " << names(gc::get_referents(*ring[0])) << "\n";
  std::cout << "  cycle found: ";
  for (std::size_t i = 0; i < path.size(); ++i) std::cout << (i ? " -> " : "") << path[i]->repr();
  std::cout << "\n";
  expect(path.size() == 4, "the search should find a -> b -> c -> a");
  std::cout << "  cleanup: c.links.clear() breaks the ring, refcounting frees all five\n";
  ring[2]->links.clear();
}

void collect_three_then_zero() {
  banner(8, "gc.collect() returns 3, then 0",
         "collect() returns how many unreachable objects it found. A second call right\n"
         "after finds nothing left.");
  make_ring({"x", "y", "z"});  // the returned names die with the statement
  std::size_t first = gc::collect();
  std::size_t second = gc::collect();
  std::cout << "  gc::collect() -> " << first << "\n  gc::collect() -> " << second << "\n";
  expect(first == 3 && second == 0, "collect() should return 3, then 0");
}

void legacy_uncollectable() {
  banner(9, "Finalizers in a cycle, legacy policy: uncollectable garbage",
         "Python 2's rule: a cycle with __del__ methods is never freed; its objects go\n"
         "to gc.garbage, unfinalized. The program breaks the cycle itself, then empties\n"
         "gc.garbage; the finalizers then run by refcount.");
  gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
  {
    Ref<Resource> a = make<Resource>("A");
    Ref<Resource> b = make<Resource>("B");
    a->link = b;
    b->link = a;
  }
  std::size_t found = gc::collect();
  std::cout << "  gc::collect() -> " << found << " (all uncollectable)\n";
  std::cout << "  gc::garbage() = " << names(gc::garbage()) << ", finalized: " << std::boolalpha
            << gc::is_finalized(*gc::garbage().at(0)) << "\n";
  expect(found == 2 && gc::garbage().size() == 2, "both objects should be uncollectable, in garbage()");
  {
    Ref<Resource> first = ouro::ref_cast<Resource>(gc::garbage()[0]);
    std::cout << "  break the cycle: garbage()[0] is " << first->name << ", reset its link\n";
    first->link.reset();
  }
  std::cout << "  gc::garbage().clear():\n";
  gc::garbage().clear();
}

void pep442_collectable() {
  banner(10, "Finalizers in a cycle, PEP 442 (the default)",
         "Since Python 3.4 the same cycle is collected: every finalizer runs once, while\n"
         "the whole cycle is still intact, then the cycle is broken and freed.");
  {
    Ref<Resource> a = make<Resource>("A");
    Ref<Resource> b = make<Resource>("B");
    a->link = b;
    b->link = a;
  }
  std::cout << "  gc::collect():\n";
  std::size_t found = gc::collect();
  std::cout << "  -> " << found << ", gc::garbage() has " << gc::garbage().size() << " objects\n";
  expect(found == 2 && gc::garbage().empty(), "collect() should return 2 and leave garbage() empty");
}

void referrers_of_garbage() {
  banner(11, "Who refers to the garbage? gc.get_referrers, then cut",
         "A finalizer object keeps a whole ring uncollectable (legacy policy). For each\n"
         "object in gc.garbage, get_referrers names the tracked objects that hold it;\n"
         "cutting those references lets refcounting free everything.");
  gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
  {
    Ref<Resource> r = make<Resource>("R");
    Ref<Node> n1 = make<Node>("n1");
    Ref<Node> n2 = make<Node>("n2");
    r->link = n1;
    link(n1, n2);
    link(n2, r);
  }
  std::size_t found = gc::collect();
  std::cout << "  gc::collect() -> " << found << " uncollectable, gc::garbage() = " << names(gc::garbage())
            << "\n";
  expect(found == 3, "R and the two nodes it reaches should be uncollectable");
  for (const Ref<Object>& junk : gc::garbage()) {
    for (const Ref<Object>& holder : gc::get_referrers(*junk)) {
      std::cout << "  gc::get_referrers(" << junk->repr() << ") -> " << holder->repr() << "; cut it\n";
      if (Ref<Node> node = ouro::dynamic_ref_cast<Node>(holder)) std::erase(node->links, junk);
    }
  }
  std::cout << "  (Python would also list gc.garbage itself; ours is a std::vector, not tracked)\n";
  std::cout << "  gc::garbage().clear():\n";
  gc::garbage().clear();
  std::cout << "  Nodes alive: " << Node::alive << "\n";
}

void thresholds_and_stats() {
  banner(12, "Thresholds: gc.set_threshold(5, 2) with DEBUG_STATS",
         "The 6th tracked allocation since the last collection (threshold 5) starts one;\n"
         "once generation 0 has been collected 3 times (threshold 2), the next collection\n"
         "takes generation 1 too. A gc callback counts the collections of each generation.");
  gc::collect();  // a full collection starts every count from 0
  std::array<int, 3> runs{};
  std::size_t id = gc::add_callback([&runs](gc::Phase phase, const gc::CollectionInfo& info) {
    if (phase == gc::Phase::stop) ++runs.at(static_cast<std::size_t>(info.generation));
  });
  gc::set_threshold(5, 2);
  gc::set_debug_stream(&std::cout);
  gc::set_debug(gc::DEBUG_STATS);
  std::vector<Ref<Node>> kept;
  for (int i = 0; i < 16; ++i) {
    kept.push_back(make<Node>("kept"));  // survives: moves to older generations
    Ref<Node> a = make<Node>("a");       // a garbage pair for the collector
    link(a, make<Node>("b"));
    link(ouro::ref_cast<Node>(a->links[0]), a);
  }
  gc::set_debug(0);
  gc::remove_callback(id);
  auto count = gc::get_count();
  std::cout << "  collections: generation 0: " << runs[0] << ", generation 1: " << runs[1]
            << ", generation 2: " << runs[2] << "\n";
  std::cout << "  gc::get_count() = (" << count[0] << ", " << count[1] << ", " << count[2] << ")\n";
  kept.clear();
  std::size_t found = gc::collect();
  std::cout << "  cleanup: gc::collect() -> " << found << " (the pairs made since the last collection)\n";
}

void debug_collectable_uncollectable() {
  banner(13, "DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE",
         "With the legacy policy, a plain cycle (two Nodes) is collectable and a cycle\n"
         "of finalizer objects (two Resources) is not; the debug lines say which is which.");
  gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
  gc::set_debug_stream(&std::cout);
  gc::set_debug(gc::DEBUG_COLLECTABLE | gc::DEBUG_UNCOLLECTABLE);
  {
    Ref<Node> p = make<Node>("P");
    link(p, make<Node>("Q"));
    link(ouro::ref_cast<Node>(p->links[0]), p);
    Ref<Resource> r = make<Resource>("R");
    r->link = make<Resource>("S");
    ouro::ref_cast<Resource>(r->link)->link = r;
  }
  std::size_t found = gc::collect();
  std::cout << "  gc::collect() -> " << found << ", gc::garbage() = " << names(gc::garbage()) << "\n";
  expect(found == 4 && gc::garbage().size() == 2, "4 unreachable, the 2 Resources in garbage()");
  gc::set_debug(0);
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  gc::garbage().clear();
  std::cout << "  cleanup: clear garbage(), collect under pep442:\n";
  found = gc::collect();
  std::cout << "  -> " << found << "\n";
}

void debug_saveall_and_leak() {
  banner(14, "DEBUG_SAVEALL and DEBUG_LEAK",
         "Under DEBUG_SAVEALL the collector frees nothing: every unreachable object is\n"
         "appended to gc.garbage, cycle intact, for inspection. DEBUG_LEAK is\n"
         "DEBUG_COLLECTABLE | DEBUG_UNCOLLECTABLE | DEBUG_SAVEALL.");
  gc::set_debug(gc::DEBUG_SAVEALL);
  make_ring({"a", "b", "c"});
  std::size_t found = gc::collect();
  std::cout << "  DEBUG_SAVEALL: gc::collect() -> " << found << ", Nodes alive: " << Node::alive << "\n";
  for (const Ref<Object>& o : gc::garbage())
    std::cout << "    garbage: " << o->repr() << " -> " << names(gc::get_referents(*o)) << "\n";
  gc::set_debug_stream(&std::cout);
  gc::set_debug(gc::DEBUG_LEAK);
  std::cout << "  DEBUG_LEAK, a two-node cycle:\n";
  make_ring({"p", "q"});
  found = gc::collect();
  std::cout << "  gc::collect() -> " << found << ", gc::garbage() = " << names(gc::garbage()) << "\n";
  expect(gc::garbage().size() == 5, "garbage() should hold all five nodes");
  gc::set_debug(0);
  gc::garbage().clear();
  found = gc::collect();
  std::cout << "  cleanup: set_debug(0), garbage().clear(), gc::collect() -> " << found
            << ", Nodes alive: " << Node::alive << "\n";
}

// CPython's small-int cache: one shared immortal object per value in -5..256.
Ref<SmallInt> small_int(long v) {
  constexpr long lo = -5, hi = 256;
  static auto& cache = *new std::array<Ref<SmallInt>, hi - lo + 1>();  // lives as long as the program
  if (v < lo || v > hi) return make<SmallInt>(v);
  Ref<SmallInt>& slot = cache.at(static_cast<std::size_t>(v - lo));
  if (!slot) {
    slot = make<SmallInt>(v);
    ouro::immortalize(*slot);
  }
  return slot;
}

void immortal_small_ints() {
  banner(15, "Immortal objects: the small-int cache",
         "CPython keeps one object per int in -5..256, immortal since 3.12 (PEP 683):\n"
         "its refcount never changes and it is never freed. ouro::immortalize does that.");
  Ref<SmallInt> a = small_int(7);
  Ref<SmallInt> b = small_int(7);
  std::cout << row("a = 7; b = 7") << "a is b: " << std::boolalpha << (a == b)
            << ", immortal: " << ouro::is_immortal(*a) << "\n";
  std::cout << "  refcount(a) = " << refcount(*a) << " (== ouro::immortal_refcount, 2^62)\n";
  {
    std::vector<Ref<SmallInt>> many(1000, a);
    std::cout << row("1000 more references to a") << "refcount(a) = " << refcount(*a) << "\n";
  }
  expect(refcount(*a) == ouro::immortal_refcount, "an immortal refcount never changes");
  Ref<SmallInt> c = small_int(1000);
  Ref<SmallInt> d = small_int(1000);
  std::cout << row("c = 1000; d = 1000") << "c is d: " << (c == d) << ", immortal: " << ouro::is_immortal(*c)
            << ", refcount(c) = " << refcount(*c) << "\n";
  std::cout << "  gc::is_tracked(a) = " << gc::is_tracked(*a) << " (no traverse: never tracked)\n";
}

void raii_file() {
  banner(16, "RAII: a file closed the moment its last reference goes",
         "The reason for refcounting: `open(...).write(...)` closes the file at once in\n"
         "CPython, while a tracing collector (PyPy, the JVM) closes it at some later\n"
         "collection. Only an object caught in a cycle has to wait for the collector.");
  namespace fs = std::filesystem;
  fs::path dir =
      fs::temp_directory_path() /
      ("ouroboros-tour-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(dir);
  {
    Ref<LogFile> log = make<LogFile>(dir / "log.txt");
    log->write("first line");
    log->write("second line");
    std::cout << "  before the drop: " << fs::file_size(dir / "log.txt")
              << " bytes on disk (still buffered)\n";
    log.reset();
    std::string text = read_file(dir / "log.txt");
    std::cout << "  right after the drop: " << text.size() << " bytes on disk:\n" << indented(text);
  }
  std::cout << "  the same file held by a Session that references itself:\n";
  {
    Ref<Session> s = make<Session>();
    s->log = make<LogFile>(dir / "cycle.txt");
    s->self = s;
    s->log->write("written from a cycle");
  }
  std::cout << "  session dropped: " << fs::file_size(dir / "cycle.txt")
            << " bytes on disk: still open, as every file under a tracing collector\n";
  std::cout << "  gc::collect():\n";
  std::size_t found = gc::collect();
  std::cout << "  -> " << found
            << " (the Session; breaking its cycle dropped the LogFile), cycle.txt reads:\n"
            << indented(read_file(dir / "cycle.txt"));
  fs::remove_all(dir);
}

void why_alive_and_cycles() {
  banner(17, "Why is it alive? inspect::why_alive and inspect::find_cycles",
         "Section 11's ring, found by the library: find_cycles() names it, kept alive by\n"
         "gc.garbage, and why_alive() gives the chain from that root. Once garbage() lets\n"
         "go, the ring is garbage and collect() frees it.");
  namespace inspect = ouro::inspect;
  gc::set_finalizer_policy(gc::FinalizerPolicy::legacy);
  {
    Ref<Resource> r = make<Resource>("R");
    Ref<Node> n1 = make<Node>("n1");
    r->link = n1;
    link(n1, make<Node>("n2"));
    link(ouro::ref_cast<Node>(n1->links[0]), r);
  }
  std::size_t found = gc::collect();
  std::cout << "  gc::collect() -> " << found << " uncollectable, gc::garbage() = " << names(gc::garbage())
            << "\n";
  Object* n2 = ouro::ref_cast<Node>(ouro::ref_cast<Resource>(gc::garbage()[0])->link)->links[0].get();
  bool kept_alive = false;
  for (const inspect::Cycle& c : inspect::find_cycles()) {
    std::cout << "  cycle of " << c.objects.size() << ":";
    for (const inspect::Edge& e : c.edges) std::cout << " " << e.from->repr() << "." << e.field << "->" << e.to->repr();
    std::cout << (c.garbage ? "  (garbage)\n" : "  (kept alive from outside)\n");
    kept_alive = c.objects.size() == 3 && !c.garbage;
  }
  std::vector<inspect::Edge> chain = inspect::why_alive(*n2);
  std::cout << "  inspect::why_alive(n2): " << (chain.empty() ? "" : chain.front().from->repr() + " (root)");
  for (const inspect::Edge& e : chain) std::cout << " ." << e.field << " -> " << e.to->repr();
  std::cout << "\n";
  expect(kept_alive, "find_cycles() should report the ring R -> n1 -> n2, kept alive by gc.garbage");
  expect(chain.size() == 2 && chain.front().from == gc::garbage()[0], "the chain should start at R, in gc.garbage");
  chain.clear();
  gc::garbage().clear();
  std::vector<inspect::Cycle> now = inspect::find_cycles();
  bool garbage_now = now.size() == 1 && now[0].garbage;
  std::cout << "  gc::garbage().clear(): find_cycles() says garbage = " << garbage_now << "\n";
  now.clear();
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  std::size_t freed = gc::collect();
  std::cout << "  gc::collect() -> " << freed << "\n";
  expect(garbage_now && freed == 3, "without gc.garbage the ring is garbage, and collect() frees all three");
}

void weak_value_cache() {
  banner(18, "A cache that empties itself: WeakValueDictionary",
         "weakref.WeakValueDictionary maps keys to objects without keeping them alive:\n"
         "an entry disappears the moment the last real reference to its value goes.");
  ouro::WeakValueMap<std::string, Noisy> cache;
  Ref<Noisy> logo = make<Noisy>("logo.png");
  cache.insert_or_assign("logo", logo);
  std::cout << "  cache[\"banner\"] = Noisy('banner.png'), a temporary:\n";
  cache.insert_or_assign("banner", make<Noisy>("banner.png"));
  std::cout << row("len(cache)") << cache.size() << "\n";
  std::cout << row("cache.get(\"logo\")") << (cache.get("logo") ? cache.get("logo")->repr() : "None") << "\n";
  std::cout << row("cache.get(\"banner\")") << (cache.get("banner") ? "alive" : "None") << "\n";
  for (auto [key, value] : cache) std::cout << row("for key, value in cache") << key << " -> " << value->repr() << "\n";
  expect(cache.size() == 1 && cache.get("logo") == logo, "only the logo should be cached");
  std::cout << "  del logo:\n";
  logo.reset();
  std::cout << row("len(cache)") << cache.size() << "\n";
  expect(cache.size() == 0 && !cache.get("logo"), "the cache should have emptied itself");
}

void weakref_callback_reports_collection() {
  banner(19, "A weak reference's callback reports a cycle being collected",
         "weakref.ref(obj, callback): the callback runs once obj is unreachable and gets\n"
         "the already dead weak reference. For a garbage cycle, gc.collect() clears all\n"
         "weak references to it and runs their callbacks before any finalizer runs.");
  int callbacks = 0;
  Ref<Resource> a = make<Resource>("a");
  Ref<Resource> b = make<Resource>("b");
  a->link = b;
  b->link = a;
  ouro::WeakRef<Resource> watch(a, [&callbacks](ouro::WeakRef<Resource>& self) {
    ++callbacks;
    std::cout << "  callback: a is unreachable, its weakref expired: " << std::boolalpha << self.expired() << "\n";
  });
  a.reset();
  b.reset();
  std::cout << row("del a, b") << "watch.expired() = " << std::boolalpha << watch.expired() << " (a cycle)\n";
  std::cout << "  gc::collect():\n";
  std::size_t found = gc::collect();
  std::cout << row("-> " + std::to_string(found)) << "watch() is None: " << (watch.lock() == nullptr) << "\n";
  expect(found == 2 && callbacks == 1 && watch.expired(), "the callback should run once and the pair be freed");
}


void threads_send_and_share() {
  banner(20, "Threads: send a document, share a frozen configuration",
         "Python's sub-interpreters each own their objects; so does each thread here. A\n"
         "graph that nothing outside refers to can be sent to another thread whole (Pony's\n"
         "iso), and one that will never change can be frozen and shared by all (Pony's val).");
  // A parser builds a document: a root, three paragraphs, each pointing back.
  Ref<Node> doc = make<Node>("doc");
  for (const char* p : {"p1", "p2", "p3"}) {
    Ref<Node> para = make<Node>(p);
    link(doc, para);
    link(para, doc);  // a cycle per paragraph
  }
  Ref<Node> kept = ouro::ref_cast<Node>(doc->links[1]);
  std::cout << "  a paragraph is still held by the parser:\n";
  try {
    ouro::Parcel<Node> refused = ouro::send(std::move(doc));
  } catch (const ouro::not_isolated& e) {
    std::string line = "    not_isolated:";
    std::istringstream words(e.what());
    for (std::string word; words >> word;) {
      if (line.size() + 1 + word.size() > 78) {
        std::cout << line << "\n";
        line = "     ";
      }
      line += " " + word;
    }
    std::cout << line << "\n";
  }
  kept.reset();
  ouro::Parcel<Node> parcel = ouro::send(std::move(doc));
  std::cout << row("after send") << "doc is empty: " << std::boolalpha << !doc
            << ", tracked here: " << gc::get_objects().size() << "\n";
  std::string seen;
  std::thread worker([&parcel, &seen] {
    Ref<Node> d = std::move(parcel).receive();
    seen = row("the worker received") + d->name + " with " + std::to_string(d->links.size()) + " paragraphs\n" +
           row("tracked on the worker") + std::to_string(gc::get_objects().size()) + "\n";
    d.reset();
    seen += row("del doc; gc::collect()") + std::to_string(gc::collect()) + " (the cycles, on the worker)\n";
  });
  worker.join();
  std::cout << seen;
  expect(Node::alive == 0, "the worker should have freed the whole document");

  // A configuration, built once, frozen, read by four threads.
  Ref<Node> config = make<Node>("config");
  for (const char* r : {"/", "/api", "/static"}) link(config, make<Node>(r));
  ouro::Shared<Node> shared = ouro::share(std::move(config));
  std::cout << row("after share") << "tracked here: " << gc::get_objects().size()
            << ", refcount(config): immortal " << (refcount(*shared) == ouro::immortal_refcount) << "\n";
  std::array<std::string, 4> routes;
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    readers.emplace_back([shared, &out = routes[i]] {  // a copy of the Shared per reader
      for (const Ref<Object>& route : shared->links) {
        Ref<Object> copy = route;  // counts nothing: the graph is frozen
        out += (out.empty() ? "" : " ") + copy->repr();
      }
    });
  }
  for (std::thread& t : readers) t.join();
  for (std::size_t i = 0; i < routes.size(); ++i)
    std::cout << row("reader " + std::to_string(i) + " saw") << routes[i] << "\n";
  shared.reset();
  std::cout << row("the last Shared dropped") << "nodes alive: " << Node::alive << "\n";
  expect(Node::alive == 0, "the last Shared should have destroyed the configuration");
}

}  // namespace

int main() {
  const std::vector<void (*)()> sections = {
      references_and_refcounts,
      temporary_dies,
      del_two_references,
      two_object_cycle,
      ring_of_ten,
      referents_of_a_ring,
      search_for_the_cycle,
      collect_three_then_zero,
      legacy_uncollectable,
      pep442_collectable,
      referrers_of_garbage,
      thresholds_and_stats,
      debug_collectable_uncollectable,
      debug_saveall_and_leak,
      immortal_small_ints,
      raii_file,
      why_alive_and_cycles,
      weak_value_cache,
      weakref_callback_reports_collection,
      threads_send_and_share,
  };
  try {
    for (auto section : sections) {
      section();
      reset_gc();
    }
  } catch (const std::exception& e) {
    std::cerr << "tour: " << e.what() << "\n";
    return 1;
  }
  std::cout << "\n"
            << (failures == 0 ? "End of the tour." : "End of the tour, with UNEXPECTED results above.")
            << "\n";
  return failures == 0 ? 0 : 1;
}
