"""workloads.py -- the comparison workloads in CPython, with __slots__ classes.

Same shapes and sizes as common.hpp; same output line:
  python3 workloads.py <workload> <size> [<size2>]
binary_trees_nogc runs binary_trees with gc.disable().
"""
import gc
import resource
import sys
import time


class Node:
    __slots__ = ("next",)

    def __init__(self):
        self.next = None


class TreeNode:
    __slots__ = ("left", "right")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right


class Pair:
    __slots__ = ("a", "b")

    def __init__(self, a=None, b=None):
        self.a = a
        self.b = b


def peak_rss_kb():
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the parent.
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def report(workload, impl, n, seconds, extra=""):
    rss = peak_rss_kb()
    line = (f"workload={workload} impl={impl} n={n} seconds={seconds:.6f} "
            f"ns_per_obj={seconds * 1e9 / n:.3f} peak_rss_kb={rss}")
    print(line + (" " + extra if extra else ""), flush=True)


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else 0.0


def percentile(v, q):
    if not v:
        return 0.0
    v = sorted(v)
    return v[min(int(q * (len(v) - 1) + 0.5), len(v) - 1)]


def cycles_collect(rings, length):
    gc.disable()
    for _ in range(rings):
        head = Node()
        tail = head
        for _ in range(length - 1):
            tail.next = Node()
            tail = tail.next
        tail.next = head
    head = tail = None
    t0 = time.perf_counter()
    found = gc.collect()
    t = time.perf_counter() - t0
    if found != rings * length:
        print(f"python: collect found {found}", file=sys.stderr)
    report("cycles_collect", "cpython", rings * length, t)


def tree_children_first(depth):
    if depth == 0:
        return TreeNode()
    left = tree_children_first(depth - 1)
    right = tree_children_first(depth - 1)
    return TreeNode(left, right)


def tree_parent_first(depth):
    n = TreeNode()
    if depth > 0:
        n.left = tree_parent_first(depth - 1)
        n.right = tree_parent_first(depth - 1)
    return n


def live_traversal(workload, depth):
    gc.disable()
    make = tree_parent_first if workload.endswith("parent_first") else tree_children_first
    root = make(depth)
    gc.collect()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - t0)
    report(workload, "cpython", (1 << (depth + 1)) - 1, median(times))
    del root


def bottom_up(depth):
    if depth > 0:
        return TreeNode(bottom_up(depth - 1), bottom_up(depth - 1))
    return TreeNode()


def check(t):
    if t.left is None:
        return 1
    return 1 + check(t.left) + check(t.right)


def binary_trees(max_depth, with_gc):
    if not with_gc:
        gc.disable()
    min_depth = 4
    before = [s["collections"] for s in gc.get_stats()]  # startup collects too
    t0 = time.perf_counter()
    made = check(bottom_up(max_depth + 1))
    long_lived = bottom_up(max_depth)
    for d in range(min_depth, max_depth + 1, 2):
        iterations = 1 << (max_depth - d + min_depth)
        for _ in range(iterations):
            made += check(bottom_up(d))
    made += check(long_lived)
    del long_lived
    t = time.perf_counter() - t0
    stats = gc.get_stats()
    colls = "/".join(str(s["collections"] - b) for s, b in zip(stats, before))
    report("binary_trees", "cpython" if with_gc else "cpython_nogc", made, t, f"collections={colls}")


def refcount_ops(n):
    # Ten copies per loop turn, so the loop's own cost is spread thin: each
    # `c = r` takes a reference to r and drops the one c held.
    r = Node()
    c = None
    loops = n // 10
    t0 = time.perf_counter()
    for _ in range(loops):
        c = r; c = r; c = r; c = r; c = r
        c = r; c = r; c = r; c = r; c = r
    t = time.perf_counter() - t0
    report("refcount_ops", "cpython", loops * 10, t)


def young_pause(n):
    # Wall time start->stop callback, and the thread's CPU time over it.
    wall = ([], [], [])
    cpu = ([], [], [])
    started = [0.0, 0.0]

    def callback(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
            started[1] = time.thread_time()
        else:
            wall[info["generation"]].append(time.perf_counter() - started[0])
            cpu[info["generation"]].append(time.thread_time() - started[1])

    gc.callbacks.append(callback)
    lst = []
    t0 = time.perf_counter()
    prev = None
    for _ in range(n):
        prev = Pair(prev)
        lst.append(prev)
    t = time.perf_counter() - t0
    gc.callbacks.remove(callback)
    total = sum(sum(p) for p in wall)
    extra = (f"gen0_n={len(wall[0])} p99_gen0_us={percentile(wall[0], 0.99) * 1e6:.1f} "
             f"gen1_n={len(wall[1])} p99_gen1_us={percentile(wall[1], 0.99) * 1e6:.1f} "
             f"gen2_n={len(wall[2])} max_gen2_ms={max(wall[2], default=0.0) * 1e3:.2f} "
             f"p99_gen0_cpu_us={percentile(cpu[0], 0.99) * 1e6:.1f} "
             f"p99_gen1_cpu_us={percentile(cpu[1], 0.99) * 1e6:.1f} "
             f"max_gen2_cpu_ms={max(cpu[2], default=0.0) * 1e3:.2f} total_s={t:.4f}")
    report("young_pause", "cpython", n, total, extra)


def main():
    sys.setrecursionlimit(100000)
    workload = sys.argv[1]
    a = int(sys.argv[2])
    b = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    if workload == "cycles_collect":
        cycles_collect(a, b)
    elif workload.startswith("live_traversal."):
        live_traversal(workload, a)
    elif workload == "binary_trees":
        binary_trees(a, True)
    elif workload == "binary_trees_nogc":
        binary_trees(a, False)
    elif workload == "refcount_ops":
        refcount_ops(a)
    elif workload == "young_pause":
        young_pause(a)
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
