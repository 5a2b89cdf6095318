/*
 * workloads.h - the tutorial's workloads as plain sequential C kernels.
 *
 * The benchmark programs (benchmarks/primes.c, sum.c, chunks.c), the Open
 * MPI versions and the lessons all compute the same things, and a speedup
 * only means something when every version runs the very same kernel.  So
 * the kernels live here, once, with the known answers that check them:
 *
 *   primes   wl_is_prime() is the tutorial's is_prime(): trial division by
 *            every i from 2 to isqrt(n), stopping at the first divisor.
 *            wl_count_primes(a, b) counts the primes in [a, b), so chunks
 *            [a, b) of [0, N) add up to pi(N - 1), "the primes below N".
 *            wl_primes_expected(N) is that count from a table of known
 *            values of pi, or, for an N not in the table, from a sieve of
 *            Eratosthenes: a different algorithm, so the check is real.
 *
 *   sum      an array of N int64 values, value i = wl_value(i), a cheap
 *            pseudo-random pattern in 0..65535 whose total has a closed
 *            form (wl_sum_expected), so the sum is checked exactly without
 *            summing the array a second time.  wl_sum_range() is the kernel.
 *
 * Everything here is sequential, reentrant and allocation-free except the
 * sieve; none of it knows about threads or processes: callers split the
 * work.  Prefix wl_.
 */
#ifndef BENCH_WORKLOADS_H
#define BENCH_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- primes ---------------------------------------------------------- */

/* The largest bound the primes kernels and checks accept: the kernel does
 * its trial divisions in 32 bits (cheaper than 64-bit division on many
 * x86 CPUs), and the largest table entry is 2*10^9 < 2^32. */
#define WL_PRIMES_MAX 2000000000ULL

/* The tutorial's is_prime: n < 2 is not prime; otherwise n is prime when
 * no i in 2..isqrt(n) divides it.  n <= WL_PRIMES_MAX. */
bool wl_is_prime(uint64_t n);

/* The number of primes p with a <= p < b (0 when b <= a).
 * b <= WL_PRIMES_MAX. */
uint64_t wl_count_primes(uint64_t a, uint64_t b);

/* pi(n - 1), the number of primes below n, from the table of known values
 * only.  Returns 0 and the count in *out, or ENOENT when n is not in the
 * table.  The table holds 10^k, 2*10^k and 5*10^k from 10 up to 2*10^9. */
int wl_primes_known(uint64_t n, uint64_t *out);

/* The number of primes below n by a sieve of Eratosthenes over the odd
 * numbers (n / 16 bytes).  Returns 0 and the count in *out, ERANGE when
 * n > WL_PRIMES_MAX, or ENOMEM. */
int wl_primes_sieve(uint64_t n, uint64_t *out);

/* The number of primes below n: the table if it has n, else the sieve.
 * Returns 0, ERANGE or ENOMEM as wl_primes_sieve. */
int wl_primes_expected(uint64_t n, uint64_t *out);

/* ---- sum ------------------------------------------------------------- */

/* Value number i of the sum workload's array: (i * 40503) mod 2^16.
 * 40503 is odd, so i -> value is a permutation of 0..65535 over every run
 * of 65536 consecutive i (40503 is Knuth's 16-bit golden-ratio
 * multiplier, which scatters neighbouring values).  The same formula is
 * in benchmarks/python/common.py. */
static inline int64_t wl_value(uint64_t i)
{
    return (int64_t)((i * 40503u) & 0xffffu);
}

/* Stores wl_value(i) in a[i] for from <= i < to. */
void wl_fill(int64_t *a, size_t from, size_t to);

/* The exact sum of wl_value(i) for 0 <= i < n, by the closed form: each
 * full period of 65536 values adds 65536 * 65535 / 2, and the last partial
 * period is summed directly (at most 65535 values, not the array).
 * Exact for n < 2^47, far beyond any array this machine can hold. */
int64_t wl_sum_expected(uint64_t n);

/* The sum of a[0..n-1].  Eight independent accumulators, so the adds do
 * not wait on each other and the loop runs at memory speed. */
int64_t wl_sum_range(const int64_t *a, size_t n);

#endif
