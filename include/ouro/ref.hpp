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

// Where Object's constructor learns that it is being built by make<T>()
// (see src/make_context.hpp). Plain data, so make<T> can keep the caller's
// frame on its own stack while a nested make<> runs.
struct MakeFrame {
  bool armed = false;
  std::uint16_t flags = 0;
  std::uint16_t heap_id = 0;
  std::ptrdiff_t object_offset = -1;  // of T's Object subobject; -1: unknown
  const char* begin = nullptr;        // the block Object::operator new returned
  const char* end = nullptr;
  const Object* expected = nullptr;   // begin + object_offset, once known
  Object* taker = nullptr;            // the Object constructor that took the flags
};

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

// The steps of make<T>() that live in the library: counting the allocation
// (which may start an automatic collection, before the new object exists),
// telling Object's constructor it is managed, and tracking the result. Each
// returns the thread to the caller's frame.
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

}  // namespace detail

// Allocates and constructs a T, refcount 1. Tracked by the collector when T
// overrides traverse(). If the constructor throws, nothing leaks and the
// exception propagates.
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
  const std::ptrdiff_t offset = detail::object_offset_in<T>();
  const detail::MakeFrame caller = detail::begin_make(tracked, finalizer, offset);
  T* p;
  try {
    p = new T(std::forward<Args>(args)...);
  } catch (...) {
    detail::abandon_make(tracked, caller);
    throw;
  }
  detail::finish_make(detail::as_object(p), tracked, caller);
  return Ref<T>(p, detail::adopt_t{});
}

}  // namespace ouro

template <class T>
struct std::hash<ouro::Ref<T>> {
  std::size_t operator()(const ouro::Ref<T>& r) const noexcept {
    return std::hash<const ouro::Object*>{}(r.get() ? ouro::detail::as_object(r.get()) : nullptr);
  }
};
