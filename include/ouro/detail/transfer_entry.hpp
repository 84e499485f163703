// ouro/detail/transfer_entry.hpp — what inline code (ouro/send.hpp,
// ouro/share.hpp, and the frozen branch of incref/decref in header.hpp)
// calls in src/transfer.cpp, which moves object graphs between threads.
#pragma once

#include <atomic>
#include <cstddef>

#include "ouro/detail/config.hpp"

namespace ouro {
class Object;
namespace detail {

// A graph that left its heap (src/transfer.cpp): its objects, their weak
// lists, whether it holds a cycle.
struct Graph;

// The part of a shared graph's control block that Shared<T> copies and
// drops inline: how many Shared<T> hold the graph.
struct SharedGraph {
  std::atomic<std::size_t> holders{1};
};

// The isolation check of ouro::send, then the graph's objects leave the
// calling thread's heap. Throws not_isolated (nothing changed),
// std::logic_error (during a collection or a query, or on a thread whose
// heap is gone), std::bad_alloc. `root` holds one reference, which the
// graph keeps.
Graph* send_graph(Object* root);
// The calling thread's heap adopts the graph (the root keeps the graph's
// reference) and `g` is freed. Throws std::bad_alloc with nothing changed.
void receive_graph(Graph* g);
// Destroys a graph that nobody received, on the calling thread.
void drop_graph(Graph* g) noexcept;

// The isolation check of ouro::share, then the graph leaves the heap frozen.
SharedGraph* share_graph(Object* root);
// The last Shared went: the graph is destroyed on the calling thread.
void destroy_shared_graph(SharedGraph* g) noexcept;

#if OURO_CHECKS
// Checked builds count the Refs to frozen objects made and dropped outside
// the graph, to catch one that outlives every Shared of it, and a drop of a
// reference the graph itself holds (a write to a frozen object).
void copy_of_frozen(Object* o) noexcept;
void drop_of_frozen(Object* o) noexcept;
#endif

}  // namespace detail
}  // namespace ouro
