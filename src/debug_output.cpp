// debug_output.cpp — the DEBUG_* text, line for line as CPython 3.11 prints
// it (Modules/gcmodule.c: show_stats_each_generations, debug_cycle, and the
// "done" line), with the C++ type name in place of tp_name.
#include <cstdio>
#include <iostream>
#include <string>

#include "collector.hpp"

namespace ouro::detail {

std::ostream& Heap::debug_out() const noexcept { return debug_stream ? *debug_stream : std::cerr; }

void print_collecting(Heap& h, int generation) {
  std::ostream& os = h.debug_out();
  os << "gc: collecting generation " << generation << "...\n";
  os << "gc: objects in each generation:";
  for (int g = 0; g < kGenerations; ++g) os << ' ' << h.table(static_cast<Table>(g)).size();
  os << "\ngc: objects in permanent generation: " << h.table(Table::permanent).size() << '\n';
}

void print_object_line(Heap& h, const char* what, const Object* o) {
  char address[32];
  std::snprintf(address, sizeof address, "%p", static_cast<const void*>(o));
  h.debug_out() << "gc: " << what << " <" << type_name(*o) << ' ' << address << ">\n";
}

void print_done(Heap& h, std::size_t unreachable, std::size_t uncollectable, double seconds) {
  char line[160];
  std::snprintf(line, sizeof line, "gc: done, %zu unreachable, %zu uncollectable, %.4fs elapsed\n", unreachable,
                uncollectable, seconds);
  h.debug_out() << line;
}

}  // namespace ouro::detail
