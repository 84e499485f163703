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
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "ouro/detail/header.hpp"
#include "ouro/object.hpp"
#include "ouro/ref.hpp"
#include "ouro/visitor.hpp"

namespace ouro {

template <class T>
class WeakRef;

namespace detail {

// One weak reference, as the target's weak list sees it. A WeakRef owns one
// node; the node links into a circular list whose sentinel lives in the
// heap's side table (see src/weakref.cpp). target == nullptr: cleared.
struct WeakNode {
  WeakNode() = default;
  WeakNode(const WeakNode&) = delete;
  WeakNode& operator=(const WeakNode&) = delete;
  virtual ~WeakNode() = default;

  // Moves the callback out (it runs at most once) and calls it with the
  // owning WeakRef. May throw; the caller reports it.
  virtual void run_callback() {}
  virtual bool has_callback() const noexcept { return false; }

  Object* target = nullptr;
  WeakNode* prev = nullptr;  // in the target's list, or in a list of callbacks
  WeakNode* next = nullptr;  // waiting to run; nullptr when in no list
  void* owner = nullptr;     // the WeakRef<T> holding this node
};

template <class T>
struct CallbackNode final : WeakNode {
  explicit CallbackNode(std::function<void(WeakRef<T>&)> cb) : callback(std::move(cb)) {}
  void run_callback() override {
    // Out of the node first: the callback may destroy its own WeakRef (and
    // with it this node); nothing below touches `this` after the call.
    std::function<void(WeakRef<T>&)> f = std::exchange(callback, nullptr);
    void* self = owner;
    if (f && self) f(*static_cast<WeakRef<T>*>(self));
  }
  bool has_callback() const noexcept override { return static_cast<bool>(callback); }
  std::function<void(WeakRef<T>&)> callback;
};

// Links `n` into the weak list of `target` (newest first). Throws
// std::invalid_argument for an object make() did not create; aborts for an
// object of another live thread's heap. On a throw, `n` is left unlinked.
void weak_attach(WeakNode* n, Object* target);
// Unlinks `n` from whatever list holds it and deletes it.
void weak_release(WeakNode* n) noexcept;

// The target while it is alive (refcount above zero, not being destroyed).
inline Object* live_target(const WeakNode* n) noexcept {
  if (!n || !n->target) return nullptr;
  Object* o = n->target;
  constexpr std::uint16_t dying = kDeferred | kDestroying;
  if ((Access::flags(*o) & dying) != 0 || Access::refcnt(*o) == 0) return nullptr;
  return o;
}

}  // namespace detail

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
    enter();
    settle();
  }
  WeakMapIterator(const WeakMapIterator& o) : s_(o.s_), it_(o.it_), current_(o.current_) { enter(); }
  WeakMapIterator& operator=(const WeakMapIterator& o) {
    WeakMapIterator copy(o);
    std::swap(s_, copy.s_);
    std::swap(it_, copy.it_);
    std::swap(current_, copy.current_);
    return *this;
  }
  ~WeakMapIterator() { leave(); }

  value_type operator*() const { return Traits::make(*it_, current_); }
  WeakMapIterator& operator++() {
    ++it_;
    settle();
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const WeakMapIterator& a, const WeakMapIterator& b) { return a.it_ == b.it_; }

 private:
  void enter() noexcept {
    if (s_) ++s_->busy;
  }
  void leave() noexcept {
    if (s_ && --s_->busy == 0 && s_->sweep_due) s_->sweep();
  }
  // Skips dead entries.
  void settle() {
    current_.reset();
    if (!s_) return;
    for (; it_ != s_->entries.end(); ++it_) {
      current_ = Traits::weak(*it_).lock();
      if (current_) return;
    }
  }

  State* s_ = nullptr;
  Inner it_{};
  Ref<typename Traits::referent> current_;
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
