// support/instrumented.hpp — managed node types that report what happens to
// them (construction, finalize(), destruction) into a shared Events record.
//
//   ouro_test::Events ev;
//   {
//     auto a = ouro::make<ouro_test::TrackedNode>(ev, "a");
//     auto b = ouro::make<ouro_test::TrackedNode>(ev, "b");
//     a->next = b;
//     b->next = a;
//   }
//   ouro::gc::collect();
//   EXPECT_EQ(ev.destroyed, 2);
//   EXPECT_EQ(ev.alive(), 0);
//
// The four kinds cover the combinations the library distinguishes at compile
// time (ouro::detail::overrides_traverse / overrides_finalize):
//
//   type               traverse (tracked)   finalize
//   PlainNode          no                   no
//   FinalizerOnlyNode  no                   yes
//   TrackedNode        yes                  no
//   FinalizedNode      yes                  yes
//
// Every node has a `next` link and a vector of `links`; the tracked kinds
// visit both in traverse() (next first, then links in order). An `on_finalize`
// hook, when set, runs inside finalize() after the event is recorded (to
// resurrect the object, throw, inspect neighbours, ...).
//
// An Events record must outlive every node that reports into it. It is not
// synchronized: use one per thread, or read it only after joining.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

namespace ouro_test {

struct Events {
  int constructed = 0;
  int finalized = 0;
  int destroyed = 0;
  // In order: "construct <name>", "finalize <name>", "destroy <name>".
  std::vector<std::string> log;

  int alive() const { return constructed - destroyed; }
  void record(const char* what, const std::string& name);
  // The events of the object called `name`, in order, without the name:
  // e.g. {"construct", "finalize", "destroy"}.
  std::vector<std::string> of(const std::string& name) const;
  // Index of `entry` ("finalize a") in the log, or -1 when absent.
  std::ptrdiff_t position(const std::string& entry) const;
  // How many log entries equal `entry`.
  std::size_t count(const std::string& entry) const;
};

class Instrumented : public ouro::Object {
 public:
  explicit Instrumented(Events& events, std::string name = {});
  ~Instrumented() override;

  Events& events;
  std::string name;
  int value = 0;
  // Unreported: the untracked kinds hold it on purpose (ouro::Unreported).
  ouro::Unreported<ouro::Ref<Instrumented>> next;
  std::vector<ouro::Ref<Instrumented>> links;
  std::function<void(Instrumented&)> on_finalize;

 protected:
  // What the finalizing kinds do in finalize(): record, then on_finalize.
  void note_finalize();
};

// Untracked, no finalizer: refcounted only (like a Python int).
struct PlainNode : Instrumented {
  using Instrumented::Instrumented;
};

// Untracked, with a finalizer (runs on refcount death).
struct FinalizerOnlyNode : Instrumented {
  using Instrumented::Instrumented;
  void finalize() override { note_finalize(); }
};

// Tracked (visits next, then links), no finalizer.
struct TrackedNode : Instrumented {
  using Instrumented::Instrumented;
  void traverse(ouro::Visitor& v) override { v(next, links); }
};

// Tracked, with a finalizer.
struct FinalizedNode : TrackedNode {
  using TrackedNode::TrackedNode;
  void finalize() override { note_finalize(); }
};

}  // namespace ouro_test
