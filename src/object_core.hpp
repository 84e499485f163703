// object_core.hpp — what object_core.cpp defines for the rest of the
// library beyond the public and inline declarations (ouro/object.hpp,
// ouro/ref.hpp, ouro/detail/object_core_entry.hpp, and fatal in
// ouro/detail/config.hpp): type names, and the type of a dying object
// (checked builds).
#pragma once

#include <string>
#include <typeinfo>

#include "ouro/object.hpp"

namespace ouro::detail {

#if OURO_CHECKS
// Records the dynamic type of an object about to be destroyed in its slot
// field, for report_use_of_dead_object.
void remember_type_for_checks(Object& o) noexcept;
#endif

// The demangled name of a type, with namespaces ("std::runtime_error").
std::string demangled_name(const std::type_info& t);
// The same without namespaces ("Graph" for tour::Graph), as type_name() says.
std::string short_type_name(const std::type_info& t);

}  // namespace ouro::detail
