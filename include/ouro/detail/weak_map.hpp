// ouro/detail/weak_map.hpp — the machinery WeakValueMap and WeakKeyMap
// (ouro/weakref.hpp) share: the state behind the map, its iterator, the
// members both have.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"

namespace ouro {

template <class T>
class WeakRef;

namespace detail {

// What WeakValueMap and WeakKeyMap share: an unordered_map whose entries
// hold a WeakRef with a callback that removes the entry when its referent
// dies. Traits say where an entry's WeakRef is and what iteration yields.
// The state lives behind a pointer so that the callbacks' pointer to it
// survives moves of the map; the WeakRefs live in the state, so no callback
// can outlive it.
//
// While an iterator is alive (busy), a death only marks the map for a sweep
// (iterators must stay valid); the sweep runs when the last iterator goes.
// Entries are always extracted before they are destroyed, so destructors
// that run (keys or values holding Refs) never see the map mid-operation.
template <class Traits>
struct WeakMapState {
  typename Traits::Entries entries;
  unsigned busy = 0;
  bool sweep_due = false;
  std::size_t sweep_at = 16;  // insertions sweep when the map reaches this size

  WeakMapState() = default;
  WeakMapState(const WeakMapState&) = delete;
  WeakMapState& operator=(const WeakMapState&) = delete;
  ~WeakMapState() {
    // No callback may fire into a state being destroyed.
    for (auto& e : entries) Traits::weak(e).reset();
  }

  static bool dead(const typename Traits::Entries::value_type& e) noexcept { return Traits::weak(e).expired(); }

  template <class Key>
  void referent_died(const Key& key) noexcept {
    if (busy) {
      sweep_due = true;
      return;
    }
    auto it = entries.find(key);
    if (it == entries.end() || !dead(*it)) return;
    auto doomed = entries.extract(it);  // destroyed after the map is consistent
  }

  void sweep() noexcept {
    while (sweep_due) {
      sweep_due = false;
      ++busy;  // deaths caused by the destructors below only mark
      for (auto it = entries.begin(); it != entries.end();) {
        if (dead(*it)) {
          auto doomed = entries.extract(it++);
        } else {
          ++it;
        }
      }
      --busy;
    }
  }

  void check_not_busy(const char* what) const {
    if (busy) throw std::logic_error(std::string(what) + ": the map was modified while an iterator over it is alive");
  }

  // Amortised O(1) per insertion: entries whose callback will never run
  // (cleared as owned by garbage, see visit_refs) cannot pile up either.
  void sweep_if_grown() noexcept {
    if (entries.size() < sweep_at) return;
    sweep_due = true;
    sweep();
    sweep_at = 2 * entries.size() + 16;
  }

  std::size_t live_size() const noexcept {
    if (!busy && !sweep_due) return entries.size();
    std::size_t n = 0;
    for (const auto& e : entries) n += dead(e) ? 0 : 1;
    return n;
  }
};

// Iterates the live entries of a WeakMapState, holding a strong Ref to the
// current referent so that it stays alive while looked at.
template <class Traits>
class WeakMapIterator {
  using State = WeakMapState<Traits>;
  using Inner = typename Traits::Entries::iterator;

 public:
  using value_type = typename Traits::value_type;
  using difference_type = std::ptrdiff_t;
  using iterator_category = std::input_iterator_tag;

  WeakMapIterator() = default;
  WeakMapIterator(State* s, Inner it) : s_(s), it_(it) {
    enter(s_);
    settle();
  }
  WeakMapIterator(const WeakMapIterator& o) : s_(o.s_), it_(o.it_), current_(o.current_) { enter(s_); }
  WeakMapIterator& operator=(const WeakMapIterator& o) {
    if (this == &o) return *this;
    State* old = std::exchange(s_, o.s_);
    enter(s_);  // before leaving the old one: the same state must not be swept in between
    it_ = o.it_;
    current_.reset();
    if (o.current_) current_.emplace(*o.current_);
    leave(old);
    return *this;
  }
  ~WeakMapIterator() {
    current_.reset();
    leave(s_);
  }

