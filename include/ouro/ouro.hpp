// ouro/ouro.hpp — everything: objects and references, visitors, the
// collector's controls, weak references.
#pragma once

#include "ouro/gc.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"
#include "ouro/weakref.hpp"
