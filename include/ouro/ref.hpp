// ouro/ref.hpp — strong references: Ref<T>, ouro::ref(), the casts, and
// (in ouro::subtle) the two tools that move a reference past the counting.
//
//   ouro::Ref<Node> a = ouro::make<Node>();    // refcount 1 (ouro/make.hpp)
//   ouro::Ref<Node> b = a;                     // refcount 2
//   b.reset();                                 // refcount 1
//   a = nullptr;                               // refcount 0: destroyed now
//
// A Ref is one pointer wide; copying it is a plain (non-atomic) increment,
// because an object and its references belong to one thread's heap.
#pragma once

#include <compare>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "ouro/detail/config.hpp"
#include "ouro/detail/flags.hpp"
#include "ouro/detail/header.hpp"
#include "ouro/detail/member_refs.hpp"
#include "ouro/object.hpp"

namespace ouro {

template <class T>
class Ref;

namespace subtle {
template <class T>
T* release_ref(Ref<T>& r) noexcept;
}  // namespace subtle

namespace detail {

template <class T>
OURO_ALWAYS_INLINE Object* as_object(T* p) noexcept {
  static_assert(std::is_base_of_v<Object, std::remove_cv_t<T>>, "ouro::Ref<T>: T must derive from ouro::Object");
  return const_cast<Object*>(static_cast<const Object*>(p));
}

// The tag of Ref's adopting constructor, for the library's own code (code
// outside it has subtle::adopt_ref). Its default constructor is explicit,
// so that `{}` cannot stand for it: Ref<T>(p, {}) does not compile.
struct adopt_t {
  explicit adopt_t() = default;
};

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

#if OURO_CHECKS
  // Checked builds: a Ref built inside the storage of an object that
  // make<T>() constructs is noted as that object's member
  // (ouro/detail/member_refs.hpp).
  constexpr Ref() noexcept {
    if (!std::is_constant_evaluated()) watch();
  }
  constexpr Ref(std::nullptr_t) noexcept {  // NOLINT(google-explicit-constructor)
    if (!std::is_constant_evaluated()) watch();
  }
#else
  constexpr Ref() noexcept = default;
  constexpr Ref(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor)
#endif
  Ref(const Ref& other) noexcept : p_(other.p_) {
    if (p_) detail::incref(detail::as_object(p_));
#if OURO_CHECKS
    watch();
#endif
  }
  Ref(Ref&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {
#if OURO_CHECKS
    watch();
#endif
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref(const Ref<U>& other) noexcept : p_(other.get()) {  // NOLINT(google-explicit-constructor)
    if (p_) detail::incref(detail::as_object(p_));
#if OURO_CHECKS
    watch();
#endif
  }
  template <class U>
    requires std::is_convertible_v<U*, T*>
  Ref(Ref<U>&& other) noexcept : p_(subtle::release_ref(other)) {  // NOLINT(google-explicit-constructor)
#if OURO_CHECKS
    watch();
#endif
  }
  ~Ref() {
#if OURO_CHECKS
    detail::unwatch_ref(this);  // first: while the drop runs, no check reads this Ref
#endif
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

  // Takes over a reference already counted: how the library hands out the
  // reference every new object starts with (make<T>()) and the ones it
  // counted itself. Only code that names ouro::detail can call it; outside
  // the library, subtle::adopt_ref says what this takes for granted.
  Ref(T* p, detail::adopt_t) noexcept : p_(p) {
#if OURO_CHECKS
    watch();
#endif
  }

 private:
#if OURO_CHECKS
  void watch() noexcept { detail::watch_ref(this, typeid(T)); }
#endif
  template <class U>
  friend U* subtle::release_ref(Ref<U>& r) noexcept;

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
  return Ref<T>(static_cast<T*>(subtle::release_ref(r)), detail::adopt_t{});
}

// Checked downcast: empty when the object is not a T.
template <class T, class U>
Ref<T> dynamic_ref_cast(const Ref<U>& r) noexcept {
  T* p = dynamic_cast<T*>(r.get());
  if (!p) return {};
  detail::incref(detail::as_object(p));
  return Ref<T>(p, detail::adopt_t{});
}

// A Ref (or WeakRef) member that traverse() deliberately does not visit:
// `ouro::Unreported<ouro::Ref<Node>> parent;` behaves as the Ref it
// wraps, and tells checked builds, which name every Ref member a
// traverse() misses (ouro/visitor.hpp), that this one is left out on
// purpose. The collector cannot see an unreported reference: like a Ref
// held outside the heap it keeps its target, and all the target reaches,
// alive, and a cycle through it is never collected. Use it where no cycle
// can pass through the member, or where your code breaks the cycle itself.
// Release builds: exactly the wrapped type.
template <class R>
class Unreported : public R {
 public:
  using wrapped_type = R;

  Unreported() noexcept { unwatch(); }
  template <class U>
    requires(std::is_constructible_v<R, U &&> && !std::is_same_v<std::remove_cvref_t<U>, Unreported>)
  Unreported(U&& value) : R(std::forward<U>(value)) {  // NOLINT(google-explicit-constructor)
    unwatch();
  }
  Unreported(const Unreported& other) : R(other) { unwatch(); }
  Unreported(Unreported&& other) noexcept : R(std::move(other)) { unwatch(); }
  Unreported& operator=(const Unreported&) = default;
  Unreported& operator=(Unreported&&) = default;
  using R::operator=;

 private:
  void unwatch() noexcept {
#if OURO_CHECKS
    detail::unwatch_ref(static_cast<R*>(this));
#endif
  }
};

// Sharp tools: they move a strong reference between a Ref and a raw pointer
// without counting it, for code that must carry a reference through a raw
// pointer (a C API's void* user data, an intrusive list). Nothing checks
// that they are used right; what breaks when they are not is said with each. Ordinary
// code never needs them: ouro::ref(p) makes a counted Ref from any pointer
// to a live managed object, and get() reads one without owning it.
namespace subtle {

// Empties `r` and returns its pointer, the reference still counted: the
// caller now owns that reference and must give it back with adopt_ref.
// Breaks: a pointer never adopted back leaks its object, which is then
// never destroyed, and never collected either (the collector sees the
// count as a reference from outside the heap, so everything the object
// reaches stays alive too).
template <class T>
T* release_ref(Ref<T>& r) noexcept {
  return std::exchange(r.p_, nullptr);
}

// A Ref that takes over one reference it does not count: `p` must carry
// one, from release_ref (or nullptr, which gives an empty Ref). Breaks:
// adopting a pointer twice, or one whose reference was never counted,
// leaves the count one too low, so the object is destroyed while a Ref
// still points at it: a use after free. Checked builds abort naming the
// type when that Ref is next used, unless the memory was reused meanwhile.
template <class T>
Ref<T> adopt_ref(T* p) noexcept {
  return Ref<T>(p, detail::adopt_t{});
}

}  // namespace subtle

}  // namespace ouro

template <class T>
struct std::hash<ouro::Ref<T>> {
  std::size_t operator()(const ouro::Ref<T>& r) const noexcept {
    return std::hash<const ouro::Object*>{}(r.get() ? ouro::detail::as_object(r.get()) : nullptr);
  }
};
