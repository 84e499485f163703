// Must not compile: a managed object held by std::unique_ptr (or
// std::shared_ptr) is out of the collector's reach (tests/CMakeLists.txt
// checks the message).
#include <memory>

#include <ouro/ouro.hpp>

struct Node : ouro::Object {
  std::unique_ptr<Node> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

int main() { (void)ouro::make<Node>(); }
