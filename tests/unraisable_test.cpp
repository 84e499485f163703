// Exceptions escaping finalize() (ouro/object.hpp): they go to the
// unraisable hook, with the object; without a hook they are printed to
// std::cerr with the object's repr().
#include <gtest/gtest.h>

#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include <ouro/ouro.hpp>

#include "support/fresh_heap.hpp"
#include "support/instrumented.hpp"
#include "support/text.hpp"

namespace {

using ouro::make;
using ouro::Ref;
using ouro_test::Events;
using ouro_test::FinalizedNode;
using ouro_test::FinalizerOnlyNode;
using ouro_test::CaptureCerr;
using ouro_test::is_default_repr;

}  // namespace

// ---------------------------------------------------------------------------
// Exceptions escaping finalize(): the unraisable hook
// ---------------------------------------------------------------------------

namespace {
struct FinalizerThrows : ouro::Object {
  explicit FinalizerThrows(int* d = nullptr) : destroyed(d) {}
  void finalize() override { throw std::runtime_error("boom in finalize"); }
  ~FinalizerThrows() override {
    if (destroyed) ++*destroyed;
  }
  int* destroyed;
};
struct FinalizerThrowsWithRepr : FinalizerThrows {
  std::string repr() const override { return "<custom repr of a thrower>"; }
};
struct FinalizerThrowsNonStd : ouro::Object {
  void finalize() override { throw 42; }
};

std::string message_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "<not a std::exception>";
  }
}
}  // namespace

TEST(Unraisable, ExceptionFromFinalizeGoesToTheHookWithTheObjectAndTheObjectIsStillDestroyed) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    int calls = 0;
    const ouro::Object* reported = nullptr;
    std::string message;
    std::string repr_in_hook;
    int destroyed_when_hook_ran = -1;
    ouro::set_unraisable_hook([&](std::exception_ptr e, const ouro::Object* o) {
      ++calls;
      reported = o;
      message = message_of(e);
      repr_in_hook = o ? o->repr() : "";
      destroyed_when_hook_ran = destroyed;
    });
    auto a = make<FinalizerThrows>(&destroyed);
    const ouro::Object* expected = a.get();
    std::string expected_repr = a->repr();
    EXPECT_NO_THROW(a.reset());
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(reported, expected);
    EXPECT_EQ(message, "boom in finalize");
    EXPECT_EQ(repr_in_hook, expected_repr);  // the object is intact while the hook runs
    EXPECT_EQ(destroyed_when_hook_ran, 0);
    EXPECT_EQ(destroyed, 1);
  });
}

TEST(Unraisable, HookReceivesExceptionsNotDerivedFromStdException) {
  ouro_test::in_fresh_heap([] {
    int value = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr e, const ouro::Object*) {
      try {
        std::rethrow_exception(e);
      } catch (int v) {
        value = v;
      } catch (...) {
      }
    });
    make<FinalizerThrowsNonStd>();
    EXPECT_EQ(value, 42);
  });
}

TEST(Unraisable, DefaultHookPrintsExceptionIgnoredInReprAndTheMessageToStdCerr) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    CaptureCerr capture;
    auto a = make<FinalizerThrows>(&destroyed);
    const std::string repr = a->repr();
    EXPECT_TRUE(is_default_repr(repr, "FinalizerThrows")) << repr;
    a.reset();
    EXPECT_EQ(destroyed, 1);
    std::string out = capture.text();
    EXPECT_EQ(out.rfind("Exception ignored in: " + repr + "\n", 0), 0u) << out;  // the first line
    EXPECT_NE(out.find("boom in finalize"), std::string::npos) << out;
  });
}

TEST(Unraisable, DefaultHookUsesTheObjectsOwnRepr) {
  ouro_test::in_fresh_heap([] {
    CaptureCerr capture;
    make<FinalizerThrowsWithRepr>();
    std::string out = capture.text();
    EXPECT_NE(out.find("Exception ignored in: <custom repr of a thrower>"), std::string::npos) << out;
    EXPECT_NE(out.find("boom in finalize"), std::string::npos) << out;
  });
}

TEST(Unraisable, SettingTheHookToNullptrRestoresTheDefault) {
  ouro_test::in_fresh_heap([] {
    int calls = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object*) { ++calls; });
    make<FinalizerThrows>();
    EXPECT_EQ(calls, 1);
    ouro::set_unraisable_hook(nullptr);
    CaptureCerr capture;
    make<FinalizerThrows>();
    EXPECT_EQ(calls, 1);
    EXPECT_NE(capture.text().find("Exception ignored in: <FinalizerThrows 0x"), std::string::npos) << capture.text();
  });
}

