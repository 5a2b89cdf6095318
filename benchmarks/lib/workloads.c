/*
 * workloads.c - the sequential kernels of the tutorial's workloads, and the
 * known answers that check them.
 *
 * Counting primes by trial division (section 3 of the tutorial) is the
 * textbook CPU-bound task: no memory traffic, no I/O, just divisions.  Two
 * things about it matter for a benchmark:
 *
 *  - The cost of one number grows with the number.  A prime p costs
 *    isqrt(p) divisions, so the upper half of [0, N) costs far more than
 *    the lower half: cutting [0, N) into W equal halves for W workers
 *    leaves the first worker idle while the last one works.  The callers
 *    therefore cut it into many chunks and let the pool hand them out.
 *
 *  - It must not be "optimised".  The tutorial's is_prime divides by every
 *    i up to isqrt(n), even numbers included; a faster test (odd divisors
 *    only, a wheel, a sieve) would make C look better than it is against
 *    the Python twin.  So this is the same algorithm, and its answer is
 *    checked against numbers computed another way: a table of pi(N) and a
 *    sieve of Eratosthenes.  The table's entries were computed with
 *    wl_primes_sieve() and agree with the published values of pi(x); the
 *    test suite recomputes the smaller ones each run.
 *
 * Summing an array (section 5) is the opposite: one addition per 8 bytes
 * read, so it runs at the speed of memory, not of the CPU.  A loop with
 * one accumulator makes every add wait for the previous one (a dependency
 * chain of one cycle per element, slower than memory on a modern core);
 * eight independent accumulators let the core overlap them, and the
 * compiler may turn them into vector adds.  Even then one core waits on
 * memory most of the time, so the loop also asks for data a few kilobytes
 * ahead of where it adds (see PREFETCH_AHEAD).  The array's values follow
 * a formula with a closed-form total, so the check is exact and costs
 * nothing.
 */
#include "workloads.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* isqrt(n): the largest r with r * r <= n.  sqrt() of a double is exact
 * enough below 2^32 to be at most one off, and the two loops fix that. */
static uint32_t isqrt32(uint32_t n)
{
    uint64_t r = (uint64_t)sqrt((double)n);

    while (r * r > n)
        r--;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return (uint32_t)r;
}

/* The kernel in 32-bit arithmetic: every n here is below 2^32 (see
 * WL_PRIMES_MAX), and 32-bit division is cheaper than 64-bit division on
 * many x86 cores. */
static bool is_prime32(uint32_t n)
{
    uint32_t r;

    if (n < 2)
        return false;
    r = isqrt32(n);
    for (uint32_t i = 2; i <= r; i++)
        if (n % i == 0)
            return false;
    return true;
}

bool wl_is_prime(uint64_t n)
{
    if (n > WL_PRIMES_MAX)
        abort();    /* a caller bug: the header promises the bound */
    return is_prime32((uint32_t)n);
}

uint64_t wl_count_primes(uint64_t a, uint64_t b)
{
    uint64_t count = 0;

    if (b > WL_PRIMES_MAX)
        abort();
    for (uint64_t n = a; n < b; n++)
        count += is_prime32((uint32_t)n);
    return count;
}

/* pi(N) for N = 10^k, 2*10^k, 5*10^k: none of these N is prime, so it is
 * also the number of primes below N.  Computed with wl_primes_sieve(); they
 * match the published tables (OEIS A006880 for 10^k). */
static const struct {
    uint64_t n, pi;
} known_pi[] = {
    { 10ULL, 4 },                 { 20ULL, 8 },
    { 50ULL, 15 },                { 100ULL, 25 },
    { 200ULL, 46 },               { 500ULL, 95 },
    { 1000ULL, 168 },             { 2000ULL, 303 },
    { 5000ULL, 669 },             { 10000ULL, 1229 },
    { 20000ULL, 2262 },           { 50000ULL, 5133 },
    { 100000ULL, 9592 },          { 200000ULL, 17984 },
    { 500000ULL, 41538 },         { 1000000ULL, 78498 },
    { 2000000ULL, 148933 },       { 5000000ULL, 348513 },
    { 10000000ULL, 664579 },      { 20000000ULL, 1270607 },
    { 50000000ULL, 3001134 },     { 100000000ULL, 5761455 },
    { 200000000ULL, 11078937 },   { 500000000ULL, 26355867 },
    { 1000000000ULL, 50847534 },  { 2000000000ULL, 98222287 },
};

