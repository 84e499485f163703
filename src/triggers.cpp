// triggers.cpp — when a collection runs, and what runs around it: the
// thresholds of automatic collection (CPython's gc_collect_generations) and
// the gc callbacks around every collection that collect() or the thresholds
// start. Above the collector; made heaps (thread_heap.cpp) and the façade
// (gc_module.cpp) call it.
#include "triggers.hpp"

#include <chrono>
#include <exception>

#include "collector.hpp"
#include "unraisable.hpp"

namespace ouro::detail {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

namespace {

void invoke_callbacks(Heap& h, gc::Phase phase, const gc::CollectionInfo& info) {
  // By index, on a copy: a callback may add or remove callbacks. Copying
  // may run out of memory: that is reported like an exception of the
  // callback, since at Phase::stop the collection has already happened and
  // collect() must not throw after doing its work.
  for (std::size_t i = 0; i < h.callbacks.size(); ++i) {
    try {
      gc::Callback cb = h.callbacks[i].second;
      if (cb) cb(phase, info);
    } catch (...) {
      report_unraisable(std::current_exception(), nullptr, "gc callback");
    }
  }
}

}  // namespace

std::size_t collect_with_callbacks(Heap& h, int g) {
  invoke_callbacks(h, gc::Phase::start, gc::CollectionInfo{g, 0, 0, 0.0});
  auto t0 = std::chrono::steady_clock::now();
  CollectionResult r;
  try {
    r = collect_generations(h, g);
  } catch (...) {
    // Every start gets its stop, as in CPython: a callback that measures or
    // locks something at start must be able to undo it. Nothing is reported
    // as collected, since the collection did not finish.
    invoke_callbacks(h, gc::Phase::stop, gc::CollectionInfo{g, 0, 0, seconds_since(t0)});
    throw;
  }
  invoke_callbacks(h, gc::Phase::stop, gc::CollectionInfo{g, r.collected, r.uncollectable, seconds_since(t0)});
  return r.collected + r.uncollectable;
}

void collect_automatically(Heap& h) {
  struct Collecting {
    Heap& h;
    explicit Collecting(Heap& heap) : h(heap) { h.collecting = true; }
    ~Collecting() { h.collecting = false; }
    Collecting(const Collecting&) = delete;
    Collecting& operator=(const Collecting&) = delete;
  } scope(h);
  for (int g = kGenerations - 1; g >= 0; --g) {
    auto i = static_cast<std::size_t>(g);
    if (h.count[i] <= h.threshold[i]) continue;
    if (g == kGenerations - 1 && h.long_lived_pending < h.long_lived_total / 4) continue;
    collect_with_callbacks(h, g);
    return;
  }
}
}  // namespace ouro::detail
