// ouro/weakref.hpp — weak references (Python's weakref module): WeakRef<T>,
// weakref_count(), WeakValueMap and WeakKeyMap.
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
#include "ouro/detail/weak_map.hpp"
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
  // Throws std::invalid_argument when `target` is empty.
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


// A map whose values are held weakly (Python's weakref.WeakValueDictionary):
// an entry disappears when its value dies. Typical use: a cache of objects
// that lives only as long as someone else uses them.
//
//   ouro::WeakValueMap<std::string, Image> cache;
//   cache.insert_or_assign("logo", img);
//   if (ouro::Ref<Image> hit = cache.get("logo")) draw(*hit);
//   for (auto [name, image] : cache) ...   // live entries; image is a Ref<V>
//
// K needs std::hash. Not copyable (each entry's weak reference has a
// callback that belongs to this map); movable. Inserting or erasing while an
// iterator is alive throws std::logic_error (a dict changed size during
// iteration); values dying meanwhile are fine. As a member of a managed
// object, report it in traverse() with v(map): keys that hold Refs are then
// seen by the collector.
template <class K, class V>
class WeakValueMap : public detail::WeakMapBase<detail::ValueMapTraits<K, V>> {
  using Base = detail::WeakMapBase<detail::ValueMapTraits<K, V>>;
  using typename Base::State;
  using Base::s_;

 public:
  // Throws std::invalid_argument when `value` is empty.
  void insert_or_assign(K key, const Ref<V>& value) {
    if (!value) throw std::invalid_argument("ouro::WeakValueMap::insert_or_assign: the value is an empty Ref");
    State& s = this->state();
    s.check_not_busy("ouro::WeakValueMap::insert_or_assign");
    s.sweep_if_grown();
    auto [it, inserted] = s.entries.try_emplace(std::move(key));
    State* sp = &s;
    const K* stored = &it->first;
    try {
      it->second = WeakRef<V>(value, [sp, stored](WeakRef<V>&) { sp->referent_died(*stored); });
    } catch (...) {
      if (inserted) s.entries.erase(it);
      throw;
    }
  }
  // Empty if absent or dead.
  Ref<V> get(const K& key) const {
    if (!s_) return {};
    auto it = s_->entries.find(key);
    return it == s_->entries.end() ? Ref<V>() : it->second.lock();
  }
  // True when a live entry was removed.
  bool erase(const K& key) {
    if (!s_) return false;
    s_->check_not_busy("ouro::WeakValueMap::erase");
    auto doomed = s_->entries.extract(key);
    return !doomed.empty() && !doomed.mapped().expired();
  }
};

// A map whose keys are held weakly (Python's weakref.WeakKeyDictionary): an
// entry disappears when its key dies. Keys are compared by identity (the
// object's address), so it attaches data to objects without changing them.
//
//   ouro::WeakKeyMap<Node, std::string> notes;
//   notes.insert_or_assign(node, "seen twice");
//   if (std::string* n = notes.find(*node)) ...
//   for (auto [key, value] : notes) ...   // key is a Ref<K>, value a V&
//
// A value that holds a Ref to its own key keeps the entry alive forever (as
// in Python). Not copyable, movable; same iteration rules as WeakValueMap.
template <class K, class V>
class WeakKeyMap : public detail::WeakMapBase<detail::KeyMapTraits<K, V>> {
  using Base = detail::WeakMapBase<detail::KeyMapTraits<K, V>>;
  using typename Base::State;
  using Base::s_;

 public:
  // Throws std::invalid_argument when `key` is empty.
  void insert_or_assign(const Ref<K>& key, V value) {
    if (!key) throw std::invalid_argument("ouro::WeakKeyMap::insert_or_assign: the key is an empty Ref");
    State& s = this->state();
    s.check_not_busy("ouro::WeakKeyMap::insert_or_assign");
    s.sweep_if_grown();
    const Object* id = detail::as_object(key.get());
    auto it = s.entries.find(id);
    if (it != s.entries.end() && !it->second.key.expired()) {
      [[maybe_unused]] V old = std::exchange(it->second.value, std::move(value));  // dies after the map is consistent
      return;
    }
    State* sp = &s;
    WeakRef<K> weak(key, [sp, id](WeakRef<K>&) { sp->referent_died(id); });
    if (it != s.entries.end()) {  // a dead entry at a reused address, not swept yet
      auto doomed = s.entries.extract(it);
    }
    s.entries.emplace(id, detail::KeyMapEntry<K, V>{std::move(weak), std::move(value)});
  }
  // nullptr if absent (or the key is dead).
  V* find(const K& key) {
    if (!s_) return nullptr;
    auto it = s_->entries.find(detail::as_object(&key));
    return it == s_->entries.end() || it->second.key.expired() ? nullptr : &it->second.value;
  }
  // True when a live entry was removed.
  bool erase(const K& key) {
    if (!s_) return false;
    s_->check_not_busy("ouro::WeakKeyMap::erase");
    auto doomed = s_->entries.extract(detail::as_object(&key));
    return !doomed.empty() && !doomed.mapped().key.expired();
  }
};

}  // namespace ouro
