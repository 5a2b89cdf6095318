/*
 * mpcount.c - lesson 12: the prime count and the chunk sum on MPI ranks
 * (reference solution).
 *
 * Three ways to share out work when the workers share no memory:
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
 * Rank 0 here is a dedicated manager: while workers count, it waits in
 * MPI_Recv.  That is the textbook shape and the easiest to get right, but
 * it costs one rank's worth of work, and Open MPI's MPI_Recv waits by
 * polling, so the idle manager still keeps a CPU busy.
 * benchmarks/mpi/primes.c shows the better version: the manager counts
 * too, and workers ask for their next chunk before counting the current
 * one.
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
    for (uint64_t a = (uint64_t)rank * chunk; a < n;
         a += (uint64_t)size * chunk)
        mine += count_primes(a, n - a > chunk ? a + chunk : n);
    MPI_Reduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, 0, comm);
    return total;
}

/* Rank 0 of the dynamic count, with size - 1 workers. */
static void manage(uint64_t n, uint64_t chunk, int size, MPI_Comm comm)
{
    uint64_t next = 0;
    int stopped = 0;

    while (stopped < size - 1) {
        MPI_Status st;
        uint64_t range[2];

        MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, TAG_ASK, comm, &st);
        range[0] = next;
        range[1] = n - next > chunk ? next + chunk : n;
        if (range[0] == range[1])
            stopped++;
        next = range[1];
        MPI_Send(range, 2, MPI_UINT64_T, st.MPI_SOURCE, TAG_WORK, comm);
    }
}

/* A worker of the dynamic count: returns what it counted. */
static uint64_t work(MPI_Comm comm)
{
    uint64_t count = 0, range[2];

    for (;;) {
        MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_ASK, comm);
        MPI_Recv(range, 2, MPI_UINT64_T, 0, TAG_WORK, comm,
                 MPI_STATUS_IGNORE);
        if (range[0] == range[1])
            return count;
        count += count_primes(range[0], range[1]);
    }
}

uint64_t mp_count_dynamic(uint64_t n, uint64_t chunk, MPI_Comm comm)
{
    int rank, size;
    uint64_t mine = 0, total = 0;
    MPI_Comm own;

    /* Our own copy of the communicator: messages sent on it can only be
     * received on it.  Without it, a worker that has already left this
     * call and asks for work of the next call could have its request
     * taken by this call's manager, still waiting here for another
     * worker's last request.  Libraries built on MPI do the same. */
    MPI_Comm_dup(comm, &own);
    MPI_Comm_rank(own, &rank);
    MPI_Comm_size(own, &size);
    if (size == 1) {
        for (uint64_t a = 0; a < n; a += chunk)
            mine += count_primes(a, n - a > chunk ? a + chunk : n);
    } else if (rank == 0) {
        manage(n, chunk, size, own);
    } else {
        mine = work(own);
    }
    MPI_Reduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, 0, own);
    MPI_Comm_free(&own);
    return total;
}

int64_t mp_sum_scatter(const int64_t *all, uint64_t n, MPI_Comm comm)
{
    int rank, size, *counts = NULL, *displs = NULL, mine_n;
    int64_t *block = NULL, mine = 0, total = 0;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* Only rank 0 needs the whole table; every rank knows its own count. */
    mine_n = (int)(n * (uint64_t)(rank + 1) / (uint64_t)size -
                   n * (uint64_t)rank / (uint64_t)size);
    if (rank == 0) {
        counts = malloc((size_t)size * sizeof(*counts));
        displs = malloc((size_t)size * sizeof(*displs));
        if (counts == NULL || displs == NULL)
            MPI_Abort(comm, 1);
        for (int r = 0; r < size; r++) {
            displs[r] = (int)(n * (uint64_t)r / (uint64_t)size);
            counts[r] = (int)(n * (uint64_t)(r + 1) / (uint64_t)size) -
                        displs[r];
        }
        /* MPI_IN_PLACE: rank 0's block stays where it is in all[]. */
        MPI_Scatterv(all, counts, displs, MPI_INT64_T, MPI_IN_PLACE, 0,
                     MPI_INT64_T, 0, comm);
        mine = sum_values(all, (size_t)mine_n);
    } else {
        block = malloc(mine_n > 0 ? (size_t)mine_n * sizeof(*block) : 1);
        if (block == NULL)
            MPI_Abort(comm, 1);
        MPI_Scatterv(NULL, NULL, NULL, MPI_INT64_T, block, mine_n,
                     MPI_INT64_T, 0, comm);
        mine = sum_values(block, (size_t)mine_n);
    }
    MPI_Reduce(&mine, &total, 1, MPI_INT64_T, MPI_SUM, 0, comm);
    free(counts);
    free(displs);
    free(block);
    return total;
}
