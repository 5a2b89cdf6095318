#!/usr/bin/python3
"""overhead.py - what a Python pool costs per task (tutorial, section 1:
pools reuse their threads and processes instead of creating one per task).

The twin of benchmarks/overhead.c: same variants, same records.
    overhead.py --mode threadpool-executor --variant bulk
    overhead.py --mode all --variant roundtrip --repeat 5
    overhead.py --mode all --variant map

The tasks do nothing, so everything measured is the machinery.  Variants:
  bulk       T empty tasks submitted, then all awaited:
             fs = [ex.submit(empty, i) ...]; [f.result() for f in fs]
  roundtrip  one task submitted and awaited, T times:
             ex.submit(empty, i).result()
  map        f(x) = 2x + 1 over T items: ex.map / pool.map (automatic
             chunks: 1 for the executors, CPython's ceil(T / (4W)) for
             multiprocessing.Pool); seq is the same function in a loop.
Implementations (--mode): threadpool-executor (ThreadPoolExecutor),
mp-pool (multiprocessing.Pool, apply_async for bulk and roundtrip: the
round trip is Pool.apply_async(f).get() one at a time), mp-pool-map (bulk
only: Pool.map(f, range(T), chunksize=1), the twin of overhead.c's pp
bulk, a pp_map with chunk size 1), process-pool-executor (ProcessPoolExecutor), thread-per-task
(threading.Thread started and joined per task), fork-per-task (os.fork and
os.waitpid per task), seq (map only), and all (each of them that has the
variant, interleaved --repeat times; thread-per-task and fork-per-task then
run at most 1000 tasks, as in C).

Each record: n = T, chunk = tasks per chunk, tasks = tasks submitted (map:
chunks), setup_s = creating and shutting down the pool (not timed),
result = tasks that ran (map: the sum of the outputs), expected = T (map:
T * T, the sum of 2i + 1 for i < T).  The default T is 10000, not the C
program's 100000: a Python task costs a hundred times more.
"""

import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import common

SLOW_TASKS_MAX = 1000       # as in overhead.c
WINDOW = 64                 # most threads or children alive at once


def empty(i):
    """The empty task: it reports that it ran."""
    return 1


def double_plus_one(x):
    """map's item function, as in overhead.c."""
    return 2 * x + 1


# Each implementation: make() returns the pool (set-up), and bulk,
# roundtrip, map take (pool, tasks, chunk) and return (result, chunk used,
# tasks submitted).

def executor_bulk(ex, tasks, chunk):
    fs = [ex.submit(empty, i) for i in range(tasks)]
    return sum(f.result() for f in fs), 1, tasks


def executor_roundtrip(ex, tasks, chunk):
    return sum(ex.submit(empty, i).result() for i in range(tasks)), 1, tasks


