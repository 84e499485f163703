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
namespace detail {

// The body of every make<T>(): inlined into the caller, so that the site
// is only built on the general path.
template <class T, class... Args>
OURO_ALWAYS_INLINE Ref<T> make_at(const CallSite& site, Args&&... args) {
  static_assert(std::is_base_of_v<Object, T>,
                "ouro::make<T>: T must derive from ouro::Object (publicly, once) to be a managed object");
  static_assert(std::is_convertible_v<T*, Object*>,
                "ouro::make<T>: T must derive from ouro::Object publicly and unambiguously");
  static_assert(!std::is_abstract_v<T>, "ouro::make<T>: T is abstract; make a concrete type");
  (void)made_type_registered<T>;
  constexpr bool tracked = overrides_traverse<T>();
  constexpr bool finalizer = overrides_finalize<T>();
  if constexpr (inline_makeable<T>()) {
    HeapCore* h = tls_heap;
    const MakeFrame& f = tls_make;
    if (OURO_LIKELY(h != nullptr && f.fast_expected == nullptr &&
                    (!tracked || (h->count[0] < h->collect_below && h->gen0_has_free_room())) &&
                    inline_make_allowed(*h, f)))
      return Ref<T>(make_inline<T, tracked, finalizer>(*h, std::forward<Args>(args)...), adopt_t{});
  }
  return Ref<T>(make_general<T, tracked, finalizer>(site.file, site.function, site.line, std::forward<Args>(args)...),
                adopt_t{});
}

// make<T>()'s last parameter, after T's constructor arguments: where the
// call is written. Explicit, so no constructor argument becomes one.
struct MadeAt {
  explicit constexpr MadeAt(const CallSite& s) noexcept : site(s) {}
  CallSite site;
};

}  // namespace detail

// Allocates and constructs a T, refcount 1. Tracked by the collector when T
// overrides traverse(). If the constructor throws, nothing leaks and the
// exception propagates. Out of memory (for the object, or for the room
// that tracks it) it throws std::bad_alloc before the constructor runs.
//
// One overload per number of constructor arguments, up to eight, so that
// a default argument after them can take the call's file and line for
// inspect::set_allocation_sites (a default argument cannot follow a
// deduced parameter pack); with more arguments the site is unknown. The
// site costs nothing unless sites are on and this make is sampled.
template <class T>
OURO_ALWAYS_INLINE Ref<T> make(detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site);
}
template <class T, class A1>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1));
}
template <class T, class A1, class A2>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2));
}
template <class T, class A1, class A2, class A3>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, A3&& a3, detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3));
}
template <class T, class A1, class A2, class A3, class A4>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, A3&& a3, A4&& a4, detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3),
                            std::forward<A4>(a4));
}
template <class T, class A1, class A2, class A3, class A4, class A5>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5,
            detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3),
                            std::forward<A4>(a4), std::forward<A5>(a5));
}
template <class T, class A1, class A2, class A3, class A4, class A5, class A6>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6,
            detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3),
                            std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6));
}
template <class T, class A1, class A2, class A3, class A4, class A5, class A6, class A7>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7,
            detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3),
                            std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7));
}
template <class T, class A1, class A2, class A3, class A4, class A5, class A6, class A7, class A8>
OURO_ALWAYS_INLINE Ref<T> make(A1&& a1, A2&& a2, A3&& a3, A4&& a4, A5&& a5, A6&& a6, A7&& a7, A8&& a8,
            detail::MadeAt at = detail::MadeAt(detail::CallSite::here())) {
  return detail::make_at<T>(at.site, std::forward<A1>(a1), std::forward<A2>(a2), std::forward<A3>(a3),
                            std::forward<A4>(a4), std::forward<A5>(a5), std::forward<A6>(a6), std::forward<A7>(a7),
                            std::forward<A8>(a8));
}
template <class T, class... Args>
OURO_ALWAYS_INLINE Ref<T> make(Args&&... args) {
  return detail::make_at<T>(detail::CallSite{}, std::forward<Args>(args)...);
}

}  // namespace ouro
