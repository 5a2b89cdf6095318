/*
 * kernel.c - lesson 12: is_prime, the chunk sum, and the grader's meter.
 *
 * The meter is two plain counters at file scope.  That would be a bug in a
 * library (two users in one program would mix their counts), but here it is
 * exactly what is wanted: an MPI rank is a process of its own, so each
 * rank's counters say what that rank did, and nothing else in the process
 * touches them.  There are no threads, so no lock is needed.
 */
#include "kernel.h"

static uint64_t counted;        /* numbers through count_primes() */
static uint64_t summed;         /* values through sum_values() */

int is_prime(uint64_t n)
{
    if (n < 2)
        return 0;
    for (uint64_t i = 2; i * i <= n; i++)
        if (n % i == 0)
            return 0;
    return 1;
}

uint64_t count_primes(uint64_t a, uint64_t b)
{
    uint64_t count = 0;

    if (b <= a)
        return 0;
    counted += b - a;
    for (uint64_t i = a; i < b; i++)
        count += (uint64_t)is_prime(i);
    return count;
}

int64_t sum_values(const int64_t *a, size_t n)
{
    int64_t sum = 0;

    summed += n;
    for (size_t i = 0; i < n; i++)
        sum += a[i];
    return sum;
}

int64_t value_at(uint64_t i)
{
    return (int64_t)((i * 40503u) & 0xffffu);
}

void kernel_reset(void)
{
    counted = 0;
    summed = 0;
}

uint64_t kernel_counted(void)
{
    return counted;
}

uint64_t kernel_summed(void)
{
    return summed;
}
