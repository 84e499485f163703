// support/throwing_traverse.hpp — a tracked object whose traverse() throws
// while ThrowingTraverse::armed is set (outside clearing), for the tests of
// what a collection does when user code in traverse() throws.
#pragma once

#include <stdexcept>

#include <ouro/ouro.hpp>

namespace ouro_test {

struct ThrowingTraverse : ouro::Object {
  void traverse(ouro::Visitor& v) override {
    if (armed && !v.clearing()) throw std::runtime_error("traverse failed");
    v(next);
  }
  static inline bool armed = false;
  ouro::Ref<ouro::Object> next;
};

}  // namespace ouro_test
