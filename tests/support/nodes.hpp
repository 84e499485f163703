// support/nodes.hpp — the plainest tracked nodes: one link, visited by
// traverse(), no finalizer. Chains, cycles and self-references of them are
// the smallest graphs a test can make.
//
//   Node       links to any object;
//   ChainNode  links to another ChainNode, so that a test can follow the
//              chain: a->next->next = a.
//
//   auto a = ouro::make<ouro_test::Node>();
//   auto b = ouro::make<ouro_test::Node>();
//   a->next = b;
//   b->next = a;  // a two-object cycle
//
// Node's type name is "Node" (debug output and repr() print it).
#pragma once

#include <ouro/ouro.hpp>

namespace ouro_test {

struct Node : ouro::Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  ouro::Ref<ouro::Object> next;
};

struct ChainNode : ouro::Object {
  void traverse(ouro::Visitor& v) override { v(next); }
  ouro::Ref<ChainNode> next;
};

}  // namespace ouro_test
