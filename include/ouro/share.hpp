// ouro/share.hpp — sharing an immutable object graph with every thread
// (Pony's val, Rust's Arc): ouro::share and Shared<T>.
//
//   ouro::Shared<Config> config = ouro::share(build_config());
//   for (int i = 0; i < 4; ++i)
//     readers.emplace_back([config] {                  // copies on any thread
//       for (const ouro::Ref<Route>& r : config->routes) serve(r);
//     });
//
// share() runs send()'s isolation check (ouro/send.hpp), then the graph
// leaves the heap frozen: the collector never scans it again, and it is
// read-only by contract. A Shared<T> is copyable on any thread (one atomic
// count per graph, in a control block); get() and operator-> give const T*.
//
// READERS may copy Refs to objects of a frozen graph on any thread (to walk
// it, to keep a sub-object): those copies count nothing (the object's count
// says "frozen", as an immortal one's says "immortal"; refcount() reports
// immortal_refcount) and are valid while the thread holds a Shared of the
// graph. Drop them before the thread's last Shared of it. Weak references to
// objects of a frozen graph cannot be made; WeakRefs the graph itself holds
// (pointing into it) may be read, and locked, from any thread. A weak map
// member (ouro/weak_map.hpp) is not for concurrent readers: its reads keep
// bookkeeping (live iterators, sweeps due), so one thread at a time reads it.
//
// THE LAST Shared to go destroys the graph on the thread that drops it:
// finalizers, weak-reference callbacks and destructors run there, as for a
// parcel destroyed unreceived (ouro/send.hpp).
//
// CHECKED BUILDS abort, naming the rule, when a Ref to a frozen object
// outlives every Shared of its graph, and when a reference the frozen graph
// holds is dropped by a write to it (assigning to a Ref member of a frozen
// object reached through a const_cast or a copied Ref) while no reader copy
// of the graph is alive; a write that makes an object of the graph refer
// back to a reader's object keeps a copy alive and is caught when the last
// Shared goes.
#pragma once

#include <utility>

#include "ouro/detail/transfer_entry.hpp"
#include "ouro/ref.hpp"
#include "ouro/send.hpp"

namespace ouro {

template <class T>
class Shared {
 public:
  Shared() noexcept = default;
  Shared(const Shared& other) noexcept : graph_(other.graph_), p_(other.p_) {
    if (graph_) graph_->holders.fetch_add(1, std::memory_order_relaxed);
  }
  Shared(Shared&& other) noexcept
      : graph_(std::exchange(other.graph_, nullptr)), p_(std::exchange(other.p_, nullptr)) {}
  Shared& operator=(const Shared& other) noexcept {
    Shared(other).swap(*this);
    return *this;
  }
  Shared& operator=(Shared&& other) noexcept {
    Shared(std::move(other)).swap(*this);
    return *this;
  }
  ~Shared() { reset(); }

  // Drops this holder; the last one destroys the graph on this thread.
  void reset() noexcept {
    p_ = nullptr;
    if (detail::SharedGraph* g = std::exchange(graph_, nullptr))
      if (g->holders.fetch_sub(1, std::memory_order_acq_rel) == 1) detail::destroy_shared_graph(g);
  }
  void swap(Shared& other) noexcept {
    std::swap(graph_, other.graph_);
    std::swap(p_, other.p_);
  }

  const T* get() const noexcept { return p_; }
  const T* operator->() const noexcept { return p_; }
  const T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  template <class U>
  friend Shared<U> share(Ref<U>&& root);
  Shared(detail::SharedGraph* graph, T* root) noexcept : graph_(graph), p_(root) {}

  detail::SharedGraph* graph_ = nullptr;
  T* p_ = nullptr;
};

// Freezes the graph of `root` and shares it; `root` is empty afterwards.
// Throws as send() does; nothing changes then.
template <class T>
Shared<T> share(Ref<T>&& root) {
  if (!root) throw std::invalid_argument("ouro::share: the Ref is empty");
  detail::SharedGraph* graph = detail::share_graph(detail::as_object(root.get()));
  return Shared<T>(graph, subtle::release_ref(root));
}

}  // namespace ouro
