// ouro/make.hpp — make<T>(): the one way to create a managed object.
//
//   struct Node : ouro::Object {
//     explicit Node(int v) : value(v) {}
//     int value;
//     ouro::Ref<Node> next;
//     void traverse(ouro::Visitor& v) override { v(next); }
//   };
//   ouro::Ref<Node> n = ouro::make<Node>(42);   // refcount 1, tracked
//
// ONLY make<T>() MAKES A MANAGED OBJECT. `new T` does not compile (a
// static_assert says so), unless T declares an operator new of its own. An
// Object built any other way (a local, a member, a base of something else,
// placement new into your own storage) is a plain C++ object: no Ref can
// hold it, it is never tracked, and it dies by the usual C++ rules;
// ouro::ref(), immortalize() and WeakRef refuse it with
// std::invalid_argument ("the Node was not created by ouro::make").
//
// WHERE OBJECTS LIVE. In the calling thread's heap, made on the thread's
// first make<T>() (a make<T>() during the thread's exit, after its heap was
// torn down, makes an orphan: refcounted only). The object and its Refs
// belong to that thread (object.hpp says what happens when it ends). Its
// memory comes from Object::operator new, or from T's own operator new and
// delete when T declares them: by default the library's per-thread pools
// for objects up to 1 KiB and ::operator new above (the CMake option
// OURO_ALLOCATOR switches to mimalloc or to ::operator new for all). The
// memory goes back when the object dies: its refcount reaches zero, or the
// collector reclaims its cycle.
//
// WHAT RUNS INSIDE make<T>(). When T is tracked (it overrides traverse()),
// make<T>() counts the allocation first; when that count passes the gen0
// threshold (gc::get_threshold()) and automatic collection is on, a
// collection runs before the new object exists, as CPython's allocations
// do: finalizers, destructors, weak-reference and gc callbacks may run
// inside make<T>(), before T's constructor. The constructor may itself call
// make<>(): makes nest.
//
// FAILURE. Out of memory (for the object, or for the room in the gen0 table
// that will track it) make<T>() throws std::bad_alloc before T's
// constructor runs, with nothing made; an object of a tracked type is
// never returned untracked. If T's constructor throws, the memory goes back
// and the exception propagates; a constructor that throws while a Ref to
// its object (ouro::ref(this)) is still held elsewhere aborts the program
// with a message naming the rule.
#pragma once

#include <new>
#include <type_traits>
#include <utility>

#include "ouro/detail/config.hpp"
#include "ouro/detail/heap_core.hpp"
#include "ouro/detail/make.hpp"
#include "ouro/detail/make_frame.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"

namespace ouro {

// Allocates and constructs a T, refcount 1. Tracked by the collector when T
// overrides traverse(). If the constructor throws, nothing leaks and the
// exception propagates. Out of memory (for the object, or for the room
// that tracks it) it throws std::bad_alloc before the constructor runs.
template <class T, class... Args>
Ref<T> make(Args&&... args) {
  static_assert(std::is_base_of_v<Object, T>,
                "ouro::make<T>: T must derive from ouro::Object (publicly, once) to be a managed object");
  static_assert(std::is_convertible_v<T*, Object*>,
                "ouro::make<T>: T must derive from ouro::Object publicly and unambiguously");
  static_assert(!std::is_abstract_v<T>, "ouro::make<T>: T is abstract; make a concrete type");
  (void)detail::made_type_registered<T>;
  constexpr bool tracked = detail::overrides_traverse<T>();
  constexpr bool finalizer = detail::overrides_finalize<T>();
  if constexpr (detail::inline_makeable<T>()) {
    detail::HeapCore* h = detail::tls_heap;
    const detail::MakeFrame& f = detail::tls_make;
    if (OURO_LIKELY(h != nullptr && !f.armed && f.fast_expected == nullptr &&
                    (!tracked || (h->count[0] < h->collect_below && h->gen0_has_free_room()))))
      return Ref<T>(detail::make_inline<T, tracked, finalizer>(*h, std::forward<Args>(args)...), detail::adopt_t{});
  }
  return Ref<T>(detail::make_general<T, tracked, finalizer>(std::forward<Args>(args)...), detail::adopt_t{});
}

}  // namespace ouro
