// ouro/detail/object_core_entry.hpp — what inline code (check_alive) calls in
// src/object_core.cpp: the report of a use of a dead object.
#pragma once

#include "ouro/detail/config.hpp"

namespace ouro::detail {

#if OURO_CHECKS
// Aborts naming the type: `o` is destroyed, or its destruction has begun.
[[noreturn]] void report_use_of_dead_object(const Object* o) noexcept;
#endif

}  // namespace ouro::detail
