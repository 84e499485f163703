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
//   if (cache.contains("logo")) ...        // a live entry
//   for (auto [name, image] : cache) ...   // live entries; image is a Ref<V>
//   cache.clear();
//
// K needs std::hash. Not copyable (each entry's weak reference has a
// callback that belongs to this map); movable. Inserting, erasing or
// clearing while an iterator is alive throws std::logic_error (a dict
// changed size during iteration); values dying meanwhile are fine. As a
// member of a managed object, report it in traverse() with v(map): keys that
// hold Refs are then seen by the collector.
//
// USER CODE WHILE A WEAK MAP OPERATES (WeakValueMap and WeakKeyMap)
// A map runs user code: the destructors of keys and values (and whatever
// their Refs release: destructors, finalizers, weak-reference callbacks),
// K's std::hash and operator== (WeakValueMap only: WeakKeyMap compares
// addresses), and, when a referent dies, the callbacks of its other weak
// references. What that code may do, and what happens:
//   - Keys and values are destroyed once the map is consistent, as the last
//     thing the member function, the iterator or the map's destructor does;
//     nothing reads the map afterwards. So their destructors may use the
//     map (within the iteration rule below) or destroy it, as when an entry
//     held the last Ref to the object that owns the map. An entry's weak
//     reference is reset before its key and value are destroyed: an entry
//     being destroyed never calls back into the map.
//   - While an iterator is alive, entries never move: a referent that dies
//     only marks its entry (skipped, and removed when the last iterator
//     goes), and insert_or_assign, erase and clear throw std::logic_error.
//     That includes destructors run by the iteration itself (moving on
//     drops the previous referent); thrown from a destructor, the exception
//     terminates the program.
//   - Destroying the map while iterators over it are alive (directly, by
//     moving another map over it, or by the collector clearing its owner)
//     is allowed: each iterator's current entry stays readable, advancing
//     reaches the end() taken before, and the entries, with the Refs they
//     hold, are destroyed when the last of those iterators goes.
//   - K's hash or equality throwing in insert_or_assign, get, contains or
//     erase propagates to the caller, the map unchanged. Throwing when a
//     value dies (its entry is looked up by key then): the entry is removed
//     all the same, found by position (which needs no hash: libstdc++ and
//     libc++ keep each entry's hash code when the hasher may throw), and
//     the exception goes to the unraisable hook like any weak-reference
//     callback's (with a nullptr object). Sweeps never call hash or
//     equality.
//   - A callback of another weak reference to a dying referent that runs
//     before the map's own (newer weak references run first) finds the
//     referent's entry still there, dead: get(), find() and contains() do
//     not see it and iteration skips it; size() may still count it.
//   - Key and value destructors must not throw (destructors are noexcept).
template <class K, class V>
class WeakValueMap : public detail::WeakMapBase<detail::ValueMapTraits<K, V>> {
  using Base = detail::WeakMapBase<detail::ValueMapTraits<K, V>>;
  using typename Base::State;
  using Base::s_;

 public:
  // Throws std::invalid_argument when `value` is empty; what K's hash or
  // equality throws, the map unchanged.
  void insert_or_assign(K key, const Ref<V>& value) {
    if (!value) throw std::invalid_argument("ouro::WeakValueMap::insert_or_assign: the value is an empty Ref");
    State& s = this->state();
    s.check_not_busy("ouro::WeakValueMap::insert_or_assign");
    auto [it, inserted] = s.entries.try_emplace(std::move(key));
    State* sp = &s;
    const K* stored = &it->first;
    try {
      it->second = WeakRef<V>(value, [sp, stored](WeakRef<V>&) { sp->referent_died(*stored); });
    } catch (...) {
      typename State::Node doomed;
      if (inserted) doomed = s.remove(it);
      throw;  // `doomed` is destroyed on the way out
    }
    s.sweep_if_grown();
  }
  // Empty if absent or dead.
  Ref<V> get(const K& key) const {
    if (!s_) return {};
    auto it = s_->entries.find(key);
    return it == s_->entries.end() ? Ref<V>() : it->second.lock();
  }
  // True when a live entry has this key.
  bool contains(const K& key) const {
    if (!s_) return false;
    auto it = s_->entries.find(key);
    return it != s_->entries.end() && !State::dead(*it);
  }
  // True when a live entry was removed.
  bool erase(const K& key) {
    if (!s_) return false;
    s_->check_not_busy("ouro::WeakValueMap::erase");
    auto it = s_->entries.find(key);
    if (it == s_->entries.end()) return false;
    bool live = !State::dead(*it);
    typename State::Node doomed = s_->remove(it);
    return live;
  }
};

// A map whose keys are held weakly (Python's weakref.WeakKeyDictionary): an
// entry disappears when its key dies. Keys are compared by identity (the
// object's address), so it attaches data to objects without changing them.
//
//   ouro::WeakKeyMap<Node, std::string> notes;
//   notes.insert_or_assign(node, "seen twice");
//   if (std::string* n = notes.find(*node)) ...
//   if (notes.contains(*node)) ...
//   for (auto [key, value] : notes) ...   // key is a Ref<K>, value a V&
//
// A value that holds a Ref to its own key keeps the entry alive forever (as
// in Python). Not copyable, movable; the same rules for iteration and for
// user code as WeakValueMap (above).
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
    const Object* id = detail::as_object(key.get());
    auto it = s.entries.find(id);
    if (it != s.entries.end() && !State::dead(*it)) {
      [[maybe_unused]] V old = std::exchange(it->second.value, std::move(value));
      return;  // `old` is destroyed here, last
    }
    State* sp = &s;
    WeakRef<K> weak(key, [sp, id](WeakRef<K>&) { sp->referent_died(id); });
    typename State::Node doomed;  // a dead entry at a reused address, not swept yet
    if (it != s.entries.end()) doomed = s.remove(it);
    s.entries.emplace(id, detail::KeyMapEntry<K, V>{std::move(value), std::move(weak)});
    s.sweep_if_grown();
  }
  // nullptr if absent (or the key is dead).
  V* find(const K& key) {
    if (!s_) return nullptr;
    auto it = s_->entries.find(detail::as_object(&key));
    return it == s_->entries.end() || State::dead(*it) ? nullptr : &it->second.value;
  }
  // True when `key` (this very object) has a live entry.
  bool contains(const K& key) const {
    if (!s_) return false;
    auto it = s_->entries.find(detail::as_object(&key));
    return it != s_->entries.end() && !State::dead(*it);
  }
  // True when a live entry was removed.
  bool erase(const K& key) {
    if (!s_) return false;
    s_->check_not_busy("ouro::WeakKeyMap::erase");
    auto it = s_->entries.find(detail::as_object(&key));
    if (it == s_->entries.end()) return false;
    bool live = !State::dead(*it);
    typename State::Node doomed = s_->remove(it);
    return live;
  }
};

}  // namespace ouro
