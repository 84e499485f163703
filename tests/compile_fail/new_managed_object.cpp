// Must not compile: `new T` of a managed type; only ouro::make<T>() creates
// managed objects (tests/CMakeLists.txt checks the message).
#include <ouro/ouro.hpp>

struct Node : ouro::Object {
  ouro::Ref<Node> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

int main() {
  Node* n = new Node;
  (void)n;
}
