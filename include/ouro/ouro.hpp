// ouro/ouro.hpp — everything: objects, references and how they are made,
// visitors, the collector's controls, weak references and weak maps, leak
// forensics.
//
//   #include <ouro/ouro.hpp>
//   struct Node : ouro::Object {
//     ouro::Ref<Node> next;
//     void traverse(ouro::Visitor& v) override { v(next); }
//   };
//   auto a = ouro::make<Node>();
//   a->next = a;                      // a cycle
//   a.reset();                        // still alive: it references itself
//   ouro::gc::collect();              // found unreachable, reclaimed
#pragma once

#include "ouro/gc.hpp"
#include "ouro/inspect.hpp"
#include "ouro/make.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/send.hpp"
#include "ouro/share.hpp"
#include "ouro/visitor.hpp"
#include "ouro/weak_map.hpp"
#include "ouro/weakref.hpp"
