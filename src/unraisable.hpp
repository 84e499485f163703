// unraisable.hpp — exceptions that nobody can catch (unraisable.cpp).
#pragma once

#include <exception>

#include "ouro/object.hpp"

namespace ouro::detail {

// Reports an exception nobody can catch through the calling thread's
// unraisable hook (set_unraisable_hook), or prints it to std::cerr. `where`
// names the source when there is no object ("gc callback").
void report_unraisable(std::exception_ptr e, const Object* o, const char* where) noexcept;

}  // namespace ouro::detail
