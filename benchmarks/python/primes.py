#!/usr/bin/python3
"""primes.py - count the primes below N by trial division, the tutorial's
way (section 3): sequentially, on a ThreadPoolExecutor, on a
multiprocessing.Pool (--executor: a ProcessPoolExecutor).

The twin of benchmarks/primes.c: same options, same chunks, same records.
    primes.py --mode seq --n 2e6
    primes.py --mode threads --workers 2        the GIL: no faster than seq
    primes.py --mode procs --workers 2          nearly 2x
    primes.py --mode procs --workers 2 --executor

Python threads always run Python code under the global interpreter lock,
so there is no --gil here: the C program's --gil imitates what every
Python thread already does.

[0, N) is cut into chunks of C numbers (0: 64 chunks per worker, as in C),
each one task; process_chunk counts the primes in it.  pool.map gets
chunksize=1 so that each chunk is handed out on its own, as the C pools do:
the default would ship the chunks in batches and undo the load balancing
(the cost of a number grows with the number).
"""

import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import Pool

import common
from common import is_prime

CHUNKS_PER_WORKER = 64      # as in primes.c


def process_chunk(chunk):
    """Counts the primes in [start, stop): one task."""
    start, stop = chunk
    return sum(1 for n in range(start, stop) if is_prime(n))


def main():
    b = common.Bench(
        "primes", "count the primes below N by trial division",
        ("seq", "threads", "procs"),
        [("n", "int", 2000000, "count the primes below N",
          (0, common.PRIMES_MAX, "N")),
         ("executor", "flag", False,
          "procs: a ProcessPoolExecutor instead of multiprocessing.Pool",
          None)])
    if b.executor and b.mode != "procs":
        b.usage_error("--executor needs --mode procs")
    n = b.n
    expected = common.primes_expected(n)

    pool = None
    setup_s = 0.0
    if b.mode == "seq":
        chunk, chunks = n, None
    else:
        chunk = b.chunk or -(-n // (CHUNKS_PER_WORKER * b.workers))
        chunk = max(1, min(chunk, n))   # one chunk at most holds them all
        chunks = common.split(n, chunk)
        t0 = common.now()
        if b.mode == "threads":
            pool = ThreadPoolExecutor(max_workers=b.workers)
            # Executors start their workers lazily, on submit; start them
            # now, so that creating them is set-up, as in C.
            list(pool.map(int, range(b.workers)))
        elif b.executor:
            pool = ProcessPoolExecutor(max_workers=b.workers)
            list(pool.map(int, range(b.workers)))
        else:
            pool = Pool(b.workers)
        setup_s = common.now() - t0
    tasks = 1 if chunks is None else len(chunks)

    try:
        for rep in range(b.repeat):
            t0 = b.kernel_start()
            if b.mode == "seq":
                count = 0
                for i in range(n):
                    if is_prime(i):
                        count += 1
            elif b.mode == "threads" or b.executor:
                count = sum(pool.map(process_chunk, chunks))
            else:
                count = sum(pool.map(process_chunk, chunks, chunksize=1))
            kernel_s = common.now() - t0
            r = b.record(rep, variant="executor" if b.executor else "-",
                         n=n, chunk=chunk, tasks=tasks,
                         setup_s=setup_s if rep == 0 else 0.0,
                         kernel_s=kernel_s, result=count,
                         expected=expected)
            if b.emit(r):
                break
    finally:
        if pool is not None:
            if isinstance(pool, (ThreadPoolExecutor, ProcessPoolExecutor)):
                pool.shutdown()
            else:
                pool.close()
                pool.join()
    return b.finish()


if __name__ == "__main__":
    sys.exit(main())
