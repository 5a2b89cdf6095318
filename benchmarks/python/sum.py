#!/usr/bin/python3
"""sum.py - sum a large numpy array in chunks, the tutorial's way (section
5, "大数据传输优化": pool.map(process_chunk, chunks) with process_chunk =
np.sum): sequentially, on a ThreadPoolExecutor, on a multiprocessing.Pool.

The twin of benchmarks/sum.c: same options, same records.
    sum.py --mode seq --n 5e7                   one np.sum over 400 MB
    sum.py --mode threads --workers 2           np.sum releases the GIL
    sum.py --mode procs --workers 2             workers read shared memory
    sum.py --mode procs --workers 2 --copy      the tutorial's code: every
                                                chunk pickled through a pipe
    sum.py --mode procs --executor [--copy]     ProcessPoolExecutor

The values are integers, value(i) = (i * 40503) mod 2^16 as in C, so the
total is checked exactly against its closed form (the tutorial's
np.random.rand would make an exact check impossible).

--copy is the tutorial's code: the chunks are slices of the array, and
pool.map pickles each one, sends it through a pipe and unpickles it in a
worker, copying the whole array to do one addition per value.  Without
--copy (variant shm) the array lives in a multiprocessing.shared_memory
block created before the pool; the workers, forked after it, inherit the
mapping and receive only (start, stop) pairs.  The pools use the "fork"
start method explicitly, which is what makes the inherited mapping work.
"""

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import shared_memory

import numpy as np

import common

# The shared array of variant shm, set in the parent before the pool is
# created so that the forked workers inherit it.
shared = None


def process_chunk(chunk):
    """The tutorial's process_chunk: the sum of one chunk (an array)."""
    return np.sum(chunk)


def process_range(bounds):
    """Variant shm: the sum of shared[start:stop], read in place."""
    start, stop = bounds
    return np.sum(shared[start:stop])


def main():
    global shared
    b = common.Bench(
        "sum", "sum an array of N 64-bit integers in chunks",
        ("seq", "threads", "procs"),
        [("n", "int", 50000000, "number of 64-bit values to sum",
          (0, 1 << 34, "N")),
         ("copy", "flag", False,
          "procs: pickle each chunk through the pool's pipes", None),
         ("executor", "flag", False,
          "procs: a ProcessPoolExecutor instead of multiprocessing.Pool",
          None)])
    procs = b.mode == "procs"
    if b.copy and not procs:
        b.usage_error("--copy needs --mode procs")
    if b.executor and not procs:
        b.usage_error("--executor needs --mode procs")
    n = b.n
    expected = common.sum_expected(n)
    chunk = n if b.mode == "seq" else (b.chunk or -(-n // b.workers))
    chunk = max(1, min(chunk, n))       # one chunk at most holds them all
    bounds = common.split(n, chunk) or [(0, 0)]

    t0 = common.now()
    shm = None
    if procs and not b.copy:
        shm = shared_memory.SharedMemory(create=True, size=max(8, 8 * n))
        arr = np.ndarray((n,), dtype=np.int64, buffer=shm.buf)
    else:
        arr = np.empty(n, dtype=np.int64)
    arr[:] = np.arange(n, dtype=np.int64)
    arr *= 40503
    arr &= 0xFFFF
    shared = arr
    pool = None
    fork = multiprocessing.get_context("fork")
    if b.mode == "threads":
        pool = ThreadPoolExecutor(max_workers=b.workers)
        list(pool.map(int, range(b.workers)))   # start the workers now
    elif procs and b.executor:
        pool = ProcessPoolExecutor(max_workers=b.workers, mp_context=fork)
        list(pool.map(int, range(b.workers)))
    elif procs:
        pool = fork.Pool(b.workers)
    chunks = [arr[i:j] for i, j in bounds]      # views: nothing copied yet
    setup_s = common.now() - t0

    variant = "-"
    if procs:
        variant = ("copy" if b.copy else "shm") + \
            ("-executor" if b.executor else "")
    try:
        for rep in range(b.repeat):
            t0 = b.kernel_start()
            if b.mode == "seq":
                total = np.sum(arr)
            elif b.mode == "threads" or (procs and b.executor):
                work = process_chunk if not procs or b.copy else \
                    process_range
                total = sum(pool.map(work, chunks if work is process_chunk
                                     else bounds))
            elif b.copy:
                total = sum(pool.map(process_chunk, chunks, chunksize=1))
            else:
                total = sum(pool.map(process_range, bounds, chunksize=1))
            kernel_s = common.now() - t0
            r = b.record(rep, variant=variant, n=n, chunk=chunk,
                         tasks=1 if b.mode == "seq" else len(bounds),
                         setup_s=setup_s if rep == 0 else 0.0,
                         kernel_s=kernel_s, result=int(total),
                         expected=expected)
            if b.emit(r):
                break
    finally:
        if isinstance(pool, (ThreadPoolExecutor, ProcessPoolExecutor)):
            pool.shutdown()
        elif pool is not None:
            pool.close()
            pool.join()
        shared = arr = chunks = None
        if shm is not None:
            shm.close()
            shm.unlink()
    if b.emitted and b.format == "text":
        gbs = 8 * n / common.median(b.kernels) / 1e9
        b.text(f"sum: {gbs:.2f} GB/s (median kernel)")
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
