#!/usr/bin/python3
"""chunks.py - what chunksize does to the tutorial's pool.map(is_prime,
numbers) (section 3), for the batching lesson (section 6).

The twin of benchmarks/chunks.c: same options, same sweep, same records.
    chunks.py --mode procs --workers 2          chunksize 1, 4, 16, ... N/W
    chunks.py --mode procs --chunk 64           one chunksize only
    chunks.py --mode threads                    see below
    chunks.py --mode seq                        the plain loop, the baseline

procs is multiprocessing.Pool.map(is_prime, numbers, chunksize=C): each
chunk is one pickled message to a worker and one back.  Small chunks pay
that per number; big ones balance badly, since a big number costs more.

threads is ThreadPoolExecutor.map(is_prime, numbers, chunksize=C), and
ThreadPoolExecutor ignores chunksize (it matters only to
ProcessPoolExecutor): every number is its own task whatever C is, so the
records show a flat line, and the GIL keeps it above seq.  That is a
lesson too; use --executor for a ProcessPoolExecutor, which honours it.
"""

import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import Pool

import common
from common import is_prime


def sweep(first, last, factor):
    """first, first * factor, ... and last itself, as in chunks.c."""
    c = first
    while True:
        yield c
        if c == last:
            return
        c = last if c > last // factor else c * factor


def main():
    b = common.Bench(
        "chunks", "map is_prime over [0, N) with a sweep of chunk sizes",
        ("threads", "procs", "seq"),
        [("n", "int", 200000, "map is_prime over the numbers below N",
          (1, 100000000, "N")),
         ("min-chunk", "int", 1, "smallest chunk size of the sweep",
          (1, 100000000, "C")),
         ("max-chunk", "int", 0,
          "largest chunk size; 0 = ceil(N / W), one per worker",
          (0, 100000000, "C")),
         ("factor", "int", 4, "each chunk size is F times the one before",
          (2, 1000, "F")),
         ("executor", "flag", False,
          "procs: a ProcessPoolExecutor instead of multiprocessing.Pool",
          None)])
    if b.executor and b.mode != "procs":
        b.usage_error("--executor needs --mode procs")
    n = b.n
    last = b.max_chunk or -(-n // b.workers)
    first = b.chunk or b.min_chunk
    last = b.chunk or last
    if b.mode == "seq":
        first = last = n
    if first > last:
        b.usage_error(f"--min-chunk {first} is above --max-chunk {last}")
    expected = common.primes_expected(n)

    t0 = common.now()
    numbers = list(range(n))
    pool = None
    if b.mode == "threads":
        pool = ThreadPoolExecutor(max_workers=b.workers)
        list(pool.map(int, range(b.workers)))   # start the workers now
    elif b.executor:
        pool = ProcessPoolExecutor(max_workers=b.workers)
        list(pool.map(int, range(b.workers)))
    elif b.mode == "procs":
        pool = Pool(b.workers)
    setup_s = common.now() - t0

    try:
        for c in sweep(first, last, b.factor):
            for rep in range(b.repeat):
                t0 = b.kernel_start()
                if b.mode == "seq":
                    count = sum(1 for x in numbers if is_prime(x))
                else:
                    count = sum(pool.map(is_prime, numbers, chunksize=c))
                kernel_s = common.now() - t0
                # ThreadPoolExecutor makes one task per number, whatever c.
                tasks = n if b.mode == "threads" else -(-n // c)
                r = b.record(rep, variant="executor" if b.executor else "-",
                             n=n, chunk=c, tasks=tasks,
                             setup_s=setup_s if c == first and rep == 0
                             else 0.0,
                             kernel_s=kernel_s, result=count,
                             expected=expected)
                if b.emit(r):
                    return b.finish()
    finally:
        if isinstance(pool, (ThreadPoolExecutor, ProcessPoolExecutor)):
            pool.shutdown()
        elif pool is not None:
            pool.close()
            pool.join()
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
