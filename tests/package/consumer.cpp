// A user of the installed (or add_subdirectory'd) library: a two-object
// cycle must be found by the collector.
#include <ouro/ouro.hpp>

#include <cstdio>

struct Node : ouro::Object {
  ouro::Ref<Node> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

int main() {
  {
    auto a = ouro::make<Node>();
    auto b = ouro::make<Node>();
    a->next = b;
    b->next = a;
  }
  std::size_t found = ouro::gc::collect();
  std::printf("collect() found %zu\n", found);
  return found == 2 ? 0 : 1;
}
