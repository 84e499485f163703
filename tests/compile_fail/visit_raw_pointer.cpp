// Must not compile: traverse() hands the Visitor a raw pointer, which the
// collector cannot see (tests/CMakeLists.txt checks the message).
#include <ouro/ouro.hpp>

struct Node : ouro::Object {
  Node* next = nullptr;
  void traverse(ouro::Visitor& v) override { v(next); }
};

int main() { (void)ouro::make<Node>(); }
