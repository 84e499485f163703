// common.hpp — what every comparison driver shares: the clock, peak RSS,
// the one output line, argument parsing, and the shapes of the workloads
// (sizes and loop structure), so that every implementation runs the same
// work. Each driver is one process per (workload, run): peak RSS is then the
// workload's own.
#pragma once

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace compare {

inline double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The process's own high-water mark (VmHWM). Not getrusage's ru_maxrss:
// Linux carries that over exec from the parent (the Python driver script).
// CPU time of the calling thread: a pause measured with it leaves out the
// time the thread spent preempted (a loaded machine's scheduler quanta).
inline double thread_cpu() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline long peak_rss_kb() {
  long kb = -1;
  if (std::FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::strncmp(line, "VmHWM:", 6) == 0) kb = std::atol(line + 6);
    std::fclose(f);
  }
  if (kb < 0) {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    kb = u.ru_maxrss;
  }
  return kb;
}

// workload=W impl=I n=N seconds=S ns_per_obj=X peak_rss_kb=R [extra]
inline void report(const char* workload, const char* impl, long long n, double seconds, const std::string& extra = "") {
  std::printf("workload=%s impl=%s n=%lld seconds=%.6f ns_per_obj=%.3f peak_rss_kb=%ld%s%s\n", workload, impl, n,
              seconds, seconds * 1e9 / static_cast<double>(n), peak_rss_kb(), extra.empty() ? "" : " ",
              extra.c_str());
  std::fflush(stdout);
}

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

inline double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// Arguments: <workload> <size> [<size2>]. Sizes per workload:
//   cycles_collect                K L      K rings of L nodes
//   live_traversal.children_first D        complete binary tree of 2^(D+1)-1 nodes
//   live_traversal.parent_first   D
//   binary_trees                  D        max depth (min depth 4)
//   refcount_ops                  N        copies
//   young_pause                   N        objects kept alive
//   pipeline                      N C      N graphs of kGraphSize objects with a cycle each,
//                                          from one producer to C consumers
//   shared_walk                   N R      R readers walk a tree of N nodes kWalks times each
//   gcbench                       S L      stretch tree depth S, long-lived depth L
//   big_heap                      N C      N live objects, then C small structures of churn
struct Args {
  std::string workload;
  long long a = 0;
  long long b = 0;
};

inline Args parse(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <workload> <size> [<size2>]\n", argv[0]);
    std::exit(2);
  }
  Args args;
  args.workload = argv[1];
  args.a = std::atoll(argv[2]);
  args.b = argc > 3 ? std::atoll(argv[3]) : 0;
  return args;
}

inline long long tree_nodes(int depth) { return (1LL << (depth + 1)) - 1; }

// The Benchmarks Game's binary-trees, generic over how a tree is made and
// checked: make(d) returns a tree, check(t) counts its nodes, drop(t) lets
// it go. Returns the number of nodes made.
template <class Make, class Check, class Drop>
long long binary_trees(int max_depth, Make make, Check check, Drop drop) {
  constexpr int min_depth = 4;
  long long made = 0;
  {
    auto stretch = make(max_depth + 1);
    made += check(stretch);
    drop(stretch);
  }
  auto long_lived = make(max_depth);
  for (int d = min_depth; d <= max_depth; d += 2) {
    long long iterations = 1LL << (max_depth - d + min_depth);
    long long sum = 0;
    for (long long i = 0; i < iterations; ++i) {
      auto t = make(d);
      sum += check(t);
      drop(t);
    }
    made += sum;
  }
  made += check(long_lived);
  drop(long_lived);
  return made;
}

// --- the threaded workloads ---------------------------------------------

// pipeline: each graph is kGraphSize objects, a chain from its head whose
// last object points back at the head.
inline constexpr int kGraphSize = 10;
// shared_walk: how many times each reader walks the whole tree.
inline constexpr int kWalks = 4;

