// leak_hunt.cpp — hunting a leak with ouro::inspect.
//
// A small "document editor": a Document holds Pages (each page points back
// to its document: a parent/child cycle), and an EventBus keeps a list of
// observers. Closing a document is supposed to free it, but its pages
// subscribed to the bus and nobody unsubscribes them: the bus (a global,
// so a root) keeps every closed document alive through the observer list.
// The hunt, with allocation sites on: what grew and where it was made
// (snapshot, growth and site_growth), why is this still alive (why_alive), which cycles
// exist (find_cycles) and the one through the leaked document
// (shortest_cycle), and pictures:
//
//   leak.dot   Graphviz source of what keeps a leaked page alive
//   leak.svg   the same, drawn (only when `dot` is on the PATH)
//   leak.html  a self-contained report with a clickable graph explorer
//
// Run it from the build tree: ./examples/leak_hunt [output directory]
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <ouro/ouro.hpp>
#include <string>
#include <vector>

namespace inspect = ouro::inspect;
using ouro::make;
using ouro::Object;
using ouro::Ref;

namespace {

struct Page;

struct Document : Object {
  explicit Document(std::string t) : title(std::move(t)) {}
  std::string repr() const override { return "Document('" + title + "')"; }
  std::string title;
  std::vector<Ref<Page>> pages;
  OURO_TRAVERSE(pages)
};

struct Page : Object {
  Page(const Ref<Document>& d, int n) : document(d), number(n) {}
  std::string repr() const override { return "Page(" + std::to_string(number) + " of '" + document->title + "')"; }
  Ref<Document> document;  // back to the parent: a cycle
  int number;
  OURO_TRAVERSE(document)
};

struct Observer : Object {
  explicit Observer(const Ref<Page>& p) : page(p) {}
  std::string repr() const override { return "Observer(" + (page ? page->repr() : std::string("-")) + ")"; }
  Ref<Page> page;
  OURO_TRAVERSE(page)
};

struct EventBus : Object {
  std::string repr() const override { return "EventBus"; }
  std::vector<Ref<Observer>> observers;
  OURO_TRAVERSE(observers)
};

Ref<EventBus> bus;  // the application's global bus: a root

Ref<Document> open_document(const std::string& title, int page_count, bool subscribe = true) {
  Ref<Document> doc = make<Document>(title);
  for (int i = 1; i <= page_count; ++i) {
    doc->pages.push_back(make<Page>(doc, i));
    if (subscribe) bus->observers.push_back(make<Observer>(doc->pages.back()));  // the bug: never removed
  }
  return doc;
}

// "  (made at leak_hunt.cpp:71 in open_document)", when the site is known.
std::string made_at(const inspect::Site& s) {
  std::string file = s.file;
  file = file.substr(file.find_last_of('/') + 1);
  return "  (made at " + file + ":" + std::to_string(s.line) + (*s.function ? std::string(" in ") + s.function : "") +
         ")";
}
std::string made_at(const Object& o) {
  std::optional<inspect::Site> s = inspect::allocation_site(o);
  return s ? made_at(*s) : "";
}

void print_chain(const std::vector<inspect::Edge>& chain) {
  if (chain.empty()) {
    std::cout << "  (it is a root: held from outside the tracked heap)\n";
    return;
  }
  std::cout << "  " << chain.front().from->repr() << "   <- root" << made_at(*chain.front().from) << "\n";
  for (const inspect::Edge& e : chain)
    std::cout << "    ." << (e.field.empty() ? "?" : e.field) << " -> " << e.to->repr() << made_at(*e.to) << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  fs::path out = argc > 1 ? fs::path(argv[1]) : fs::current_path();
  fs::create_directories(out);
  // Record where every object is made (a long-running program would
  // sample instead: set_allocation_sites(256) records about one in 256).
  inspect::set_allocation_sites(1);
  bus = make<EventBus>();

  Ref<Document> kept = open_document("notes.txt", 2);  // still open
  inspect::Snapshot before = inspect::snapshot();
  for (const char* title : {"report.doc", "draft.doc", "old.doc"}) open_document(title, 3);  // opened, closed
  open_document("preview", 2, /*subscribe=*/false);  // a plain parent/child cycle: garbage until collected
  inspect::Snapshot after = inspect::snapshot();

  std::cout << "== What grew while four documents were opened and dropped ==\n";
  for (const inspect::TypeStat& t : inspect::growth(before, after))
    std::cout << "  " << t.type << " +" << t.count << " (" << t.bytes << " bytes)\n";
  std::cout << "  where they were made:\n";
  for (const inspect::SiteStat& s : inspect::site_growth(before, after))
    std::cout << "  " << s.type << " +" << s.count << made_at(s.site) << "\n";

  std::cout << "\n== Why is a closed document still alive? ==\n";
  Ref<Page> leaked = bus->observers.back()->page;
  Document* closed = leaked->document.get();
  leaked.reset();  // our own Ref would make it a root
  std::vector<inspect::Edge> chain = inspect::why_alive(*closed);
  print_chain(chain);
  chain.clear();

  std::cout << "\n== Cycles ==\n";
  std::size_t live = 0, garbage = 0;
  for (const inspect::Cycle& c : inspect::find_cycles()) {
    (c.garbage ? garbage : live) += 1;
    std::cout << "  " << c.objects.size() << " objects (" << c.edges.size() << " references), "
              << (c.garbage ? "garbage (nothing outside keeps it alive)" : "alive (reachable from a root)") << "\n";
  }
  std::cout << "  " << live << " alive, " << garbage << " garbage\n";

  // A group can be the whole program; the shortest cycle through the leaked
  // object is the loop to cut.
  std::cout << "\n== The shortest cycle through the closed document ==\n";
  if (std::optional<inspect::Cycle> loop = inspect::shortest_cycle(*closed)) {
    std::cout << "  " << loop->objects.front()->repr() << "\n";
    for (const inspect::Edge& e : loop->edges)
      std::cout << "    ." << e.field << " -> " << e.to->repr() << made_at(*e.to) << "\n";
  }

  std::ofstream(out / "leak.dot") << [&] {
    std::ostringstream dot;
    inspect::write_dot(dot, *closed, 4, true);
    return dot.str();
  }();
  std::ofstream(out / "leak.html") << [] {
    std::ostringstream html;
    inspect::write_html(html);
    return html.str();
  }();
  std::cout << "\nwrote " << (out / "leak.dot").string() << " and " << (out / "leak.html").string() << "\n";
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    std::string cmd = "dot -Tsvg '" + (out / "leak.dot").string() + "' -o '" + (out / "leak.svg").string() + "'";
    if (std::system(cmd.c_str()) == 0) std::cout << "wrote " << (out / "leak.svg").string() << "\n";
  }

  std::cout << "\n== The fix: unsubscribe the observers of closed documents ==\n";
  std::erase_if(bus->observers, [&](const Ref<Observer>& o) { return o->page->document != kept; });
  std::size_t collected = ouro::gc::collect();
  std::cout << "  gc::collect() -> " << collected << " (the closed documents, the preview, their pages)\n";
  kept.reset();
  bus.reset();
  ouro::gc::collect();
  return collected == 3 * 4 + 3 ? 0 : 1;
}
