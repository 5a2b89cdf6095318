#!/usr/bin/python3
"""io.py - T tasks that each sleep D milliseconds on W workers, the
tutorial's way (section 2: ThreadPoolExecutor(max_workers=3), five tasks
of time.sleep(2), "about 4 seconds instead of 10"), scaled down to 200 ms.

The twin of benchmarks/io.c: same options, same records.
    io.py --mode seq
    io.py --mode threads --workers 3            ceil(5/3) x 200 ms
    io.py --mode threads --tasks 64 --workers 64 --delay-ms 10
    io.py --mode procs --tasks 64 --workers 64 --delay-ms 10
    io.py --mode procs --executor ...           ProcessPoolExecutor

time.sleep releases the GIL, so Python threads overlap their sleeps as
well as C threads do: this is the workload where Python threads are the
right tool.  In text mode the script prints the ideal ceil(T/W) x D and
the timer's own oversleep beside the measured time, as io.c does.

The name io.py shadows nothing that matters here: the standard library's
io module is built into the interpreter and imported before this file.
"""

import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import Pool

import common

OVERSLEEP_SAMPLES = 5       # as in io.c


def task(delay_s):
    """The tutorial's task(n), without its prints: sleep, then report."""
    time.sleep(delay_s)  # 模拟I/O操作 (stands for I/O)
    return True


def measure_oversleep(delay_s):
    over = []
    for _ in range(OVERSLEEP_SAMPLES):
        t0 = common.now()
        time.sleep(delay_s)
        over.append(common.now() - t0 - delay_s)
    return common.median(over)


def main():
    b = common.Bench(
        "io", "T tasks that each sleep D ms, on W workers",
        ("threads", "seq", "procs"),
        [("tasks", "int", 5, "number of sleeping tasks", (1, 100000, "T")),
         ("delay-ms", "int", 200, "how long each task sleeps",
          (0, 60000, "MS")),
         ("executor", "flag", False,
          "procs: a ProcessPoolExecutor instead of multiprocessing.Pool",
          None)],
        default_workers=3)
    if b.chunk > 1:
        b.usage_error("--chunk: io runs one sleep per task")
    if b.executor and b.mode != "procs":
        b.usage_error("--executor needs --mode procs")
    tasks, delay_s = b.tasks, b.delay_ms / 1000
    rounds = tasks if b.mode == "seq" else -(-tasks // b.workers)
    ideal = rounds * delay_s
    oversleep = 0.0
    if b.format == "text":
        oversleep = measure_oversleep(min(delay_s, 0.010))
        b.text(f"io: ideal {'' if b.mode == 'seq' else 'ceil(T/W) = '}"
               f"{rounds} x {b.delay_ms} ms = {ideal * 1e3:.3f} ms; the "
               f"timer oversleeps {oversleep * 1e3:.3f} ms per sleep, so "
               f"ideal + oversleep = {(ideal + rounds * oversleep) * 1e3:.3f}"
               f" ms")

    t0 = common.now()
    pool = None
    if b.mode == "threads":
        pool = ThreadPoolExecutor(max_workers=b.workers)
        # Start every worker now (executors start them on submit), so that
        # creating them is set-up, as in C.
        list(pool.map(time.sleep, [0.01] * b.workers))
    elif b.mode == "procs" and b.executor:
        pool = ProcessPoolExecutor(max_workers=b.workers)
        list(pool.map(time.sleep, [0.01] * b.workers))
    elif b.mode == "procs":
        pool = Pool(b.workers)
    setup_s = common.now() - t0

    try:
        for rep in range(b.repeat):
            t0 = b.kernel_start()
            if b.mode == "seq":
                done = sum(task(delay_s) for _ in range(tasks))
            elif b.mode == "threads" or b.executor:
                futures = [pool.submit(task, delay_s) for _ in range(tasks)]
                done = sum(f.result() for f in futures)
            else:
                done = sum(pool.map(task, [delay_s] * tasks, chunksize=1))
            kernel_s = common.now() - t0
            r = b.record(rep, variant="executor" if b.executor else "-",
                         n=tasks, chunk=1, tasks=tasks,
                         setup_s=setup_s if rep == 0 else 0.0,
                         kernel_s=kernel_s, result=done, expected=tasks)
            if b.emit(r):
                break
            b.text(f"  {(kernel_s - ideal) * 1e3:.3f} ms over the ideal, "
                   f"{(kernel_s - ideal - rounds * oversleep) * 1e3:.3f} ms "
                   f"over ideal + oversleep")
    finally:
        if isinstance(pool, (ThreadPoolExecutor, ProcessPoolExecutor)):
            pool.shutdown()
        elif pool is not None:
            pool.close()
            pool.join()
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