// What the producer hands the consumers, in batches (one lock per batch);
// bounded, so that a producer faster than its consumers waits instead of
// piling up graphs.
template <class T>
class Channel {
 public:
  void push(std::vector<T>&& batch) {
    std::unique_lock<std::mutex> lock(m_);
    room_.wait(lock, [&] { return q_.size() < kMaxBatches; });
    q_.push_back(std::move(batch));
    cv_.notify_one();
  }
  void close() {
    std::lock_guard<std::mutex> lock(m_);
    closed_ = true;
    cv_.notify_all();
  }
  // False once closed and drained.
  bool pop(std::vector<T>& batch) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    batch = std::move(q_.front());
    q_.pop_front();
    room_.notify_one();
    return true;
  }

 private:
  static constexpr std::size_t kMaxBatches = 16;
  std::mutex m_;
  std::condition_variable cv_, room_;
  std::deque<std::vector<T>> q_;
  bool closed_ = false;
};

// One producer (make() -> T) and `consumers` threads (consume(T&&), then
// finish() once the channel is drained); returns the wall time.
template <class T, class Make, class Consume, class Finish>
double pipeline(long long graphs, int consumers, Make make, Consume consume, Finish finish) {
  constexpr int kBatch = 64;
  Channel<T> channel;
  double t0 = now();
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&] {
      std::vector<T> batch;
      while (channel.pop(batch))
        for (T& item : batch) consume(std::move(item));
      finish();
    });
  std::vector<T> batch;
  for (long long i = 0; i < graphs; ++i) {
    batch.push_back(make());
    if (batch.size() == kBatch) channel.push(std::exchange(batch, {}));
  }
  if (!batch.empty()) channel.push(std::move(batch));
  channel.close();
  for (std::thread& t : threads) t.join();
  return now() - t0;
}

// The nodes of a binary tree (its root's children given), walked depth
// first with a copy of a handle (Ptr) at every step, as readers that keep
// sub-objects do.
template <class Ptr>
long long walk_copying(const Ptr& left, const Ptr& right) {
  std::vector<Ptr> stack{left, right};
  long long n = 1;
  while (!stack.empty()) {
    Ptr node = std::move(stack.back());
    stack.pop_back();
    if (!node) continue;
    ++n;
    stack.push_back(node->left);
    stack.push_back(node->right);
  }
  return n;
}

// `readers` threads each run walk() kWalks times; returns the wall time.
inline double readers_walk(int readers, const std::function<void()>& walk) {
  double t0 = now();
  std::vector<std::thread> threads;
  for (int r = 0; r < readers; ++r)
    threads.emplace_back([&] {
      for (int i = 0; i < kWalks; ++i) walk();
    });
  for (std::thread& t : threads) t.join();
  return now() - t0;
}

// Boehm's GCBench (Ellis, Kovac, Boehm), its C++ shape: a stretch tree of
// depth `stretch`, a long-lived tree of depth `long_lived` made top-down,
// an array of 500,000 doubles that stays live, then for depths 4, 6, ...,
// 16 as many trees as make twice the stretch tree's nodes, top-down
// (a node, then populate(depth, node)) and bottom-up (make_tree(depth)).
// fresh_populated(d) returns a new node populated to depth d. Returns the
// number of nodes made.
inline long long gcbench_tree_size(int depth) { return (1LL << (depth + 1)) - 1; }

template <class FreshPopulated, class MakeTree, class Drop, class MakeArray>
long long gcbench(int stretch, int long_lived, FreshPopulated fresh_populated, MakeTree make_tree, Drop drop,
                  MakeArray make_array) {
  constexpr int kMinTreeDepth = 4;
  constexpr int kMaxTreeDepth = 16;
  constexpr long long kArraySize = 500000;
  long long made = 0;
  {
    auto t = make_tree(stretch);
    made += gcbench_tree_size(stretch);
    drop(t);
  }
  auto long_lived_tree = fresh_populated(long_lived);
  made += gcbench_tree_size(long_lived);
  double* array = make_array(kArraySize);
  for (long long i = 0; i < kArraySize / 2; ++i) array[i] = 1.0 / static_cast<double>(i + 1);
  for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) {
    const long long iterations = 2 * gcbench_tree_size(stretch) / gcbench_tree_size(d);
    for (long long i = 0; i < iterations; ++i) {
      auto t = fresh_populated(d);
      drop(t);
    }
    for (long long i = 0; i < iterations; ++i) {
      auto t = make_tree(d);
      drop(t);
    }
    made += 2 * iterations * gcbench_tree_size(d);
  }
  if (array[1000] != 1.0 / 1001.0) std::fprintf(stderr, "gcbench: the array was not kept\n");
  drop(long_lived_tree);
  return made;
}

}  // namespace compare
