// ouro/visitor.hpp — what traverse() reports its references to.
//
//   struct Graph : ouro::Object {
//     std::vector<ouro::Ref<Graph>> edges;
//     std::map<std::string, ouro::Ref<Graph>> by_name;
//     ouro::Ref<Graph> parent;
//     void traverse(ouro::Visitor& v) override { v(edges, by_name, parent); }
//   };
//
// A Visitor accepts, recursively: Ref<T> and WeakRef<T> (and
// Unreported<...> of them, ouro/ref.hpp); ranges of anything it accepts
// (vector, array, deque, list, set, ...); std::pair, std::tuple and
// std::optional of such; associative containers whose keys and/or mapped
// values are such; several of those at once.
//
// WHAT DOES NOT COMPILE. Each mistake stops at one static_assert whose
// sentence names it (the compiler's "In instantiation of" line above it
// names the member's type):
//   a raw pointer        "visit a Ref, not a raw pointer: a raw pointer is
//                        invisible to the collector"
//   std::unique_ptr or   "a managed object is held by ouro::Ref, not by
//   std::shared_ptr      std::shared_ptr or std::unique_ptr"
//   a const Ref member   "a const Ref member cannot be cleared, so a cycle
//                        through it can never be reclaimed" (keys of a map
//                        or set are fine: clearing empties the container)
//   ints, strings, ...   "this member holds no Ref or WeakRef to visit"
//
// WHAT CHECKED BUILDS VERIFY (OURO_CHECKS; release builds pay nothing).
// Every Ref that an object holds in its own storage (a member, or inside a
// member held by value: a struct, std::array, std::pair, std::optional) and
// that was constructed by the object's constructor is known to the
// library. A collection compares, for each object it counts, those Refs
// with the ones traverse() visits, and so does gc::verify_traverse() for the
// whole heap; a non-empty Ref that traverse() did not visit aborts with
//   ouro: fatal: traverse() of Pair does not visit its Ref<Pair> member at
//   offset 32, after member `car`: the collector never sees that Ref, so a
//   cycle through it can never be collected; ...
// (the neighbour's name when the type uses OURO_TRAVERSE). A type that
// holds such Refs but does not override traverse() at all aborts when its
// first object is made ("Leaf holds a Ref<Node> member (at offset 24) but
// does not override traverse(): ..."). What is not compared: a Ref that is
// empty when compared (a traverse() may skip empty members); Refs in
// storage the object points to (a std::vector's elements, a map's nodes:
// forgetting the whole container is not caught); Refs constructed in the
// object's storage after its constructor returned (std::optional::emplace);
// WeakRef members; objects of a type with an operator new of its own. The
// exception on purpose: a member declared ouro::Unreported<Ref<T>> (a back
// pointer whose target is kept alive elsewhere, a deliberately untracked
// holder) is never judged; the collector does not see it either.
//
// The collector also uses traverse() to break a garbage cycle (CPython's
// tp_clear): the Visitor then resets each Ref and WeakRef and empties each
// container it is given, so a destructor of an object reclaimed from a cycle
// may find its Ref members already empty.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ouro/detail/member_refs.hpp"
#include "ouro/ref.hpp"

