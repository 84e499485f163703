// ouro/ref.hpp — strong references (Ref<T>) and how managed objects are made.
//
//   ouro::Ref<Node> a = ouro::make<Node>();    // refcount 1
//   ouro::Ref<Node> b = a;                     // refcount 2
//   b.reset();                                 // refcount 1
//   a = nullptr;                               // refcount 0: destroyed now
//
// A Ref is one pointer wide; copying it is a plain (non-atomic) increment,
// because an object and its references belong to one thread's heap.
#pragma once

#include <compare>
#include <cstdint>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "ouro/detail/header.hpp"
#include "ouro/detail/heap_core.hpp"
#include "ouro/detail/make_frame.hpp"
#include "ouro/object.hpp"

namespace ouro {

template <class T>
class Ref;

namespace detail {

template <class T>
OURO_ALWAYS_INLINE Object* as_object(T* p) noexcept {
  static_assert(std::is_base_of_v<Object, std::remove_cv_t<T>>, "ouro::Ref<T>: T must derive from ouro::Object");
  return const_cast<Object*>(static_cast<const Object*>(p));
}

struct adopt_t {};

// Throws std::invalid_argument for objects that make() did not create and
// aborts for objects whose destructor already runs.
void check_ref_target(const Object* o);

}  // namespace detail

// A strong reference, like a Python variable: while a Ref to an object
// exists the object is alive (unless the collector proves the Ref itself
// belongs to unreachable garbage and resets it).
template <class T>
class Ref {
 public:
  using element_type = T;

