// support/weak_logging.hpp — weak-reference callbacks that report into an
// Events log, for the weak-reference tests.
//
//   ouro::WeakRef<ouro_test::Instrumented> w(node, ouro_test::logging_callback(ev, "w"));
//   node.reset();   // ev.log gets "callback w" ("callback w (alive!)" if the
//                   // weakref had not been cleared before its callback ran)
#pragma once

#include <functional>
#include <string>

#include <ouro/ouro.hpp>

#include "support/instrumented.hpp"

namespace ouro_test {

using WeakNode = ouro::WeakRef<Instrumented>;

inline std::function<void(WeakNode&)> logging_callback(Events& ev, std::string tag) {
  return [&ev, tag](WeakNode& self) { ev.log.push_back("callback " + tag + (self.expired() ? "" : " (alive!)")); };
}

}  // namespace ouro_test