namespace ouro {

template <class T>
class WeakRef;
class Visitor;

namespace detail {

struct WeakNode;  // ouro/detail/weak_node.hpp

// A type that reports its own references: v(x) calls x.visit_refs(v)
// (WeakValueMap and WeakKeyMap do).
template <class T>
concept visits_itself = requires(T& t, Visitor& v) { t.visit_refs(v); };

template <class T>
struct holds_refs : std::false_type {};
template <class T>
struct holds_refs<Ref<T>> : std::true_type {};
template <class T>
struct holds_refs<WeakRef<T>> : std::true_type {};
template <class A, class B>
struct holds_refs<std::pair<A, B>>
    : std::bool_constant<holds_refs<std::remove_cv_t<A>>::value || holds_refs<std::remove_cv_t<B>>::value> {};
template <class... Ts>
struct holds_refs<std::tuple<Ts...>> : std::bool_constant<(holds_refs<std::remove_cv_t<Ts>>::value || ...)> {};
template <class T>
struct holds_refs<std::optional<T>> : holds_refs<std::remove_cv_t<T>> {};
template <class R>
  requires(std::ranges::range<R> && !visits_itself<R>)
struct holds_refs<R> : holds_refs<std::remove_cv_t<std::ranges::range_value_t<R>>> {};
template <class T>
  requires visits_itself<T>
struct holds_refs<T> : std::true_type {};

template <class R>
struct holds_refs<Unreported<R>> : holds_refs<R> {};

template <class T>
inline constexpr bool holds_refs_v = holds_refs<std::remove_cvref_t<T>>::value;

template <class T>
struct is_ref : std::false_type {};
template <class T>
struct is_ref<Ref<T>> : std::true_type {};
template <class T>
struct is_weak_ref : std::false_type {};
template <class T>
struct is_weak_ref<WeakRef<T>> : std::true_type {};
template <class T>
struct is_unreported : std::false_type {};
template <class R>
struct is_unreported<Unreported<R>> : std::true_type {};
template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
struct is_tuple : std::false_type {};
template <class... Ts>
struct is_tuple<std::tuple<Ts...>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// std::unique_ptr, std::shared_ptr and their like (Ref and WeakRef are
// told apart before this is asked).
template <class P>
concept smart_pointer = requires(const P& p) {
  typename P::element_type;
  p.get();
};

template <class C>
concept clearable_container = requires(C& c) {
  c.clear();
  C(std::move(c));
};

}  // namespace detail

class Visitor {
 public:
  Visitor(const Visitor&) = delete;
  Visitor& operator=(const Visitor&) = delete;

  // One member, or several at once: v(a), v(a, b, c). What may be passed,
  // and the static_assert that names each mistake: the top of this file.
  template <class... Members>
    requires(sizeof...(Members) > 0)
  void operator()(Members&... members) {
    (walk<false>(members), ...);
  }

  // For a visit_refs() of your own: one element of a container that, when
  // clearing(), your visit_refs() empties as a whole. A const Ref in it (a
  // key) is then fine, and is reported.
  template <class E>
  void element(E& e) {
    walk<true>(e);
  }

  // The same visit, with the member's name attached: every report of the
  // leak-forensics tools shows it (OURO_TRAVERSE calls this).
  template <class T>
  void named(const char* name, T& member) {
    const char* saved = field_;
    field_ = name;
#if OURO_CHECKS
    if (OURO_UNLIKELY(audit_ != nullptr)) detail::audit_named(*audit_, name, std::addressof(member), sizeof(T));
#endif
    walk<false>(member);
    field_ = saved;
  }

  // The name of the member being visited, "" when traverse() gave none.
  const char* field() const noexcept { return field_; }
  // True when the collector is breaking a cycle (Refs are being reset).
  bool clearing() const noexcept { return clearing_; }

 protected:
  explicit Visitor(bool clearing = false) noexcept : clearing_(clearing) {}
  ~Visitor() = default;

  // For visitors that look at many objects in a row (the collector's
  // count): the references traverse() reports are stored in [begin, end) by
  // the inline code above, with no virtual call per reference; visit() is
  // called only for a reference that finds the room full, and then takes
  // care of the stored ones too. batch_end() is where the next one goes.
  void batch_into(Object** begin, Object** end) noexcept {
    next_ = begin;
    end_ = end;
  }
  Object** batch_end() const noexcept { return next_; }

#if OURO_CHECKS
  // Checked builds: every Ref member visited (empty or not) is also noted
  // in `audit`, with the names OURO_TRAVERSE gives (nullptr: none).
  void audit_into(detail::MemberAudit* audit) noexcept { audit_ = audit; }
#endif

  // One reference to `target` (never nullptr); with a batch (batch_into),
  // the one that found it full.
  virtual void visit(Object* target) = 0;
  // A non-empty weak reference member, as its node (the collector needs
  // these to tell weak references owned by the garbage; most visitors don't).
  virtual void visit_weak_reference(detail::WeakNode* /*weak*/) {}

