/*
 * mpcount.h - lesson 12: the tutorial's prime count and chunk sum on MPI
 * ranks.  You write mpcount.c.
 *
 * Every function here is collective: every rank of comm calls it, with the
 * same arguments (except all[], which only rank 0 has).  Ranks share no
 * memory; whatever one rank must know about another's work travels in a
 * message.  R below is the number of ranks, MPI_Comm_size(comm).
 *
 * Use count_primes() and sum_values() from kernel.h for the counting and
 * the adding: the tests read their meter to see which rank did what.
 */
#ifndef LESSON_MPCOUNT_H
#define LESSON_MPCOUNT_H

#include <mpi.h>
#include <stdint.h>

/* Tags for mp_count_dynamic()'s messages. */
#define TAG_ASK 1       /* worker -> manager: "give me work" (no data) */
#define TAG_WORK 2      /* manager -> worker: two uint64_t {a, b}: count
                           [a, b); a == b means "no more work, stop" */

/*
 * Counts the primes below n, split statically: [0, n) is cut into chunks
 * of `chunk` numbers (chunk k is [k * chunk, min(n, (k + 1) * chunk))), and
 * rank r counts chunks r, r + R, r + 2R, ... (round robin), with no
 * messages at all.  MPI_Reduce then adds the ranks' counts on rank 0.
 * Returns the total on rank 0 (what the other ranks return is not used).
 * chunk >= 1.
 */
uint64_t mp_count_static(uint64_t n, uint64_t chunk, MPI_Comm comm);

/*
 * The same count, split dynamically by a manager.  With one rank, rank 0
 * counts every chunk itself.  With more, rank 0 is the manager: it answers
 * each TAG_ASK with a TAG_WORK message holding the next chunk, or, when
 * none is left, an empty range, and it returns when every worker has been
 * told to stop.  Every other rank is a worker: it asks, counts what it gets
 * and asks again until it gets the empty range.  MPI_Reduce adds the
 * counts on rank 0.  Returns the total on rank 0.  chunk >= 1.
 *
 * It may be called again right after it returns, so one call's messages
 * must never be received by another call (README, hint 4).
 */
uint64_t mp_count_dynamic(uint64_t n, uint64_t chunk, MPI_Comm comm);

/*
 * The sum of the n values in all[0..n-1], which only rank 0 has (all is
 * NULL on the other ranks).  MPI_Scatterv sends rank r the block
 * [r * n / R, (r + 1) * n / R) (integer division: the blocks differ by at
 * most one value; rank 0 may keep its own block where it is), every rank
 * adds its block with sum_values(), and MPI_Reduce adds the block sums on
 * rank 0.  Returns the total on rank 0.  n < 2^31, so that MPI's int
 * counts hold it.
 */
int64_t mp_sum_scatter(const int64_t *all, uint64_t n, MPI_Comm comm);

#endif
