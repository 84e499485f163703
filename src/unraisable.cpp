// unraisable.cpp — exceptions that nobody can catch (from a finalizer, a
// weak-reference callback, a gc callback, a traverse() while clearing): the
// heap's hook, or the default message on std::cerr.
#include "unraisable.hpp"

#include <iostream>
#include <string>
#include <typeinfo>

#include "heap.hpp"
#include "object_core.hpp"

namespace ouro::detail {
namespace {

void print_default_unraisable(std::exception_ptr e, const Object* o, const char* where) {
  std::cerr << "Exception ignored in: " << (o ? o->repr() : std::string(where)) << "\n";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << demangled_name(typeid(ex)) << ": " << ex.what() << "\n";
  } catch (...) {
    std::cerr << "unknown exception (not derived from std::exception)\n";
  }
}

}  // namespace

void report_unraisable(std::exception_ptr e, const Object* o, const char* where) noexcept {
  try {
    Heap* h = existing_heap();
    if (h && h->unraisable) {
      // A copy runs: the hook may replace or remove itself (set_unraisable_hook)
      // and still use its captures until it returns.
      UnraisableHook hook = h->unraisable;
      hook(e, o);
    } else {
      print_default_unraisable(e, o, where);
    }
  } catch (...) {
    try {
      std::cerr << "ouro: the unraisable hook itself threw; exception dropped\n";
    } catch (...) {
    }
  }
}

}  // namespace ouro::detail
