// Must not compile: OURO_TRAVERSE names a member that holds no Ref or
// WeakRef (tests/CMakeLists.txt checks the message).
#include <string>

#include <ouro/ouro.hpp>

struct Symbol : ouro::Object {
  std::string name;
  ouro::Ref<Symbol> next;
  OURO_TRAVERSE(name, next)
};

int main() { (void)ouro::make<Symbol>(); }
