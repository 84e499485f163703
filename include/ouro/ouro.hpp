// ouro/ouro.hpp — everything: objects and references, visitors, the
// collector's controls, weak references, leak forensics.
#pragma once

#include "ouro/gc.hpp"
#include "ouro/inspect.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"
#include "ouro/weakref.hpp"