  constexpr Ref() noexcept = default;
  constexpr Ref(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
  Ref(const Ref& other) noexcept : p_(other.p_) {
    if (p_) detail::incref(detail::as_object(p_));
  }
  Ref(Ref&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref(const Ref<U>& other) noexcept : p_(other.get()) {  // NOLINT(google-explicit-constructor)
    if (p_) detail::incref(detail::as_object(p_));
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref(Ref<U>&& other) noexcept : p_(other.release_unchecked()) {}  // NOLINT(google-explicit-constructor)
  ~Ref() {
    if (p_) detail::decref(detail::as_object(p_));
  }

  Ref& operator=(const Ref& other) noexcept {
    Ref(other).swap(*this);
    return *this;
  }
  Ref& operator=(Ref&& other) noexcept {
    Ref(std::move(other)).swap(*this);
    return *this;
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref& operator=(const Ref<U>& other) noexcept {
    Ref(other).swap(*this);
    return *this;
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref& operator=(Ref<U>&& other) noexcept {
    Ref(std::move(other)).swap(*this);
    return *this;
  }
  Ref& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }

  // Empties the Ref first, then drops the reference: code that runs during
  // the drop (finalizers, destructors) never sees a Ref to a dying object.
  void reset() noexcept {
    if (T* p = std::exchange(p_, nullptr)) detail::decref(detail::as_object(p));
  }
  void swap(Ref& other) noexcept { std::swap(p_, other.p_); }

  T* get() const noexcept { return p_; }
  T& operator*() const noexcept {
    if (p_) detail::check_alive(detail::as_object(p_));
    return *p_;
  }
  T* operator->() const noexcept {
    if (p_) detail::check_alive(detail::as_object(p_));
    return p_;
  }
  explicit operator bool() const noexcept { return p_ != nullptr; }

  // Gives up ownership without dropping the count (for conversions).
  T* release_unchecked() noexcept { return std::exchange(p_, nullptr); }
  // Takes over a reference already counted (make<T>() hands out the one
  // reference every new object starts with).
  Ref(T* p, detail::adopt_t) noexcept : p_(p) {}

 private:
  T* p_ = nullptr;
};

template <class T, class U>
bool operator==(const Ref<T>& a, const Ref<U>& b) noexcept {
  return (a.get() ? detail::as_object(a.get()) : nullptr) == (b.get() ? detail::as_object(b.get()) : nullptr);
}
template <class T>
bool operator==(const Ref<T>& a, std::nullptr_t) noexcept {
  return a.get() == nullptr;
}
// Address order, so a Ref can key std::set and std::map.
template <class T, class U>
std::strong_ordering operator<=>(const Ref<T>& a, const Ref<U>& b) noexcept {
  return std::compare_three_way{}(a.get() ? detail::as_object(a.get()) : nullptr,
                                  b.get() ? detail::as_object(b.get()) : nullptr);
}

// A new strong reference to a live managed object, e.g. ouro::ref(this) in a
// method or in finalize() (resurrection). Throws std::invalid_argument when
// the object was not created by make().
template <class T>
Ref<T> ref(T* p) {
  if (!p) return {};
  Object* o = detail::as_object(p);
  if (OURO_UNLIKELY((detail::Access::flags(*o) & (detail::kManaged | detail::kDestroying | detail::kDeferred)) !=
                    detail::kManaged))
    detail::check_ref_target(o);
  detail::incref(o);
  return Ref<T>(p, detail::adopt_t{});
}

template <class T, class U>
Ref<T> ref_cast(const Ref<U>& r) noexcept {
  if (!r) return {};
  T* p = static_cast<T*>(r.get());
  detail::incref(detail::as_object(p));
  return Ref<T>(p, detail::adopt_t{});
}
template <class T, class U>
Ref<T> ref_cast(Ref<U>&& r) noexcept {
  return Ref<T>(static_cast<T*>(r.release_unchecked()), detail::adopt_t{});
}

// Checked downcast: empty when the object is not a T.
template <class T, class U>
Ref<T> dynamic_ref_cast(const Ref<U>& r) noexcept {
  T* p = dynamic_cast<T*>(r.get());
  if (!p) return {};
  detail::incref(detail::as_object(p));
  return Ref<T>(p, detail::adopt_t{});
}

namespace detail {

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

// make<T>()'s general path: any type, any state of the thread.
template <class T, bool tracked, bool finalizer, class... Args>
OURO_NOINLINE T* make_general(Args&&... args) {
  const MakeFrame caller = begin_make(tracked, finalizer, object_offset_in<T>());
  T* p;
  try {
    p = new T(std::forward<Args>(args)...);
  } catch (...) {
    abandon_make(tracked, caller);
    throw;
  }
  finish_make(as_object(p), tracked, caller);
  return p;
}

// The inline path needs the Object subobject's address before the
// constructor runs and must free the block with the deallocation function
// that `delete` will use: so only non-virtual bases, no operator new or
// delete of T's own, and no over-alignment.
template <class T>
constexpr bool inline_makeable() {
  if constexpr (alignof(T) > __STDCPP_DEFAULT_NEW_ALIGNMENT__ || !requires(Object* o) { static_cast<T*>(o); }) {
    return false;
  } else if constexpr (!requires {
                         static_cast<void* (*)(std::size_t)>(&T::operator new);
                         static_cast<void (*)(void*, std::size_t) noexcept>(&T::operator delete);
                       }) {
    return false;
  } else {
    return static_cast<void* (*)(std::size_t)>(&T::operator new) ==
               static_cast<void* (*)(std::size_t)>(&Object::operator new) &&
           static_cast<void (*)(void*, std::size_t) noexcept>(&T::operator delete) ==
               static_cast<void (*)(void*, std::size_t) noexcept>(&Object::operator delete);
  }
}

// What Object::operator new does, without telling a general make about the
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
    p = ::new (block) T(std::forward<Args>(args)...);
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

}  // namespace detail

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

template <class T>
struct std::hash<ouro::Ref<T>> {
  std::size_t operator()(const ouro::Ref<T>& r) const noexcept {
    return std::hash<const ouro::Object*>{}(r.get() ? ouro::detail::as_object(r.get()) : nullptr);
  }
};
