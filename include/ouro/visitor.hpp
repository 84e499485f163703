// ouro/visitor.hpp — what traverse() reports its references to.
//
//   struct Graph : ouro::Object {
//     std::vector<ouro::Ref<Graph>> edges;
//     std::map<std::string, ouro::Ref<Graph>> by_name;
//     ouro::Ref<Graph> parent;
//     void traverse(ouro::Visitor& v) override { v(edges, by_name, parent); }
//   };
//
// A Visitor accepts, recursively: Ref<T> and WeakRef<T>; ranges of anything
// it accepts (vector, array, deque, list, set, ...); std::pair, std::tuple
// and std::optional of such; associative containers whose keys and/or
// mapped values are such; several of those at once. Members that hold no reference
// (ints, strings) cannot be passed: a static_assert says so.
//
// The collector also uses traverse() to break a garbage cycle (CPython's
// tp_clear): the Visitor then resets each Ref and WeakRef and empties each
// container it is given, so a destructor of an object reclaimed from a cycle
// may find its Ref members already empty.
#pragma once

#include <cstddef>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>

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

template <class T>
inline constexpr bool holds_refs_v = holds_refs<std::remove_cvref_t<T>>::value;

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

  template <class T>
  void operator()(Ref<T>& r) {
    if (clearing_)
      r.reset();
    else if (r)
      report(detail::as_object(r.get()));
  }
  template <class T>
  void operator()(const Ref<T>& r) {  // keys of maps and sets: containers clear them
    if (!clearing_ && r) report(detail::as_object(r.get()));
  }
  template <class T>
  void operator()(WeakRef<T>& w) {
    visit_weak(w);
  }
  template <class T>
  void operator()(const WeakRef<T>&) {}

  template <class A, class B>
  void operator()(std::pair<A, B>& p) {
    visit_if_refs(p.first);
    visit_if_refs(p.second);
  }
  template <class A, class B>
  void operator()(const std::pair<A, B>& p) {
    visit_if_refs(p.first);
    visit_if_refs(p.second);
  }
  template <class... Ts>
  void operator()(std::tuple<Ts...>& t) {
    std::apply([&](auto&... xs) { (visit_if_refs(xs), ...); }, t);
  }
  template <class T>
  void operator()(std::optional<T>& o) {
    if (clearing_)
      o.reset();
    else if (o)
      (*this)(*o);
  }

  template <class R>
    requires(std::ranges::range<R> && !std::is_const_v<R> && !detail::visits_itself<R>)
  void operator()(R& range) {
    static_assert(detail::holds_refs_v<R>, "ouro::Visitor: this container holds no Ref or WeakRef to visit");
    if constexpr (detail::clearable_container<R>) {
      if (clearing_) {
        // Move the elements out first: destructors that run when they drop
        // must never see the container half-cleared.
        R doomed(std::move(range));
        range.clear();
        return;
      }
    }
    for (auto& element : range) (*this)(element);
  }

  template <class M>
    requires detail::visits_itself<M>
  void operator()(M& m) {
    m.visit_refs(*this);
  }

  // Several members at once: v(a, b, c).
  template <class A, class B, class... Rest>
  void operator()(A& a, B& b, Rest&... rest) {
    (*this)(a);
    (*this)(b);
    ((*this)(rest), ...);
  }

  // The same visit, with the member's name attached: every report of the
  // leak-forensics tools shows it (OURO_TRAVERSE calls this).
  template <class T>
  void named(const char* name, T& member) {
    const char* saved = field_;
    field_ = name;
    (*this)(member);
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

  // One reference to `target` (never nullptr); with a batch (batch_into),
  // the one that found it full.
  virtual void visit(Object* target) = 0;
  // A non-empty weak reference member, as its node (the collector needs
  // these to tell weak references owned by the garbage; most visitors don't).
  virtual void visit_weak_reference(detail::WeakNode* /*weak*/) {}

 private:
  void report(Object* target) {
    if (next_ != end_)
      *next_++ = target;
    else
      visit(target);
  }
  template <class T>
  void visit_if_refs(T& x) {
    if constexpr (detail::holds_refs_v<T>) (*this)(x);
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
};

}  // namespace ouro
