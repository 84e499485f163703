// Must not compile: a const Ref member cannot be cleared, so the collector
// could never break a cycle through it (tests/CMakeLists.txt checks the
// message).
#include <ouro/ouro.hpp>

struct Node : ouro::Object {
  explicit Node(ouro::Ref<Node> n) : next(std::move(n)) {}
  const ouro::Ref<Node> next;
  void traverse(ouro::Visitor& v) override { v(next); }
};

int main() { (void)ouro::make<Node>(nullptr); }
