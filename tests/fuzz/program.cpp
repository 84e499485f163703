// fuzz/program.cpp — decoding and running one program, then tearing it
// down under the model's eye (see program.hpp).
#include "program.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "checks.hpp"
#include "ops.hpp"
#include "world.hpp"

namespace ouro_fuzz {

namespace gc = ouro::gc;
using ouro::Ref;

namespace {

std::atomic<std::uint64_t> g_programs{0};
std::atomic<std::uint64_t> g_operations{0};

constexpr std::size_t kTraceLength = 40;

void drop_roots(World& w) {
  for (Ref<Base>& r : w.slots) r.reset();
  std::vector<Ref<Base>> store = std::move(w.store);
  w.store.clear();
  store.clear();
  std::vector<Ref<ouro::Object>> garbage = std::move(gc::garbage());
  gc::garbage().clear();
  garbage.clear();
}

// Empties every field of every live object (the only way out of a cycle
// through untracked objects, which the collector cannot see).
void empty_all_fields(World& w) {
  std::vector<std::pair<Base*, std::uint32_t>> objects;
  for (const auto& entry : w.live) objects.emplace_back(const_cast<Base*>(entry.first), entry.second);
  for (auto [object, id] : objects) {
    for (std::size_t i = 0; i < w.objects[id].shadow.size() && w.objects[id].alive; ++i)
      w.set_field(*object, static_cast<int>(i), nullptr);  // alive: the address is still the object's
    if (!w.objects[id].alive) continue;
    // The immortal object's maps would keep their strong halves for ever.
    w.objects[id].owned.clear();
    auto kmap = std::move(object->kmap);
    auto vmap = std::move(object->vmap);
  }
}

// An object of a collection's working set whose last Ref a traverse()
// dropped while the collector counted stays alive with a zero count
// (docs/design/decisions.md); the next collection frees it. After an
// operation in which a traverse() ran user code, such objects must be
// tracked, and a full collection must leave none of them alive with a
// zero count (unless a callback froze the heap first; then, and after a
// few rounds, the harness releases them by a Ref of its own). Returns a
// note for the trace.
std::string settle_zombies(World& w) {
  if (!w.traverse_acted) return "";
  std::string note;
  auto zero_count = [&] {
    std::vector<std::uint32_t> out;
    for (const auto& entry : w.live) {
      const Info& info = w.objects[entry.second];
      if (info.immortal || ouro::refcount(*entry.first) != 0) continue;
      if (!is_tracked_kind(info.kind)) w.fail("an untracked object is alive with a zero count");
      out.push_back(entry.second);
    }
    return out;
  };
  auto address = [&](std::uint32_t id) -> Base* {
    for (const auto& entry : w.live)
      if (entry.second == id) return const_cast<Base*>(entry.first);
    return nullptr;
  };
  for (int round = 0; round < 4 && w.failure.empty(); ++round) {
    std::vector<std::uint32_t> zombies = zero_count();
    if (zombies.empty()) return note;
    note += " [collect(2): " + std::to_string(zombies.size()) + " left at a zero count]";
    w.freeze_during_op = false;
    gc::collect(2);
    for (std::uint32_t id : zombies) {
      Base* p = w.objects[id].alive ? address(id) : nullptr;
      if (p && ouro::refcount(*p) == 0 && !w.freeze_during_op &&
          ouro::detail::table_of(*p) != ouro::detail::Table::permanent)
        w.fail("object " + std::to_string(id) + ", left at a zero count by a traverse(), survived the next full collection");
    }
  }
  for (std::uint32_t id : zero_count())
    if (Base* p = address(id)) Ref<Base>(ouro::ref(p)).reset();
  return note;
}

// Weak references die on the heap's thread (only the immortal object may
// still be alive).
void drop_weak(World& w) {
  for (WeakSlot& ws : w.weak) {
    w.kill_weak_record(ws.rec);
    ws.rec = -1;
    ws.ref.reset();
  }
  { auto doomed = std::move(w.value_map); }
  { auto doomed = std::move(w.key_map); }
  { auto doomed = std::move(w.hash_map); }
  w.value_model.clear();
  w.key_model.clear();
  w.hash_model.clear();
}

void tear_down(World& w) {
  for (std::size_t id : w.callback_ids) gc::remove_callback(id);  // not the harness's own
  w.callback_ids.clear();
  gc::set_debug(0);
  gc::unfreeze();
  gc::set_finalizer_policy(gc::FinalizerPolicy::pep442);
  for (const auto& entry : w.live) const_cast<Base*>(entry.first)->traverse_shots = 0;
  w.traverse_acted = false;
  for (int round = 0; round < 12 && w.failure.empty(); ++round) {
    drop_roots(w);
    w.saveall_since_clear = false;
    check_world(w);
    w.finalized_during_op.clear();
    w.freeze_during_op = false;
    collect_and_check(w);
    drop_roots(w);
    empty_all_fields(w);
    drop_roots(w);
    check_world(w);
    bool only_immortal = true;
    for (const auto& entry : w.live) only_immortal = only_immortal && w.objects[entry.second].immortal;
    if (only_immortal) return;
  }
  if (w.failure.empty()) w.fail("objects still alive after tearing the program down");
}

std::string run_on_this_thread(World& w, const std::uint8_t* data, std::size_t size) {
  w.install_hook(0);
  install_collection_check(w);
  std::span<const Op> table = ops();
  Reader in(data, size);
  std::deque<std::string> trace;
  const bool trace_to_stderr = std::getenv("OURO_FUZZ_TRACE") != nullptr;
  auto report = [&](const std::string& when) {
    std::string text = w.failure + " (" + when + ")\n  last operations:";
    for (const std::string& t : trace) text += "\n    " + t;
    return text;
  };
  while (!in.done() && w.op_index < kMaxOps) {
    const Op& op = table[in.next() % table.size()];
    w.freeze_during_op = false;
    w.finalized_during_op.clear();
    w.finalizer_dropped = false;
    w.traverse_acted = false;
    std::string what = op.run(w, in);
    what += settle_zombies(w);
    if (trace_to_stderr) {
      gc::GenerationStats full = gc::get_stats()[2];
      std::fprintf(stderr, "#%llu %s  [live %zu, full collections %zu]\n", static_cast<unsigned long long>(w.op_index),
                   what.c_str(), w.live.size(), full.collections);
    }
    trace.push_back("#" + std::to_string(w.op_index) + " " + what);
    if (trace.size() > kTraceLength) trace.pop_front();
    ++w.op_index;
    g_operations.fetch_add(1, std::memory_order_relaxed);
    check_world(w);
    if (!w.failure.empty()) return report("after operation #" + std::to_string(w.op_index - 1));
  }
  tear_down(w);
  if (!w.failure.empty()) return report("while tearing down");
  drop_weak(w);
  ouro::set_unraisable_hook(nullptr);
  return "";
}

}  // namespace

Result run_program(const std::uint8_t* data, std::size_t size) {
  // The World outlives the thread: its heap is torn down at thread exit,
  // after the body, and an immortal object keeps a (never used) reference.
  // After a failure the World is leaked: objects that may still be alive
  // point at it.
  auto* w = new World;
  Result result;
  std::thread worker([&] {
    try {
      result.failure = run_on_this_thread(*w, data, size);
    } catch (const std::exception& e) {
      result.failure = std::string("exception escaped the program: ") + e.what();
    }
  });
  worker.join();
  result.operations = w->op_index;
  g_programs.fetch_add(1, std::memory_order_relaxed);
  if (result.failure.empty()) delete w;
  return result;
}

std::uint64_t programs_run() { return g_programs.load(); }
std::uint64_t operations_run() { return g_operations.load(); }

}  // namespace ouro_fuzz
