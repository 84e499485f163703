// debug_output.cpp — the DEBUG_* text, line for line as CPython 3.11 prints
// it (Modules/gcmodule.c: show_stats_each_generations, debug_cycle, and the
// "done" line), with the C++ type name in place of tp_name.
#include "debug_output.hpp"

#include <cstdio>
#include <iostream>
#include <string>

namespace ouro::detail {
namespace {

std::ostream& debug_out(const Heap& h) noexcept { return h.debug_stream ? *h.debug_stream : std::cerr; }

}  // namespace

void print_collecting(Heap& h, int generation) {
  std::ostream& os = debug_out(h);
  os << "gc: collecting generation " << generation << "...\n";
  os << "gc: objects in each generation:";
  for (int g = 0; g < kGenerations; ++g) os << ' ' << h.table(static_cast<Table>(g)).size();
  os << "\ngc: objects in permanent generation: " << h.table(Table::permanent).size() << '\n';
}

void print_object_line(Heap& h, const char* what, const Object* o) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", static_cast<const void*>(o));
  debug_out(h) << "gc: " << what << " <" << type_name(*o) << ' ' << address << ">\n";
}

void print_done(Heap& h, std::size_t unreachable, std::size_t uncollectable, double seconds) {
  char line[160];
  std::snprintf(line, sizeof line, "gc: done, %zu unreachable, %zu uncollectable, %.4fs elapsed\n", unreachable,
                uncollectable, seconds);
  debug_out(h) << line;
}

}  // namespace ouro::detail
