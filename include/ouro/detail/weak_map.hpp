// ouro/detail/weak_map.hpp — the machinery WeakValueMap and WeakKeyMap
// (ouro/weak_map.hpp) share: the state behind the map, its iterator, the
// members both have.
#pragma once

#include <cstddef>
#include <exception>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"
#include "ouro/weakref.hpp"

namespace ouro::detail {

// What WeakValueMap and WeakKeyMap share: an unordered_map whose entries
// hold a WeakRef with a callback that removes the entry when its referent
// dies. Traits say where an entry's WeakRef is and what iteration yields.
// The state lives behind a pointer so that the callbacks' pointer to it
// survives moves of the map; the WeakRefs live in the state, and every
// entry's WeakRef is reset before the entry is destroyed, so no callback can
// outlive it.
//
// User code runs when an entry is destroyed (keys and values holding Refs:
// destructors, and whatever they release, possibly the object that owns the
// map), and K's hash and equality run in lookups. The rules that make this
// safe:
//   - An entry is extracted, and its WeakRef reset, before it is destroyed;
//     entries are destroyed as the very last thing a member function does,
//     once the map is consistent, and nothing reads the state or the map
//     afterwards (they may be gone).
//   - While an iterator is alive (busy), the entries do not move: a death
//     only marks the map for a sweep, which runs when the last iterator
//     goes; inserting, erasing and clearing throw.
//   - The map letting go of its state (destroyed, moved over, cleared by the
//     collector) while iterators are alive orphans the state to them: its
//     callbacks are stopped (every entry looks dead, so advancing reaches
//     the end), its entries stay readable, and the last iterator frees it.
//   - Extracting by position computes no hash and compares no keys
//     (libstdc++ stores each entry's hash code when the hasher may throw,
//     libc++ always does), so sweeps never run K's hash or equality.
template <class Traits>
struct WeakMapState {
  using Entries = typename Traits::Entries;
  using Node = typename Entries::node_type;

  Entries entries;
  unsigned busy = 0;          // iterators alive over the state
  mutable bool sweep_due = false;  // dead entries may be in `entries`
  bool orphaned = false;      // no map owns the state: the last iterator frees it
  std::size_t sweep_at = 16;  // insertions sweep when the map reaches this size

  WeakMapState() = default;
  WeakMapState(const WeakMapState&) = delete;
  WeakMapState& operator=(const WeakMapState&) = delete;
  ~WeakMapState() { stop_callbacks(); }  // no callback fires into a state being destroyed

  static bool dead(const typename Entries::value_type& e) noexcept { return Traits::weak(e).expired(); }

  // What a map does with its state when it lets go of it (destroyed,
  // cleared, moved over): the entries are destroyed now, or, with iterators
  // alive, when the last of them goes. The caller must not touch the state
  // afterwards.
  static void discard(std::unique_ptr<WeakMapState> s) noexcept {
    if (!s || !s->busy) return;  // destroyed on return: the caller's last action
    s->stop_callbacks();
    s.release()->orphaned = true;
  }

  void stop_callbacks() noexcept {
    for (auto& e : entries) Traits::weak(e).reset();
  }

  // Takes the entry at `it` out of the map, its WeakRef reset (so that it
  // never calls back while its key and value are destroyed).
  Node remove(typename Entries::const_iterator it) noexcept {
    Node n = entries.extract(it);
    Traits::weak_of(n.mapped()).reset();
    return n;
  }

  // The callback of an entry whose referent died. A hash or equality that
  // throws here cannot find the entry: a sweep removes it by position, and
  // the exception goes on to the weak-reference machinery, which reports it
  // to the unraisable hook.
  template <class Key>
  void referent_died(const Key& key) {
    if (busy) {
      sweep_due = true;
      return;
    }
    Node doomed;
    try {
      auto it = entries.find(key);
      if (it != entries.end() && dead(*it)) doomed = remove(it);
    } catch (...) {
      std::exception_ptr failed = std::current_exception();
      sweep_due = true;  // the dead entry is skipped until a sweep removes it
      sweep();
      std::rethrow_exception(failed);
    }
  }  // `doomed` is destroyed here, last

  // Takes every dead entry out, then destroys them: the last thing it does.
  void sweep() noexcept {
    std::size_t n = 0;
    for (const auto& e : entries) n += dead(e) ? 1 : 0;
    sweep_at = 2 * (entries.size() - n) + 16;
    std::vector<Node> doomed;
    try {
      doomed.reserve(n);
    } catch (...) {
      return;  // out of memory: sweep_due stays set, the dead entries are skipped until a later sweep
    }
    sweep_due = false;
    for (auto it = entries.begin(); it != entries.end();) {
      auto next = std::next(it);
      if (dead(*it)) doomed.push_back(remove(it));
      it = next;
    }
  }

  void check_not_busy(const char* what) const {
    if (busy) throw std::logic_error(std::string(what) + ": the map was modified while an iterator over it is alive");
  }

  // Amortised O(1) per insertion: entries whose callback will never run
  // (cleared as owned by garbage, see visit_refs) cannot pile up either.
  // Destroys entries: the caller's last action.
  void sweep_if_grown() noexcept {
    if (entries.size() >= sweep_at) sweep();
  }

