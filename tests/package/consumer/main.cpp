// A user of ouroboros, built both against an installed copy (find_package)
// and through add_subdirectory: one include, make<>, a two-object cycle, and
// gc::collect() must find exactly those two objects.
#include <ouro/ouro.hpp>

#include <cstdio>

#ifdef OURO_EXPECT_CHECKS
static_assert(OURO_CHECKS == OURO_EXPECT_CHECKS, "ouro::ouro did not carry the library's OURO_CHECKS value");
#endif

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
  std::printf("ouroboros consumer: collect() found %zu\n", found);
  return found == 2 ? 0 : 1;
}
