// ouro/detail/make.hpp — the machinery behind make<T>() (ouro/make.hpp):
// what it knows about T at compile time (tracked, finalizer, where its
// Object subobject sits, whether the inline path can build it), its inline
// path, and the out-of-line steps of its general path (src/heap.cpp,
// src/make_context.hpp). Internal: not part of the API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "ouro/detail/config.hpp"
#include "ouro/detail/flags.hpp"
#include "ouro/detail/header.hpp"
#include "ouro/detail/heap_core.hpp"
#include "ouro/detail/make_frame.hpp"
#include "ouro/detail/member_refs.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"

namespace ouro::detail {

// A type is tracked when it overrides traverse() and has a finalizer when it
// overrides finalize(); both are known at compile time. A member pointer
// that still names Object's function means "not overridden"; an overload
// set or an inaccessible override counts as an override.
template <class T>
constexpr bool overrides_traverse() {
  if constexpr (requires { &T::traverse; })
    return !std::is_same_v<decltype(&T::traverse), void (Object::*)(Visitor&)>;
  else
    return true;
}
template <class T>
constexpr bool overrides_finalize() {
  if constexpr (requires { &T::finalize; })
    return !std::is_same_v<decltype(&T::finalize), void (Object::*)()>;
  else
    return true;
}

// Offset of T's Object subobject, or -1 when Object is reached through a
// virtual base (the offset then depends on the most derived type at run
// time). Non-virtual upcasts are a constant adjustment, computed on a
// made-up address that is never dereferenced.
template <class T>
std::ptrdiff_t object_offset_in() noexcept {
  if constexpr (!requires(Object* o) { static_cast<T*>(o); }) {
    return -1;
  } else {
    constexpr std::uintptr_t fake = std::uintptr_t{1} << 20;
    T* t = reinterpret_cast<T*>(fake);
    return reinterpret_cast<std::uintptr_t>(static_cast<Object*>(t)) - static_cast<std::ptrdiff_t>(fake);
  }
}

// The steps of make<T>()'s general path (make_general below) that live in
// the library: counting the allocation (which may start an automatic
// collection, before the new object exists) and reserving its gen0 entry
// (HeapCore::gen0_promised; both throw std::bad_alloc before the
// constructor runs), telling Object's constructor it is managed, and
// tracking the result. Each returns the thread to the caller's frame.
MakeFrame begin_make(bool tracked, bool has_finalizer, std::ptrdiff_t object_offset);

// sizeof of every type make<T>() creates, for ouro::inspect::type_stats():
// recorded once per type during static initialization (make<T> names the
// variable, so it exists), which keeps make<T> itself free of any cost and
// the object header at 16 bytes.
void register_made_type(const std::type_info& type, std::size_t size) noexcept;
template <class T>
inline const bool made_type_registered = (register_made_type(typeid(T), sizeof(T)), true);
void abandon_make(bool tracked, const MakeFrame& caller) noexcept;
void finish_make(Object* o, bool tracked, const MakeFrame& caller) noexcept;

// Where a make<T>() call is written (the function is "" when the compiler
// does not say). make<T>() takes one as a default argument after T's
// constructor arguments (ouro/make.hpp); the __builtin_ functions are what
// std::source_location::current() uses, and work where it is missing
// (clang 14 with libstdc++ 12).
struct CallSite {
  const char* file = nullptr;  // nullptr: unknown
  const char* function = "";
  std::uint_least32_t line = 0;
  static constexpr CallSite here(const char* file = __builtin_FILE(), std::uint_least32_t line = __builtin_LINE(),
                                 const char* function = __builtin_FUNCTION()) noexcept {
    return CallSite{file, function, line};
  }
};

// make<T>()'s general path, after the object is built, while the thread
// samples allocation sites (MakeFrame::mode has kSampling): counts the
// make down, and records `site` for `o` when it is the sampled one.
void note_made(Object* o, const CallSite& site) noexcept;

// Constructs T in `block`, which make<T>() allocated; when the constructor
// throws, the caller frees the block. Checked builds also note the Refs
// constructed inside the block as T's members (ouro/detail/member_refs.hpp), and abort
// when T holds some but is untracked.
template <class T, bool tracked, class... Args>
OURO_ALWAYS_INLINE T* construct_managed(void* block, Args&&... args) {
#if OURO_CHECKS
  const MemberBuild outer = begin_member_build(block, sizeof(T));
  T* p;
  try {
    p = ::new (block) T(std::forward<Args>(args)...);
  } catch (...) {
    end_member_build(outer);
    throw;
  }
  check_member_build(as_object(p), tracked, outer);
  return p;
#else
  return ::new (block) T(std::forward<Args>(args)...);
#endif
}

// Whether T declares an operator new(std::size_t) of its own (Object's
// are templates that refuse `new T`): make<T>() then allocates with it.
template <class T>
constexpr bool has_own_operator_new() {
  return requires { static_cast<void* (*)(std::size_t)>(&T::operator new); };
}

// make<T>()'s general path: any type, any state of the thread. The site
// comes as three scalars: as one object (by reference or by value), every
// inlined make<T>() would store it on its stack, fast path or not.
template <class T, bool tracked, bool finalizer, class... Args>
OURO_NOINLINE T* make_general(const char* file, const char* function, std::uint_least32_t line, Args&&... args) {
  const MakeFrame caller = begin_make(tracked, finalizer, object_offset_in<T>());
  T* p;
  if constexpr (has_own_operator_new<T>()) {
    try {
      p = new T(std::forward<Args>(args)...);
    } catch (...) {
      abandon_make(tracked, caller);
      throw;
    }
  } else {
    constexpr bool aligned = alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    void* block;
    try {
      if constexpr (aligned)
        block = allocate_managed(sizeof(T), std::align_val_t{alignof(T)});
      else
        block = allocate_managed(sizeof(T));
    } catch (...) {
      abandon_make(tracked, caller);
      throw;
    }
    try {
      p = construct_managed<T, tracked>(block, std::forward<Args>(args)...);
    } catch (...) {
      if constexpr (aligned)
        Object::operator delete(block, sizeof(T), std::align_val_t{alignof(T)});
      else
        Object::operator delete(block, sizeof(T));
      abandon_make(tracked, caller);
      throw;
    }
  }
  finish_make(as_object(p), tracked, caller);
  if (OURO_UNLIKELY((tls_make.mode & kSampling) != 0)) note_made(as_object(p), CallSite{file, function, line});
  return p;
}

// make<T>()'s inline path may build this object: nothing unusual is going
// on (mode 0), or allocation sites are on and this make is not the one to
// sample (it counts the make down).
OURO_ALWAYS_INLINE bool inline_make_allowed(HeapCore& h, const MakeFrame& f) noexcept {
  if (OURO_LIKELY(f.mode == 0)) return true;
  if (f.mode != kSampling || h.sample_countdown <= 1) return false;
  --h.sample_countdown;
  return true;
}

// The inline path needs the Object subobject's address before the
// constructor runs and must free the block with the deallocation function
// that `delete` will use: so only non-virtual bases, no operator new or
// delete of T's own, and no over-alignment.
template <class T>
constexpr bool inline_makeable() {
  if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__ || !requires(Object* o) { static_cast<T*>(o); }) {
    return false;
  } else if constexpr (has_own_operator_new<T>() ||
                       !requires { static_cast<void (*)(void*, std::size_t) noexcept>(&T::operator delete); }) {
    return false;
  } else {
    return static_cast<void (*)(void*, std::size_t) noexcept>(&T::operator delete) ==
           static_cast<void (*)(void*, std::size_t) noexcept>(&Object::operator delete);
  }
}