def executor_map(ex, tasks, chunk):
    used = chunk or 1
    if isinstance(ex, ThreadPoolExecutor):
        used = 1                # ThreadPoolExecutor.map ignores chunksize
    total = sum(ex.map(double_plus_one, range(tasks), chunksize=used))
    return total, used, -(-tasks // used)


def pool_bulk(pool, tasks, chunk):
    rs = [pool.apply_async(empty, (i,)) for i in range(tasks)]
    return sum(r.get() for r in rs), 1, tasks


def pool_roundtrip(pool, tasks, chunk):
    return sum(pool.apply_async(empty, (i,)).get()
               for i in range(tasks)), 1, tasks


def pool_map_bulk(pool, tasks, chunk):
    """Bulk as one Pool.map with chunksize=1: each task its own message."""
    return sum(pool.map(empty, range(tasks), 1)), 1, tasks


def pool_map(pool, tasks, chunk):
    used = chunk
    if not used:                # what Pool.map computes for chunksize=None
        used, extra = divmod(tasks, 4 * pool._processes)
        used += bool(extra)
    used = max(used, 1)
    return sum(pool.map(double_plus_one, range(tasks), used)), used, \
        -(-tasks // used)


def threads_run(pool, tasks, window):
    results = []
    alive = []

    def body(i):
        results.append(empty(i))    # list.append is atomic under the GIL

    for i in range(tasks):
        if len(alive) == window:
            alive.pop(0).join()
        t = threading.Thread(target=body, args=(i,))
        t.start()
        alive.append(t)
    for t in alive:
        t.join()
    return sum(results), 1, tasks


def forks_run(pool, tasks, window):
    done = 0
    alive = []
    for i in range(tasks):
        if len(alive) == window:
            _, status = os.waitpid(alive.pop(0), 0)
            done += os.waitstatus_to_exitcode(status) == 0
        pid = os.fork()
        if pid == 0:
            os._exit(0 if empty(i) == 1 else 1)
        alive.append(pid)
    for pid in alive:
        _, status = os.waitpid(pid, 0)
        done += os.waitstatus_to_exitcode(status) == 0
    return done, 1, tasks


def seq_map(pool, tasks, chunk):
    f = double_plus_one
    return sum(f(x) for x in range(tasks)), tasks, 1


def make_threads(workers):
    return ThreadPoolExecutor(max_workers=workers)


def make_pool(workers):
    return multiprocessing.get_context("fork").Pool(workers)


def make_processes(workers):
    return ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("fork"))


def finish(pool):
    if isinstance(pool, (ThreadPoolExecutor, ProcessPoolExecutor)):
        pool.shutdown()
    elif pool is not None:
        pool.close()
        pool.join()


IMPLS = {
    # name: (make, {variant: function}, slow)
    "threadpool-executor": (make_threads, {"bulk": executor_bulk,
                                           "roundtrip": executor_roundtrip,
                                           "map": executor_map}, False),
    "mp-pool": (make_pool, {"bulk": pool_bulk, "roundtrip": pool_roundtrip,
                            "map": pool_map}, False),
    "mp-pool-map": (make_pool, {"bulk": pool_map_bulk}, False),
    "process-pool-executor": (make_processes,
                              {"bulk": executor_bulk,
                               "roundtrip": executor_roundtrip,
                               "map": executor_map}, False),
    "thread-per-task": (None, {
        "bulk": lambda p, t, c: threads_run(p, t, WINDOW),
        "roundtrip": lambda p, t, c: threads_run(p, t, 1)}, True),
    "fork-per-task": (None, {
        "bulk": lambda p, t, c: forks_run(p, t, WINDOW),
        "roundtrip": lambda p, t, c: forks_run(p, t, 1)}, True),
    "seq": (None, {"map": seq_map}, False),
}


def run_one(b, name, rep, all_modes):
    make, variants, slow = IMPLS[name]
    tasks = b.tasks
    if all_modes and slow:
        tasks = min(tasks, SLOW_TASKS_MAX)
    t0 = common.now()
    pool = make(b.workers) if make else None
    if isinstance(pool, (ThreadPoolExecutor, ProcessPoolExecutor)):
        # Start the workers now: the executors start them on first use.
        list(pool.map(empty, range(b.workers)))
    setup_s = common.now() - t0
    try:
        t0 = b.kernel_start()
        result, chunk, submitted = variants[b.variant](pool, tasks, b.chunk)
        kernel_s = common.now() - t0
    finally:
        t0 = common.now()
        finish(pool)
        setup_s += common.now() - t0
    r = b.record(rep, mode=name, variant=b.variant,
                 workers=1 if name == "seq" else b.workers, n=tasks,
                 chunk=chunk, tasks=submitted, setup_s=setup_s,
                 kernel_s=kernel_s, result=result,
                 expected=tasks * tasks if b.variant == "map" else tasks)
    return b.emit(r), kernel_s / tasks


def main():
    b = common.Bench(
        "overhead", "per-task cost of Python's pools: bulk, round trip, map",
        tuple(IMPLS) + ("all",),
        [("tasks", "int", 10000, "tasks (bulk, roundtrip) or items (map)",
          (1, 1000000000, "T")),
         ("variant", "choice", "bulk", "bulk | roundtrip | map",
          ("bulk", "roundtrip", "map"))])
    if b.mode == "all":
        names = [n for n, (_, v, _) in IMPLS.items() if b.variant in v]
    else:
        names = [b.mode]
        if b.variant not in IMPLS[b.mode][1]:
            b.usage_error(f"--mode {b.mode} has no such --variant")
    if b.variant != "map" and b.chunk > 1:
        b.usage_error(f"--chunk: {b.variant} submits one task at a time")

    per_task = {n: [] for n in names}
    for rep in range(b.repeat):
        for name in names:
            status, cost = run_one(b, name, rep, b.mode == "all")
            if status:
                return b.finish()
            per_task[name].append(cost)
    if len(names) > 1:
        unit = "item" if b.variant == "map" else "task"
        b.text(f"\nmedians over {b.repeat} runs, {b.variant}, "
               f"{b.workers} workers:")
        for name in names:
            b.text(f"  {name:<22} {common.median(per_task[name]) * 1e9:12.1f}"
                   f" ns per {unit}")
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
