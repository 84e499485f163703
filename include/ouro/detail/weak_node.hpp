// ouro/detail/weak_node.hpp — what WeakRef<T> (ouro/weakref.hpp) needs
// inline: the node a WeakRef owns, linked into its target's weak list, and
// the library functions that link and unlink it (src/weak_references.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <utility>

#include "ouro/detail/header.hpp"
#include "ouro/object.hpp"

namespace ouro {

template <class T>
class WeakRef;

namespace detail {

// One weak reference, as the target's weak list sees it. A WeakRef owns one
// node; the node links into a circular list whose sentinel lives in the
// heap's side table (see src/weak_references.cpp). target == nullptr: cleared.
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
  WeakNode* prev = nullptr;  // links in the target's list (or in a list of
  WeakNode* next = nullptr;  // callbacks waiting to run); nullptr: in none
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

}  // namespace ouro