 private:
  // The one dispatch behind operator(): `kInClearable` when x sits inside a
  // container that clearing empties as a whole.
  template <bool kInClearable, class X>
  void walk(X& x) {
    using U = std::remove_cv_t<X>;
    constexpr bool kConst = std::is_const_v<X>;
    if constexpr (std::is_pointer_v<U>) {
      static_assert(detail::always_false<X>,
                    "ouro::Visitor: visit a Ref, not a raw pointer: a raw pointer is invisible to the collector "
                    "(hold the member as an ouro::Ref, or leave it out of traverse())");
    } else if constexpr (detail::is_unreported<U>::value) {
      using Wrapped = std::conditional_t<kConst, const typename U::wrapped_type, typename U::wrapped_type>;
      walk<kInClearable>(static_cast<Wrapped&>(x));
    } else if constexpr (detail::is_ref<U>::value) {
      if constexpr (kConst) {
        static_assert(kInClearable,
                      "ouro::Visitor: a const Ref member cannot be cleared, so a cycle through it can never be "
                      "reclaimed: make the member a non-const Ref");
        if (!clearing_ && x) report(detail::as_object(x.get()));
      } else {
#if OURO_CHECKS
        if (OURO_UNLIKELY(audit_ != nullptr)) detail::audit_visited(*audit_, std::addressof(x));
#endif
        if (clearing_)
          x.reset();
        else if (x)
          report(detail::as_object(x.get()));
      }
    } else if constexpr (detail::is_weak_ref<U>::value) {
      if constexpr (!kConst) visit_weak(x);
    } else if constexpr (detail::smart_pointer<U>) {
      if constexpr (std::is_base_of_v<Object, std::remove_cv_t<typename U::element_type>>)
        static_assert(detail::always_false<X>,
                      "ouro::Visitor: a managed object is held by ouro::Ref, not by std::shared_ptr or "
                      "std::unique_ptr: the collector can neither see nor clear such a pointer, so a cycle through "
                      "it is never collected");
      else
        static_assert(detail::always_false<X>,
                      "ouro::Visitor: the collector cannot look through a smart pointer: visit what it points to, "
                      "v(*p)");
    } else if constexpr (!detail::holds_refs_v<U>) {
      static_assert(detail::always_false<X>,
                    "ouro::Visitor: this member holds no Ref or WeakRef to visit (pass traverse() only the members "
                    "that hold references)");
    } else if constexpr (detail::visits_itself<X>) {
      x.visit_refs(*this);
    } else if constexpr (kConst && !kInClearable) {
      static_assert(detail::always_false<X>,
                    "ouro::Visitor: a const member that holds Refs cannot be cleared, so a cycle through it can "
                    "never be reclaimed: make the member non-const");
    } else if constexpr (detail::is_pair<U>::value) {
      walk_if_refs<kInClearable>(x.first);
      walk_if_refs<kInClearable>(x.second);
    } else if constexpr (detail::is_tuple<U>::value) {
      std::apply([&](auto&... xs) { (walk_if_refs<kInClearable>(xs), ...); }, x);
    } else if constexpr (detail::is_optional<U>::value) {
      if constexpr (!kConst) {
        if (clearing_) {
          x.reset();
          return;
        }
      }
      if (x) walk<kInClearable>(*x);
    } else {
      static_assert(std::ranges::range<X>);
      constexpr bool kClearable = !kConst && detail::clearable_container<U>;
      if constexpr (kClearable) {
        if (clearing_) {
          // Move the elements out first: destructors that run when they drop
          // must never see the container half-cleared.
          U doomed(std::move(x));
          x.clear();
          return;
        }
      }
      for (auto& e : x) walk<kInClearable || kClearable>(e);
    }
  }
  template <bool kInClearable, class X>
  void walk_if_refs(X& x) {
    if constexpr (detail::holds_refs_v<X>) walk<kInClearable>(x);
  }

  void report(Object* target) {
    if (next_ != end_)
      *next_++ = target;
    else
      visit(target);
  }
  // Clearing a cycle drops its weak references too (their callbacks never
  // run: the collector cleared them before the finalizers).
  template <class W>
  void visit_weak(W& w) {
    if (clearing_)
      w.reset();
    else if (w.node_)
      visit_weak_reference(w.node_);
  }

  bool clearing_;
  const char* field_ = "";
  Object** next_ = nullptr;  // the batch; empty unless batch_into() was
  Object** end_ = nullptr;   // called, so every reference goes to visit()
#if OURO_CHECKS
  detail::MemberAudit* audit_ = nullptr;
#endif
};

}  // namespace ouro
