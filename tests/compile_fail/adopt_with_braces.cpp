// Must not compile: Ref's adopting constructor takes over a reference
// without counting it, so `{}` must not be enough to pick it; code outside
// the library that means it calls ouro::subtle::adopt_ref (tests/CMakeLists.txt
// checks the message).
#include <ouro/ouro.hpp>

struct Node : ouro::Object {};

int main() {
  ouro::Ref<Node> owner = ouro::make<Node>();
  ouro::Ref<Node> uncounted(owner.get(), {});
  (void)uncounted;
}