TEST(Unraisable, HookThatRemovesItselfCanStillUseItsCapturesUntilItReturns) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    std::vector<std::string> seen;
    // A capture that owns heap memory: reading it after the hook's
    // std::function was destroyed is a use after free.
    auto label = std::make_shared<std::string>("a label long enough to live on the heap, not in the SSO buffer");
    ouro::set_unraisable_hook([&seen, label](std::exception_ptr e, const ouro::Object*) {
      ouro::set_unraisable_hook(nullptr);
      seen.push_back(*label + ": " + message_of(e));
    });
    label.reset();  // the hook's copy is now the only owner
    make<FinalizerThrows>(&destroyed);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0], "a label long enough to live on the heap, not in the SSO buffer: boom in finalize");
    CaptureCerr capture;  // the default hook is back for the next exception
    make<FinalizerThrows>(&destroyed);
    EXPECT_EQ(seen.size(), 1u);
    EXPECT_NE(capture.text().find("boom in finalize"), std::string::npos) << capture.text();
    EXPECT_EQ(destroyed, 2);
  });
}

TEST(Unraisable, HookThatReplacesItselfRunsToTheEndAndTheNewHookGetsTheNextException) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    std::vector<std::string> seen;
    auto first_name = std::make_shared<std::string>("the first hook, with a name too long for the SSO buffer");
    ouro::set_unraisable_hook([&seen, first_name](std::exception_ptr, const ouro::Object*) {
      ouro::set_unraisable_hook([&seen](std::exception_ptr, const ouro::Object*) { seen.push_back("second"); });
      seen.push_back(*first_name);
    });
    first_name.reset();
    make<FinalizerThrows>(&destroyed);
    make<FinalizerThrows>(&destroyed);
    EXPECT_EQ(seen, (std::vector<std::string>{"the first hook, with a name too long for the SSO buffer", "second"}));
  });
}

TEST(Unraisable, HookThatThrowsDoesNotPropagateAndTheObjectIsStillDestroyed) {
  ouro_test::in_fresh_heap([] {
    int destroyed = 0;
    ouro::set_unraisable_hook([](std::exception_ptr, const ouro::Object*) { throw std::runtime_error("hook"); });
    CaptureCerr capture;  // whatever the library says about it goes here
    EXPECT_NO_THROW(make<FinalizerThrows>(&destroyed));
    EXPECT_EQ(destroyed, 1);
  });
}

TEST(Unraisable, EveryThrowingFinalizerOfALongDyingChainIsReportedAndEveryNodeDestroyed) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    int reports = 0;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object* o) {
      if (o) ++reports;
    });
    {
      Ref<ouro_test::Instrumented> head;
      for (int i = 0; i < 500; ++i) {
        auto n = make<FinalizerOnlyNode>(ev, std::to_string(i));
        n->on_finalize = [](ouro_test::Instrumented&) { throw std::runtime_error("chain boom"); };
        n->next = std::move(head);
        head = std::move(n);
      }
    }
    EXPECT_EQ(reports, 500);
    EXPECT_EQ(ev.finalized, 500);
    EXPECT_EQ(ev.alive(), 0);
  });
}

TEST(Unraisable, ExceptionsFromFinalizersInAGarbageCycleGoToTheHookAndTheCycleIsReclaimed) {
  ouro_test::in_fresh_heap([] {
    Events ev;
    std::vector<const ouro::Object*> reported;
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object* o) { reported.push_back(o); });
    const ouro::Object* pa;
    const ouro::Object* pb;
    {
      auto a = make<FinalizedNode>(ev, "a");
      auto b = make<FinalizedNode>(ev, "b");
      a->on_finalize = b->on_finalize = [](ouro_test::Instrumented&) { throw std::runtime_error("cyclic boom"); };
      a->next = b;
      b->next = a;
      pa = a.get();
      pb = b.get();
    }
    std::size_t found = 0;
    EXPECT_NO_THROW(found = ouro::gc::collect());
    EXPECT_EQ(found, 2u);
    EXPECT_EQ(reported.size(), 2u);
    EXPECT_NE(std::find(reported.begin(), reported.end(), pa), reported.end());
    EXPECT_NE(std::find(reported.begin(), reported.end(), pb), reported.end());
    EXPECT_EQ(ev.destroyed, 2);
  });
}

TEST(Unraisable, HookBelongsToTheThreadThatSetIt) {
  int calls = 0;
  ouro_test::in_fresh_heap([&] {
    ouro::set_unraisable_hook([&](std::exception_ptr, const ouro::Object*) { ++calls; });
    ouro_test::in_fresh_heap([] {
      CaptureCerr capture;
      make<FinalizerThrows>();
      EXPECT_NE(capture.text().find("Exception ignored in:"), std::string::npos);
    });
    EXPECT_EQ(calls, 0);
    make<FinalizerThrows>();
    EXPECT_EQ(calls, 1);
  });
}
