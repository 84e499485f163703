// ouro/send.hpp — moving an isolated object graph to another thread, without
// copying it (Pony's iso): ouro::send, Parcel<T>, not_isolated.
//
//   ouro::Ref<Doc> doc = parse(text);                     // this thread's heap
//   ouro::Parcel<Doc> p = ouro::send(std::move(doc));     // doc is empty now
//   queue.push(std::move(p));                             // any synchronisation
//   ...                                                   // on the worker:
//   ouro::Ref<Doc> d = std::move(parcel).receive();       // the worker's heap
//
// THE GRAPH of a root is every object the root reaches through traverse(),
// tracked and untracked. send() moves it when it is isolated: nothing
// outside the graph refers to any of its objects except the one Ref handed
// over. The collector's trial deletion answers that exactly: each object's
// count must equal the references the graph's own objects hold to it (the
// root's, plus one). Weak references count too: an object of the graph may
// be weakly referenced only by WeakRefs (or weak maps) that the graph's own
// objects hold and report in traverse(), and the graph's weak references
// may point only into the graph (or be expired), since a weak reference
// lives on its target's thread. An expired WeakRef goes along and stays
// expired, even when its former target lives on here: a collection clears
// the weak references to its garbage before finalizers run, so an object a
// finalizer resurrects keeps none of them. Immortal objects are never
// isolated.
//
// Not part of the graph, and travelling with it unchecked: objects of a
// shared graph (ouro/share.hpp: the receiving thread must hold a Shared of
// that graph while it keeps them), and orphans (they already move with their
// Refs, one thread at a time). An object that holds a Ref or a WeakRef
// without reporting it in traverse() (any untracked object's members) carries
// that reference along unchecked; its target stays on the sending thread
// (checked builds abort when a Ref to it is used from the receiver).
//
// COST: linear in the graph (one traverse() per object; the check runs no
// other user code); no cost at all for code that never sends. Not during a
// collection of the calling thread (from a finalizer or a callback) or a
// query (std::logic_error), and not from a traverse() the collector runs.
#pragma once

#include <stdexcept>
#include <utility>

#include "ouro/detail/transfer_entry.hpp"
#include "ouro/ref.hpp"

namespace ouro {

// Thrown by send() and share() when something outside the graph refers to
// one of its objects. The message names the type of such an object and,
// where the heap can tell, who holds it.
struct not_isolated : std::logic_error {
  using std::logic_error::logic_error;
};

// An isolated graph in transit: owned by no thread's heap. Move-only; may be
// moved to any thread. receive() makes the calling thread's heap adopt every
// object (tracked ones into its youngest generation; they count towards its
// next automatic collection). A parcel destroyed unreceived destroys its
// graph on the destroying thread: finalizers and weak-reference callbacks
// run there, and a young collection reclaims its cycles at once (unless a
// collection or a query of that thread is running: then its next one does).
template <class T>
class Parcel {
 public:
  Parcel() noexcept = default;
  Parcel(Parcel&& other) noexcept
      : graph_(std::exchange(other.graph_, nullptr)), root_(std::exchange(other.root_, nullptr)) {}
  Parcel& operator=(Parcel&& other) noexcept {
    if (this != &other) {
      Parcel doomed(std::move(*this));
      graph_ = std::exchange(other.graph_, nullptr);
      root_ = std::exchange(other.root_, nullptr);
    }
    return *this;
  }
  ~Parcel() {
    if (graph_) detail::drop_graph(graph_);
  }

  // False once received or moved from.
  explicit operator bool() const noexcept { return graph_ != nullptr; }

  // The root, now of the calling thread's heap. Throws std::logic_error on
  // an empty parcel, std::bad_alloc (the parcel is then unchanged).
  Ref<T> receive() && {
    if (!graph_) throw std::logic_error("ouro::Parcel::receive: the parcel is empty (received or moved from)");
    detail::receive_graph(graph_);
    graph_ = nullptr;
    return Ref<T>(std::exchange(root_, nullptr), detail::adopt_t{});
  }

 private:
  template <class U>
  friend Parcel<U> send(Ref<U>&& root);
  Parcel(detail::Graph* graph, T* root) noexcept : graph_(graph), root_(root) {}

  detail::Graph* graph_ = nullptr;
  T* root_ = nullptr;
};

// Moves the graph of `root` out of the calling thread's heap into a parcel;
// `root` is empty afterwards. Throws not_isolated when the graph is not
// isolated, std::invalid_argument when `root` is empty, std::logic_error
// (see above); nothing changes then. What a traverse() throws comes out as
// it is, nothing changed: one of the graph's during the walk, or, when the
// graph is held from outside, one of any tracked object's while the heap
// is searched for the holder that not_isolated names.
template <class T>
Parcel<T> send(Ref<T>&& root) {
  if (!root) throw std::invalid_argument("ouro::send: the Ref is empty");
  detail::Graph* graph = detail::send_graph(detail::as_object(root.get()));
  return Parcel<T>(graph, subtle::release_ref(root));
}

}  // namespace ouro