  // A reference to a pair that holds the current referent alive (so
  // `for (auto& [k, v] : map)` works too).
  const value_type& operator*() const { return *current_; }
  const value_type* operator->() const { return &*current_; }
  WeakMapIterator& operator++() {
    ++it_;
    settle();
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const WeakMapIterator& a, const WeakMapIterator& b) { return a.it_ == b.it_; }

 private:
  static void enter(State* s) noexcept {
    if (s) ++s->busy;
  }
  static void leave(State* s) noexcept {
    if (s && --s->busy == 0 && s->sweep_due) s->sweep();
  }
  // Skips dead entries. Dropping the previous referent may kill it: its
  // entry is then only marked (the map is busy), never erased under us.
  void settle() {
    current_.reset();
    if (!s_) return;
    for (; it_ != s_->entries.end(); ++it_) {
      if (auto strong = Traits::weak(*it_).lock()) {
        current_.emplace(Traits::make(*it_, strong));
        return;
      }
    }
  }

  State* s_ = nullptr;
  Inner it_{};
  std::optional<value_type> current_;
};

// The members both maps have: size, iteration, the lazily made state.
template <class Traits>
class WeakMapBase {
 public:
  using iterator = WeakMapIterator<Traits>;

  WeakMapBase() = default;
  WeakMapBase(WeakMapBase&&) noexcept = default;
  WeakMapBase& operator=(WeakMapBase&&) noexcept = default;

  // Live entries only.
  std::size_t size() const noexcept { return s_ ? s_->live_size() : 0; }
  bool empty() const noexcept { return size() == 0; }

  iterator begin() const { return s_ ? iterator(s_.get(), s_->entries.begin()) : iterator(); }
  iterator end() const { return s_ ? iterator(nullptr, s_->entries.end()) : iterator(); }

  // What v(map) in traverse() calls: reports the strong references the map
  // holds (WeakValueMap's keys, WeakKeyMap's values, when they hold Refs)
  // and its weak references (so that a collection knows they belong to the
  // garbage when the map does). Clearing a cycle empties the map.
  void visit_refs(Visitor& v) {
    if (!s_) return;
    if (v.clearing()) {
      std::unique_ptr<State> doomed = std::move(s_);  // the map is empty before anything is destroyed
      return;
    }
    for (auto& e : s_->entries) Traits::visit(e, v);
  }

 protected:
  using State = WeakMapState<Traits>;
  State& state() {
    if (!s_) s_ = std::make_unique<State>();
    return *s_;
  }
  std::unique_ptr<State> s_;
};

template <class K, class V>
struct ValueMapTraits {
  using Entries = std::unordered_map<K, WeakRef<V>>;
  using referent = V;
  using value_type = std::pair<const K&, Ref<V>>;
  static WeakRef<V>& weak(const typename Entries::value_type& e) { return const_cast<WeakRef<V>&>(e.second); }
  static value_type make(typename Entries::value_type& e, const Ref<V>& v) { return value_type(e.first, v); }
  static void visit(typename Entries::value_type& e, Visitor& v) {
    if constexpr (holds_refs_v<K>) v(e.first);
    v(e.second);
  }
};

template <class K, class V>
struct KeyMapEntry {
  WeakRef<K> key;
  V value;
};

template <class K, class V>
struct KeyMapTraits {
  using Entries = std::unordered_map<const Object*, KeyMapEntry<K, V>>;
  using referent = K;
  using value_type = std::pair<Ref<K>, V&>;
  static WeakRef<K>& weak(const typename Entries::value_type& e) { return const_cast<WeakRef<K>&>(e.second.key); }
  static value_type make(typename Entries::value_type& e, const Ref<K>& k) { return value_type(k, e.second.value); }
  static void visit(typename Entries::value_type& e, Visitor& v) {
    v(e.second.key);
    if constexpr (holds_refs_v<V>) v(e.second.value);
  }
};

}  // namespace detail

}  // namespace ouro
