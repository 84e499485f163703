// support/map_holder.hpp — a managed object holding both kinds of weak map
// and reporting them in traverse(), for the weak-map tests.
//
//   auto h = ouro::make<ouro_test::MapHolder>(ev, "h");
//   h->by_key.insert_or_assign(h, value);   // h lives on in its own map's key
#pragma once

#include <ouro/ouro.hpp>

#include "support/instrumented.hpp"

namespace ouro_test {

// Holds both kinds of map and reports them in traverse().
struct MapHolder : TrackedNode {
  using TrackedNode::TrackedNode;
  ouro::WeakValueMap<ouro::Ref<Instrumented>, Instrumented> by_key;   // keys strong
  ouro::WeakKeyMap<Instrumented, ouro::Ref<Instrumented>> by_object;  // values strong
  void traverse(ouro::Visitor& v) override {
    TrackedNode::traverse(v);
    v(by_key, by_object);
  }
};

// A MapHolder with a finalizer (on_finalize may resurrect it).
struct FinalizedMapHolder : MapHolder {
  using MapHolder::MapHolder;
  void finalize() override { note_finalize(); }
};

}  // namespace ouro_test