int wl_primes_known(uint64_t n, uint64_t *out)
{
    for (size_t i = 0; i < sizeof(known_pi) / sizeof(known_pi[0]); i++) {
        if (known_pi[i].n == n) {
            *out = known_pi[i].pi;
            return 0;
        }
    }
    return ENOENT;
}

/*
 * Sieve of Eratosthenes over the odd numbers: bit j stands for 2j + 1, so
 * the odd numbers below n take n / 16 bytes.  For each odd prime p with
 * p * p < n, cross out p*p, p*p + 2p, ... (the odd multiples; the even
 * ones are not stored).  What is left, plus the prime 2, is the count.
 */
int wl_primes_sieve(uint64_t n, uint64_t *out)
{
    uint64_t m = n / 2;     /* odd numbers below n: 1, 3, ..., 2m - 1 */
    uint64_t count;
    unsigned char *composite;

    if (n > WL_PRIMES_MAX)
        return ERANGE;
    if (n <= 2) {
        *out = 0;
        return 0;
    }
    composite = calloc(m / 8 + 1, 1);
    if (composite == NULL)
        return ENOMEM;
    composite[0] |= 1;      /* 1 is not prime */
    for (uint64_t j = 1; (2 * j + 1) * (2 * j + 1) < n; j++) {
        uint64_t p = 2 * j + 1;

        if (composite[j / 8] & (1u << (j % 8)))
            continue;
        for (uint64_t k = (p * p - 1) / 2; k < m; k += p)
            composite[k / 8] |= (unsigned char)(1u << (k % 8));
    }
    count = 1;              /* the prime 2, below n since n > 2 */
    for (uint64_t j = 0; j < m; j++)
        count += !(composite[j / 8] & (1u << (j % 8)));
    free(composite);
    *out = count;
    return 0;
}

int wl_primes_expected(uint64_t n, uint64_t *out)
{
    if (n > WL_PRIMES_MAX)
        return ERANGE;
    if (wl_primes_known(n, out) == 0)
        return 0;
    return wl_primes_sieve(n, out);
}

void wl_fill(int64_t *a, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        a[i] = wl_value(i);
}

int64_t wl_sum_expected(uint64_t n)
{
    const uint64_t period = 65536;
    const int64_t per_period = (int64_t)(period * (period - 1) / 2);
    int64_t total = (int64_t)(n / period) * per_period;

    for (uint64_t i = n - n % period; i < n; i++)
        total += wl_value(i);
    return total;
}

/*
 * How far ahead of the adds wl_sum_range() asks for data: 512 values, 4 KiB,
 * 64 cache lines.  The hardware prefetcher alone keeps too few lines in
 * flight for one core to reach the memory's bandwidth (it stops at every
 * 4 KiB page boundary, too); asking for the line 4 KiB ahead keeps dozens
 * of misses overlapping.  On the 2-core machine this was written on it
 * took two threads from about 15 to about 22 GB/s; distances from 2 to 8
 * KiB did about as well.
 */
#define PREFETCH_AHEAD 512

int64_t wl_sum_range(const int64_t *a, size_t n)
{
    int64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        /* __builtin_prefetch is a GCC and Clang built-in, not C11: a hint
         * with no effect on the result.  Near the end it is pointed at the
         * current values instead, since even computing a pointer past the
         * array is undefined behaviour. */
        __builtin_prefetch(i + PREFETCH_AHEAD < n ? a + i + PREFETCH_AHEAD
                                                  : a + i);
        s0 += a[i];
        s1 += a[i + 1];
        s2 += a[i + 2];
        s3 += a[i + 3];
        s4 += a[i + 4];
        s5 += a[i + 5];
        s6 += a[i + 6];
        s7 += a[i + 7];
    }
    for (; i < n; i++)
        s0 += a[i];
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}