// What allocate_managed does, without telling a general make about the
// block (the inline path arms its own frame field).
void* allocate_object(std::size_t size);

// make<T>()'s inline path: the thread has a heap, no other make waits for
// its Object constructor, and a tracked T does not bring count[0] to the
// collection trigger and finds gen0 room that no other make was promised
// (it promises itself one entry while its constructor runs). One
// out-of-line call (the allocation) in all.
template <class T, bool tracked, bool finalizer, class... Args>
OURO_ALWAYS_INLINE T* make_inline(HeapCore& h, Args&&... args) {
  constexpr auto flags = static_cast<std::uint16_t>(static_cast<std::uint16_t>(Table::none) | kManaged |
                                                    (tracked ? kTracked : 0) | (finalizer ? kHasFinalizer : 0));
  void* block = allocate_object(sizeof(T));
  MakeFrame& f = tls_make;
  f.fast_expected = reinterpret_cast<const Object*>(static_cast<char*>(block) + object_offset_in<T>());
  f.fast_flags = flags;
  f.fast_heap_id = h.id;
  if constexpr (tracked) {
    ++h.count[0];
    ++h.gen0_promised;
  }
  T* p;
  try {
    p = construct_managed<T, tracked>(block, std::forward<Args>(args)...);
  } catch (...) {
    tls_make.fast_expected = nullptr;  // when a base before Object threw
    if constexpr (tracked) {
      if (h.count[0] > 0) --h.count[0];  // a nested make may have collected (and reset it)
      --h.gen0_promised;
    }
    Object::operator delete(block, sizeof(T));
    throw;
  }
  if constexpr (tracked) {
    --h.gen0_promised;
    h.place_reserved(as_object(p), Table::gen0);  // the promised entry
  }
  return p;
}

}  // namespace ouro::detail
