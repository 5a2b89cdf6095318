/*
 * mpcount.c - lesson 12: the prime count and the chunk sum on MPI ranks.
 *
 * Three ways to share out work when the workers share no memory (the
 * contract of each function is in mpcount.h; read it first):
 *
 *   mp_count_static   every rank works out its own chunks from its rank
 *                     number (round robin) and tells nobody: no messages
 *                     until one MPI_Reduce adds up the counts.
 *   mp_count_dynamic  a manager hands out chunks on request, the message
 *                     version of a pool's task queue: a rank that finishes
 *                     early simply asks again.  Each request gets exactly
 *                     one answer; the last answer to each worker is "stop".
 *   mp_sum_scatter    the data itself has to travel: rank 0 has the array,
 *                     and MPI_Scatterv sends every rank its block.
 *
 * Fill in the three places marked EXERCISE.  Run the tests with
 * `make grade LESSON=12` from the top folder; to try one by hand on three
 * ranks, see README.md.
 */
#include "mpcount.h"

#include <stdlib.h>

#include "kernel.h"

uint64_t mp_count_static(uint64_t n, uint64_t chunk, MPI_Comm comm)
{
    int rank, size;
    uint64_t mine = 0, total = 0;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* EXERCISE 1: count this rank's chunks into `mine`: chunk k is
     * [k * chunk, min(n, (k + 1) * chunk)), and this rank's chunks are
     * k = rank, rank + size, rank + 2 * size, ...  Then add every rank's
     * `mine` into `total` on rank 0 with one MPI_Reduce (MPI_UINT64_T,
     * MPI_SUM, root 0). */
    (void)n;
    (void)chunk;
    (void)mine;
    return total;
}

/* Rank 0 of the dynamic count, with size - 1 workers. */
static void manage(uint64_t n, uint64_t chunk, int size, MPI_Comm comm)
{
    /* EXERCISE 2a: until every worker has been told to stop: receive a
     * TAG_ASK from any rank (MPI_ANY_SOURCE; the MPI_Status says who
     * asked), and send that rank, with tag TAG_WORK, two uint64_t: the
     * next chunk [a, b), or a == b when no chunk is left - which counts
     * as telling that worker to stop. */
    (void)n;
    (void)chunk;
    (void)size;
    (void)comm;
}

/* A worker of the dynamic count: returns what it counted. */
static uint64_t work(MPI_Comm comm)
{
    uint64_t count = 0;

    /* EXERCISE 2b: ask rank 0 (an empty TAG_ASK message: MPI_Send with
     * count 0), receive the TAG_WORK answer, and count it; again and
     * again, until the answer is an empty range. */
    (void)comm;
    return count;
}

uint64_t mp_count_dynamic(uint64_t n, uint64_t chunk, MPI_Comm comm)
{
    int rank, size;
    uint64_t mine = 0, total = 0;

    /* EXERCISE 2c: this call's messages must not mix with the next
     * call's (README, hint 4): use a copy of comm made with MPI_Comm_dup
     * for everything below, and free it at the end. */
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    if (size == 1) {
        for (uint64_t a = 0; a < n; a += chunk)
            mine += count_primes(a, n - a > chunk ? a + chunk : n);
    } else if (rank == 0) {
        manage(n, chunk, size, comm);
    } else {
        mine = work(comm);
    }
    /* EXERCISE 2d: the same MPI_Reduce as in exercise 1. */
    (void)total;
    return mine;
}

int64_t mp_sum_scatter(const int64_t *all, uint64_t n, MPI_Comm comm)
{
    int rank, size;
    int64_t total = 0;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* EXERCISE 3: rank r's block is [r * n / size, (r + 1) * n / size).
     *   - Rank 0 builds the counts[] and displs[] arrays (one int per
     *     rank) and calls MPI_Scatterv(all, counts, displs, MPI_INT64_T,
     *     MPI_IN_PLACE, 0, MPI_INT64_T, 0, comm): its own block stays in
     *     all[], so it adds all[0 .. its count - 1].
     *   - Every other rank allocates room for its block and calls
     *     MPI_Scatterv(NULL, NULL, NULL, MPI_INT64_T, block, its count,
     *     MPI_INT64_T, 0, comm), then adds the block.
     *   - Add with sum_values(), then one MPI_Reduce (MPI_INT64_T) into
     *     `total` on rank 0.  Free what you allocated. */
    (void)all;
    (void)n;
    (void)rank;
    (void)size;
    return total;
}
