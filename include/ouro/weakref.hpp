// ouro/weakref.hpp — weak references (Python's weakref.ref): WeakRef<T> and
// weakref_count(). The maps that hold their keys or values weakly are in
// ouro/weak_map.hpp.
//
//   auto a = ouro::make<Node>();
//   ouro::WeakRef<Node> w(a, [](ouro::WeakRef<Node>& self) { /* self.expired() */ });
//   w.lock();          // a Ref<Node> to a (keeps it alive while held)
//   a.reset();         // a dies: w is cleared, then its callback runs once
//   w.expired();       // true; w.lock() is empty
//
// A weak reference does not keep its target alive. It is cleared the moment
// the target dies: by refcount (after finalize(), before the destructor, and
// then the callbacks run, newest weak reference first), or in a collection
// (every weak reference to the garbage is cleared before any finalizer runs;
// callbacks of weak references owned by the garbage itself, as traverse()
// reports them with v(weak), are not called; the others run before the
// finalizers: CPython 3.11's handle_weakrefs).
//
// Cost: a WeakRef is two pointers (the target and a small node the target's
// weak list links); an object that never had a weak reference pays nothing
// (the lists live in a side table of the heap, consulted only when the
// object's kHasWeakrefs bit is set).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "ouro/detail/header.hpp"
#include "ouro/detail/weak_node.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"

namespace ouro {

// A weak reference to a managed T (Python's weakref.ref).
//
//   ouro::WeakRef<Node> w(node);                 // no callback
//   if (ouro::Ref<Node> n = w.lock()) use(*n);   // alive: a strong Ref for a while
//
// Copying makes another weak reference to the same target *without* the
// callback (as CPython: the callback belongs to one weakref object); a copy
// of an expired WeakRef is empty. Moving carries the callback along. A
// WeakRef destroyed (or reassigned) before its callback ran never calls
// back. The callback receives the WeakRef, already expired; an exception it
// throws goes to the unraisable hook (with a nullptr object).
//
// Usable as a member of a managed object: report it in traverse() with
// v(weak) (also inside containers, pairs, optionals, maps), so that a
// collection knows which weak references belong to the garbage (their
// callbacks are not called, as in CPython) and clears them with it.
// Captures of the callback are invisible to the collector: a callback that
// holds a Ref keeps that object alive like a global would.
template <class T>
class WeakRef {
 public:
  using element_type = T;

  WeakRef() noexcept = default;
  // Throws std::invalid_argument when `target` is empty, and when it is an
  // object of a shared, frozen graph (ouro/share.hpp), which lives as long
  // as a Shared of it does.
  WeakRef(const Ref<T>& target) { attach(target, new detail::WeakNode); }  // NOLINT(google-explicit-constructor)
  WeakRef(const Ref<T>& target, std::function<void(WeakRef<T>&)> callback) {
    if (callback)
      attach(target, new detail::CallbackNode<T>(std::move(callback)));
    else
      attach(target, new detail::WeakNode);
  }
  // From a Ref<U> whose pointer converts to T*.
  template <class U>
    requires(std::is_convertible_v<U*, T*> && !std::is_same_v<U, T>)
  WeakRef(const Ref<U>& target) : WeakRef(Ref<T>(target)) {}  // NOLINT(google-explicit-constructor)
  template <class U>
    requires(std::is_convertible_v<U*, T*> && !std::is_same_v<U, T>)
  WeakRef(const Ref<U>& target, std::function<void(WeakRef<T>&)> callback)
      : WeakRef(Ref<T>(target), std::move(callback)) {}
  WeakRef(const WeakRef& other) {
    if (detail::live_target(other.node_)) attach_to_same(other);
  }
  WeakRef(WeakRef&& other) noexcept
      : ptr_(std::exchange(other.ptr_, nullptr)), node_(std::exchange(other.node_, nullptr)) {
    if (node_) node_->owner = this;
  }
  WeakRef& operator=(const WeakRef& other) {
    if (this != &other) WeakRef(other).swap(*this);
    return *this;
  }
  WeakRef& operator=(WeakRef&& other) noexcept {
    if (this != &other) WeakRef(std::move(other)).swap(*this);
    return *this;
  }
  ~WeakRef() { reset(); }

  // A strong reference to the target, empty once the target is gone (or is
  // being destroyed).
  Ref<T> lock() const {
    Object* o = detail::live_target(node_);
    if (!o) return {};
    detail::incref(o);  // checked builds: aborts on a thread that does not own o
    return Ref<T>(ptr_, detail::adopt_t{});
  }
  bool expired() const noexcept { return detail::live_target(node_) == nullptr; }

  // Becomes empty; a pending callback never runs.
  void reset() noexcept {
    ptr_ = nullptr;
    if (detail::WeakNode* n = std::exchange(node_, nullptr)) detail::weak_release(n);
  }
  void swap(WeakRef& other) noexcept {
    std::swap(ptr_, other.ptr_);
    std::swap(node_, other.node_);
    if (node_) node_->owner = this;
    if (other.node_) other.node_->owner = &other;
  }

 private:
  friend class Visitor;

  void attach(const Ref<T>& target, detail::WeakNode* n) {
    std::unique_ptr<detail::WeakNode> node(n);
    if (!target) throw std::invalid_argument("ouro::WeakRef: cannot make a weak reference to an empty Ref");
    detail::weak_attach(node.get(), detail::as_object(target.get()));
    ptr_ = target.get();
    node_ = node.release();
    node_->owner = this;
  }
  void attach_to_same(const WeakRef& other) {
    std::unique_ptr<detail::WeakNode> node(new detail::WeakNode);
    detail::weak_attach(node.get(), other.node_->target);
    ptr_ = other.ptr_;
    node_ = node.release();
    node_->owner = this;
  }

  T* ptr_ = nullptr;
  detail::WeakNode* node_ = nullptr;
};

static_assert(sizeof(WeakRef<Object>) <= 2 * sizeof(void*), "a WeakRef costs at most two pointers");

// The number of weak references to `o` now (Python's weakref.getweakrefcount).
std::size_t weakref_count(const Object& o);

}  // namespace ouro
