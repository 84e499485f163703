// Must not compile: make<T>() requires T to derive from ouro::Object, and
// says so in a sentence (tests/CMakeLists.txt checks the message).
#include <ouro/ouro.hpp>

struct NotAnObject {};

int main() {
  auto r = ouro::make<NotAnObject>();
  (void)r;
}
