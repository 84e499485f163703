// ouro/weak_map.hpp — maps that hold their values or their keys weakly
// (Python's weakref.WeakValueDictionary and weakref.WeakKeyDictionary): an
// entry disappears when the object it holds weakly dies.
//
//   ouro::WeakValueMap<std::string, Image> cache;   // values held weakly
//   cache.insert_or_assign("logo", img);
//   if (ouro::Ref<Image> hit = cache.get("logo")) draw(*hit);
//
//   ouro::WeakKeyMap<Node, std::string> notes;      // keys held weakly
//   notes.insert_or_assign(node, "seen twice");
//   if (std::string* n = notes.find(*node)) ...
//
// WHAT BOTH MAPS HAVE
//   size()          the number of live entries (a callback that runs
//                   while a referent dies may still find its entry
//                   counted: see USER CODE below).
//   empty()         size() == 0.
//   begin(), end()  iteration over the live entries, in no particular
//                   order: an input iterator whose element holds a strong
//                   Ref to the entry's referent, so that it stays alive
//                   while looked at (moving on drops that Ref). Elements
//                   are pairs: (const K&, Ref<V>) for WeakValueMap,
//                   (Ref<K>, V&) for WeakKeyMap; `for (auto& [k, v] : map)`
//                   and `for (auto [k, v] : map)` both work.
//   clear()         removes every entry; the map is empty before any entry
//                   is destroyed.
//   visit_refs(v)   what v(map) in traverse() calls (see below).
// Inserting, erasing or clearing while an iterator over the map is alive
// throws std::logic_error (a dict changed size during iteration);
// referents dying meanwhile are fine. Neither map is copyable (each
// entry's weak reference has a callback that belongs to its map); both are
// movable, and a moved-from map is empty. As a member of a managed object,
// report the map in traverse() with v(map): the collector then sees the
// strong references it holds (WeakValueMap's keys, WeakKeyMap's values,
// when they hold Refs) and knows its weak references belong to the garbage
// when the map does; clearing a garbage cycle empties the map.
//
// USER CODE WHILE A WEAK MAP OPERATES
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
#pragma once

#include <stdexcept>
#include <utility>

#include "ouro/detail/weak_map.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/weakref.hpp"

namespace ouro {

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
// K needs std::hash and operator==; V is a managed type.
template <class K, class V>
class WeakValueMap : public detail::WeakMapBase<detail::ValueMapTraits<K, V>> {
  using Base = detail::WeakMapBase<detail::ValueMapTraits<K, V>>;
  using typename Base::State;
  using Base::s_;

 public:
  // Also size(), empty(), begin(), end(), clear() and visit_refs(): see
  // WHAT BOTH MAPS HAVE at the top of this header.

  // Adds an entry, or points the existing entry of `key` at `value`.
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
// K is a managed type; values are moved in. A value that holds a Ref to its
// own key keeps the entry alive forever (as in Python).
template <class K, class V>
class WeakKeyMap : public detail::WeakMapBase<detail::KeyMapTraits<K, V>> {
  using Base = detail::WeakMapBase<detail::KeyMapTraits<K, V>>;
  using typename Base::State;
  using Base::s_;

 public:
  // Also size(), empty(), begin(), end(), clear() and visit_refs(): see
  // WHAT BOTH MAPS HAVE at the top of this header.

  // Adds an entry for `key` (this very object), or replaces the value of
  // its live entry. Throws std::invalid_argument when `key` is empty.
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
