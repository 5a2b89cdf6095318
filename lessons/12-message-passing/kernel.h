/*
 * kernel.h - lesson 12: the work itself, and a meter the grader reads.
 *
 * The tutorial's is_prime() and the chunk sum, written once so that your
 * mpcount.c only has to split the work and move the messages.  Use
 * count_primes() and sum_values() for all the counting and adding: they
 * also note how many numbers (values) this process handled, which is how
 * the tests see which rank did which part of the work.
 */
#ifndef LESSON_KERNEL_H
#define LESSON_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* The tutorial's is_prime: n < 2 is not prime; otherwise n is prime when
 * no i with i * i <= n divides it. */
int is_prime(uint64_t n);

/* The number of primes p with a <= p < b (0 when b <= a). */
uint64_t count_primes(uint64_t a, uint64_t b);

/* a[0] + ... + a[n - 1]. */
int64_t sum_values(const int64_t *a, size_t n);

/* Value number i of the sum's array: (i * 40503) mod 2^16, as in
 * benchmarks/lib/workloads.h. */
int64_t value_at(uint64_t i);

/* The meter: the numbers count_primes() and the values sum_values() went
 * through in this process since kernel_reset(). */
void kernel_reset(void);
uint64_t kernel_counted(void);
uint64_t kernel_summed(void);

#endif