  std::size_t live_size() const noexcept {
    if (!busy && !sweep_due) return entries.size();
    std::size_t n = 0;
    for (const auto& e : entries) n += dead(e) ? 0 : 1;
    if (n == entries.size()) sweep_due = false;  // nothing dead: the next size() is O(1) again
    return n;
  }
};

// Iterates the live entries of a WeakMapState, holding a strong Ref to the
// current referent so that it stays alive while looked at. Moving on drops
// that Ref, which runs user code (the referent may die, and the map with
// it): the state stays alive meanwhile, since this iterator keeps it busy.
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
    WeakMapIterator old(*this);  // what this iterator held goes last, with it
    current_.reset();            // `old` holds the same referent: no user code runs
    leave(s_);                   // nor here: `old` keeps the state busy
    s_ = o.s_;
    enter(s_);
    it_ = o.it_;
    if (o.current_) current_.emplace(*o.current_);
    return *this;
  }
  // Leaves first: the current referent, when this held its last Ref, dies
  // with the map no longer busy because of this iterator. (Only its Ref is
  // touched then; the entry it came from may be gone.)
  ~WeakMapIterator() {
    leave(s_);
    current_.reset();
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
  // The last thing an iterator does with its state.
  static void leave(State* s) noexcept {
    if (!s || --s->busy != 0) return;
    if (s->orphaned)
      delete s;
    else if (s->sweep_due)
      s->sweep();
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

// The members both maps have: size, iteration, clear, the lazily made state.
template <class Traits>
class WeakMapBase {
 public:
  using iterator = WeakMapIterator<Traits>;

  WeakMapBase() = default;
  WeakMapBase(WeakMapBase&&) noexcept = default;
  WeakMapBase& operator=(WeakMapBase&& o) noexcept {
    if (this != &o) State::discard(std::exchange(s_, std::move(o.s_)));
    return *this;
  }
  ~WeakMapBase() { State::discard(std::move(s_)); }

  // Live entries only.
  std::size_t size() const noexcept { return s_ ? s_->live_size() : 0; }
  bool empty() const noexcept { return size() == 0; }

  iterator begin() const { return s_ ? iterator(s_.get(), s_->entries.begin()) : iterator(); }
  iterator end() const { return s_ ? iterator(nullptr, s_->entries.end()) : iterator(); }

  // Removes every entry; the map is empty before any of them is destroyed.
  // Throws std::logic_error while an iterator over the map is alive.
  void clear() {
    if (!s_) return;
    s_->check_not_busy(Traits::kClear);
    State::discard(std::move(s_));
  }

  // What v(map) in traverse() calls: reports the strong references the map
  // holds (WeakValueMap's keys, WeakKeyMap's values, when they hold Refs)
  // and its weak references (so that a collection knows they belong to the
  // garbage when the map does). Clearing a cycle empties the map.
  // A collection that finds the map's owner garbage clears the weak
  // references the map owns without calling back (they belong to the
  // garbage); if a finalizer then resurrects the owner, the map holds dead
  // entries it was never told about. So every visit marks the map for a
  // sweep: size() counts the live entries once, and the next sweep removes
  // the dead ones.
  void visit_refs(Visitor& v) {
    if (!s_) return;
    if (v.clearing()) {
      State::discard(std::move(s_));  // the map is empty before anything is destroyed
      return;
    }
    s_->sweep_due = true;
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
  static constexpr const char* kClear = "ouro::WeakValueMap::clear";
  using Entries = std::unordered_map<K, WeakRef<V>>;
  using referent = V;
  using value_type = std::pair<const K&, Ref<V>>;
  static WeakRef<V>& weak_of(WeakRef<V>& mapped) noexcept { return mapped; }
  static WeakRef<V>& weak(const typename Entries::value_type& e) noexcept {
    return const_cast<WeakRef<V>&>(e.second);
  }
  static value_type make(typename Entries::value_type& e, const Ref<V>& v) { return value_type(e.first, v); }
  static void visit(typename Entries::value_type& e, Visitor& v) {
    if constexpr (holds_refs_v<K>) v.element(e.first);  // a key: the map clears as a whole
    v(e.second);
  }
};

// The key's weak reference is the last member, so that it is destroyed
// first: no callback can fire while the value is destroyed.
template <class K, class V>
struct KeyMapEntry {
  V value;
  WeakRef<K> key;
};

template <class K, class V>
struct KeyMapTraits {
  static constexpr const char* kClear = "ouro::WeakKeyMap::clear";
  using Entries = std::unordered_map<const Object*, KeyMapEntry<K, V>>;
  using referent = K;
  using value_type = std::pair<Ref<K>, V&>;
  static WeakRef<K>& weak_of(KeyMapEntry<K, V>& mapped) noexcept { return mapped.key; }
  static WeakRef<K>& weak(const typename Entries::value_type& e) noexcept {
    return const_cast<WeakRef<K>&>(e.second.key);
  }
  static value_type make(typename Entries::value_type& e, const Ref<K>& k) { return value_type(k, e.second.value); }
  static void visit(typename Entries::value_type& e, Visitor& v) {
    v(e.second.key);
    if constexpr (holds_refs_v<V>) v(e.second.value);
  }
};

}  // namespace ouro::detail
